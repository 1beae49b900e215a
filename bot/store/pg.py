"""The PostgreSQL store: the same Database interface as SQLite's, on psycopg 3 and its connection pool.

`PITSTOP_DB=postgresql://…` selects it (see `bot.store.engines`). Everything above the store stays
as it is: write units are plain functions of a connection, reads give rows that answer to `row[0]`
and `row["name"]`, and SQL is written once, in SQLite's dialect, in the store modules.

How it maps:

- **Connections.** A `psycopg_pool.ConnectionPool`; each call runs on a small pool of threads, the way
  aiosqlite runs sqlite3 on its thread, so that write units stay the synchronous functions they are on
  SQLite. Connections are in autocommit mode; a transaction is an explicit BEGIN … COMMIT.
- **Group commit.** The same writer as SQLite's (`Database.write`): queued units run in one
  transaction, each in a SAVEPOINT, one COMMIT, then the callers hear. Several processes write side
  by side, so a batch that PostgreSQL aborts for a deadlock or a serialisation failure is run again
  (its units are functions of the connection, and nothing of the aborted try was kept).
- **Dialect.** `translate` rewrites, once per statement text, what SQLite and PostgreSQL say
  differently: `?` placeholders, `json_extract`/`json_set`, `group_concat`, `COLLATE NOCASE`, a `sum`
  over a comparison, case-insensitive `LIKE`. An INSERT into a table with an `id` gets `RETURNING id`
  so that `lastrowid` means what it means on SQLite.
- **Values.** The schema keeps SQLite's: ISO text for times, integers for flags (a Python bool is
  stored as 0 or 1), BIGINT for every id. `numeric` (what `avg` and a `sum` over BIGINT give) is read
  as an int when whole and a float otherwise, as SQLite gives them.
- **Migrations.** One numbered sequence for both engines: `migrations/NNNN_name.sql` is SQLite's, and
  `migrations/postgresql/NNNN_name.sql`, under the same name, is PostgreSQL's (see that folder's 0001).
  Processes that start together take turns on an advisory lock.

psycopg is imported when a PostgreSQL database is opened: it is the `postgresql` extra, and a SQLite
installation needs none of it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any, TypeVar, cast

from bot.config import redacted
from bot.store.db import MIGRATIONS_DIR, Commit, Database, StoreError, available_migrations

log = logging.getLogger(__name__)

T = TypeVar("T")

PG_MIGRATIONS_DIR = MIGRATIONS_DIR / "postgresql"
PROBE_TIMEOUT = 5  # seconds to wait for the server at start-up
POOL_SIZE = 8  # connections (and threads) per process: reads run side by side, writes take turns
CLOSE_WAIT = 10  # seconds close() waits for a transaction under way
# Every connection of a process carries its name (pg_stat_activity.application_name): a claim whose
# holder has no connection left belongs to a process that died. Keepalives find a link that went dead
# without a word, and the server ends a transaction left idle this long (a process that froze), so that
# it cannot hold other processes' locks for ever.
KEEPALIVES: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
IDLE_IN_TRANSACTION = "120s"
SCRUB_WAIT = 3.0  # seconds an erase's rewrite waits for older transactions, which hold the erased text in it
# Other sessions on the server whose transaction or snapshot is older than a transaction id (a plain
# VACUUM's is not: what it sees does not hold back what another may remove).
OLDER_TRANSACTIONS = (
    "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
    " AND pid NOT IN (SELECT pid FROM pg_stat_progress_vacuum)"
    " AND greatest(age(backend_xid), age(backend_xmin)) > age(%s::xid)"
)
BATCH_RETRIES = 5  # a batch aborted by a deadlock or a serialisation failure is tried this often
# Two-part advisory-lock keys: the first part names the purpose, the second is hashed from the schema,
# so that tests in their own schemas (and installations sharing a server) do not block each other.
LOCK_MIGRATE = 7301
# Tables whose INSERT gives `lastrowid` (every table with an `id`; schema_migrations has none).
NO_ID = frozenset({"schema_migrations", "inbox"})
# ---------------------------------------------------------------------------------------------------
# The dialect


def _split_literals(sql: str) -> list[tuple[bool, str]]:
    """Splits SQL into (is_literal, text) pieces: '…' strings and "…" names are literals."""
    pieces: list[tuple[bool, str]] = []
    i, start, n = 0, 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"":
            if i > start:
                pieces.append((False, sql[start:i]))
            j = i + 1
            while j < n:
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:  # a doubled quote inside
                        j += 2
                        continue
                    break
                j += 1
            pieces.append((True, sql[i : j + 1]))
            i = start = j + 1
            continue
        i += 1
    if start < n:
        pieces.append((False, sql[start:]))
    return pieces


def _outside_quotes(text: str, start: int = 0) -> Iterator[tuple[int, str, int]]:
    """Gives (index, character, depth) for each character of `text` from `start` that is outside a quoted
    literal, with the depth of parentheses around it (an opening one counts itself)."""
    depth, quote = 0, ""
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
            continue
        if ch == "(":
            depth += 1
        yield i, ch, depth
        if ch == ")":
            depth -= 1


def _close_paren(text: str, open_at: int) -> int:
    """Gives the index of the parenthesis that closes the one at `open_at` (quotes skipped)."""
    for i, ch, depth in _outside_quotes(text, open_at):
        if ch == ")" and depth == 1:
            return i
    raise ValueError("unbalanced parentheses")


_JSON_EXTRACT = re.compile(r"json_extract\(\s*([\w.]+)\s*,\s*'\$\.(\w+)'\s*\)", re.IGNORECASE)
_JSON_SET = re.compile(r"json_set\(\s*([\w.]+)\s*,\s*'\$\.(\w+)'\s*,\s*(\?|'[^']*'|\d+)\s*\)", re.IGNORECASE)
_NOCASE = re.compile(r"([\w.]+)\s+COLLATE\s+NOCASE", re.IGNORECASE)
_SUM = re.compile(r"\bsum\(", re.IGNORECASE)
_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+(\w+)", re.IGNORECASE)


def _wrap_sums(sql: str) -> str:
    """`sum(x = y)` counts on SQLite, where a comparison is 0 or 1; PostgreSQL needs the cast."""
    out, pos = [], 0
    for match in _SUM.finditer(sql):
        if match.start() < pos:
            continue
        open_at = match.end() - 1
        close = _close_paren(sql, open_at)
        inner = _wrap_sums(sql[open_at + 1 : close])
        out.append(sql[pos : match.start()])
        out.append(f"sum(CAST(({inner}) AS INTEGER))")
        pos = close + 1
    out.append(sql[pos:])
    return "".join(out)


_MAX_MIN = re.compile(r"\b(max|min)\(", re.IGNORECASE)


def _top_level_comma(text: str) -> bool:
    return any(ch == "," and depth == 0 for _, ch, depth in _outside_quotes(text))


def _scalar_max_min(sql: str) -> str:
    """SQLite's max(a, b, …) and min(a, b, …) of several arguments are GREATEST and LEAST."""
    out, pos = [], 0
    for match in _MAX_MIN.finditer(sql):
        if match.start() < pos:
            continue
        open_at = match.end() - 1
        close = _close_paren(sql, open_at)
        inner = _scalar_max_min(sql[open_at + 1 : close])
        name = match.group(1)
        if _top_level_comma(inner):
            name = "GREATEST" if name.lower() == "max" else "LEAST"
        out.append(sql[pos : match.start()])
        out.append(f"{name}({inner})")
        pos = close + 1
    out.append(sql[pos:])
    return "".join(out)


