"""What every command needs: its settings, the database, the bot's username, and one way to fail."""

from __future__ import annotations

import argparse
import fcntl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO

from telegram import Bot
from telegram.error import TelegramError

from bot.config import Settings, load_settings
from bot.store.db import Database
from bot.store.engines import open_database

# argparse's own name for what `add_subparsers()` gives back; it is generic only for type checkers.
SubCommands = argparse._SubParsersAction  # type: ignore[type-arg]


class Failure(Exception):
    """A problem the operator must fix; the message is printed as one sentence, exit code 2."""


def add_command(sub: SubCommands, name: str, summary: str, details: str = "") -> argparse.ArgumentParser:
    """Gives a new sub-command whose `--help` opens with what it does (argparse's `help` shows only in
    the list of commands), with `details` as a paragraph below."""
    description = summary[0].upper() + summary[1:] + "." + (f"\n\n{details}" if details else "")
    return sub.add_parser(name, help=summary, description=description, formatter_class=argparse.RawDescriptionHelpFormatter)


def settings_for(require_token: bool) -> Settings:
    """Gives the settings, or raises ConfigError with one sentence."""
    return load_settings(require_token=require_token)


def lock_database(path: Path) -> IO[str]:
    """Gives the open lock file beside a SQLite database, locked so that no other Pitstop process (a bot, a copy)
    works on it meanwhile; closing it lets go."""
    lock_path = Path(f"{path}.lock")
    try:
        handle = open(lock_path, "w")
    except OSError as exc:
        raise Failure(f"The lock file {lock_path} cannot be created ({exc.strerror}).") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise Failure(f"The database {path} is in use by another Pitstop process; stop that one first.") from None
    return handle


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[Database]:
    """Gives the migrated database of the settings for the length of a command, and closes it after."""
    db = await open_database(settings.db_target)
    try:
        yield db
    finally:
        await db.close()


async def bot_username(settings: Settings) -> str:
    """Asks Telegram (getMe) for the bot's username; empty without a token or a connection."""
    if not settings.token:
        return ""
    bot = Bot(settings.token, base_url=settings.api_base() or "https://api.telegram.org/bot")
    try:
        async with bot:
            return bot.username or ""
    except TelegramError:
        return ""
