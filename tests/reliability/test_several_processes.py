"""Several `pitstop run` processes in webhook mode on one PostgreSQL database, against the fake Bot API.

- Updates for 50 chats are posted to three processes at random, some twice (as Telegram resends
  after a timeout): every update is handled once, and each chat's messages in the order they came.
- A broadcast to 2,000 recipients, paced at 30 a second, goes out from three processes; the one that
  runs the planner is killed with SIGKILL halfway: every recipient gets it once, apart from the rows the
  killed process had in flight, the fake never sees more than 30 sends in a second and answers no 429,
  and a survivor takes the planner's lock within a minute.

They need PITSTOP_TEST_POSTGRES (a DSN); without it they are skipped with the reason. Each uses a
schema of its own, dropped after.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from bench.delivery import CountingFake, busiest_window
from bot.clock import SystemClock
from bot.domain.programme import parse_programme
from bot.jobs.dispatcher import CONCURRENCY, LEAD_EVERY
from bot.sandbox.fakeapi import FakeTelegram, SentMessage
from bot.sandbox.processes import BotProcess, start_webhook_bot, stop_bots
from bot.store import programmes
from bot.store.db import Database
from bot.store.engines import open_database
from bot.tg.webhook import SECRET_HEADER
from tests.pg import fresh_schema
from tests.reliability.conftest import around, insert_participants, programme_source
from tests.reliability.test_hard_kill import RECIPIENTS, TOKEN, is_broadcast, own_errors, prepare

SECRET = "several-processes-1"
PROCESSES = 3
FACILITATOR = 500_000
FIRST_CHAT = 600_000


def start_bot(dsn: str, base_url: str, folder: Path, rate: float) -> BotProcess:
    """Starts one `pitstop run` in webhook mode, dispatching often, at `rate` sends a second (0: unpaced)."""
    return start_webhook_bot(dsn, base_url, folder, TOKEN, SECRET, {
        "PITSTOP_DISPATCH_INTERVAL": "0.05", "PITSTOP_RATE_PER_SECOND": str(rate),
    })


async def wait_until(condition: Callable[[], bool], bots: list[BotProcess], timeout: float, what: str) -> None:
    """Polls a condition while the bots live; fails with their logs' tails otherwise."""
    deadline = time.monotonic() + timeout
    while not condition():
        for bot in bots:
            if bot.proc.poll() is not None:
                raise AssertionError(f"a bot exited ({bot.proc.returncode}) while waiting for {what}:\n{bot.tail()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}:\n" +
                                 "\n---\n".join(b.tail(15) for b in bots))
        await asyncio.sleep(0.05)


async def listening(bots: list[BotProcess], fake: FakeTelegram) -> None:
    """Waits until every bot registered its webhook and answers on its port."""
    async def answers(port: int) -> bool:
        try:
            async with aiohttp.ClientSession() as http, http.post(f"http://127.0.0.1:{port}/hook") as answer:
                return answer.status == 403  # up, and refusing a request without the secret
        except aiohttp.ClientError:
            return False

    deadline = time.monotonic() + 30
    for bot in bots:
        while not await answers(bot.port):
            if bot.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"a bot did not come up:\n{bot.tail()}")
            await asyncio.sleep(0.1)


@contextmanager
def schema() -> Iterator[str]:
    with fresh_schema() as dsn:
        yield dsn


async def prepare_cohort(dsn: str, count: int) -> tuple[Database, int, list[tuple[int, int]]]:
    """Opens the database, loads a programme running today, and inserts `count` participants."""
    now = SystemClock().now()
    db = await open_database(dsn)
    source = programme_source("several", *around(now.date()))
    saved = await programmes.save_programme(db, parse_programme(source), source, now)
    cohort = await insert_participants(db, saved.programme_id, FIRST_CHAT, count, now)
    return db, saved.programme_id, cohort


def message_update(update_id: int, chat: int, number: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": number,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private", "first_name": f"P{chat}"},
            "from": {"id": chat, "is_bot": False, "first_name": f"P{chat}", "language_code": "en"},
            "text": text,
        },
    }


