"""Officers joining with an access code, their profile, and the admin role."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse import audit
from kurse.actors import Actor
from kurse.agencies import verify_access_code
from kurse.errors import AlreadyJoined, InvalidInput, LastAdmin, NotAllowed, NotFound
from kurse.models import Person, id_of
from kurse.validation import clean_text

LANGUAGES = ("de", "en")
_TELEGRAM_ID = re.compile(r"-?[0-9]+")  # ASCII digits: isdigit() also takes "²", int() not
_BIGINT = (-(2**63), 2**63 - 1)  # the range of ``person.telegram_id`` (BIGINT)
MAX_NAME = 100
MAX_RANK = 50


def language_for(telegram_language_code: str | None) -> str:
    """Picks the initial language from Telegram's ``language_code``: English or German."""
    code = (telegram_language_code or "").lower()
    return "en" if code.startswith("en") else "de"


def join(
    session: Session,
    *,
    telegram_id: int,
    access_code: str,
    name: str,
    rank: str | None,
    language: str,
    now: datetime,
    username: str | None = None,
) -> Person:
    """Joins a Telegram account as an officer of the agency whose access code it typed.

    Called once the person has agreed to the privacy notice; ``now`` is the consent time.
    """
    agency = verify_access_code(session, access_code)
    if (
        session.scalar(select(col(Person.id)).where(col(Person.telegram_id) == telegram_id))
        is not None
    ):
        raise AlreadyJoined()
    _release_username(session, _clean_username(username))
    person = Person(
        telegram_id=telegram_id,
        username=_clean_username(username),
        name=clean_text(name, "name", max_len=MAX_NAME, min_len=2),
        rank=clean_text(rank, "rank", max_len=MAX_RANK) if rank and rank.strip() else None,
        agency_id=id_of(agency),
        language=language if language in LANGUAGES else "de",
        consent_at=now,
        joined_at=now,
    )
    session.add(person)
    session.flush()
    return person


def _clean_username(username: str | None) -> str | None:
    return username.lstrip("@")[:64].lower() if username else None


def _release_username(session: Session, username: str | None) -> None:
    """Forgets ``username`` on whoever had it before: Telegram gives a username to one
    account at a time, so an old holder's copy would make ``@name`` point to them."""
    if username:
        session.execute(
            update(Person).where(col(Person.username) == username).values(username=None)
        )


def username_changed(person: Person, username: str | None) -> bool:
    """Whether the Telegram username differs from the stored one (the guard checks it)."""
    return _clean_username(username) != person.username


def refresh_username(session: Session, person_id: int, username: str | None) -> None:
    """Stores the person's current Telegram username (``@name`` in admin commands)."""
    clean = _clean_username(username)
    _release_username(session, clean)
    get_person(session, person_id).username = clean


def get_person(session: Session, person_id: int) -> Person:
    """Returns the person with database id ``person_id``."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(kind="person")
    return person


_BY_TELEGRAM_ID = select(Person).where(col(Person.telegram_id) == bindparam("telegram_id"))


def find_by_telegram_id(session: Session, telegram_id: int) -> Person | None:
    """Returns the joined person of a Telegram account, or None (runs for every update)."""
    return session.scalar(_BY_TELEGRAM_ID, {"telegram_id": telegram_id})


_BY_TELEGRAM_IDS = select(Person).where(
    col(Person.telegram_id).in_(bindparam("ids", expanding=True))
)


def find_by_telegram_ids(
    session: Session, _key: object, telegram_ids: list[int]
) -> list[Person | None]:
    """`find_by_telegram_id` for many accounts at once, in their order (one query): the
    guard's lookups of a burst of updates, grouped by `Database.run_grouped`."""
    found = {p.telegram_id: p for p in session.scalars(_BY_TELEGRAM_IDS, {"ids": telegram_ids})}
    return [found.get(telegram_id) for telegram_id in telegram_ids]


def find_by_reference(session: Session, reference: str) -> Person:
    """Finds a person by Telegram id or ``@username`` (as admins type them)."""
    reference = reference.strip()[:70]
    if _TELEGRAM_ID.fullmatch(reference):
        telegram_id = int(reference)
        # Beyond the column's range nobody can have joined (and the driver would refuse it).
        person = find_by_telegram_id(session, telegram_id) if _fits(telegram_id) else None
    else:
        username = _clean_username(reference)
        person = session.scalar(select(Person).where(col(Person.username) == username))
    if person is None:
        raise NotFound(kind="person")
    return person


