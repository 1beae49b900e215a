"""Participants who fell quiet: the one check-in, planned and composed, and the quiet counts facilitators see.

Beside the planner: each planning run finds who needs the check-in (bot.domain.quiet), plans one
'checkin' row at their next prompt moment and marks them asked in the same transaction, so it goes
once. It counts as the day's question (bot.jobs.daily): it goes instead of that day's prompt, never
on top of it. The buttons under it (pause, fewer prompts, still here) are handled in bot.tg.quiet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.buttons import CheckinButton
from bot.domain import plans
from bot.domain.nudges import next_nudge
from bot.domain.programme import Programme
from bot.domain.quiet import Quietness, is_quiet, needs_checkin
from bot.domain.small_groups import singles_out
from bot.jobs.composed import Composed, cancelled
from bot.jobs.planner import nudge_settings
from bot.render import Renderer
from bot.store import outbox, people, programmes, quiet
from bot.store.db import Database
from bot.store.outbox import OutboxRow

log = logging.getLogger(__name__)


def quietness(member: quiet.Member, programme: Programme) -> Quietness:
    """Gives the rule's view of a member: silence counts from their last answer, or from when they joined
    (not before the programme's first day: nobody can answer before the first prompt)."""
    person = member.person
    joined = person.created_at
    if programme.modules:
        first = min(m.starts for m in programme.modules)
        joined = max(joined, datetime.combine(first, time(0), tzinfo=programme.zone))
    return Quietness(joined, member.last_answer, person.paused_until, person.quiet_asked_at)


def _last_day(programme: Programme) -> date | None:
    return max((m.ends for m in programme.modules), default=None)


async def _programmes(db: Database) -> dict[int, Programme]:
    return {stored.id: stored.programme for stored in await programmes.list_programmes(db)}


async def plan_checkins(db: Database, now: datetime) -> int:
    """Plans the check-in for everyone who fell quiet and was not asked since their last answer; gives how many."""
    by_id = await _programmes(db)
    latest: dict[int, quiet.Member] = {}
    for member in await quiet.members(db):
        latest[member.person.id] = member  # the latest joined programme, as the planner takes it
    items, asked = [], []
    for member in latest.values():
        programme = by_id.get(member.programme_id)
        if programme is None or not programme.modules:
            continue
        view = quietness(member, programme)
        if not needs_checkin(view, now, programme.quiet_after_days):
            continue
        person = member.person
        due = next_nudge(nudge_settings(person, programme), now)
        last = _last_day(programme)
        if due is None or (last is not None and due.astimezone(ZoneInfo(person.timezone)).date() > last):
            continue
        items.append(plans.checkin(person, due, view.last_answer or view.joined_at))
        asked.append(person.id)
    if items:
        async with db.transaction() as conn:
            await outbox.plan_many(conn, items, now)
            await quiet.mark_asked(conn, asked, now)
        log.info("check-ins planned count=%d", len(items))
    return len(items)


def checkin_keyboard(render: Renderer, language: str, outbox_id: int) -> InlineKeyboardMarkup:
    """Gives the check-in's choices: pause, fewer prompts, or still here."""

    def button(choice: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(render.button(language, "checkin_choice", choice=choice),
                                    callback_data=CheckinButton(outbox_id, choice).data)  # type: ignore[arg-type]

    return InlineKeyboardMarkup([
        [button("p14"), button("p30")],
        [button("e2"), button("e7")],
        [button("here")],
    ])


async def compose_checkin(db: Database, render: Renderer, row: OutboxRow, now: datetime) -> Composed:
    """Gives the check-in, unless the person answered, paused or left since it was planned."""
    person = await people.get_person(db, row.person_id) if row.person_id is not None else None
    if person is None or person.status != "active":
        return cancelled("person not active")
    if person.paused_until is not None and person.paused_until > now:
        return cancelled("paused")
    answered = await quiet.last_answer(db, person.id)
    since = datetime.fromisoformat(row.payload.get("since", "1970-01-01T00:00:00+00:00"))
    if answered is not None and answered > since:
        return cancelled("answered meanwhile")
    text = render.message(person.language, "checkin", name=person.name, every=person.prompt_every)
    return Composed(text, checkin_keyboard(render, person.language, row.id))


# --------------------------------------------------------------------------- what facilitators see


@dataclass(frozen=True)
class QuietCount:
    """How many of a group's active members are quiet, and the names of those who show their activity."""

    members: int
    quiet: int
    names: tuple[str, ...]
    hidden: bool  # a small group not all of whom show their activity: the count would point at someone


async def quiet_by_set(db: Database, programme_id: int, programme: Programme, now: datetime) -> dict[int | None, QuietCount]:
    """Gives, per learning set of a programme (None: members without a set), its quiet count."""
    groups: dict[int | None, list[quiet.Member]] = {}
    for member in await quiet.members(db, programme_id=programme_id):
        groups.setdefault(member.learning_set_id, []).append(member)
    return {set_id: _count(found, programme, now) for set_id, found in groups.items()}


async def quiet_in_set(db: Database, set_id: int, programme: Programme, now: datetime) -> QuietCount:
    """Gives a learning set's quiet count."""
    return _count(await quiet.members(db, set_id=set_id), programme, now)


def _count(found: list[quiet.Member], programme: Programme, now: datetime) -> QuietCount:
    still = [m for m in found if is_quiet(quietness(m, programme), now, programme.quiet_after_days)]
    showing = sum(1 for m in found if m.person.show_activity)
    names = tuple(sorted((m.person.name for m in still if m.person.show_activity), key=str.casefold))
    return QuietCount(len(found), len(still), names, singles_out(len(found), showing))
