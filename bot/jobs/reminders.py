"""Module reminders from the calendar: pre-work opening, an event coming up, the day before, a set meeting.

Planned for each participant at REMINDER_HOUR in their own time zone; replanned when a programme
is loaded or changed; muted per programme by a facilitator.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain import plans
from bot.domain.nudges import EVENING_HOUR, local_moment, residential_days
from bot.domain.programme import Event, Programme
from bot.jobs.composed import Composed, cancelled
from bot.render import Renderer, day_text, time_text
from bot.store import outbox, people, programmes
from bot.store.db import Database
from bot.store.outbox import OutboxRow

log = logging.getLogger(__name__)

HORIZON = timedelta(days=14)
REMINDER_HOUR, REMINDER_MINUTE = 8, 30
UPCOMING_DAYS = 7
MEETING_KINDS = ("intake", "residential", "pitstop", "theme-day", "bootcamp")


STALE_AFTER = timedelta(hours=12)  # a reminder that could not go for this long is old news


@dataclass(frozen=True)
class Reminder:
    """One reminder the calendar calls for: which, about which event, on which local day."""

    kind: str  # prework | upcoming | tomorrow | meeting
    event: Event
    day_offset: int  # days before the event's start
    meeting: Event | None = None  # the set's meeting on the same day, told in the same reminder

    def key(self) -> str:
        """Gives a key that stays the same while the event does."""
        return f"{self.kind}:{self.event.kind}:{self.event.starts.astimezone(UTC).isoformat()}"


def reminders_for(programme: Programme, set_key: str | None) -> list[Reminder]:
    """Gives every reminder of a programme's calendar for a member of a set.

    A set meeting on the day of a pitstop (or another gathering) is one event for its members:
    the day-before reminder of the gathering tells them their set meets too, and no second
    reminder comes.
    """
    events = programme.events(set_key)
    zone = programme.zone
    gatherings = {e.starts.astimezone(zone).date(): e for e in events if e.kind in MEETING_KINDS}
    meetings = {e.starts.astimezone(zone).date(): e for e in events
                if e.kind == "set-meeting" and set_key is not None and e.set_key == set_key}
    found = []
    for event in events:
        day = event.starts.astimezone(zone).date()
        if event.kind == "pre-work":
            found.append(Reminder("prework", event, 0))
        elif event.kind in MEETING_KINDS:
            found.append(Reminder("upcoming", event, UPCOMING_DAYS))
            same_day = meetings.get(day) if gatherings.get(day) is event else None
            found.append(Reminder("tomorrow", event, 1, same_day))
        elif event.kind == "set-meeting" and event.set_key == set_key and day not in gatherings:
            found.append(Reminder("meeting", event, 1))
    return found


def reminder_time(
    reminder: Reminder, calendar_zone: ZoneInfo, zone: ZoneInfo, quiet_days: frozenset[date] = frozenset()
) -> datetime:
    """Gives the UTC moment a reminder goes: REMINDER_HOUR in the person's zone, some days before the
    event's date as the calendar writes it (in the programme's zone). On a residential day it waits
    until the evening, just before the day's one prompt, so that it rides with it."""
    day = reminder.event.starts.astimezone(calendar_zone).date() - timedelta(days=reminder.day_offset)
    if day in quiet_days:
        return local_moment(day, EVENING_HOUR - 1, 30, zone).astimezone(UTC)
    return local_moment(day, REMINDER_HOUR, REMINDER_MINUTE, zone).astimezone(UTC)


WRITE_CHUNK = 2_000  # reminder rows to a commit


