"""delivery: messages a second out of the dispatcher, against the fake Bot API on loopback.

Driven the way the app drives it, without the polling loop: Services + Dispatcher, the Bot that
`build_application` builds (its connection pool, its HTML default parse mode), and
`await dispatcher.run_once(bot)` on an outbox full of due `notice` rows. The fake answers at
once, so the figures are the product's own ceiling (compose, send over HTTP, record in SQLite).

(a) pacing off: how fast can it go at all.
(b) pacing at 30/s to 600 chats, against a fake that answers 429 beyond 30 sends in any second:
    the achieved rate, the busiest 1-second sliding window seen by the fake, and the 429s.

Beside each rate, this process's CPU a message (the main thread, and the others: the database thread
and aiohttp's), which a shared machine disturbs far less than the rate.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import REPO, Stopwatch, aim, figure, header, median, scratch
from bot.loop import run_loop  # the loop `pitstop run` runs on
from bot.sandbox.fakeapi import FakeTelegram

NAME = "delivery"
UNPACED_MESSAGES = 2_000
UNPACED_RUNS = 3
PACED_MESSAGES = 600
PACED_RATE = 30.0
PACED_RUNS = 1
FIRST_CHAT = 50_000_000


class CountingFake(FakeTelegram):
    """The fake Bot API, counting the 429 answers its flood control gives, and every attempt."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.too_many = 0
        self.attempt_times: list[float] = []

    def _check_rate(self, chat_id: int) -> None:
        self.attempt_times.append(time.monotonic())
        try:
            super()._check_rate(chat_id)
        except Exception:
            self.too_many += 1
            raise


def busiest_window(times: list[float], width: float = 1.0) -> int:
    """Gives the most sends in any half-open window [t, t + width) (Telegram-like sliding second)."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= width:
            start += 1
        best = max(best, end - start + 1)
    return best


@contextmanager
def fake_process() -> Iterator[str]:
    """Serves the fake Bot API in a process of its own (`python -m bot.sandbox.fakeapi`); gives its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.sandbox.fakeapi", "--port", "0", "--token", "123456:TEST"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


async def one_run(
    folder: Path,
    messages: int,
    rate: float,
    rate_limits: bool,
    fake_url: str | None = None,
    store: str | None = None,
) -> dict[str, Any]:
    """Fills a fresh outbox with due notices and sends them all with run_once.

    With `fake_url` the fake runs in another process (only the outbox counts are known then). With
    `store` (a postgresql:// DSN of an empty schema) the outbox is there instead of in a SQLite file.
    """
    from bot.clock import SystemClock
    from bot.config import Settings
    from bot.render import Renderer
    from bot.services import Services
    from bot.store import outbox
    from bot.store.engines import open_database
    from bot.store.outbox import ts
    from bot.tg.app import build_application

    clock = SystemClock()
    fake = CountingFake(rate_limits=rate_limits)
    if fake_url is None:
        await fake.start()
    db = await open_database(store or folder / "pitstop.db")
    try:
        due, created = ts(clock.now() - timedelta(minutes=1)), ts(clock.now())
        payload = json.dumps({"template": "not_invited", "values": {}, "language": "en"})
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO outbox (kind, person_id, chat_id, due_at, dedupe_key, payload, created_at)"
                " VALUES ('notice', NULL, ?, ?, ?, ?, ?)",
                [(FIRST_CHAT + i, due, f"bench:{i}", payload, created) for i in range(messages)],
            )
        settings = Settings(
            token=fake.token,
            base_url=fake_url or fake.base_url,
            db_path=folder / "pitstop.db",
            db_url=store,
            rate_per_second=rate,
        )
        services = Services(settings=settings, db=db, clock=clock, render=Renderer())
        app = build_application(services)
        dispatcher = app.services.dispatcher
        bot = app.bot
        await bot.initialize()
        try:
            main_cpu, all_cpu = time.thread_time(), time.process_time()
            with Stopwatch() as watch:
                outcomes: Counter[str] = Counter()
                # run_once stops early when a whole batch is put back for a retry; go on like the job.
                while True:
                    outcomes.update(await dispatcher.run_once(bot))
                    left = await outbox.counts(db)
                    if not left.get("pending") and not left.get("sending"):
                        break
            main_cpu, all_cpu = time.thread_time() - main_cpu, time.process_time() - all_cpu
        finally:
            await bot.shutdown()
        statuses = await outbox.counts(db)
    finally:
        await db.close()
        await fake.stop()
    times = [t for t, _ in fake.send_times]
    return {
        "seconds": watch.seconds,
        "main_cpu": main_cpu,
        "other_cpu": all_cpu - main_cpu,
        "sent": statuses.get("sent", 0),
        "statuses": statuses,
        "outcomes": dict(outcomes),
        "fake_sent": len(fake.sent()),
        "busiest": busiest_window(times),
        "busiest_attempts": busiest_window(fake.attempt_times),
        "first_to_last": (max(times) - min(times)) if times else 0.0,
        "too_many": fake.too_many,
        "errors": list(fake.internal_errors),
    }


