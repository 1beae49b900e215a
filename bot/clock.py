"""The one source of "now": made at start-up and handed down, so tests and the demo control time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current moment as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        """Gives the current moment in UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: for tests and the demo's simulated weeks."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """Gives the simulated moment in UTC."""
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Moves the clock forward and gives the new moment."""
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        """Moves the clock to a moment (not backwards)."""
        moment = moment.astimezone(UTC)
        if moment < self._now:
            raise ValueError("the clock does not go backwards")
        self._now = moment
