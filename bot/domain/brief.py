"""The facilitator's brief before a set meeting: when it goes, and what of the pulse it may show. Pure.

The brief goes the day before each meeting at BRIEF_HOUR in the facilitator's own zone. The set's pulse
is shown only as averages, and only when at least MIN_PULSE_ANSWERS members answered: fewer answers
would tell a facilitator how one person feels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.nudges import local_moment
from bot.domain.programme import CAPACITIES

BRIEF_HOUR = 8
MIN_PULSE_ANSWERS = 5
MOMENTS = ("start", "end")


def brief_time(meeting_starts: datetime, zone: ZoneInfo) -> datetime:
    """Gives when a meeting's brief goes, in UTC: the day before the meeting, at BRIEF_HOUR in `zone`."""
    day = meeting_starts.astimezone(zone).date() - timedelta(days=1)
    return local_moment(day, BRIEF_HOUR, 0, zone).astimezone(UTC)


@dataclass(frozen=True)
class PulseAnswer:
    """One member's answer to one pulse question (score None: skipped)."""

    person_id: int
    moment: str  # start | end
    capacity: str
    score: int | None


@dataclass(frozen=True)
class PulseMoment:
    """The set's pulse at one moment of a module: how many answered, and the averages when they may be shown."""

    moment: str
    answered: int  # distinct members with at least one score
    averages: tuple[tuple[str, float], ...]  # (capacity, average), in CAPACITIES order; empty when too few

    @property
    def shown(self) -> bool:
        """Gives whether the averages may be shown (enough members answered)."""
        return bool(self.averages)


def pulse_view(answers: Iterable[PulseAnswer]) -> tuple[PulseMoment, ...]:
    """Gives the set's pulse per moment that has answers: averages per capacity, each over at least
    MIN_PULSE_ANSWERS members' scores, or none at all when fewer members answered."""
    found = []
    listed = [a for a in answers if a.score is not None]
    for moment in MOMENTS:
        here = [a for a in listed if a.moment == moment]
        if not here:
            continue
        answered = len({a.person_id for a in here})
        averages: list[tuple[str, float]] = []
        if answered >= MIN_PULSE_ANSWERS:
            for capacity in CAPACITIES:
                scores = [a.score for a in here if a.capacity == capacity and a.score is not None]
                if len(scores) >= MIN_PULSE_ANSWERS:  # a capacity most skipped would single someone out too
                    averages.append((capacity, round(sum(scores) / len(scores), 1)))
        found.append(PulseMoment(moment, answered, tuple(averages)))
    return tuple(found)


def capacity_counts(tags: Iterable[str]) -> tuple[tuple[str, int], ...]:
    """Gives how often each of the four capacities was touched, in CAPACITIES order, leaving out those never touched."""
    counted = Counter(t for t in tags if t in CAPACITIES)
    return tuple((c, counted[c]) for c in CAPACITIES if counted[c])
