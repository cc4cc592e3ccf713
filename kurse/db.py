"""Engines, sessions and transactions for SQLite and PostgreSQL.

Why it looks like this (measured, see the README's "Database access" section):

* Services are plain synchronous functions on a SQLAlchemy `Session`. One user action is one
  short transaction with few round trips.
* **SQLite** runs in WAL mode with ``synchronous=NORMAL``; every write transaction starts with
  ``BEGIN IMMEDIATE`` so that concurrent writers (threads or processes) queue on the database
  lock (``busy_timeout``) instead of failing half-way with "database is locked". Reads
  (``readonly=True``) start with a plain ``BEGIN`` and take no lock: in WAL mode a writer does
  not hold them up. From the bot, `Database.run` calls the service directly on the event
  loop (a local SQLite transaction takes well under a millisecond, and handing it to a thread
  costs more than it saves), but with a busy timeout of a few milliseconds only: when
  another process holds the write lock (a backup, a `kursbot` command, a second instance),
  the call is run again in a worker thread with the full timeout, and later writes follow
  it there until it is done, so that they keep their order. The event loop never waits for
  another process's lock, and reads go on meanwhile.
* **PostgreSQL** is reached over the network, so `Database.run` hands the service to a small
  thread pool (psycopg 3 releases the GIL while it waits) and the event loop never blocks on a
  round trip. Invariants are kept with row locks (``SELECT … FOR UPDATE`` on the course row).
* **Group commit** (`Database.run_batched`): when hundreds of officers press "Anmelden" in the
  same second, the calls that arrive together run one after another, in arrival order, inside
  one transaction, each in a savepoint of its own. A domain error undoes only its own call; a
  database error (a deadlock, say) sends that call to run alone afterwards. The begin, commit
  and pool work is paid once per batch instead of once per officer. Reads
  (`Database.run_grouped` with ``readonly=True``: the guard's person lookups) are batched
  apart from writes, in read transactions, so that they never wait behind a write batch
  that waits for a lock.
* **Answers first** (`background`): the bot's own work (the timed work, the outbox's sends)
  takes all of PostgreSQL's threads but `ANSWER_THREADS`, so that a hundred certificates or
  reminders going out never leave an officer's answer queued behind them for a thread
  (measured in `bench/certificates.py`, see bench/README).
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import ColumnElement, Engine, String, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, Session
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from kurse import holds
from kurse.config import normalise_database_url

P = ParamSpec("P")
T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000
# On the event loop: a call may wait this long for another connection's lock before it goes
# to the worker thread. Against a process that writes all the time (bench/write_lock.py,
# see README): 0 ms holds the loop least but sends more calls through the thread, and
# writes slower; 50 ms holds the loop up to ~50 ms; 10 ms holds it ~25 ms at most.
SQLITE_LOOP_BUSY_TIMEOUT_MS = 10
MAX_BATCH = 200
_READONLY = "kursbot_readonly"
_BUSY_MS = "kursbot_busy_ms"


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
    background: bool = False  # made inside `background` (the bot's own work)


# A grouped service: ``service(session, key, items)`` returns one result per item, in order;
# an item that is refused gets its exception (a DomainError) in its place, having written
# nothing. Any exception *raised* fails the whole group.
GroupedService = Callable[[Session, Any, list[Any]], Sequence[Any]]


# (True, result) or (False, exception) for each job of a batch.
_Outcome = tuple[bool, Any]


def _lock_busy(error: BaseException) -> bool:
    """True if ``error`` is SQLite's "database is locked": another connection holds the lock
    for longer than the busy timeout. The transaction was rolled back; it may run again."""
    original = getattr(error, "orig", None)
    return (
        isinstance(error, OperationalError)
        and isinstance(original, sqlite3.OperationalError)
        and original.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
    )


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Creates the engine for ``url`` with the pragmas and drivers Kursbot relies on."""
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=pool_size,
            max_overflow=pool_size * 4,
            json_serializer=_JSON_TEXT,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        json_serializer=_JSON_TEXT,
    )


# JSON columns (`kurse.models`) hold readable text: "München", not "M\u00fcnchen".
_JSON_TEXT = functools.partial(json.dumps, ensure_ascii=False)