_FROM_SUBQUERY = re.compile(r"\b(FROM|JOIN)\s*\(\s*SELECT\b", re.IGNORECASE)
_NOT_AN_ALIAS = re.compile(r"\s*($|\)|,|WHERE\b|GROUP\b|ORDER\b|LIMIT\b|JOIN\b|LEFT\b|INNER\b|ON\b|UNION\b|HAVING\b)", re.IGNORECASE)


def _name_subqueries(sql: str) -> str:
    """PostgreSQL 15 wants a name for a subquery in FROM, which SQLite does without."""
    out, pos, n = [], 0, 0
    for match in _FROM_SUBQUERY.finditer(sql):
        if match.start() < pos:
            continue
        open_at = sql.index("(", match.start())
        close = _close_paren(sql, open_at)
        inner = _name_subqueries(sql[open_at + 1 : close])
        out.append(sql[pos:open_at])
        out.append(f"({inner})")
        if _NOT_AN_ALIAS.match(sql, close + 1):
            n += 1
            out.append(f" AS subquery_{n}")
        pos = close + 1
    out.append(sql[pos:])
    return "".join(out)


def _json_set(match: re.Match[str]) -> str:
    column, key, value = match.groups()
    if value.startswith("'"):
        value = f"CAST({value} AS TEXT)"  # a literal's type is unknown to to_jsonb
    return f"jsonb_set({column}::jsonb, '{{{key}}}', to_jsonb({value}))::text"


