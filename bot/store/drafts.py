"""Drafts: typed text that is shared only once its author confirms it (a takeaway, a case)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.store.codec import decode, encode
from bot.store.db import Database


@dataclass(frozen=True)
class Draft:
    """A takeaway or case as typed, waiting for *share* or *keep private*."""

    id: int
    person_id: int
    kind: str
    target_id: int
    origin_message: int | None
    chat_id: int
    message_id: int
    text: str
    created_at: datetime


async def create(
    db: Database, person_id: int, kind: str, target_id: int, origin_message: int | None,
    chat_id: int, message_id: int, text: str, now: datetime,
) -> int:
    """Keeps a typed takeaway or case until its author answers; gives the draft's id."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO draft (person_id, kind, target_id, origin_message, chat_id, message_id, text, created_at)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (person_id, kind, target_id, origin_message, chat_id, message_id, text, encode(now)),
        )
        return int(cur.lastrowid or 0)


async def take(db: Database, draft_id: int, person_id: int) -> Draft | None:
    """Removes and gives a person's draft, so that it is answered once; None if it is gone or not theirs."""
    async with db.transaction() as conn:
        row = next(iter(await conn.execute_fetchall(
            "DELETE FROM draft WHERE id = ? AND person_id = ? RETURNING *", (draft_id, person_id)
        )), None)
    if row is None:
        return None
    return Draft(
        row["id"], row["person_id"], row["kind"], row["target_id"], row["origin_message"], row["chat_id"],
        row["message_id"], row["text"], decode(row["created_at"]),
    )


async def for_person(db: Database, person_id: int) -> list[tuple[str, str, datetime]]:
    """Gives (kind, text, written) of a person's unanswered drafts, oldest first (for /export)."""
    rows = await db.fetchall(
        "SELECT kind, text, created_at FROM draft WHERE person_id = ? ORDER BY id", (person_id,)
    )
    return [(r[0], r[1], decode(r[2])) for r in rows]
