"""Pacing for Telegram's limits: ~30 messages a second overall, 1 a second per chat, 20 a minute per group.

Slots are reserved synchronously, so messages to one chat keep their order, and a RetryAfter
pauses every send until Telegram allows it again. Real time (monotonic), not the injected clock:
these are Telegram's seconds.

Several processes on one PostgreSQL database pace together through `SharedPacer`, which keeps the
same rules in a log of sends that all of them share (bot.store.pace).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from bot.store import pace
from bot.store.db import Database

# A little room for rounding: the one-second window is counted from when a send ends.
WINDOW_MARGIN = 0.005


class Pacer:
    """Hands out send slots that respect an overall rate and per-chat spacing."""

    def __init__(
        self,
        per_second: float = 30.0,
        per_chat_seconds: float = 1.0,
        per_group_seconds: float = 3.1,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        # Evenly spaced slots still let a late request and an early one reach Telegram within the
        # same second. So a send may start only while fewer than per_second sends are in flight or
        # finished within the last second: a request arrives after it starts and before it ends,
        # whatever the network's jitter, so no second at Telegram can hold more than per_second.
        self.limit = max(1, int(per_second)) if per_second > 0 else 0
        self._in_flight = 0
        self._finished: deque[float] = deque()
        self.per_chat = per_chat_seconds if per_second > 0 else 0.0
        self.per_group = per_group_seconds if per_second > 0 else 0.0
        self.monotonic = monotonic
        self._next_global = 0.0
        self._next_chat: dict[int, float] = {}
        self._paused_until = 0.0

    def reserve(self, chat_id: int) -> float:
        """Gives the monotonic moment at which a message to this chat may go, and books it."""
        now = self.monotonic()
        slot = max(now, self._next_global, self._next_chat.get(chat_id, 0.0), self._paused_until)
        self._next_global = slot + self.interval
        spacing = self.per_group if chat_id < 0 else self.per_chat
        if spacing:
            self._next_chat[chat_id] = slot + spacing
        if len(self._next_chat) > 50_000:  # waiting_chats prunes too; this bounds callers that never ask
            self._next_chat = {c: t for c, t in self._next_chat.items() if t > now}
        return slot

    async def wait(self, chat_id: int) -> None:
        """Waits for this chat's next slot (without the one-second window: for callers that do not report back)."""
        delay = self.reserve(chat_id) - self.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    @asynccontextmanager
    async def slot(self, chat_id: int) -> AsyncIterator[None]:
        """Holds a send to a chat: waits for its slot and for room in the last second, and records its end."""
        await self.wait(chat_id)
        if self.limit == 0:
            yield
            return
        while True:
            now = self.monotonic()
            while self._finished and self._finished[0] <= now - 1.0 - WINDOW_MARGIN:
                self._finished.popleft()
            if self._in_flight + len(self._finished) < self.limit:
                break
            wake = self._finished[0] + 1.0 + WINDOW_MARGIN - now if self._finished else 0.005
            await asyncio.sleep(max(wake, 0.001))
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._finished.append(self.monotonic())

    def paused(self) -> bool:
        """Gives whether all sending is stopped for now (after a 429 or while Telegram is unreachable)."""
        return self._paused_until > self.monotonic()

    def waiting_chats(self) -> set[int]:
        """Gives the chats whose next message may not go yet: a sender should pick another chat's message
        instead of waiting (a group gets one message per 3 s, and must not hold everyone else)."""
        now = self.monotonic()
        self._next_chat = {c: t for c, t in self._next_chat.items() if t > now}
        return set(self._next_chat)

    def pause(self, seconds: float) -> None:
        """Stops all sending for a while (Telegram answered 429 with retry_after)."""
        until = self.monotonic() + seconds
        self._paused_until = max(self._paused_until, until)
        self._next_global = max(self._next_global, until)


SHARED_WAIT_AT_MOST = 0.5  # seconds between asking the shared log again while the limits hold a send


class SharedPacer(Pacer):
    """The Pacer's limits for all processes on one database together: at most `per_second` sends in
    flight or ended within any second, a chat's sends `per_chat_seconds` apart (a group's
    `per_group_seconds`), and a 429 that one process hears holds them all (bot.store.pace)."""

    def __init__(self, db: Database, per_second: float = 30.0, per_chat_seconds: float = 1.0,
                 per_group_seconds: float = 3.1, monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(per_second, per_chat_seconds, per_group_seconds, monotonic)
        self.db = db
        self._shared_waiting: frozenset[int] = frozenset()
        self._pauses: set[asyncio.Task[None]] = set()

    async def refresh(self) -> None:
        """Learns which chats are in their spacing and whether a pause holds, from all processes' sends."""
        if self.limit == 0:
            return
        state = await pace.state(self.db, self.per_chat, self.per_group)
        self._shared_waiting = state.waiting_chats
        if state.paused_for > 0:
            super().pause(state.paused_for)

    def waiting_chats(self) -> set[int]:
        """Gives the chats whose next message may not go yet, here or in any process."""
        return super().waiting_chats() | self._shared_waiting

    def pause(self, seconds: float) -> None:
        """Stops all sending for a while, in every process."""
        super().pause(seconds)
        if self.limit == 0:
            return
        task = asyncio.get_running_loop().create_task(pace.pause(self.db, seconds))
        self._pauses.add(task)
        task.add_done_callback(self._pauses.discard)

    @asynccontextmanager
    async def slot(self, chat_id: int) -> AsyncIterator[None]:
        """Holds a send to a chat until the shared log has room for it, and records its end there."""
        if self.limit == 0:
            yield
            return
        spacing = self.per_group if chat_id < 0 else self.per_chat
        while True:
            booking = await pace.book(self.db, chat_id, spacing, self.limit)
            if booking.send_id is not None:
                break
            await asyncio.sleep(min(max(booking.wait, 0.001), SHARED_WAIT_AT_MOST))
        try:
            yield
        finally:
            await asyncio.shield(pace.end(self.db, booking.send_id))
