"""Moving a grown installation: every row of a SQLite database into an empty PostgreSQL one (`pitstop db copy`).

What it promises:

- **All or nothing.** The rows go in through `COPY … FROM STDIN`, table after table, in one PostgreSQL
  transaction; the counts and the journal's checksum are compared inside it, before COMMIT. A refusal,
  an error, a mismatch or Ctrl-C leaves the target as it was (migrated, and empty).
- **Only into an empty database.** The target is opened and migrated as the bot would open it; its tables
  are locked against writers for the length of the copy, and one that already holds a row stops it.
- **The same version on both sides.** The SQLite file must carry exactly this version's migrations, so
  that every column has its twin; a column PostgreSQL lacks stops the copy before a row is written.
- **References hold.** Tables go in an order where each comes after the tables it references (from
  SQLite's `PRAGMA foreign_key_list`, as PostgreSQL's foreign keys are not deferrable); a reference to a
  row of its own table (a follow-up's reflection) is filled in once the whole table is there.
- **Ids go on.** Each identity sequence is set to its table's largest id, so the next row inserted on
  PostgreSQL gets a new one.
- **The text arrives as typed.** The checksum is SHA-256 over the journal (reflections and their parts,
  every column, by id) as read back from each side; U+0000, which PostgreSQL's text cannot hold, goes
  through the store's connection, which escapes it (`pg.escape_text`) in COPY as in every statement.

The SQLite file is opened read-only, in one read transaction: a consistent snapshot. That no bot writes to
it meanwhile is the caller's part (the command line takes the lock `pitstop run` takes).
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from bot.config import redacted
from bot.store import pg
from bot.store.db import StoreError, available_migrations

JOURNAL = ("reflection", "reflection_part")  # the tables the checksum covers: what participants wrote
BATCH = 5000  # rows read from SQLite at a time (and the progress bar's step)
LOCK_TIMEOUT = "10s"  # how long the copy waits for a table that a process on the target holds
NOT_COPIED = frozenset({"schema_migrations"})  # each side records its own migrations


@dataclass(frozen=True)
class TableCount:
    """One table's rows on each side after the copy."""

    name: str
    sqlite_count: int
    pg_count: int


@dataclass(frozen=True)
class CopyResult:
    """What a copy did: the rows per table on both sides, the journal's checksum, and how long it took."""

    tables: tuple[TableCount, ...]
    checksum: str
    elapsed: float  # seconds

    @property
    def rows(self) -> int:
        """Gives the number of rows copied."""
        return sum(t.sqlite_count for t in self.tables)


@dataclass(frozen=True)
class Table:
    """A SQLite table as the copy sees it: its columns, the tables it references, and its references to itself."""

    name: str
    columns: tuple[str, ...]
    references: frozenset[str]
    self_references: tuple[str, ...]  # columns that point at another row of the same table


@dataclass(frozen=True)
class Source:
    """The SQLite side, checked: its tables in the order they can be copied."""

    path: Path
    tables: tuple[Table, ...]


# ---------------------------------------------------------------------------------------------------
# The SQLite side


def _quoted(name: str) -> str:
    """Gives a name quoted for SQLite."""
    return '"' + name.replace('"', '""') + '"'


def _open_source(path: Path) -> sqlite3.Connection:
    """Gives a read-only connection to a SQLite file that exists and is a database, or raises StoreError."""
    if path.is_dir():
        raise StoreError(f"{path} is a folder, not a SQLite database.")
    if not path.is_file():
        raise StoreError(f"The SQLite database {path} does not exist.")
    # isolation_level=None: the read transaction is the explicit BEGIN in _copy; check_same_thread=False:
    # it is inspected on the caller's thread and read on a store thread, one after the other.
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError:
        conn.close()
        raise StoreError(f"The file {path} is not a Pitstop database (not SQLite, or damaged).") from None
    return conn


def _check_migrations(conn: sqlite3.Connection, path: Path) -> None:
    """Raises StoreError unless the file carries exactly this version's migrations."""
    expected = [m.name for m in available_migrations()]
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone() is None:
        raise StoreError(f"The file {path} holds no Pitstop schema; is it the bot's database?")
    applied = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
    newer = sorted(applied - set(expected))
    if newer:
        raise StoreError(
            f"The database {path} has migrations this version of Pitstop does not know ({', '.join(newer)}); "
            "copy it with the version that ran them."
        )
    missing = [name for name in expected if name not in applied]
    if missing:
        raise StoreError(
            f"The database {path} lacks this version's migrations ({', '.join(missing)}); "
            f"run `PITSTOP_DB={path} pitstop migrate` on it first."
        )


def in_reference_order(references: Mapping[str, Iterable[str]]) -> list[str]:
    """Gives the tables in an order where each comes after every table it references (itself aside),
    alphabetical among equals; raises StoreError when references go round in a circle."""
    pending = {name: set(refs) & set(references) - {name} for name, refs in references.items()}
    order: list[str] = []
    while pending:
        ready = sorted(name for name, refs in pending.items() if not refs - set(order))
        if not ready:
            raise StoreError(f"The tables {', '.join(sorted(pending))} reference each other in a circle; they cannot be copied in order.")
        order.extend(ready)
        for name in ready:
            del pending[name]
    return order


