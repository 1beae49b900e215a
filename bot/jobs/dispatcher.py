"""The dispatcher: woken by the JobQueue, it claims due outbox rows, sends them paced, records the result.

The outbox is what guarantees delivery; the repeating job only wakes the dispatcher, so a
missed run loses nothing and a restart adds no extra copy (python-telegram-bot #3642, #1034).
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from telegram import Bot, InputFile, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.domain import plans
from bot.jobs import compose, pulse
from bot.jobs.briefs import plan_briefs
from bot.jobs.broadcasts import EDIT_EVERY, ProgressReporter
from bot.jobs.learning_question import plan_questions
from bot.jobs.pacing import Pacer, SharedPacer
from bot.jobs.planner import plan_everyone
from bot.jobs.quiet import plan_checkins
from bot.jobs.reminders import plan_reminders
from bot.jobs.sets import expand_due_digests, group_lost, plan_sets
from bot.services import Services
from bot.store import outbox, people, sharing
from bot.store.outbox import OutboxRow

if TYPE_CHECKING:
    from telegram.ext import Application

log = logging.getLogger(__name__)

# Senders at once, so rows on their way at most: all a hard kill can double. 8 sent 10-20 % more a second
# with pacing off (bench/RESULTS.md, 2026-12-03); not worth doubling that. At 30/s, 4 are plenty.
CONCURRENCY = 4
MAX_ATTEMPTS = 6
# A send takes at most PTB's timeouts (5 s each to connect, write and read) plus a pause Telegram asks
# for; a claim older than this belongs to a send that died (a lost task, another process).
STALE_CLAIM = timedelta(minutes=10)
RECOVER_EVERY = timedelta(minutes=1)
RETRY_PAUSE = 4.0  # the longest wait between tries while Telegram cannot be reached
# Several processes on PostgreSQL: how often a process looks for claims of processes that died, and
# tries to take the planner's lock (so that the planner passes on within this of its holder's death).
DEAD_CHECK_EVERY = 5.0
LEAD_EVERY = 15.0
PLANNER_LOCK = "planner"
# Telegram's refusals that mean the bot cannot write to the chat at all (as opposed to this message).
GONE = ("chat not found", "not a member", "bot was kicked", "group chat was deactivated", "user is deactivated")


@dataclass(frozen=True)
class Part:
    """Which part of a row's text is being sent."""

    index: int
    total: int

    def label(self) -> str:
        """Gives "part 2 of 3: " for a later part of a long text, else nothing."""
        return f"part {self.index + 1} of {self.total}: " if self.total > 1 else ""


def chat_is_gone(exc: TelegramError) -> bool:
    """Gives whether Telegram refused because the bot cannot write to the chat (blocked, removed, gone)."""
    if isinstance(exc, Forbidden):
        return True
    return isinstance(exc, BadRequest) and any(words in exc.message.lower() for words in GONE)


