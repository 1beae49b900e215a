"""One message a day: a pitstop that is also the set's meeting is one reminder, and the day's
reminders travel with the day's prompt instead of piling up beside it (the daily budget)."""

from __future__ import annotations

import json

from bot.fakeapi import FakeUser, SentMessage
from bot.jobs.planner import plan_everyone
from bot.jobs.reminders import plan_reminders
from bot.jobs.sets import plan_sets
from bot.store.outbox import ts
from tests.e2e.world import World, local

PROGRAMME = """
[programme]
key = "pit"
title = "Pitstop"
language = "nl"
timezone = "Europe/Amsterdam"

[[modules]]
key = "m1"
title = "Verbinden"
starts = 2027-03-01
ends = 2027-05-30

[[modules.events]]
kind = "pitstop"
title = "Pitstop 2"
starts = 2027-04-06T13:00:00

[[sets]]
key = "set-a"
name = "Leergroep 1"

[[sets.meetings]]
at = 2027-04-06T13:00:00
place = "Scheveningen"
"""

SANNE = FakeUser(id=8101, first_name="Sanne", language_code="nl")  # prompts at 08:00, before the reminders
TOM = FakeUser(id=8102, first_name="Tom")  # prompts at 09:00, after them


def is_prompt(m: SentMessage) -> bool:
    return "pr:" in json.dumps(m.params.get("reply_markup") or {})


async def drained(world: World) -> None:
    """Waits until nothing due is left waiting or in flight."""
    await world.scalar_becomes(
        "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending') AND due_at <= ?", (ts(world.clock.now()),), 0
    )


async def at(world: World, moment: str) -> None:
    """Moves the clock, plans as the hourly planner would at that moment, and waits until what is due went."""
    world.clock.set(local(moment))
    now = world.clock.now()
    await plan_everyone(world.db, now)
    await plan_sets(world.db, now)
    await plan_reminders(world.db, now)
    await drained(world)


def on_day(world: World, user: FakeUser, day: str) -> list[SentMessage]:
    start, end = local(f"{day}T00:00").timestamp(), local(f"{day}T23:59").timestamp()
    return [m for m in world.fake.sent(user.id) if start <= m.date <= end]


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
