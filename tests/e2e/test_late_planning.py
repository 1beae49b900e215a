"""What falls due while the bot is down, or is planned late, still happens while it makes sense: a
digest until its meeting begins, a case round until the digest goes; a digest whose meeting has begun
is dropped, and what it would have carried waits for the next one."""

from __future__ import annotations

from bot.jobs.sets import plan_sets
from bot.store import outbox, programmes
from tests.e2e.world import World, local
from tests.factories import learning_set, meeting, module, programme
from tests.reliability.conftest import insert_participants
from tests.reliability.sets import share


def late_programme(meeting_at: str) -> str:
    """Gives the programme "late": one module and set A, whose one meeting (at `meeting_at`) has its digest
    two days before."""
    return programme(
        key="late",
        title="Late Programme",
        modules=[module("m1", "The Person", theme="Working under pressure", capacities=["relational"])],
        sets=[learning_set("set-a", "Set A", [meeting(meeting_at, place="Utrecht")], digest_days_before=2)],
    )


async def set_up(world: World, meeting: str) -> tuple[int, list[tuple[int, int]]]:
    programme_id = await world.load(late_programme(meeting))
    learning_set = await programmes.get_set(world.db, programme_id, "set-a")
    assert learning_set is not None
    members = await insert_participants(world.db, programme_id, 60_000, 3, world.clock.now())
    async with world.db.transaction() as conn:
        await conn.execute("UPDATE membership SET learning_set_id = ?", (learning_set.id,))
    return learning_set.id, members


async def rows(world: World, kind: str) -> list[outbox.OutboxRow]:
    found = await world.db.fetchall("SELECT id FROM outbox WHERE kind = ? ORDER BY id", (kind,))
    return [r for r in [await outbox.get(world.db, f[0]) for f in found] if r is not None]


async def test_a_meeting_planned_closer_than_the_digest_days_still_gets_its_digest_before_it(world: World) -> None:
    # Wednesday 24 March 10:00; the meeting is tomorrow at 14:00, the digest would have gone Tuesday.
    await set_up(world, "2027-03-25T14:00:00")
    await plan_sets(world.db, world.clock.now())
    digests = await rows(world, "digest")
    assert len(digests) == 1 and digests[0].due_at <= world.clock.now()
    assert await rows(world, "case_round") == []  # the digest goes now: no time left to ask for cases


async def test_a_case_round_whose_time_passed_while_the_bot_was_down_is_asked_until_the_digest(world: World) -> None:
    # The meeting is on Saturday 27 March; the digest goes Thursday 25 at 09:00, the case round Wednesday 24
    # at 09:00. The bot comes back (and plans) on Wednesday at 22:00, 13 hours late.
    world.clock.set(local("2027-03-24T22:00"))
    await set_up(world, "2027-03-27T14:00:00")
    await plan_sets(world.db, world.clock.now())
    rounds = await rows(world, "case_round")
    assert len(rounds) == 3 and all(r.due_at == world.clock.now() for r in rounds)


async def test_a_digest_due_while_the_bot_was_down_is_dropped_once_its_meeting_has_begun(world: World) -> None:
    set_id, members = await set_up(world, "2027-03-27T14:00:00")
    await share(world, members[0][0], set_id, ["Shared before the meeting."])
    await plan_sets(world.db, world.clock.now())
    # The bot is down from Wednesday until Saturday 15:00, after the meeting began.
    world.clock.set(local("2027-03-27T15:00"))
    await world.start()
    await world.scalar_becomes(
        "SELECT count(*) FROM outbox WHERE kind = 'digest' AND status IN ('pending', 'sending') AND due_at <= ?",
        (outbox.ts(world.clock.now()),), 0,
    )
    await world.settle()
    assert all(world.fake.sent(chat) == [] for _, chat in members)
    digest = await world.db.fetchone("SELECT status FROM digest WHERE learning_set_id = ?", (set_id,))
    assert digest["status"] == "skipped"
    assert await world.db.scalar("SELECT digest_id FROM reflection WHERE shared_set_id = ?", (set_id,)) is None