CHATS = 50
MESSAGES = 6  # per chat
TWICE = 0.2  # the share of updates posted a second time


async def test_three_webhook_processes_handle_each_update_once_and_each_chat_in_order(tmp_path: Path) -> None:
    fake = FakeTelegram(token=TOKEN)
    await fake.start()
    bots: list[BotProcess] = []
    with schema() as dsn:
        db, _, cohort = await prepare_cohort(dsn, CHATS)
        try:
            bots = [start_bot(dsn, fake.base_url, tmp_path / f"bot{i}", rate=0) for i in range(PROCESSES)]
            await listening(bots, fake)
            chance = random.Random(16)
            posted: Counter[int] = Counter()  # per process
            resent = 0

            async def post(http: aiohttp.ClientSession, body: dict[str, Any]) -> None:
                bot = chance.choice(bots)
                posted[bot.port] += 1
                async with http.post(f"http://127.0.0.1:{bot.port}/hook", json=body,
                                     headers={SECRET_HEADER: SECRET}) as answer:
                    assert answer.status == 200, await answer.text()

            async def chat_talks(http: aiohttp.ClientSession, index: int, chat: int) -> None:
                nonlocal resent
                for number in range(1, MESSAGES + 1):
                    body = message_update(1000 + index * MESSAGES + number, chat, number, f"chat {chat} says {number}")
                    await post(http, body)
                    if chance.random() < TWICE:  # Telegram heard no answer in time and sends it again
                        resent += 1
                        await post(http, body)
                    await asyncio.sleep(chance.uniform(0, 0.05))

            async with aiohttp.ClientSession() as http:
                await asyncio.gather(*(chat_talks(http, i, chat) for i, (_, chat) in enumerate(cohort)))

            async def handled() -> int:
                return int(await db.scalar("SELECT count(*) FROM inbox WHERE handled_at IS NOT NULL") or 0)

            deadline = time.monotonic() + 60
            while await handled() < CHATS * MESSAGES:
                assert time.monotonic() < deadline, "\n---\n".join(b.tail(15) for b in bots)
                await asyncio.sleep(0.1)
            await wait_until(lambda: all(len(replies(fake, chat)) >= MESSAGES for _, chat in cohort), bots, 30,
                             "a reply to every message")
            await fake.wait_idle(timeout=5.0)
            parts = await db.fetchall(
                "SELECT chat_id, text FROM reflection_part ORDER BY id"
            )
            stored_in: dict[int, list[str]] = {}
            for chat, body in parts:
                stored_in.setdefault(int(chat), []).append(str(body))
            logs = [b.text() for b in bots]
        finally:
            await stop_bots(bots)
            await db.close()
            await fake.stop()

    print(f"\nseveral processes: {CHATS * MESSAGES} updates for {CHATS} chats posted to {PROCESSES} processes"
          f" at random ({dict(posted)} requests each), {resent} of them twice")
    for _, chat in cohort:
        wanted = [f"chat {chat} says {n}" for n in range(1, MESSAGES + 1)]
        assert stored_in.get(chat) == wanted, (chat, stored_in.get(chat))
        answers = replies(fake, chat)
        assert len(answers) == MESSAGES, [m.text for m in answers]
        # Each reply answers the message it follows: the first is the journal's, the rest "added".
        assert answers[0].text is not None and answers[0].text.startswith("Kept in your journal")
    for text in logs:
        assert "Traceback" not in text and " ERROR " not in text, text[-3000:]
    assert len(posted) == PROCESSES  # every process took some
    # The resends were recognised by the inbox, whichever process they reached.
    assert sum(text.count("update taken before") for text in logs) == resent


def replies(fake: FakeTelegram, chat: int) -> list[SentMessage]:
    return [m for m in fake.sent(chat) if m.method == "sendMessage"]


KILL_AFTER = RECIPIENTS // 2
RATE = 30.0


