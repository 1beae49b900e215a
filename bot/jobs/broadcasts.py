"""Broadcast delivery: composing each copy, and keeping the facilitator's progress message up to date."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import Bot
from telegram.error import BadRequest, TelegramError

from bot.jobs.composed import Composed, cancelled
from bot.render import Renderer, moment_text
from bot.store import audit, broadcasts, people, programmes
from bot.store.db import Database
from bot.store.outbox import OutboxRow
from bot.store.people import Person

log = logging.getLogger(__name__)

EDIT_EVERY = 1.0  # seconds between progress edits of one message (Telegram dislikes rapid edits)


async def broadcast_text(db: Database, render: Renderer, broadcast: broadcasts.Broadcast, language: str) -> str:
    """Gives a broadcast as a recipient reads it: the same template for the preview and every copy."""
    stored = await programmes.get_programme_by_id(db, broadcast.programme_id)
    sender = await people.get_person(db, broadcast.created_by) if broadcast.created_by else None
    return render.message(
        language, "broadcast", text=broadcast.text, programme=stored.programme.title if stored else "",
        sender=sender.name if sender else "",
    )


async def launch(
    bot: Bot, db: Database, render: Renderer, sender: Person, broadcast: broadcasts.Broadcast, when: datetime,
    now: datetime, chat_id: int, via: str = "",
) -> int | None:
    """Posts the progress message in the sender's chat (edited as the copies go out) and plans one copy per
    recipient, now or at `when`; gives how many, or None when the broadcast went out before. The chat's
    *Send now* / *Schedule…* and the console's both come here."""
    recipients = await broadcasts.recipients(db, broadcast)
    scheduled = when > now
    text = render.message(
        sender.language, "broadcast_scheduled" if scheduled else "broadcast_progress",
        when=moment_text(when, sender.language, ZoneInfo(sender.timezone)), total=len(recipients), sent=0,
    )
    progress = await bot.send_message(chat_id, text)
    if not await broadcasts.launch(db, broadcast.id, when, recipients, chat_id, progress.message_id, now):
        return None
    await audit.record(
        db, now, str(sender.telegram_id), "broadcast.schedule" if scheduled else "broadcast.send", broadcast.programme_id,
        f"broadcast={broadcast.id} audience={broadcast.audience} recipients={len(recipients)}" + (f" via={via}" if via else ""),
    )
    log.info("broadcast launched id=%d recipients=%d scheduled=%s", broadcast.id, len(recipients), scheduled)
    return len(recipients)


async def compose_copy(db: Database, render: Renderer, row: OutboxRow) -> Composed:
    """Gives one recipient's copy, or why it is skipped (and the status it gets then)."""
    broadcast = await broadcasts.get(db, row.broadcast_id or 0)
    if broadcast is None or broadcast.status == "cancelled":
        return cancelled("broadcast cancelled")
    person = await people.get_person(db, row.person_id) if row.person_id is not None else None
    if person is None:
        return cancelled("person erased")
    if person.status == "blocked":
        return cancelled("blocked the bot", "blocked")
    return Composed(await broadcast_text(db, render, broadcast, person.language))


class ProgressReporter:
    """Edits each running broadcast's progress message in place, then reports the outcome once."""

    def __init__(self, db: Database, render: Renderer) -> None:
        self.db = db
        self.render = render
        self._last_edit: dict[int, float] = {}
        self._last_text: dict[int, str] = {}

    async def report(self, bot: Bot, now: datetime, force: bool = False) -> None:
        """Updates every broadcast that is going out (throttled, unless forced)."""
        for broadcast in await broadcasts.in_progress(self.db, now):
            if broadcast.status == "scheduled":
                await broadcasts.mark(self.db, broadcast.id, "sending", now)
            counts = await broadcasts.progress(self.db, broadcast.id)
            if counts.finished or counts.total == 0:
                await self._edit(bot, broadcast, counts, final=True)
                await broadcasts.mark(self.db, broadcast.id, "done", now)
                log.info(
                    "broadcast done id=%d delivered=%d blocked=%d failed=%d",
                    broadcast.id, counts.delivered, counts.blocked, counts.failed,
                )
                continue
            if force or time.monotonic() - self._last_edit.get(broadcast.id, 0.0) >= EDIT_EVERY:
                await self._edit(bot, broadcast, counts, final=False)

    async def _edit(self, bot: Bot, broadcast: broadcasts.Broadcast, counts: broadcasts.Progress, final: bool) -> None:
        if broadcast.progress_chat_id is None or broadcast.progress_message_id is None:
            return
        creator = await people.get_person(self.db, broadcast.created_by) if broadcast.created_by else None
        language = creator.language if creator else "en"
        text = self.render.message(
            language, "broadcast_done" if final else "broadcast_progress",
            sent=counts.delivered + counts.blocked + counts.failed, total=counts.total,
            delivered=counts.delivered, blocked=counts.blocked, failed=counts.failed,
        )
        if self._last_text.get(broadcast.id) == text:
            return
        self._last_edit[broadcast.id] = time.monotonic()
        self._last_text[broadcast.id] = text
        try:
            await bot.edit_message_text(text, chat_id=broadcast.progress_chat_id, message_id=broadcast.progress_message_id)
        except BadRequest:
            if final:  # the progress message is gone or unchanged: say the outcome anew
                await bot.send_message(broadcast.progress_chat_id, text)
        except TelegramError:
            log.warning("progress edit failed broadcast=%d", broadcast.id)
