"""Moving and adding events of a loaded programme (the console's calendar), checked before anything is stored.

Pure. An edit gives a new Programme; it is stored only when its file, written back, passes every check of
`programme check` (bot.domain.programme) and the console's own: nothing moved into the past or out of its
module or programme, no event that already took place moved, and no overlap with another meeting of the
same set or, for an event of a module, with another event people meet at. Each problem is a code with
values, which the console words in the facilitator's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.domain.programme import (
    DEFAULT_TIMED_HOURS,
    EVENT_KINDS,
    Event,
    Programme,
    ProgrammeError,
    parse_programme,
)
from bot.domain.programme_file import END_OF_DAY, write_programme

REF = re.compile(r"^(m|s):([a-z0-9][a-z0-9-]{0,39}):(\d{1,3})$")
MODULE_KINDS = tuple(k for k in EVENT_KINDS if k != "set-meeting")  # a set's meetings belong to the set
TEXT_MAX = 200  # characters of a title or place typed in the console


@dataclass(frozen=True)
class EventRef:
    """Names one event of a programme version: a module's event ("m") or a set's meeting ("s") by position."""

    where: str
    owner: str  # the module's key, or the set's
    index: int

    def __str__(self) -> str:
        return f"{self.where}:{self.owner}:{self.index}"

    @classmethod
    def parse(cls, text: str) -> EventRef | None:
        """Gives the reference a text names, or None."""
        found = REF.match(text)
        return None if found is None else cls(found[1], found[2], int(found[3]))


@dataclass(frozen=True)
class Problem:
    """Why an edit cannot be stored: a code the console words, and the values it names."""

    code: str
    values: tuple[tuple[str, Any], ...] = ()

    def value(self) -> dict[str, Any]:
        """Gives the values by name."""
        return dict(self.values)


class EditError(Exception):
    """An edit that cannot be stored; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(", ".join(p.code for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Change:
    """What a facilitator asked for an event: when, where, what."""

    starts: datetime
    ends: datetime
    place: str = ""
    title: str = ""
    kind: str = "set-meeting"


def refs(programme: Programme) -> list[tuple[EventRef, Event]]:
    """Gives every event of a programme with its reference: the modules' in order, then each set's meetings."""
    found = [(EventRef("m", m.key, i), e) for m in programme.modules for i, e in enumerate(m.events)]
    found += [(EventRef("s", s.key, i), e) for s in programme.sets for i, e in enumerate(s.meetings)]
    return found


def find(programme: Programme, ref: EventRef) -> Event | None:
    """Gives the event a reference names, or None."""
    return next((e for r, e in refs(programme) if r == ref), None)


def read_when(
    programme: Programme, starts_day: str, starts_time: str, ends_day: str, ends_time: str, meeting: bool,
) -> tuple[datetime, datetime]:
    """Gives the start and end a form names, local to the programme, the way a programme file reads them: a
    day without a time lasts the day (to its end, or to `ends_day`'s), a start with a time and no end lasts
    DEFAULT_TIMED_HOURS. A meeting has only its start. Raises EditError for what is not a date or a time."""
    problems: list[Problem] = []
    first = _day(starts_day, "starts", problems, required=True)
    last = _day(ends_day, "ends", problems, required=False) if not meeting else None
    at = _time(starts_time, "starts", problems)
    until = _time(ends_time, "ends", problems) if not meeting else None
    if problems or first is None:
        raise EditError(problems or [Problem("bad_date", (("field", "starts"),))])
    zone = programme.zone
    starts = datetime.combine(first, at or time(0, 0)).replace(tzinfo=zone)
    if until is not None:
        ends = datetime.combine(last or first, until).replace(tzinfo=zone)
    elif at is not None and last is None:
        ends = starts + timedelta(hours=DEFAULT_TIMED_HOURS)
    else:
        ends = datetime.combine(last or first, END_OF_DAY).replace(tzinfo=zone)
    return starts, ends


def _day(text: str, field: str, problems: list[Problem], required: bool) -> date | None:
    text = text.strip()
    if not text:
        if required:
            problems.append(Problem("bad_date", (("field", field),)))
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(Problem("bad_date", (("field", field),)))
        return None


def _time(text: str, field: str, problems: list[Problem]) -> time | None:
    text = text.strip()
    if not text:
        return None
    try:
        return time.fromisoformat(text).replace(tzinfo=None, microsecond=0)
    except ValueError:
        problems.append(Problem("bad_time", (("field", field),)))
        return None


def move(programme: Programme, ref: EventRef, change: Change, now: datetime) -> tuple[Programme, str]:
    """Gives the programme with one event moved (and its title and place as asked), and its file's text."""
    before = find(programme, ref)
    if before is None:
        raise EditError([Problem("no_event")])
    if before.starts <= now:
        raise EditError([Problem("was_past", (("starts", before.starts),))])
    event = replace(before, starts=change.starts, ends=change.ends, place=change.place, title=change.title)
    if ref.where == "m" and change.kind in MODULE_KINDS:
        event = replace(event, kind=change.kind)
    return _checked(programme, _with(programme, ref, event), event, ref, now)


def add(programme: Programme, where: str, owner: str, change: Change, now: datetime) -> tuple[Programme, str]:
    """Gives the programme with one event added to a module ("m") or a meeting to a set ("s"), and its text."""
    if where == "s":
        if programme.learning_set(owner) is None:
            raise EditError([Problem("no_event")])
        event = Event("set-meeting", change.title, change.starts, change.ends, change.place, "", owner)
        learning_set = programme.learning_set(owner)
        assert learning_set is not None
        ref = EventRef("s", owner, len(learning_set.meetings))
    else:
        module = programme.module(owner)
        if module is None or change.kind not in MODULE_KINDS:
            raise EditError([Problem("no_event")])
        event = Event(change.kind, change.title, change.starts, change.ends, change.place, owner, "")
        ref = EventRef("m", owner, len(module.events))
    return _checked(programme, _with(programme, ref, event), event, ref, now)


def _with(programme: Programme, ref: EventRef, event: Event) -> Programme:
    """Gives the programme with the event at a reference replaced (or appended, at the next position)."""
    if ref.where == "s":
        sets = tuple(
            replace(s, meetings=_put(s.meetings, ref.index, event)) if s.key == ref.owner else s for s in programme.sets
        )
        return replace(programme, sets=sets)
    modules = tuple(
        replace(m, events=_put(m.events, ref.index, event)) if m.key == ref.owner else m for m in programme.modules
    )
    return replace(programme, modules=modules)


def _put(events: tuple[Event, ...], index: int, event: Event) -> tuple[Event, ...]:
    changed = list(events)
    if index < len(changed):
        changed[index] = event
    else:
        changed.append(event)
    return tuple(changed)


def _checked(
    before: Programme, after: Programme, event: Event, ref: EventRef, now: datetime
) -> tuple[Programme, str]:
    """Gives the edited programme and its file's text once every check passes, else raises EditError."""
    problems = edit_problems(before, event, ref, now)
    if problems:
        raise EditError(problems)
    text = write_programme(after)
    try:
        parsed = parse_programme(text)
    except ProgrammeError as exc:  # what `programme check` finds that the console's own checks did not
        raise EditError([Problem("check", (("problem", str(p)),)) for p in exc.problems]) from None
    return parsed, text


def edit_problems(programme: Programme, event: Event, ref: EventRef, now: datetime) -> list[Problem]:
    """Gives what is wrong with an event as edited, in the programme it is put in (before the edit)."""
    problems: list[Problem] = []
    if event.ends < event.starts:
        problems.append(Problem("ends_before_starts"))
    if len(event.title) > TEXT_MAX or len(event.place) > TEXT_MAX:
        problems.append(Problem("too_long", (("limit", TEXT_MAX),)))
    if event.starts <= now:
        problems.append(Problem("past", (("now", now),)))
    zone = programme.zone
    first_day, last_day = event.starts.astimezone(zone).date(), event.ends.astimezone(zone).date()
    if ref.where == "m":
        module = programme.module(ref.owner)
        if module is not None and (first_day < module.starts or last_day > module.ends):
            problems.append(Problem("outside_module", (("title", module.title), ("starts", module.starts),
                                                       ("ends", module.ends))))
    elif programme.modules:
        opens = min(m.starts for m in programme.modules)
        closes = max(m.ends for m in programme.modules)
        if not opens <= first_day <= closes:
            problems.append(Problem("outside_programme", (("starts", opens), ("ends", closes))))
    if not event.is_window:
        for other_ref, other in refs(programme):
            if other_ref == ref or other.is_window or (other_ref.where == "s") != (ref.where == "s"):
                continue
            if ref.where == "s" and other_ref.owner != ref.owner:
                continue  # two sets may meet at the same time
            if other.starts <= event.ends and event.starts <= other.ends:
                problems.append(Problem("overlap", (("kind", other.kind), ("title", other.title),
                                                    ("starts", other.starts))))
                break
    return problems
