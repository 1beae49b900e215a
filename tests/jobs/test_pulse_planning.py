"""Planning the pulse and the story: two pulses and a story per module, planned once, a week ahead,
following the person's settings while they are still to come; on a module's first day the start pulse
wins the day's one slot over the prompt, also when the hourly planning had not planned it yet, and a
follow-up that loses its day to it comes the next day."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain import plans
from bot.domain.programme import parse_programme
from bot.jobs.compose import compose
from bot.jobs.composed import Composed
from bot.jobs.planner import plan_everyone, replan_person
from bot.jobs.pulse import plan_journey
from bot.render import Renderer
from bot.store import journal, outbox, people, programmes
from bot.store.db import Database
from bot.store.outbox import OutboxRow
from tests.factories import learning_set, module, programme

AMS = ZoneInfo("Europe/Amsterdam")
RENDER = Renderer()
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


async def claim_and_compose(db: Database, now: datetime) -> tuple[OutboxRow, Composed]:
    """Claims the one row due and composes it as the dispatcher would."""
    rows = await outbox.claim_due(db, now, 5)
    assert len(rows) == 1, rows
    return rows[0], await compose(db, RENDER, rows[0], now)


async def test_a_start_pulse_not_planned_yet_takes_the_place_of_the_days_prompt(db: Database) -> None:
    # She finishes onboarding at 08:30 on the module's first day: her prompts are planned at once, the
    # pulses only by the next hourly planning, which here comes too late.
    joined = at("2027-03-29T08:30")
    person_id = await participant(db, joined)
    await replan_person(db, person_id, joined)
    assert [r[0] for r in await journey_rows(db)] == []

    row, composed = await claim_and_compose(db, at("2027-03-29T09:00"))
    assert row.kind == "prompt" and composed.cancel_reason == "gives way to the start pulse"
    assert [(p.kind, p.dedupe_key.split(":", 3)[3]) for p in composed.expand] == [("pulse", "m1:start")]
    await outbox.mark(db, row.id, composed.cancel_status, composed.cancel_reason)
    await outbox.plan(db, composed.expand, at("2027-03-29T09:00"))
    row, composed = await claim_and_compose(db, at("2027-03-29T09:00:01"))
    assert row.kind == "pulse" and composed.cancel_reason is None and "1 of 4" in composed.text
    await outbox.mark_sent(db, row.id, 77, at("2027-03-29T09:00:01"))

    # The hourly planning then plans the end pulse and the story, and no second start pulse.
    await plan_journey(db, at("2027-03-29T10:00"))
    assert [key for key, _ in await journey_rows(db)] == ["m1:start", "m1:end", "m1"]
    # The next day's prompt is an ordinary prompt again.
    await plan_everyone(db, at("2027-03-29T10:00"))
    row, composed = await claim_and_compose(db, at("2027-03-30T09:00"))
    assert row.kind == "prompt" and composed.cancel_reason is None


async def test_a_prompt_on_a_later_day_or_after_the_start_pulse_goes_as_usual(db: Database) -> None:
    # Planned in time, the start pulse goes first (the daily budget) and the prompt yields to it as before.
    now = at("2027-03-27T10:00")
    person_id = await participant(db, now)
    await replan_person(db, person_id, now)
    await plan_journey(db, now)
    row, composed = await claim_and_compose(db, at("2027-03-29T09:00"))
    assert row.kind == "prompt" and composed.cancel_reason == "daily budget" and not composed.expand


async def test_a_follow_up_that_loses_its_day_to_the_pulse_comes_the_next_day(db: Database) -> None:
    now = at("2027-03-24T10:00")
    person_id = await participant(db, now)
    person = await people.get_person(db, person_id)
    assert person is not None
    stored = await journal.add_message(db, journal.NewReflection(person_id, None, None, None, "", "", "", True, None),
                                       None, person.chat_id, 5, "text", "I will ask first.", None, now)
    assert stored is not None
    await outbox.plan(db, [plans.follow_up(person, at("2027-03-29T09:00"), stored[0])], now)
    await plan_journey(db, at("2027-03-27T10:00"))  # Monday's start pulse, planned after the follow-up

    monday = at("2027-03-29T09:00")
    first = await outbox.claim_due(db, monday, 1)
    assert [r.kind for r in first] == ["follow_up"]  # planned first, so claimed first; the pulse still wins
    composed = await compose(db, RENDER, first[0], monday)
    assert composed.cancel_reason == "daily budget: the next day"
    assert [(p.dedupe_key, p.due_at) for p in composed.expand] == [(f"follow_up:{stored[0]}:next", at("2027-03-30T09:00"))]
    await outbox.mark(db, first[0].id, composed.cancel_status, composed.cancel_reason)
    await outbox.plan(db, composed.expand, monday)
    row, composed = await claim_and_compose(db, monday)
    assert row.kind == "pulse" and composed.cancel_reason is None
    await outbox.mark_sent(db, row.id, 78, monday)

    # Tuesday: the follow-up goes (before the day's prompt), quoting the intention; it moves once only.
    await replan_person(db, person_id, at("2027-03-29T10:00"))
    tuesday = at("2027-03-30T09:00")
    rows = await outbox.claim_due(db, tuesday, 5)
    assert sorted(r.kind for r in rows) == ["follow_up"]
    composed = await compose(db, RENDER, rows[0], tuesday)
    assert composed.cancel_reason is None and "I will ask first." in composed.text
