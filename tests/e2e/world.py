"""A running Pitstop against the fake Bot API, with a clock the test controls.

The real Application, handlers, templates, outbox, dispatcher and SQLite file; only Telegram is
replaced (by bot.sandbox.fakeapi on loopback) and time is a ManualClock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import ManualClock
from bot.config import Settings, is_postgres
from bot.domain.programme import parse_programme
from bot.render import Renderer
from bot.runtime import halt, launch
from bot.sandbox.fakeapi import FakeTelegram, FakeUser, SentMessage
from bot.store import outbox, people, programmes
from bot.store.db import Database
from bot.store.engines import open_database
from bot.store.outbox import OutboxRow
from bot.tg.context import PitstopApplication

AMS = ZoneInfo("Europe/Amsterdam")


def plain(message: SentMessage) -> str:
    """Gives a bot message as the reader sees it (HTML parsed, entities unescaped)."""
    return str(message.message.get("text") or message.message.get("caption") or "")


def local(text: str) -> datetime:
    """Gives an Amsterdam wall-clock moment."""
    return datetime.fromisoformat(text).replace(tzinfo=AMS)


@dataclass
class World:
    """Everything a test touches: the fake Telegram, the clock, the database and the bot."""

    fake: FakeTelegram
    clock: ManualClock
    db: Database
    path: Path
    settings: Settings
    render: Renderer
    app: PitstopApplication | None = None
    programme_ids: dict[str, int] = field(default_factory=dict)

    async def start(self) -> PitstopApplication:
        """Starts (or restarts) the bot on the same database."""
        if self.db is None or self.db.closed:
            self.db = await open_database(self.settings.db_target)
        self.app = await launch(self.settings, self.clock, self.db, self.render, poll_timeout=1)
        return self.app

    async def stop(self) -> None:
        """Stops the bot the way SIGTERM does."""
        if self.app is not None:
            await halt(self.app)
            self.app = None

    async def load(self, source: str) -> int:
        """Loads a programme file's text; gives its id."""
        programme = parse_programme(source)
        result = await programmes.save_programme(self.db, programme, source, self.clock.now())
        self.programme_ids[programme.key] = result.programme_id
        return result.programme_id

    async def invite(self, programme_key: str, set_key: str | None = None, role: str = "participant", uses: int = 1) -> str:
        """Creates an invite code the way `pitstop invite` does."""
        programme_id = self.programme_ids[programme_key]
        set_id = None
        if set_key is not None:
            found = await programmes.get_set(self.db, programme_id, set_key)
            assert found is not None
            set_id = found.id
        invite = await people.create_invite(
            self.db, programme_id, set_id, role, uses, self.clock.now() + timedelta(days=30), self.clock.now()
        )
        return invite.code

    async def say(self, user: FakeUser, text: str, reply_to: int | None = None) -> dict:
        """Sends a text as a user in their private chat."""
        return await self.fake.send_text(user, text, reply_to=reply_to)

    async def expect(
        self, user: FakeUser | int, contains: str | Callable[[SentMessage], bool], count: int = 1, timeout: float = 10.0
    ) -> SentMessage:
        """Waits until the chat has `count` bot messages matching; gives the last."""
        chat_id = user if isinstance(user, int) else user.id
        predicate = contains if callable(contains) else (lambda m: contains in (m.text or ""))
        found = await self.fake.wait_for(chat_id, predicate, count=count, timeout=timeout)
        return found[-1]

    def last(self, user: FakeUser) -> SentMessage:
        """Gives the last message the bot sent to a user."""
        return self.fake.sent(user.id)[-1]

    async def press(self, user: FakeUser, message: SentMessage, data: str) -> None:
        """Presses a button on a bot message."""
        await self.fake.press(user, message, data)

    async def press_answered(self, user: FakeUser, message: SentMessage | int, data: str, timeout: float = 5.0) -> dict:
        """Presses a button (even one that is not on the message: forged) and gives the bot's callback answer."""
        query_id = await self.fake.press(user, message, data, strict=False)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for answer in self.fake.callback_answers:
                if answer["callback_query_id"] == query_id:
                    return answer
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the press {data!r} was never answered")
            await asyncio.sleep(0.01)

    async def onboard(
        self, user: FakeUser, code: str, language: str = "en", zone_button: str = "Europe/Amsterdam", hour: int = 9,
        question: str | None = None,
    ) -> None:
        """Joins with an invite and taps through onboarding; a participant skips the learning question
        unless `question` gives one to write."""
        await self.say(user, f"/start {code}")
        step = await self.expect(user, lambda m: any(d == "ob:lang:en" for _, d in m.buttons()))
        await self.press(user, step, f"ob:lang:{language}")
        step = await self.expect(user, lambda m: any(d.startswith("ob:tz:") for _, d in m.buttons()))
        await self.press(user, step, f"ob:tz:{zone_button}")
        # A facilitator gets no reflection prompts, so is not asked when they may come.
        step = await self.expect(user, lambda m: any(d.startswith("ob:hour:") or d == "ob:ok" for _, d in m.buttons()))
        if any(d.startswith("ob:hour:") for _, d in step.buttons()):
            await self.press(user, step, f"ob:hour:{hour}")
            step = await self.expect(user, lambda m: any(d == "ob:days:ok" for _, d in m.buttons()))
            await self.press(user, step, "ob:days:ok")
            step = await self.expect(user, lambda m: any(d == "ob:ok" for _, d in m.buttons()))
        seen = len(self.fake.sent(user.id))
        await self.press(user, step, "ob:ok")
        # A participant is asked for their learning question last; a facilitator is done.
        await self.until(lambda: any(_done(m) or _asks_question(m) for m in self.fake.sent(user.id)[seen:]))
        asked = next((m for m in self.fake.sent(user.id)[seen:] if _asks_question(m)), None)
        if asked is not None:
            if question is None:
                await self.press(user, asked, "lq:skip")
            else:
                await self.say(user, question)
        await self.until(lambda: any(_done(m) for m in self.fake.sent(user.id)[seen:]), timeout=10.0)

    async def row_of(self, user: FakeUser, message: SentMessage, timeout: float = 5.0) -> OutboxRow:
        """Gives the outbox row of a delivered message, once the dispatcher has recorded it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            row = await outbox.by_message(self.db, user.id, message.message_id)
            if row is not None:
                return row
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"message {message.message_id} was never recorded as sent")
            await asyncio.sleep(0.01)

    async def until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Waits until a condition about what the bot did holds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the condition never came true")
            await asyncio.sleep(0.01)

    async def scalar_becomes(self, sql: str, params: tuple[object, ...], expected: object, timeout: float = 10.0) -> None:
        """Waits until a query about the stored state gives the expected value."""
        deadline = asyncio.get_running_loop().time() + timeout
        while (value := await self.db.scalar(sql, params)) != expected:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{sql} gave {value!r}, not {expected!r}")
            await asyncio.sleep(0.01)

    async def person(self, user: FakeUser) -> people.Person | None:
        """Gives the stored person behind a fake user."""
        return await people.get_person_by_telegram(self.db, user.id)

    async def settle(self) -> None:
        """Waits until the bot has taken every update sent so far and its handlers have finished with them.

        The fake sees an update confirmed once the bot has fetched it, not once a handler is done: a
        handler that writes without calling the API (the rest of a split answer, say) may still be at
        work, and on a busy machine for longer than the fake's quiet moment. The Application's update
        queue counts an update done when its handler returns, so joining it closes that gap.
        """
        await self.fake.wait_idle(timeout=5.0)
        if self.app is not None:
            await asyncio.wait_for(self.app.update_queue.join(), timeout=10.0)
            await self.fake.wait_idle(timeout=5.0)  # what the handlers sent last is answered too


def _done(message: SentMessage) -> bool:
    return message.text is not None and message.text.startswith(("All set", "Alles staat klaar"))


def _asks_question(message: SentMessage) -> bool:
    return any(d == "lq:skip" for _, d in message.buttons())


def make_settings(fake: FakeTelegram, path: Path, rate: float = 0.0, target: str | None = None) -> Settings:
    """Gives settings pointing at the fake API, pacing off unless asked, a fast dispatcher; `target` is
    a PostgreSQL DSN when the store is PostgreSQL (else the SQLite file at `path`)."""
    return Settings(
        token=fake.token,
        base_url=fake.base_url,
        db_path=path,
        db_url=target if target is not None and is_postgres(target) else None,
        admins=frozenset({9000}),
        timezone="Europe/Amsterdam",
        language="en",
        rate_per_second=rate,
        dispatch_interval=0.05,
        plan_interval=0.3,
    )
