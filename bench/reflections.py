"""reflections: journal replies handled a second, end to end, beside a bare echo bot.

The real application (`bot.runtime.launch`, long polling, every handler, SQLite with
synchronous=FULL, the dispatcher and planner jobs armed) against `bot.sandbox.fakeapi.FakeTelegram`
on loopback. Participants are seeded active with SQL, each with a prompt sent an hour ago and
some older journal entries; each then types messages one after the other, waiting for the
bot's acknowledgement ("Kept in your journal" / "Added to the same reflection") before typing
the next. All users type at once, so the bot always has work queued (closed loop).

Side by side, in the same run and the same harness: a bare python-telegram-bot echo bot
(ApplicationBuilder with base_url, one MessageHandler that sends the text back) against a
fresh fake. The ratio Pitstop / echo says what Pitstop's own work costs on top of the library.

Latency is from `fake.send_text` to the moment the fake receives the bot's reply. Replies are
caught by a hook on the fake's record of each sent message rather than `fake.wait_for`, whose
waiters rescan every message ever sent on each wake-up and would bill the harness to the bots.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    FIRST_TELEGRAM_ID,
    aim,
    figure,
    header,
    load_programme,
    median,
    percentile,
    programme_toml,
    scratch,
    seed_participants,
)
from bot.sandbox.fakeapi import FakeTelegram, FakeUser, SentMessage

NAME = "reflections"
USERS = 50
MESSAGES_PER_USER = 10
RUNS = 3
HISTORY_PER_USER = 20
SOLO_MESSAGES = 50
REPLY_TIMEOUT = 30.0
TEXT = (
    "Today I tried to let the team decide on the planning themselves, and noticed how hard it "
    "is for me to stay quiet. Message {n}."
)

# The openings of kept_new / kept_more in English and Dutch (a third of the seeded people are Dutch).
ACKNOWLEDGEMENTS = (
    "Kept in your journal",
    "Added to the same reflection",
    "Bewaard in je dagboek",
    "Toegevoegd aan dezelfde reflectie",
)


class ReplyHook(FakeTelegram):
    """The fake Bot API, handing each message the bot sends to a per-chat queue with its time."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.replies: dict[int, asyncio.Queue[tuple[float, SentMessage]]] = {}

    def queue(self, chat_id: int) -> asyncio.Queue[tuple[float, SentMessage]]:
        """Gives the queue of a chat's replies, made on first use."""
        return self.replies.setdefault(chat_id, asyncio.Queue())

    def _record(
        self, call: Any, chat_id: int, text: Any, parse_mode: Any, content: Any
    ) -> SentMessage:
        sent = super()._record(call, chat_id, text, parse_mode, content)
        self.queue(chat_id).put_nowait((time.perf_counter(), sent))
        return sent


def users(count: int, first: int = FIRST_TELEGRAM_ID) -> list[FakeUser]:
    """Gives fake users matching the seeded participants' Telegram ids."""
    return [
        FakeUser(id=first + i, first_name=f"Participant {i}", language_code="en")
        for i in range(count)
    ]


async def converse(
    fake: ReplyHook,
    user: FakeUser,
    count: int,
    expect: Any,
    latencies: list[float],
    wrong: list[str],
) -> None:
    """Types `count` messages, each after the reply to the previous one; records each latency."""
    queue = fake.queue(user.id)
    for n in range(count):
        text = TEXT.format(n=n)
        start = time.perf_counter()
        await fake.send_text(user, text)
        while True:
            arrived, sent = await asyncio.wait_for(queue.get(), REPLY_TIMEOUT)
            if expect(text, sent.text or ""):
                break
            # Something else (a reminder the dispatcher sent, or an unexpected answer): noted, skipped.
            wrong.append((sent.text or "")[:60])
        latencies.append(arrived - start)


async def drive(fake: ReplyHook, people: list[FakeUser], count: int, expect: Any) -> dict[str, Any]:
    """Lets every user converse at once; gives rate and latencies."""
    latencies: list[float] = []
    wrong: list[str] = []
    start = time.perf_counter()
    await asyncio.gather(*(converse(fake, u, count, expect, latencies, wrong) for u in people))
    seconds = time.perf_counter() - start
    return {"updates": len(latencies), "seconds": seconds, "latencies": latencies, "wrong": wrong}


def is_acknowledgement(_text: str, reply: str) -> bool:
    """Gives whether a reply is Pitstop's acknowledgement of a journal message."""
    return reply.startswith(ACKNOWLEDGEMENTS)


