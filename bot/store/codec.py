"""The one way a moment is written to and read from the database.

Every timestamp column holds UTC as ISO 8601 text of fixed width, with microseconds:
`2026-11-25T06:00:00.000000+00:00`. Fixed width makes text order time order, which the SQL
relies on (`due_at <= ?`, `created_at > ?`, `ORDER BY sent_at`).

Rows written before this module by the person, invite, membership, programme, event, audit and
import code hold the shorter form Python's `isoformat()` gives when the microseconds are zero
(`2026-11-25T06:00:00+00:00`). `decode` reads both to the same moment; no SQL compares those
columns with a parameter, so old rows need no rewriting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


def encode(moment: datetime) -> str:
    """Gives the stored text of an aware moment: UTC, fixed width, so that text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@overload
def decode(text: str) -> datetime: ...
@overload
def decode(text: None) -> None: ...
@overload
def decode(text: str | None) -> datetime | None: ...
def decode(text: str | None) -> datetime | None:
    """Gives the moment a stored text holds (in either form ever written), or None for an empty column."""
    return None if text is None else datetime.fromisoformat(text)
