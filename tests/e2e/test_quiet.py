"""Quiet participants end to end: someone who answered nothing for the programme's quiet_after_days gets
one friendly check-in, at their prompt hour, instead of that day's prompt; their choice (weekly, pause,
still here) re-plans at once; a forged press changes nothing; /stats counts the quiet per set."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from bot.jobs.planner import plan_everyone
from bot.jobs.quiet import plan_checkins
from bot.sandbox.fakeapi import FakeUser, SentMessage
from bot.store.outbox import ts
from tests.e2e.world import AMS, World, local
from tests.factories import learning_set, module, programme

PROGRAMME = programme(key="quiet", modules=[module("m1", "One", "2027-03-01", "2027-07-30")],
                      sets=[learning_set("set-a", "Set A")])
SHORT = programme(key="quiet10", modules=[module("m1", "One", "2027-03-01", "2027-07-30")], quiet_after_days=10)

ANNA = FakeUser(id=7101, first_name="Anna")
BOB = FakeUser(id=7102, first_name="Bob")
CEM = FakeUser(id=7103, first_name="Cem")
DAN = FakeUser(id=7104, first_name="Dan")
EVA = FakeUser(id=7105, first_name="Eva")
FIONA = FakeUser(id=7109, first_name="Fiona")


CHECKIN_OPENINGS = ("it has been quiet for a while", "het is een tijdje stil")


def is_checkin(m: SentMessage) -> bool:
    """Gives whether a message is the check-in (its buttons go once a choice is made; its words stay)."""
    return any(d.startswith("ci:") for _, d in m.buttons()) or any(o in (m.text or "") for o in CHECKIN_OPENINGS)


def checkins(world: World, user: FakeUser) -> list[SentMessage]:
    return [m for m in world.fake.sent(user.id) if is_checkin(m)]



@pytest.fixture(autouse=True)
def planner_by_hand(world: World) -> None:
    """These tests plan by hand at each moment (`at`), as the hourly planner would then; the bot's own
    planner, which the e2e settings run every 0.3 s, would plan at whatever moment the clock is passing."""
    world.settings = replace(world.settings, plan_interval=3600.0)

async def at(world: World, moment: str) -> None:
    """Plans as the hourly planner would at a moment, then moves the clock there and waits until what is
    due went (planning first, so that the running dispatcher finds a check-in and the prompt it stands in
    for due together, as it does when the planner ran before)."""
    now = local(moment)
    await plan_everyone(world.db, now)
    await plan_checkins(world.db, now)
    world.clock.set(now)
    await world.scalar_becomes(
        "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending') AND due_at <= ?", (ts(now),), 0
    )


async def pending_prompt_days(world: World, user: FakeUser) -> list[str]:
    person = await world.person(user)
    assert person is not None
    rows = await world.db.fetchall(
        "SELECT dedupe_key FROM outbox WHERE person_id = ? AND kind = 'prompt' AND status = 'pending' ORDER BY due_at",
        (person.id,),
    )
    return [r[0].rsplit(":", 1)[1] for r in rows]


async def test_a_participant_quiet_for_21_days_is_asked_once_and_chooses_weekly(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    await world.onboard(ANNA, await world.invite("quiet", "set-a"))  # Wednesday 24 March, 10:00; never answers

    await at(world, "2027-04-13T09:00")  # 20 days: not yet
    await at(world, "2027-04-14T12:00")  # 21 days: planned for her next prompt moment, Thursday 09:00
    assert not checkins(world, ANNA)
    await at(world, "2027-04-15T09:00")
    await world.settle()
    sent = checkins(world, ANNA)
    assert len(sent) == 1
    assert sent[0].text is not None and sent[0].text.startswith("Hi Anna, it has been quiet for a while")
    assert "21" not in sent[0].text and "days" not in sent[0].text  # no count of what she missed
    # It went instead of the day's prompt: one message that day.
    day = [m for m in world.fake.sent(ANNA.id) if local("2027-04-15T00:00").timestamp() <= m.date]
    assert len(day) == 1

    # She chooses once a week: the pending prompts are planned anew at once, Mondays only.
    await world.press(ANNA, sent[0], next(d for _, d in sent[0].buttons() if d.endswith(":e7")))
    await world.expect(ANNA, "from now on one prompt a week")
    person = await world.person(ANNA)
    assert person is not None and person.prompt_every == 7
    assert await pending_prompt_days(world, ANNA) == ["2027-04-19"]

    # Three weeks on, still quiet: no second check-in, and the prompts come on Mondays only.
    moment = local("2027-04-16T09:00")
    while moment < local("2027-05-07T09:00"):
        await at(world, moment.strftime("%Y-%m-%dT%H:%M"))
        moment += timedelta(days=1)
    await world.settle()
    assert len(checkins(world, ANNA)) == 1
    prompts = [m for m in world.fake.sent(ANNA.id)
               if any(d.startswith("pr:") for _, d in m.buttons()) and m.date >= local("2027-04-16T00:00").timestamp()]
    assert len(prompts) == 3
    assert all(datetime.fromtimestamp(m.date, AMS).weekday() == 0 for m in prompts)

    # /settings shows the rhythm, and changes it back to daily.
    await world.say(ANNA, "/settings")
    shown = await world.expect(ANNA, "Rhythm: one prompt a week")
    assert ("✓ Weekly", "rh:7") in shown.buttons()
    await world.press(ANNA, shown, "rh:1")
    await world.expect(ANNA, "Rhythm: a prompt every day")
    assert len(await pending_prompt_days(world, ANNA)) >= 4  # every weekday of the coming week again


async def test_still_here_and_pause_and_a_forged_press(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    await world.onboard(BOB, await world.invite("quiet", "set-a"))
    await world.onboard(CEM, await world.invite("quiet", "set-a"), language="nl")
    await world.onboard(DAN, await world.invite("quiet", "set-a"))
    world.clock.set(local("2027-04-10T12:00"))
    await world.say(DAN, "A reflection of mine")  # Dan answered five days ago: not quiet
    await world.expect(DAN, "Kept in your journal")
    await world.settle()
    await at(world, "2027-04-14T10:00")
    await at(world, "2027-04-15T09:00")
    await world.settle()
    bob, cem = checkins(world, BOB), checkins(world, CEM)
    assert len(bob) == 1 and len(cem) == 1
    assert cem[0].text is not None and cem[0].text.startswith("Hoi Cem, het is een tijdje stil")
    assert not checkins(world, DAN)

    # Dan forges Bob's pause, and a button the bot never wrote: a plain sentence, nothing changes.
    bob_pause = next(d for _, d in bob[0].buttons() if d.endswith(":p30"))
    answer = await world.press_answered(DAN, bob[0].message_id, bob_pause)
    assert answer.get("text") == "This button no longer applies."
    answer = await world.press_answered(DAN, bob[0].message_id, "ci:abc:p14")
    assert answer.get("text") == "This button no longer applies."
    for user in (BOB, DAN):
        person = await world.person(user)
        assert person is not None and person.paused_until is None and person.prompt_every == 1

    # Bob is still here: nothing else changes.
    await world.press(BOB, bob[0], next(d for _, d in bob[0].buttons() if d.endswith(":here")))
    await world.expect(BOB, "Good to hear, Bob.")
    person = await world.person(BOB)
    assert person is not None and person.paused_until is None and person.prompt_every == 1
    assert await pending_prompt_days(world, BOB) == ["2027-04-16", "2027-04-19", "2027-04-20", "2027-04-21"]

    # Cem pauses for two weeks: no prompt planned before it ends.
    await world.press(CEM, cem[0], next(d for _, d in cem[0].buttons() if d.endswith(":p14")))
    await world.expect(CEM, "Geregeld — geen vragen tot")
    person = await world.person(CEM)
    assert person is not None and person.paused_until == local("2027-04-29T00:00")
    assert await pending_prompt_days(world, CEM) == []


async def test_a_programme_with_quiet_after_days_10_asks_after_ten_days(world: World) -> None:
    await world.load(SHORT)
    await world.start()
    await world.onboard(ANNA, await world.invite("quiet10"))  # Wednesday 24 March
    await at(world, "2027-04-02T12:00")  # nine days
    await at(world, "2027-04-03T12:00")  # ten days (a Saturday): planned for Monday
    await at(world, "2027-04-05T09:00")
    await world.settle()
    assert len(checkins(world, ANNA)) == 1


async def test_stats_show_how_many_in_each_set_are_quiet(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    for user in (ANNA, BOB, CEM, DAN, EVA):
        await world.onboard(user, await world.invite("quiet", "set-a"))
    await world.onboard(FIONA, await world.invite("quiet", role="facilitator"))
    await world.say(ANNA, "/settings")
    settings = await world.expect(ANNA, lambda m: any(d == "st:activity" for _, d in m.buttons()))
    await world.press(ANNA, settings, "st:activity")
    await world.expect(ANNA, "Show my activity to facilitators: yes")
    world.clock.set(local("2027-04-10T12:00"))
    for user in (CEM, DAN, EVA):
        await world.say(user, f"What I noticed, {user.first_name}")
        await world.expect(user, "Kept in your journal")
    await world.settle()
    world.clock.set(local("2027-04-15T12:00"))
    await world.say(FIONA, "/stats")
    report = await world.expect(FIONA, "Quiet for 21 days or more")
    text = str(report.message.get("text"))
    assert "Set A: 2 of 5 (Anna)" in text
    assert "Bob" not in text
