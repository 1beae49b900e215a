"""reflections: journal replies handled a second, end to end, beside a bare echo bot, with the CPU each costs.

What each bot runs, as it really is:

- **Pitstop**: the real application (`bot.runtime.launch`: long polling, every handler, the dispatcher
  and planner jobs armed, SQLite with synchronous=FULL; then, as `pitstop run` does, what start-up left
  alive is frozen out of later garbage collections, `bot.runtime.spare_the_collector`), on the event loop
  `pitstop run` runs on (`bot.loop.run_loop`: uvloop's), its requests over aiohttp (`bot.tg.request`,
  long polling included). Its update processor
  (`bot.tg.updates.PerChatUpdateProcessor`) handles different chats side by side (up to 32 handlers at
  once), one chat's updates in order. Each journal message is stored durably (the group commit,
  bot.store.db) before its acknowledgement ("Kept in your journal" / "Added to the same reflection").
- **echo bot**: a bare python-telegram-bot `Application` with one `MessageHandler` that sends the text
  back, `concurrent_updates` off (the library's default: one update at a time), the same polling
  settings and the same default parse mode as Pitstop (HTML); PTB's own requests (httpx) on asyncio's own
  loop, as a bare PTB bot has them. The issue's aims compare with this bot.
- **echo bot, Pitstop's loop**: the same echo bot on Pitstop's event loop with Pitstop's requests (aiohttp),
  so that what Pitstop costs beyond answering at all shows too.

The fake Bot API (`bot.sandbox.fakeapi.FakeTelegram`) and the simulated users run in a process of their
own (this module with `--driver`), so that the bot's process does only the bot's work: its main-thread
CPU (`time.thread_time` around each phase) and the CPU of its other threads (aiosqlite's) are given per
update beside the rate, and are far steadier than the rate on a shared machine.

Phases, each run: a warm-up; **closed loop**: USERS users type at once, each waiting for the reply
before typing the next (the bot always has work queued; gives the rate); **one user**: one user types
SOLO_MESSAGES in a row (latency without a queue; Pitstop's SQL statements and commits are counted
there); **open loop**: updates arrive at a fixed rate from OPEN_USERS users in turn, whatever the
replies (latency at a realistic load, from the moment each update was due to arrive, so that a stall
counts for every update it delays).
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    FIRST_TELEGRAM_ID,
    REPO,
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

NAME = "reflections"
USERS = 50
MESSAGES_PER_USER = 10
RUNS = 3
HISTORY_PER_USER = 20
SOLO_MESSAGES = 50
OPEN_USERS = 50
OPEN_RATE = 100.0  # updates a second
OPEN_SECONDS = 15.0  # a run; pooled over the runs
WARM = 5
REPLY_TIMEOUT = 30.0
TOKEN = "123456:" + "A" * 35
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


# --------------------------------------------------------------------------- the driver (its own process)


def is_acknowledgement(_text: str, reply: str) -> bool:
    """Gives whether a reply is Pitstop's acknowledgement of a journal message."""
    return reply.startswith(ACKNOWLEDGEMENTS)


def is_echo(text: str, reply: str) -> bool:
    """Gives whether a reply is the echo of the text."""
    return reply == text


