"""The facilitator's brief: planned the day before each set meeting, composed when it goes.

Each facilitator of a set gets it privately at 08:00 in their own zone, in their language: the meeting
and what comes after it, the set's participation since the last meeting as counts, the capacities its
shared material touched, the cases members bring, what members shared *for the facilitator*, the
set's pulse as averages (only when five or more answered) and a chart of participation per week.
It never holds a private entry, nor anything of another set (tests/store/test_brief_privacy.py).
"""

from __future__ import annotations

import asyncio
import html
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal

from bot.chart import reflections_chart
from bot.domain.brief import brief_time, capacity_counts, pulse_view
from bot.domain.digest import ENTRY_LIMIT, clipped, split_message
from bot.domain.programme import Event, Programme, locate
from bot.domain.small_groups import singles_out
from bot.jobs.quiet import quiet_in_set
from bot.render import Renderer, day_text, short_day_text, time_text
from bot.store import briefs, outbox, people, programmes, sharing, stats
from bot.store.db import Database
from bot.store.outbox import OutboxRow, Planned, ts

log = logging.getLogger(__name__)

HORIZON = timedelta(days=14)
CHART_WEEKS = 8


@dataclass(frozen=True)
class BriefMessage:
    """A brief ready to send (its text in pieces, then the chart), or the reason it must not be sent."""

    texts: tuple[str, ...] = ()
    chart: bytes | None = None
    caption: str = ""
    reason: str | None = None


def scheduled_key(set_id: int, meeting_starts: datetime, person_id: int) -> str:
    """Gives the outbox key of one facilitator's brief for one meeting."""
    return f"brief:{set_id}:{ts(meeting_starts)}:{person_id}"


async def plan_briefs(db: Database, now: datetime) -> int:
    """Plans the briefs of the next two weeks for every facilitator of every set with members; gives how many."""
    planned = 0
    for stored in await programmes.list_programmes(db):
        try:
            programme = stored.programme
            for learning_set in await programmes.list_sets(db, stored.id):
                spec = programme.learning_set(learning_set.key)
                upcoming = [m for m in (spec.meetings if spec else ()) if m.starts > now]
                if not upcoming:
                    continue
                if not await sharing.members(db, learning_set.id):
                    continue  # a set without members has nothing to brief on
                items = []
                for reader in await briefs.facilitators_of_set(db, learning_set.id):
                    for meeting in upcoming:
                        due = brief_time(meeting.starts, ZoneInfo(reader.timezone))
                        if due >= now + HORIZON:
                            continue
                        # Due while the bot was down, or planned late: now is better than none before the meeting.
                        items.append(Planned(
                            "brief", reader.chat_id, max(due, now), scheduled_key(learning_set.id, meeting.starts, reader.id),
                            person_id=reader.id, payload={"set_id": learning_set.id, "meeting": ts(meeting.starts)},
                        ))
                await outbox.plan(db, items, now)
                planned += len(items)
        except Exception:  # one programme's calendar never stops the others' briefs
            log.exception("briefs not planned programme=%d", stored.id)
    return planned


def asked_brief(set_id: int, person: people.Person, occasion: str, now: datetime) -> Planned:
    """Gives the outbox row of a brief someone asked for with /brief: due now, as the set stands now."""
    return Planned("brief", person.chat_id, now, f"brief-asked:{set_id}:{occasion}:{person.id}", person_id=person.id,
                   payload={"set_id": set_id, "asked": True})


def _meetings(programme: Programme, set_key: str) -> list[Event]:
    spec = programme.learning_set(set_key)
    return sorted(spec.meetings, key=lambda m: m.starts) if spec else []


