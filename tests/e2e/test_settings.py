"""Settings and pauses take effect at once: a new hour moves the planned prompts, a pause holds
them until its day (or until /resume), and the journal pages."""

from __future__ import annotations

from datetime import timedelta

from bot.sandbox.fakeapi import FakeUser
from bot.store import outbox
from tests.e2e.test_participant_loop import PROGRAMME
from tests.e2e.world import World, local

KIM = FakeUser(id=7001, first_name="Kim")


def prompt_rows(rows: list[outbox.OutboxRow]) -> list[outbox.OutboxRow]:
    return [r for r in rows if r.kind == "prompt" and r.status == "pending"]


async def test_a_new_hour_in_settings_moves_the_planned_prompts_at_once(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    await world.onboard(KIM, await world.invite("cpm-e2e", "set-a"))
    person = await world.person(KIM)
    assert {r.due_at.astimezone(local("2027-03-24T00:00").tzinfo).hour for r in prompt_rows(await outbox.for_person(world.db, person.id))} == {9}
    await world.say(KIM, "/settings")
    panel = await world.expect(KIM, "Your settings")
    await world.press(KIM, panel, "st:hour")
    step = await world.expect(KIM, "At what time of day", count=2)
    await world.press(KIM, step, "ob:hour:17")
    await world.expect(KIM, "Saved.")
    rows = prompt_rows(await outbox.for_person(world.db, person.id))
    assert rows and {r.due_at.astimezone(local("2027-03-24T00:00").tzinfo).hour for r in rows} == {17}
    world.clock.set(local("2027-03-25T09:30"))
    await world.settle()
    assert not any("pr:later" in str(m.params.get("reply_markup")) for m in world.fake.sent(KIM.id))
    world.clock.set(local("2027-03-25T17:00"))
    await world.expect(KIM, lambda m: "pr:later" in str(m.params.get("reply_markup")))


async def test_a_pause_holds_prompts_until_its_day_and_resume_brings_them_back(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    await world.onboard(KIM, await world.invite("cpm-e2e", "set-a"))
    await world.say(KIM, "/pause until 2027-03-29")
    await world.expect(KIM, "No prompts until <b>29 Mar 2027</b>")
    await world.say(KIM, "/settings")
    await world.expect(KIM, "Paused until: 29 Mar 2027")  # the same date style as the pause reply, not 2027-03-29
    for day in ("2027-03-25", "2027-03-26"):
        world.clock.set(local(f"{day}T09:30"))
        await world.settle()
    assert not any("pr:later" in str(m.params.get("reply_markup")) for m in world.fake.sent(KIM.id))
    # The pause held the module's start pulse too: it comes on the first day after the pause, as that
    # day's one question (bot.jobs.daily), instead of the prompt. Once the planner has planned it, that
    # is certain (before, whether the prompt went first depended on how fast the planner ran).
    await world.scalar_becomes("SELECT count(*) FROM outbox WHERE kind = 'pulse' AND dedupe_key LIKE '%:start'", (), 1)
    world.clock.set(local("2027-03-29T09:00"))
    await world.expect(KIM, "start of The Person")
    person = await world.person(KIM)
    assert person is not None
    first_day = next(r for r in await outbox.for_person(world.db, person.id) if r.dedupe_key.endswith(":2027-03-29"))
    await world.scalar_becomes("SELECT last_error FROM outbox WHERE id = ?", (first_day.id,), "daily budget")

    await world.say(KIM, "/pause")
    await world.expect(KIM, "No prompts until you send /resume")
    world.clock.set(local("2027-03-30T09:30"))
    await world.settle()
    assert not any("pr:later" in str(m.params.get("reply_markup")) for m in world.fake.sent(KIM.id))
    await world.say(KIM, "/resume")
    await world.expect(KIM, "prompts come again at your usual time")
    world.clock.set(local("2027-03-31T09:00"))
    await world.expect(KIM, lambda m: "pr:later" in str(m.params.get("reply_markup")))
    await world.say(KIM, "/resume")
    await world.expect(KIM, "You're not paused")


async def test_the_journal_pages_back_through_older_reflections(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    await world.onboard(KIM, await world.invite("cpm-e2e", "set-a"))
    for number in range(7):
        world.clock.advance(timedelta(minutes=20))
        await world.say(KIM, f"Reflection number {number}")
        await world.expect(KIM, "Kept in your journal", count=number + 1)
    await world.say(KIM, "/journal")
    page = await world.expect(KIM, "page 1 of 2")
    assert "Reflection number 6" in page.text and "Reflection number 1" not in page.text
    await world.press(KIM, page, next(d for label, d in page.buttons() if label.startswith("Older")))
    await world.until(lambda: "page 2 of 2" in (page.text or ""))
    assert "Reflection number 0" in page.text
