"""Engines, sessions and transactions for SQLite and PostgreSQL.

Why it looks like this (measured, see the README's "Database access" section):

* Services are plain synchronous functions on a SQLAlchemy `Session`. One user action is one
  short transaction with few round trips.
* **SQLite** runs in WAL mode with ``synchronous=NORMAL``; every write transaction starts with
  ``BEGIN IMMEDIATE`` so that concurrent writers (threads or processes) queue on the database
  lock (``busy_timeout``) instead of failing half-way with "database is locked". From the bot,
  `Database.run` calls the service directly on the event loop: a local SQLite transaction takes
  well under a millisecond, and handing it to a thread costs more than it saves.
* **PostgreSQL** is reached over the network, so `Database.run` hands the service to a small
  thread pool (psycopg 3 releases the GIL while it waits) and the event loop never blocks on a
  round trip. Invariants are kept with row locks (``SELECT … FOR UPDATE`` on the course row).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

from kurse.config import normalise_database_url

P = ParamSpec("P")
T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000
_READONLY = "kursbot_readonly"


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Creates the engine for ``url`` with the pragmas and drivers Kursbot relies on."""
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=pool_size,
            max_overflow=pool_size * 4,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # The driver must not open transactions on its own: we issue BEGIN ourselves below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Writers take the write lock up front, so two transactions never both read, then
        # both try to upgrade to a write lock and one fails with SQLITE_BUSY.
        readonly = connection.get_execution_options().get(_READONLY, False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


class Database:
    """One database: engine, transactions, and `run` for calling services from async code."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.engine = make_engine(url, pool_size=pool_size)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._readonly_engine = self.engine.execution_options(**{_READONLY: True})
        self._executor: ThreadPoolExecutor | None = None
        if not self.is_sqlite:
            self._executor = ThreadPoolExecutor(pool_size, thread_name_prefix="kursbot-db")

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Session]:
        """Yields a session inside one transaction; commits on success, rolls back on error."""
        bind = self._readonly_engine if readonly else self.engine
        with Session(bind, expire_on_commit=False) as session, session.begin():
            yield session

    def call(
        self, service: Callable[..., T], /, *args: Any, readonly: bool = False, **kwargs: Any
    ) -> T:
        """Runs ``service(session, *args, **kwargs)`` in one transaction (blocking)."""
        with self.transaction(readonly=readonly) as session:
            return service(session, *args, **kwargs)

    async def run(
        self, service: Callable[..., T], /, *args: Any, readonly: bool = False, **kwargs: Any
    ) -> T:
        """Runs ``service(session, ...)`` in one transaction from async code (see module doc)."""
        if self._executor is None:
            return self.call(service, *args, readonly=readonly, **kwargs)
        loop = asyncio.get_running_loop()
        job = functools.partial(self.call, service, *args, readonly=readonly, **kwargs)
        return await loop.run_in_executor(self._executor, job)

    def dispose(self) -> None:
        """Closes every pooled connection and the worker threads."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self.engine.dispose()
