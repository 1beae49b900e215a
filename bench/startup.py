"""startup: seconds from `python -m bot run` starting to the first update handled, with data.

The database holds 10,000 active participants and 100,000 journal entries (reflection +
reflection_part rows). A FakeTelegram runs in this process; the bot is a real subprocess
(`python -m bot run`, env TELEGRAM_BOT_TOKEN / TELEGRAM_BASE_URL / PITSTOP_DB, working folder
the temp folder so no .env is read). A `/help` from a known participant is queued the moment
the process is spawned; the figure is the time until the fake receives the reply. Then, to see
whether the start-up jobs (the planning run for 10,000 people: nudges, digests, reminders) stall
the bot, a `/help` is sent every 0.25 s until the bot logs "planner ran" (and 4 more), and the
worst reply time is shown. SIGTERM must end it with exit code 0; how long that takes is shown.

The same is done with an empty database (no participants but the one asking), for comparison.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    FIRST_TELEGRAM_ID,
    REPO,
    Stopwatch,
    figure,
    header,
    load_programme,
    median,
    programme_toml,
    scratch,
    seed_participants_sync,
)
from bot.loop import run_loop  # the loop `pitstop run` runs on
from bot.sandbox.fakeapi import FakeTelegram, FakeUser, SentMessage

NAME = "startup"
PARTICIPANTS = 10_000
ENTRIES = 100_000
RUNS = 3
PROBE_EVERY = 0.25
PROBE_CAP = 40.0
PROBES_AFTER = 4
# The dispatcher's log line when the planning job (nudges, digests, reminders) has run.
PLANNED_LINE = b"planner ran"
# Every /help text lists /journal, in both languages.
HELP_MARK = "/journal"
REPLY_TIMEOUT = 60.0
TOKEN = "123456:" + "A" * 35
ENTRY_TEXT = (
    "What I noticed this week: when I asked the team what they needed instead of proposing a "
    "solution myself, the conversation took longer but the plan was theirs. I want to try this "
    "again in the project meeting on Thursday and see whether it holds when time is short."
)


class Watched(FakeTelegram):
    """The fake Bot API, noting when each method is first called and handing out the /help replies
    to one chat (anything else the bot sends, such as a due reminder, is left alone)."""

    def __init__(self, chat_id: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.chat_id = chat_id
        self.first_call: dict[str, float] = {}
        self.replies: asyncio.Queue[tuple[float, SentMessage]] = asyncio.Queue()

    async def _handle_api(self, request: Any) -> Any:
        self.first_call.setdefault(request.match_info["method"].lower(), time.perf_counter())
        return await super()._handle_api(request)

    def _record(
        self, call: Any, chat_id: int, text: Any, parse_mode: Any, content: Any
    ) -> SentMessage:
        sent = super()._record(call, chat_id, text, parse_mode, content)
        if chat_id == self.chat_id and HELP_MARK in (sent.text or ""):
            self.replies.put_nowait((time.perf_counter(), sent))
        return sent


def far_hours(now: datetime) -> list[int]:
    """Gives four nudge hours that are, in every seeded zone, at least 4 hours from now: no prompt
    falls due while the bot is measured, whatever the time of day the benchmark runs."""
    return [(now.hour + 12 + k) % 24 for k in range(4)]


def sets_for(participants: int) -> int:
    """Gives how many learning sets the programme has: one per 80 participants (at least one)."""
    return max(1, participants // 80)


async def prepare(path: Path, participants: int, entries: int) -> None:
    """Creates the database: a programme running now, participants, and journal entries."""
    from bot.store.db import open_database

    now = datetime.now(UTC)
    db = await open_database(path)
    try:
        start = date.fromordinal(now.date().toordinal() - 30)
        programme_id, set_ids = await load_programme(
            db, programme_toml(start, sets=sets_for(participants)), now
        )
    finally:
        await db.close()
    conn = sqlite3.connect(path)
    try:
        with conn:
            seed_participants_sync(
                conn, programme_id, set_ids, max(participants, 1), now, hours=far_hours(now)
            )
            person_ids = [r[0] for r in conn.execute("SELECT id FROM person ORDER BY id")]
            if entries:
                rows = []
                for k in range(entries):
                    when = (now - timedelta(minutes=7 * k)).isoformat()
                    rows.append((person_ids[k % len(person_ids)], programme_id, when, when))
                conn.executemany(
                    "INSERT INTO reflection (person_id, programme_id, module_key, phase, visibility,"
                    " created_at, updated_at) VALUES (?, ?, 'm1', 'between', 'private', ?, ?)",
                    rows,
                )
                conn.execute(
                    "INSERT INTO reflection_part (reflection_id, chat_id, message_id, text, created_at)"
                    " SELECT r.id, p.chat_id, 1000000 + r.id, ?, r.created_at"
                    " FROM reflection r JOIN person p ON p.id = r.person_id",
                    (ENTRY_TEXT,),
                )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


async def one_start(path: Path, folder: Path) -> dict[str, Any]:
    """Starts the bot process once, asks /help at once, probes, stops it with SIGTERM."""
    asker = FakeUser(id=FIRST_TELEGRAM_ID, first_name="Participant 0", language_code="en")
    fake = Watched(asker.id, token=TOKEN)
    await fake.start()
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": fake.base_url,
        "PITSTOP_DB": str(path),
        "PYTHONPATH": str(REPO),
    }
    for name in ("PITSTOP_ADMINS", "PITSTOP_WEBHOOK_URL", "PITSTOP_WEBHOOK_SECRET"):
        env.pop(name, None)
    log_path = folder / "bot.log"
    result: dict[str, Any] = {}
    # Blocking open/Popen on purpose: they take milliseconds, and the clock starts right before.
    with open(log_path, "wb") as log:  # noqa: ASYNC230
        start = time.perf_counter()
        process = subprocess.Popen(  # noqa: ASYNC220
            [sys.executable, "-m", "bot", "run"],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            sent_at = time.perf_counter()
            await fake.send_text(asker, "/help")
            arrived, _ = await asyncio.wait_for(fake.replies.get(), REPLY_TIMEOUT)
            result["first_reply"] = arrived - start
            result["queued_after"] = sent_at - start
            result["get_me"] = fake.first_call.get("getme", float("nan")) - start
            result["get_updates"] = fake.first_call.get("getupdates", float("nan")) - start
            # Probe until the start-up planning run has logged that it finished (or the cap).
            worst, probes, planned_at, extra = 0.0, 0, None, PROBES_AFTER
            cap = time.perf_counter() + PROBE_CAP
            while time.perf_counter() < cap and extra > 0:
                began = time.perf_counter()
                await fake.send_text(asker, "/help")
                arrived, _ = await asyncio.wait_for(fake.replies.get(), REPLY_TIMEOUT)
                worst = max(worst, arrived - began)
                probes += 1
                if planned_at is None and PLANNED_LINE in log_path.read_bytes():
                    planned_at = time.perf_counter() - start
                if planned_at is not None:
                    extra -= 1
                await asyncio.sleep(max(0.0, PROBE_EVERY - (time.perf_counter() - began)))
            result["probe_worst"] = worst
            result["probes"] = probes
            result["planned_at"] = planned_at
        finally:
            with Stopwatch() as stopping:
                process.send_signal(signal.SIGTERM)
                try:
                    result["exit_code"] = await asyncio.to_thread(process.wait, 60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    result["exit_code"] = f"killed after 60 s ({process.wait()})"
            result["stop_seconds"] = stopping.seconds
            await fake.stop()
    if result.get("exit_code") != 0:
        result["log_tail"] = log_path.read_text(errors="replace")[-1500:]
    return result


async def measure(participants: int, entries: int, runs: int) -> list[dict[str, Any]]:
    """Prepares a database once and starts the bot on it `runs` times."""
    results = []
    with scratch("startup") as folder:
        path = folder / "pitstop.db"
        with Stopwatch() as preparing:
            await prepare(path, participants, entries)
        size_mb = path.stat().st_size / 1e6
        for _ in range(runs):
            result = await one_start(path, folder)
            result["prepare_seconds"] = preparing.seconds
            result["db_mb"] = size_mb
            results.append(result)
    return results


def report(label: str, results: list[dict[str, Any]]) -> None:
    """Prints one database's figures."""
    firsts = [r["first_reply"] for r in results if "first_reply" in r]
    figure(
        f"{label}: start -> first reply",
        f"{median(firsts):6.2f} s  (runs: {', '.join(f'{x:.2f}' for x in firsts)}; "
        f"db {results[0]['db_mb']:.0f} MB, prepared in {results[0]['prepare_seconds']:.1f} s)",
    )
    figure(
        f"{label}: of which",
        f"first getMe at {median([r['get_me'] for r in results]):.2f} s, "
        f"first getUpdates at {median([r['get_updates'] for r in results]):.2f} s",
    )
    planned = [r["planned_at"] for r in results if r.get("planned_at") is not None]
    figure(
        f"{label}: start-up planning run done",
        f"at {median(planned):.2f} s after spawn (median; 'planner ran' in the log)"
        if planned
        else f"not logged within {PROBE_CAP:g} s",
    )
    figure(
        f"{label}: worst /help until then",
        f"{max(r['probe_worst'] for r in results) * 1000:6.0f} ms  "
        f"(a /help every {PROBE_EVERY:g} s; {median([r['probes'] for r in results]):.0f} probes a run)",
    )
    codes = [r.get("exit_code") for r in results]
    figure(
        f"{label}: SIGTERM after that",
        f"exit codes {codes}, stopped in {max(r['stop_seconds'] for r in results):.2f} s (worst)",
        "[must be 0: " + ("met]" if all(c == 0 for c in codes) else "NOT met]"),
    )
    for r in results:
        if "log_tail" in r:
            print("   --- bot log tail ---\n" + r["log_tail"])


def main() -> None:
    """Prints the start-up figures."""
    logging.getLogger("bot").setLevel(logging.WARNING)
    header(
        "startup",
        "seconds from spawning `python -m bot run` to the reply to a /help queued at that moment",
        participants=f"{PARTICIPANTS:,} active in {sets_for(PARTICIPANTS)} learning sets, Mon-Fri nudges"
        " (and a database with only the 1 who asks, for comparison)",
        messages=f"{ENTRIES:,} journal entries (reflection + reflection_part, ~300 characters each)",
        runs=f"{RUNS} starts per database (median shown)",
        process="subprocess, env TELEGRAM_BOT_TOKEN/TELEGRAM_BASE_URL/PITSTOP_DB, fake in the bench process",
    )
    empty = run_loop(measure(0, 0, RUNS))
    report("empty db", empty)
    full = run_loop(measure(PARTICIPANTS, ENTRIES, RUNS))
    report(f"{PARTICIPANTS // 1000}k people/{ENTRIES // 1000}k entries", full)


if __name__ == "__main__":
    main()
