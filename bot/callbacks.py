"""Callback data of inline buttons: short prefixed strings, validated when they come back.

A button's data is never trusted: `decode` accepts only the shapes we produce, and every
handler re-reads the course or registration from the database before acting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.commands import BUTTONS

# Every action is a button prefix of the table in bot/commands.py (who may press it, what it
# does, the shapes of its data).
ACTIONS = tuple(button.prefix for button in BUTTONS)
_PATTERN = re.compile(
    r"^(?P<action>" + "|".join(ACTIONS) + r")"
    r"(?::(?P<value>[0-9]{1,9}|de|en))?(?::(?P<page>[0-9]{1,4}))?$"
)
MAX_LENGTH = 64  # Telegram's limit for callback data, in bytes


@dataclass(frozen=True)
class Callback:
    """A decoded button press: the action, its value (an id or a language) and a list page."""

    action: str
    value: str | None = None
    page: int = 0

    @property
    def id(self) -> int:
        """The numeric value (a course id); 0 when there is none."""
        return int(self.value) if self.value and self.value.isdigit() else 0


def encode(action: str, value: int | str | None = None, page: int | None = None) -> str:
    """Builds the data for a button."""
    parts = [action]
    if value is not None:
        parts.append(str(value))
    if page is not None:
        parts.append(str(page))
    data = ":".join(parts)
    if decode(data) is None:
        raise ValueError(f"not a valid callback: {data!r}")
    return data


def decode(data: str | None) -> Callback | None:
    """Reads button data; anything we did not produce gives None."""
    if not data or len(data.encode()) > MAX_LENGTH:
        return None
    match = _PATTERN.match(data)
    if match is None:
        return None
    page = int(match["page"]) if match["page"] else 0
    return Callback(match["action"], match["value"], page)
