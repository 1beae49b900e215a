"""`pitstop db copy` moves the demo's database into an empty PostgreSQL schema: every table's count and the
journal's checksum match, every row arrives field by field (a reflection with U+0000 and an emoji in it, the
outbox with its states, a follow-up that points at a later reflection), and new rows get new ids afterwards.
It refuses with one sentence, and changes nothing, when the target is not empty or in use, the file is missing,
behind this version or in use by a bot, or a column has no twin; a mismatch found before COMMIT rolls it all back.

The tests that need PostgreSQL read PITSTOP_TEST_POSTGRES (tests/pg.py) and are skipped without it."""

from __future__ import annotations

import asyncio
import io
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.cli.common import Failure, lock_database
from bot.cli.db import sqlite_path
from bot.sandbox.demo import run_demo
from bot.store import copy as store_copy
from bot.store import journal, people
from bot.store.copy import copy_database, in_reference_order
from bot.store.db import StoreError
from bot.store.db import open_database as open_sqlite
from bot.store.engines import open_database
from tests import test_cli
from tests.pg import fresh_schema, require_server
from tests.test_cli import pitstop

PLANTED = "Donderdag\x00 zei ik nee 🌱 tegen de wethouder \ue000 (en dat voelde goed)"
PLANTED_MESSAGE = 990_001
NOWHERE = "postgresql://nobody@127.0.0.1:9/nothing"  # never reached: each refusal comes before the target is opened
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- the demo's database


async def _plant(path: Path) -> int:
    """Adds a reflection whose text PostgreSQL's text cannot hold as is; gives its id."""
    db = await open_sqlite(path)
    try:
        sanne = await people.get_person_by_telegram(db, 811)
        assert sanne is not None
        new = journal.NewReflection(sanne.id, None, None, None, "", "", "", False, None)
        stored = await journal.add_message(db, new, None, sanne.chat_id, PLANTED_MESSAGE, "text", PLANTED, None, NOW)
        assert stored is not None
        return stored[0]
    finally:
        await db.close()


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Gives the demo's database after its weeks, with a planted reflection, and the first reflection made a
    follow-up of the last one (a reference to a later row of its own table)."""
    require_server()
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    asyncio.run(run_demo(io.StringIO(), keep=path))
    asyncio.run(_plant(path))
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE reflection SET follows_up_id = (SELECT max(id) FROM reflection) WHERE id = (SELECT min(id) FROM reflection)")
    conn.close()
    return path


@pytest.fixture
def source(demo_file: Path, tmp_path: Path) -> Path:
    """Gives a copy of the demo's database of this test's own."""
    path = tmp_path / "pitstop.db"
    shutil.copyfile(demo_file, path)
    return path


@pytest.fixture
def target() -> Iterator[str]:
    """Gives the DSN of an empty PostgreSQL schema (skipped without PITSTOP_TEST_POSTGRES)."""
    with fresh_schema() as dsn:
        yield dsn


def sqlite_tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Gives every table's rows (schema_migrations aside), by its first column (its key), columns in SQLite's order."""
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        tables = {}
        for name in names:
            if name != "schema_migrations":
                tables[name] = conn.execute(f"SELECT * FROM {name} ORDER BY 1").fetchall()
        return tables
    finally:
        conn.close()


