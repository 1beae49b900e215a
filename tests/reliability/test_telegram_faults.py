"""Telegram's faults against the running bot: flood control (429), a participant who blocked the bot (403),
a chat that is gone (400), server errors (5xx), a request that times out, and a Bot API that refuses
connections for a while. Each fault is handled where it belongs — nobody else is held back or lost — and
the dispatcher says so in a line or two, never a traceback per message."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from datetime import timedelta

import pytest

from bot.jobs.dispatcher import CONCURRENCY
from bot.sandbox.fakeapi import FakeTelegram, FakeUser, SentMessage
from bot.store import outbox
from bot.store.outbox import Planned
from tests.e2e.world import World
from tests.reliability.conftest import around, insert_participants, programme_source

FIRST_CHAT = 80_000
# python-telegram-bot's default read timeout, which the bot's request keeps (bot.tg.request.AiohttpRequest(read_timeout=5.0)).
PTB_READ_TIMEOUT = 5.0


class Calls:
    """Every sendMessage request the fake received, with its arrival time, faulted or not."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.seen: list[tuple[float, int]] = []
        original = fake._read_call

        async def recording(method, request):  # type: ignore[no-untyped-def]
            call = await original(method, request)
            if method == "sendMessage":
                self.seen.append((time.monotonic(), int(call.params.get("chat_id") or 0)))
            return call

        fake._read_call = recording  # type: ignore[method-assign]

    def to(self, chat_id: int) -> list[float]:
        return [t for t, c in self.seen if c == chat_id]


def is_prompt(m: SentMessage) -> bool:
    return "pr:later" in str(m.params.get("reply_markup") or "")


def prompts(world: World) -> Counter[int]:
    """Gives how many prompts each chat received."""
    return Counter(m.chat_id for m in world.fake.sent() if is_prompt(m))


async def cohort(world: World, count: int, first: int = FIRST_CHAT) -> list[tuple[int, int]]:
    """Loads a programme running on the world's day and inserts participants; gives (person id, chat id)."""
    now = world.clock.now()
    if "faults" not in world.programme_ids:
        await world.load(
            programme_source("faults", *around(now.astimezone(world.settings.zone).date()))
        )
    return await insert_participants(world.db, world.programme_ids["faults"], first, count, now)


async def plan_prompts(world: World, people: list[tuple[int, int]]) -> None:
    """Plans one prompt per person, due a minute ago on the world's clock."""
    now = world.clock.now()
    day = now.astimezone(world.settings.zone).date().isoformat()
    await outbox.plan(
        world.db,
        [
            Planned(
                "prompt", chat, now - timedelta(minutes=1), f"prompt:{pid}:{day}", person_id=pid
            )
            for pid, chat in people
        ],
        now,
    )


async def all_final(world: World, timeout: float) -> None:
    """Waits until no row is pending or being sent."""
    await world.scalar_becomes(
        "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending') AND due_at <= ?",
        (outbox.ts(world.clock.now()),),
        0,
        timeout=timeout,
    )


def quiet_logs(caplog: pytest.LogCaptureFixture, fault: str, most: int = 6) -> list[str]:
    """Checks the bot logged an expected fault briefly: no ERROR and no traceback from bot.*, and at most
    `most` lines from the dispatcher; prints and gives those lines (for the report)."""
    ours = [r for r in caplog.records if r.name.startswith("bot")]
    loud = [
        f"{r.name} {r.levelname} {r.getMessage()}"
        for r in ours
        if r.levelno >= logging.ERROR or r.exc_info
    ]
    assert not loud, loud
    lines = [
        f"{r.levelname} {r.getMessage()}"
        for r in ours
        if r.name == "bot.jobs.dispatcher" and not r.getMessage().startswith("planner ran")
    ]
    assert len(lines) <= most, lines
    others = tracebacks_anywhere(caplog)
    print(
        f"\n{fault}: the dispatcher logged {len(lines)} line(s) {lines}; tracebacks elsewhere: {others}"
    )
    return lines


def tracebacks_anywhere(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name} {r.levelname} {r.getMessage()[:120]}" for r in caplog.records if r.exc_info]


@pytest.fixture(autouse=True)
def capture_info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


