"""The dispatcher: woken by the JobQueue, it claims due outbox rows, sends them paced, records the result.

The outbox is what guarantees delivery; the repeating job only wakes the dispatcher, so a
missed run loses nothing and a restart adds no extra copy (python-telegram-bot #3642, #1034).
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram import Bot, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.jobs import compose
from bot.jobs.broadcasts import ProgressReporter
from bot.jobs.pacing import Pacer
from bot.services import Services
from bot.store import outbox, people
from bot.store.outbox import OutboxRow

if TYPE_CHECKING:
    from telegram.ext import Application

log = logging.getLogger(__name__)

BATCH = 200
CONCURRENCY = 4  # more only adds contention in httpx's connection pool (measured in bench/delivery.py)
MAX_ATTEMPTS = 6


def retry_seconds(exc: RetryAfter) -> float:
    """Gives RetryAfter's wait in seconds, whichever type this PTB version uses for it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22.2+ announces a change to timedelta
        value = exc.retry_after
    return float(value.total_seconds() if isinstance(value, timedelta) else value)


class Dispatcher:
    """Sends what is due from the outbox."""

    def __init__(self, services: Services) -> None:
        self.services = services
        rate = services.settings.rate_per_second
        self.pacer = Pacer(per_second=rate)
        self._running = asyncio.Lock()
        self._stopping = False
        self.progress = ProgressReporter(services.db, services.render)

    def arm(self, app: Application) -> None:  # type: ignore[type-arg]
        """Starts the repeating jobs; re-arming is idempotent (jobs are replaced by name)."""
        queue = app.job_queue
        assert queue is not None, "python-telegram-bot[job-queue] is required"
        for job in queue.get_jobs_by_name("pitstop-dispatch") + queue.get_jobs_by_name("pitstop-plan"):
            job.schedule_removal()
        interval = self.services.settings.dispatch_interval
        # Late runs are fine; the outbox holds the truth. Coalesce so a stall gives one catch-up run;
        # overlapping runs return at once (run_once holds a lock), so APScheduler need not warn.
        job_kwargs = {"misfire_grace_time": None, "coalesce": True, "max_instances": 3}
        queue.run_repeating(self._tick, interval=interval, first=0.05, name="pitstop-dispatch", job_kwargs=job_kwargs)
        queue.run_repeating(
            self._plan, interval=self.services.settings.plan_interval, first=0.2, name="pitstop-plan", job_kwargs=job_kwargs
        )

    async def start(self) -> None:
        """Puts rows left in flight by a hard kill back in line."""
        recovered = await outbox.recover_in_flight(self.services.db)
        if recovered:
            log.warning("recovered in-flight outbox rows count=%d (may arrive twice)", recovered)

    async def _tick(self, context: Any) -> None:
        await self.run_once(context.bot)

    async def _plan(self, context: Any) -> None:
        await self.plan()

    async def plan(self) -> None:
        """Keeps the next week of nudges and the next two weeks of digests and case rounds planned."""
        from bot.jobs.planner import plan_everyone
        from bot.jobs.reminders import plan_reminders
        from bot.jobs.sets import plan_sets

        now = self.services.clock.now()
        planned = await plan_everyone(self.services.db, now)
        digests = await plan_sets(self.services.db, now)
        reminders = await plan_reminders(self.services.db, now)
        log.info("planner ran people=%d digests=%d reminders=%d", planned, digests, reminders)

    def request_stop(self) -> None:
        """Asks the run in progress to end after its current batch, and starts no new one."""
        self._stopping = True

    async def stop(self) -> None:
        """Waits for the run in progress to finish its batch, and starts no new one."""
        self._stopping = True
        async with self._running:
            pass

    async def run_once(self, bot: Bot) -> Counter[str]:
        """Sends every row due now, in batches; gives counts by outcome."""
        results: Counter[str] = Counter()
        if self._running.locked() or self._stopping:
            return results
        async with self._running:
            while not self._stopping:
                rows = await outbox.claim_due(self.services.db, self.services.clock.now(), BATCH)
                if not rows:
                    break
                gate = asyncio.Semaphore(CONCURRENCY)
                outcomes = await asyncio.gather(*(self._deliver(bot, row, gate) for row in rows))
                results.update(outcomes)
                if any(row.broadcast_id for row in rows):
                    await self.progress.report(bot, self.services.clock.now())
                if results["retry"] and len(rows) == results["retry"]:
                    break
            await self.progress.report(bot, self.services.clock.now())
        if results:
            log.info("dispatch %s", " ".join(f"{k}={v}" for k, v in sorted(results.items())))
        return results

    async def _deliver(self, bot: Bot, row: OutboxRow, gate: asyncio.Semaphore) -> str:
        db = self.services.db
        now = self.services.clock.now()
        composed = await compose.compose(db, self.services.render, row, now)
        if composed.expand:
            await outbox.plan(db, composed.expand, now)
        if composed.cancel_reason is not None:
            await outbox.mark(db, row.id, composed.cancel_status, composed.cancel_reason)
            return "expanded" if composed.expand else composed.cancel_status
        async with gate:
            try:
                message = await self._send(bot, row, composed)
            except RetryAfter as exc:
                seconds = retry_seconds(exc)
                self.pacer.pause(float(seconds))
                await outbox.mark(db, row.id, "pending", f"retry after {seconds}s")
                return "retry"
            except Forbidden:
                await self._blocked(row)
                return "blocked"
            except ChatMigrated as exc:
                # A group became a supergroup: same people, new chat id. Follow it.
                await outbox.mark(db, row.id, "failed", "chat migrated")
                await self._group_migrated(row, exc.new_chat_id)
                return "retry"
            except BadRequest as exc:
                await outbox.mark(db, row.id, "failed", f"bad request: {exc.message}"[:200])
                if row.chat_id < 0 and row.kind == "digest":
                    await self._group_lost(row)  # the group refuses it: the members get it privately
                return "failed"
            except (TimedOut, NetworkError) as exc:
                # A timeout may have reached Telegram, so those are retried a few times only. No
                # answer at all (Telegram or the network down) is retried until it comes back:
                # an outage must not lose what fell due during it (stale prompts drop out by themselves).
                final = isinstance(exc, TimedOut) and row.attempts >= MAX_ATTEMPTS
                await outbox.mark(db, row.id, "failed" if final else "pending", f"network: {type(exc).__name__}")
                if not final:
                    self.pacer.pause(min(0.2 * 2.0 ** min(row.attempts, 8), 30.0))
                return "failed" if final else "retry"
            except TelegramError as exc:
                await outbox.mark(db, row.id, "failed", f"telegram: {type(exc).__name__}")
                if row.chat_id < 0 and row.kind == "digest":
                    await self._group_lost(row)
                return "failed"
        await outbox.mark_sent(
            db, row.id, message.message_id, self.services.clock.now(), composed.prompt_key, composed.module_key
        )
        return "sent"

    async def _send(self, bot: Bot, row: OutboxRow, composed: compose.Composed) -> Message:
        async with self.pacer.slot(row.chat_id):
            first = await bot.send_message(row.chat_id, composed.text, reply_markup=composed.keyboard)
        for text in composed.more:
            await self._send_part(bot, row, text)
        return first

    async def _send_part(self, bot: Bot, row: OutboxRow, text: str) -> None:
        """Sends a further part of a long message once the first is out, never failing the row:
        retrying the row would send the first part again."""
        for _ in range(3):
            try:
                async with self.pacer.slot(row.chat_id):
                    await bot.send_message(row.chat_id, text)
                return
            except RetryAfter as exc:
                self.pacer.pause(retry_seconds(exc))
                await asyncio.sleep(retry_seconds(exc))
            except TelegramError as exc:
                log.warning("a further part was not delivered outbox=%d error=%s", row.id, type(exc).__name__)
                return

    async def _group_migrated(self, row: OutboxRow, new_chat_id: int) -> None:
        from bot.store import sharing

        db, now = self.services.db, self.services.clock.now()
        for set_id in await sharing.unlink_group(db, row.chat_id):
            await sharing.link_group(db, set_id, new_chat_id)
        await outbox.plan(db, [outbox.Planned(row.kind, new_chat_id, now, f"{row.dedupe_key}:to:{new_chat_id}",
                                              person_id=row.person_id, payload=row.payload)], now)
        log.info("group migrated chat=%d new=%d", row.chat_id, new_chat_id)

    async def _group_lost(self, row: OutboxRow) -> None:
        from bot.jobs.sets import group_lost

        await group_lost(self.services.db, row, self.services.clock.now())

    async def _blocked(self, row: OutboxRow) -> None:
        """Marks a person who blocked the bot, so that nothing more is planned or retried for them."""
        db = self.services.db
        # The person first: the planner plans only for active people, so nothing new slips in after.
        if row.person_id is not None:
            person = await people.get_person(db, row.person_id)
            if person is not None and person.status != "blocked":
                await people.update_person(db, person.id, self.services.clock.now(), status="blocked")
                log.info("person blocked the bot person=%d", person.id)
        await outbox.mark(db, row.id, "blocked", "forbidden")
        await outbox.cancel_all_for_chat(db, row.chat_id, "forbidden")
        if row.chat_id < 0:
            await self._group_lost(row)
