"""Upgrading: a database made by the previous release (migrations 0001–0002) takes every later
migration on start-up, and everything it held is still there and still works."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.programme import parse_programme
from bot.store import drafts, journal, outbox, people, programmes
from bot.store.db import (
    MIGRATIONS_DIR,
    REBUILDS_TABLES,
    Database,
    StoreError,
    available_migrations,
    connect,
    migrate,
    open_database,
)
from bot.store.journal import NewReflection
from bot.store.outbox import Planned
from tests.domain.test_programme import GOOD

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
PREVIOUS_RELEASE = ("0001_init.sql", "0002_facilitators.sql")


async def database_before(tmp_path: Path, number: str) -> tuple[Path, Database]:
    """Gives a new database file with every migration before `number` applied, open: the release that
    came before that migration."""
    folder = tmp_path / f"before-{number}"
    folder.mkdir()
    for sql in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if sql.name < number:
            shutil.copy(sql, folder / sql.name)
    path = tmp_path / "pitstop.db"
    db = await connect(path)
    await migrate(db, folder)
    return path, db


async def test_a_database_of_the_previous_release_is_upgraded_with_its_data_whole(tmp_path: Path) -> None:
    old_migrations = tmp_path / "old-migrations"
    old_migrations.mkdir()
    for name in PREVIOUS_RELEASE:
        shutil.copy(MIGRATIONS_DIR / name, old_migrations / name)
    path = tmp_path / "pitstop.db"
    old = await connect(path)
    await migrate(old, old_migrations)
    saved = await programmes.save_programme(old, parse_programme(GOOD), GOOD, NOW)
    invite = await people.create_invite(old, saved.programme_id, None, "participant", 1, NOW.replace(year=2027), NOW)
    _, person, _ = await people.redeem_invite(old, invite.code, 777, 777, "Ada", "en", "Europe/Amsterdam", NOW)
    assert person is not None
    person = await people.update_person(old, person.id, NOW, status="active", onboarding_step=None)
    await outbox.plan(old, [Planned("prompt", 777, NOW, "prompt:old", person_id=person.id)], NOW)
    prompt_id = await old.scalar("SELECT id FROM outbox WHERE dedupe_key = 'prompt:old'")
    new = NewReflection(person.id, prompt_id, None, saved.programme_id, "", "", "", False, None)
    stored = await journal.add_message(old, new, None, 777, 10, "text", "Written before the upgrade.", None, NOW)
    assert stored is not None
    await old.close()

    db = await open_database(path)
    try:
        names = [row[0] for row in await db.fetchall("SELECT name FROM schema_migrations ORDER BY name")]
        assert names == [m.name for m in available_migrations()]
        entry = await journal.get(db, stored[0])
        assert entry is not None and entry.text == "Written before the upgrade."
        again = await people.get_person_by_telegram(db, 777)
        assert again is not None and again.name == "Ada"
        # The outbox was rebuilt (0008) with its rows, ids and the journal's links to them.
        assert entry.outbox_id == prompt_id
        row = await outbox.get(db, prompt_id)
        assert row is not None and row.dedupe_key == "prompt:old" and row.response == "answered"
        assert await db.scalar("PRAGMA foreign_keys") == 1
        assert await db.fetchall("PRAGMA foreign_key_check") == []
        await outbox.plan(db, [Planned("pulse", 777, NOW, "pulse:new", person_id=again.id if again else None)], NOW)
        indexes = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE tbl_name = 'outbox' AND type = 'index'")}
        assert {"outbox_due", "outbox_by_person", "outbox_by_broadcast"} <= indexes
        # What the new migrations add works on the old data.
        draft_id = await drafts.create(db, again.id, "takeaway", entry.id, None, 777, 11, "A line.", NOW)
        taken = await drafts.take(db, draft_id, again.id)
        assert taken is not None and taken.text == "A line."
    finally:
        await db.close()


async def test_a_rebuilding_migration_that_would_leave_broken_references_is_rolled_back(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name in PREVIOUS_RELEASE:
        shutil.copy(MIGRATIONS_DIR / name, folder / name)
    db = await connect(tmp_path / "pitstop.db")
    try:
        await migrate(db, folder)
        saved = await programmes.save_programme(db, parse_programme(GOOD), GOOD, NOW)
        invite = await people.create_invite(db, saved.programme_id, None, "participant", 1, NOW.replace(year=2027), NOW)
        _, person, _ = await people.redeem_invite(db, invite.code, 778, 778, "Bo", "en", "Europe/Amsterdam", NOW)
        assert person is not None
        (folder / "0009_careless.sql").write_text(f"{REBUILDS_TABLES}\nDELETE FROM person;\n", encoding="utf-8")
        with pytest.raises(StoreError, match="0009_careless"):
            await migrate(db, folder)
        assert await db.scalar("SELECT count(*) FROM person") == 1  # rolled back whole
        assert await db.scalar("PRAGMA foreign_keys") == 1
    finally:
        await db.close()


async def test_a_draft_waiting_before_0014_is_still_there_and_a_line_for_the_facilitator_can_wait_too(tmp_path: Path) -> None:
    path, old = await database_before(tmp_path, "0014")
    saved = await programmes.save_programme(old, parse_programme(GOOD), GOOD, NOW)
    invite = await people.create_invite(old, saved.programme_id, None, "participant", 1, NOW.replace(year=2027), NOW)
    _, person, _ = await people.redeem_invite(old, invite.code, 779, 779, "Cas", "en", "Europe/Amsterdam", NOW)
    assert person is not None
    new = NewReflection(person.id, None, None, saved.programme_id, "", "", "", False, None)
    stored = await journal.add_message(old, new, None, 779, 10, "text", "Written before 0014.", None, NOW)
    assert stored is not None
    waiting = await drafts.create(old, person.id, "takeaway", stored[0], 5, 779, 11, "A waiting line.", NOW)
    await old.close()

    db = await open_database(path)
    try:
        taken = await drafts.take(db, waiting, person.id)
        assert taken is not None and (taken.id, taken.kind, taken.text) == (waiting, "takeaway", "A waiting line.")
        line = await drafts.create(db, person.id, "facilitator", stored[0], None, 779, 12, "For you only.", NOW)
        assert (await drafts.take(db, line, person.id)) is not None
        assert await db.scalar("SELECT facilitator_set_id IS NULL AND facilitator_brief IS NULL FROM reflection") == 1
        assert await db.fetchall("PRAGMA foreign_key_check") == []
        indexes = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE tbl_name = 'draft' AND type = 'index'")}
        assert "draft_by_person" in indexes
    finally:
        await db.close()


async def test_a_database_of_the_last_release_takes_0015_and_its_rows_in_flight_still_go(tmp_path: Path) -> None:
    """The release before PostgreSQL had 0001–0014: a row pending and one left `sending` by a hard kill
    are still there after 0015, the kill's row goes back in line, and the inbox starts empty."""
    path, old = await database_before(tmp_path, "0015")
    await outbox.plan(old, [Planned("notice", 5, NOW, "n:1", payload={"text": "a"}),
                            Planned("notice", 6, NOW, "n:2", payload={"text": "b"})], NOW)
    # What the last release's claim left when the process was killed (its code, not this one's).
    killed = await old.scalar("UPDATE outbox SET status = 'sending', claimed_at = ? WHERE dedupe_key = 'n:1' RETURNING id",
                              (NOW.isoformat(),))
    await old.close()

    db = await open_database(path)
    try:
        assert await outbox.recover_in_flight(db) == 1
        assert await db.scalar("SELECT count(*) FROM outbox WHERE status = 'pending' AND claimed_by IS NULL") == 2
        claimed = await outbox.claim_due(db, NOW, 2)
        assert {r.id for r in claimed} >= {killed}
        assert await db.scalar("SELECT count(*) FROM inbox") == 0
        assert await db.fetchall("PRAGMA foreign_key_check") == []
    finally:
        await db.close()