async def drive() -> None:
    """Serves the fake Bot API and plays the users, phase by phase as told on stdin; reports on stdout."""
    from bot.sandbox.fakeapi import FakeTelegram, FakeUser, SentMessage

    class ReplyHook(FakeTelegram):
        """The fake, handing each message the bot sends to a per-chat queue with its time."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.replies: dict[int, asyncio.Queue[tuple[float, SentMessage]]] = {}
            self.parse_modes: set[str] = set()

        def queue(self, chat_id: int) -> asyncio.Queue[tuple[float, SentMessage]]:
            return self.replies.setdefault(chat_id, asyncio.Queue())

        def _record(self, call: Any, chat_id: int, text: Any, parse_mode: Any, content: Any) -> SentMessage:
            sent = super()._record(call, chat_id, text, parse_mode, content)
            self.parse_modes.add(str(parse_mode))
            self.queue(chat_id).put_nowait((time.perf_counter(), sent))
            return sent

    def users(count: int, first: int) -> list[FakeUser]:
        return [FakeUser(id=first + i, first_name=f"Participant {i}", language_code="en") for i in range(count)]

    async def converse(user: FakeUser, count: int, expect: Callable[[str, str], bool], latencies: list[float],
                       wrong: list[str]) -> None:
        queue = fake.queue(user.id)
        for n in range(count):
            text = TEXT.format(n=n)
            start = time.perf_counter()
            await fake.send_text(user, text)
            while True:
                arrived, sent = await asyncio.wait_for(queue.get(), REPLY_TIMEOUT)
                if expect(text, sent.text or ""):
                    break
                wrong.append((sent.text or "")[:60])  # a reminder, or an unexpected answer: noted, skipped
            latencies.append(arrived - start)

    async def closed(people: list[FakeUser], count: int, expect: Callable[[str, str], bool]) -> dict[str, Any]:
        latencies: list[float] = []
        wrong: list[str] = []
        start = time.perf_counter()
        await asyncio.gather(*(converse(u, count, expect, latencies, wrong) for u in people))
        return {"updates": len(latencies), "seconds": time.perf_counter() - start, "latencies": latencies,
                "wrong": len(wrong)}

    async def open_loop(people: list[FakeUser], rate: float, seconds: float,
                        expect: Callable[[str, str], bool]) -> dict[str, Any]:
        due: dict[int, list[tuple[float, str]]] = {u.id: [] for u in people}
        latencies: list[float] = []
        wrong = 0
        total = int(rate * seconds)

        async def collect(user: FakeUser) -> None:
            nonlocal wrong
            queue = fake.queue(user.id)
            while True:
                arrived, sent = await queue.get()
                if due[user.id] and expect(due[user.id][0][1], sent.text or ""):
                    latencies.append(arrived - due[user.id].pop(0)[0])
                else:
                    wrong += 1

        collectors = [asyncio.create_task(collect(u)) for u in people]
        start = time.perf_counter()
        for i in range(total):
            at = start + i / rate
            if (wait := at - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            user = people[i % len(people)]
            text = TEXT.format(n=i)
            due[user.id].append((at, text))  # latency from when it was due: a stall counts for all it delays
            await fake.send_text(user, text)
        deadline = time.perf_counter() + REPLY_TIMEOUT
        while len(latencies) < total and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        for task in collectors:
            task.cancel()
        return {"updates": len(latencies), "sent": total, "seconds": time.perf_counter() - start,
                "latencies": latencies, "wrong": wrong}

    fake = ReplyHook(token=TOKEN)
    await fake.start()
    print(json.dumps({"base_url": fake.base_url}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while line := await reader.readline():
            order = json.loads(line)
            if order["phase"] == "quit":
                break
            expect = is_echo if order["bot"] == "echo" else is_acknowledgement
            people = users(order["users"], order["first"])
            print(json.dumps({"event": "started"}), flush=True)
            if order["phase"] == "open":
                result = await open_loop(people, order["rate"], order["seconds"], expect)
            else:
                result = await closed(people, order["count"], expect)
            result["parse_modes"] = sorted(fake.parse_modes)
            result["errors"] = len(fake.internal_errors)
            print(json.dumps({"event": "done", **result}), flush=True)
    finally:
        await fake.stop()


# --------------------------------------------------------------------------- the bot's side


class Driver:
    """The driver process, told what to play and timed from here."""

    async def start(self) -> str:
        """Starts the driver; gives the fake's base URL."""
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.reflections", "--driver", cwd=str(REPO),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )
        return str((await self._read())["base_url"])

    async def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 120)
        if not line:
            raise RuntimeError("the reflections driver stopped")
        return dict(json.loads(line))

    async def play(self, **order: Any) -> dict[str, Any]:
        """Plays one phase; gives its results with the CPU this process spent meanwhile, main thread and others."""
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(order) + "\n").encode())
        await self.process.stdin.drain()
        started = await self._read()
        assert started["event"] == "started"
        main, whole = time.thread_time(), time.process_time()
        done = await self._read()
        done["main_cpu"] = time.thread_time() - main
        done["other_cpu"] = time.process_time() - whole - done["main_cpu"]
        return done

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b'{"phase": "quit"}\n')
        await self.process.stdin.drain()
        await self.process.wait()