def _tables(conn: sqlite3.Connection) -> tuple[Table, ...]:
    """Gives the tables to copy, in reference order."""
    names = [
        row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        )
        if row[0] not in NOT_COPIED
    ]
    found: dict[str, Table] = {}
    for name in names:
        columns = tuple(row[1] for row in conn.execute(f"PRAGMA table_info({_quoted(name)})"))
        keys = conn.execute(f"PRAGMA foreign_key_list({_quoted(name)})").fetchall()  # (id, seq, table, from, to, …)
        found[name] = Table(
            name, columns, frozenset(k[2] for k in keys if k[2] != name), tuple(sorted({k[3] for k in keys if k[2] == name}))
        )
    return tuple(found[name] for name in in_reference_order({t.name: t.references for t in found.values()}))


def inspect_source(path: Path) -> Source:
    """Gives the checked SQLite side: it exists, is a Pitstop database at this version; or raises StoreError."""
    conn = _open_source(path)
    try:
        _check_migrations(conn, path)
        tables = _tables(conn)
    finally:
        conn.close()
    for table in tables:
        if table.self_references and "id" not in table.columns:
            raise StoreError(f"The table {table.name} references its own rows but has no id; it cannot be copied.")
    return Source(path, tables)


def _select(table: Table, columns: Sequence[str]) -> str:
    order = " ORDER BY id" if "id" in table.columns else ""
    return f"SELECT {', '.join(_quoted(c) for c in columns)} FROM {_quoted(table.name)}{order}"


# ---------------------------------------------------------------------------------------------------
# The checksum


def journal_checksum(rows: Iterable[tuple[str, Sequence[Any]]]) -> str:
    """Gives the SHA-256 (hex) of (table, row) pairs, each row as Python writes its values (`repr`: exact
    for the ints, text and None the journal holds): the same values give the same sum whichever engine
    they were read from."""
    digest = hashlib.sha256()
    for table, row in rows:
        digest.update(repr((table, *row)).encode("utf-8") + b"\n")
    return digest.hexdigest()


def _journal_rows(
    read: Callable[[str], Iterable[Sequence[Any]]], tables: Sequence[Table]
) -> Iterable[tuple[str, Sequence[Any]]]:
    """Gives the journal's rows, table by table and by id, as `read` (one side's way to run a SELECT) gives them."""
    for table in tables:
        if table.name in JOURNAL:
            for row in read(_select(table, table.columns)):
                yield table.name, tuple(row)


# ---------------------------------------------------------------------------------------------------
# The PostgreSQL side


def _pg_columns(raw: Any) -> dict[str, set[str]]:
    """Gives every table of the target's schema with its columns."""
    columns: dict[str, set[str]] = {}
    for table, column in raw.execute(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c"
        " JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
        " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
    ).fetchall():
        columns.setdefault(table, set()).add(column)
    return columns


def _check_target(raw: Any, source: Source, target: str) -> dict[str, set[str]]:
    """Gives the target's tables and their columns once every SQLite table and column has its twin there and
    every table (schema_migrations aside) is empty; raises StoreError otherwise. Locks the tables against
    writers until the transaction ends, so that none fills meanwhile."""
    from psycopg import sql

    columns = _pg_columns(raw)
    for table in source.tables:
        if table.name not in columns:
            raise StoreError(f"The table {table.name} has no twin in {target}; is it migrated by this version of Pitstop?")
        lacking = [c for c in table.columns if c not in columns[table.name]]
        if lacking:
            raise StoreError(
                f"The column {table.name}.{lacking[0]} of the SQLite database has no twin in {target}; "
                "copy with the version of Pitstop that made the file."
            )
    names = sorted(set(columns) - NOT_COPIED)
    raw.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
    raw.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(sql.SQL(", ").join(map(sql.Identifier, names))))
    for name in names:
        if raw.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(name))).fetchone()[0]:
            count = raw.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))).fetchone()[0]
            raise StoreError(
                f"The database {target} is not empty (table {name} has {count} row{'' if count == 1 else 's'}); "
                "copy into an empty database."
            )
    return columns


