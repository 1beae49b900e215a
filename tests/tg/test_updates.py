"""The update processor, offline: one chat's updates run one at a time and in arrival order, while other
chats go on beside them, also when one chat is slow or sends a burst larger than the handler slots."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import Chat, Message, Update, User

from bot.tg.updates import PerChatUpdateProcessor

WHEN = datetime(2027, 3, 24, 9, 0, tzinfo=UTC)
GUARD = 5.0  # seconds: only so that a broken processor fails instead of hanging; no assertion is timed


def update_in(chat_id: int, update_id: int) -> Update:
    """Gives a text message update in a private chat."""
    user = User(chat_id, "Someone", is_bot=False)
    message = Message(update_id, WHEN, Chat(chat_id, Chat.PRIVATE), from_user=user, text="hello")
    return Update(update_id, message=message)


async def test_one_chats_updates_run_one_at_a_time_in_arrival_order() -> None:
    processor = PerChatUpdateProcessor()
    running: list[int] = []
    done: list[int] = []
    overlaps: list[tuple[int, ...]] = []

    async def handle(n: int) -> None:
        running.append(n)
        if len(running) > 1:
            overlaps.append(tuple(running))
        for _ in range(3):
            await asyncio.sleep(0)  # give any other update of the chat the chance to start
        running.remove(n)
        done.append(n)

    await asyncio.wait_for(
        asyncio.gather(*(processor.process_update(update_in(7, n), handle(n)) for n in range(20))), GUARD
    )

    assert done == list(range(20))
    assert overlaps == []


async def test_a_slow_chat_does_not_hold_up_the_others() -> None:
    processor = PerChatUpdateProcessor()
    release = asyncio.Event()
    others_done: list[int] = []

    async def slow() -> None:
        await release.wait()

    async def quick(chat_id: int) -> None:
        others_done.append(chat_id)

    slow_task = asyncio.ensure_future(processor.process_update(update_in(1, 1), slow()))
    await asyncio.wait_for(
        asyncio.gather(*(processor.process_update(update_in(c, c), quick(c)) for c in range(2, 12))), GUARD
    )

    assert sorted(others_done) == list(range(2, 12))
    assert not slow_task.done()
    release.set()
    await asyncio.wait_for(slow_task, GUARD)


async def test_a_burst_from_one_chat_larger_than_the_handler_slots_does_not_hold_up_another_chat() -> None:
    processor = PerChatUpdateProcessor(running=4)
    release = asyncio.Event()
    served: list[str] = []

    async def stuck(n: int) -> None:
        await release.wait()
        served.append(f"burst {n}")

    async def other() -> None:
        served.append("other")

    burst = [asyncio.ensure_future(processor.process_update(update_in(1, n), stuck(n))) for n in range(50)]
    await asyncio.sleep(0)
    await asyncio.wait_for(processor.process_update(update_in(2, 99), other()), GUARD)

    assert served == ["other"]
    release.set()
    await asyncio.wait_for(asyncio.gather(*burst), GUARD)
    assert served[1:] == [f"burst {n}" for n in range(50)]


async def test_no_more_handlers_run_at_once_than_the_processor_allows() -> None:
    processor = PerChatUpdateProcessor(running=3)
    release = asyncio.Event()
    running = 0
    most = 0

    async def handle() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await release.wait()
        running -= 1

    tasks = [asyncio.ensure_future(processor.process_update(update_in(c, c), handle())) for c in range(1, 11)]
    for _ in range(10):
        await asyncio.sleep(0)
    assert running == 3
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), GUARD)
    assert most == 3
