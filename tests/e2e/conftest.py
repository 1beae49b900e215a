"""Fixtures for end-to-end tests: a World with the bot running against the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.render import Renderer
from bot.sandbox.fakeapi import FakeTelegram
from bot.store.db import open_database
from tests.e2e.world import World, local, make_settings


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """Gives a World whose clock starts on Wednesday 24 March 2027, 10:00 in Amsterdam; the bot is not started."""
    clock = ManualClock(local("2027-03-24T10:00"))
    fake = FakeTelegram(clock=clock.now)
    await fake.start()
    path = tmp_path / "pitstop.db"
    db = await open_database(path)
    w = World(fake=fake, clock=clock, db=db, path=path, settings=make_settings(fake, path), render=Renderer())
    try:
        yield w
    finally:
        await w.stop()
        await w.db.close()
        await fake.stop()
        assert not fake.internal_errors, fake.internal_errors
