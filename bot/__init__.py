"""Kursbot's Telegram layer: translates updates into calls of the `kurse` services."""

import os

# python-telegram-bot 22 reports time spans (RetryAfter.retry_after and others) as timedelta
# once this is set, as its next major version will always do; we opt in now.
os.environ.setdefault("PTB_TIMEDELTA", "1")
