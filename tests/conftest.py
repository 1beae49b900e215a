"""Shared fixtures: a fresh database with the real migrations for each test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store.db import Database, open_database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """Gives a migrated SQLite database in a file of its own."""
    database = await open_database(tmp_path / "pitstop.db")
    yield database
    await database.close()
