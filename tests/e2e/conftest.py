"""Fixtures for end-to-end tests: a World with the bot running against the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.render import Renderer
from bot.sandbox.fakeapi import FakeTelegram
from bot.store.engines import open_database
from tests.e2e.world import World, local, make_settings
from tests.pg import fresh_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Gives what PITSTOP_DB would say for each store: a SQLite file, and a fresh PostgreSQL schema
    (skipped, with the reason, when PITSTOP_TEST_POSTGRES is not set)."""
    if request.param == "sqlite":
        yield str(tmp_path / "pitstop.db")
        return
    with fresh_schema() as dsn:
        yield dsn


@pytest.fixture
async def world(tmp_path: Path, store_target: str) -> AsyncIterator[World]:
    """Gives a World whose clock starts on Wednesday 24 March 2027, 10:00 in Amsterdam; the bot is not started.

    Every end-to-end test runs once on SQLite and once on PostgreSQL (`store_target`).
    """
    clock = ManualClock(local("2027-03-24T10:00"))
    fake = FakeTelegram(clock=clock.now)
    await fake.start()
    path = tmp_path / "pitstop.db"
    db = await open_database(store_target)
    settings = make_settings(fake, path, target=store_target)
    w = World(fake=fake, clock=clock, db=db, path=path, settings=settings, render=Renderer())
    try:
        yield w
    finally:
        await w.stop()
        await w.db.close()
        await fake.stop()
        assert not fake.internal_errors, fake.internal_errors
