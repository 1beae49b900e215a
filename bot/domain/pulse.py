"""The pulse: four one-tap questions (1–5, one per capacity) at the start and the end of each module.

Pure: when a module's pulses come for one person, whether a module's pulse still takes answers,
and a person's trend per capacity. The programme's start is its first module's start and its end
the last module's end, so the programme needs no pulse of its own.

Rules kept here (and in README's words):
- The start pulse comes at the person's first nudge moment in the module, the end pulse at their
  last one. Someone who joins after a module's first moment gets no start pulse for it (their
  first is its end); a module with one moment gets only the start pulse.
- A module's pulse takes answers while the module runs (its first to its last day, in the
  programme's zone); a press after that changes nothing. While it runs, pressing another score
  changes the answer (a mis-tap on a phone is put right by tapping again); the same score again
  changes nothing.
- My story comes on the evening of the module's last day, after the end pulse.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.nudges import EVENING_HOUR, NudgeSettings, local_moment, nudge_times
from bot.domain.programme import Module

CAPACITIES = ("cognitive", "relational", "intervention", "cross-boundary")
# One letter per capacity for a button's data (Telegram allows 64 bytes).
CODES = {"cognitive": "c", "relational": "r", "intervention": "i", "cross-boundary": "x"}
MOMENTS = ("start", "end")
SCORES = (1, 2, 3, 4, 5)


def capacity_of(code: str) -> str | None:
    """Gives the capacity a button's letter names, or None."""
    return next((c for c, letter in CODES.items() if letter == code), None)


def module_window(module: Module, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Gives [start, end) of a module in UTC: from its first day's midnight to the midnight after its last."""
    start = local_moment(module.starts, 0, 0, zone).astimezone(UTC)
    end = local_moment(module.ends + timedelta(days=1), 0, 0, zone).astimezone(UTC)
    return start, end


def pulse_times(
    settings: NudgeSettings, module: Module, zone: ZoneInfo, now: datetime, start_planned: datetime | None = None
) -> dict[str, datetime]:
    """Gives when a module's pulses come for a person: 'start' (when not planned yet) and 'end'.

    `start_planned` is the start pulse already planned or sent, if any: the end pulse is never the
    same moment as the start.
    """
    begin, finish = module_window(module, zone)
    every = nudge_times(settings, begin, finish)
    found: dict[str, datetime] = {}
    start = start_planned
    if start_planned is None and every and every[0] >= now:
        start = found["start"] = every[0]
    if every and every[-1] >= now and (start is None or every[-1] > start):
        found["end"] = every[-1]
    return found


def story_time(settings: NudgeSettings, module: Module) -> datetime:
    """Gives when the story of a module comes: the evening of its last day (20:00, or an hour after the
    person's own time when that is later), after the end pulse."""
    hour = max(EVENING_HOUR, min(settings.hour + 1, 23))
    return local_moment(module.ends, hour, settings.minute if hour != EVENING_HOUR else 0, settings.zone).astimezone(UTC)


def is_open(module: Module, today: date) -> bool:
    """Gives whether a module's pulse takes answers on a local day: while the module runs."""
    return module.starts <= today <= module.ends


@dataclass(frozen=True)
class Score:
    """One stored answer, as the trend reads it."""

    module_key: str
    moment: str
    capacity: str
    score: int | None  # None: skipped


@dataclass(frozen=True)
class Point:
    """One moment on the trend's axis: a module's start or end."""

    module_key: str
    moment: str


@dataclass(frozen=True)
class Trend:
    """A person's pulse over time: the moments answered, in programme order, and per capacity the
    score at each moment (None where skipped or not asked)."""

    points: tuple[Point, ...]
    scores: dict[str, tuple[int | None, ...]]

    def first_and_last(self, capacity: str) -> tuple[int, int, int] | None:
        """Gives (first score, last score, how many answers) of a capacity, or None without answers."""
        given = [s for s in self.scores.get(capacity, ()) if s is not None]
        return (given[0], given[-1], len(given)) if given else None

    @property
    def empty(self) -> bool:
        """Gives whether not one score was given."""
        return not any(s is not None for values in self.scores.values() for s in values)


def trend(answers: Iterable[Score], module_order: Sequence[str]) -> Trend:
    """Gives the trend of a person's answers: moments ordered by the programme's modules (start before
    end), only the moments with at least one answer or skip."""
    rank = {key: i for i, key in enumerate(module_order)}
    given = list(answers)
    points = sorted(
        {Point(a.module_key, a.moment) for a in given},
        key=lambda p: (rank.get(p.module_key, len(rank)), p.module_key, MOMENTS.index(p.moment)),
    )
    at = {(a.module_key, a.moment, a.capacity): a.score for a in given}
    scores = {c: tuple(at.get((p.module_key, p.moment, c)) for p in points) for c in CAPACITIES}
    return Trend(tuple(points), scores)
