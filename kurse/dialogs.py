"""Dialogs in progress, kept in the database so that a restart or another instance goes on
where the last step left them.

A dialog belongs to one Telegram account: where each of its conversations stands (a name,
the chat and the state) and what it has typed so far (a few keys, JSON values). The bot
writes the changes of every step and reads the dialog fresh before a step. A dialog not
written for `EXPIRY` is abandoned: it reads as none, and the next write of any dialog
deletes it, so the table holds at most the dialogs of the last half hour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse.models import Dialog, as_json

EXPIRY = timedelta(minutes=30)

# A conversation's place: (chat id, state).
Place = tuple[int, int]


@dataclass(frozen=True)
class StoredDialog:
    """One account's dialog as the database holds it."""

    telegram_id: int
    states: dict[str, Place] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None


def load(session: Session, telegram_id: int, now: datetime) -> StoredDialog | None:
    """The account's dialog, or None if it has none (or left it alone for `EXPIRY`)."""
    row = session.get(Dialog, telegram_id)
    return _stored(row) if row is not None and _alive(row, now) else None


def load_all(session: Session, now: datetime) -> list[StoredDialog]:
    """Every dialog still alive (what a starting instance loads)."""
    rows = session.scalars(select(Dialog).where(col(Dialog.updated_at) > now - EXPIRY))
    return [_stored(row) for row in rows]


def save(
    session: Session,
    telegram_id: int,
    states: Mapping[str, Place | None],
    data: Mapping[str, Any | None],
    now: datetime,
) -> StoredDialog | None:
    """Writes the changed ``states`` and ``data`` keys into the account's dialog (None
    removes one) and returns the dialog as it is stored now, with what another instance
    wrote to other keys; None once nothing is left (the row is deleted then). Deletes the
    abandoned dialogs of everyone else on the way."""
    row = session.get(Dialog, telegram_id, with_for_update=True)
    current = _stored(row) if row is not None and _alive(row, now) else None
    merged_states = _merged(current.states if current else {}, states)
    merged_data = _merged(current.data if current else {}, data)
    session.execute(
        delete(Dialog).where(
            col(Dialog.updated_at) <= now - EXPIRY, col(Dialog.telegram_id) != telegram_id
        )
    )
    if not merged_states and not merged_data:
        if row is not None:
            session.delete(row)
        return None
    if row is None:
        row = Dialog(telegram_id=telegram_id, states={}, data={}, updated_at=now)
        session.add(row)
    row.states = as_json(merged_states)
    row.data = as_json(merged_data)
    row.updated_at = now
    return _stored(row)  # read back: the values as JSON gives them to every instance


def forget(session: Session, telegram_id: int) -> None:
    """Deletes the account's dialog (it deleted its data, or the bot dropped it)."""
    session.execute(delete(Dialog).where(col(Dialog.telegram_id) == telegram_id))


def _alive(row: Dialog, now: datetime) -> bool:
    return row.updated_at > now - EXPIRY


def _merged(current: Mapping[str, Any], changes: Mapping[str, Any | None]) -> dict[str, Any]:
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _stored(row: Dialog) -> StoredDialog:
    places = row.states.items()
    states = {name: (int(chat), int(state)) for name, (chat, state) in places}
    return StoredDialog(row.telegram_id, states, row.data, row.updated_at)
