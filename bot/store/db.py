"""The one aiosqlite connection, the group-commit writer and the migration runner.

Writes take turns on the single connection: aiosqlite runs statements one at a time, but two
coroutines could otherwise interleave statements inside each other's BEGIN … COMMIT. There are
two ways to write:

- `Database.write(unit)`: the group commit. A unit is a plain function of the sqlite3 connection
  that runs on the database thread. One writer takes every unit queued meanwhile, runs them in one
  transaction, each in a SAVEPOINT of its own (one that fails is rolled back alone, and its caller
  gets the exception), commits once (`synchronous=FULL`: fsynced) and only then answers each
  caller. The journal, the dispatcher's claims and marks and outbox planning write this way: under
  load many messages share one commit and one trip to the thread. Once there, the writer takes the
  next batch as soon as one is committed, without going back to the event loop in between.
- `Database.transaction()`: BEGIN IMMEDIATE … COMMIT around awaited statements, for writes that
  are rare or need to await between statements. It takes turns with the writer's batches.

Each await on aiosqlite is a trip to its database thread and back, and on a busy event loop every
trip waits for a turn of the loop. So a read is one trip (`Database.fetchall`, `fetchone`, `scalar`):
the statement runs, its rows are fetched and its cursor closed on the database thread. Running a
function there is owned by one place, `Database.run` (see `ThreadConnection` for how, with aiosqlite's
public API only).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "migrations"
MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
BUSY_TIMEOUT_MS = 5000
# A migration whose text holds this marker rebuilds a table (to change a CHECK, say): see `migrate`.
REBUILDS_TABLES = "-- pitstop: rebuilds tables"
SCRUB_ATTEMPTS = 10
MAX_BATCH = 256  # write units in one group commit at most: enough to share the fsync, short enough to wait for


T = TypeVar("T")
# How a batch of write units is committed on the database thread: one transaction, a savepoint a unit
# (each engine has its own); gives each unit's (failed, result or exception).
Commit = Callable[[list[Callable[[Any], Any]], Any], list[tuple[bool, Any]]]

# The "statement" that asks ThreadConnection to run a function instead; compared by identity, so no
# SQL text can ever be taken for it.
RUN_HERE = "-- pitstop: run the function given as the parameter, on the database thread"


class ThreadConnection(sqlite3.Connection):
    """The sqlite3 connection that lives on aiosqlite's database thread, able to run a function there.

    Why: a read or a group of writes is cheapest as one trip to that thread, and aiosqlite's public
    API has no call for "run this function"; its private `_execute` must not be used. How:
    `aiosqlite.connect` passes its keyword arguments to `sqlite3.connect`, whose public `factory`
    makes the connection of this class; aiosqlite's public `Connection.execute_fetchall(sql, params)`
    runs `execute(sql, params).fetchall()` on this connection, on its thread. When `sql` is `RUN_HERE`
    (this very object), `execute` calls the one parameter with the connection and `fetchall` gives
    what it returned. `Database.run` is the only caller; tests/store/test_db.py checks that the
    function runs on the connection's thread, so an aiosqlite that worked otherwise would be noticed.
    """

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        """Runs a statement, or (with `RUN_HERE`) the function given as the only parameter."""
        if sql is RUN_HERE:
            return _Ran(parameters[0](self))
        return super().execute(sql, parameters)


class _Ran:
    """What a function run by ThreadConnection gave, in the shape aiosqlite fetches from."""

    def __init__(self, result: Any) -> None:
        self.result = result

    def fetchall(self) -> Any:
        return self.result


def _first(sql: str, params: tuple[Any, ...], conn: sqlite3.Connection) -> sqlite3.Row | None:
    cursor = conn.execute(sql, params)
    try:
        return cast(sqlite3.Row | None, cursor.fetchone())
    finally:
        cursor.close()


def _commit_units(units: list[Callable[[sqlite3.Connection], Any]], conn: sqlite3.Connection) -> list[tuple[bool, Any]]:
    """Runs write units in one transaction, each in a savepoint, and commits once (on the database thread).

    Gives (failed, result or exception) per unit. Raises, with nothing kept, when BEGIN or COMMIT
    fails, or when a unit's error made SQLite roll the whole transaction back (a full disk, say).
    A unit alone needs no savepoint: when it fails, the transaction is rolled back instead (the
    dispatcher's marks mostly come one or two at a time: two statements fewer on the database thread).
    """
    outcomes: list[tuple[bool, Any]] = []
    alone = len(units) == 1
    conn.execute("BEGIN IMMEDIATE")
    try:
        for unit in units:
            if alone:
                try:
                    result = unit(conn)
                except Exception as exc:  # noqa: BLE001 -- the unit's own error, handed to its caller
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    return [(True, exc)]
                outcomes.append((False, result))
                continue
            conn.execute("SAVEPOINT unit")
            try:
                result = unit(conn)
            except Exception as exc:  # noqa: BLE001 -- the unit's own error, handed to its caller
                if not conn.in_transaction:
                    raise  # SQLite rolled everything back: the batch fails as a whole
                conn.execute("ROLLBACK TO unit")
                conn.execute("RELEASE unit")
                outcomes.append((True, exc))
            else:
                conn.execute("RELEASE unit")
                outcomes.append((False, result))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes


class StoreError(Exception):
    """The database cannot be used; the message is one sentence for the operator."""


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    number: int
    name: str
    sql: str


class Database:
    """The connection, with the group-commit writer and a lock that makes transactions take turns."""

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self.commits = 0  # transactions committed, group commits and transaction() alike (benchmarks read it)
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[Any] | None = None  # the task inside transaction() or alone(), if any
        # Appended to on the event loop, taken from on the database thread (deque's ends are thread-safe).
        self._queue: deque[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._turns_wanted = 0  # callers waiting for the lock (see _turn); read on the database thread
        self._closed = False

    engine = "sqlite"

    @property
    def closed(self) -> bool:
        """Gives whether close() was called."""
        return self._closed

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Gives the connection inside BEGIN IMMEDIATE … COMMIT, rolled back on any error."""
        async with self._turn():
            self._holder = asyncio.current_task()
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self.conn
                except BaseException:
                    await self.conn.execute("ROLLBACK")
                    raise
                else:
                    await self.conn.execute("COMMIT")
                    self.commits += 1
            finally:
                self._holder = None

    @asynccontextmanager
    async def alone(self) -> AsyncIterator[aiosqlite.Connection]:
        """Gives the connection while no transaction of ours runs (for a backup, which must see none half done)."""
        async with self._turn():
            self._holder = asyncio.current_task()
            try:
                yield self.conn
            finally:
                self._holder = None

    async def write(self, unit: Callable[[sqlite3.Connection], T]) -> T:
        """Gives what `unit(connection)` returned, once the group commit that ran it is committed (fsynced).

        The unit runs on the database thread in the writer's next transaction, inside a SAVEPOINT of its
        own: when it raises, what it did is rolled back, the other units of the batch are committed all
        the same, and the exception is raised here. When the commit itself fails, every caller of the
        batch gets that error and nothing of it is kept. A unit must only use the connection it is given
        (no BEGIN, COMMIT or ROLLBACK of its own) and block on nothing else; a caller cancelled before
        its batch starts is left out of it.
        """
        if self._holder is not None and self._holder is asyncio.current_task():
            raise RuntimeError("Database.write inside transaction() or alone() would wait for itself")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.append((unit, future))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_queued(), name="pitstop-db-writer")
        return await future

    async def _write_queued(self) -> None:
        """The writer: hands the queue to the database thread, which commits it batch after batch there
        (`_commit_queued`), until it is empty. Between such turns, transactions waiting get theirs."""
        loop = asyncio.get_running_loop()
        while self._queue:
            stop = threading.Event()
            try:
                await self._writer_turn(partial(self._commit_queued, loop, stop))
            except asyncio.CancelledError:
                stop.set()  # the loop is going away: the thread ends with the batch it is in
                raise

    async def _writer_turn(self, turn: Callable[[Commit, Any], None]) -> None:
        """Runs one turn of the writer (`_commit_queued`) on the database thread, with this engine's way to
        commit a batch, holding the lock that makes transactions take turns. The one step of the writer that
        differs between engines."""
        async with self._turn():
            await self.run(partial(turn, _commit_units))

    def _commit_queued(self, loop: asyncio.AbstractEventLoop, stop: threading.Event, commit: Commit, conn: Any) -> None:
        """Commits the queued units, batch after batch, on the database thread (each batch with `commit`:
        one transaction, a savepoint a unit); answers each batch's callers on the event loop as soon as it
        is committed.

        Why here and not one batch per trip: a batch is taken the moment the one before is committed, so
        the units that queued meanwhile wait for no trip back to the event loop and out again (about a
        millisecond each on a busy loop, more than the commit's fsync). It stops when the queue is empty,
        after a batch when a transaction waits for its turn (so that neither can keep the other waiting:
        they alternate), or when the loop is going away.
        """
        while self._queue and not stop.is_set():
            taken = [self._queue.popleft() for _ in range(min(MAX_BATCH, len(self._queue)))]
            batch = [(unit, future) for unit, future in taken if not future.done()]  # done: its caller was cancelled
            if not batch:
                continue
            outcomes: list[tuple[bool, Any]] | BaseException
            try:
                outcomes = commit([unit for unit, _ in batch], conn)
            except BaseException as exc:  # BEGIN or COMMIT failed: every caller of the batch hears it
                outcomes = exc
            try:
                loop.call_soon_threadsafe(self._answer, batch, outcomes)
            except RuntimeError:  # the loop is closed: nobody is left to answer
                return
            if not isinstance(outcomes, Exception) and isinstance(outcomes, BaseException):
                raise outcomes  # the process is stopping (SystemExit, KeyboardInterrupt)
            if self._turns_wanted:  # checked after a batch, not before: each turn commits one at least
                return

    def _answer(
        self, batch: list[tuple[Callable[[Any], Any], asyncio.Future[Any]]],
        outcomes: list[tuple[bool, Any]] | BaseException,
    ) -> None:
        """Gives each caller of a committed batch its unit's result or exception (or everyone the batch's error)."""
        if isinstance(outcomes, BaseException):
            for _, future in batch:
                if not future.done():
                    future.set_exception(outcomes)
            return
        self.commits += 1
        for (_, future), (failed, value) in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if failed:
                future.set_exception(value)
            else:
                future.set_result(value)

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """Holds the lock that makes transactions and the writer's turns take turns; while a caller waits for
        it, the writer's thread ends its turn after the batch it is in."""
        self._turns_wanted += 1
        try:
            await self._lock.acquire()
        finally:
            self._turns_wanted -= 1
        try:
            yield
        finally:
            self._lock.release()

    async def run(self, function: Callable[[sqlite3.Connection], T]) -> T:
        """Gives what `function(connection)` returns, run on the database thread in one trip.

        The one place that runs our code on that thread (see ThreadConnection). The function must
        not block on anything but SQLite: every other read and write waits behind it.
        """
        return cast(T, await self.conn.execute_fetchall(RUN_HERE, (function,)))

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Gives every row of a read (one trip: aiosqlite's execute_fetchall)."""
        return cast(list[sqlite3.Row], await self.conn.execute_fetchall(sql, tuple(params)))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        """Gives the first row of a read, or None (one trip)."""
        return await self.run(partial(_first, sql, tuple(params)))

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """Gives the first column of the first row, or None."""
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    # Locks between processes. On SQLite one process owns the file (`pitstop run` locks it), so a
    # lock is always this process's; PostgreSQL's store holds them on a connection of its own.

    async def try_lock(self, name: str) -> bool:
        """Takes a lock that lasts until `unlock` or the end of the process, if no other process holds it;
        gives whether this process holds it now. Taking one already held here gives True again."""
        return True

    async def unlock(self, name: str) -> None:
        """Gives up a lock taken with `try_lock`."""

    async def holder(self) -> str | None:
        """Gives the name under which this process claims outbox rows (None: one process, no name needed)."""
        return None

    @property
    def lock_epoch(self) -> int:
        """Changes when the locks this process held may have been lost (PostgreSQL: their connection was
        opened again); a holder that sees it change must take its lock again and look afresh."""
        return 0

    async def scrub(self) -> bool:
        """Copies the WAL into the database file and truncates it, so that erased text is gone from disk too.

        With secure_delete the file's freed space is zeroed, but the WAL still holds the pages as they
        were before the erase until a checkpoint; TRUNCATE empties it. A read in progress on this
        connection or another process's (a CLI command beside the bot) can hold it up: it is tried again
        a few times, and gives False when it could not finish (the erase itself is committed; the next
        checkpoint empties the WAL).
        """
        for attempt in range(SCRUB_ATTEMPTS):
            try:
                async with self._turn():
                    row = await self.fetchone("PRAGMA wal_checkpoint(TRUNCATE)")
                if row is None or row[0] == 0:
                    return True
            except sqlite3.OperationalError:
                pass  # "database table is locked": a read of ours is between its steps
            await asyncio.sleep(0.01 * (attempt + 1))
        log.warning("checkpoint after an erase was held up; the WAL is emptied at the next one")
        return False

    async def close(self) -> None:
        """Commits what is queued for the writer, then closes the connection; safe to call twice."""
        writer = self._writer
        if writer is not None and not writer.done():
            await writer
        self._closed = True
        try:
            await self.conn.close()
        except ValueError:
            pass


async def connect(path: str | Path) -> Database:
    """Gives an open database with WAL, foreign keys and a busy timeout, or raises StoreError."""
    path_text = str(path)
    if path_text != ":memory:":
        parent = Path(path_text).resolve().parent
        if not parent.is_dir():
            raise StoreError(f"The folder for the database {path_text} does not exist.")
    try:
        conn = await aiosqlite.connect(path_text, isolation_level=None, factory=ThreadConnection)
    except sqlite3.Error as exc:
        raise StoreError(f"The database {path_text} cannot be opened ({exc}).") from None
    conn.row_factory = sqlite3.Row
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Reading the schema is the first thing that fails on a file that is not SQLite.
        await conn.execute_fetchall("SELECT count(*) FROM sqlite_master")
        await conn.execute_fetchall("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        # A larger page cache keeps the outbox indexes in memory for tens of thousands of participants.
        await conn.execute("PRAGMA cache_size = -32000")
        # FULL: a committed reflection survives a power cut, not only a crash. Writes are small.
        await conn.execute("PRAGMA synchronous = FULL")
        # Erased text is overwritten with zeros in the file, not left in free pages (see Database.scrub).
        await conn.execute("PRAGMA secure_delete = ON")
    except sqlite3.DatabaseError as exc:
        await conn.close()
        raise StoreError(_explain(path_text, exc)) from None
    return Database(conn, path_text)


def _explain(path: str, exc: sqlite3.Error) -> str:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return f"The file {path} is not a Pitstop database (not SQLite, or damaged)."
    if "locked" in text or "busy" in text:
        return f"The database {path} is locked by another process; stop it first."
    return f"The database {path} cannot be used ({text})."


def available_migrations(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Gives the migration files in order, checking their names."""
    found = []
    for file in sorted(folder.glob("*.sql")):
        match = MIGRATION_NAME.match(file.name)
        if not match:
            raise StoreError(f"The migration file {file.name} is not named like 0001_name.sql.")
        found.append(Migration(int(match.group(1)), file.stem, file.read_text(encoding="utf-8")))
    numbers = [m.number for m in found]
    if len(set(numbers)) != len(numbers):
        raise StoreError("Two migration files share a number.")
    return found


def integrity_check(path: Path) -> str:
    """Gives SQLite's verdict on a database file that no process is using (a fresh backup): "ok" or the damage."""
    copy = sqlite3.connect(path)
    try:
        return str(copy.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        copy.close()


async def migrate(db: Database, folder: Path = MIGRATIONS_DIR) -> list[str]:
    """Applies the migrations not applied yet, each in its own transaction; gives their names."""
    migrations = available_migrations(folder)
    try:
        await db.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        applied = {row[0] for row in await db.fetchall("SELECT name FROM schema_migrations")}
    except sqlite3.DatabaseError as exc:
        raise StoreError(_explain(db.path, exc)) from None
    known = {m.name for m in migrations}
    newer = sorted(applied - known)
    if newer:
        raise StoreError(
            f"The database {db.path} has migrations this version of Pitstop does not know ({', '.join(newer)}); "
            "it was used by a newer version."
        )
    done = []
    for migration in migrations:
        if migration.name in applied:
            continue
        rebuilds = REBUILDS_TABLES in migration.sql
        script = (
            "BEGIN IMMEDIATE;\n"
            f"{migration.sql}\n;"
            f"INSERT INTO schema_migrations (name, applied_at) VALUES ('{migration.name}', datetime('now'));\n"
        )
        try:
            if rebuilds:
                # SQLite's procedure for a schema change ALTER TABLE cannot make: foreign keys off
                # outside the transaction, rebuild, check every reference, commit, on again.
                await db.conn.execute("PRAGMA foreign_keys = OFF")
            await db.conn.executescript(script)
            if rebuilds and await db.fetchall("PRAGMA foreign_key_check"):
                raise sqlite3.IntegrityError("a rebuilt table left references that point nowhere")
            await db.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.conn.in_transaction:
                await db.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise StoreError(_explain(db.path, exc)) from None
            raise StoreError(f"The migration {migration.name} failed: {exc}.") from None
        finally:
            if rebuilds:
                await db.conn.execute("PRAGMA foreign_keys = ON")
        log.info("migration applied name=%s", migration.name)
        done.append(migration.name)
    return done


async def open_database(path: str | Path) -> Database:
    """Gives a connected, migrated database; the way every process opens it."""
    db = await connect(path)
    try:
        await migrate(db)
    except BaseException:
        await db.close()
        raise
    return db


async def backup(db: Database, target: Path) -> None:
    """Writes a consistent copy of the live database with SQLite's online backup API."""
    if target.exists():
        raise StoreError(f"{target} exists already; choose a new file for the backup.")
    if not target.resolve().parent.is_dir():
        raise StoreError(f"The folder for the backup {target} does not exist.")

    async with db.alone() as conn:
        # aiosqlite's public Connection.backup runs sqlite3's backup on the connection's own thread.
        try:
            async with aiosqlite.connect(str(target)) as dest:
                await conn.backup(dest)
        except sqlite3.Error as exc:
            target.unlink(missing_ok=True)
            raise StoreError(f"The backup to {target} failed ({exc}).") from None
