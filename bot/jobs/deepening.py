"""What a follow-up quotes when the intention came from going deeper (bot.tg.deeper)."""

from __future__ import annotations

from datetime import datetime

from bot.store import deepening
from bot.store.db import Database
from bot.store.journal import Reflection


async def follow_up_quote(db: Database, intention: Reflection) -> tuple[str, datetime]:
    """Gives the words a follow-up quotes and when they were written: what the person said they will try
    at the end of going deeper, else the reflection itself.

    Composed when the follow-up is sent, so that an intention sharpened by going deeper after it was
    written is the one quoted.
    """
    trial = next((s for s in await deepening.thread(db, intention.id) if s.phase == "trial" and s.answer), None)
    if trial is None or trial.answered_at is None or trial.answer is None:
        return intention.text, intention.created_at
    return trial.answer, trial.answered_at