def is_echo(text: str, reply: str) -> bool:
    """Gives whether a reply is the echo of the text."""
    return reply == text


# --------------------------------------------------------------------------- Pitstop


async def seed(path: Path, count: int) -> None:
    """Creates the database: a programme running now, `count` active participants, each with a
    prompt sent an hour ago and some older journal entries; no nudges planned during the run."""
    from bot.clock import SystemClock
    from bot.render import Renderer
    from bot.store.db import open_database
    from bot.store.outbox import ts

    now = SystemClock().now()
    db = await open_database(path)
    try:
        start = date.fromordinal(now.date().toordinal() - 30)
        programme_id, set_ids = await load_programme(db, programme_toml(start), now)
        prompt_key = next(
            p.key for p in Renderer().library if not p.intention and "between" in p.phases
        )
        async with db.transaction() as conn:
            # No nudge days: the planner job finds nothing to plan, no prompt interrupts the run.
            await seed_participants(conn, programme_id, set_ids, count, now, nudge_days="")
            await conn.executemany(
                "INSERT INTO outbox (kind, person_id, chat_id, due_at, status, dedupe_key, payload, prompt_key,"
                " module_key, telegram_message_id, sent_at, created_at)"
                " SELECT 'prompt', id, chat_id, ?, 'sent', 'prompt:' || id || ':bench', '{}', ?, 'm1', 1, ?, ?"
                " FROM person WHERE telegram_id = ?",
                [
                    (
                        ts(now - timedelta(hours=1)),
                        prompt_key,
                        ts(now - timedelta(hours=1)),
                        ts(now),
                        FIRST_TELEGRAM_ID + i,
                    )
                    for i in range(count)
                ],
            )
            history = []
            for i in range(count):
                for k in range(HISTORY_PER_USER):
                    history.append(
                        (FIRST_TELEGRAM_ID + i, ts(now - timedelta(days=HISTORY_PER_USER - k + 1)))
                    )
            await conn.executemany(
                "INSERT INTO reflection (person_id, programme_id, module_key, phase, created_at, updated_at)"
                " SELECT id, ?, 'm1', 'between', ?, ? FROM person WHERE telegram_id = ?",
                [(programme_id, when, when, telegram_id) for telegram_id, when in history],
            )
            await conn.execute(
                "INSERT INTO reflection_part (reflection_id, chat_id, message_id, text, created_at)"
                " SELECT r.id, p.chat_id, 100000 + r.id, ?, r.created_at FROM reflection r"
                " JOIN person p ON p.id = r.person_id",
                ("An older reflection about a meeting that went differently than planned.",),
            )
    finally:
        await db.close()


async def pitstop_run(
    folder: Path, people: int, per_user: int, warm: list[FakeUser]
) -> dict[str, Any]:
    """Seeds, launches the real application, drives it, stops it."""
    from bot.clock import SystemClock
    from bot.config import Settings
    from bot.render import Renderer
    from bot.runtime import halt, launch
    from bot.store.db import open_database

    path = folder / "pitstop.db"
    await seed(path, people + len(warm))
    fake = ReplyHook(token="123456:" + "A" * 35)
    await fake.start()
    db = await open_database(path)
    settings = Settings(token=fake.token, base_url=fake.base_url, db_path=path)
    app = await launch(settings, SystemClock(), db, Renderer(), poll_timeout=10)
    try:
        await drive(fake, warm, 2, is_acknowledgement)
        loaded = await drive(
            fake, users(people, FIRST_TELEGRAM_ID + len(warm)), per_user, is_acknowledgement
        )
        # Count the SQL statements of the one-user phase (background jobs included): where time goes.
        statements: list[str] = []
        await db.conn._execute(db.conn._conn.set_trace_callback, statements.append)  # type: ignore[attr-defined]
        solo = await drive(fake, warm[:1], SOLO_MESSAGES, is_acknowledgement)
        await db.conn._execute(db.conn._conn.set_trace_callback, None)  # type: ignore[attr-defined]
        stored = int(await db.scalar("SELECT count(*) FROM reflection_part") or 0)
    finally:
        await halt(app)
        await db.close()
        await fake.stop()
    loaded["solo"] = solo
    loaded["stored_parts"] = stored
    loaded["statements"] = len(statements) / SOLO_MESSAGES
    loaded["commits"] = (
        sum(1 for x in statements if x.strip().upper().startswith("COMMIT")) / SOLO_MESSAGES
    )
    loaded["errors"] = fake.internal_errors
    return loaded


# --------------------------------------------------------------------------- the echo bot


