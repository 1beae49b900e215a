"""Quiet participants and the rhythm of prompts: who has fallen quiet, who gets the one check-in,
and on which days a participant who chose fewer prompts still gets one.

Pure: no Telegram, no database, no clock. Someone is *quiet* when they answered nothing (a reflection,
a pulse question, a learning question, a step of going deeper: typed or tapped) for the programme's
`quiet_after_days` since their last answer, or since they joined when they never answered, and are
not paused. A quiet person is asked once, kindly: not again until they answered and fell quiet again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

QUIET_AFTER_DAYS = 21  # the programme file's default (bot.domain.programme)
RHYTHMS = (1, 2, 7)  # prompt every day, every other day, once a week
_EPOCH = date(2000, 1, 3)  # a Monday: prompt days are counted from here, so the rhythm needs no memory


@dataclass(frozen=True)
class Quietness:
    """What the rule needs to know of one participant."""

    joined_at: datetime
    last_answer: datetime | None
    paused_until: datetime | None
    asked_at: datetime | None  # when the check-in was last planned for them


def since(person: Quietness) -> datetime:
    """Gives the moment their silence is counted from: the last answer, else the day they joined."""
    return person.last_answer if person.last_answer is not None else person.joined_at


def is_quiet(person: Quietness, now: datetime, after_days: int = QUIET_AFTER_DAYS) -> bool:
    """Gives whether someone has answered nothing for `after_days` days and is not paused."""
    if person.paused_until is not None and person.paused_until > now:
        return False
    return now - since(person) >= timedelta(days=after_days)


def needs_checkin(person: Quietness, now: datetime, after_days: int = QUIET_AFTER_DAYS) -> bool:
    """Gives whether someone quiet is to get the check-in: quiet, and not asked since their last answer."""
    if not is_quiet(person, now, after_days):
        return False
    return person.asked_at is None or person.asked_at < since(person)


def on_rhythm(day: date, weekdays: frozenset[int], every: int) -> bool:
    """Gives whether a local day that is one of the person's prompt days keeps its prompt in their rhythm.

    Every day (1) keeps them all; every other day (2) keeps every second of their prompt days, counted
    from a fixed Monday, so it alternates across weeks too; weekly (7) keeps the first of their prompt
    days in each week. Counting instead of remembering the last prompt gives the same answer to each
    planning run, however often it runs.
    """
    if every <= 1 or not weekdays or day.weekday() not in weekdays:
        return True
    days = sorted(weekdays)
    weeks = (day - _EPOCH).days // 7
    index = weeks * len(days) + days.index(day.weekday())
    if every == 7:
        return index % len(days) == 0
    return index % 2 == 0