async def seed(path: Path | str, count: int) -> None:
    """Creates the database (a SQLite file, or a postgresql:// DSN): a programme running now, `count`
    active participants, each with a prompt sent an hour ago and some older journal entries; no
    nudges planned during the run."""
    from bot.clock import SystemClock
    from bot.render import Renderer
    from bot.store.engines import open_database
    from bot.store.outbox import ts

    now = SystemClock().now()
    db = await open_database(path)
    try:
        start = date.fromordinal(now.date().toordinal() - 30)
        programme_id, set_ids = await load_programme(db, programme_toml(start), now)
        prompt_key = next(p.key for p in Renderer().library if not p.intention and "between" in p.phases)
        async with db.transaction() as conn:
            # No nudge days: the planner job finds nothing to plan, no prompt interrupts the run.
            await seed_participants(conn, programme_id, set_ids, count, now, nudge_days="")
            await conn.executemany(
                "INSERT INTO outbox (kind, person_id, chat_id, due_at, status, dedupe_key, payload, prompt_key,"
                " module_key, telegram_message_id, sent_at, created_at)"
                " SELECT 'prompt', id, chat_id, ?, 'sent', 'prompt:' || id || ':bench', '{}', ?, 'm1', 1, ?, ?"
                " FROM person WHERE telegram_id = ?",
                [(ts(now - timedelta(hours=1)), prompt_key, ts(now - timedelta(hours=1)), ts(now), FIRST_TELEGRAM_ID + i)
                 for i in range(count)],
            )
            history = [(FIRST_TELEGRAM_ID + i, ts(now - timedelta(days=HISTORY_PER_USER - k + 1)))
                       for i in range(count) for k in range(HISTORY_PER_USER)]
            await conn.executemany(
                "INSERT INTO reflection (person_id, programme_id, module_key, phase, created_at, updated_at)"
                " SELECT id, ?, 'm1', 'between', ?, ? FROM person WHERE telegram_id = ?",
                [(programme_id, when, when, telegram_id) for telegram_id, when in history],
            )
            await conn.execute(
                "INSERT INTO reflection_part (reflection_id, chat_id, message_id, text, created_at)"
                " SELECT r.id, p.chat_id, 100000 + r.id, ?, r.created_at FROM reflection r JOIN person p ON p.id = r.person_id",
                ("An older reflection about a meeting that went differently than planned.",),
            )
    finally:
        await db.close()


async def phases(driver: Driver, bot: str, counting: Callable[[bool], Any] | None = None) -> dict[str, Any]:
    """Plays warm-up, closed loop, one user (counted by `counting`) and open loop against a running bot."""
    first = FIRST_TELEGRAM_ID
    await driver.play(bot=bot, phase="closed", first=first, users=WARM, count=2)
    loaded = await driver.play(bot=bot, phase="closed", first=first + WARM, users=USERS, count=MESSAGES_PER_USER)
    if counting is not None:
        await counting(True)
    solo = await driver.play(bot=bot, phase="closed", first=first, users=1, count=SOLO_MESSAGES)
    counted = await counting(False) if counting is not None else None
    opened = await driver.play(bot=bot, phase="open", first=first + WARM + USERS, users=OPEN_USERS, rate=OPEN_RATE,
                               seconds=OPEN_SECONDS)
    return {"loaded": loaded, "solo": solo, "open": opened, "counted": counted}


class PlannerRan(logging.Handler):
    """Notices the dispatcher's "planner ran" line (INFO), while the other logs stay quiet."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen = False

    def emit(self, record: logging.LogRecord) -> None:
        self.seen = self.seen or record.getMessage().startswith("planner ran")


async def pitstop_run(folder: Path) -> dict[str, Any]:
    """Seeds, launches the real application against the driver's fake, plays the phases, stops it."""
    from bot.clock import SystemClock
    from bot.config import Settings
    from bot.render import Renderer
    from bot.runtime import halt, launch, spare_the_collector
    from bot.store.db import open_database

    path = folder / "pitstop.db"
    await seed(path, WARM + USERS + OPEN_USERS)
    driver = Driver()
    base_url = await driver.start()
    db = await open_database(path)
    planned, dispatcher_log = PlannerRan(), logging.getLogger("bot.jobs.dispatcher")
    dispatcher_log.addHandler(planned)
    dispatcher_log.setLevel(logging.INFO)
    app = await launch(Settings(token=TOKEN, base_url=base_url, db_path=path), SystemClock(), db, Renderer(), poll_timeout=10)
    spare_the_collector()  # as `pitstop run` does once it has started
    # The start-up planning run (every participant's nudges, digests, questions) is not what is measured.
    deadline = time.perf_counter() + 60
    while not planned.seen and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    dispatcher_log.removeHandler(planned)
    dispatcher_log.setLevel(logging.NOTSET)
    statements: list[str] = []
    commits_before = [0]

    async def counting(on: bool) -> dict[str, float] | None:
        # aiosqlite's public set_trace_callback: every statement the one-user phase causes (jobs included).
        await db.conn.set_trace_callback(statements.append if on else None)
        if on:
            commits_before[0] = getattr(db, "commits", 0)
            return None
        commits = (db.commits - commits_before[0]) if hasattr(db, "commits") else \
            sum(1 for s in statements if s.strip().upper().startswith("COMMIT"))
        return {"statements": len(statements) / SOLO_MESSAGES, "commits": commits / SOLO_MESSAGES}

    try:
        result = await phases(driver, "pitstop", counting)
    finally:
        await halt(app)
        await db.close()
        await driver.stop()
    return result


