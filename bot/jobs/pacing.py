"""Pacing for Telegram's limits: ~30 messages a second overall, 1 a second per chat, 20 a minute per group.

Slots are reserved synchronously, so messages to one chat keep their order, and a RetryAfter
pauses every send until Telegram allows it again. Real time (monotonic), not the injected clock:
these are Telegram's seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

# Requests take a few milliseconds to reach Telegram, and not all equally long: keep this much
# clear of the one-second window so that arrival jitter cannot put 31 sends into one second.
WINDOW_MARGIN = 0.03


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
        # Start times of the latest sends: evenly spaced slots still let a late one and an early
        # one share a second, so no second may hold more than per_second starts.
        self._recent: deque[float] = deque(maxlen=max(1, int(per_second))) if per_second > 0 else deque(maxlen=1)
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
        if len(self._next_chat) > 50_000:
            self._next_chat = {c: t for c, t in self._next_chat.items() if t > now}
        return slot

    async def wait(self, chat_id: int) -> None:
        """Waits for this chat's next slot, and until the last second holds room for one more send."""
        delay = self.reserve(chat_id) - self.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if self.per_second <= 0:
            return
        while len(self._recent) == self._recent.maxlen:
            room_at = self._recent[0] + 1.0 + WINDOW_MARGIN
            now = self.monotonic()
            if now >= room_at:
                break
            await asyncio.sleep(room_at - now)
        self._recent.append(self.monotonic())

    def pause(self, seconds: float) -> None:
        """Stops all sending for a while (Telegram answered 429 with retry_after)."""
        until = self.monotonic() + seconds
        self._paused_until = max(self._paused_until, until)
        self._next_global = max(self._next_global, until)
