"""Storing a programme's calendar and planning from it at once: the one way `programme load` and the
console's calendar both take."""

from __future__ import annotations

from datetime import datetime

from bot.domain.programme import Programme
from bot.jobs import reminders, sets
from bot.store import audit, programmes
from bot.store.db import Database
from bot.store.programmes import LoadResult


async def store_programme(
    db: Database, programme: Programme, source: str, now: datetime, actor: str,
    action: str = "programme.load", detail: str | None = None,
) -> LoadResult:
    """Stores a checked programme in one transaction, records who did it, and plans its reminders, digests and
    case rounds anew: a running bot would do so within the hour, doing it now makes the change count at once."""
    result = await programmes.save_programme(db, programme, source, now)
    await audit.record(db, now, actor, action, result.programme_id, programme.key if detail is None else detail)
    await reminders.replan_programme(db, result.programme_id, now)
    await sets.replan_programme(db, result.programme_id, now)
    return result
