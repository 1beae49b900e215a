"""Broadcasts: a facilitator's message to a programme, a set or the facilitators, sent through the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.domain import plans
from bot.store.codec import decode, encode
from bot.store.db import Database
from bot.store.outbox import plan_many
from bot.store.people import Person, person_of

AUDIENCES = ("programme", "set", "facilitators")


@dataclass(frozen=True)
class Broadcast:
    """A broadcast row."""

    id: int
    programme_id: int
    learning_set_id: int | None
    audience: str
    text: str
    created_by: int | None
    status: str  # draft | scheduled | sending | done | cancelled
    scheduled_at: datetime | None
    progress_chat_id: int | None
    progress_message_id: int | None


@dataclass(frozen=True)
class Progress:
    """How far a broadcast got, counted from its outbox rows."""

    total: int
    delivered: int
    blocked: int
    failed: int
    waiting: int

    @property
    def finished(self) -> bool:
        """Gives whether every row has an outcome."""
        return self.total > 0 and self.waiting == 0


def _broadcast(r: aiosqlite.Row) -> Broadcast:
    return Broadcast(
        r["id"], r["programme_id"], r["learning_set_id"], r["audience"], r["text"], r["created_by"], r["status"],
        decode(r["scheduled_at"]),
        r["progress_chat_id"], r["progress_message_id"],
    )


async def create_draft(
    db: Database, programme_id: int, audience: str, learning_set_id: int | None, created_by: int, now: datetime
) -> int:
    """Starts a broadcast for an audience; gives its id."""
    if audience not in AUDIENCES:
        raise ValueError(audience)
    async with db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO broadcast (programme_id, learning_set_id, audience, text, created_by, status, created_at)"
            " VALUES (?,?,?,'',?,'draft',?)",
            (programme_id, learning_set_id, audience, created_by, encode(now)),
        )
        return int(cur.lastrowid or 0)


async def get(db: Database, broadcast_id: int) -> Broadcast | None:
    """Gives a broadcast."""
    row = await db.fetchone("SELECT * FROM broadcast WHERE id = ?", (broadcast_id,))
    return None if row is None else _broadcast(row)


async def set_text(db: Database, broadcast_id: int, text: str) -> None:
    """Stores the text of a draft."""
    async with db.transaction() as conn:
        await conn.execute("UPDATE broadcast SET text = ? WHERE id = ? AND status = 'draft'", (text, broadcast_id))


async def cancel(db: Database, broadcast_id: int) -> bool:
    """Cancels a draft or a scheduled broadcast and its planned rows; gives False once it is sending."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE broadcast SET status = 'cancelled' WHERE id = ? AND status IN ('draft', 'scheduled')", (broadcast_id,)
        )
        if cur.rowcount != 1:
            return False
        await conn.execute(
            "UPDATE outbox SET status = 'cancelled', last_error = 'broadcast cancelled'"
            " WHERE broadcast_id = ? AND status = 'pending'",
            (broadcast_id,),
        )
    return True


async def recipients(db: Database, broadcast: Broadcast) -> list[Person]:
    """Gives the people a broadcast goes to (active, and those who blocked the bot, to count them)."""
    if broadcast.audience == "set":
        sql = ("SELECT DISTINCT person.* FROM person JOIN membership ON membership.person_id = person.id"
               " WHERE membership.learning_set_id = ? AND membership.role = 'participant'"
               " AND person.status IN ('active', 'blocked') ORDER BY person.id")
        params: tuple[object, ...] = (broadcast.learning_set_id,)
    else:
        role = "participant" if broadcast.audience == "programme" else "facilitator"
        sql = ("SELECT DISTINCT person.* FROM person JOIN membership ON membership.person_id = person.id"
               " WHERE membership.programme_id = ? AND membership.role = ? AND person.status IN ('active', 'blocked')"
               " ORDER BY person.id")
        params = (broadcast.programme_id, role)
    return [person_of(r) for r in await db.fetchall(sql, params)]


async def launch(
    db: Database, broadcast_id: int, due_at: datetime, people: list[Person], progress_chat_id: int,
    progress_message_id: int, now: datetime,
) -> bool:
    """Plans one outbox row per recipient and marks the broadcast sending or scheduled; once only."""
    status = "scheduled" if due_at > now else "sending"
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE broadcast SET status = ?, scheduled_at = ?, progress_chat_id = ?, progress_message_id = ?"
            " WHERE id = ? AND status = 'draft' AND text != ''",
            (status, encode(due_at), progress_chat_id, progress_message_id, broadcast_id),
        )
        if cur.rowcount != 1:
            return False
        await plan_many(
            conn,
            [plans.broadcast_copy(broadcast_id, p, due_at) for p in people],
            now,
        )
    return True


async def progress(db: Database, broadcast_id: int) -> Progress:
    """Gives a broadcast's counts by outcome."""
    rows = await db.fetchall(
        "SELECT status, count(*) FROM outbox WHERE broadcast_id = ? GROUP BY status", (broadcast_id,)
    )
    counts = {r[0]: r[1] for r in rows}
    total = sum(v for k, v in counts.items() if k != "cancelled")
    return Progress(
        total=total,
        delivered=counts.get("sent", 0),
        blocked=counts.get("blocked", 0),
        failed=counts.get("failed", 0),
        waiting=counts.get("pending", 0) + counts.get("sending", 0),
    )


async def in_progress(db: Database, now: datetime) -> list[Broadcast]:
    """Gives broadcasts that are sending, or scheduled and due."""
    rows = await db.fetchall(
        "SELECT * FROM broadcast WHERE status = 'sending' OR (status = 'scheduled' AND scheduled_at <= ?)", (encode(now),)
    )
    return [_broadcast(r) for r in rows]


async def mark(db: Database, broadcast_id: int, status: str, now: datetime) -> None:
    """Moves a broadcast on (sending, done)."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE broadcast SET status = ?, finished_at = CASE WHEN ? = 'done' THEN ? ELSE finished_at END WHERE id = ?",
            (status, status, encode(now), broadcast_id),
        )
