"""When nudges may come: local hours on chosen weekdays, turned into UTC moments.

Pure: the zone, the settings and the window are passed in. A 09:00 nudge stays at 09:00 local
time across a daylight-saving change because each day's moment is built from the local date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.programme import Programme

FOLLOW_UP_DAYS = 4
LATER_HOURS = 3
EVENING_HOUR = 20  # during a residential week the day's one prompt comes at the end of the day
QUIET_FROM, QUIET_UNTIL = 22, 7  # local hours in which a snoozed prompt does not come back
# Which of a day's questions goes when the daily budget allows fewer than are planned; reminders
# are not among them: they ride along with the day's question (or go alone when there is none).
# The pulse goes first: it comes twice a module and its moment cannot move (bot.domain.pulse).
# question: the learning question asked again at the intake and at a module's end.
# checkin: the one check-in for someone who fell quiet (bot.domain.quiet) goes instead of that day's prompt.
# A check-in with someone who fell quiet gives way to any other question (which invites an answer too)
# but not to a prompt, whose place it takes.
QUESTION_PRIORITY = {"pulse": 4, "case_round": 3, "follow_up": 2, "question": 2, "checkin": 1.5, "prompt": 1}


@dataclass(frozen=True)
class NudgeSettings:
    """A participant's choices about when nudges may come."""

    zone: ZoneInfo
    hour: int
    minute: int
    weekdays: frozenset[int]  # Monday = 0
    paused_until: datetime | None = None
    quiet_days: frozenset[date] = frozenset()  # residential days: one evening prompt at most
    quiet_evening: bool = True  # False: no prompt at all on those days


def residential_days(programme: Programme) -> frozenset[date]:
    """Gives the local days of a programme's residential weeks (and bootcamps), when the bot stays quiet."""
    days = set()
    for module in programme.modules:
        for event in module.events:
            if event.kind in ("residential", "bootcamp"):
                day, last = event.starts.astimezone(programme.zone).date(), event.ends.astimezone(programme.zone).date()
                while day <= last:
                    days.add(day)
                    day += timedelta(days=1)
    return frozenset(days)


def day_moment(settings: NudgeSettings, day: date) -> datetime | None:
    """Gives the UTC moment of a day's prompt: the person's hour, or on a residential day the end of the
    day (20:00, or their own hour if later), or none when the programme wants quiet then."""
    hour, minute = settings.hour, settings.minute
    if day in settings.quiet_days:
        if not settings.quiet_evening:
            return None
        if (hour, minute) < (EVENING_HOUR, 0):
            hour, minute = EVENING_HOUR, 0
    return local_moment(day, hour, minute, settings.zone).astimezone(UTC)


def local_moment(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    """Gives the aware moment of a local wall-clock time on a day, moved past a DST gap if needed."""
    # fold=0 reads a wall time in a spring-forward gap with the offset before the change, which
    # lands it just after the gap (02:30 becomes 03:30); the round trip through UTC normalises it.
    moment = datetime.combine(day, time(hour, minute)).replace(tzinfo=zone)
    return moment.astimezone(UTC).astimezone(zone)


def nudge_times(settings: NudgeSettings, start: datetime, end: datetime) -> list[datetime]:
    """Gives the UTC moments in [start, end) at which nudges may come, one a chosen day at most."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("nudge_times needs aware datetimes")
    found = []
    day = start.astimezone(settings.zone).date()
    last = end.astimezone(settings.zone).date()
    while day <= last:
        moment = day_moment(settings, day) if day.weekday() in settings.weekdays else None
        if moment is not None:
            paused = settings.paused_until is not None and moment < settings.paused_until
            if start <= moment < end and not paused:
                found.append(moment)
        day += timedelta(days=1)
    return found


def next_nudge(settings: NudgeSettings, after: datetime, horizon_days: int = 14) -> datetime | None:
    """Gives the first nudge moment after a moment, if one comes within the horizon."""
    times = nudge_times(settings, after, after + timedelta(days=horizon_days))
    return times[0] if times else None


def follow_up_time(
    settings: NudgeSettings, intention_at: datetime, next_meeting: datetime | None
) -> datetime:
    """Gives when to ask what came of an intention: some days later at the nudge hour, or before the next meeting.

    When the participant's set meets within those days, the question comes on the day before the
    meeting (and never sooner than the next day), so the answer can be taken to the meeting.
    """
    zone = settings.zone
    local_day = intention_at.astimezone(zone).date()
    target_day = local_day + timedelta(days=FOLLOW_UP_DAYS)
    if next_meeting is not None:
        meeting_day = next_meeting.astimezone(zone).date()
        if local_day + timedelta(days=1) < meeting_day <= target_day:
            target_day = meeting_day - timedelta(days=1)
    # Not during a residential week (one is not at work then to try things): the first day after it.
    while target_day in settings.quiet_days:
        target_day += timedelta(days=1)
    # Only on a day the participant wants nudges: an earlier one (not before tomorrow), else a later one.
    if settings.weekdays and target_day.weekday() not in settings.weekdays:
        earlier = [target_day - timedelta(days=d) for d in range(1, 7)]
        fitting = [d for d in earlier if d.weekday() in settings.weekdays and d > local_day and d not in settings.quiet_days]
        if fitting:
            target_day = fitting[0]
        else:
            target_day = next(target_day + timedelta(days=d) for d in range(1, 30)
                              if (target_day + timedelta(days=d)).weekday() in settings.weekdays
                              and target_day + timedelta(days=d) not in settings.quiet_days)
    return local_moment(target_day, settings.hour, settings.minute, zone).astimezone(UTC)


def later_time(now: datetime, settings: NudgeSettings | None = None) -> datetime:
    """Gives when a prompt snoozed with *later* comes again: in a few hours, but not at night.

    When a few hours from now falls in the night (QUIET_FROM to QUIET_UNTIL, the person's local
    time), it comes at the person's next nudge time instead.
    """
    candidate = now + timedelta(hours=LATER_HOURS)
    if settings is None:
        return candidate
    hour = candidate.astimezone(settings.zone).hour
    if QUIET_UNTIL <= hour < QUIET_FROM:
        return candidate
    calm = NudgeSettings(settings.zone, settings.hour, settings.minute, settings.weekdays or frozenset(range(7)))
    return next_nudge(calm, candidate) or candidate


@dataclass(frozen=True)
class DayMessage:
    """A bot-initiated message planned or sent for one person on one local day."""

    id: int
    kind: str  # prompt | follow_up | case_round | pulse | reminder
    due: datetime
    out: bool  # sent, or on its way: it counts whatever its priority


def day_winners(messages: Sequence[DayMessage], budget: int) -> frozenset[int]:
    """Gives the ids of the day's messages that may go within the budget.

    What is out already counts first; the rest of the day's questions follow by priority (a case
    round before a follow-up before a prompt), then by time. A reminder still waiting is no
    candidate: it goes with the winner. So a prompt, two reminders and a follow-up on one day
    become one message at a budget of one.
    """
    out = [m for m in messages if m.out]
    waiting = sorted(
        (m for m in messages if not m.out and m.kind in QUESTION_PRIORITY),
        key=lambda m: (-QUESTION_PRIORITY[m.kind], m.due, m.id),
    )
    room = max(budget - len(out), 0)
    return frozenset(m.id for m in out) | frozenset(m.id for m in waiting[:room])
