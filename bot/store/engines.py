"""Which store a PITSTOP_DB value opens: a SQLite file (the default) or a PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

from bot.config import is_postgres as names_postgres
from bot.store import db as sqlite_store
from bot.store import pg
from bot.store.db import Database


def is_postgres(target: str | Path | Database) -> bool:
    """Gives whether a PITSTOP_DB value (or an open store) is PostgreSQL rather than a SQLite file."""
    if isinstance(target, Database):
        return isinstance(target, pg.PgDatabase)
    return names_postgres(target)


async def open_database(target: str | Path) -> Database:
    """Gives the connected, migrated store that `target` names: postgresql://… or the path of a SQLite file."""
    if names_postgres(target):
        return await pg.open_database(str(target))
    return await sqlite_store.open_database(target)
