"""One message a day: a pitstop that is also the set's meeting is one reminder, and the day's
reminders travel with the day's prompt instead of piling up beside it (the daily budget)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.jobs.planner import plan_everyone
from bot.jobs.reminders import plan_reminders
from bot.jobs.sets import plan_sets
from bot.sandbox.fakeapi import FakeUser, SentMessage
from bot.store.outbox import ts
from tests.e2e.world import World, local
from tests.factories import Event, event, learning_set, meeting, module, programme


def pitstop_programme(pitstop_at: str, *before: Event, residential_prompt: str | None = None) -> str:
    """Gives the Dutch programme "pit": one module whose "Pitstop 2" (after these events) is also the set's meeting."""
    return programme(
        key="pit",
        title="Pitstop",
        language="nl",
        residential_prompt=residential_prompt,
        modules=[module("m1", "Verbinden", events=[*before, event("pitstop", pitstop_at, title="Pitstop 2")])],
        sets=[learning_set("set-a", "Leergroep 1", [meeting(pitstop_at, place="Scheveningen")])],
    )


PROGRAMME = pitstop_programme("2027-04-06T13:00:00")

SANNE = FakeUser(id=8101, first_name="Sanne", language_code="nl")  # prompts at 08:00, before the reminders
TOM = FakeUser(id=8102, first_name="Tom")  # prompts at 09:00, after them


def is_prompt(m: SentMessage) -> bool:
    return "pr:" in json.dumps(m.params.get("reply_markup") or {})


async def drained(world: World) -> None:
    """Waits until nothing due is left waiting or in flight."""
    await world.scalar_becomes(
        "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending') AND due_at <= ?", (ts(world.clock.now()),), 0
    )



@pytest.fixture(autouse=True)
def planner_by_hand(world: World) -> None:
    """These tests plan by hand at each moment (`at`), as the hourly planner would then; the bot's own
    planner, which the e2e settings run every 0.3 s, would plan at whatever moment the clock is passing."""
    world.settings = replace(world.settings, plan_interval=3600.0)

async def at(world: World, moment: str) -> None:
    """Plans as the hourly planner would at a moment, then moves the clock there and waits until what is
    due went. (Planning first: the running dispatcher must find everything due at once, as it does when
    the planner ran an hour or a week before, not a prompt planned before its day's reminder is.)"""
    now = local(moment)
    await plan_everyone(world.db, now)
    await plan_sets(world.db, now)
    await plan_reminders(world.db, now)
    world.clock.set(now)
    await drained(world)


def on_day(world: World, user: FakeUser, day: str) -> list[SentMessage]:
    """Gives the bot-initiated messages of a day (digests are outside the daily budget)."""
    start, end = local(f"{day}T00:00").timestamp(), local(f"{day}T23:59").timestamp()
    return [m for m in world.fake.sent(user.id) if start <= m.date <= end and " — digest" not in (m.text or "")]