async def test_a_database_at_0015_takes_0016_with_its_outbox_whole_and_its_checks_still_refusing(tmp_path: Path) -> None:
    """0016 rebuilds the outbox (its CHECKs written without IN, for quicker inserts): every row keeps its
    id, columns and the journal's link to it, a broadcast's rows are still found by the (now partial)
    broadcast index, and a kind, status or response the outbox does not know is still refused."""
    path, old = await database_before(tmp_path, "0016")
    saved = await programmes.save_programme(old, parse_programme(GOOD), GOOD, NOW)
    invite = await people.create_invite(old, saved.programme_id, None, "participant", 1, NOW.replace(year=2027), NOW)
    _, person, _ = await people.redeem_invite(old, invite.code, 780, 780, "Dee", "en", "Europe/Amsterdam", NOW)
    assert person is not None
    person = await people.update_person(old, person.id, NOW, status="active", onboarding_step=None)
    await outbox.plan(old, [Planned("prompt", 780, NOW, "prompt:780:2026-11-25", person_id=person.id),
                            Planned("broadcast", 780, NOW, "broadcast:3:780", person_id=person.id, broadcast_id=3)], NOW)
    prompt_id = await old.scalar("SELECT id FROM outbox WHERE kind = 'prompt'")
    await old.fetchall("UPDATE outbox SET status = 'sending', claimed_at = ?, claimed_by = 'p@1', attempts = 2,"
                       " response = 'later' WHERE id = ?", (NOW.isoformat(), prompt_id))
    new = NewReflection(person.id, prompt_id, None, saved.programme_id, "", "", "", False, None)
    assert await journal.add_message(old, new, None, 780, 10, "text", "Written before 0016.", None, NOW) is not None
    before = await old.fetchall("SELECT * FROM outbox ORDER BY id")
    await old.close()

    db = await open_database(path)
    try:
        assert [tuple(r) for r in await db.fetchall("SELECT * FROM outbox ORDER BY id")] == [tuple(r) for r in before]
        assert await db.scalar("SELECT outbox_id FROM reflection") == prompt_id
        assert await db.fetchall("PRAGMA foreign_key_check") == []
        indexes = {r[0]: r[1] for r in await db.fetchall(
            "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'outbox' AND type = 'index' AND sql IS NOT NULL")}
        assert set(indexes) == {"outbox_due", "outbox_by_person", "outbox_by_broadcast", "outbox_to_members"}  # 0017
        assert "WHERE broadcast_id IS NOT NULL" in indexes["outbox_by_broadcast"]
        plan = await db.fetchall("EXPLAIN QUERY PLAN SELECT status, count(*) FROM outbox WHERE broadcast_id = ? GROUP BY status", (3,))
        assert "outbox_by_broadcast" in " ".join(str(r[3]) for r in plan)
        assert await db.scalar("SELECT count(*) FROM outbox WHERE broadcast_id = 3") == 1
        for column, value in (("kind", "nudge"), ("status", "lost"), ("response", "maybe")):
            with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
                await db.fetchall(f"UPDATE outbox SET {column} = ? WHERE id = ?", (value, prompt_id))
        await db.fetchall("UPDATE outbox SET response = NULL WHERE id = ?", (prompt_id,))  # no answer yet: allowed
    finally:
        await db.close()


