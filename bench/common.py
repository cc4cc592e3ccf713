"""Shared pieces of the benchmarks: databases, result lines."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text

from kurse.db import Database
from kurse.migrate import upgrade

RESULTS = Path(__file__).parent / "results"


@contextmanager
def database(postgres: str | None) -> Iterator[tuple[Database, str]]:
    """A fresh migrated database: a SQLite file, or a schema of its own on PostgreSQL."""
    if postgres is None:
        db = Database(f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}")
        upgrade(db.engine)
        yield db, "sqlite"
        db.dispose()
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = Database(postgres)
    with admin.transaction() as session:
        session.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in postgres else "?"
    db = Database(f"{postgres}{separator}options=-csearch_path%3D{schema}")
    upgrade(db.engine)
    try:
        yield db, "postgresql"
    finally:
        db.dispose()
        with admin.transaction() as session:
            session.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def commit() -> str:
    """The current git commit, short."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def record(bench: str, figures: list[tuple[str, float, str]], database: str, **extra: Any) -> None:
    """Prints the figures as a table and appends one JSON line each to results/<bench>.jsonl."""
    smoke = bool(extra.get("smoke"))
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    width = max(len(name) for name, _, _ in figures)
    print(f"{bench} on {database}")
    lines = []
    for name, value, unit in figures:
        print(f"  {name:<{width}}  {value:>12,.2f} {unit}")
        lines.append(
            json.dumps(
                {
                    "name": name,
                    "value": round(value, 4),
                    "unit": unit,
                    "database": database,
                    "commit": commit(),
                    "date": stamp,
                }
            )
        )
    if not smoke:  # smoke runs only check that the benchmark works; they are not results
        with (RESULTS / f"{bench}.jsonl").open("a", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
