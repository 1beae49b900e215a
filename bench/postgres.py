"""postgres: PostgreSQL beside SQLite, in one run (issue 16's figures).

1. **Reflections handled a second.** `python -m bot run` in webhook mode, as a subprocess of its own
   (as in tests/reliability/test_several_processes.py), against the fake Bot API in this process:
   (a) one process on SQLite, (b) one process on PostgreSQL, (c) three processes on one PostgreSQL
   database, this process handing its requests to the three ports in turn as a reverse proxy would.
   The same closed loop for each: USERS participants post a journal message to the webhook (with the
   secret header) and wait for the bot's acknowledgement before they post the next; replies a second
   over MEASURE_SECONDS after a WARM_SECONDS warm-up, latency from the request to the reply reaching
   the fake, and the CPU the bot processes spent per update; REFLECTION_RUNS runs of each setup,
   alternating. With three processes, how many updates each handled (its log's "reflection stored"
   lines): a chat is handled by whichever process holds its lock, not by the one that took the request.
2. **Planning a week** for 10,000 and 100,000 people: `plan_everyone`, first run and re-run, exactly as
   bench/planning.py does it (its `prepare` and `plan_once`) on SQLite and on PostgreSQL.
3. **Delivery with pacing off**: bench/delivery.py's run (`Dispatcher.run_once` on due notices,
   `rate_per_second=0`, the fake in this process) on SQLite and on PostgreSQL.

PostgreSQL: the server named by PITSTOP_BENCH_POSTGRES, else PITSTOP_TEST_POSTGRES, else the local test
server; every database is a schema of its own, named at random and dropped after. When the server
cannot be reached, one line says so and only the SQLite figures are printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

from bench.common import (
    FIRST_TELEGRAM_ID,
    figure,
    filesystem,
    header,
    median,
    percentile,
    scratch,
)
from bot.loop import run_loop  # the loop `pitstop run` runs on
from bot.sandbox.processes import BotProcess, start_webhook_bot, stop_bots
from bot.store.schemas import fresh_schema

NAME = "postgres"
T = TypeVar("T")
SERVER_ENV = "PITSTOP_BENCH_POSTGRES"
TEST_SERVER_ENV = "PITSTOP_TEST_POSTGRES"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"

TOKEN = "123456:" + "A" * 35
SECRET = "bench-postgres"
USERS = 50
WARM_SECONDS = 3.0
MEASURE_SECONDS = 10.0
PROCESSES = 3
REFLECTION_RUNS = 2  # per setup, the setups alternating
REPLY_TIMEOUT = 30.0
PLAN_SIZES = (10_000, 100_000)
DELIVERY_MESSAGES = 2_000
DELIVERY_RUNS = 2  # per store, alternating (a third would take the whole past ~6 minutes on a busy 2-core machine)
TEXT = (
    "Today I tried to let the team decide on the planning themselves, and noticed how hard it "
    "is for me to stay quiet. Message {n}."
)


# --------------------------------------------------------------------------- the PostgreSQL server


def server() -> str:
    """Gives the DSN of the server to measure on."""
    for name in (SERVER_ENV, TEST_SERVER_ENV):
        if value := os.environ.get(name, "").strip():
            return value
    return DEFAULT_SERVER


def unreachable(dsn: str) -> str | None:
    """Gives why the server cannot be used, or None when it can."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'pitstop[postgresql]')"
    try:
        with psycopg.connect(dsn, connect_timeout=5, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        lines = str(exc).strip().splitlines()
        return lines[0] if lines else type(exc).__name__
    return None


def describe(dsn: str) -> str:
    """Gives the server's version and what a commit costs it (synchronous_commit, fsync, its disk)."""
    import psycopg

    from bot.config import redacted

    with psycopg.connect(dsn, autocommit=True) as conn:
        shown = {
            name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
            for name in ("server_version", "synchronous_commit", "fsync", "data_directory")
        }
    data = Path(shown["data_directory"])
    disk = filesystem(data) if data.exists() else "not local"
    return (
        f"{shown['server_version'].split()[0]} at {redacted(dsn)}; synchronous_commit {shown['synchronous_commit']},"
        f" fsync {shown['fsync']}, data on {disk}"
    )


@contextlib.contextmanager
def store(engine: str, base: str, folder: Path) -> Iterator[str]:
    """Gives what PITSTOP_DB is for a fresh, empty store: a SQLite file in `folder`, or a new schema."""
    if engine == "sqlite":
        yield str(folder / "pitstop.db")
    else:
        with fresh_schema(base, "pitstop_bench") as dsn:
            yield dsn


# --------------------------------------------------------------------------- 1. reflections


def start_bot(target: str, base_url: str, folder: Path) -> BotProcess:
    """Starts `python -m bot run` in webhook mode in a folder of its own, logging to a file."""
    return start_webhook_bot(target, base_url, folder, TOKEN, SECRET)


async def ready(bots: list[BotProcess], timeout: float = 60.0) -> None:
    """Waits until every bot answers on its port and one has finished its start-up planning run."""
    import aiohttp

    async def answers(port: int) -> bool:
        try:
            async with aiohttp.ClientSession() as http, http.post(f"http://127.0.0.1:{port}/hook") as answer:
                return answer.status == 403  # up, and refusing a request without the secret
        except aiohttp.ClientError:
            return False

    deadline = time.monotonic() + timeout
    waiting = list(bots)
    while waiting or not any("planner ran" in b.text() for b in bots):
        for bot in bots:
            if bot.proc.poll() is not None:
                raise RuntimeError(f"a bot exited ({bot.proc.returncode}) while starting:\n{bot.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError("the bots did not come up:\n" + "\n---\n".join(b.tail(10) for b in bots))
        waiting = [b for b in waiting if not await answers(b.port)]
        await asyncio.sleep(0.1)


def message_update(update_id: int, chat: int, number: int, text: str) -> dict[str, Any]:
    """Gives the update Telegram would post for a participant's text in their private chat."""
    person = {"first_name": f"Participant {chat - FIRST_TELEGRAM_ID}", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": number,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private", **person},
            "from": {"id": chat, "is_bot": False, **person},
            "text": text,
        },
    }


