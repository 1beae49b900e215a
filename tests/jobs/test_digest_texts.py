"""The digests' texts stay exactly as they were: seeded sets (a linked group, members without a group in two
languages, one too big for four messages, one with nothing shared, a second digest after a first) go through
the dispatcher's steps (the row to MEMBERS expanded and sealed in one commit, then each copy composed), and
every message is compared with the texts recorded before digests were rendered once and reused
(commit e88c359). A change of wording or layout changes the recorded figures on purpose, in the same commit."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

from bot.domain.plans import MEMBERS, Planned
from bot.domain.programme import parse_programme
from bot.jobs.sets import compose_digest
from bot.render import Renderer
from bot.store import learning_question, outbox, programmes, sharing
from bot.store.db import Database
from bot.store.journal import NewReflection, add_message
from tests.factories import learning_set, meeting, module, programme

NOW = datetime(2027, 4, 1, 7, tzinfo=UTC)
WORDS = (
    "team meeting asked listened plan decision colleague feedback project deadline trust budget & <council>"
    " stakeholder \"draft\" tension director citizens policy pilot 🙂 choice learned surprised afterwards"
).split()
# The sets: key, name, group chat (None: copies to members), members, entries each, longest entry.
SETS = (
    ("group", "Group set", -501, 5, 4, 600),
    ("members", "Members set", None, 3, 3, 300),
    ("big", "Big set", -503, 8, 6, 3000),
    ("quiet", "Quiet set", -504, 2, 0, 10),
)
# sha256 of every message in order (each followed by a NUL), the messages and their characters, as e88c359 gave them.
EXPECTED = ("f8e5923ffbffa1553623879d8ed872e69d463f7b90a8d6483a21382fbfcba3ed", 11, 25817)


def words(rng: random.Random, low: int, high: int) -> str:
    """Gives text of `low` to `high` characters, with HTML's special characters and an emoji among the words."""
    target, out = rng.randint(low, high), []
    while sum(len(w) + 1 for w in out) < target:
        out.append(rng.choice(WORDS))
    return " ".join(out)


async def seed(db: Database) -> dict[str, int]:
    """Gives the set ids by key, after seeding members, entries, a case and a shared question in each set."""
    source = programme(
        key="golden", modules=[module("m1", "Trust", "2027-03-01", "2027-06-30")],
        sets=[learning_set(key, name, [meeting("2027-04-06T14:00:00", place="Utrecht & Zeist")]) for key, name, *_ in SETS],
    )
    loaded = await programmes.save_programme(db, parse_programme(source), source, NOW)
    rng = random.Random(15)
    ids: dict[str, int] = {}
    person, message = 0, 0
    for key, _, group, members, entries, longest in SETS:
        found = await programmes.get_set(db, loaded.programme_id, key)
        assert found is not None
        ids[key] = found.id
        for n in range(members):
            person += 1
            async with db.transaction() as conn:
                cur = await conn.execute(
                    "INSERT INTO person (telegram_id, chat_id, name, language, status, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, 'active', ?, ?)",
                    (700 + person, 700 + person, f"Member <{person}>", "nl" if n % 2 else "en", NOW.isoformat(),
                     NOW.isoformat()),
                )
                person_id = int(cur.lastrowid or 0)
                await conn.execute(
                    "INSERT INTO membership (person_id, programme_id, learning_set_id, role, joined_at)"
                    " VALUES (?, ?, ?, 'participant', ?)", (person_id, loaded.programme_id, found.id, NOW.isoformat()),
                )
            if n == 0:
                message += 1
                await learning_question.add_version(
                    db, person_id, loaded.programme_id, words(rng, 40, 90), 700 + person, message, NOW - timedelta(days=9)
                )
                await learning_question.set_shared(db, person_id, True, NOW - timedelta(days=9))
            for k in range(entries):
                written = NOW - timedelta(days=8, hours=-k * 20 - n)
                reflection = None
                for _ in range(rng.choice((1, 1, 2))):
                    message += 1
                    stored = await add_message(
                        db, NewReflection(person_id, None, None, loaded.programme_id, "m1", "between", "", False, None),
                        reflection, 700 + person, message, "text", words(rng, 20, longest), None, written,
                    )
                    assert stored is not None
                    reflection = stored[0]
                assert reflection is not None
                roll = rng.random()
                visibility = "shared" if roll < 0.5 else "takeaway" if roll < 0.75 else "private"
                await sharing.set_visibility(
                    db, reflection, person_id, visibility, found.id, written + timedelta(minutes=5),
                    takeaway=words(rng, 30, 200) if visibility == "takeaway" else None,
                )
        if group is not None:
            await sharing.link_group(db, found.id, group)
    return ids


