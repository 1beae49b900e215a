"""Shared fixtures: a fresh database with the real migrations for each test; every async test on the
event loop the bot runs on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.loop import new_loop
from bot.store.db import Database, open_database


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Runs every async test on the loop `pitstop run` runs on (bot.loop.new_loop: uvloop's where installed)."""
    return {"the bot's loop": new_loop}


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """Gives a migrated SQLite database in a file of its own."""
    database = await open_database(tmp_path / "pitstop.db")
    yield database
    await database.close()