async def echo_run(people: int, per_user: int, warm: list[FakeUser]) -> dict[str, Any]:
    """A bare python-telegram-bot echo bot against a fresh fake, driven the same way."""
    from telegram import Update
    from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

    fake = ReplyHook(token="123456:" + "A" * 35)
    await fake.start()
    app = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(f"{fake.base_url}/bot")
        .base_file_url(f"{fake.base_url}/file/bot")
        .build()
    )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None and message.text is not None
        await context.bot.send_message(message.chat_id, message.text)

    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=10, drop_pending_updates=False)
    try:
        await drive(fake, warm, 2, is_echo)
        loaded = await drive(fake, users(people, FIRST_TELEGRAM_ID + len(warm)), per_user, is_echo)
        solo = await drive(fake, warm[:1], SOLO_MESSAGES, is_echo)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await fake.stop()
    loaded["solo"] = solo
    loaded["errors"] = fake.internal_errors
    return loaded


# --------------------------------------------------------------------------- the benchmark


async def measure(
    people: int, per_user: int, runs: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Alternates Pitstop and echo runs; gives both lists of results."""
    warm = users(5)
    ours, theirs = [], []
    for _ in range(runs):
        with scratch("reflections") as folder:
            ours.append(await pitstop_run(folder, people, per_user, warm))
        theirs.append(await echo_run(people, per_user, warm))
    return ours, theirs


def summary(results: list[dict[str, Any]]) -> dict[str, float]:
    """Gives the median rate and the pooled latency percentiles (ms) of a bot's runs."""
    rates = [r["updates"] / r["seconds"] for r in results]
    pooled = [x for r in results for x in r["latencies"]]
    solo = [x for r in results for x in r["solo"]["latencies"]]
    return {
        "rate": median(rates),
        "rates": rates,
        "p50": percentile(pooled, 50) * 1000,
        "p99": percentile(pooled, 99) * 1000,
        "solo_p50": percentile(solo, 50) * 1000,
        "solo_p99": percentile(solo, 99) * 1000,
        "wrong": sum(len(r["wrong"]) for r in results),
        "errors": sum(len(r["errors"]) for r in results),
    }


def main() -> None:
    """Prints the reflections figures."""
    logging.getLogger("bot").setLevel(logging.WARNING)
    header(
        "reflections",
        "journal replies handled/s end to end (bot.runtime.launch + FakeTelegram) vs a bare PTB echo bot",
        participants=f"{USERS} typing at once (+5 for warm-up and the one-user latency), active, seeded by SQL",
        messages=f"{MESSAGES_PER_USER} per participant, each after the previous reply = "
        f"{USERS * MESSAGES_PER_USER} updates a run; one-user latency: {SOLO_MESSAGES} in a row",
        runs=f"{RUNS}, Pitstop and echo alternating (median rate; latency pooled over runs)",
        journal=f"{HISTORY_PER_USER} older entries per participant; a prompt sent an hour ago",
        settings="long polling (timeout 10), concurrent_updates off (both bots), SQLite synchronous=FULL",
    )
    ours, theirs = asyncio.run(measure(USERS, MESSAGES_PER_USER, RUNS))
    mine, echo = summary(ours), summary(theirs)
    for label, s in (("Pitstop", mine), ("echo bot", echo)):
        figure(
            f"{label}: updates/s ({USERS} users typing)",
            f"{s['rate']:7.1f} /s  (runs: {', '.join(f'{x:.1f}' for x in s['rates'])})",
        )
        figure(
            f"{label}: latency p50 / p99 under load",
            f"{s['p50']:7.1f} / {s['p99']:.1f} ms",
        )
        figure(
            f"{label}: latency p50 / p99, one user",
            f"{s['solo_p50']:7.1f} / {s['solo_p99']:.1f} ms",
        )
        if s["wrong"] or s["errors"]:
            figure(
                f"{label}: note", f"{s['wrong']} other messages skipped, {s['errors']} fake errors"
            )
    ratio = mine["rate"] / echo["rate"]
    figure("ratio Pitstop / echo", f"{ratio:.2f}", aim(ratio >= 0.7, ">= 0.7"))
    parts = ours[-1]["stored_parts"]
    figure(
        "journal messages stored (last run)",
        f"{parts:,} reflection_part rows (incl. seeded history)",
    )
    figure(
        "Pitstop: SQL per journal message",
        f"{median([r['statements'] for r in ours]):.1f} statements, "
        f"{median([r['commits'] for r in ours]):.1f} commits (one user; background jobs included)",
    )


if __name__ == "__main__":
    main()
