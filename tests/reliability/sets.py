"""Builders for tests of a learning set's digest: a set with members, a facilitator and maybe a linked
group, shared reflections stored as an import would, and a digest due now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bot.store import outbox, programmes, sharing
from bot.store.outbox import Planned
from tests.e2e.world import World
from tests.factories import learning_set, module, programme
from tests.reliability.conftest import around, insert_facilitator, insert_participants


def set_programme(starts: date, ends: date) -> str:
    """Gives the programme "sets": one module from `starts` to `ends` and set A, without meetings."""
    return programme(
        key="sets",
        title="Sets Programme",
        modules=[module("m1", "The Person", starts, ends, theme="Working under pressure", capacities=["relational"])],
        sets=[learning_set("set-a", "Set A")],
    )


async def set_with_group(world: World, members: int, group_chat_id: int | None, first_chat: int = 70_000) -> SetUp:
    """Loads a programme with one set (weekly digests), inserts members, a facilitator and links a group."""
    now = world.clock.now()
    starts, ends = around(now.astimezone(world.settings.zone).date())
    programme_id = await world.load(set_programme(starts, ends))
    learning_set = await programmes.get_set(world.db, programme_id, "set-a")
    assert learning_set is not None
    people = await insert_participants(world.db, programme_id, first_chat, members, now)
    async with world.db.transaction() as conn:
        await conn.execute(
            f"UPDATE membership SET learning_set_id = ? WHERE person_id IN ({','.join('?' for _ in people)})",
            (learning_set.id, *[pid for pid, _ in people]),
        )
    facilitator = await insert_facilitator(world.db, programme_id, first_chat - 1, now)
    if group_chat_id is not None:
        await sharing.link_group(world.db, learning_set.id, group_chat_id)
    return SetUp(programme_id, learning_set.id, people, facilitator, first_chat - 1)


@dataclass(frozen=True)
class SetUp:
    programme_id: int
    set_id: int
    members: list[tuple[int, int]]
    facilitator_id: int
    facilitator_chat: int


async def share(world: World, person_id: int, set_id: int, texts: list[str], minutes_ago: int = 60) -> int:
    """Stores a reflection made of these messages, shared with the set; gives its id."""
    at = outbox.ts(world.clock.now() - timedelta(minutes=minutes_ago))
    async with world.db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO reflection (person_id, visibility, shared_set_id, shared_at, created_at, updated_at)"
            " VALUES (?, 'shared', ?, ?, ?, ?)",
            (person_id, set_id, at, at, at),
        )
        reflection_id = int(cur.lastrowid or 0)
        for i, text in enumerate(texts):
            await conn.execute(
                "INSERT INTO reflection_part (reflection_id, chat_id, message_id, text, created_at) VALUES (?,?,?,?,?)",
                (reflection_id, 1_000_000 + person_id, reflection_id * 10_000 + i, text, at),
            )
    return reflection_id


async def plan_digest(world: World, set_id: int, period: str = "manual") -> int:
    """Plans a weekly digest of the set, due now; gives the digest id."""
    now = world.clock.now()
    async with world.db.transaction() as conn:
        digest_id = await sharing.ensure_digest(conn, set_id, period, now, None, "", now)
        await outbox.plan_many(
            conn, [Planned("digest", 0, now, f"digest:{digest_id}", payload={"digest_id": digest_id})], now
        )
    return digest_id