@lru_cache(maxsize=4096)
def translate(sql: str) -> tuple[str, str | None]:
    """Gives a statement in PostgreSQL's dialect, and the table whose new id it must return (if any)."""
    sql = _JSON_SET.sub(_json_set, sql)
    sql = _JSON_EXTRACT.sub(r"(\1::jsonb ->> '\2')", sql)
    sql = _NOCASE.sub(r"lower(\1)", sql)
    if _SUM.search(sql):
        sql = _wrap_sums(sql)
    if _MAX_MIN.search(sql):
        sql = _scalar_max_min(sql)
    if _FROM_SUBQUERY.search(sql):
        sql = _name_subqueries(sql)
    pieces = []
    for literal, text in _split_literals(sql):
        if literal:
            pieces.append(text.replace("%", "%%"))
            continue
        text = text.replace("%", "%%")
        text = re.sub(r"\bgroup_concat\(", "string_agg(", text, flags=re.IGNORECASE)
        text = re.sub(r"\bchar\((\d+)\)", r"chr(\1)", text, flags=re.IGNORECASE)
        text = re.sub(r"\bNOT\s+LIKE\b", "NOT ILIKE", text, flags=re.IGNORECASE)
        text = re.sub(r"(?<!NOT )\bLIKE\b", "ILIKE", text, flags=re.IGNORECASE)
        # A parameter's type is unknown to PostgreSQL in `? IS NULL`; any value can be text.
        text = re.sub(r"\?(\s+IS\s+(?:NOT\s+)?NULL)\b", r"CAST(? AS TEXT)\1", text, flags=re.IGNORECASE)
        # SQLite's `a IS b` / `a IS NOT b` compare any two values, NULL included.
        text = re.sub(r"\bIS\s+NOT\s+(?!NULL\b|DISTINCT\b|TRUE\b|FALSE\b)(?=[\w?])", "IS DISTINCT FROM ", text, flags=re.IGNORECASE)
        text = re.sub(r"\bIS\s+(?!NOT\b|NULL\b|DISTINCT\b|TRUE\b|FALSE\b)(?=[\w?])", "IS NOT DISTINCT FROM ", text, flags=re.IGNORECASE)
        # An empty list: SQLite takes `IN ()`; PostgreSQL compares with an empty array of the left side's type.
        text = re.sub(r"\bNOT\s+IN\s*\(\s*\)", "<> ALL('{}')", text, flags=re.IGNORECASE)
        text = re.sub(r"\bIN\s*\(\s*\)", "= ANY('{}')", text, flags=re.IGNORECASE)
        # A flag given as a parameter (0 or 1) where a condition stands.
        text = re.sub(r"\bWHEN\s+\?\s+THEN\b", "WHEN CAST(? AS INTEGER) <> 0 THEN", text, flags=re.IGNORECASE)
        text = text.replace("?", "%s")
        pieces.append(text)
    out = "".join(pieces)
    table = None
    insert = _INSERT.match(out)
    if insert and insert.group(1).lower() not in NO_ID and not re.search(r"\bRETURNING\b", out, re.IGNORECASE):
        table = insert.group(1)
        out = out.rstrip().rstrip(";") + " RETURNING id"
    return out, table


