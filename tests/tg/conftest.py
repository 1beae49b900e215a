"""Fixtures for offline tests of the Telegram edge: the real Application, fed updates one by one.

See tests/tg/test_process_update.py for why the request layer, not the fake Bot API, stands in
for Telegram here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from telegram import User

from bot.clock import ManualClock
from bot.config import Settings
from bot.domain.programme import parse_programme
from bot.render import Renderer
from bot.services import Services
from bot.store import people, programmes
from bot.store.db import Database
from bot.tg import app as app_module
from bot.tg.app import build_application
from bot.tg.context import PitstopApplication
from tests.tg.auxil.build_updates import make_callback_update, make_command_update, make_message_update
from tests.tg.auxil.networking import TOKEN, OfflineRequest, buttons

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 3, 24, 10, 0, tzinfo=AMS)  # a Wednesday in the programme's module


@dataclass
class Offline:
    """The Application as `build_application` makes it, its database and clock, and the offline Bot API."""

    app: PitstopApplication
    request: OfflineRequest
    db: Database
    clock: ManualClock
    render: Renderer

    async def say(self, user: User, text: str) -> None:
        """Hands the Application a text (a command when it starts with "/") the person wrote."""
        make = make_command_update if text.startswith("/") else make_message_update
        await self.app.process_update(make(text, self.app.bot, user=user))

    async def press(self, user: User, data: str, on: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Presses a button and gives the bot's answer to the press (None when it made none).

        Without `on`, the press is on the newest message to the person that carries exactly this
        button; with it, on that message whatever its buttons (a forged or stale press).
        """
        if on is None:
            on = next(m for m in reversed(self.request.sent(user.id)) if data in (d for _, d in buttons(m)))
        update = make_callback_update(data, self.app.bot, user, on)
        await self.app.process_update(update)
        assert update.callback_query is not None
        return self.request.answers.get(update.callback_query.id)

    async def load(self, source: str) -> int:
        """Loads a programme file's text; gives its id."""
        result = await programmes.save_programme(self.db, parse_programme(source), source, self.clock.now())
        return result.programme_id

    async def invite(self, programme_id: int, set_key: str) -> str:
        """Creates a one-use invite to a learning set, the way `pitstop invite` does; gives its code."""
        found = await programmes.get_set(self.db, programme_id, set_key)
        assert found is not None
        now = self.clock.now()
        return (await people.create_invite(self.db, programme_id, found.id, "participant", 1, now + timedelta(days=30), now)).code

    async def onboard(self, user: User, code: str, language: str = "en") -> None:
        """Joins with an invite and taps through onboarding, as a person on a phone does."""
        await self.say(user, f"/start {code}")
        for data in (f"ob:lang:{language}", "ob:tz:Europe/Amsterdam", "ob:hour:9", "ob:days:ok", "ob:ok", "lq:skip"):  # the learning question skipped
            await self.press(user, data)
        assert self.request.texts(user.id)[-1].startswith(("All set", "Alles staat klaar"))


@pytest.fixture
async def offline(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Offline]:
    """Gives the initialised Application on a fresh database, with Telegram answered in memory."""
    request = OfflineRequest()
    # The factory's Bot, given where its requests go: here, not over the network.
    monkeypatch.setattr(app_module, "AiohttpRequest", lambda: request)
    monkeypatch.setattr(app_module, "ReadableUpdatesRequest", lambda: request)
    clock = ManualClock(NOW)
    settings = Settings(token=TOKEN, db_path=tmp_path / "pitstop.db", admins=frozenset({9000}), rate_per_second=0.0)
    render = Renderer()
    app = build_application(Services(settings=settings, db=db, clock=clock, render=render))
    await app.initialize()
    try:
        yield Offline(app=app, request=request, db=db, clock=clock, render=render)
    finally:
        await app.shutdown()
    assert request.unexpected == [], f"Bot API methods the offline request does not answer: {request.unexpected}"