def retry_seconds(exc: RetryAfter) -> float:
    """Gives RetryAfter's wait in seconds, whichever type this PTB version uses for it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22.2+ announces a change to timedelta
        value = exc.retry_after
    return float(value.total_seconds() if isinstance(value, timedelta) else value)


@dataclass
class _Run:
    """One run_once: its counts by outcome, whether a broadcast is going out, whether it still claims."""

    results: Counter[str]
    broadcasting: bool = False
    open: bool = True


class Dispatcher:
    """Sends what is due from the outbox."""

    def __init__(self, services: Services) -> None:
        self.services = services
        rate = services.settings.rate_per_second
        # Several processes may share a PostgreSQL database: then they pace together.
        self.pacer = SharedPacer(services.db, per_second=rate) if services.db.engine == "postgresql" else Pacer(per_second=rate)
        self._holder: str | None = None  # the name this process claims under (several processes)
        self._leading = False  # whether this process runs the planner (it holds the planner's lock)
        self._dead_checked = 0.0
        self._running = asyncio.Lock()
        self._stopping = False
        self._holding: dict[int, OutboxRow] = {}  # the rows being sent here now, by id
        self._recovered_at: datetime | None = None
        self._expanded_at = 0.0  # when the digests due were last expanded (time.monotonic)
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
        for job in queue.get_jobs_by_name("pitstop-lead"):
            job.schedule_removal()
        if self.services.db.engine == "postgresql":  # the planner's lock passes on when its process dies
            queue.run_repeating(self._lead, interval=LEAD_EVERY, first=LEAD_EVERY, name="pitstop-lead", job_kwargs=job_kwargs)

    async def start(self) -> None:
        """Puts rows left in flight by a hard kill back in line (of processes that died, where several run)."""
        self._holder = await self.services.db.holder()
        recovered = await outbox.recover_in_flight(self.services.db)
        if recovered:
            log.warning("recovered in-flight outbox rows count=%d (may arrive twice)", recovered)

    async def _tick(self, context: Any) -> None:
        await self.run_once(context.bot)

    async def _plan(self, context: Any) -> None:
        # One process plans at a time (on SQLite there is one): whoever holds the planner's lock.
        self._leading = await self.services.db.try_lock(PLANNER_LOCK)
        if self._leading:
            await self.plan()

    async def _lead(self, context: Any) -> None:
        """Takes the planner's lock when its holder is gone, and plans at once when it does."""
        was_leading, self._leading = self._leading, await self.services.db.try_lock(PLANNER_LOCK)
        if self._leading and not was_leading:
            log.info("planner lock taken over")
            await self.plan()

    async def plan(self) -> None:
        """Keeps the next week of nudges and the next two weeks of digests and case rounds planned."""
        now = self.services.clock.now()
        planned = await plan_everyone(self.services.db, now)
        digests = await plan_sets(self.services.db, now)
        reminders = await plan_reminders(self.services.db, now)
        journey = await pulse.plan_journey(self.services.db, now)
        briefs = await plan_briefs(self.services.db, now)
        questions = await plan_questions(self.services.db, now)
        checkins = await plan_checkins(self.services.db, now)
        log.info("planner ran people=%d digests=%d reminders=%d journey=%d briefs=%d questions=%d checkins=%d",
                 planned, digests, reminders, journey, briefs, questions, checkins)

    def request_stop(self) -> None:
        """Asks the run in progress to claim nothing more and end once what is in flight is recorded."""
        self._stopping = True

    async def stop(self) -> None:
        """Waits for the run in progress to record what is in flight, and starts no new one."""
        self._stopping = True
        async with self._running:
            pass

    async def run_once(self, bot: Bot) -> Counter[str]:
        """Sends every row due now, CONCURRENCY at a time; gives counts by outcome.

        At most CONCURRENCY rows are in flight (all a hard kill can double): CONCURRENCY senders, each
        holding one row. A row is claimed when a sender is free for it, or, after a row is sent, with its
        record in the same commit (the sender goes on with it), and only for a chat the pace allows now:
        a group's digest, one part per 3 s, waits as a pending row between parts instead of holding a sender.
        """
        results: Counter[str] = Counter()
        if self._running.locked() or self._stopping:
            return results
        async with self._running:
            await self._recover_stale()
            run = _Run(results)
            await self._expand_digests(run)
            senders: set[asyncio.Task[None]] = set()
            reported = time.monotonic()
            try:
                while True:
                    if time.monotonic() - self._expanded_at >= self.services.settings.dispatch_interval:
                        await self._expand_digests(run)
                    free = CONCURRENCY - len(senders)
                    if free > 0 and await self._may_claim():
                        for row in await outbox.claim_due(
                            self.services.db, self.services.clock.now(), free, self._waiting(), self._holder
                        ):
                            self._holding[row.id] = row
                            senders.add(asyncio.create_task(self._sender(bot, row, run)))
                    if not senders:
                        break
                    # Woken when a sender ends (a slot is free), and each EDIT_EVERY for a broadcast's progress.
                    done, _ = await asyncio.wait(senders, timeout=EDIT_EVERY, return_when=asyncio.FIRST_COMPLETED)
                    senders -= done
                    if run.broadcasting and time.monotonic() - reported >= EDIT_EVERY:
                        await self.progress.report(bot, self.services.clock.now())
                        reported = time.monotonic()
            finally:
                run.open = False  # a sender still going (this run was cancelled) claims nothing more
            await self.progress.report(bot, self.services.clock.now())
        if results:
            log.info("dispatch %s", " ".join(f"{k}={v}" for k, v in sorted(results.items())))
        return results

    async def _expand_digests(self, run: _Run) -> None:
        """Expands the digests due into their copies, many to a commit (bot.jobs.sets.expand_due_digests):
        at the start of a run and, in a long one, as often as the dispatcher is woken; claims pass over them."""
        self._expanded_at = time.monotonic()
        if not self._stopping:
            run.results.update(await expand_due_digests(
                self.services.db, self.services.render, self.services.clock.now(), holder=self._holder
            ))

    async def _may_claim(self) -> bool:
        """Gives whether rows may be claimed now: not stopping, and no pause (from any process) holds."""
        if self._stopping:
            return False
        if isinstance(self.pacer, SharedPacer):
            await self.pacer.refresh()
        return not self.pacer.paused()

    def _waiting(self, leaving: OutboxRow | None = None) -> frozenset[int]:
        """Gives the chats a claim must pass over: those being sent to here (but `leaving`'s, whose send is
        recorded in the claim's commit), those the pace holds back, and MEMBERS (expanded in batches)."""
        sending = {row.chat_id for row in self._holding.values() if row is not leaving}
        return frozenset(sending | self.pacer.waiting_chats() | {plans.MEMBERS})  # digests due: _expand_digests

    async def _sender(self, bot: Bot, first: OutboxRow, run: _Run) -> None:
        """Sends a claimed row, then each row claimed with the record of the one before, until none is."""
        row: OutboxRow | None = first
        while row is not None:
            try:
                outcome, following = await self._deliver(bot, row, run)
            except Exception:  # noqa: BLE001 -- even recording the failure failed (the database?)
                # The claim is recovered once it is stale.
                log.exception("dispatch could not record outbox=%d kind=%s", row.id, row.kind)
                outcome, following = "error", None
            finally:
                self._holding.pop(row.id, None)
            run.results[outcome] += 1
            run.broadcasting |= row.broadcast_id is not None
            if following is not None:
                self._holding[following.id] = following
            row = following

    def _then_claim(self, row: OutboxRow, run: _Run) -> outbox.Claim | None:
        """Gives the claim of the row a sender takes after `row` (made in the commit of its record), if any.

        What other processes hold back was learnt before the send (SharedPacer.refresh in _deliver)."""
        if not run.open or self._stopping or self.pacer.paused():
            return None
        return outbox.Claim(self.services.clock.now(), 1, self._waiting(leaving=row), self._holder)

    async def _recover_stale(self) -> None:
        """Puts claims that no send here holds and that are older than any send could take back in line,
        and (several processes) the claims of processes that died."""
        if time.monotonic() - self._dead_checked >= DEAD_CHECK_EVERY:
            self._dead_checked = time.monotonic()
            dead = await outbox.recover_dead(self.services.db, self._holding)
            if dead:
                log.warning("recovered the claims of a process that died count=%d (may arrive twice)", dead)
        now = self.services.clock.now()
        if self._recovered_at is not None and now - self._recovered_at < RECOVER_EVERY:
            return
        self._recovered_at = now
        recovered = await outbox.recover_stale(self.services.db, now - STALE_CLAIM, self._holding, self._holder)
        if recovered:
            log.warning("recovered stale outbox claims count=%d (may arrive twice)", recovered)

    async def _deliver(self, bot: Bot, row: OutboxRow, run: _Run) -> tuple[str, OutboxRow | None]:
        """Composes and sends one claimed row (one part of a long text), and always leaves it in a state;
        gives the outcome, and the row claimed next with a successful send's record (if any)."""
        db = self.services.db
        sending = False
        try:
            now = self.services.clock.now()
            composed = await compose.compose(db, self.services.render, row, now)
            if composed.cancel_reason is not None:  # what replaces it is planned in the same commit
                await outbox.mark(db, row.id, composed.cancel_status, composed.cancel_reason, expand=composed.expand, now=now,
                                  also=composed.writes)
                return ("expanded" if composed.expand else composed.cancel_status), None
            if composed.expand:
                await outbox.plan(db, composed.expand, now)
            parts = composed.texts
            total = len(parts) + (composed.photo is not None)  # a picture goes last, as a part of its own
            index = int(row.payload.get("parts_sent", 0))
            if index >= total:  # composed shorter than before a restart: what it holds has gone
                await outbox.mark_sent(db, row.id, row.telegram_message_id or 0, now)
                return "sent", None
            part = Part(index, total)
            if run.open and isinstance(self.pacer, SharedPacer):  # for the claim of the next row, after the send
                await self.pacer.refresh()
            sending = True
            try:
                if index == len(parts) and composed.photo is not None:
                    message = await self._send_photo(bot, row, composed.photo, composed.caption)
                else:
                    message = await self._send(
                        bot, row, parts[index], composed.keyboard if index == 0 else None,
                        composed.document if index == 0 else None,
                    )
            except TelegramError as exc:
                return await self._refused(row, exc, part), None
            then = self._then_claim(row, run)
            if index + 1 < total:
                following = await outbox.mark_part_sent(db, row.id, index + 1, message.message_id, then=then)
                return "part", next(iter(following), None)
            following = await outbox.mark_sent(
                db, row.id, row.telegram_message_id or message.message_id, self.services.clock.now(),
                composed.prompt_key, composed.module_key, then=then,
            )
            return "sent", next(iter(following), None)
        except Exception as exc:  # noqa: BLE001 -- every row ends in a state, whatever went wrong
            # Not Telegram's refusal: our bug, or an answer we cannot read (the message may have gone).
            # Not retried: a retry would repeat the bug, or the message.
            log.exception("dispatch error outbox=%d kind=%s sending=%s", row.id, row.kind, sending)
            reason = f"error: {type(exc).__name__}" + (" (may have been delivered)" if sending else "")
            await outbox.mark(db, row.id, "failed", reason[:200])
            return "failed", None
        except asyncio.CancelledError:
            if not sending:  # stopped before anything left: back in line, certainly not delivered
                await asyncio.shield(outbox.mark(db, row.id, "pending", "stopped before sending"))
            raise

    async def _refused(self, row: OutboxRow, exc: TelegramError, part: Part) -> str:
        """Records Telegram's refusal of one part: retried, failed, blocked, or the group lost."""
        db = self.services.db
        where = part.label()
        if isinstance(exc, RetryAfter):
            seconds = retry_seconds(exc)
            self.pacer.pause(float(seconds))
            await outbox.mark(db, row.id, "pending", f"{where}retry after {seconds}s")
            return "retry"
        if isinstance(exc, ChatMigrated):
            # A group became a supergroup: same people, new chat id. Follow it (from the first part).
            await outbox.mark(db, row.id, "failed", f"{where}chat migrated")
            await self._group_migrated(row, exc.new_chat_id)
            return "retry"
        if chat_is_gone(exc):
            if row.chat_id < 0:
                await outbox.mark(db, row.id, "failed", f"{where}{exc.message}"[:200])
                await outbox.cancel_all_for_chat(db, row.chat_id, "bot not in the group")
                await self._group_lost(row)  # the group refuses it: the members get it privately
                return "failed"
            if isinstance(exc, Forbidden):
                await self._blocked(row)
                return "blocked"
            await outbox.mark(db, row.id, "failed", f"{where}bad request: {exc.message}"[:200])
            return "failed"
        if isinstance(exc, (TimedOut, NetworkError)) and not isinstance(exc, BadRequest):
            # A timeout may have reached Telegram, so those are retried a few times only. No
            # answer at all (Telegram or the network down) is retried until it comes back:
            # an outage must not lose what fell due during it (stale prompts drop out by themselves).
            final = isinstance(exc, TimedOut) and row.attempts >= MAX_ATTEMPTS
            await outbox.mark(db, row.id, "failed" if final else "pending", f"{where}network: {type(exc).__name__}")
            if not final:  # at most RETRY_PAUSE apart: an outage's end delays what waits by no more
                self.pacer.pause(min(0.2 * 2.0 ** min(row.attempts, 8), RETRY_PAUSE))
            return "failed" if final else "retry"
        # Refused for what it is (too long, unparsable, ...): the chat is fine, this message is not.
        kind = "bad request" if isinstance(exc, BadRequest) else f"telegram: {type(exc).__name__}"
        log.warning("message refused outbox=%d kind=%s chat=%d %s%s", row.id, row.kind, row.chat_id, where, kind)
        await outbox.mark(db, row.id, "failed", f"{where}{kind}: {exc.message}"[:200])
        return "failed"

    async def _send(
        self, bot: Bot, row: OutboxRow, text: str, keyboard: Any, document: tuple[str, bytes] | None = None
    ) -> Message:
        async with self.pacer.slot(row.chat_id):
            if document is not None:  # a story: the file, the text as its caption
                name, content = document
                return await bot.send_document(row.chat_id, InputFile(content, filename=name), caption=text,
                                               reply_markup=keyboard)
            return await bot.send_message(row.chat_id, text, reply_markup=keyboard)

    async def _send_photo(self, bot: Bot, row: OutboxRow, photo: bytes, caption: str) -> Message:
        async with self.pacer.slot(row.chat_id):
            return await bot.send_photo(row.chat_id, photo=photo, caption=caption or None)

    async def _group_migrated(self, row: OutboxRow, new_chat_id: int) -> None:
        db, now = self.services.db, self.services.clock.now()
        for set_id in await sharing.unlink_group(db, row.chat_id):
            await sharing.link_group(db, set_id, new_chat_id)
        await outbox.plan(db, [plans.to_migrated_group(row, new_chat_id, now)], now)
        log.info("group migrated chat=%d new=%d", row.chat_id, new_chat_id)

    async def _group_lost(self, row: OutboxRow) -> None:
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
