"""The planner plans a person's nudges only while the person is active: a block that comes while a batch
is being planned waits for that batch's commit (its rows were planned before the block), and a person
blocked or erased before their batch is read gets nothing, although the batch's inserts no longer check
each row on SQLite (the batch's transaction holds the write lock from its read to its commit)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.domain.programme import parse_programme
from bot.jobs import planner
from bot.store import outbox, people, programmes
from bot.store.db import Database
from tests.factories import module, programme

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 3, 24, 10, 0, tzinfo=AMS)
PROGRAMME = programme(key="p", modules=[module("m1", "One", "2027-03-01", "2027-06-30")])


async def participants(db: Database, count: int) -> list[int]:
    saved = await programmes.save_programme(db, parse_programme(PROGRAMME), PROGRAMME, NOW)
    ids = []
    for n in range(count):
        invite = await people.create_invite(db, saved.programme_id, None, "participant", 1, NOW.replace(year=2028), NOW)
        _, person, _ = await people.redeem_invite(db, invite.code, 100 + n, 100 + n, f"P{n}", "en", "Europe/Amsterdam", NOW)
        assert person is not None
        await people.update_person(db, person.id, NOW, status="active", onboarding_step=None)
        ids.append(person.id)
    return ids


async def planned_people(db: Database) -> set[int]:
    return {r[0] for r in await db.fetchall("SELECT DISTINCT person_id FROM outbox WHERE kind = 'prompt'")}


async def test_a_block_or_erasure_while_a_batch_is_planned_never_leaves_rows_planned_after_it(
    db: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(planner, "BATCH", 2)
    first, second, third, fourth = await participants(db, 4)
    meanwhile: list[asyncio.Task[Any]] = []
    real = outbox.plan_for_active

    async def planning_while_others_write(conn: Any, items: Any, now: datetime, *, engine: str) -> None:
        if not meanwhile:  # inside the first batch's transaction, which has read `first` and `second`
            meanwhile.append(asyncio.create_task(people.update_person(db, first, NOW, status="blocked")))
            meanwhile.append(asyncio.create_task(people.update_person(db, third, NOW, status="blocked")))
            meanwhile.append(asyncio.create_task(people.erase_person(db, fourth)))
            await asyncio.sleep(0.01)
            assert not any(task.done() for task in meanwhile)  # they wait for this batch's commit
        await real(conn, items, now, engine=engine)

    monkeypatch.setattr(outbox, "plan_for_active", planning_while_others_write)
    assert await planner.plan_everyone(db, NOW) == 4
    await asyncio.gather(*meanwhile)
    # `first` was planned before its block took effect; `third` and `fourth` were read after theirs.
    assert await planned_people(db) == {first, second}
    assert await db.scalar("SELECT count(*) FROM outbox WHERE person_id = ?", (second,)) > 0