async def send(db: Database, render: Renderer, set_id: int, period: str, now: datetime, starts: datetime | None) -> list[str]:
    """Gives every message of a digest as the dispatcher would send them: expanded and sealed, then each copy."""
    async with db.transaction() as conn:
        digest_id = await sharing.ensure_digest(conn, set_id, period, now, starts, "Utrecht & Zeist" if starts else "", now)
        if starts is not None:
            await conn.execute(
                "INSERT INTO case_proposal (learning_set_id, person_id, digest_id, text, created_at)"
                " SELECT learning_set_id, person_id, ?, ?, ? FROM membership WHERE learning_set_id = ? ORDER BY id LIMIT 1",
                (digest_id, "A case about <trust> & budgets 🙂", now.isoformat(), set_id),
            )
    key = f"digest:{digest_id}"
    await outbox.plan(db, [Planned("digest", MEMBERS, now, key, payload={"digest_id": digest_id})], now)
    row = await outbox.get(db, int(await db.scalar("SELECT id FROM outbox WHERE dedupe_key = ?", (key,))))
    assert row is not None
    expanded = await compose_digest(db, render, row, now)
    await outbox.mark(db, row.id, expanded.cancel_status, expanded.cancel_reason, expand=expanded.expand, now=now,
                      also=expanded.writes)
    texts: list[str] = []
    for (copy_id,) in await db.fetchall(
        "SELECT id FROM outbox WHERE kind = 'digest' AND chat_id != ? AND json_extract(payload, '$.digest_id') = ?"
        " ORDER BY id", (MEMBERS, digest_id),
    ):
        copy = await outbox.get(db, int(copy_id))
        assert copy is not None
        composed = await compose_digest(db, render, copy, now + timedelta(seconds=2))
        assert composed.cancel_reason is None, composed.cancel_reason
        texts += composed.texts
    return texts


async def all_texts(db: Database) -> list[str]:
    """Gives the messages of every seeded set's digest before its meeting, then of a second group digest."""
    render = Renderer()
    ids = await seed(db)
    starts = datetime(2027, 4, 6, 12, tzinfo=UTC)  # 14:00 in Amsterdam
    texts: list[str] = []
    for key, *_ in SETS:
        texts += await send(db, render, ids[key], starts.isoformat(), NOW, starts)
    later = NOW + timedelta(days=2)
    stored = await add_message(
        db, NewReflection(1, None, None, 1, "m1", "between", "", False, None), None, 701, 9999, "text",
        "written after the first digest", None, later - timedelta(hours=1),
    )
    assert stored is not None
    await sharing.set_visibility(db, stored[0], 1, "shared", ids["group"], later - timedelta(minutes=50))
    texts += await send(db, render, ids["group"], "2027-W14", later, None)
    return texts


def figures(texts: list[str]) -> tuple[str, int, int]:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8") + b"\0")
    return digest.hexdigest(), len(texts), sum(len(t) for t in texts)


async def test_the_digests_read_as_they_did(db: Database) -> None:
    texts = await all_texts(db)
    assert figures(texts) == EXPECTED