async def test_flood_control_pauses_all_sending_and_everyone_gets_one_copy(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    people = await cohort(world, 40)
    calls = Calls(world.fake)
    world.fake.fail_next("sendMessage", error_code=429, retry_after=1)
    await plan_prompts(world, people)
    await world.start()
    await all_final(world, timeout=10)
    await world.settle()

    assert prompts(world) == Counter({chat: 1 for _, chat in people})
    refused = [chat for _, chat in people if len(calls.to(chat)) == 2]
    assert len(refused) == 1 and all(len(calls.to(chat)) <= 2 for _, chat in people)
    flood_at, retried_at = calls.to(refused[0])
    assert retried_at - flood_at >= 0.95  # the refused message waited out retry_after
    # Requests already on their way when the 429 came arrive at once; nothing new starts during the pause.
    during_pause = [t - flood_at for t, _ in calls.seen if 0.25 < t - flood_at < 0.95]
    assert during_pause == []
    after = [t for t, _ in calls.seen if t - flood_at >= 0.95]
    assert after, "everything went before the 429: the pause was not exercised"
    row = await world.db.fetchone(
        "SELECT attempts, status FROM outbox WHERE chat_id = ?", (refused[0],)
    )
    assert tuple(row) == (2, "sent")
    quiet_logs(caplog, "429")


async def test_a_participant_who_blocked_the_bot_is_marked_once_and_never_retried(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    people = await cohort(world, 10)
    blockers = [chat for _, chat in people[:3]]
    for chat in blockers:
        world.fake.block(chat)
    calls = Calls(world.fake)
    await plan_prompts(world, people)
    await world.start()
    await all_final(world, timeout=10)

    for chat in blockers:
        assert (
            await world.db.scalar("SELECT status FROM person WHERE chat_id = ?", (chat,))
            == "blocked"
        )
        assert (
            await world.db.scalar("SELECT status FROM outbox WHERE chat_id = ?", (chat,))
            == "blocked"
        )
        assert len(calls.to(chat)) == 1
    assert prompts(world) == Counter({chat: 1 for _, chat in people[3:]})

    # The next day: a prompt is planned for everyone, but the blocked ones get no row and no request.
    world.clock.advance(timedelta(days=1))
    await plan_prompts(world, people)
    await all_final(world, timeout=10)
    await world.settle()
    assert prompts(world) == Counter({chat: 2 for _, chat in people[3:]})
    for chat in blockers:
        assert len(calls.to(chat)) == 1
        assert await world.db.scalar("SELECT count(*) FROM outbox WHERE chat_id = ?", (chat,)) == 1
    quiet_logs(caplog, "403", most=len(blockers) + 3)  # one line per person who blocked the bot


async def test_chat_not_found_fails_that_row_only(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    people = await cohort(world, 10)
    gone = people[4][1]
    world.fake.fail_next(
        "sendMessage", chat_id=gone, error_code=400, description="Bad Request: chat not found"
    )
    calls = Calls(world.fake)
    await plan_prompts(world, people)
    await world.start()
    await all_final(world, timeout=10)
    await world.settle()

    row = await world.db.fetchone(
        "SELECT status, last_error, attempts FROM outbox WHERE chat_id = ?", (gone,)
    )
    assert (
        row["status"] == "failed"
        and "chat not found" in row["last_error"].lower()
        and row["attempts"] == 1
    )
    assert len(calls.to(gone)) == 1
    assert prompts(world) == Counter({chat: 1 for _, chat in people if chat != gone})
    assert await world.db.scalar("SELECT count(*) FROM outbox WHERE status = 'sent'") == 9
    quiet_logs(caplog, "400 chat not found")


async def test_server_errors_are_retried_and_delivered_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    people = await cohort(world, 10)
    calls = Calls(world.fake)
    world.fake.fail_next(
        "sendMessage", error_code=500, description="Internal Server Error", times=3
    )
    world.fake.fail_next("sendMessage", error_code=502, description="Bad Gateway", times=1)
    await plan_prompts(world, people)
    await world.start()
    await all_final(world, timeout=15)
    await world.settle()

    assert prompts(world) == Counter({chat: 1 for _, chat in people})
    assert len(calls.seen) == 10 + 4
    assert await world.db.scalar("SELECT count(*) FROM outbox WHERE status = 'sent'") == 10
    assert await world.db.scalar("SELECT sum(attempts) FROM outbox") >= 10 + 4
    quiet_logs(caplog, "5xx")


async def test_a_request_that_times_out_is_retried_and_holds_back_only_its_batch(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The fake answers one request later than PTB's read timeout. Telegram may still deliver such a message,
    so its recipient may see it twice: that is the at-least-once price of a timeout (like a hard kill)."""
    people = await cohort(world, 10)
    slow_chat = people[0][1]
    name, send_message = world.fake._methods["sendmessage"]
    slowed: list[float] = []

    async def slow_once(call):  # type: ignore[no-untyped-def]
        if int(call.params.get("chat_id") or 0) == slow_chat and not slowed:
            slowed.append(time.monotonic())
            await asyncio.sleep(PTB_READ_TIMEOUT + 0.5)
        return await send_message(call)

    world.fake._methods["sendmessage"] = (name, slow_once)
    calls = Calls(world.fake)
    await plan_prompts(world, people)
    started = time.monotonic()
    await world.start()
    for _, chat in people[1:]:
        await world.expect(chat, is_prompt, timeout=3)
    others_done = time.monotonic() - started
    await all_final(world, timeout=PTB_READ_TIMEOUT + 5)
    retried_after = time.monotonic() - started
    await world.until(
        lambda: prompts(world)[slow_chat] == 2, timeout=3
    )  # the slow request lands too
    await world.settle()

    assert others_done < 3
    assert retried_after >= PTB_READ_TIMEOUT
    assert len(calls.to(slow_chat)) == 2
    counts = prompts(world)
    assert counts == Counter({chat: 1 for _, chat in people[1:]} | {slow_chat: counts[slow_chat]})
    assert 1 <= counts[slow_chat] <= 2
    row = await world.db.fetchone(
        "SELECT status, attempts FROM outbox WHERE chat_id = ?", (slow_chat,)
    )
    assert tuple(row) == ("sent", 2)
    print(
        f"\ntimeout: others delivered in {others_done:.2f}s, the slow one retried and recorded after"
        f" {retried_after:.2f}s; its recipient holds {counts[slow_chat]} copies"
    )
    quiet_logs(caplog, "timeout")


async def test_a_bot_api_that_refuses_connections_briefly_delays_but_loses_nothing(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    people = await cohort(world, 10)
    await world.start()
    await world.settle()
    old = world.fake
    port = int(old.base_url.rsplit(":", 1)[1])
    await old.stop()
    await plan_prompts(world, people)
    # Let the dispatcher try (and fail) a few times while nothing listens: as many rows as it sends at once.
    await world.scalar_becomes(
        "SELECT count(*) >= ? FROM outbox WHERE last_error LIKE 'network:%' AND attempts >= 2",
        (CONCURRENCY,),
        1,
        timeout=5,
    )
    assert not any(is_prompt(m) for m in old.sent())
    fresh = FakeTelegram(token=old.token, clock=world.clock.now)
    await fresh.start(port=port)
    world.fake = fresh
    try:
        await all_final(world, timeout=10)
        await world.settle()
        assert prompts(world) == Counter({chat: 1 for _, chat in people})
        assert await world.db.scalar("SELECT count(*) FROM outbox WHERE status = 'sent'") == 10
        # The application is still serving: its jobs are armed, polling works again and a user gets an answer.
        app = world.app
        assert app is not None and app.running and app.updater is not None and app.updater.running
        assert app.job_queue is not None and app.job_queue.get_jobs_by_name("pitstop-dispatch")
        stranger = FakeUser(id=99_001, first_name="Stranger")
        await world.say(stranger, "hello?")
        await world.expect(stranger, "works by invitation only", timeout=8)
        quiet_logs(caplog, "refused connection")
    finally:
        await world.stop()
        await fresh.stop()
        assert not fresh.internal_errors, fresh.internal_errors


async def test_a_bot_api_that_refuses_connections_for_a_quarter_minute_loses_nothing(
    world: World,
) -> None:
    people = await cohort(world, 5)
    await world.start()
    await world.settle()
    old = world.fake
    port = int(old.base_url.rsplit(":", 1)[1])
    await old.stop()
    went_down = time.monotonic()
    await plan_prompts(world, people)
    # Telegram is unreachable until the dispatcher has given up on the rows (after about 12 s of backoff),
    # or for 15 s at most.
    try:
        await world.scalar_becomes(
            "SELECT count(*) FROM outbox WHERE status = 'failed'", (), 5, timeout=15
        )
    except AssertionError:
        pass
    outage = time.monotonic() - went_down
    fresh = FakeTelegram(token=old.token, clock=world.clock.now)
    await fresh.start(port=port)
    world.fake = fresh
    try:
        await all_final(world, timeout=5)
        await world.settle()
        statuses = dict(
            await world.db.fetchall("SELECT status, count(*) FROM outbox GROUP BY status")
        )
        print(f"\noutage of {outage:.1f}s: outbox afterwards {statuses}")
        assert statuses == {"sent": 5}, f"after an outage of {outage:.1f}s: {statuses}"
        assert prompts(world) == Counter({chat: 1 for _, chat in people})
    finally:
        await world.stop()
        await fresh.stop()
