"""What the console (and `programme export`) read that no other part needs: a programme's file as stored."""

from __future__ import annotations

from bot.store.db import Database


async def programme_source(db: Database, key: str) -> str | None:
    """Gives the text of a programme's file as last loaded, or as the console last wrote it; None for no such key."""
    row = await db.fetchone("SELECT source FROM programme WHERE key = ?", (key,))
    return None if row is None else str(row[0])
