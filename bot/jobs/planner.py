"""The planner: keeps each participant's next week of nudges in the outbox.

A nudge row is keyed by person and local day, so planning again never adds a second prompt for
a day; a change of settings replaces the pending ones at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain import plans
from bot.domain.nudges import NudgeSettings, follow_up_time, nudge_times, residential_days
from bot.domain.plans import Planned
from bot.domain.programme import Programme
from bot.domain.quiet import on_rhythm
from bot.store import outbox, people, programmes
from bot.store.db import Database

HORIZON = timedelta(days=7)
BATCH = 1000


def nudge_settings(person: people.Person | people.Rhythm, programme: Programme | None = None) -> NudgeSettings:
    """Gives the domain's view of a person's nudge settings (with the programme's residential days, if given)."""
    return NudgeSettings(
        zone=ZoneInfo(person.timezone),
        hour=person.nudge_hour,
        minute=person.nudge_minute,
        weekdays=frozenset(person.nudge_days),
        paused_until=person.paused_until,
        quiet_days=residential_days(programme) if programme is not None else frozenset(),
        quiet_evening=programme is None or programme.residential_prompt == "evening",
    )


def _wanted(
    person: people.Person, last_day: date | None, start: datetime, end: datetime, programme: Programme | None = None
) -> list[Planned]:
    times = nudge_times(nudge_settings(person, programme), start, end) if start < end else []
    zone = ZoneInfo(person.timezone)
    days = frozenset(person.nudge_days)
    return [
        plans.prompt(person, t, zone)
        for t in times
        if (last_day is None or t.astimezone(zone).date() <= last_day)
        and on_rhythm(t.astimezone(zone).date(), days, person.prompt_every)  # fewer prompts, when chosen
    ]


async def _programmes_of(db: Database) -> dict[int, tuple[date, Programme]]:
    """Gives each participant's programme (the latest joined) and its last day."""
    found = {}
    for stored in await programmes.list_programmes(db):
        if stored.programme.modules:
            found[stored.id] = (max(m.ends for m in stored.programme.modules), stored.programme)
    return {person_id: found[programme_id] for person_id, programme_id in await people.participations(db)
            if programme_id in found}


async def replan_person(db: Database, person_id: int, now: datetime) -> int:
    """Replaces a person's pending daily prompts after a change of settings; gives how many are planned."""
    person = await people.get_person(db, person_id)
    async with db.transaction() as conn:
        await outbox.drop_pending_daily_prompts(conn, person_id)
        if person is None or person.status != "active":
            return 0
        membership = await people.participation(db, person.id)
        if membership is None:
            return 0
        of = await _programmes_of(db)
        if person.id not in of:
            return 0
        wanted = _wanted(person, of[person.id][0], now, now + HORIZON, of[person.id][1])
        await outbox.plan_many(conn, wanted, now)
    return len(wanted)


async def plan_everyone(db: Database, now: datetime) -> int:
    """Adds the missing daily prompts of the next week for every active participant; gives how many people.

    Works in batches of BATCH people, each its own transaction, so that journal writes and
    deliveries are not kept waiting behind one long write; and starts each person after the last
    prompt already planned, so that the hourly run does little when little is new.

    The nudge times depend on a person's settings, not on the person: they are worked out once for
    each distinct setting (zone, hour, days, pause, rhythm, programme, where planning starts) in a batch, and
    each person with that setting gets them under their own keys (`plans.prompts_at`).
    """
    of = await _programmes_of(db)
    ends = {person_id: end for person_id, (end, _) in of.items()}
    planned_until = await outbox.daily_prompts_planned_until(db, now)
    ids = [person_id for person_id in await people.active_ids(db) if person_id in ends]
    quiet: dict[int, frozenset[date]] = {}  # residential days, once per programme
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        moments: dict[tuple[object, ...], list[tuple[datetime, str]]] = {}
        async with db.transaction() as conn:
            # Read the people inside the transaction: someone blocked or erased meanwhile is not planned.
            batch = await people.active_rhythms_among(conn, chunk)
            items = []
            for person in batch:
                since = max(now, planned_until.get(person.id, now) + timedelta(seconds=1))
                last_day, programme = of[person.id]
                setting = (person.timezone, person.nudge_hour, person.nudge_minute, person.nudge_days,
                           person.paused_until, person.prompt_every, id(programme), last_day, since)
                if setting not in moments:
                    if id(programme) not in quiet:
                        quiet[id(programme)] = residential_days(programme)
                    moments[setting] = _moments(person, last_day, since, now + HORIZON, programme, quiet[id(programme)])
                items += plans.prompts_at(person, moments[setting])
            await outbox.plan_for_active(conn, items, now, engine=db.engine)
        await asyncio.sleep(0)  # let waiting handlers take their turn between batches
    return len(ids)


def _moments(
    person: people.Rhythm, last_day: date | None, start: datetime, end: datetime, programme: Programme,
    quiet_days: frozenset[date],
) -> list[tuple[datetime, str]]:
    """Gives the moments of `_wanted` with each one's local day (ISO), for everyone with this person's settings."""
    settings = replace(nudge_settings(person), quiet_days=quiet_days, quiet_evening=programme.residential_prompt == "evening")
    zone = settings.zone
    days = frozenset(person.nudge_days)
    found = []
    for moment in nudge_times(settings, start, end) if start < end else []:
        day = moment.astimezone(zone).date()
        if (last_day is None or day <= last_day) and on_rhythm(day, days, person.prompt_every):
            found.append((moment, day.isoformat()))
    return found


async def plan_follow_up(
    db: Database, person: people.Person, reflection_id: int, written_at: datetime, next_meeting: datetime | None
) -> None:
    """Plans the question about what came of an intention (once per intention; not in a residential week)."""
    membership = await people.participation(db, person.id)
    stored = await programmes.get_programme_by_id(db, membership.programme_id) if membership else None
    due = follow_up_time(nudge_settings(person, stored.programme if stored else None), written_at, next_meeting)
    await outbox.plan(db, [plans.follow_up(person, due, reflection_id)], written_at)
