"""The database thread: `Database.run` runs a function where the connection lives, and a read is one trip
there and leaves no statement open behind it."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.store.db import Database


class Trips(logging.Handler):
    """Counts aiosqlite's trips to its thread (it logs each function it runs there, at DEBUG)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("executing"):
            self.count += 1


@pytest.fixture
def trips() -> Trips:
    handler = Trips()
    logger = logging.getLogger("aiosqlite")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


async def test_run_calls_the_function_on_the_connections_own_thread(db: Database) -> None:
    seen: list[int] = []

    def where(conn: sqlite3.Connection) -> int:
        seen.append(threading.get_ident())
        # sqlite3 refuses a connection used from another thread than its own: this would raise there.
        return int(conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0])

    assert await db.run(where) > 0
    assert seen and seen[0] != threading.get_ident()


async def test_an_error_in_a_function_run_there_reaches_the_caller(db: Database) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("SELECT * FROM no_such_table")

    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        await db.run(broken)
    assert await db.scalar("SELECT 1") == 1  # the connection still serves


async def test_each_read_is_one_trip_to_the_database_thread(db: Database, trips: Trips) -> None:
    await db.fetchall("SELECT name FROM schema_migrations")
    await db.fetchone("SELECT name FROM schema_migrations")
    await db.scalar("SELECT count(*) FROM schema_migrations")
    assert trips.count == 3


async def test_a_read_of_one_row_leaves_no_statement_open(db: Database, tmp_path: Path) -> None:
    # A cursor left open on a row would hold a read snapshot, and a checkpoint could not finish.
    assert await db.fetchone("SELECT name FROM schema_migrations ORDER BY name") is not None
    other = sqlite3.connect(tmp_path / "pitstop.db")
    try:
        busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        other.close()
    assert busy == 0
