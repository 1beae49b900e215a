"""The learning question (leervraag): what a participant wants to work on in their programme.

Pure: whether a typed text can be kept as one, and when the bot asks about it again (at the
programme's intake, and at each module's end).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.domain.nudges import NudgeSettings, local_moment
from bot.domain.programme import Programme

QUESTION_LIMIT = 500  # characters: a question, not an essay; it must fit on a phone and at the top of a digest
INTAKE = "intake"
MODULE_END = "module_end"


def read_question(text: str) -> tuple[str, str | None]:
    """Gives a typed learning question as it is kept (spaces tidied, empty lines dropped) and what is
    wrong with it: None, "empty", "no_words" (only emoji or punctuation) or "too_long". A question that
    is too long is never cut: the person says it shorter."""
    lines = (" ".join(line.split()) for line in text.strip().splitlines())
    cleaned = "\n".join(line for line in lines if line)
    if not cleaned:
        return cleaned, "empty"
    if not any(unicodedata.category(c)[0] in "LN" for c in cleaned):
        return cleaned, "no_words"
    if len(cleaned) > QUESTION_LIMIT:
        return cleaned, "too_long"
    return cleaned, None


@dataclass(frozen=True)
class QuestionMoment:
    """A moment the bot asks about someone's learning question: at the intake, or at a module's end."""

    moment: str  # INTAKE | MODULE_END
    module_key: str
    day: date  # the local day it is asked on
    due: datetime  # UTC


def _due(day: date, settings: NudgeSettings) -> datetime:
    return local_moment(day, settings.hour, settings.minute, settings.zone).astimezone(UTC)


def module_end_day(starts: date, ends: date, weekdays: frozenset[int]) -> date:
    """Gives the day a module's end is asked about: the person's last prompt day of the module's final
    week but one, because the very last belongs to the end pulse (bot.domain.pulse), which the daily
    budget lets go first; the last day itself when the week holds only one."""
    first = max(starts, ends - timedelta(days=6))
    days = [first + timedelta(days=n) for n in range((ends - first).days + 1)]
    mine = [d for d in days if d.weekday() in weekdays]
    if not mine:
        return ends
    return mine[-2] if len(mine) > 1 else mine[-1]


def question_moments(
    programme: Programme, settings: NudgeSettings, now: datetime, horizon: timedelta, intake: bool, module_end: bool
) -> list[QuestionMoment]:
    """Gives the moments in [now, now + horizon) the bot asks about a person's learning question, at their
    hour: the day of each intake event (`intake`) and each module's end (`module_end`, for those who have
    one). A moment earlier today is still given (missed while the bot was down, it goes at once); one in a
    pause is not. The same inputs give the same moments, so planning again changes nothing."""
    wanted: list[tuple[str, str, date]] = []
    if intake:
        wanted += [(INTAKE, m.key, e.starts.astimezone(settings.zone).date())
                   for m in programme.modules for e in m.events if e.kind == "intake"]
    if module_end:
        wanted += [(MODULE_END, m.key, module_end_day(m.starts, m.ends, settings.weekdays)) for m in programme.modules]
    today = now.astimezone(settings.zone).date()
    found = []
    for moment, module_key, day in wanted:
        due = _due(day, settings)
        if due < now and day != today:
            continue  # a moment of today already past stays as it was: the dispatcher sends what is due
        if due >= now + horizon:
            continue
        if settings.paused_until is not None and settings.paused_until > due:
            continue
        found.append(QuestionMoment(moment, module_key, day, due))
    return sorted(found, key=lambda q: (q.due, q.moment))
