"""Kursbot's Telegram layer: translates updates into calls of the `kurse` services."""
