"""Several webhook processes, one bot: each update handled once, and one chat's updates in order.

With PostgreSQL, `pitstop run` can run as several processes behind one https address, and the
reverse proxy hands each of Telegram's requests to any of them. The process that receives an update
stores it in the inbox (once: a resend has the same update_id) and answers Telegram; then whichever
process holds the chat's lock (a PostgreSQL session lock, bot.store.db.Database.try_lock) handles the
chat's waiting updates one by one, oldest first, and marks each handled. A process that dies gives up
its locks with its connection, and another picks up what waits (the sweep below), so an update whose
handling a crash cut off is handled again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta

from telegram import Update

from bot.store import inbox
from bot.tg.context import PitstopApplication
from bot.tg.updates import RUNNING, chat_key

log = logging.getLogger(__name__)

SWEEP_EVERY = 0.25  # seconds between looks for updates no process is handling
SWEEP_AFTER = timedelta(seconds=0.2)  # an update this old and not handled has no drainer
PRUNE_EVERY = 3600.0


class Drainer:
    """Handles the inbox's updates of the chats whose lock this process can take."""

    def __init__(self, app: PitstopApplication) -> None:
        self.app = app
        self.db = app.services.db
        self._draining: dict[int, asyncio.Task[None]] = {}
        self._running = asyncio.Semaphore(RUNNING)
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = False
        self.handled = 0

    async def take(self, update_id: int, raw: dict[str, object], update: Update) -> None:
        """Stores an update Telegram sent (committed before Telegram hears 200) and starts on its chat."""
        chat = chat_key(update)
        fresh = await inbox.take(self.db, update_id, chat, json.dumps(raw, ensure_ascii=False), datetime.now(UTC))
        if not fresh:
            log.info("update taken before update_id=%d", update_id)
        self.kick(chat)

    def kick(self, chat: int) -> None:
        """Starts handling a chat's waiting updates here, unless that is going on already."""
        if self._stopping or chat in self._draining:
            return
        task = asyncio.get_running_loop().create_task(self._drain(chat))
        self._draining[chat] = task
        task.add_done_callback(lambda _: self._draining.pop(chat, None))

    def start(self) -> None:
        """Starts the sweep that picks up what no process is handling (a process died, a lock was busy)."""
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def stop(self) -> None:
        """Stops taking chats and waits for the updates being handled (each is marked when it is done)."""
        self._stopping = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        await asyncio.gather(*self._draining.values(), return_exceptions=True)

    async def _sweep(self) -> None:
        pruned = 0.0
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            try:
                for chat in await inbox.waiting_chats(self.db, datetime.now(UTC) - SWEEP_AFTER):
                    self.kick(chat)
                if loop.time() - pruned > PRUNE_EVERY:
                    pruned = loop.time()
                    await inbox.prune(self.db, datetime.now(UTC))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 -- the database away for a moment: look again next time
                log.warning("inbox sweep failed; trying again", exc_info=True)

    async def _drain(self, chat: int) -> None:
        lock = f"chat:{chat}"
        while not self._stopping:
            if not await self.db.try_lock(lock):
                return  # another process handles this chat; the sweep comes back if it stops
            try:
                await self._drain_held(chat, lock)
            finally:
                await self.db.unlock(lock)
            # An update stored while the lock was being given up would wait for the sweep: look once more.
            if not await inbox.waiting(self.db, chat, limit=1):
                return

    async def _drain_held(self, chat: int, lock: str) -> None:
        """Handles the chat's waiting updates while this process holds its lock. Before each update the
        lock is confirmed: when its connection was lost (and with it the lock, which another process
        may have taken meanwhile), what waits is read afresh under the lock taken again."""
        epoch = self.db.lock_epoch
        while not self._stopping and (waiting := await inbox.waiting(self.db, chat)):
            for update_id, body in waiting:
                if self._stopping:
                    return
                if not await self.db.try_lock(lock) or self.db.lock_epoch != epoch:
                    log.warning("lost a chat's lock with its connection; looking afresh")
                    return
                await self._handle(update_id, body)

    async def _handle(self, update_id: int, body: str) -> None:
        """Runs the handlers for one update and marks it handled, whatever they did."""
        async with self._running:
            try:
                update = Update.de_json(json.loads(body), self.app.bot)
                self.app.bot.insert_callback_data(update)
                await self.app.process_update(update)
            except Exception:  # noqa: BLE001 -- one update's failure must not hold its chat forever
                log.exception("update failed update_id=%d", update_id)
            await inbox.handled(self.db, update_id, datetime.now(UTC))
            self.handled += 1