def columns_of(path: Path, table: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    finally:
        conn.close()


async def pg_tables(dsn: str, path: Path, names: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Gives the same tables' rows read through the PostgreSQL store, columns in SQLite's order."""
    db = await open_database(dsn)
    try:
        return {
            name: [tuple(r) for r in await db.fetchall(f"SELECT {', '.join(columns_of(path, name))} FROM {name} ORDER BY 1")]
            for name in names
        }
    finally:
        await db.close()


async def pg_rows(dsn: str, names: list[str]) -> dict[str, int]:
    """Gives how many rows each table holds on PostgreSQL."""
    db = await open_database(dsn)
    try:
        return {name: int(await db.scalar(f"SELECT count(*) FROM {name}")) for name in names}
    finally:
        await db.close()


def with_password(dsn: str, password: str) -> str:
    """Gives the DSN with a password in it (the test server trusts, so any password does)."""
    parts = urlsplit(dsn)
    netloc = f"{parts.username or 'postgres'}:{password}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


# --------------------------------------------------------------------------- the copy


def test_the_demo_is_copied_with_every_count_and_the_journal_checksum_matching(source: Path, target: str) -> None:
    secret = "s3cret-never-printed"
    result = pitstop("db", "copy", "--from", f"sqlite://{source}", "--to", with_password(target, secret))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    expected = {name: len(rows) for name, rows in sqlite_tables(source).items()}
    shown = {}
    for line in lines[1 : 1 + len(expected)]:
        name, on_sqlite, on_pg = line.split()
        shown[name] = (int(on_sqlite), int(on_pg))
    assert shown == {name: (n, n) for name, n in expected.items()}
    assert expected["reflection_part"] > 10 and expected["outbox"] > 50 and expected["audit_log"] >= 1
    assert lines[-2].startswith("journal checksum ") and lines[-2].endswith(" matches")
    assert lines[-1].startswith(f"Copied {sum(expected.values())} rows in ")
    assert "Set PITSTOP_DB=postgresql://" in lines[-1] and ":***@" in lines[-1]
    assert secret not in result.stdout + result.stderr and "Traceback" not in result.stderr


async def test_every_row_arrives_field_by_field_with_its_text_and_the_outbox_states(source: Path, target: str) -> None:
    copied = await copy_database(source, target)
    on_sqlite = sqlite_tables(source)
    on_pg = await pg_tables(target, source, list(on_sqlite))
    for name, rows in on_sqlite.items():
        assert on_pg[name] == rows, name
    assert {t.name: (t.sqlite_count, t.pg_count) for t in copied.tables} == {n: (len(r), len(r)) for n, r in on_sqlite.items()}
    assert copied.rows == sum(len(r) for r in on_sqlite.values())
    statuses = {row[columns_of(source, "outbox").index("status")] for row in on_pg["outbox"]}
    assert {"sent", "pending", "cancelled"} <= statuses
    db = await open_database(target)
    try:
        planted = await db.scalar("SELECT reflection_id FROM reflection_part WHERE message_id = ?", (PLANTED_MESSAGE,))
        entry = await journal.get(db, planted)
        assert entry is not None and entry.text == PLANTED
        first = await db.fetchone("SELECT id, follows_up_id FROM reflection ORDER BY id LIMIT 1")
        assert first["follows_up_id"] == await db.scalar("SELECT max(id) FROM reflection")
    finally:
        await db.close()


async def test_new_rows_after_the_copy_get_new_ids(source: Path, target: str) -> None:
    await copy_database(source, target)
    db = await open_database(target)
    try:
        before = await db.scalar("SELECT max(id) FROM person")
        admin = await people.create_admin(db, 4242, 4242, "New admin", "en", "Europe/Amsterdam", NOW)
        assert admin.id > before
        new = journal.NewReflection(admin.id, None, None, None, "", "", "", False, None)
        stored = await journal.add_message(db, new, None, 4242, 1, "text", "the first words on PostgreSQL", None, NOW)
        assert stored is not None and stored[0] > await db.scalar("SELECT min(id) FROM reflection")
        # Every table that had rows: its sequence stands at its largest id.
        for name, rows in sqlite_tables(source).items():
            if rows:
                sequence = await db.scalar(f"SELECT pg_get_serial_sequence('{name}', 'id')")
                last = await db.fetchone(f"SELECT last_value, is_called FROM {sequence}")
                assert last["is_called"] and last["last_value"] >= max(r[0] for r in rows), name
    finally:
        await db.close()


# --------------------------------------------------------------------------- refusals


def test_a_second_copy_into_the_same_schema_refuses_and_changes_nothing(source: Path, target: str) -> None:
    assert pitstop("db", "copy", "--from", str(source), "--to", target).returncode == 0
    names = list(sqlite_tables(source))
    before = asyncio.run(pg_tables(target, source, names))
    again = pitstop("db", "copy", "--from", str(source), "--to", target)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "is not empty (table " in again.stderr and "copy into an empty database." in again.stderr
    assert asyncio.run(pg_tables(target, source, names)) == before


def test_a_missing_sqlite_file_refuses_with_a_sentence(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    result = pitstop("db", "copy", "--from", f"sqlite://{missing}", "--to", NOWHERE)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"pitstop: The SQLite database {missing} does not exist; check --from."
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(StoreError, match="does not exist"):
        asyncio.run(copy_database(missing, NOWHERE))


async def test_a_file_behind_this_version_refuses_before_the_target_is_touched(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    await (await open_sqlite(path)).close()  # migrated…
    with sqlite3.connect(path) as conn:  # …then as if the last migration had not run
        conn.execute("DELETE FROM schema_migrations WHERE name = (SELECT max(name) FROM schema_migrations)")
    conn.close()
    with pytest.raises(StoreError, match=r"lacks this version's migrations \(\d{4}_\w+\); run `PITSTOP_DB=.*pitstop migrate` on it first"):
        await copy_database(path, NOWHERE)
    plain = tmp_path / "plain.db"
    sqlite3.connect(plain).execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)").connection.close()
    with pytest.raises(StoreError, match="holds no Pitstop schema"):
        await copy_database(plain, NOWHERE)


def test_a_running_bot_makes_the_copy_refuse(tmp_path: Path) -> None:
    path = tmp_path / "pitstop.db"
    sqlite3.connect(path).close()
    lock = lock_database(path)  # as `pitstop run` holds it
    try:
        result = pitstop("db", "copy", "--from", str(path), "--to", NOWHERE)
    finally:
        lock.close()
    assert result.returncode == 2
    assert result.stderr.strip() == f"pitstop: The database {path} is in use by another Pitstop process; stop that one first."


async def test_a_column_without_a_twin_stops_the_copy_and_nothing_is_kept(source: Path, target: str) -> None:
    with sqlite3.connect(source) as conn:
        conn.execute("ALTER TABLE person ADD COLUMN nickname TEXT")
    conn.close()
    with pytest.raises(StoreError, match=r"The column person\.nickname of the SQLite database has no twin in postgresql://"):
        await copy_database(source, target)
    assert set((await pg_rows(target, list(sqlite_tables(source)))).values()) == {0}


async def test_a_target_in_use_refuses_with_a_sentence(source: Path, target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    monkeypatch.setattr(store_copy, "LOCK_TIMEOUT", "200ms")
    await (await open_database(target)).close()  # migrated, as a bot on it would have it
    with psycopg.connect(target) as bot:  # a bot in the middle of a write
        bot.execute("LOCK TABLE person IN ROW EXCLUSIVE MODE")
        with pytest.raises(StoreError, match=r"The database postgresql://\S+ is in use \(a table stayed locked\); stop what runs on it first\."):
            await copy_database(source, target)
    assert set((await pg_rows(target, list(sqlite_tables(source)))).values()) == {0}


@pytest.mark.parametrize("broken", ["a count", "the checksum"])
async def test_a_mismatch_found_before_commit_rolls_everything_back(
    broken: str, source: Path, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if broken == "a count":
        real_counts = store_copy.pg_counts

        def one_short(raw: Any, names: Any) -> dict[str, int]:
            counts = real_counts(raw, names)
            return {**counts, "outbox": counts["outbox"] - 1}

        monkeypatch.setattr(store_copy, "pg_counts", one_short)
        sentence = r"The copy did not match \(table outbox: \d+ rows in SQLite, \d+ in PostgreSQL\); nothing was copied\."
    else:
        real_checksum, calls = store_copy.journal_checksum, []

        def differs_the_second_time(rows: Any) -> str:
            calls.append(1)
            return real_checksum(rows) + ("x" if len(calls) == 2 else "")

        monkeypatch.setattr(store_copy, "journal_checksum", differs_the_second_time)
        sentence = "The journal read back from PostgreSQL differs from SQLite's; nothing was copied."
    with pytest.raises(StoreError, match=sentence):
        await copy_database(source, target)
    assert set((await pg_rows(target, list(sqlite_tables(source)))).values()) == {0}
    monkeypatch.undo()
    assert (await copy_database(source, target)).rows > 0  # and the target, still empty, takes the copy afterwards


# --------------------------------------------------------------------------- the parts


def test_tables_come_after_the_tables_they_reference_and_a_circle_is_refused() -> None:
    order = in_reference_order({"reflection": {"person", "reflection", "outbox"}, "outbox": {"person"}, "person": set(),
                                "audit_log": {"programme"}, "programme": set()})
    assert order == ["person", "programme", "audit_log", "outbox", "reflection"]
    with pytest.raises(StoreError, match="reference each other in a circle"):
        in_reference_order({"a": {"b"}, "b": {"a"}, "c": set()})


def test_from_takes_a_sqlite_url_or_a_path() -> None:
    assert sqlite_path("sqlite:///srv/pitstop/pitstop.db") == Path("/srv/pitstop/pitstop.db")
    assert sqlite_path("sqlite:///srv/my%20bot/pitstop.db") == Path("/srv/my bot/pitstop.db")
    assert sqlite_path("data/pitstop.db") == Path("data/pitstop.db")
    for wrong in ("sqlite://srv/pitstop.db", "sqlite://", "sqlite:///"):
        with pytest.raises(Failure, match="names no file"):
            sqlite_path(wrong)


def test_a_target_that_is_not_postgresql_is_refused(tmp_path: Path) -> None:
    result = pitstop("db", "copy", "--from", str(tmp_path / "a.db"), "--to", str(tmp_path / "b.db"))
    assert result.returncode == 2 and "--to must name a PostgreSQL database (postgresql://…)" in result.stderr


@pytest.mark.parametrize("command", [["db"], ["db", "copy"]], ids=" ".join)
def test_the_db_commands_explain_themselves(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    test_cli.test_every_command_explains_itself_and_each_argument(command, capsys)
