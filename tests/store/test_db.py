"""The database: migrations applied once and in order, refusal of foreign, newer, locked or missing
files, transactions that leave nothing half done, a programme loaded twice, and backups."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.programme import parse_programme
from bot.store import programmes
from bot.store.db import (
    Database,
    StoreError,
    available_migrations,
    backup,
    connect,
    migrate,
    open_database,
)
from tests.domain.test_programme import CHALLENGES, GOOD, PERSON, SET_A, cpm_test

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


async def test_migrations_are_recorded_and_not_applied_twice(db: Database) -> None:
    names = [row[0] for row in await db.fetchall("SELECT name FROM schema_migrations")]
    assert names == [m.name for m in available_migrations()]
    assert await migrate(db) == []


async def test_the_connection_uses_wal_and_foreign_keys(db: Database) -> None:
    assert (await db.scalar("PRAGMA journal_mode")) == "wal"
    assert (await db.scalar("PRAGMA foreign_keys")) == 1


async def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    database = await open_database(path)
    await database.conn.execute("INSERT INTO schema_migrations VALUES ('9999_future', 'now')")
    await database.close()
    with pytest.raises(StoreError, match="newer version"):
        await open_database(path)


async def test_a_file_that_is_not_sqlite_gets_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database " * 50)
    with pytest.raises(StoreError, match="not a Pitstop database"):
        await open_database(path)
    assert path.read_text().startswith("these are my notes")


async def test_a_locked_database_gets_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        import bot.store.db as dbmod

        old = dbmod.BUSY_TIMEOUT_MS
        dbmod.BUSY_TIMEOUT_MS = 100
        try:
            with pytest.raises(StoreError, match="locked by another process"):
                await open_database(path)
        finally:
            dbmod.BUSY_TIMEOUT_MS = old
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        await connect(tmp_path / "nowhere" / "x.db")


async def test_a_failing_transaction_leaves_nothing_behind(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO programme (key, title, language, timezone, source, loaded_at) VALUES ('k','t','en','UTC','','x')"
            )
            await conn.execute(
                "INSERT INTO programme (key, title, language, timezone, source, loaded_at) VALUES ('k','t','en','UTC','','x')"
            )
    assert await db.scalar("SELECT count(*) FROM programme") == 0


async def test_loading_a_programme_twice_updates_it_in_place(db: Database) -> None:
    programme = parse_programme(GOOD)
    first = await programmes.save_programme(db, programme, GOOD, NOW)
    set_a = await programmes.get_set(db, first.programme_id, "set-a")
    renamed = cpm_test(modules=[replace(CHALLENGES, title="The Big Challenges"), PERSON], sets=[SET_A])
    second = await programmes.save_programme(db, parse_programme(renamed), renamed, NOW)
    assert second.programme_id == first.programme_id and not second.created
    assert second.sets_retired == 1
    stored = await programmes.get_programme(db, "cpm-test")
    assert stored is not None and stored.programme.modules[0].title == "The Big Challenges"
    assert (await programmes.get_set(db, first.programme_id, "set-a")) == set_a
    assert [s.key for s in await programmes.list_sets(db, first.programme_id)] == ["set-a"]
    assert await db.scalar("SELECT count(*) FROM programme") == 1


async def test_a_backup_is_a_consistent_copy(db: Database, tmp_path: Path) -> None:
    await programmes.save_programme(db, parse_programme(GOOD), GOOD, NOW)
    target = tmp_path / "copy.db"
    await backup(db, target)
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT key FROM programme").fetchall() == [("cpm-test",)]
    copy.close()
    with pytest.raises(StoreError, match="exists already"):
        await backup(db, target)