async def closed_loop(bots: list[BotProcess], fake: Any) -> dict[str, Any]:
    """USERS participants each post a message and wait for its acknowledgement, again and again, the
    requests spread over the bots in turn; gives what was answered in the measured window."""
    import aiohttp

    from bench.reflections import ACKNOWLEDGEMENTS
    from bot.tg.webhook import SECRET_HEADER

    ports = itertools.cycle([b.port for b in bots])  # the reverse proxy: round robin, request by request
    update_ids = itertools.count(1)
    begin = time.perf_counter()
    measure_from, until = begin + WARM_SECONDS, begin + WARM_SECONDS + MEASURE_SECONDS
    samples: list[tuple[float, float]] = []  # (posted, answered)
    refused: list[int] = []
    others = [0]
    cpu: dict[str, float] = {}

    async def participant(http: aiohttp.ClientSession, chat: int) -> None:
        queue = fake.queue(chat)
        for number in itertools.count(1):
            if time.perf_counter() >= until:
                return
            body = message_update(next(update_ids), chat, number, TEXT.format(n=number))
            posted = time.perf_counter()
            async with http.post(f"http://127.0.0.1:{next(ports)}/hook", json=body,
                                 headers={SECRET_HEADER: SECRET}) as answer:
                if answer.status != 200:
                    refused.append(answer.status)
                    continue
            while True:
                answered, text = await asyncio.wait_for(queue.get(), REPLY_TIMEOUT)
                if text.startswith(ACKNOWLEDGEMENTS):
                    break
                others[0] += 1  # a reminder or another message: not the answer to this one
            samples.append((posted, answered))

    async def watch_cpu() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        cpu["from"], cpu["driver_from"] = sum(b.cpu_seconds() for b in bots), time.process_time()
        await asyncio.sleep(max(0.0, until - time.perf_counter()))
        cpu["until"], cpu["driver_until"] = sum(b.cpu_seconds() for b in bots), time.process_time()

    connector = aiohttp.TCPConnector(limit=USERS * 2)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(watch_cpu(), *(participant(http, FIRST_TELEGRAM_ID + i) for i in range(USERS)))
    counted = [(p, a) for p, a in samples if p >= measure_from and a <= until]
    latencies = [a - p for p, a in counted]
    return {
        "rate": len(counted) / MEASURE_SECONDS,
        "answered": len(counted),
        "latencies": latencies,
        "cpu_ms": (cpu["until"] - cpu["from"]) / max(1, len(counted)) * 1000,
        "driver_cpu_ms": (cpu["driver_until"] - cpu["driver_from"]) / max(1, len(counted)) * 1000,
        "refused": len(refused),
        "others": others[0],
    }


