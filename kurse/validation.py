"""Checks shared by the services for text that people type."""

from __future__ import annotations

import unicodedata

from kurse.errors import InvalidInput

# Embeddings, overrides (U+202A–U+202E) and isolates (U+2066–U+2069) reorder how the text
# after them is shown, in every message that quotes it (a name in a lead's list, say):
# dropped from everything typed. The marks U+200E/U+200F stay, as right-to-left names need
# them; alone they show nothing and are refused below.
_DIRECTION_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
# Characters that show as blank space although they count as letters or symbols (Hangul
# fillers, the empty Braille pattern): a known way to an "invisible" name.
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _shows(ch: str, letters: bool) -> bool:
    """True for a letter or digit (``letters``), else for any character that shows."""
    return unicodedata.category(ch)[0] in ("LN" if letters else "LNPS") and ch not in _BLANK


def clean_text(
    value: str,
    field: str,
    *,
    max_len: int,
    min_len: int = 1,
    multiline: bool = False,
    letters: bool = True,
) -> str:
    """Strips ``value``, drops direction controls, checks its length and characters;
    `InvalidInput` names ``field``. Text must show a letter or digit (with ``letters``, for
    names, ranks and titles), else at least some visible character (descriptions)."""
    typed = unicodedata.normalize("NFC", value).strip()
    value = typed.translate(_DIRECTION_CONTROLS).strip()
    if typed and not any(_shows(ch, letters) for ch in value):
        raise InvalidInput(field=field, reason="nothing_visible")
    if len(value) < min_len:
        raise InvalidInput(field=field, reason="empty" if not value else "too_short", min=min_len)
    if len(value) > max_len:
        raise InvalidInput(field=field, reason="too_long", max=max_len)
    allowed = {"\n", "\t"} if multiline else set()
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value):
        raise InvalidInput(field=field, reason="control_characters")
    return value


def check_int(value: int, field: str, *, low: int, high: int) -> int:
    """Checks that ``value`` is an int within ``low``..``high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field=field, reason="not_a_number")
    if not low <= value <= high:
        raise InvalidInput(field=field, reason="out_of_range", min=low, max=high)
    return value
