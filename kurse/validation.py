"""Checks shared by the services for text that people type."""

from __future__ import annotations

import unicodedata

from kurse.errors import InvalidInput


def clean_text(
    value: str, field: str, *, max_len: int, min_len: int = 1, multiline: bool = False
) -> str:
    """Strips ``value``, checks its length and characters; `InvalidInput` names ``field``."""
    value = unicodedata.normalize("NFC", value).strip()
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
