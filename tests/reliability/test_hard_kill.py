"""A hard kill (SIGKILL) of `pitstop run` in the middle of a 2,000-recipient broadcast and a round of due
prompts: after a restart every recipient has each message, and only the rows that were in flight at the
kill may arrive twice. The bot is a separate process; the fake Bot API runs in the test's event loop."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from bot.clock import SystemClock
from bot.config import TOKEN_PATTERN
from bot.domain.programme import parse_programme
from bot.jobs.dispatcher import CONCURRENCY
from bot.sandbox.fakeapi import FakeTelegram, SentMessage
from bot.store import broadcasts, outbox, programmes
from bot.store.engines import open_database
from bot.store.outbox import Planned
from tests.reliability.conftest import (
    around,
    insert_facilitator,
    insert_participants,
    programme_source,
)

TOKEN = "7654321:HardKillToken_abcdefghijklmnop"
RECIPIENTS = 2000
PROMPTED = 300  # of the recipients, the first ones also have a prompt due
# The prompts are due before the broadcast, so the dispatcher sends 300 prompts, then the broadcast copies.
# Killing after 260 deliveries lands among the prompts, while the dispatcher is sending at full speed.
KILL_AFTER = 260
LATENCY = (
    0.01  # seconds the fake takes per request, so that requests overlap and sending takes seconds
)
FACILITATOR = 500_000
FIRST_CHAT = 600_000
MAIN = Path(__file__).resolve().parents[2]


def is_broadcast(m: SentMessage) -> bool:
    return m.method == "sendMessage" and m.chat_id != FACILITATOR and "📣" in (m.text or "")


def is_prompt(m: SentMessage) -> bool:
    return m.method == "sendMessage" and "pr:later" in str(m.params.get("reply_markup") or "")


def delivered(fake: FakeTelegram) -> int:
    return sum(1 for m in fake.sent() if is_broadcast(m) or is_prompt(m))


def bot_env(db_path: Path, base_url: str) -> dict[str, str]:
    """Gives the bot process's environment: only what it needs, nothing inherited from PITSTOP_/TELEGRAM_."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PITSTOP_", "TELEGRAM_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=base_url,
        PITSTOP_DB=str(db_path),
        PITSTOP_DISPATCH_INTERVAL="0.05",
        PITSTOP_RATE_PER_SECOND="0",
        PYTHONPATH=str(MAIN),
        PYTHONUNBUFFERED="1",
    )
    return env


def start_bot(db_path: Path, base_url: str, log_path: Path) -> subprocess.Popen[bytes]:
    """Starts `python -m bot run` in the database's folder (so no stray .env is read), logging to a file."""
    with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=db_path.parent,
            env=bot_env(db_path, base_url),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def wait_until(
    condition, proc: subprocess.Popen[bytes], timeout: float, what: str, log_path: Path
) -> None:
    """Polls a condition while the bot process is alive; fails with the bot's log tail otherwise."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(
                f"the bot exited ({proc.returncode}) while waiting for {what}:\n{tail(log_path)}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what}:\n{tail(log_path)}"
            )
        await asyncio.sleep(0.02)


async def wait_exit(proc: subprocess.Popen[bytes], timeout: float) -> int:
    """Waits for the process to end without blocking the event loop, where the fake must keep answering."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"the bot did not exit within {timeout}s")
        await asyncio.sleep(0.02)
    return proc.returncode


def own_errors(fake: FakeTelegram) -> list[str]:
    """Gives the fake's internal errors, leaving out requests whose client vanished (the killed bot)."""
    return [
        e for e in fake.internal_errors if "Connection lost" not in e and "ConnectionReset" not in e
    ]


def tail(path: Path, lines: int = 30) -> str:
    return (
        "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        if path.exists()
        else "(no log)"
    )


def query(db_path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple]:
    """Reads the live database with a short-lived connection of its own."""
    conn = sqlite3.connect(db_path, timeout=5)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