class Row(tuple):  # type: ignore[type-arg]
    """A row that answers to an index and to a column name, like sqlite3.Row."""

    _names: tuple[str, ...]
    _index: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: tuple[str, ...], index: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        row._index = index
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._index[key])
            except KeyError:
                raise IndexError(f"No item with that key: {key}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """Gives the column names, in order (as sqlite3.Row.keys)."""
        return list(self._names)


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], Row]:
    names = tuple(column.name for column in (cursor.description or ()))
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        index.setdefault(name, i)
    return partial(Row, names=names, index=index)


# PostgreSQL's text cannot hold U+0000, which SQLite keeps and a participant may send: such a string is
# stored with U+0000 as ESCAPE + "0" (and ESCAPE itself as ESCAPE + "1") and read back as it was typed.
ESCAPE = "\ue000"  # a private-use character, which no keyboard types
_UNESCAPE = re.compile(ESCAPE + "([01])")


def escape_text(value: str) -> str:
    """Gives a string PostgreSQL can store that reads back (unescape_text) as `value`."""
    if "\x00" in value or ESCAPE in value:
        return value.replace(ESCAPE, ESCAPE + "1").replace("\x00", ESCAPE + "0")
    return value


def unescape_text(value: str) -> str:
    """Gives back the string escape_text was given."""
    if ESCAPE in value:
        return _UNESCAPE.sub(lambda m: "\x00" if m.group(1) == "0" else ESCAPE, value)
    return value


def _configure(connection: Any) -> None:
    """Teaches a new connection SQLite's values: bools as integers, numeric as int or float, and text
    with U+0000 in it (escape_text)."""
    import psycopg
    from psycopg.adapt import Loader
    from psycopg.types.numeric import Int8Dumper
    from psycopg.types.string import StrDumperUnknown, TextLoader

    class EscapedStr(StrDumperUnknown):  # type: ignore[misc]
        def dump(self, obj: str) -> Any:
            return super().dump(escape_text(obj))

    class UnescapedText(TextLoader):  # type: ignore[misc]
        def load(self, data: Any) -> Any:
            value = super().load(data)
            return unescape_text(value) if isinstance(value, str) and ESCAPE in value else value

    class BoolAsInteger(Int8Dumper):  # type: ignore[misc]
        def dump(self, obj: Any) -> bytes:
            return b"1" if obj else b"0"

    class NumericAsNumber(Loader):  # type: ignore[misc]
        def load(self, data: Any) -> Any:
            text = bytes(data).decode()
            return float(text) if any(c in text for c in ".eEN") else int(text)

    connection.adapters.register_dumper(bool, BoolAsInteger)
    connection.adapters.register_dumper(str, EscapedStr)
    for name in ("text", "varchar", "bpchar", "name"):
        connection.adapters.register_loader(name, UnescapedText)
    connection.adapters.register_loader("numeric", NumericAsNumber)
    connection.row_factory = _row_factory
    assert isinstance(connection, psycopg.Connection)
    connection.execute(f"SET idle_in_transaction_session_timeout = '{IDLE_IN_TRANSACTION}'")


# ---------------------------------------------------------------------------------------------------
# Connections as the store uses them


class Cursor:
    """What a statement gave, read at once: rows, rowcount and (after an INSERT) lastrowid."""

    def __init__(self, rows: list[Row], rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows
        self._at = 0
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> Row | None:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    def fetchall(self) -> list[Row]:
        rest, self._at = self._rows[self._at :], len(self._rows)
        return rest

    def close(self) -> None:
        self._rows = []


class Connection:
    """A pooled psycopg connection with sqlite3's calls: execute, executemany, in_transaction.

    It runs on one of the store's threads; write units and `Database.run` get it.
    """

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    @property
    def in_transaction(self) -> bool:
        import psycopg.pq

        return bool(self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE)

    def execute(self, sql: str, parameters: Iterable[Any] = (), /) -> Cursor:
        """Runs one statement (in SQLite's dialect) and gives its cursor, rows already read."""
        text, table = translate(sql)
        with self.raw.cursor() as cur:
            cur.execute(text, tuple(parameters))
            rows = cur.fetchall() if cur.description is not None else []
            lastrowid = None
            if table is not None:
                lastrowid = int(rows[-1][0]) if rows else None
                rows = []
            return Cursor(rows, cur.rowcount, lastrowid)

    def executemany(self, sql: str, seq: Iterable[Iterable[Any]], /) -> Cursor:
        """Runs one statement for each parameter set (psycopg pipelines them)."""
        text, table = translate(sql)
        if table is not None:
            text = re.sub(r"\s+RETURNING id$", "", text)
        params = [tuple(p) for p in seq]
        with self.raw.cursor() as cur:
            if params:
                cur.executemany(text, params)
            return Cursor([], cur.rowcount if params else 0, None)

    def execute_fetchall(self, sql: str, parameters: Iterable[Any] = ()) -> list[Row]:
        return self.execute(sql, parameters).fetchall()


class AsyncConnection:
    """The connection `Database.transaction()` gives: the same calls as aiosqlite's, awaited."""

    def __init__(self, db: PgDatabase, conn: Connection) -> None:
        self._db = db
        self._conn = conn

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    async def execute(self, sql: str, parameters: Iterable[Any] = ()) -> Cursor:
        return await self._db._on_thread(partial(self._conn.execute, sql, tuple(parameters)))

    async def executemany(self, sql: str, seq: Iterable[Iterable[Any]]) -> Cursor:
        return await self._db._on_thread(partial(self._conn.executemany, sql, [tuple(p) for p in seq]))

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] = ()) -> list[Row]:
        return await self._db._on_thread(partial(self._conn.execute_fetchall, sql, tuple(parameters)))


