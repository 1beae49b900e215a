"""Updates of different people are handled side by side; one person's updates one at a time, in order.

python-telegram-bot's default (concurrent_updates off) waits for each update before the next,
so one person's slow database write holds everyone up. Fully concurrent updates would let two
messages of one person race (which one starts the reflection?). This processor keeps a lock per
chat: parallel across chats, sequential within one.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Sequence
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor, ExtBot
from telegram.request import BaseRequest, RequestData

from bot.tg.request import AiohttpRequest

log = logging.getLogger(__name__)

RUNNING = 32  # handlers running at once, across chats: more share a commit (bench/RESULTS.md, 3 December)
TAKEN_IN = 4096  # updates taken in at once, running or waiting for their chat's turn


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Processes updates concurrently across chats and in arrival order within a chat.

    The library lets `TAKEN_IN` updates into `do_process_update` at once (its slots); each then waits
    for its chat's turn and only then for one of the `running` handler slots. Were the library's slots
    the only limit, a burst from one chat (an album, repeated taps) would fill them all while queueing
    for its own chat, and hold up everyone else.
    """

    def __init__(self, running: int = RUNNING, taken_in: int = TAKEN_IN) -> None:
        super().__init__(taken_in)
        self._running = asyncio.Semaphore(running)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Runs the handler once the chat's earlier updates are done and a handler slot is free."""
        key = chat_key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock, self._running:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if self._waiting[key] == 0:  # nobody else queued for this chat: forget its lock
                del self._waiting[key]
                self._locks.pop(key, None)

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""


def chat_key(update: object) -> int:
    """Gives the chat whose updates go one at a time: the chat, else the user, else 0."""
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return 0


NOTHING_UNCONFIRMED = object()  # no answer with updates yet, or the last one was confirmed
# What python-telegram-bot raises when a field of an update is missing or of the wrong kind.
READ_ERRORS = (TypeError, ValueError, KeyError, AttributeError, IndexError)


class ReadableUpdatesRequest(AiohttpRequest):
    """The getUpdates connection: an update python-telegram-bot cannot read is skipped, not retried forever.

    The library parses a whole batch at once; one update it cannot read (a poll without a field it
    requires, as an older self-hosted Bot API server may send) fails the batch, and polling fetches
    the same batch again and again: nobody is answered. So when the same batch is asked for again
    (the offset of an answer that brought updates, as `ReadingBot` does at once when the library
    failed on it), each update is tried on its own; one that fails is replaced by its bare update_id,
    which the Application confirms and no handler takes. A first answer goes to the library as it
    came: reading every update twice cost about 0.23 ms of the event loop an update.

    Over aiohttp, as the Bot's other requests (bot.tg.request): the next long poll is sent while the
    updates of the last one are handled, and through httpx it took about a millisecond of the event
    loop's CPU, which every handler running then waited for (and the database thread, for the GIL).
    """

    def __init__(self) -> None:
        super().__init__(connection_pool_size=1)
        self.skipped = 0
        self._unconfirmed: object = NOTHING_UNCONFIRMED  # the offset of the last answer that brought updates

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,  # float, None or the library's "not given"
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Gives the Bot API's answer; one to the same batch asked for again with unreadable updates emptied."""
        status, payload = await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        if not url.endswith("/getUpdates") or status != 200:
            return status, payload
        try:
            answer = json.loads(payload)
        except ValueError:
            return status, payload  # not JSON: the library says so
        if not isinstance(answer, dict) or not isinstance(answer.get("result"), list):
            return status, payload
        offset = request_data.parameters.get("offset") if request_data is not None else None
        again, self._unconfirmed = offset == self._unconfirmed, offset if answer["result"] else NOTHING_UNCONFIRMED
        if not again:
            return status, payload
        readable = [self._readable(raw) for raw in answer["result"]]
        if all(new is old for new, old in zip(readable, answer["result"], strict=True)):
            return status, payload  # every update can be read: the answer as it came
        answer["result"] = readable
        return status, json.dumps(answer).encode()

    def _readable(self, raw: Any) -> Any:
        if not isinstance(raw, dict) or not isinstance(raw.get("update_id"), int):
            return raw  # not even an update: let the library say so
        try:
            Update.de_json(raw, None)
        except READ_ERRORS as exc:
            self.skipped += 1
            kinds = ",".join(sorted(str(k) for k in raw if k != "update_id"))[:80]
            log.warning(
                "update skipped: cannot be read update_id=%d kind=%s error=%s skipped_so_far=%d",
                raw["update_id"], kinds, type(exc).__name__, self.skipped,
            )
            return {"update_id": raw["update_id"]}
        return raw


# Set while ReadingBot asks for a batch the first time: a failure to read it is then not the end of it.
_FIRST_TRY: ContextVar[bool] = ContextVar("pitstop_first_try", default=False)


class _ReadAgain(logging.Filter):
    """Drops the library's critical line about a batch of updates it could not read, when ReadingBot
    fetches that batch again at once, to be read update by update (whose warning says what was skipped)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (_FIRST_TRY.get() and record.levelno == logging.CRITICAL
                    and str(record.msg).startswith("Error while parsing updates"))


class ReadingBot(ExtBot[None]):
    """The Bot, asking once more for a batch of updates it could not read (see ReadableUpdatesRequest).

    Without this the library would log the failure as critical and ask again itself; asked again at
    once here, the request reads each update on its own and skips the one that fails, with a warning.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        logging.getLogger("telegram.ext.ExtBot").addFilter(READ_AGAIN)  # the library's logger of its Bot

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: int | timedelta | None = None,
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,  # float, None or the library's "not given", as below
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
        api_kwargs: dict[str, Any] | None = None,
    ) -> tuple[Update, ...]:
        """Gives the updates after `offset`; a batch the library cannot read is fetched once more, read one by one."""
        asked = {"offset": offset, "limit": limit, "timeout": timeout, "allowed_updates": allowed_updates,
                 "read_timeout": read_timeout, "write_timeout": write_timeout, "connect_timeout": connect_timeout,
                 "pool_timeout": pool_timeout, "api_kwargs": api_kwargs}
        first = _FIRST_TRY.set(True)
        try:
            return await super().get_updates(**asked)
        except READ_ERRORS:
            pass  # the same batch again, now read one by one (ReadableUpdatesRequest)
        finally:
            _FIRST_TRY.reset(first)
        return await super().get_updates(**asked)


READ_AGAIN = _ReadAgain()