def reply_fake() -> Any:
    """Gives the fake Bot API handing every message the bot sends to a queue per chat, with its time."""
    from bot.sandbox.fakeapi import FakeTelegram, SentMessage

    class ReplyFake(FakeTelegram):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.replies: dict[int, asyncio.Queue[tuple[float, str]]] = {}

        def queue(self, chat_id: int) -> asyncio.Queue[tuple[float, str]]:
            return self.replies.setdefault(chat_id, asyncio.Queue())

        def _record(self, call: Any, chat_id: int, text: Any, parse_mode: Any, content: Any) -> SentMessage:
            sent = super()._record(call, chat_id, text, parse_mode, content)
            self.queue(chat_id).put_nowait((time.perf_counter(), sent.text or ""))
            return sent

    return ReplyFake(token=TOKEN)


async def reflections_run(engine: str, processes: int, base: str) -> dict[str, Any]:
    """Seeds a fresh store, starts `processes` webhook bots on it, plays the closed loop, stops them."""
    from bench.reflections import seed

    with scratch("postgres-reflections") as folder, store(engine, base, folder) as target:
        await seed(target, USERS)
        fake = reply_fake()
        await fake.start()
        bots: list[BotProcess] = []
        try:
            bots = [start_bot(target, fake.base_url, folder / f"bot{i}") for i in range(processes)]
            await ready(bots)
            result = await closed_loop(bots, fake)
        finally:
            codes = await stop_bots(bots)
            await fake.stop()
        logs = [b.text() for b in bots]
    result["exit_codes"] = codes
    # Which process handled the updates (all of them, warm-up included): on PostgreSQL, whichever holds a chat's lock.
    result["handled"] = [text.count("reflection stored") for text in logs]
    result["errors"] = sum(text.count(" ERROR ") + text.count("Traceback") for text in logs)
    result["errors_first"] = next(
        (line for text in logs for line in text.splitlines() if " ERROR " in line), ""
    )[:200]
    return result


def report_reflections(label: str, runs: list[dict[str, Any]]) -> None:
    """Prints a setup's rate (median of its runs), latencies (pooled) and CPU per update (median)."""
    rates = [r["rate"] for r in runs]
    pooled = [x for r in runs for x in r["latencies"]]
    figure(
        f"reflections, {label}",
        f"{median(rates):7.1f} updates/s  p50 / p99 {percentile(pooled, 50) * 1000:6.1f} /"
        f" {percentile(pooled, 99) * 1000:6.1f} ms  (runs: {', '.join(f'{x:.1f}' for x in rates)};"
        f" CPU/update: bots {median([r['cpu_ms'] for r in runs]):.1f} ms,"
        f" fake + users {median([r['driver_cpu_ms'] for r in runs]):.1f} ms)",
    )
    if len(runs[0]["handled"]) > 1:
        figure(f"  {label}: handled per process", "; ".join(" / ".join(f"{n}" for n in r["handled"]) for r in runs),
               "(updates, warm-up included, each run)")
    for r in runs:
        if r["refused"] or r["errors"] or any(c != 0 for c in r["exit_codes"]):
            figure(
                f"  note, {label}",
                f"{r['refused']} requests refused, {r['errors']} errors logged, exit codes {r['exit_codes']}"
                f"  {r['errors_first']}",
            )


# --------------------------------------------------------------------------- 2. planning


async def planning_run(engine: str, size: int, base: str) -> dict[str, float]:
    """bench/planning.py's measure on a fresh store: seed, plan, re-plan."""
    from bench.planning import plan_once, prepare

    with scratch("postgres-planning") as folder, store(engine, base, folder) as target:
        started = time.perf_counter()
        await prepare(target, size)
        seeded = time.perf_counter() - started
        first, again, people, rows = await plan_once(target)
    return {"seed": seeded, "first": first, "again": again, "people": people, "rows": rows}


def report_planning(engine: str, size: int, r: dict[str, float]) -> None:
    figure(
        f"plan a week, {size:>7,} people, {engine}",
        f"{r['first']:7.2f} s first run, {r['again']:6.2f} s re-run  ({r['rows']:,} rows,"
        f" {r['first'] / size * 1e6:.0f} µs/person; seeding {r['seed']:.1f} s)",
    )


# --------------------------------------------------------------------------- 3. delivery