def _retryable(exc: BaseException) -> bool:
    import psycopg.errors

    return isinstance(exc, (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure))


def _commit_units(units: list[Callable[[Any], Any]], conn: Connection) -> list[tuple[bool, Any]]:
    """PostgreSQL's form of db._commit_units: one transaction, a savepoint per unit, one commit."""
    for attempt in range(BATCH_RETRIES):
        outcomes: list[tuple[bool, Any]] = []
        conn.raw.execute("BEGIN")
        try:
            for unit in units:
                conn.raw.execute("SAVEPOINT unit")
                try:
                    result = unit(conn)
                except Exception as exc:  # noqa: BLE001 -- the unit's own error, handed to its caller
                    if _retryable(exc) or conn.raw.closed or conn.raw.broken:
                        raise
                    conn.raw.execute("ROLLBACK TO SAVEPOINT unit")
                    conn.raw.execute("RELEASE SAVEPOINT unit")
                    outcomes.append((True, exc))
                else:
                    conn.raw.execute("RELEASE SAVEPOINT unit")
                    outcomes.append((False, result))
            conn.raw.execute("COMMIT")
            return outcomes
        except BaseException as exc:
            if not conn.raw.closed and not conn.raw.broken and conn.in_transaction:
                conn.raw.execute("ROLLBACK")
            if _retryable(exc) and attempt + 1 < BATCH_RETRIES:
                log.info("group commit retried after %s attempt=%d", type(exc).__name__, attempt + 1)
                continue
            raise
    raise AssertionError("unreachable")


# ---------------------------------------------------------------------------------------------------
# The database


