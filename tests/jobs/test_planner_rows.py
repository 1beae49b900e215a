"""The planner works nudge times out once per distinct setting, not once per person: on a seeded population
(zones with half- and quarter-hour offsets, a daylight-saving change inside the week, pauses, chosen
days, residential weeks with an evening prompt or none, a programme ending within the week, people
not active) the rows it writes are exactly those the person-by-person planning wrote, ids included."""

from __future__ import annotations

import random
import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.domain import plans
from bot.domain.nudges import nudge_times
from bot.domain.programme import parse_programme
from bot.domain.quiet import on_rhythm
from bot.jobs import planner
from bot.store import outbox, people, programmes
from bot.store.db import Database, open_database
from tests.factories import event, module, programme

AMS = ZoneInfo("Europe/Amsterdam")
ZONES = ["Europe/Amsterdam", "America/New_York", "Asia/Kolkata", "Pacific/Chatham", "Europe/London", "UTC",
         "Australia/Lord_Howe", "America/St_Johns"]
FIRST = datetime(2027, 3, 22, 10, 0, tzinfo=AMS)  # the week holds the EU change to summer time (28 March)
SECOND = FIRST + timedelta(days=3, hours=5)


async def plan_person_by_person(db: Database, now: datetime) -> None:
    """The planning as it was: every person's settings and nudge times worked out for that person alone."""
    of = await planner._programmes_of(db)
    planned_until = await outbox.daily_prompts_planned_until(db, now)
    ids = [person_id for person_id in await people.active_ids(db) if person_id in of]
    for start in range(0, len(ids), planner.BATCH):
        async with db.transaction() as conn:
            items = []
            chunk = ids[start : start + planner.BATCH]
            marks = ",".join("?" for _ in chunk)
            for row in await conn.execute_fetchall(f"SELECT * FROM person WHERE status = 'active' AND id IN ({marks})", chunk):
                person = people.person_of(row)
                since = max(now, planned_until.get(person.id, now) + timedelta(seconds=1))
                last_day, stored = of[person.id]
                end = now + planner.HORIZON
                zone = ZoneInfo(person.timezone)
                times = nudge_times(planner.nudge_settings(person, stored), since, end) if since < end else []
                days = frozenset(person.nudge_days)
                items += [plans.prompt(person, t, zone) for t in times if t.astimezone(zone).date() <= last_day
                          and on_rhythm(t.astimezone(zone).date(), days, person.prompt_every)]
            await outbox.plan_many(conn, items, now)


async def seed(db: Database) -> None:
    """Two programmes (one quiet in its residential week, one ending within the week) and 600 people."""
    evening = programme(key="evening", modules=[module("m1", "One", "2027-03-01", "2027-06-30", events=[
        event("residential", "2027-03-24", "2027-03-26", place="Brussels")])])
    ending = programme(key="ending", residential_prompt="none", modules=[module("m1", "One", "2027-03-01", "2027-03-26",
                       events=[event("residential", "2027-03-23", "2027-03-24", place="Kaunas")])])
    ids = []
    for source in (evening, ending):
        ids.append((await programmes.save_programme(db, parse_programme(source), source, FIRST)).programme_id)
    rng = random.Random(15)
    stamp = FIRST.isoformat()
    async with db.transaction() as conn:
        for n in range(600):
            status = rng.choices(["active", "blocked", "onboarding"], [8, 1, 1])[0]
            days = ",".join(str(d) for d in sorted(rng.sample(range(7), rng.randint(0, 7))))
            paused = rng.choice([None, None, None, (FIRST + timedelta(days=rng.randint(-2, 9), hours=rng.randint(0, 23)))])
            cur = await conn.execute(
                "INSERT INTO person (telegram_id, chat_id, name, timezone, nudge_hour, nudge_minute, nudge_days,"
                " paused_until, status, created_at, updated_at, prompt_every) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (1000 + n, 1000 + n, f"P{n}", rng.choice(ZONES), rng.randint(0, 23), rng.choice([0, 15, 30, 45, 59]),
                 days, outbox.ts(paused) if paused else None, status, stamp, stamp, rng.choice([1, 1, 2, 7])),
            )
            if rng.random() < 0.95:
                await conn.execute(
                    "INSERT INTO membership (person_id, programme_id, role, joined_at) VALUES (?,?,'participant',?)",
                    (cur.lastrowid, rng.choice(ids), stamp),
                )


def rows(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT * FROM outbox ORDER BY id").fetchall()
    finally:
        conn.close()


async def test_the_planned_rows_are_those_the_person_by_person_planning_wrote(tmp_path: Path) -> None:
    seeded = tmp_path / "seeded.db"
    db = await open_database(seeded)
    await seed(db)
    await db.close()
    shutil.copy(seeded, tmp_path / "reference.db")
    for name, plan in (("seeded.db", planner.plan_everyone), ("reference.db", plan_person_by_person)):
        db = await open_database(tmp_path / name)
        await plan(db, FIRST)
        await plan(db, SECOND)  # starts each person after what the first run planned
        await db.close()
    planned = rows(seeded)
    assert len(planned) > 800 and {r[1] for r in planned} == {"prompt"}
    assert planned == rows(tmp_path / "reference.db")
