"""One programme whose calendar cannot be planned (loaded by an older release with a date in year
0001) never stops digests and reminders for the other programmes."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.domain.programme import parse_programme
from bot.jobs.reminders import plan_reminders
from bot.jobs.sets import plan_sets
from bot.store import programmes
from bot.store.db import Database
from tests.factories import event, learning_set, meeting, module, programme

NOW = datetime(2027, 2, 1, 7, tzinfo=UTC)


def programme_text(key: str, year: int) -> str:
    """Gives a one-module programme with a residential and a set that meets twice, all in `year`."""
    return programme(
        key=key,
        title=key,
        modules=[module("m1", "One", date(year, 1, 1), date(year, 3, 31), events=[
            event("residential", date(year, 1, 3), date(year, 2, 5)),
        ])],
        sets=[learning_set("s1", "Set 1", [meeting(datetime(year, 1, 1, 14)), meeting(datetime(year, 2, 10, 14))])],
    )


async def enrol(db: Database, source: str, telegram_id: int) -> int:
    result = await programmes.save_programme(db, parse_programme(source, stored=True), source, NOW)
    learning_set = (await programmes.list_sets(db, result.programme_id))[0]
    cur = await db.conn.execute(
        "INSERT INTO person (telegram_id, chat_id, name, status, created_at, updated_at) VALUES (?, ?, 'P', 'active', ?, ?)",
        (telegram_id, telegram_id, NOW.isoformat(), NOW.isoformat()),
    )
    await db.conn.execute(
        "INSERT INTO membership (person_id, programme_id, learning_set_id, role, joined_at) VALUES (?, ?, ?, 'participant', ?)",
        (cur.lastrowid, result.programme_id, learning_set.id, NOW.isoformat()),
    )
    await db.conn.commit()
    return result.programme_id


async def test_a_programme_dated_in_year_one_does_not_stop_planning_for_the_others(db: Database) -> None:
    await enrol(db, programme_text("aaa-broken", 1), 101)  # sorts first, so it is planned first
    await enrol(db, programme_text("zzz-good", 2027), 102)

    assert await plan_reminders(db, NOW) >= 1
    assert await plan_sets(db, NOW) == 1
    rows = await db.fetchall("SELECT kind, chat_id FROM outbox ORDER BY id")
    assert {(r[0], r[1]) for r in rows if r[0] == "reminder"} == {("reminder", 102)}
    assert any(r[0] == "digest" for r in rows)