async def prepare(
    target: Path | str, fake: FakeTelegram, prompted_count: int = PROMPTED
) -> tuple[list[int], list[int], int]:
    """Loads a programme running today, inserts the cohort, launches a broadcast to all of them and plans
    prompts for some; gives (recipient chats, prompted chats, progress message id). `target` is the
    SQLite file or a PostgreSQL DSN."""
    now = SystemClock().now()
    db = await open_database(target)
    try:
        source = programme_source("kill", *around(now.date()))
        saved = await programmes.save_programme(db, parse_programme(source), source, now)
        facilitator = await insert_facilitator(db, saved.programme_id, FACILITATOR, now)
        cohort = await insert_participants(db, saved.programme_id, FIRST_CHAT, RECIPIENTS, now)

        # The facilitator's progress message, sent the way /broadcast sends it before launching.
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{fake.base_url}/bot{TOKEN}/sendMessage",
                json={"chat_id": FACILITATOR, "text": "Sending…"},
            ) as answer,
        ):
            progress_id = int((await answer.json())["result"]["message_id"])

        broadcast_id = await broadcasts.create_draft(
            db, saved.programme_id, "programme", None, facilitator, now
        )
        await broadcasts.set_text(
            db, broadcast_id, "Module 2 starts on Monday: bring one real case from your work."
        )
        found = await broadcasts.get(db, broadcast_id)
        assert found is not None
        people = await broadcasts.recipients(db, found)
        assert len(people) == RECIPIENTS
        assert await broadcasts.launch(
            db, broadcast_id, now - timedelta(seconds=30), people, FACILITATOR, progress_id, now
        )
        prompted = cohort[:prompted_count]
        await outbox.plan(
            db,
            [
                Planned(
                    "prompt",
                    chat,
                    now - timedelta(seconds=300 - (i * 240) // max(prompted_count, 1)),
                    f"prompt:{person_id}:{now.date().isoformat()}",
                    person_id=person_id,
                )
                for i, (person_id, chat) in enumerate(prompted)
            ],
            now,
        )
        counts = await outbox.counts(db)
        assert counts == {"pending": RECIPIENTS + prompted_count}, counts
    finally:
        await db.close()
    return [chat for _, chat in cohort], [chat for _, chat in prompted], progress_id


async def test_a_hard_kill_mid_broadcast_doubles_at_most_what_was_in_flight(tmp_path: Path) -> None:
    assert TOKEN_PATTERN.match(TOKEN)
    fake = FakeTelegram(token=TOKEN, latency=LATENCY)
    await fake.start()
    db_path = tmp_path / "pitstop.db"
    log_path = tmp_path / "bot.log"
    proc: subprocess.Popen[bytes] | None = None
    try:
        chats, prompted, progress_id = await prepare(db_path, fake)
        prepared_at = datetime.now(UTC)
        started = time.monotonic()

        proc = start_bot(db_path, fake.base_url, log_path)
        await wait_until(
            lambda: delivered(fake) >= KILL_AFTER, proc, 120, f"{KILL_AFTER} deliveries", log_path
        )
        proc.send_signal(signal.SIGKILL)
        assert await wait_exit(proc, 10) == -signal.SIGKILL
        at_kill = delivered(fake)
        in_flight = dict(
            query(
                db_path, "SELECT kind, count(*) FROM outbox WHERE status = 'sending' GROUP BY kind"
            )
        )
        in_flight_total = sum(in_flight.values())
        sent_before = dict(
            query(db_path, "SELECT kind, count(*) FROM outbox WHERE status = 'sent' GROUP BY kind")
        )

        proc = start_bot(db_path, fake.base_url, log_path)
        due = outbox.ts(prepared_at)

        def all_final() -> bool:
            open_rows = query(
                db_path,
                "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending') AND due_at <= ?",
                (due,),
            )[0][0]
            return open_rows == 0

        await wait_until(all_final, proc, 120, "every due outbox row to be final", log_path)
        progress = next(m for m in fake.sent(FACILITATOR) if m.message_id == progress_id)
        await wait_until(
            lambda: "Broadcast finished" in str(progress.message.get("text")),
            proc,
            30,
            "the final count",
            log_path,
        )
        asked_to_stop = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = await wait_exit(proc, 15)
        stopping = time.monotonic() - asked_to_stop
        elapsed = time.monotonic() - started
        assert code == 0, tail(log_path)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            await wait_exit(proc, 10)
        await fake.stop()

    copies = Counter(m.chat_id for m in fake.sent() if is_broadcast(m))
    prompts = Counter(m.chat_id for m in fake.sent() if is_prompt(m))
    doubled_broadcasts = sum(1 for n in copies.values() if n == 2)
    doubled_prompts = sum(1 for n in prompts.values() if n == 2)
    statuses = dict(query(db_path, "SELECT kind || ':' || status, count(*) FROM outbox GROUP BY 1"))
    log_text = log_path.read_text(errors="replace")
    print(
        f"\nhard kill: {RECIPIENTS} broadcast recipients, {PROMPTED} due prompts, fake latency {LATENCY}s;"
        f" killed after {at_kill} deliveries (sent rows then: {sent_before});"
        f" in flight at the kill: {in_flight_total} {in_flight};"
        f" recipients with two broadcast copies: {doubled_broadcasts}; with two prompts: {doubled_prompts};"
        f" final rows: {statuses}; SIGTERM to exit {stopping:.2f}s; {elapsed:.1f}s from first start to clean stop"
    )

    assert not own_errors(fake), own_errors(fake)
    assert in_flight_total > 0, "the kill landed while nothing was in flight"
    # Only what is really being sent is marked in flight: all a hard kill can double.
    assert in_flight_total <= CONCURRENCY, in_flight
    assert doubled_broadcasts + doubled_prompts <= CONCURRENCY
    assert set(copies) == set(chats), (
        f"{len(set(chats) - set(copies))} recipients never got the broadcast"
    )
    assert max(copies.values()) <= 2
    assert doubled_broadcasts <= in_flight.get("broadcast", 0)
    assert set(prompts) == set(prompted), (
        f"{len(set(prompted) - set(prompts))} prompts never arrived"
    )
    assert max(prompts.values()) <= 2
    assert doubled_prompts <= in_flight.get("prompt", 0)
    assert statuses == {"broadcast:sent": RECIPIENTS, "prompt:sent": PROMPTED}, statuses
    assert f"recovered in-flight outbox rows count={in_flight_total}" in log_text
    assert (
        f"delivered to all {RECIPIENTS} recipients."
        in progress.message["text"]
    )
    assert "Traceback" not in log_text and " ERROR " not in log_text, tail(log_path, 60)
