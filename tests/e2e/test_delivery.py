"""Delivery through the outbox: a restart loses and doubles nothing, a blocked participant is left alone,
Telegram's flood control is honoured."""

from __future__ import annotations

from collections import Counter

from bot.sandbox.fakeapi import FakeUser
from bot.store import outbox
from tests.e2e.test_participant_loop import PROGRAMME
from tests.e2e.world import World, local

PEOPLE = [FakeUser(id=3000 + i, first_name=f"P{i}", language_code="en") for i in range(12)]


def prompt_counts(world: World) -> Counter[int]:
    """Gives how many prompts each chat received."""
    return Counter(
        m.chat_id for m in world.fake.sent() if m.reply_markup and "pr:later" in str(m.reply_markup)
        or (m.params.get("reply_markup") and "pr:later" in str(m.params.get("reply_markup")))
    )


async def onboard_all(world: World) -> None:
    for user in PEOPLE:
        await world.onboard(user, await world.invite("cpm-e2e", "set-a"))


async def test_a_restart_with_prompts_due_delivers_each_exactly_once(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    await onboard_all(world)
    await world.stop()

    # While the bot is down, Thursday 09:00 passes for everyone.
    world.clock.set(local("2027-03-25T09:30"))
    # A hard kill mid-send leaves rows in `sending`; simulate two of them.
    async with world.db.transaction() as conn:
        await conn.execute(
            "UPDATE outbox SET status = 'sending' WHERE id IN (SELECT id FROM outbox WHERE kind = 'prompt'"
            " AND due_at <= ? ORDER BY id LIMIT 2)", (outbox.ts(world.clock.now()),)
        )
    assert prompt_counts(world) == Counter()

    await world.start()
    for user in PEOPLE:
        await world.expect(user, lambda m: "pr:later" in str(m.params.get("reply_markup")))
    # Restart once more, then move to a moment with nothing new due: nothing is sent again.
    await world.stop()
    await world.start()
    world.clock.set(local("2027-03-25T15:00"))
    await world.settle()
    await world.stop()
    assert prompt_counts(world) == Counter({u.id: 1 for u in PEOPLE})
    assert await world.db.scalar("SELECT count(*) FROM outbox WHERE status = 'sending'") == 0


async def test_a_stop_in_the_middle_of_sending_resumes_without_doubles(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    await onboard_all(world)
    await world.stop()
    # Slow Telegram down so that the stop lands while prompts are going out.
    world.fake.latency = 0.05
    world.clock.set(local("2027-03-25T09:30"))
    await world.start()
    await world.expect(PEOPLE[0].id, lambda m: "pr:later" in str(m.params.get("reply_markup")), timeout=5)
    await world.stop()
    world.fake.latency = 0.0
    await world.start()
    for user in PEOPLE:
        await world.expect(user, lambda m: "pr:later" in str(m.params.get("reply_markup")))
    await world.stop()
    assert prompt_counts(world) == Counter({u.id: 1 for u in PEOPLE})


async def test_a_participant_who_blocked_the_bot_is_marked_and_not_retried(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    blocker, other = PEOPLE[0], PEOPLE[1]
    await world.onboard(blocker, await world.invite("cpm-e2e", "set-a"))
    await world.onboard(other, await world.invite("cpm-e2e", "set-a"))
    world.fake.block(blocker.id)
    world.clock.set(local("2027-03-25T09:00"))
    await world.expect(other, lambda m: "pr:later" in str(m.params.get("reply_markup")))
    person = await world.person(blocker)
    assert person is not None
    # The blocker's prompt may go out after the other's; the dispatcher then marks the person first and
    # their rows a moment later.
    await world.scalar_becomes("SELECT status FROM person WHERE id = ?", (person.id,), "blocked")
    await world.scalar_becomes("SELECT count(*) FROM outbox WHERE person_id = ? AND status = 'pending'", (person.id,), 0)
    await world.settle()
    statuses = Counter(r.status for r in await outbox.for_person(world.db, person.id))
    assert statuses["pending"] == 0 and statuses["blocked"] >= 1
    # The next days bring nothing for the blocker and no further attempts.
    attempts = world.fake.requests["sendMessage"]
    world.clock.set(local("2027-03-26T09:00"))
    await world.expect(other, lambda m: "pr:later" in str(m.params.get("reply_markup")), count=2)
    await world.settle()
    assert world.fake.requests["sendMessage"] == attempts + 1
    # Writing again means they unblocked the bot: they are active again and planned.
    world.fake.unblock(blocker.id)
    await world.say(blocker, "/journal")
    await world.expect(blocker, "journal is still empty")
    assert (await world.person(blocker)).status == "active"
    assert any(r.status == "pending" for r in await outbox.for_person(world.db, person.id))


async def test_flood_control_pauses_sending_and_loses_nothing(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    for user in PEOPLE[:3]:
        await world.onboard(user, await world.invite("cpm-e2e", "set-a"))
    world.fake.fail_next("sendMessage", error_code=429, description="Too Many Requests: retry after 1", retry_after=1)
    world.clock.set(local("2027-03-25T09:00"))
    for user in PEOPLE[:3]:
        await world.expect(user, lambda m: "pr:later" in str(m.params.get("reply_markup")), timeout=8)
    await world.settle()
    assert prompt_counts(world) == Counter({u.id: 1 for u in PEOPLE[:3]})