async def compose_brief(db: Database, render: Renderer, row: OutboxRow, now: datetime) -> BriefMessage:
    """Gives the brief of an outbox row, for its reader, as the set stands now.

    A brief before a meeting seals the for-facilitator shares it carries (the first facilitator's fixes
    them); a brief asked for with /brief shows those waiting for the next one and seals nothing.
    """
    learning_set = await programmes.get_set_by_id(db, int(row.payload.get("set_id", 0)))
    if learning_set is None or not learning_set.active:
        return BriefMessage(reason="set retired")
    reader = await people.get_person(db, row.person_id) if row.person_id is not None else None
    if reader is None or reader.status == "blocked":
        return BriefMessage(reason="person not active")
    asked = bool(row.payload.get("asked"))
    if not asked and not await briefs.leads_set(db, reader.id, learning_set.id):
        return BriefMessage(reason="no longer a facilitator of the set")
    stored = await programmes.get_programme_by_id(db, learning_set.programme_id)
    if stored is None:
        return BriefMessage(reason="programme gone")
    programme = stored.programme
    meetings = _meetings(programme, learning_set.key)
    if asked:
        meeting = next((m for m in meetings if m.starts > now), None)
    else:
        meeting = next((m for m in meetings if ts(m.starts) == row.payload.get("meeting")), None)
        if meeting is None:
            return BriefMessage(reason="meeting no longer in the calendar")
        if meeting.starts <= now:
            return BriefMessage(reason="meeting passed")
    moment = meeting.starts if meeting else now
    previous = next((m for m in reversed(meetings) if m.starts < moment and m.starts <= now), None)
    since = previous.starts if previous else None
    counts = await briefs.participation(db, learning_set.id, since, now)
    if counts.members == 0:
        return BriefMessage(reason="no members")
    if meeting is not None and not asked:
        key = briefs.brief_key(learning_set.id, meeting.starts)
        # Sealed as its first part goes: a later part must not seal a share this reader never sees.
        sealed = await briefs.seal(db, learning_set.id, key, now) if not row.payload.get("parts_sent") else 0
        if sealed:
            log.info("brief sealed set=%d shares=%d", learning_set.id, sealed)
        lines = await briefs.for_facilitators(db, learning_set.id, (key,))
    else:
        upcoming = briefs.brief_key(learning_set.id, meeting.starts) if meeting else None
        lines = await briefs.for_facilitators(db, learning_set.id, (None, upcoming))
    language, zone = reader.language, ZoneInfo(reader.timezone)
    module = locate(programme, moment, learning_set.key).module
    after = next((e for e in programme.events(learning_set.key) if not e.is_window and e.starts > moment), None)
    hidden = singles_out(counts.members, len(counts.showing))
    pulse = pulse_view(await briefs.pulse_answers(db, learning_set.id, module.key)) if module else ()
    text = render.message(
        language, "brief",
        set_name=learning_set.name,
        programme=programme.title,
        asked=asked,
        meeting_date=day_text(meeting.starts, language, zone) if meeting else "",
        meeting_time=time_text(meeting.starts, language, zone) if meeting else "",
        meeting_place=meeting.place if meeting else "",
        meeting_title=meeting.title if meeting else "",
        module_title=module.title if module else "",
        next_title=(after.title or render.button(language, "kind", kind=after.kind)) if after else "",
        next_date=day_text(after.starts, language, zone) if after else "",
        next_place=after.place if after else "",
        since_date=short_day_text(since, language, zone) if since else "",
        hidden=hidden,
        counts=_count_values(counts),
        people=[{"name": name, "count": number} for name, number in counts.showing],
        capacities=[{"capacity": c, "count": n} for c, n in capacity_counts(
            await briefs.capacity_tags(db, learning_set.id, since, now))],
        cases=[{"name": c.author, "text": c.text} for c in await briefs.cases_for_meeting(db, learning_set.id, meeting.starts)]
        if meeting else [],
        lines=[{"name": e.author, "text": clipped(e.text, ENTRY_LIMIT), "line": e.line,
                "date": short_day_text(e.shared_at, language, zone)} for e in lines],
        quiet=await _quiet_values(db, learning_set.id, programme, now),
        pulse=[{"moment": p.moment, "answered": p.answered, "shown": p.shown,
                "averages": [{"capacity": c, "average": format_decimal(a, format="0.0", locale=language)}
                             for c, a in p.averages]} for p in pulse],
    )
    chart, caption = None, ""
    if not hidden:
        weekly = await stats.weekly_reflections(db, stored.id, now, programme.zone, CHART_WEEKS)
        counts_by_week = weekly.by_set.get(learning_set.id, [0] * len(weekly.weeks))
        labels = [html.unescape(render.message(language, "stats_week", week_number=w.number)) for w in weekly.weeks]
        title = html.unescape(render.message(language, "brief_chart_title", set_name=learning_set.name))
        # Drawing takes a tenth of a second: off the event loop, so that other chats are not kept waiting.
        chart = await asyncio.to_thread(reflections_chart, {learning_set.name: counts_by_week}, labels, title)
        caption = render.message(language, "brief_caption", set_name=learning_set.name, week_count=CHART_WEEKS)
    log.info("brief composed set=%d person=%d asked=%s lines=%d hidden=%s", learning_set.id, reader.id, asked,
             len(lines), hidden)
    return BriefMessage(tuple(split_message(text)), chart, caption)


async def _quiet_values(db: Database, set_id: int, programme: Programme, now: datetime) -> dict[str, Any]:
    found = await quiet_in_set(db, set_id, programme, now)
    return {"count": found.quiet, "members": found.members, "names": list(found.names), "days": programme.quiet_after_days}


def _count_values(counts: briefs.Participation) -> dict[str, Any]:
    return {
        "members": counts.members,
        "reflected": counts.reflected,
        "shared": counts.shared,
        "went_deeper": counts.went_deeper,
        "intentions": counts.intentions,
        "followed_up": counts.followed_up,
    }