async def plan_reminders(db: Database, now: datetime, programme_id: int | None = None) -> int:
    """Plans the calendar reminders of the next two weeks for every active participant; gives how many rows."""
    cache: dict[int, programmes.StoredProgramme | None] = {}
    calendars: dict[tuple[int, str | None], tuple[list[tuple[Reminder, str]], frozenset[date]]] = {}
    moments: dict[tuple[int, str, str], datetime] = {}
    items: list[plans.Planned] = []
    for participant in await people.participants_to_remind(db, programme_id):
        pid, set_key, person = participant.programme_id, participant.set_key, participant.person
        if pid not in cache:
            cache[pid] = await programmes.get_programme_by_id(db, pid)
        stored = cache[pid]
        if stored is None:
            continue
        mine: list[plans.Planned] = []
        try:
            # What is the same for a programme's set, or for a time zone, is worked out once for them all.
            if (pid, set_key) not in calendars:
                quiet = residential_days(stored.programme)
                calendars[(pid, set_key)] = [(r, r.key()) for r in reminders_for(stored.programme, set_key)], quiet
            calendar, quiet = calendars[(pid, set_key)]
            for reminder, key in calendar:
                when = (pid, key, person.timezone)
                if when not in moments:
                    moments[when] = reminder_time(reminder, stored.programme.zone, ZoneInfo(person.timezone), quiet)
                due = moments[when]
                if now <= due < now + HORIZON and due < reminder.event.starts:
                    mine.append(plans.reminder(
                        person, due, pid, key, reminder.kind, reminder.event.kind, reminder.event.starts, set_key,
                    ))
        except Exception:  # one programme's calendar (a year-0001 date) never stops the others' reminders
            log.exception("reminders not planned programme=%d person=%d", pid, person.id)
            cache[pid] = None  # skip this programme for everyone else in this run
            continue
        items.extend(mine)
    # The hourly run finds nearly all of them planned already: those are not offered to SQLite again
    # (a key planned earlier stays the one row all the same: the outbox's unique key).
    known = await outbox.keys_since(db, "reminder", now - HORIZON)
    fresh = [item for item in items if item.dedupe_key not in known]
    for start in range(0, len(fresh), WRITE_CHUNK):  # a few thousand to a commit: replies need not wait
        await outbox.plan(db, fresh[start : start + WRITE_CHUNK], now)
    return len(items)


async def replan_programme(db: Database, programme_id: int, now: datetime) -> int:
    """Drops a programme's pending reminders and plans them anew (after a load or a change)."""
    await outbox.drop_pending_reminders(db, programme_id)
    return await plan_reminders(db, now, programme_id)


async def compose_reminder(
    db: Database, render: Renderer, row: OutboxRow, now: datetime, carried: bool = False
) -> Composed:
    """Gives the reminder's message, or the reason it must not go (muted, event gone, person gone, too late).

    A reminder carried by the day's question goes when that question goes, however late in the day.
    """
    payload = row.payload
    stored = await programmes.get_programme_by_id(db, int(payload.get("programme_id", 0)))
    person = await people.get_person(db, row.person_id) if row.person_id is not None else None
    if stored is None or person is None or person.status != "active":
        return cancelled("programme or person gone")
    if await programmes.reminders_muted(db, stored.id):
        return cancelled("muted")
    if now - row.due_at > STALE_AFTER and not carried:
        return cancelled("too late")
    set_key = payload.get("set_key")
    reminder = next(
        (r for r in reminders_for(stored.programme, set_key)
         if r.kind == payload.get("reminder") and r.event.kind == payload.get("event_kind")
         and r.event.starts.astimezone(UTC).isoformat() == payload.get("starts")),
        None,
    )
    if reminder is None:
        return cancelled("event no longer in the calendar")
    event = reminder.event
    if now >= event.starts:
        return cancelled("event already started")
    zone = ZoneInfo(person.timezone)
    module = stored.programme.module(event.module_key) if event.module_key else None
    meeting = reminder.meeting
    text = render.message(
        person.language, f"reminder_{reminder.kind}",
        name=person.name, programme=stored.programme.title, module_title=module.title if module else "",
        kind=render.button(person.language, "kind", kind=event.kind), title=event.title,
        date=day_text(event.starts, person.language, zone), time=time_text(event.starts, person.language, zone),
        place=event.place or (meeting.place if meeting else ""), ends=day_text(event.ends, person.language, zone),
        set_meets=meeting is not None,
        meeting_time=time_text(meeting.starts, person.language, zone) if meeting else "",
    )
    return Composed(text)


async def upcoming(db: Database, programme_id: int, now: datetime, limit: int = 12) -> list[tuple[datetime, str, Event]]:
    """Gives the calendar's next reminders of a programme (one per event and kind, in the programme's zone)."""
    stored = await programmes.get_programme_by_id(db, programme_id)
    if stored is None:
        return []
    seen = set()
    found = []
    for reminder in reminders_for(stored.programme, None):
        if reminder.kind == "meeting":
            continue
        due = reminder_time(reminder, stored.programme.zone, stored.programme.zone)
        if due >= now and reminder.key() not in seen:
            seen.add(reminder.key())
            found.append((due, reminder.kind, reminder.event))
    return sorted(found, key=lambda f: f[0])[:limit]