async def delivery_run(engine: str, base: str) -> dict[str, Any]:
    """bench/delivery.py's run with pacing off, on a fresh store."""
    from bench.delivery import one_run

    with scratch("postgres-delivery") as folder, store(engine, base, folder) as target:
        return await one_run(folder, DELIVERY_MESSAGES, 0.0, rate_limits=False,
                             store=target if engine == "postgresql" else None)


def report_delivery(engine: str, results: list[dict[str, Any]]) -> None:
    rates = [r["sent"] / r["seconds"] for r in results]
    figure(
        f"delivery, pacing off, {engine}",
        f"{median(rates):7.0f} msg/s  (runs: {', '.join(f'{x:.0f}' for x in rates)};"
        f" {results[0]['sent']:,}/{DELIVERY_MESSAGES:,} sent)",
    )
    for r in results:
        if r["sent"] != DELIVERY_MESSAGES or r["errors"]:
            figure("  note", f"outbox {r['statuses']} outcomes {r['outcomes']} errors {r['errors'][:3]}")


# --------------------------------------------------------------------------- the benchmark


def attempt(label: str, step: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T | None:
    """Runs one measurement, `step(*args)`, in an event loop of its own; a failure becomes a printed line
    (the other figures still come)."""
    try:
        return run_loop(step(*args))
    except Exception as exc:  # noqa: BLE001 -- a benchmark prints what failed and goes on
        figure(f"{label}: FAILED", f"{type(exc).__name__}: {str(exc).strip()[:600]}")
        return None


def main() -> None:
    """Prints PostgreSQL's figures beside SQLite's."""
    logging.getLogger("bot").setLevel(logging.WARNING)
    base = server()
    why_not = unreachable(base)
    from bot.config import redacted

    header(
        "postgres",
        "PostgreSQL beside SQLite in one run: reflections/s with one and three processes, planning, delivery",
        postgresql=describe(base) if why_not is None else f"{redacted(base)}: cannot be reached",
        stores="SQLite: a fresh file (WAL, synchronous=FULL); PostgreSQL: a fresh schema each, dropped after",
        reflections=f"python -m bot run, webhook mode, subprocesses; {USERS} participants in a closed loop"
        f" (post, wait for the acknowledgement, post again); {WARM_SECONDS:.0f} s warm-up, {MEASURE_SECONDS:.0f} s"
        f" measured; (c) requests to the {PROCESSES} ports in turn; {REFLECTION_RUNS} runs per setup, alternating"
        " (median rate, latencies pooled)",
        planning=f"bench/planning.py's prepare + plan_once, {', '.join(f'{s:,}' for s in PLAN_SIZES)} people, 1 run each",
        delivery=f"bench/delivery.py's one_run, {DELIVERY_MESSAGES:,} notices, rate_per_second=0, fake in-process,"
        f" {DELIVERY_RUNS} runs per store (median), alternating",
    )
    if why_not is not None:
        print(f"   PostgreSQL figures skipped: {redacted(base)} cannot be reached ({why_not}).", flush=True)
    postgres = why_not is None

    started = time.perf_counter()
    setups = [("(a) SQLite, 1 process", "sqlite", 1)]
    if postgres:
        setups += [("(b) PostgreSQL, 1 process", "postgresql", 1),
                   (f"(c) PostgreSQL, {PROCESSES} processes", "postgresql", PROCESSES)]
    reflections: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in setups}
    for _ in range(REFLECTION_RUNS):
        for label, engine, processes in setups:
            result = attempt(f"reflections, {label}", reflections_run, engine, processes, base)
            if result is not None:
                reflections[label].append(result)
    for label, runs in reflections.items():
        if runs:
            report_reflections(label, runs)
    figure("  (reflections took)", f"{time.perf_counter() - started:.0f} s")

    started = time.perf_counter()
    engines = ["sqlite", "postgresql"] if postgres else ["sqlite"]
    for size in PLAN_SIZES:
        for engine in engines:
            result = attempt(f"plan {size:,}, {engine}", planning_run, engine, size, base)
            if result is not None:
                report_planning(engine, size, result)
    figure("  (planning took)", f"{time.perf_counter() - started:.0f} s")

    started = time.perf_counter()
    deliveries: dict[str, list[dict[str, Any]]] = {e: [] for e in engines}
    for _ in range(DELIVERY_RUNS):
        for engine in engines:
            result = attempt(f"delivery, {engine}", delivery_run, engine, base)
            if result is not None:
                deliveries[engine].append(result)
    for engine, results in deliveries.items():
        if results:
            report_delivery(engine, results)
    figure("  (delivery took)", f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
