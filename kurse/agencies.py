"""Agencies (Dienststellen) and their access codes."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse.errors import InvalidAccessCode, InvalidInput, NotFound
from kurse.models import Agency
from kurse.validation import clean_text

# No 0/O, 1/I/L, 5/S, 8/B: codes are read off paper and typed on phones.
ACCESS_CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXYZ234679"
ACCESS_CODE_LENGTH = 10
_AGENCY_CODE = re.compile(r"^[A-Z][A-Z0-9]{0,7}(-[A-Z0-9]{1,7})?$")
_SEPARATORS = re.compile(r"[\s\-_.]+")

SEED_AGENCIES = (
    ("PP-OFR", "Polizeipräsidium Oberfranken", "Bayern"),
    ("PD-Z", "Polizeidirektion Zwickau", "Sachsen"),
)


def new_access_code() -> str:
    """Returns a fresh random access code (about 47 bits)."""
    return "".join(secrets.choice(ACCESS_CODE_ALPHABET) for _ in range(ACCESS_CODE_LENGTH))


def format_access_code(code: str) -> str:
    """Groups a code for reading aloud and printing: ``ACDE-FGHJ-KM``."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_access_code(typed: str) -> str:
    """Folds case and drops spaces and dashes, so ``acde fghj-km`` reads as ``ACDEFGHJKM``.

    The alphabet has no lower-case letters, so folding case costs no secrecy. Anything that is
    still not a well-formed code raises `InvalidAccessCode`.
    """
    code = _SEPARATORS.sub("", typed[:100]).upper()
    if len(code) != ACCESS_CODE_LENGTH or any(ch not in ACCESS_CODE_ALPHABET for ch in code):
        raise InvalidAccessCode()
    return code


def create_agency(session: Session, code: str, name: str, state: str, now: datetime) -> Agency:
    """Creates an agency with a fresh access code."""
    code = code.strip().upper()
    if not _AGENCY_CODE.match(code):
        raise InvalidInput(field="agency_code", reason="format")
    if session.scalar(select(col(Agency.id)).where(col(Agency.code) == code)) is not None:
        raise InvalidInput(field="agency_code", reason="taken")
    agency = Agency(
        code=code,
        name=clean_text(name, "agency_name", max_len=200, min_len=2),
        state=clean_text(state, "agency_state", max_len=100, min_len=0),
        access_code=new_access_code(),
        created_at=now,
    )
    session.add(agency)
    session.flush()
    return agency


def seed_agencies(session: Session, now: datetime) -> list[Agency]:
    """Creates the founding agencies of the cooperation if they do not exist yet."""
    created = []
    for code, name, state in SEED_AGENCIES:
        if session.scalar(select(col(Agency.id)).where(col(Agency.code) == code)) is None:
            created.append(create_agency(session, code, name, state, now))
    return created


def get_agency(session: Session, code: str) -> Agency:
    """Returns the agency with ``code`` (case-insensitive)."""
    agency: Agency | None = session.scalar(
        select(Agency).where(col(Agency.code) == code.strip().upper()[:16])
    )
    if agency is None:
        raise NotFound(kind="agency", given=code[:16])
    return agency


def list_agencies(session: Session) -> list[Agency]:
    """Returns all agencies ordered by code."""
    return list(session.scalars(select(Agency).order_by(col(Agency.code))))


def rotate_access_code(session: Session, agency_code: str) -> Agency:
    """Gives the agency a new access code; the old one stops working at once."""
    agency = get_agency(session, agency_code)
    agency.access_code = new_access_code()
    session.flush()
    return agency


def verify_access_code(session: Session, typed: str) -> Agency:
    """Returns the agency whose access code was typed, or raises `InvalidAccessCode`."""
    code = normalise_access_code(typed)
    agency: Agency | None = session.scalar(select(Agency).where(col(Agency.access_code) == code))
    if agency is None:
        raise InvalidAccessCode()
    return agency


def get_agency_by_id(session: Session, agency_id: int) -> Agency:
    """Returns the agency with database id ``agency_id``."""
    agency = session.get(Agency, agency_id)
    if agency is None:
        raise NotFound(kind="agency")
    return agency
