"""/stats for facilitators (being written)."""

from __future__ import annotations

from telegram import Update

from bot.tg.context import PitstopContext
from bot.tg.roles import facilitator


async def show_stats(update: Update, context: PitstopContext) -> None:
    """Shows participation counts (not yet)."""
    await facilitator(update, context)