class PgDatabase(Database):
    """Database's interface on PostgreSQL (see the module's text); `engine` tells the two apart."""

    engine = "postgresql"

    def __init__(self, pool: Any, dsn: str, name: str) -> None:  # noqa: D107 -- Database's attributes, PostgreSQL's parts
        self.conn = cast(Any, None)  # there is no single connection: callers use transaction() and write()
        self.path = redacted(dsn)
        self.dsn = dsn
        self.commits = 0
        self.pool = pool
        self._executor = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="pitstop-pg")
        self._lock = asyncio.Lock()
        self._holder = None
        self._queue = deque()
        self._writer = None
        self._turns_wanted = 0
        self._closed = False
        self._lock_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pitstop-pg-locks")
        self._lock_raw: Any = None
        self._held: set[str] = set()
        self._holder_name = name  # this process's application_name on every connection (process_name)
        self._epoch = 0  # how often the lock connection was opened: a new one holds none of the old locks
        self._out: Any = None  # the connection transaction() has from the pool, while it has one

    async def _on_thread(self, function: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function)

    def _with_connection(self, function: Callable[[Connection], T]) -> T:
        """Runs `function` with a pooled connection (on a store thread), giving it back after."""
        with self.pool.connection() as raw:
            return function(Connection(raw))

    async def _settled(self, function: Callable[[], T]) -> T:
        """Runs `function` on a store thread and, when the caller is cancelled meanwhile, still waits for
        it to end (a thread cannot be stopped) before the cancellation goes on: a transaction's
        connection is never given back, nor left, while a statement of it is still running."""
        future = asyncio.get_running_loop().run_in_executor(self._executor, function)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            while not future.done():
                with suppress(asyncio.CancelledError):
                    await asyncio.wait({future})
            raise

    def _begin(self) -> Any:
        raw = self.pool.getconn()
        self._out = raw
        raw.execute("BEGIN")
        return raw

    def _end(self, statement: str) -> None:
        raw = self._out
        if raw is not None and not raw.closed and not raw.broken and raw.info.transaction_status != 0:
            raw.execute(statement)

    def _give_back(self) -> None:
        raw, self._out = self._out, None
        if raw is not None:
            self.pool.putconn(raw)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        """Gives a connection inside BEGIN … COMMIT, rolled back on any error (taking turns with the writer).
        Cancelled at any await, it still rolls back and gives the connection back to the pool."""
        if self._closed:
            raise StoreError("The database is closed.")
        async with self._turn():
            self._holder = asyncio.current_task()
            try:
                raw = await self._settled(self._begin)
                try:
                    yield AsyncConnection(self, Connection(raw))
                except BaseException:
                    await self._settled(partial(self._end, "ROLLBACK"))
                    raise
                else:
                    await self._settled(partial(self._end, "COMMIT"))
                    self.commits += 1
            finally:
                self._holder = None
                await self._settled(self._give_back)

    @staticmethod
    def _rollback(raw: Any) -> None:
        if not raw.closed and not raw.broken:
            raw.execute("ROLLBACK")

    @asynccontextmanager
    async def alone(self) -> AsyncIterator[Any]:
        """SQLite's backup needs it; on PostgreSQL, pg_dump takes a consistent copy of a live database."""
        raise StoreError("On PostgreSQL, take a backup with pg_dump (it is consistent while the bot runs).")
        yield  # pragma: no cover

    async def _writer_turn(self, turn: Callable[[Commit, Any], None]) -> None:
        async with self._turn():
            await self._on_thread(partial(self._with_connection, partial(turn, _commit_units)))

    async def run(self, function: Callable[[Any], T]) -> T:
        """Gives what `function(connection)` returns, run on a store thread with a pooled connection
        (autocommit: each statement is its own transaction)."""
        return await self._on_thread(partial(self._with_connection, function))

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        return await self.run(partial(Connection.execute_fetchall, sql=sql, parameters=tuple(params)))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return await self.run(lambda conn: conn.execute(sql, tuple(params)).fetchone())

    async def scrub(self) -> bool:
        """Rewrites the tables that hold a participant's words (VACUUM FULL), so that erased text leaves
        their files: a plain VACUUM frees the space but leaves the bytes. It holds each table for the
        moment of its rewrite. The write-ahead log keeps old pages until it is recycled, as on any
        PostgreSQL (the README says so)."""
        def vacuum(conn: Connection) -> None:
            # The rewrite keeps each row version a running transaction may still see, the erased words with
            # it; a snapshot taken in this database sees what was running anywhere on the server. So first
            # let every transaction older than this moment end (a few seconds at most).
            now = int(conn.raw.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text").fetchone()[0])
            deadline = time.monotonic() + SCRUB_WAIT
            while conn.raw.execute(OLDER_TRANSACTIONS, (str(now % 2**32),)).fetchone()[0]:
                if time.monotonic() > deadline:
                    log.info("erased text rewritten while older transactions run; it may stay until the next rewrite")
                    break
                time.sleep(0.01)
            conn.raw.execute(
                "VACUUM FULL reflection_part, reflection, deepening, learning_question, draft, case_proposal"
            )

        try:
            await self.run(vacuum)
        except Exception:  # noqa: BLE001 -- the erase is committed; the next autovacuum does the rest
            log.warning("vacuum after an erase failed; autovacuum reclaims the space later")
            return False
        return True

    # Locks between processes: session advisory locks on a connection of their own, outside the pool,
    # so that they last as long as the process and end with it (a killed process gives them up at
    # once). One thread runs that connection's statements, one at a time.

    def _locker(self) -> Any:
        """Gives the lock connection, opening it (again) when there is none or it broke."""
        import psycopg

        raw = self._lock_raw
        if raw is not None and not raw.closed and not raw.broken:
            return raw
        self._held.clear()  # a broken connection's locks ended with it
        raw = psycopg.connect(self.dsn, autocommit=True, application_name=self._holder_name, **KEEPALIVES)
        self._lock_raw = raw
        self._epoch += 1
        return raw

    def _try_lock(self, name: str) -> bool:
        raw = self._locker()
        if name in self._held:
            try:
                raw.execute("SELECT 1")  # still connected, so still held
                return True
            except Exception:  # noqa: BLE001 -- lost with the connection: take it again below
                raw = self._locker()
        got = bool(raw.execute("SELECT pg_try_advisory_lock(hashtextextended(current_schema() || ':' || %s, 0))",
                               (name,)).fetchone()[0])
        if got:
            self._held.add(name)
        return got

    def _unlock(self, name: str) -> None:
        if name not in self._held:
            return
        self._held.discard(name)
        raw = self._lock_raw
        if raw is not None and not raw.closed and not raw.broken:
            raw.execute("SELECT pg_advisory_unlock(hashtextextended(current_schema() || ':' || %s, 0))", (name,))

    async def try_lock(self, name: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(self._lock_thread, self._try_lock, name)

    async def unlock(self, name: str) -> None:
        await asyncio.get_running_loop().run_in_executor(self._lock_thread, self._unlock, name)

    async def holder(self) -> str | None:
        """Gives this process's name, the application_name of each of its connections: a claim by a
        holder with no connection in pg_stat_activity belongs to a process that died. The name stays
        when a connection is opened again, so a reconnect never makes a live process look dead."""
        await asyncio.get_running_loop().run_in_executor(self._lock_thread, self._locker)
        return self._holder_name

    @property
    def lock_epoch(self) -> int:
        return self._epoch

    async def close(self) -> None:
        """Commits what is queued, waits (a while) for a transaction under way, then closes the pool.
        A transaction that does not end in CLOSE_WAIT seconds (its task was dropped) loses its
        connection, so that the server rolls it back instead of holding its locks."""
        if self._closed:
            return
        writer = self._writer
        if writer is not None and not writer.done():
            await writer
        self._closed = True
        try:
            async with asyncio.timeout(CLOSE_WAIT):
                await self._lock.acquire()
            self._lock.release()
        except TimeoutError:
            log.warning("a transaction did not end before the store closed; its connection is closed")
        stranded, self._out = self._out, None
        if stranded is not None:
            await self._on_thread(stranded.close)
        await self._on_thread(self.pool.close)
        self._executor.shutdown(wait=False)
        raw, self._lock_raw = self._lock_raw, None
        if raw is not None:
            await asyncio.get_running_loop().run_in_executor(self._lock_thread, raw.close)
        self._lock_thread.shutdown(wait=False)


def process_name() -> str:
    """Gives a name for this process's connections, unique among processes: "pitstop host:pid token"
    (what an operator sees in pg_stat_activity; 63 characters at most, as PostgreSQL keeps them)."""
    return f"pitstop {socket.gethostname()[:30]}:{os.getpid()} {secrets.token_hex(4)}"[:63]


async def connect(dsn: str) -> PgDatabase:
    """Gives an open PostgreSQL database, or raises StoreError with one sentence."""
    try:
        import psycopg
        import psycopg_pool
    except ImportError:
        raise StoreError(
            "PITSTOP_DB names a PostgreSQL database, but its driver is not installed: pip install 'pitstop[postgresql]'."
        ) from None

    name = process_name()

    def open_pool() -> Any:
        # One connection first: a server that is down or refuses us is told in its own words at once,
        # instead of after the pool's ten seconds of retrying.
        psycopg.connect(dsn, autocommit=True, connect_timeout=PROBE_TIMEOUT).close()
        pool = psycopg_pool.ConnectionPool(
            dsn, min_size=1, max_size=POOL_SIZE, configure=_configure, open=False, name="pitstop",
            kwargs={"autocommit": True, "application_name": name, **KEEPALIVES},
        )
        try:
            pool.open(wait=True, timeout=10)
        except psycopg_pool.PoolTimeout:
            pool.close()
            raise
        return pool

    loop = asyncio.get_running_loop()
    try:
        pool = await loop.run_in_executor(None, open_pool)
    except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
        raise StoreError(f"The database {redacted(dsn)} cannot be reached ({_first_line(exc)}).") from None
    return PgDatabase(pool, dsn, name)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@dataclass(frozen=True)
class _Plan:
    name: str
    sql: str


def _migration_plan() -> list[_Plan]:
    """Gives each migration of the one sequence with PostgreSQL's text: its own file where there is one."""
    plans = []
    for migration in available_migrations():
        own = PG_MIGRATIONS_DIR / f"{migration.name}.sql"
        plans.append(_Plan(migration.name, own.read_text(encoding="utf-8") if own.exists() else migration.sql))
    extra = {p.stem for p in PG_MIGRATIONS_DIR.glob("*.sql")} - {p.name for p in plans}
    if extra:
        raise StoreError(f"PostgreSQL migrations without a SQLite twin: {', '.join(sorted(extra))}.")
    return plans


def _migrate(conn: Connection, plans: list[_Plan]) -> list[str]:
    raw = conn.raw
    raw.execute("BEGIN")
    try:
        # Processes that start together take turns here; the lock ends with the transaction.
        raw.execute("SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))", (LOCK_MIGRATE,))
        raw.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        raw.execute("COMMIT")
    except BaseException:
        PgDatabase._rollback(raw)
        raise
    done = []
    for plan in plans:
        raw.execute("BEGIN")
        try:
            raw.execute("SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))", (LOCK_MIGRATE,))
            applied = {r[0] for r in raw.execute("SELECT name FROM schema_migrations").fetchall()}
            if plan.name in applied:
                raw.execute("COMMIT")
                continue
            raw.execute(plan.sql)
            raw.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (%s, %s)",
                (plan.name, datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")),
            )
            raw.execute("COMMIT")
        except BaseException:
            PgDatabase._rollback(raw)
            raise
        log.info("migration applied name=%s", plan.name)
        done.append(plan.name)
    return done


async def migrate(db: PgDatabase) -> list[str]:
    """Applies PostgreSQL's migrations not applied yet, each in its own transaction; gives their names."""
    import psycopg

    plans = _migration_plan()
    known = {p.name for p in plans}
    try:
        schema, search_path = await db.run(_schema)
        if schema is None:
            raise StoreError(
                f"The database {db.path} has no schema to keep Pitstop's tables in: none of its search_path"
                f" ({search_path}) exists. Create the schema (CREATE SCHEMA name) or name one that exists."
            )
        applied = await db.run(_applied)
    except psycopg.Error as exc:
        raise StoreError(f"The database {db.path} cannot be used ({_first_line(exc)}).") from None
    newer = sorted(applied - known)
    if newer:
        raise StoreError(
            f"The database {db.path} has migrations this version of Pitstop does not know ({', '.join(newer)}); "
            "it was used by a newer version."
        )
    try:
        return await db.run(partial(_migrate, plans=plans))
    except psycopg.Error as exc:
        raise StoreError(f"A migration failed on {db.path}: {_first_line(exc)}.") from None


def _schema(conn: Connection) -> tuple[str | None, str]:
    """Gives the schema the tables go into (None when no schema of the search_path exists) and the search_path."""
    row = conn.raw.execute("SELECT current_schema(), current_setting('search_path')").fetchone()
    return row[0], row[1]


def _applied(conn: Connection) -> set[str]:
    exists = conn.raw.execute("SELECT to_regclass('schema_migrations')").fetchone()[0]
    if exists is None:
        return set()
    return {r[0] for r in conn.raw.execute("SELECT name FROM schema_migrations").fetchall()}


async def open_database(dsn: str) -> PgDatabase:
    """Gives a connected, migrated PostgreSQL database."""
    db = await connect(dsn)
    try:
        await migrate(db)
    except BaseException:
        await db.close()
        raise
    return db