async def setup(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    await world.onboard(SANNE, await world.invite("pit", "set-a"), language="nl", hour=8)
    await world.onboard(TOM, await world.invite("pit", "set-a"), hour=9)
    await plan_reminders(world.db, world.clock.now())


async def test_a_pitstop_that_is_the_sets_meeting_gives_one_message_on_the_day_before(world: World) -> None:
    await setup(world)
    for moment in ("2027-03-30T08:00", "2027-03-30T08:30", "2027-03-30T09:00", "2027-03-30T09:02"):
        await at(world, moment)
    for moment in ("2027-04-03T09:00", "2027-04-04T09:00", "2027-04-05T08:00", "2027-04-05T08:30", "2027-04-05T09:00",
                   "2027-04-05T09:02", "2027-04-05T20:00"):
        await at(world, moment)
    await world.settle()

    sanne = on_day(world, SANNE, "2027-04-05")
    assert len(sanne) == 1 and is_prompt(sanne[0]), [(m.date, m.text) for m in sanne]
    text = sanne[0].text or ""
    assert text.startswith("Morgen: <b>Pitstop 2</b>, dinsdag 6 april om 13:00 in Scheveningen.")
    assert "Je leergroep komt er ook bijeen" in text and "komt morgen bijeen" not in text
    tom = on_day(world, TOM, "2027-04-05")
    assert len(tom) == 1 and is_prompt(tom[0])
    assert (tom[0].text or "").startswith("Tomorrow: <b>Pitstop 2</b>, Tuesday 6 April at 13:00 in Scheveningen.")
    assert "Your learning set meets there too" in (tom[0].text or "")

    # A week before, the same: the "in a week" reminder rides with the prompt.
    for user in (SANNE, TOM):
        week = on_day(world, user, "2027-03-30")
        assert len(week) == 1 and is_prompt(week[0])
        assert (week[0].text or "").startswith(("Over een week: <b>Pitstop 2</b>", "In a week: <b>Pitstop 2</b>"))


async def test_a_reminder_on_a_day_without_a_prompt_comes_alone_and_once(world: World) -> None:
    await setup(world)
    # Tom wants no prompts on Mondays: the day-before reminder comes by itself at 08:30.
    await world.say(TOM, "/settings")
    settings = await world.expect(TOM, lambda m: any(d == "st:days" for _, d in m.buttons()))
    await world.press(TOM, settings, "st:days")
    days = await world.expect(TOM, lambda m: any(d == "ob:day:0" for _, d in m.buttons()))
    await world.press(TOM, days, "ob:day:0")
    await world.press(TOM, days, "ob:days:ok")
    await world.expect(TOM, "Saved", count=1)
    for moment in ("2027-04-03T09:00", "2027-04-04T09:00", "2027-04-05T08:00", "2027-04-05T08:30", "2027-04-05T09:00",
                   "2027-04-05T20:00"):
        await at(world, moment)
    await world.settle()
    tom = on_day(world, TOM, "2027-04-05")
    assert len(tom) == 1 and not is_prompt(tom[0])
    assert (tom[0].text or "").startswith("Tomorrow: <b>Pitstop 2</b>")


# A residential week, and the pitstop (the set's meeting) the day after it.
IN_THE_HAGUE = event("residential", "2027-04-12", "2027-04-14", place="Den Haag")
RESIDENTIAL = pitstop_programme("2027-04-15T13:00:00", IN_THE_HAGUE)


async def test_in_a_residential_week_one_prompt_comes_at_the_end_of_the_day(world: World) -> None:
    await world.load(RESIDENTIAL)
    await world.start()
    await world.onboard(TOM, await world.invite("pit", "set-a"), hour=9)
    for moment in ("2027-04-12T08:30", "2027-04-12T09:00", "2027-04-12T19:30", "2027-04-12T20:00",
                   "2027-04-14T09:00", "2027-04-14T19:30", "2027-04-14T20:00", "2027-04-14T20:01"):
        await at(world, moment)
    await world.settle()
    # Monday's one message, at 20:00, is the case round for Thursday's meeting; Tuesday's is the prompt.
    monday = on_day(world, TOM, "2027-04-12")
    assert len(monday) == 1 and "Will you bring a case" in (monday[0].text or "")
    assert monday[0].date == int(local("2027-04-12T20:00").timestamp())
    # The last evening of the week also tells of tomorrow's pitstop, in the same message.
    wednesday = on_day(world, TOM, "2027-04-14")
    assert len(wednesday) == 1 and is_prompt(wednesday[0])
    assert (wednesday[0].text or "").startswith("Tomorrow: <b>Pitstop 2</b>")


async def test_a_programme_that_wants_quiet_sends_no_prompt_in_its_residential_week(world: World) -> None:
    await world.load(pitstop_programme("2027-04-15T13:00:00", IN_THE_HAGUE, residential_prompt="none"))
    await world.start()
    await world.onboard(TOM, await world.invite("pit", "set-a"), hour=9)
    for moment in ("2027-04-12T09:00", "2027-04-12T20:00", "2027-04-13T09:00", "2027-04-13T20:00"):
        await at(world, moment)
    await world.settle()
    # Only the case round for Thursday's meeting, and that at the end of the day.
    monday = on_day(world, TOM, "2027-04-12")
    assert len(monday) == 1 and "Will you bring a case" in (monday[0].text or "")
    assert monday[0].date == int(local("2027-04-12T20:00").timestamp())
    assert on_day(world, TOM, "2027-04-13") == []
