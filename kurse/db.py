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
* **Group commit** (`Database.run_batched`): when hundreds of officers press "Anmelden" in the
  same second, the calls that arrive together run one after another, in arrival order, inside
  one transaction, each in a savepoint of its own. A domain error undoes only its own call; a
  database error (a deadlock, say) sends that call to run alone afterwards. The begin, commit
  and pool work is paid once per batch instead of once per officer.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

from kurse.config import normalise_database_url

P = ParamSpec("P")
T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000
MAX_BATCH = 200
_READONLY = "kursbot_readonly"


@dataclass
class _Job:
    """One service call waiting for the next batch.

    A grouped job (`Database.run_grouped`) has ``args == (key, item)`` and is run together
    with the other jobs of the same service and key in its batch.
    """

    service: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    future: asyncio.Future[Any]
    grouped: bool = False


# A grouped service: ``service(session, key, items)`` returns one result per item, in order;
# an item that is refused gets its exception (a DomainError) in its place, having written
# nothing. Any exception *raised* fails the whole group.
GroupedService = Callable[[Session, Any, list[Any]], Sequence[Any]]


# (True, result) or (False, exception) for each job of a batch.
_Outcome = tuple[bool, Any]


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
        self._pending: list[_Job] = []
        self._drainer: asyncio.Task[None] | None = None
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

    async def run_batched(self, service: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Like `run`, but calls that arrive together share one transaction (see module doc).

        For short writes that come in bursts (cancel, marking sent messages). ``service``
        must do all its work through the session it is given, as every service does.
        """
        result: T = await self._enqueue(service, args, kwargs, grouped=False)
        return result

    async def run_grouped(self, service: GroupedService, key: Any, item: Any) -> Any:
        """Like `run_batched`, but ``item`` is handed to ``service(session, key, items)``
        together with the other items for the same service and key that arrive with it.

        Returns the item's own result, or raises the exception the service put in its place.
        Items keep their arrival order within the group.
        """
        return await self._enqueue(service, (key, item), {}, grouped=True)

    def _enqueue(
        self,
        service: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        grouped: bool,
    ) -> asyncio.Future[Any]:
        """Puts a job into the next batch; the future is its outcome."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append(_Job(service, args, kwargs, future, grouped))
        if self._drainer is None:
            self._drainer = loop.create_task(self._drain())
        return future

    async def _drain(self) -> None:
        """Runs batches until nothing is pending; one batch at a time keeps arrival order."""
        try:
            await asyncio.sleep(0)  # let the other updates of this moment queue up first
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                if self._executor is None:
                    outcomes = self._run_batch(batch)
                else:
                    loop = asyncio.get_running_loop()
                    outcomes = await loop.run_in_executor(self._executor, self._run_batch, batch)
                for job, (ok, value) in zip(batch, outcomes, strict=True):
                    if job.future.done():  # the caller gave up waiting
                        continue
                    if ok:
                        job.future.set_result(value)
                    else:
                        job.future.set_exception(value)
        finally:
            self._drainer = None

    def _run_batch(self, batch: list[_Job]) -> list[_Outcome]:
        outcomes: list[_Outcome | None] = [None] * len(batch)
        alone: list[int] = []
        try:
            with self.transaction() as session:
                connection = session.connection()
                for unit in _units(batch):
                    # Plain SAVEPOINT statements: the ORM's begin_nested() costs a third of a
                    # sign-up's time on SQLite (measured, see README).
                    connection.exec_driver_sql("SAVEPOINT kursbot_job")
                    try:
                        results = self._call_unit(session, batch, unit)
                        if session.new or session.dirty or session.deleted:
                            session.flush()
                    except Exception as error:
                        connection.exec_driver_sql("ROLLBACK TO SAVEPOINT kursbot_job")
                        session.expunge_all()  # forget objects of the undone call
                        if isinstance(error, SQLAlchemyError):
                            alone.extend(unit)  # e.g. a deadlock: try again on its own
                        else:  # a domain error, or a bug: reported to its callers
                            for i in unit:
                                outcomes[i] = (False, error)
                    else:
                        for i, outcome in zip(unit, results, strict=True):
                            outcomes[i] = outcome
                    connection.exec_driver_sql("RELEASE SAVEPOINT kursbot_job")
        except SQLAlchemyError:  # the commit failed: nothing of this batch was written
            outcomes = [None] * len(batch)
            alone = list(range(len(batch)))
        for i in alone:
            try:
                with self.transaction() as session:
                    outcomes[i] = self._call_unit(session, batch, [i])[0]
            except Exception as error:
                outcomes[i] = (False, error)
        return [outcome for outcome in outcomes if outcome is not None]

    @staticmethod
    def _call_unit(session: Session, batch: list[_Job], unit: list[int]) -> list[_Outcome]:
        """Runs one plain job, or one group of grouped jobs; one outcome per job."""
        first = batch[unit[0]]
        if not first.grouped:
            return [(True, first.service(session, *first.args, **first.kwargs))]
        key = first.args[0]
        results = first.service(session, key, [batch[i].args[1] for i in unit])
        if len(results) != len(unit):
            raise RuntimeError(f"{first.service.__name__} answered {len(results)} of {len(unit)}")
        return [(False, r) if isinstance(r, Exception) else (True, r) for r in results]

    def dispose(self) -> None:
        """Closes every pooled connection and the worker threads."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self.engine.dispose()


def _units(batch: list[_Job]) -> list[list[int]]:
    """The batch's jobs as units of work, in arrival order: a plain job alone; grouped jobs
    with the same service and key together, at the place of the first of them."""
    units: list[list[int]] = []
    groups: dict[tuple[Any, Any], list[int]] = {}
    for i, job in enumerate(batch):
        if not job.grouped:
            units.append([i])
            continue
        group_key = (job.service, job.args[0])
        if group_key in groups:
            groups[group_key].append(i)
        else:
            groups[group_key] = [i]
            units.append(groups[group_key])
    return units