def _fits(telegram_id: int) -> bool:
    return _BIGINT[0] <= telegram_id <= _BIGINT[1]


def set_language(session: Session, person_id: int, language: str) -> Person:
    """Stores the person's language (``de`` or ``en``)."""
    if language not in LANGUAGES:
        raise InvalidInput(field="language", reason="unknown")
    person = get_person(session, person_id)
    person.language = language
    return person


def update_profile(session: Session, person_id: int, *, name: str, rank: str | None) -> Person:
    """Changes the person's name and rank."""
    person = get_person(session, person_id)
    person.name = clean_text(name, "name", max_len=MAX_NAME, min_len=2)
    person.rank = clean_text(rank, "rank", max_len=MAX_RANK) if rank and rank.strip() else None
    return person


# The lines an officer may send after /profil, German or English, any case.
PROFILE_KEYS = {"name": "name", "dienstgrad": "rank", "rank": "rank"}
NO_RANK = ("-", "–", "—")


def edit_profile(session: Session, person_id: int, text: str) -> Person:
    """Changes name and/or rank from lines ``Name: …`` / ``Dienstgrad: …`` (``-`` removes the
    rank); a line with any other key, or no line at all, is `InvalidInput` (field "profile")
    and changes nothing."""
    person = get_person(session, person_id)
    name, rank, seen = person.name, person.rank, False
    for line in text.splitlines()[:10]:
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        field = PROFILE_KEYS.get(key.strip().lower()) if colon else None
        if field is None:
            raise InvalidInput(field="profile", reason="unknown_line")
        if field == "name":
            name = value
        else:
            rank = None if value.strip() in NO_RANK else value
        seen = True
    if not seen:
        raise InvalidInput(field="profile", reason="empty")
    return update_profile(session, person_id, name=name, rank=rank)


def is_admin(person: Person | None, bootstrap_admin: bool) -> bool:
    """True if the account is an admin from the settings or was made admin in the database
    (and is active)."""
    return bootstrap_admin or bool(person and person.is_admin and person.active)


def is_last_admin(session: Session, person_id: int, admin_ids: Iterable[int]) -> bool:
    """Whether the person is the only admin left (none in the settings, no other active
    admin in the database): deleting their data would leave nobody to run the bot."""
    if tuple(admin_ids):
        return False
    return [id_of(a) for a in admins(session, ())] == [person_id]


def admins(session: Session, bootstrap_ids: Iterable[int]) -> list[Person]:
    """The admins who have joined and can be written to: made admin in the database, or
    listed in the settings (`KURSBOT_ADMIN_IDS`); active ones only."""
    return list(
        session.scalars(
            select(Person)
            .where(
                col(Person.active),
                or_(col(Person.is_admin), col(Person.telegram_id).in_(list(bootstrap_ids))),
            )
            .order_by(col(Person.id))
        )
    )


def set_admin(
    session: Session,
    *,
    actor: Actor,
    target_id: int,
    admin: bool,
    bootstrap_ids: Iterable[int],
    now: datetime,
) -> Person:
    """Grants or takes back the admin role (the caller has checked that ``actor`` is admin).

    Admins from the settings are changed there, not here; the last admin cannot remove
    themself.
    """
    bootstrap = set(bootstrap_ids)
    target = get_person(session, target_id)
    if not admin and target.telegram_id in bootstrap:
        raise NotAllowed(reason="bootstrap_admin")
    if not admin and target.is_admin:
        others = session.scalar(
            select(func.count())
            .select_from(Person)
            .where(col(Person.is_admin), col(Person.active), col(Person.id) != target.id)
        )
        if not others and not (bootstrap - {target.telegram_id}):
            raise LastAdmin()
    before = target.is_admin
    target.is_admin = admin
    audit.record(
        session,
        actor=actor,
        action="admin_granted" if admin else "admin_revoked",
        now=now,
        subject_person_id=target.id,
        before={"is_admin": before},
        after={"is_admin": admin},
    )
    return target


def set_active(session: Session, person_id: int, active: bool) -> None:
    """Marks a person reachable or not (``False`` when they blocked the bot)."""
    person = session.get(Person, person_id)
    if person is not None:
        person.active = active


def set_lead_notifications(session: Session, person_id: int, on: bool) -> None:
    """Switches a lead's messages about sign-ups and cancellations on their courses."""
    get_person(session, person_id).lead_notifications = on