async def test_a_database_at_0016_takes_0017_and_its_digests_still_seal_carry_and_expand(tmp_path: Path) -> None:
    """0017 makes reflection_by_digest hold carried entries only and adds an index of the rows to MEMBERS: a
    digest sealed before it still finds what it carries, the next digest of its set carries nothing of that
    again, and the claim of digests to expand uses the new index and passes over the rows of other chats."""
    from bot.jobs.sets import expand_due_digests
    from bot.render import Renderer
    from bot.store import sharing
    from tests.jobs.test_digest_batch import MEMBERS_PER_SET, digests, sets_with_digests
    from tests.jobs.test_digest_batch import NOW as DUE

    path, old = await database_before(tmp_path, "0017")
    await sets_with_digests(old, sets=2, periods=("week-1", "week-2"))
    await outbox.plan(old, [Planned("notice", 7, DUE, "n:due", payload={"text": "due at the same time"})], DUE)
    render = Renderer()
    assert await expand_due_digests(old, render, DUE) == {"expanded": 2}  # each set's first, before 0017
    before = await digests(old)
    await old.close()

    db = await open_database(path)
    try:
        indexes = {r[0]: r[1] for r in await db.fetchall(
            "SELECT name, sql FROM sqlite_master WHERE name IN ('reflection_by_digest', 'outbox_to_members')")}
        assert "WHERE digest_id IS NOT NULL" in indexes["reflection_by_digest"]
        assert "WHERE chat_id = 0" in indexes["outbox_to_members"]
        plan = await db.fetchall("EXPLAIN QUERY PLAN " + outbox._EXPANSIONS_SQL, (DUE.isoformat(), 8))
        assert "outbox_to_members" in " ".join(str(r[3]) for r in plan)
        for digest in before[::2]:  # sealed before 0017: what each carries is found by its digest
            entries = await sharing.digest_entries(db, digest["id"], digest["learning_set_id"])
            assert len(entries) == digest["carried"] > 0
        assert await expand_due_digests(db, render, DUE + timedelta(seconds=1)) == {"expanded": 2}
        after = await digests(db)
        assert [d["status"] for d in after] == ["sealed"] * 4
        # The second digest of each set carries nothing the first (sealed before 0017) carried.
        assert [d["carried"] for d in after] == [MEMBERS_PER_SET, 0, MEMBERS_PER_SET, 0]
        assert await db.scalar("SELECT status FROM outbox WHERE dedupe_key = 'n:due'") == "pending"  # not a digest's
        assert await db.fetchall("PRAGMA foreign_key_check") == []
    finally:
        await db.close()