async def test_a_broadcast_from_three_processes_survives_a_kill_and_keeps_telegrams_limits(tmp_path: Path) -> None:
    fake = CountingFake(token=TOKEN, latency=0.01, rate_limits=True)
    await fake.start()
    bots: list[BotProcess] = []
    with schema() as dsn:
        chats, _, _ = await prepare(dsn, fake, prompted_count=0)
        db = await open_database(dsn)
        try:
            started = time.monotonic()
            bots = [start_bot(dsn, fake.base_url, tmp_path / f"bot{i}", rate=RATE) for i in range(PROCESSES)]
            await wait_until(lambda: any("planner ran" in b.text() for b in bots), bots, 30, "the planner's first run")
            leader = next(b for b in bots if "planner ran" in b.text())
            assert sum("planner ran" in b.text() for b in bots) == 1  # one process plans
            delivered = lambda: sum(1 for m in fake.sent() if is_broadcast(m))  # noqa: E731
            await wait_until(lambda: delivered() >= KILL_AFTER, bots, 120, f"{KILL_AFTER} copies")
            leader.proc.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            while leader.proc.poll() is None:
                await asyncio.sleep(0.02)
            at_kill = delivered()
            survivors = [b for b in bots if b is not leader]
            # What the killed process had in flight: its claims, under a name no connection has any more.
            claims = dict(await db.fetchall(
                "SELECT claimed_by, count(*) FROM outbox WHERE status = 'sending' GROUP BY claimed_by"
            ))
            live = {str(r[0]) for r in await db.fetchall("SELECT application_name FROM pg_stat_activity")}
            in_flight = sum(n for holder, n in claims.items() if holder not in live)

            await wait_until(lambda: any("planner lock taken over" in b.text() for b in survivors), survivors,
                             60, "a survivor to take the planner's lock")
            taken_over = time.monotonic() - killed_at

            async def open_rows() -> int:
                return int(await db.scalar("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')") or 0)

            deadline = time.monotonic() + 150
            while await open_rows():
                assert time.monotonic() < deadline, "\n---\n".join(b.tail(15) for b in survivors)
                for bot in survivors:
                    assert bot.proc.poll() is None, bot.tail()
                await asyncio.sleep(0.2)
            await fake.wait_idle(timeout=5.0)
            elapsed = time.monotonic() - started
            by_process = sorted(n for _, n in await db.fetchall(
                "SELECT claimed_by, count(*) FROM outbox WHERE status = 'sent' GROUP BY claimed_by"
            ))
            statuses = dict(await db.fetchall("SELECT kind || ':' || status, count(*) FROM outbox GROUP BY 1"))
            logs = [b.text() for b in survivors]
        finally:
            await stop_bots(bots)
            await db.close()
            await fake.stop()

    copies = Counter(m.chat_id for m in fake.sent() if is_broadcast(m))
    doubled = sum(1 for n in copies.values() if n > 1)
    sends = [t for t, _ in fake.send_times]  # every message the fake took, from whichever process
    busiest = busiest_window(sends)
    print(f"\nseveral processes: a broadcast to {RECIPIENTS} from {PROCESSES} processes at {RATE:.0f}/s;"
          f" the planner's process killed after {at_kill} copies with {in_flight} rows in flight;"
          f" {doubled} recipients got two copies; the busiest second held {busiest} sends; {fake.too_many} 429s;"
          f" planner lock taken over {taken_over:.1f}s after the kill; rows sent per process {by_process};"
          f" {elapsed:.1f}s in all")
    assert not own_errors(fake), own_errors(fake)
    assert set(copies) == set(chats), f"{len(set(chats) - set(copies))} recipients never got the broadcast"
    assert max(copies.values()) <= 2
    assert doubled <= in_flight <= CONCURRENCY
    assert statuses == {"broadcast:sent": RECIPIENTS}, statuses
    assert busiest <= RATE and fake.too_many == 0
    assert taken_over < 60 and taken_over <= LEAD_EVERY + 10
    assert len(by_process) >= PROCESSES  # each process sent its share (the killed one's rows stay its own)
    for text in logs:
        assert "Traceback" not in text and " ERROR " not in text, text[-3000:]
