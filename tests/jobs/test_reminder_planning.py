"""Calendar reminders are worked out once per programme, set and time zone, not once per person, and
the hourly run offers SQLite only what is not planned yet: on a seeded population the rows are exactly
those of the person-by-person planning, and a second run writes nothing and commits nothing."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.domain import plans
from bot.domain.nudges import residential_days
from bot.jobs import reminders
from bot.store import outbox, people, programmes
from bot.store.db import Database, open_database
from tests.jobs.test_planner_rows import FIRST, rows, seed


async def plan_person_by_person(db: Database, now: object) -> int:
    """The reminder planning as it was: each participant's calendar worked out for that person alone."""
    items = []
    for participant in await people.participants_to_remind(db, None):
        stored = await programmes.get_programme_by_id(db, participant.programme_id)
        assert stored is not None
        quiet = residential_days(stored.programme)
        for reminder in reminders.reminders_for(stored.programme, participant.set_key):
            due = reminders.reminder_time(reminder, stored.programme.zone, ZoneInfo(participant.person.timezone), quiet)
            if now <= due < now + reminders.HORIZON and due < reminder.event.starts:  # type: ignore[operator]
                items.append(plans.reminder(participant.person, due, participant.programme_id, reminder.key(),
                                            reminder.kind, reminder.event.kind, reminder.event.starts,
                                            participant.set_key))
    async with db.transaction() as conn:
        await outbox.plan_many(conn, items, now)  # type: ignore[arg-type]
    return len(items)


async def test_the_reminder_rows_are_those_the_person_by_person_planning_wrote(tmp_path: Path) -> None:
    seeded = tmp_path / "seeded.db"
    db = await open_database(seeded)
    await seed(db)
    await db.close()
    shutil.copy(seeded, tmp_path / "reference.db")
    for name, plan in (("seeded.db", reminders.plan_reminders), ("reference.db", plan_person_by_person)):
        db = await open_database(tmp_path / name)
        assert await plan(db, FIRST - timedelta(days=3)) > 100
        await plan(db, FIRST)
        if name == "seeded.db":
            before = db.commits, len(rows(seeded))
            assert await plan(db, FIRST) > 100  # the hourly run: all wanted, all planned already
            assert (db.commits, len(rows(seeded))) == before
        await db.close()
    planned = rows(seeded)
    assert {r[1] for r in planned} == {"reminder"}
    assert planned == rows(tmp_path / "reference.db")
