"""Fixtures for the console: its server on a free port over a fresh database, people to sign in as."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.clock import ManualClock
from bot.config import Settings
from bot.domain.programme import parse_programme
from bot.render import Renderer
from bot.services import Services
from bot.store import journal, people, programmes
from bot.store.db import Database, open_database
from bot.store.people import Person
from bot.webapp.initdata import signed_for
from bot.webapp.server import ConsoleServer
from tests.e2e.world import local

TOKEN = "123456:TEST-console-token"
ADMIN = 9000


@dataclass(frozen=True)
class Answer:
    """What the console answered."""

    status: int
    text: str
    headers: dict[str, str]


@dataclass
class Site:
    """The console's server and a client that signs its requests as someone."""

    server: ConsoleServer
    db: Database
    clock: ManualClock
    session: aiohttp.ClientSession
    programme_ids: dict[str, int] = field(default_factory=dict)
    messages: int = 0

    def signed(self, telegram_id: int, name: str = "Someone", language: str = "en", at: datetime | None = None) -> str:
        """Gives initData Telegram would sign for this user (now, unless told when)."""
        return signed_for(telegram_id, name, language, TOKEN, at or self.clock.now())

    def headers(self, as_user: int | None, init: str | None) -> dict[str, str]:
        raw = init if init is not None else (self.signed(as_user) if as_user is not None else None)
        return {} if raw is None else {"Authorization": f"tma {raw}"}

    async def get(self, path: str, as_user: int | None = None, init: str | None = None) -> Answer:
        """Asks for an address, signed as a Telegram user (or with the initData given, or unsigned)."""
        async with self.session.get(self.server.address + path, headers=self.headers(as_user, init)) as response:
            return Answer(response.status, await response.text(), dict(response.headers))

    async def post(
        self, path: str, body: Any = None, as_user: int | None = None, init: str | None = None, raw: bytes | None = None,
    ) -> Answer:
        """Sends an action: a JSON body (or raw bytes), signed like `get`."""
        headers = {**self.headers(as_user, init), "Content-Type": "application/json"}
        data = raw if raw is not None else json.dumps(body).encode()
        async with self.session.post(self.server.address + path, data=data, headers=headers) as response:
            return Answer(response.status, await response.text(), dict(response.headers))

    async def load(self, source: str) -> int:
        """Loads a programme file's text; gives its id."""
        programme = parse_programme(source)
        result = await programmes.save_programme(self.db, programme, source, self.clock.now())
        self.programme_ids[programme.key] = result.programme_id
        return result.programme_id

    async def participant(
        self, telegram_id: int, name: str, programme_key: str, set_key: str | None = None, language: str = "en",
    ) -> Person:
        """Enrols someone who has finished onboarding, in a programme and set."""
        programme_id = self.programme_ids[programme_key]
        set_id = None
        if set_key is not None:
            found = await programmes.get_set(self.db, programme_id, set_key)
            assert found is not None
            set_id = found.id
        now = self.clock.now()
        invite = await people.create_invite(self.db, programme_id, set_id, "participant", 1, now + timedelta(days=9), now)
        _, person, _ = await people.redeem_invite(
            self.db, invite.code, telegram_id, telegram_id, name, language, "Europe/Amsterdam", now
        )
        assert person is not None
        return await people.update_person(self.db, person.id, now, status="active", onboarding_step=None)

    async def facilitator(self, telegram_id: int, name: str, programme_key: str, language: str = "en") -> Person:
        """Makes someone a facilitator of a programme who has finished onboarding."""
        now = self.clock.now()
        person, _ = await people.grant(
            self.db, telegram_id, self.programme_ids[programme_key], "facilitator", name, language, "Europe/Amsterdam", now
        )
        return await people.update_person(self.db, person.id, now, status="active", onboarding_step=None)


    async def reflect(
        self, person: Person, text: str, programme_key: str, module_key: str = "m1", capacity: str = "relational",
    ) -> int:
        """Stores a reflection the way a typed message does; gives its id."""
        self.messages += 1
        new = journal.NewReflection(
            person.id, None, None, self.programme_ids[programme_key], module_key, "between", capacity, False, None
        )
        stored = await journal.add_message(
            self.db, new, None, person.chat_id, self.messages, "text", text, None, self.clock.now()
        )
        assert stored is not None
        return stored[0]


def console_settings(path: Path) -> Settings:
    """Gives settings with the console on and a test token."""
    return Settings(
        token=TOKEN, db_path=path, admins=frozenset({ADMIN}), timezone="Europe/Amsterdam", language="en",
        webapp_url="https://console.example.org/pitstop", webapp_port=0,
    )


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    """Gives the console served over a fresh database, the clock on Wednesday 24 March 2027 at 10:00."""
    clock = ManualClock(local("2027-03-24T10:00"))
    path = tmp_path / "pitstop.db"
    db = await open_database(path)
    services = Services(console_settings(path), db, clock, Renderer())
    server = ConsoleServer(services, None, "127.0.0.1", 0)
    await server.start()
    session = aiohttp.ClientSession()
    try:
        yield Site(server, db, clock, session)
    finally:
        await session.close()
        await server.stop()
        await db.close()
