"""Programme files for the tests, built from a few parts with defaults instead of TOML typed out.

In the style of python-telegram-bot's ``tests/auxil/build_messages.py``: small factories with
defaults, so a test names only what it asserts on::

    programme(
        key="cpm-sets",
        modules=[module("m2", "The Person", events=[event("residential", "2027-05-10", "2027-05-14", place="Manchester")])],
        sets=[learning_set("set-a", "Set A", meetings=[meeting("2027-04-06T14:00:00", place="Utrecht")])],
    )

gives the text of a programme file, as a facilitator writes it and `pitstop programme check` reads
it. The text has one ``key = value`` per line, in the order the README's example uses (key, title,
theme, short_theme, capacities, starts, ends, focus_questions; kind, title, starts, ends, place; at,
title, place), with a
blank line before each table, so that a test of a deliberately broken file may still swap one line
of it. Dates are ISO text (``"2027-03-01"``, ``"2027-04-06T14:00:00"``) or `date`/`datetime` values;
they are written as TOML dates, never quoted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

Day = date | datetime | str


@dataclass(frozen=True)
class Event:
    """One dated event of a module: a residential, a pitstop, a theme day, a pre-work window…"""

    kind: str
    starts: Day
    ends: Day | None = None
    title: str | None = None
    place: str | None = None


@dataclass(frozen=True)
class Module:
    """One module of a programme with its events."""

    key: str
    title: str
    starts: Day
    ends: Day
    theme: str | None = None
    short_theme: str | Mapping[str, str] | None = None
    capacities: tuple[str, ...] | None = None
    events: tuple[Event, ...] = ()
    focus_questions: object = None


@dataclass(frozen=True)
class Meeting:
    """One meeting of a learning set."""

    at: Day
    place: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class LearningSet:
    """A learning set with its meetings."""

    key: str
    name: str
    meetings: tuple[Meeting, ...] = ()
    digest_days_before: int | None = None
    empty_digest: str | None = None


def event(
    kind: str = "residential", starts: Day = "2027-04-12", ends: Day | None = None, *, title: str | None = None,
    place: str | None = None,
) -> Event:
    """Gives an event; without `ends` it is a moment (a pitstop at 13:00) or a single day."""
    return Event(kind, starts, ends, title, place)


def module(
    key: str = "m1",
    title: str = "One",
    starts: Day = "2027-03-01",
    ends: Day = "2027-05-30",
    *,
    theme: str | None = None,
    short_theme: str | Mapping[str, str] | None = None,
    capacities: Iterable[str] | None = None,
    events: Iterable[Event] = (),
    focus_questions: object = None,
) -> Module:
    """Gives a module, by default "m1" from 1 March to 30 May 2027 without events.

    `focus_questions` is a list of texts or of ``{"text": …, "capacity": …}`` tables; any other value
    (a number, a bare text) is written as it is, for a test of a wrong file.
    """
    return Module(
        key, title, starts, ends, theme, short_theme, None if capacities is None else tuple(capacities), tuple(events),
        focus_questions,
    )


def meeting(at: Day, place: str | None = None, *, title: str | None = None) -> Meeting:
    """Gives a learning-set meeting at a local moment."""
    return Meeting(at, place, title)


def learning_set(
    key: str = "set-a", name: str = "Set A", meetings: Iterable[Meeting] = (), *,
    digest_days_before: int | None = None, empty_digest: str | None = None,
) -> LearningSet:
    """Gives a learning set, by default "set-a" called "Set A" without meetings."""
    return LearningSet(key, name, tuple(meetings), digest_days_before, empty_digest)


def programme(
    key: str = "test-programme",
    title: str = "Certified Public Manager",
    language: str = "en",
    timezone: str = "Europe/Amsterdam",
    modules: Iterable[Module] | None = None,
    sets: Iterable[LearningSet] = (),
    *,
    daily_messages: int | None = None,
    residential_prompt: str | None = None,
    quiet_after_days: int | None = None,
) -> str:
    """Gives the text of a programme file; by default one module ("m1") and no learning sets.

    A value left at None is left out of the file, so that the programme's own default applies.
    """
    lines = ["[programme]"]
    lines += _fields(
        key=key, title=title, language=language, timezone=timezone,
        daily_messages=daily_messages, residential_prompt=residential_prompt,
        quiet_after_days=quiet_after_days,
    )
    for part in [module()] if modules is None else modules:
        lines += ["", "[[modules]]"]
        lines += _fields(
            key=part.key, title=part.title, theme=part.theme, short_theme=part.short_theme,
            capacities=part.capacities, starts=_day(part.starts), ends=_day(part.ends),
            focus_questions=part.focus_questions,
        )
        for item in part.events:
            lines += ["", "[[modules.events]]"]
            lines += _fields(
                kind=item.kind, title=item.title, starts=_day(item.starts),
                ends=None if item.ends is None else _day(item.ends), place=item.place,
            )
    for group in sets:
        lines += ["", "[[sets]]"]
        lines += _fields(
            key=group.key, name=group.name,
            digest_days_before=group.digest_days_before, empty_digest=group.empty_digest,
        )
        for held in group.meetings:
            lines += ["", "[[sets.meetings]]"]
            lines += _fields(at=_day(held.at), title=held.title, place=held.place)
    return "\n".join(lines) + "\n"


class _Bare(str):
    """A value written as it is: a TOML date or date-time."""


def _day(value: Day) -> _Bare:
    """Gives a date as TOML writes it (a bare local date or date-time); refuses text that is not one."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return _Bare(value.isoformat())


def _fields(**values: object) -> list[str]:
    """Gives one `key = value` line per value that is set."""
    return [f"{name} = {_value(value)}" for name, value in values.items() if value is not None]


def _value(value: object) -> str:
    if isinstance(value, _Bare):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string.
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"no TOML for {value!r}")
