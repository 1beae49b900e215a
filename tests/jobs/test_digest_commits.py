"""A digest costs one commit: when its row to MEMBERS falls due it is sealed in the same commit that
plans its copies and ends that row (the dispatcher's `outbox.mark`), and composing a copy only reads.
A digest with nobody to carry it to is not sealed: what was shared waits for the next one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.plans import MEMBERS, Planned
from bot.domain.programme import parse_programme
from bot.jobs.sets import compose_digest
from bot.render import Renderer
from bot.store import outbox, programmes, sharing
from bot.store.db import Database
from bot.store.journal import NewReflection, add_message
from tests.factories import learning_set, module, programme

NOW = datetime(2027, 4, 1, 8, tzinfo=UTC)
GROUP = -4242
RENDER = Renderer()


async def a_set(db: Database, members: int, group: int | None) -> tuple[int, int, list[int]]:
    """Gives (programme id, set id, member ids) of a set whose members each shared one reflection an hour ago."""
    source = programme(key="commits", modules=[module("m1", "One", "2027-03-01", "2027-06-30")],
                       sets=[learning_set("s1", "Set One")])
    loaded = await programmes.save_programme(db, parse_programme(source), source, NOW)
    found = await programmes.get_set(db, loaded.programme_id, "s1")
    assert found is not None
    ids = []
    for n in range(members):
        async with db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO person (telegram_id, chat_id, name, status, created_at, updated_at)"
                " VALUES (?, ?, ?, 'active', ?, ?)", (500 + n, 500 + n, f"Member {n}", NOW.isoformat(), NOW.isoformat()),
            )
            ids.append(int(cur.lastrowid or 0))
            await conn.execute(
                "INSERT INTO membership (person_id, programme_id, learning_set_id, role, joined_at)"
                " VALUES (?, ?, ?, 'participant', ?)", (ids[-1], loaded.programme_id, found.id, NOW.isoformat()),
            )
        written = NOW - timedelta(hours=1)
        stored = await add_message(
            db, NewReflection(ids[-1], None, None, loaded.programme_id, "m1", "between", "", False, None),
            None, 500 + n, 1, "text", f"what member {n} shared", None, written,
        )
        assert stored is not None
        assert await sharing.set_visibility(db, stored[0], ids[-1], "shared", found.id, written)
    if group is not None:
        await sharing.link_group(db, found.id, group)
    return loaded.programme_id, found.id, ids


async def due_digest(db: Database, set_id: int) -> outbox.OutboxRow:
    async with db.transaction() as conn:
        digest_id = await sharing.ensure_digest(conn, set_id, "week", NOW, None, "", NOW)
    await outbox.plan(db, [Planned("digest", MEMBERS, NOW, f"digest:{digest_id}", payload={"digest_id": digest_id})], NOW)
    rows = await db.fetchall("SELECT id FROM outbox WHERE dedupe_key = ?", (f"digest:{digest_id}",))
    row = await outbox.get(db, rows[0][0])
    assert row is not None
    return row


async def test_a_digest_is_sealed_in_the_one_commit_that_plans_its_copies(db: Database) -> None:
    _, set_id, _ = await a_set(db, members=3, group=GROUP)
    row = await due_digest(db, set_id)
    before = db.commits
    expanded = await compose_digest(db, RENDER, row, NOW)
    assert db.commits == before  # choosing what it carries writes nothing yet
    assert [p.chat_id for p in expanded.expand] == [GROUP] and expanded.writes is not None
    digest_id = int(row.payload["digest_id"])
    assert (await sharing.get_digest(db, digest_id)).status == "planned"  # type: ignore[union-attr]

    await outbox.mark(db, row.id, expanded.cancel_status, expanded.cancel_reason, expand=expanded.expand, now=NOW,
                      also=expanded.writes)
    assert db.commits == before + 1
    digest = await sharing.get_digest(db, digest_id)
    assert digest is not None and digest.status == "sealed" and digest.sealed_at == NOW
    assert len(await sharing.digest_entries(db, digest_id, set_id)) == 3

    copy_id = await db.scalar("SELECT id FROM outbox WHERE chat_id = ? AND kind = 'digest'", (GROUP,))
    copy = await outbox.get(db, int(copy_id))
    assert copy is not None
    composed = await compose_digest(db, RENDER, copy, NOW + timedelta(seconds=1))
    assert db.commits == before + 1  # the copy only reads what the digest carries
    assert all(f"what member {n} shared" in "\n".join(composed.texts) for n in range(3))


async def test_a_digest_with_nobody_to_carry_it_to_stays_unsealed(db: Database) -> None:
    _, set_id, ids = await a_set(db, members=1, group=None)
    async with db.transaction() as conn:
        await conn.execute("UPDATE person SET status = 'blocked' WHERE id = ?", (ids[0],))
    row = await due_digest(db, set_id)
    expanded = await compose_digest(db, RENDER, row, NOW)
    assert expanded.expand == () and expanded.writes is None
    assert (await sharing.get_digest(db, int(row.payload["digest_id"]))).status == "planned"  # type: ignore[union-attr]
    assert len(await sharing.pending_shared(db, set_id)) == 1  # waits for the next digest
