"""The group commit (`Database.write`): units queued together share one commit, a failing unit is rolled
back alone while the others are kept, a failed commit fails every caller of its batch, and no caller hears
back before its unit is committed — seen from a second connection, as another process would see it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.store.db import Database, open_database


def table(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS note (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)")


def insert(text: str) -> object:
    def unit(conn: sqlite3.Connection) -> int:
        return int(conn.execute("INSERT INTO note (text) VALUES (?)", (text,)).lastrowid or 0)

    return unit


def texts(path: Path) -> set[str]:
    """Gives the notes a second connection sees: what is committed."""
    other = sqlite3.connect(path)
    try:
        return {row[0] for row in other.execute("SELECT text FROM note")}
    finally:
        other.close()


@pytest.fixture
async def notes(db: Database) -> Database:
    await db.write(table)
    return db


async def test_units_queued_together_share_one_commit(notes: Database, tmp_path: Path) -> None:
    before = notes.commits
    ids = await asyncio.gather(*(notes.write(insert(f"note {n}")) for n in range(50)))
    assert notes.commits == before + 1
    assert len(set(ids)) == 50
    assert texts(tmp_path / "pitstop.db") == {f"note {n}" for n in range(50)}


async def test_a_failing_unit_is_rolled_back_alone_and_its_caller_gets_the_error(notes: Database, tmp_path: Path) -> None:
    def half_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO note (text) VALUES ('half')")
        raise ValueError("the unit changed its mind")

    def duplicate(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO note (text) VALUES ('second half')")
        conn.execute("INSERT INTO note (text) VALUES ('first')")  # UNIQUE: 'first' is in the batch already

    before = notes.commits
    results = await asyncio.gather(
        notes.write(insert("first")),
        notes.write(half_then_fail),
        notes.write(duplicate),
        notes.write(insert("last")),
        return_exceptions=True,
    )
    assert isinstance(results[0], int) and isinstance(results[3], int)
    assert isinstance(results[1], ValueError)
    assert isinstance(results[2], sqlite3.IntegrityError)
    assert notes.commits == before + 1
    assert texts(tmp_path / "pitstop.db") == {"first", "last"}


async def test_a_failed_commit_fails_every_caller_of_its_batch_and_keeps_nothing(notes: Database, tmp_path: Path) -> None:
    def schema(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")

    await notes.write(schema)

    def orphan(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO child (parent_id) VALUES (99)")  # checked only at COMMIT, which fails

    results = await asyncio.gather(
        notes.write(insert("innocent")), notes.write(orphan), return_exceptions=True
    )
    assert all(isinstance(r, sqlite3.IntegrityError) for r in results), results
    assert texts(tmp_path / "pitstop.db") == set()
    assert await notes.write(insert("afterwards")) > 0  # the writer goes on with the next batch
    assert texts(tmp_path / "pitstop.db") == {"afterwards"}


async def test_no_caller_hears_back_before_its_unit_is_committed(notes: Database, tmp_path: Path) -> None:
    path = tmp_path / "pitstop.db"
    missing: list[str] = []

    async def write_and_look(n: int) -> None:
        await asyncio.sleep(0.001 * (n % 7))  # spread over several batches
        await notes.write(insert(f"note {n}"))
        if f"note {n}" not in texts(path):
            missing.append(f"note {n}")

    await asyncio.gather(*(write_and_look(n) for n in range(60)))
    assert missing == []


async def test_concurrent_writers_and_transactions_lose_no_update(notes: Database) -> None:
    await notes.write(lambda conn: conn.execute("CREATE TABLE counter (n INTEGER NOT NULL)").close())
    await notes.write(lambda conn: conn.execute("INSERT INTO counter VALUES (0)").close())

    def increment(conn: sqlite3.Connection) -> int:
        value = int(conn.execute("SELECT n FROM counter").fetchone()[0]) + 1
        conn.execute("UPDATE counter SET n = ?", (value,))
        return value

    async def by_transaction() -> int:
        async with notes.transaction() as conn:
            rows = list(await conn.execute_fetchall("SELECT n FROM counter"))
            await asyncio.sleep(0)  # another coroutine's unit must not slip in between
            await conn.execute("UPDATE counter SET n = ?", (rows[0][0] + 1,))
            return int(rows[0][0]) + 1

    async def writer(n: int) -> list[int]:
        seen = []
        for i in range(10):
            seen.append(await (by_transaction() if (n + i) % 5 == 0 else notes.write(increment)))
        return seen

    seen = [v for values in await asyncio.gather(*(writer(n) for n in range(20))) for v in values]
    assert sorted(seen) == list(range(1, 201))  # each increment saw the one before it, none was lost
    assert await notes.scalar("SELECT n FROM counter") == 200


async def test_a_write_inside_a_transaction_is_refused_instead_of_waiting_forever(notes: Database) -> None:
    with pytest.raises(RuntimeError, match="wait for itself"):
        async with notes.transaction():
            await notes.write(insert("never"))


async def test_closing_commits_what_is_queued(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "closing.db")
    await db.write(table)
    pending = [asyncio.ensure_future(db.write(insert(f"note {n}"))) for n in range(20)]
    await asyncio.sleep(0)
    await db.close()
    assert len(await asyncio.gather(*pending)) == 20  # every caller answered, none with an error
    assert texts(tmp_path / "closing.db") == {f"note {n}" for n in range(20)}


async def test_transactions_one_after_another_do_not_keep_a_write_waiting(notes: Database, tmp_path: Path) -> None:
    # The writer's turn ends when a transaction waits; it must commit a batch first, or a stream of
    # transactions (each waiting while the one before runs) would keep every write waiting.
    stop = asyncio.Event()
    finished = 0

    async def transactions() -> None:
        nonlocal finished
        while not stop.is_set():
            async with notes.transaction() as conn:
                await conn.execute("SELECT 1")
            finished += 1

    runners = [asyncio.create_task(transactions()) for _ in range(3)]
    try:
        await asyncio.sleep(0.02)
        before = finished
        await asyncio.wait_for(notes.write(insert("in between")), timeout=10)
        assert finished - before < 50
    finally:
        stop.set()
        await asyncio.gather(*runners)
    assert texts(tmp_path / "pitstop.db") == {"in between"}
