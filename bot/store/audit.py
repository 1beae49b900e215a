"""The audit log: who did what, when. Never journal text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.store.codec import decode, encode
from bot.store.db import Database


@dataclass(frozen=True)
class AuditEntry:
    """One recorded action."""

    at: datetime
    actor: str
    action: str
    programme_id: int | None
    detail: str


async def record(
    db: Database, now: datetime, actor: str, action: str, programme_id: int | None = None, detail: str = ""
) -> None:
    """Records an action by a facilitator, an admin or the command line."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO audit_log (at, actor, action, programme_id, detail) VALUES (?,?,?,?,?)",
            (encode(now), actor, action, programme_id, detail),
        )


async def entries(db: Database, limit: int = 200) -> list[AuditEntry]:
    """Gives the most recent actions, oldest first."""
    rows = await db.fetchall(
        "SELECT at, actor, action, programme_id, detail FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)
    )
    return [AuditEntry(decode(r[0]), r[1], r[2], r[3], r[4]) for r in reversed(rows)]