async def echo_run(as_pitstop: bool = False) -> dict[str, Any]:
    """A bare python-telegram-bot echo bot against the driver's fake, played the same way; `as_pitstop`:
    with Pitstop's requests (aiohttp, bot.tg.request), for the run on Pitstop's loop."""
    from telegram import Update
    from telegram.constants import ParseMode
    from telegram.ext import ApplicationBuilder, ContextTypes, Defaults, MessageHandler, filters

    driver = Driver()
    base_url = await driver.start()
    builder = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(f"{base_url}/bot")
        .base_file_url(f"{base_url}/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML))  # as bot.tg.app builds Pitstop's
    )
    if as_pitstop:
        from bot.tg.request import AiohttpRequest

        builder = builder.request(AiohttpRequest()).get_updates_request(AiohttpRequest(connection_pool_size=1))
    app = builder.build()

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
        result = await phases(driver, "echo")
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await driver.stop()
    return result


def measure(runs: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Alternates Pitstop and the two echo runs, each on a loop of its own; gives the three lists of results.

    Pitstop runs on the loop `pitstop run` runs on (`bot.loop.run_loop`: uvloop's, where installed), the
    echo bot on asyncio's own (`asyncio.run`, as a bare PTB bot's `run_polling` does), and once more on
    Pitstop's loop with Pitstop's requests: what Pitstop costs beyond a bot that only answers.
    """
    from bot.loop import run_loop

    ours, theirs, alike = [], [], []
    for _ in range(runs):
        with scratch("reflections") as folder:
            ours.append(run_loop(pitstop_run(folder)))
        theirs.append(asyncio.run(echo_run()))
        alike.append(run_loop(echo_run(as_pitstop=True)))
    return ours, theirs, alike


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Gives the median rate and CPU, and the pooled latency percentiles (ms), of a bot's runs."""
    loaded = [r["loaded"] for r in results]
    rates = [p["updates"] / p["seconds"] for p in loaded]
    main_cpu = [p["main_cpu"] / p["updates"] * 1000 for p in loaded]
    other_cpu = [max(0.0, p["other_cpu"]) / p["updates"] * 1000 for p in loaded]  # no other thread: 0, not -0.00
    pooled = [x for p in loaded for x in p["latencies"]]
    solo = [x for r in results for x in r["solo"]["latencies"]]
    opened = [x for r in results for x in r["open"]["latencies"]]
    open_cpu = [r["open"]["main_cpu"] / max(1, r["open"]["updates"]) * 1000 for r in results]
    return {
        "rate": median(rates), "rates": rates,
        "main_cpu": median(main_cpu), "main_cpus": main_cpu, "other_cpu": median(other_cpu),
        "p50": percentile(pooled, 50) * 1000, "p99": percentile(pooled, 99) * 1000,
        "solo_p50": percentile(solo, 50) * 1000, "solo_p99": percentile(solo, 99) * 1000,
        "open_p50": percentile(opened, 50) * 1000, "open_p99": percentile(opened, 99) * 1000,
        "open_max": max(opened) * 1000 if opened else 0.0, "open_cpu": median(open_cpu),
        "open_answered": sum(r["open"]["updates"] for r in results), "open_sent": sum(r["open"]["sent"] for r in results),
        "parse_modes": sorted({m for r in results for phase in ("loaded", "solo", "open") for m in r[phase]["parse_modes"]}),
        "wrong": sum(r[phase]["wrong"] for r in results for phase in ("loaded", "solo", "open")),
        "errors": max(r["open"]["errors"] for r in results),
    }


def main() -> None:
    """Prints the reflections figures."""
    from bot.loop import new_loop
    from bot.tg.updates import RUNNING

    probe = new_loop()
    loop_kind = f"{type(probe).__module__}.{type(probe).__name__}"
    probe.close()

    logging.getLogger("bot").setLevel(logging.WARNING)
    header(
        "reflections",
        "journal replies handled/s end to end (bot.runtime.launch) vs a bare PTB echo bot; fake API + users in another process",
        pitstop=f"chats handled side by side (PerChatUpdateProcessor, {RUNNING} at once, one chat in order); each message stored"
        " durably (group commit, synchronous=FULL) before its acknowledgement",
        pitstop_loop=f"{loop_kind} (bot.loop.new_loop, as `pitstop run`)",
        echo_on_pitstops_loop="the same echo bot on Pitstop's loop with Pitstop's requests (aiohttp): the bare cost of answering",
        echo_bot="one MessageHandler sending the text back; concurrent_updates off (one update at a time); PTB's own"
        " request (httpx) and asyncio's loop, as a bare PTB bot has them",
        both="long polling (timeout 10), default parse mode HTML, the same fake and users",
        participants=f"{USERS} typing at once, {OPEN_USERS} for the open loop, {WARM} for warm-up and one user; seeded by SQL",
        closed_loop=f"{MESSAGES_PER_USER} per user, each after the previous reply = {USERS * MESSAGES_PER_USER} updates a run",
        one_user=f"{SOLO_MESSAGES} in a row, each after the previous reply",
        open_loop=f"{OPEN_RATE:.0f} updates/s for {OPEN_SECONDS:.0f} s a run, {OPEN_USERS} users in turn; latency from when"
        " each was due",
        cpu="of the bot's process during the closed loop, per update: main thread (time.thread_time), other threads",
        runs=f"{RUNS}, Pitstop and the two echo bots alternating (median rate and CPU; latencies pooled over runs)",
        journal=f"{HISTORY_PER_USER} older entries per participant; a prompt sent an hour ago",
    )
    ours, theirs, alike = measure(RUNS)
    mine, echo, echo_alike = summary(ours), summary(theirs), summary(alike)
    for label, s in (("Pitstop", mine), ("echo bot", echo), ("echo bot, Pitstop's loop", echo_alike)):
        figure(f"{label}: updates/s ({USERS} users typing)",
               f"{s['rate']:7.1f} /s  (runs: {', '.join(f'{x:.1f}' for x in s['rates'])})")
        figure(f"{label}: main-thread CPU per update",
               f"{s['main_cpu']:7.2f} ms  (runs: {', '.join(f'{x:.2f}' for x in s['main_cpus'])};"
               f" other threads {s['other_cpu']:.2f} ms)")
        figure(f"{label}: latency p50 / p99, {USERS} users typing", f"{s['p50']:7.1f} / {s['p99']:.1f} ms")
        figure(f"{label}: latency p50 / p99, one user", f"{s['solo_p50']:7.1f} / {s['solo_p99']:.1f} ms",
               aim(s["solo_p50"] < 5 and s["solo_p99"] < 15, "p50 < 5, p99 < 15") if label == "Pitstop" else "")
        figure(f"{label}: open loop {OPEN_RATE:.0f}/s, latency p50 / p99",
               f"{s['open_p50']:7.1f} / {s['open_p99']:.1f} ms  (max {s['open_max']:.0f} ms; {s['open_answered']:,} of"
               f" {s['open_sent']:,} answered; main-thread CPU {s['open_cpu']:.2f} ms/update)",
               aim(s["open_p99"] < 50, "p99 < 50") if label == "Pitstop" else "")
        figure(f"{label}: parse mode of replies", ", ".join(s["parse_modes"]))
        if s["wrong"] or s["errors"]:
            figure(f"{label}: note", f"{s['wrong']} other messages skipped, {s['errors']} fake errors")
    ratio = mine["rate"] / echo["rate"]
    figure("ratio Pitstop / echo, updates/s", f"{ratio:.2f}", aim(ratio >= 0.7, ">= 0.7"))
    cpu_ratio = mine["main_cpu"] / echo["main_cpu"]
    figure("ratio Pitstop / echo, main-thread CPU per update", f"{cpu_ratio:.2f}", aim(cpu_ratio <= 2, "<= 2"))
    figure("ratio Pitstop / echo on Pitstop's loop, updates/s", f"{mine['rate'] / echo_alike['rate']:.2f}")
    figure("ratio Pitstop / echo on Pitstop's loop, main-thread CPU", f"{mine['main_cpu'] / echo_alike['main_cpu']:.2f}")
    counted = [r["counted"] for r in ours if r["counted"]]
    figure(
        "Pitstop: SQL per journal message",
        f"{median([c['statements'] for c in counted]):.1f} statements, "
        f"{median([c['commits'] for c in counted]):.2f} commits (one user; background jobs included)",
    )


if __name__ == "__main__":
    if "--driver" in sys.argv:
        asyncio.run(drive())
    else:
        main()
