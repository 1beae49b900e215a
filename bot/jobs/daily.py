"""One message a day: the daily budget of bot-initiated messages, and reminders riding along.

A participant gets at most `daily_messages` bot-initiated messages a local day (one unless the
programme file says more), digests and broadcasts aside. When more are planned, a case round goes
before a follow-up before a prompt (bot.domain.nudges.day_winners), and the day's calendar
reminders travel in the message that goes: a reminder planned before it waits for it, one planned
after it is taken into it. A reminder goes on its own only on a day without a question.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain import plans
from bot.domain.nudges import EVENING_HOUR, DayMessage, day_winners, local_moment, residential_days
from bot.jobs.composed import Composed, cancelled
from bot.jobs.reminders import compose_reminder
from bot.render import Renderer
from bot.store import outbox, people, programmes
from bot.store.db import Database
from bot.store.outbox import OutboxRow

log = logging.getLogger(__name__)

QUESTIONS = ("prompt", "follow_up", "case_round", "pulse", "question")
WAIT_AFTER = timedelta(minutes=1)  # a reminder waiting for the day's question comes this long after it, if alone


async def budget_of(db: Database, person_id: int) -> int:
    """Gives how many bot-initiated messages a day the person may get: the strictest of their programmes."""
    budgets = []
    for membership in await people.memberships(db, person_id):
        stored = await programmes.get_programme_by_id(db, membership.programme_id)
        if stored is not None and membership.role == "participant":
            budgets.append(stored.programme.daily_messages)
    return min(budgets, default=1)


async def _day(db: Database, person: people.Person, now: datetime) -> list[OutboxRow]:
    zone = ZoneInfo(person.timezone)
    start = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
    return await outbox.day_of(db, person.id, start, start + timedelta(days=1))


def _view(row: OutboxRow) -> DayMessage:
    # Only what was sent is out: rows claimed in the same batch all see each other as waiting, so
    # they agree on the winner instead of each giving way to the other.
    return DayMessage(row.id, row.kind, row.due_at, row.status == "sent")


async def fit(db: Database, render: Renderer, row: OutboxRow, composed: Composed, now: datetime) -> Composed:
    """Fits a message that is about to go into the person's day: drops it over budget, or adds the
    day's waiting reminders to it (a question carries them; a lone reminder carries the others)."""
    if composed.cancel_reason is not None or row.person_id is None or row.dedupe_key.startswith("later:"):
        return composed
    person = await people.get_person(db, row.person_id)
    if person is None:
        return composed
    zone = ZoneInfo(person.timezone)
    if row.kind == "case_round" and not row.dedupe_key.endswith(":evening"):
        # In a residential week the day's one message comes at its end: so does the case round.
        membership = await people.participation(db, person.id)
        stored = await programmes.get_programme_by_id(db, membership.programme_id) if membership else None
        today = now.astimezone(zone).date()
        if stored is not None and today in residential_days(stored.programme) and now.astimezone(zone).hour < EVENING_HOUR:
            evening = local_moment(today, EVENING_HOUR, 0, zone)
            return cancelled("residential: in the evening", expand=(plans.in_the_evening(row, evening),))
    day = await _day(db, person, now)
    others = [r for r in day if r.id != row.id]
    waiting = [r for r in others if r.kind == "reminder" and r.status == "pending"]
    if row.kind in QUESTIONS:
        winners = day_winners([_view(r) for r in others] + [_view(replace(row, status="pending"))],
                              await budget_of(db, person.id))
        if row.id not in winners:
            log.info("over the daily budget outbox=%d kind=%s person=%d", row.id, row.kind, person.id)
            return cancelled("daily budget")
        if row.kind == "pulse":
            return composed  # it moves to its next question in place as it is answered: nothing rides along
    else:
        # A reminder waits for the day's question, once, when one is still to come today: also one due
        # now or earlier and not sent yet (both fell due while the bot was down), or it would go alone,
        # take the day's budget and drop the question.
        questions = [r for r in others if r.kind in QUESTIONS and r.status == "pending"]
        if questions and not row.dedupe_key.endswith(":waits"):
            budget = await budget_of(db, person.id)
            winners = day_winners([_view(r) for r in others], budget)
            coming = [r for r in questions if r.id in winners]
            if coming:
                carrier = min(coming, key=lambda r: r.due_at)
                later = plans.waiting_for_the_question(row, carrier.due_at + WAIT_AFTER)
                return cancelled(f"waits for outbox {carrier.id}", expand=(later,))
    carried = await outbox.carry(db, [r.id for r in waiting], row.id)
    lines = []
    for reminder in carried:
        message = await compose_reminder(db, render, reminder, now, carried=True)
        if message.goes:
            lines.append(message.text)
    if not lines:
        return composed
    log.info("reminders carried outbox=%d count=%d", row.id, len(lines))
    return replace(composed, text="\n\n".join([*lines, composed.text]))