_SQLITE_LOWER = "kursbot_lower"  # the name `unicode_lower` has on SQLite


def _simple_lower(text: str | None) -> str | None:
    """Each character in lower case by itself (Unicode's simple case mapping), as
    PostgreSQL's lower() does it: "İ" is "i" (not "i" and a combining dot), a final "Σ" is
    "σ", and the text keeps its length."""
    if text is None:
        return None
    return "".join(c.lower()[0] for c in text)


class unicode_lower(FunctionElement[str]):
    """``lower(value)`` for every script on both databases: PostgreSQL's own lower() (which
    folds every letter), and on SQLite, whose lower() folds ASCII only, `_simple_lower`
    registered on each connection (`_configure_sqlite`)."""

    type = String()
    name = "unicode_lower"
    inherit_cache = True

    def __init__(self, value: ColumnElement[str] | Mapped[str] | str) -> None:
        super().__init__(value)


@compiles(unicode_lower)
def _lower(element: unicode_lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(unicode_lower, "sqlite")
def _lower_on_sqlite(element: unicode_lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{_SQLITE_LOWER}({compiler.process(element.clauses, **kw)})"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # The driver must not open transactions on its own: we issue BEGIN ourselves below.
        dbapi_connection.isolation_level = None
        dbapi_connection.create_function(_SQLITE_LOWER, 1, _simple_lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted rows are overwritten with zeros, whatever SQLite was compiled with: a
        # deleted officer's name stays in no page of the file (see `Database.scrub`).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        # How long this transaction may wait for another connection's lock: a few ms on the
        # event loop, the full timeout elsewhere (set only when it changes).
        busy_ms = options.get(_BUSY_MS, SQLITE_BUSY_TIMEOUT_MS)
        if connection.info.get(_BUSY_MS, SQLITE_BUSY_TIMEOUT_MS) != busy_ms:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={int(busy_ms)}")
            connection.info[_BUSY_MS] = busy_ms
        # Writers take the write lock up front, so two transactions never both read, then
        # both try to upgrade to a write lock and one fails with SQLITE_BUSY. Readers take
        # none: in WAL mode they read the last commit while a writer works.
        readonly = options.get(_READONLY, False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


class _Queue:
    """Jobs waiting for the next batch, and the task that runs the batches (one at a time)."""

    def __init__(self, readonly: bool) -> None:
        self.readonly = readonly
        self.pending: list[_Job] = []
        self.drainer: asyncio.Task[None] | None = None


_BACKGROUND: ContextVar[bool] = ContextVar("kursbot_background", default=False)
ANSWER_THREADS = 1  # of PostgreSQL's threads, kept free of `background` calls


@contextmanager
def background() -> Iterator[None]:
    """Marks the database calls made inside (also in tasks started inside) as the bot's own
    work, not an answer to someone: on PostgreSQL they leave `ANSWER_THREADS` threads free."""
    token = _BACKGROUND.set(True)
    try:
        yield
    finally:
        _BACKGROUND.reset(token)


class Database:
    """One database: engine, transactions, and `run` for calling services from async code."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        loop_busy_timeout_ms: int = SQLITE_LOOP_BUSY_TIMEOUT_MS,
    ) -> None:
        self.engine = make_engine(url, pool_size=pool_size)
        # The settings the seat rules read (`kurse.holds.rules`): every session carries them.
        self.hold_rules = holds.DEFAULT_RULES
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # (readonly, on the event loop) -> the engine with those execution options
        self._engines = {
            (readonly, on_loop): self.engine.execution_options(
                **{
                    _READONLY: readonly,
                    _BUSY_MS: loop_busy_timeout_ms if on_loop else SQLITE_BUSY_TIMEOUT_MS,
                }
            )
            for readonly in (False, True)
            for on_loop in (False, True)
        }
        self._executor: ThreadPoolExecutor | None = None
        self._waiter: ThreadPoolExecutor | None = None
        self._waiting = 0  # SQLite: writes handed to the waiter and not yet done
        self._queues = {False: _Queue(readonly=False), True: _Queue(readonly=True)}
        if self.is_sqlite:
            # Writes that found the lock busy wait for it here, one after another, in order.
            self._waiter = ThreadPoolExecutor(1, thread_name_prefix="kursbot-db-wait")
        else:
            self._executor = ThreadPoolExecutor(pool_size, thread_name_prefix="kursbot-db")
        self._background_threads = max(1, pool_size - ANSWER_THREADS)
        # The event loop and its semaphore for `background` calls (made on first use: the
        # database may outlive one event loop, as in the benchmarks).
        self._background_turns: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Session]:
        """Yields a session inside one transaction; commits on success, rolls back on error."""
        with self._transaction(readonly=readonly, on_loop=False) as session:
            yield session

    @contextmanager
    def _transaction(self, *, readonly: bool, on_loop: bool) -> Iterator[Session]:
        bind = self._engines[(readonly, on_loop)]
        info = holds.session_info(self.hold_rules)
        with Session(bind, expire_on_commit=False, info=info) as session, session.begin():
            yield session

    def call(
        self, service: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Runs ``service(session, *args, **kwargs)`` in one transaction (blocking)."""
        return self._call(service, args, kwargs, readonly=False, on_loop=False)

    def call_read(
        self, service: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Like `call`, in a read-only transaction."""
        return self._call(service, args, kwargs, readonly=True, on_loop=False)

    def _call(
        self,
        service: Callable[..., T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        readonly: bool,
        on_loop: bool,
    ) -> T:
        with self._transaction(readonly=readonly, on_loop=on_loop) as session:
            return service(session, *args, **kwargs)

    async def run(
        self, service: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Runs ``service(session, ...)`` in one transaction from async code (see module doc)."""
        return await self._run(service, args, kwargs, readonly=False)

    async def read(
        self, service: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Like `run`, in a read-only transaction (it never waits for SQLite's write lock)."""
        return await self._run(service, args, kwargs, readonly=True)

    async def _run(
        self,
        service: Callable[..., T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        readonly: bool,
    ) -> T:
        job = functools.partial(self._call, service, args, kwargs, readonly=readonly)
        if self._executor is not None:
            return await self._in_thread(
                functools.partial(job, on_loop=False), background=_BACKGROUND.get()
            )
        if readonly or not self._waiting:  # a write never overtakes one that waits
            try:
                return job(on_loop=True)
            except OperationalError as error:
                if not _lock_busy(error):
                    raise
        return await self._off_loop(functools.partial(job, on_loop=False), readonly=readonly)

    async def _in_thread(self, job: Callable[[], T], *, background: bool) -> T:
        """PostgreSQL: runs ``job`` in the pool's threads; the bot's own work (`background`)
        only in its share of them."""
        assert self._executor is not None
        loop = asyncio.get_running_loop()
        if not background:
            return await loop.run_in_executor(self._executor, job)
        if self._background_turns is None or self._background_turns[0] is not loop:
            self._background_turns = (loop, asyncio.Semaphore(self._background_threads))
        async with self._background_turns[1]:
            return await loop.run_in_executor(self._executor, job)

    async def _off_loop(self, job: Callable[[], T], *, readonly: bool) -> T:
        """SQLite: runs ``job`` in a thread, where it may wait for the lock with the full
        timeout; writes in the waiter, in order, reads (rarely busy) in any thread."""
        loop = asyncio.get_running_loop()
        if readonly:
            return await loop.run_in_executor(None, job)
        self._waiting += 1
        try:
            return await loop.run_in_executor(self._waiter, job)
        finally:
            self._waiting -= 1

    async def run_batched(
        self, service: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Like `run`, but calls that arrive together share one transaction (see module doc).

        For short writes that come in bursts (cancel, marking sent messages). ``service``
        must do all its work through the session it is given, as every service does.
        """
        result: T = await self._enqueue(service, args, kwargs, grouped=False, readonly=False)
        return result

    async def run_grouped(
        self, service: GroupedService, key: Any, item: Any, *, readonly: bool = False
    ) -> Any:
        """Like `run_batched`, but ``item`` is handed to ``service(session, key, items)``
        together with the other items for the same service and key that arrive with it.

        Returns the item's own result, or raises the exception the service put in its place.
        Items keep their arrival order within the group. ``readonly`` groups (lookups) are
        batched apart from writes, in read transactions.
        """
        return await self._enqueue(service, (key, item), {}, grouped=True, readonly=readonly)

    def _enqueue(
        self,
        service: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        grouped: bool,
        readonly: bool,
    ) -> asyncio.Future[Any]:
        """Puts a job into the next batch; the future is its outcome."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        queue = self._queues[readonly]
        queue.pending.append(_Job(service, args, kwargs, future, grouped, _BACKGROUND.get()))
        if queue.drainer is None:
            queue.drainer = loop.create_task(self._drain(queue))
        return future

    async def _drain(self, queue: _Queue) -> None:
        """Runs batches until nothing is pending; one batch at a time keeps arrival order."""
        try:
            await asyncio.sleep(0)  # let the other updates of this moment queue up first
            while queue.pending:
                batch, queue.pending = queue.pending[:MAX_BATCH], queue.pending[MAX_BATCH:]
                outcomes = await self._run_batch_async(batch, queue.readonly)
                for job, (ok, value) in zip(batch, outcomes, strict=True):
                    if job.future.done():  # the caller gave up waiting
                        continue
                    if ok:
                        job.future.set_result(value)
                    else:
                        job.future.set_exception(value)
        finally:
            queue.drainer = None

    async def _run_batch_async(self, batch: list[_Job], readonly: bool) -> list[_Outcome]:
        run = functools.partial(self._run_batch, readonly=readonly)
        if self._executor is not None:
            # A batch of the bot's own work only takes its share of the threads.
            background = all(job.background for job in batch)
            done = await self._in_thread(functools.partial(run, batch), background=background)
            return [outcome for outcome in done if outcome is not None]
        # SQLite: on the loop unless writes wait for the lock; what found it busy goes after.
        first: list[_Outcome | None] = [None] * len(batch)
        if readonly or not self._waiting:  # a write never overtakes one that waits
            first = run(batch, on_loop=True)
        busy = [i for i, outcome in enumerate(first) if outcome is None]
        if busy:
            job = functools.partial(run, [batch[i] for i in busy], on_loop=False)
            for i, outcome in zip(busy, await self._off_loop(job, readonly=readonly), strict=True):
                first[i] = outcome
        return [outcome for outcome in first if outcome is not None]

    def _run_batch(
        self, batch: list[_Job], *, readonly: bool, on_loop: bool = False
    ) -> list[_Outcome | None]:
        """Runs a batch in one transaction (see module doc). On the loop, a job is left
        ``None`` if the lock was busy and nothing of it was written: it is to run again off
        the loop."""
        outcomes: list[_Outcome | None] = [None] * len(batch)
        alone: list[int] = []
        try:
            with self._transaction(readonly=readonly, on_loop=on_loop) as session:
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
        except SQLAlchemyError as error:  # the commit failed: nothing of this batch was written
            if on_loop and _lock_busy(error):
                return [None] * len(batch)
            outcomes = [None] * len(batch)
            alone = list(range(len(batch)))
        for i in alone:
            try:
                with self._transaction(readonly=readonly, on_loop=on_loop) as session:
                    outcomes[i] = self._call_unit(session, batch, [i])[0]
            except Exception as error:
                if not (on_loop and _lock_busy(error)):
                    outcomes[i] = (False, error)
        return outcomes

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

    def scrub(self) -> None:
        """After a deletion or an anonymisation: leaves the old rows in no database file.

        SQLite keeps the last versions of changed pages in its write-ahead log until a
        checkpoint; ``TRUNCATE`` copies them into the main file (where `secure_delete` has
        zeroed the deleted rows) and empties the log. PostgreSQL keeps dead row versions until
        they are vacuumed; this vacuums the tables that hold persons (autovacuum would, later).
        Blocking: call it off the event loop. What backups keep is in docs/deployment.md."""
        if self.is_sqlite:
            with self.engine.connect() as connection:
                raw = connection.connection.dbapi_connection
                assert raw is not None
                raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return
        tables = "person, registration, audit_entry, outbox, dialog, access_code_attempt"
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"VACUUM {tables}")

    def dispose(self) -> None:
        """Closes every pooled connection and the worker threads."""
        for executor in (self._executor, self._waiter):
            if executor is not None:
                executor.shutdown(wait=True)
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