def _copy_table(raw: Any, source: sqlite3.Connection, table: Table, step: Callable[[int], None], stop: threading.Event) -> None:
    """Copies one table's rows with COPY, then fills in its references to its own rows."""
    from psycopg import sql

    own = [table.columns.index(c) for c in table.self_references]
    at_id = table.columns.index("id") if own else -1
    later: dict[str, list[tuple[Any, Any]]] = {c: [] for c in table.self_references}
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, table.columns))
    )
    rows = source.execute(_select(table, table.columns))
    with raw.cursor() as cur, cur.copy(statement) as copy:
        while batch := rows.fetchmany(BATCH):
            if stop.is_set():
                raise StoreError("The copy was interrupted; nothing was copied.")
            for row in batch:
                if own:
                    row = list(row)
                    for column, i in zip(table.self_references, own, strict=True):
                        if row[i] is not None:
                            later[column].append((row[i], row[at_id]))
                            row[i] = None
                copy.write_row(row)
            step(len(batch))
    for column, pairs in later.items():
        if pairs:
            update = sql.SQL("UPDATE {} SET {} = %s WHERE id = %s").format(sql.Identifier(table.name), sql.Identifier(column))
            with raw.cursor() as cur:
                cur.executemany(update, pairs)


def _reset_identity(raw: Any, table: Table, pg_columns: set[str]) -> None:
    """Sets the table's id sequence to its largest id, so that the next insert does not collide."""
    from psycopg import sql

    if "id" not in pg_columns:
        return
    raw.execute(
        sql.SQL("SELECT setval(pg_get_serial_sequence(%s, 'id'), max_id) FROM (SELECT max(id) AS max_id FROM {}) m"
                " WHERE max_id IS NOT NULL").format(sql.Identifier(table.name)),
        (sql.Identifier(table.name).as_string(raw),),
    )


def _streamed(raw: Any, text: str) -> Iterator[Sequence[Any]]:
    """Gives a SELECT's rows from a server-side cursor, a batch at a time, so that a long journal is never
    held in memory whole (inside the copy's transaction, which such a cursor needs)."""
    with raw.cursor(name="pitstop_copy_journal") as cur:
        cur.itersize = BATCH
        cur.execute(text)
        yield from cur


def pg_counts(raw: Any, names: Iterable[str]) -> dict[str, int]:
    """Gives the rows of each named table, as the copy's transaction sees them."""
    from psycopg import sql

    return {name: int(raw.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))).fetchone()[0])
            for name in names}


def _copy(
    conn: pg.Connection, source: Source, target: str, progress: TextIO | None, stop: threading.Event
) -> CopyResult:
    """Copies every table in one transaction and checks the result before COMMIT (on a store thread)."""
    from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no types; `make lint` installs no stubs

    started = time.monotonic()
    raw = conn.raw
    lite = _open_source(source.path)
    try:
        lite.execute("BEGIN")  # one snapshot for the counts, the rows and the checksum
        sqlite_counts = {
            t.name: int(lite.execute(f"SELECT count(*) FROM {_quoted(t.name)}").fetchone()[0]) for t in source.tables
        }
        expected = journal_checksum(_journal_rows(lambda text: lite.execute(text), source.tables))
        with raw.transaction():
            pg_columns = _check_target(raw, source, target)
            bar = tqdm(total=sum(sqlite_counts.values()), unit=" rows", file=progress, disable=None if progress else True,
                       desc="copying", leave=False)
            with bar:
                for table in source.tables:
                    bar.set_postfix_str(table.name, refresh=False)
                    _copy_table(raw, lite, table, bar.update, stop)
            for table in source.tables:
                _reset_identity(raw, table, pg_columns[table.name])
            counts = pg_counts(raw, sqlite_counts)
            for name, count in sqlite_counts.items():
                if counts[name] != count:
                    raise StoreError(
                        f"The copy did not match (table {name}: {count} rows in SQLite, {counts[name]} in PostgreSQL); "
                        "nothing was copied."
                    )
            found = journal_checksum(_journal_rows(partial(_streamed, raw), source.tables))
            if found != expected:
                raise StoreError("The journal read back from PostgreSQL differs from SQLite's; nothing was copied.")
            if stop.is_set():
                raise StoreError("The copy was interrupted; nothing was copied.")
        lite.execute("COMMIT")
    finally:
        lite.close()
    tables = tuple(TableCount(name, count, counts[name]) for name, count in sqlite_counts.items())
    return CopyResult(tables, found, time.monotonic() - started)


async def copy_database(source_path: Path, dsn: str, progress: TextIO | None = None) -> CopyResult:
    """Gives the result of copying the SQLite database at `source_path` into the empty PostgreSQL database
    `dsn` (migrated first), with a progress bar on `progress` when it is a terminal; raises StoreError with
    one sentence when it refuses or fails, and then nothing was copied."""
    import psycopg

    source = inspect_source(source_path)  # before the target is touched: a wrong file changes nothing
    target = redacted(dsn)
    db = await pg.open_database(dsn)
    stop = threading.Event()
    try:
        return await db.run(partial(_copy, source=source, target=target, progress=progress, stop=stop))
    except asyncio.CancelledError:
        stop.set()  # the store thread rolls back at its next batch
        raise
    except psycopg.errors.LockNotAvailable:
        raise StoreError(f"The database {target} is in use (a table stayed locked); stop what runs on it first.") from None
    except psycopg.Error as exc:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise StoreError(f"The copy into {target} failed ({detail}); nothing was copied.") from None
    finally:
        await db.close()
