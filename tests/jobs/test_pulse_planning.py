"""Planning the pulse and the story: two pulses and a story per module, planned once, a week ahead,
following the person's settings while they are still to come."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.programme import parse_programme
from bot.jobs.pulse import plan_journey
from bot.store import people, programmes
from bot.store.db import Database
from tests.factories import learning_set, module, programme

AMS = ZoneInfo("Europe/Amsterdam")
PROGRAMME = programme(
    key="p",
    title="P",
    modules=[module("m1", "One", "2027-03-29", "2027-04-02"), module("m2", "Two", "2027-04-26", "2027-04-30")],
    sets=[learning_set("a", "Set A")],
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=AMS)


async def participant(db: Database, now: datetime) -> int:
    loaded = await programmes.save_programme(db, parse_programme(PROGRAMME), PROGRAMME, now)
    invite = await people.create_invite(db, loaded.programme_id, None, "participant", 1, at("2028-01-01T00:00"), now)
    _, person, _ = await people.redeem_invite(db, invite.code, 42, 42, "Anna", "en", "Europe/Amsterdam", now)
    assert person is not None
    await people.update_person(db, person.id, now, status="active", onboarding_step=None)
    return person.id


async def journey_rows(db: Database) -> list[tuple[str, datetime]]:
    rows = await db.fetchall("SELECT dedupe_key, due_at FROM outbox WHERE kind IN ('pulse', 'story') ORDER BY due_at")
    return [(r[0].split(":", 3)[3], datetime.fromisoformat(r[1]).astimezone(AMS)) for r in rows]


async def test_a_week_ahead_the_modules_pulses_and_story_are_planned_once(db: Database) -> None:
    await participant(db, at("2027-03-24T10:00"))
    assert await plan_journey(db, at("2027-03-24T10:00")) == 1  # m1's start; its end and story are further ahead
    assert await plan_journey(db, at("2027-03-24T11:00")) == 0
    assert await plan_journey(db, at("2027-03-27T10:00")) == 2
    assert await journey_rows(db) == [
        ("m1:start", at("2027-03-29T09:00")), ("m1:end", at("2027-04-02T09:00")), ("m1", at("2027-04-02T20:00")),
    ]


async def test_a_change_of_hour_or_a_pause_moves_what_is_still_to_come(db: Database) -> None:
    now = at("2027-03-27T10:00")
    person_id = await participant(db, now)
    assert await plan_journey(db, now) == 3
    await people.update_person(db, person_id, now, nudge_hour=8, paused_until=at("2027-03-31T00:00"))
    assert await plan_journey(db, at("2027-03-27T11:00")) == 2
    assert await journey_rows(db) == [
        ("m1:start", at("2027-03-31T08:00")), ("m1:end", at("2027-04-02T08:00")), ("m1", at("2027-04-02T20:00")),
    ]
