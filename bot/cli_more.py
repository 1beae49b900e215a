"""Sub-commands beyond run, migrate and programme: invites, audit, demo, backup."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds the extra sub-commands to the parser."""
    from bot import cli_audit, cli_import

    invite = sub.add_parser("invite", help="create an invite link for a programme (and a learning set)")
    invite.add_argument("--programme", required=True, help="the programme's key")
    invite.add_argument("--set", dest="learning_set", help="the learning set's key")
    invite.add_argument("--role", choices=("participant", "facilitator"), default="participant")
    invite.add_argument("--uses", type=int, default=1, help="how many people may use it (default 1)")
    invite.add_argument("--expires", help="last day it works, YYYY-MM-DD (default: in 30 days)")
    invite.add_argument("--bot-username", help="the bot's @username, when Telegram cannot be asked")
    invite.set_defaults(func=cmd_invite)

    grant = sub.add_parser("grant", help="make a Telegram user a facilitator of a programme")
    grant.add_argument("--programme", required=True, help="the programme's key")
    grant.add_argument("--telegram-id", required=True, type=int, help="the user's numeric Telegram id")
    grant.add_argument("--name", default="", help="their name, until they start the bot")
    grant.set_defaults(func=cmd_grant)

    demo = sub.add_parser("demo", help="the whole bot at work for two simulated weeks on a local fake Telegram")
    demo.add_argument("--keep", type=Path, metavar="DB", help="leave the demo database at this path")
    demo.set_defaults(func=cmd_demo)

    backup = sub.add_parser("backup", help="write a consistent copy of the live database")
    backup.add_argument("path", type=Path)
    backup.set_defaults(func=cmd_backup)

    cli_audit.add_commands(sub)
    cli_import.add_commands(sub)


def cmd_invite(args: argparse.Namespace) -> int:
    """Creates an invite and prints its deep link and code."""
    from bot.cli import Failure, settings_for
    from bot.store import audit, people, programmes
    from bot.store.db import open_database

    settings = settings_for(require_token=False)
    if not 1 <= args.uses <= 10_000:
        raise Failure("--uses must be a whole number from 1 to 10000.")
    now = datetime.now(UTC)
    if args.expires:
        try:
            last_day = datetime.strptime(args.expires, "%Y-%m-%d").date()
        except ValueError:
            raise Failure(f"--expires {args.expires!r} is not a date like 2027-01-31.") from None
        expires = datetime.combine(last_day + timedelta(days=1), time(0, 0), tzinfo=ZoneInfo(settings.timezone))
        if expires <= now:
            raise Failure("--expires lies in the past.")
    else:
        expires = now + timedelta(days=30)

    async def go() -> tuple[str, str]:
        db = await open_database(settings.db_path)
        try:
            stored = await programmes.get_programme(db, args.programme)
            if stored is None:
                raise Failure(f"There is no programme {args.programme!r}; load it with `pitstop programme load FILE`.")
            set_id = None
            if args.learning_set:
                found = await programmes.get_set(db, stored.id, args.learning_set)
                if found is None or not found.active:
                    keys = ", ".join(s.key for s in await programmes.list_sets(db, stored.id)) or "none"
                    raise Failure(f"The programme {args.programme} has no learning set {args.learning_set!r} (sets: {keys}).")
                set_id = found.id
            invite = await people.create_invite(db, stored.id, set_id, args.role, args.uses, expires, now)
            await audit.record(db, now, "cli", "invite.create", stored.id, f"role={args.role} set={args.learning_set or '-'} uses={args.uses}")
        finally:
            await db.close()
        username = args.bot_username or await _bot_username(settings)
        return invite.code, username

    code, username = asyncio.run(go())
    if username:
        print(f"https://t.me/{username.lstrip('@')}?start={code}")
    else:
        print("(no bot token configured: the participant sends this to the bot instead)")
        print(f"/start {code}")
    print(f"code: {code}  expires: {expires:%Y-%m-%d %H:%M %Z}  uses: {args.uses}  role: {args.role}")
    return 0


async def _bot_username(settings: object) -> str:
    """Asks Telegram (getMe) for the bot's username; empty without a token or a connection."""
    from telegram import Bot
    from telegram.error import TelegramError

    token = getattr(settings, "token", "")
    if not token:
        return ""
    bot = Bot(token, base_url=settings.api_base() or "https://api.telegram.org/bot")  # type: ignore[attr-defined]
    try:
        async with bot:
            return bot.username or ""
    except TelegramError:
        return ""


def cmd_grant(args: argparse.Namespace) -> int:
    """Gives a Telegram user the facilitator role in a programme and records it in the audit log."""
    from bot.cli import Failure, settings_for
    from bot.store import audit, people, programmes
    from bot.store.db import open_database

    settings = settings_for(require_token=False)
    if args.telegram_id <= 0:
        raise Failure("--telegram-id must be a user's numeric Telegram id (a positive number).")

    async def go() -> bool:
        db = await open_database(settings.db_path)
        try:
            stored = await programmes.get_programme(db, args.programme)
            if stored is None:
                raise Failure(f"There is no programme {args.programme!r}; load it with `pitstop programme load FILE`.")
            now = datetime.now(UTC)
            _, changed = await people.grant(
                db, args.telegram_id, stored.id, "facilitator", args.name, settings.language, settings.timezone, now
            )
            if changed:
                await audit.record(db, now, "cli", "grant", stored.id, f"telegram_id={args.telegram_id} role=facilitator")
            return changed
        finally:
            await db.close()

    changed = asyncio.run(go())
    print(f"{args.telegram_id} {'is now' if changed else 'was already'} a facilitator of {args.programme}."
          " They get the facilitator menu when the bot next starts, or at once with /broadcast or /stats.")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Runs the demo (no token, no network beyond loopback)."""
    from bot.demo import main

    return main(args.keep)


def cmd_backup(args: argparse.Namespace) -> int:
    """Copies the live database with SQLite's online backup API and checks the copy."""
    import sqlite3

    from bot.cli import Failure, settings_for
    from bot.store.db import backup, open_database

    settings = settings_for(require_token=False)
    if not settings.db_path.is_file():
        raise Failure(f"The database {settings.db_path} does not exist; check PITSTOP_DB.")

    async def go() -> None:
        db = await open_database(settings.db_path)
        try:
            await backup(db, args.path)
        finally:
            await db.close()

    asyncio.run(go())
    check = sqlite3.connect(args.path)
    try:
        verdict = check.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        check.close()
    print(f"backup written to {args.path} (integrity: {verdict})")
    return 0 if verdict == "ok" else 1