async def measure(
    messages: int, rate: float, runs: int, rate_limits: bool, fake_url: str | None = None
) -> list[dict[str, Any]]:
    """Runs `runs` times, each on a fresh database (and a fresh fake unless one is given)."""
    results = []
    for _ in range(runs):
        with scratch("delivery") as folder:
            results.append(await one_run(folder, messages, rate, rate_limits, fake_url))
    return results


def main() -> None:
    """Prints the delivery figures."""
    logging.getLogger("bot").setLevel(logging.WARNING)
    from bot.jobs.dispatcher import CONCURRENCY

    header(
        "delivery",
        "messages/s out of Dispatcher.run_once(app.bot) to bot.sandbox.fakeapi.FakeTelegram (answers at once)",
        participants="none: outbox 'notice' rows (template not_invited), one chat each",
        messages=f"(a) {UNPACED_MESSAGES:,} unpaced; (b) {PACED_MESSAGES} paced at {PACED_RATE:g}/s",
        runs=f"(a) {UNPACED_RUNS} with the fake in this process + {UNPACED_RUNS} with it in its own"
        f" process (medians shown), (b) {PACED_RUNS}",
        driven="Services + Dispatcher + the ExtBot of build_application (its aiohttp request, pool 256, parse_mode HTML)",
        dispatcher=f"CONCURRENCY={CONCURRENCY} senders, each claiming its next row in the commit that records its"
        " last send; SQLite synchronous=FULL",
    )
    unpaced = run_loop(measure(UNPACED_MESSAGES, 0.0, UNPACED_RUNS, rate_limits=False))
    with fake_process() as url:
        apart = run_loop(
            measure(UNPACED_MESSAGES, 0.0, UNPACED_RUNS, rate_limits=False, fake_url=url)
        )
    for label, results in (
        ("(a) pacing off, fake in-process", unpaced),
        ("(a) pacing off, fake own process", apart),
    ):
        rates = [r["sent"] / r["seconds"] for r in results]
        middle = median(rates)
        figure(
            label,
            f"{middle:7.0f} msg/s  (runs: {', '.join(f'{x:.0f}' for x in rates)}; "
            f"{results[0]['sent']:,}/{UNPACED_MESSAGES:,} sent, "
            f"{median([r['seconds'] for r in results]):.2f} s)",
            aim(middle >= 500, ">= 500/s"),
        )
        figure(
            "    CPU per message (median)",
            f"main thread {median([r['main_cpu'] / r['sent'] * 1e3 for r in results]):.2f} ms, other threads"
            f" {median([r['other_cpu'] / r['sent'] * 1e3 for r in results]):.2f} ms"
            + ("  (the fake's server included: it runs on the main thread)" if results is unpaced else ""),
        )
        for r in results:
            if r["sent"] != UNPACED_MESSAGES or r["errors"]:
                figure(
                    "(a) WARNING",
                    f"outbox {r['statuses']} outcomes {r['outcomes']} errors {r['errors'][:3]}",
                )

    paced = run_loop(measure(PACED_MESSAGES, PACED_RATE, PACED_RUNS, rate_limits=True))
    for r in paced:
        achieved = r["sent"] / r["seconds"]
        figure(
            f"(b) pacing at {PACED_RATE:g}/s, 600 chats",
            f"{achieved:7.1f} msg/s  ({r['sent']}/{PACED_MESSAGES} sent in {r['seconds']:.2f} s)",
        )
        figure(
            "(b) busiest 1 s window, accepted sends",
            f"{r['busiest']} sends",
            aim(r["busiest"] <= PACED_RATE, f"<= {PACED_RATE:g}"),
        )
        figure(
            "(b) busiest 1 s window, all attempts",
            f"{r['busiest_attempts']} sends  (what the pacer let out, 429s included)",
        )
        figure("(b) 429 answers from the fake", f"{r['too_many']}", aim(r["too_many"] == 0, "0"))
        figure("(b) dispatcher outcomes", f"{r['outcomes']}  outbox {r['statuses']}")
        if r["errors"]:
            figure("(b) fake errors", f"{r['errors'][:3]}")


if __name__ == "__main__":
    main()
