"""Updates a webhook process took, waiting for whichever process handles their chat (PostgreSQL with
several processes; see bot.tg.inbox). A body may hold journal text: it is emptied once handled."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from bot.store.codec import encode
from bot.store.db import Database

KEEP_HANDLED = timedelta(days=1)  # Telegram gives up resending an update long before this


async def take(db: Database, update_id: int, chat_id: int, body: str, now: datetime) -> bool:
    """Stores an update once; gives False when it was taken before (Telegram sent it again)."""
    return await db.write(lambda conn: conn.execute(
        "INSERT INTO inbox (update_id, chat_id, body, received_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (update_id) DO NOTHING",
        (update_id, chat_id, body, encode(now)),
    ).rowcount == 1)


async def waiting(db: Database, chat_id: int, limit: int = 20) -> list[tuple[int, str]]:
    """Gives a chat's updates not handled yet, oldest first: (update_id, body)."""
    rows = await db.fetchall(
        "SELECT update_id, body FROM inbox WHERE chat_id = ? AND handled_at IS NULL ORDER BY update_id LIMIT ?",
        (chat_id, limit),
    )
    return [(int(r[0]), str(r[1])) for r in rows]


async def waiting_chats(db: Database, received_before: datetime, limit: int = 500) -> list[int]:
    """Gives the chats with an update not handled yet that came in before `received_before`, the chat
    whose update waits longest first (so that a long backlog cannot keep some chats waiting for ever)."""
    rows = await db.fetchall(
        "SELECT chat_id FROM inbox WHERE handled_at IS NULL AND received_at < ?"
        " GROUP BY chat_id ORDER BY min(update_id) LIMIT ?",
        (encode(received_before), limit),
    )
    return [int(r[0]) for r in rows]


async def handled(db: Database, update_id: int, now: datetime) -> None:
    """Marks an update handled and empties its body (its id stays a day, so that a resend is known)."""
    await db.write(lambda conn: conn.execute(
        "UPDATE inbox SET handled_at = ?, body = '' WHERE update_id = ?", (encode(now), update_id)
    ))


def _prune(before: str, conn: sqlite3.Connection) -> int:
    return conn.execute("DELETE FROM inbox WHERE handled_at IS NOT NULL AND handled_at < ?", (before,)).rowcount


async def prune(db: Database, now: datetime) -> int:
    """Forgets updates handled more than a day ago; gives how many."""
    return await db.write(lambda conn: _prune(encode(now - KEEP_HANDLED), conn))
