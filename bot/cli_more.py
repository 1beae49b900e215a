"""Sub-commands beyond run, migrate and programme: invites, audit, demo, backup."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

INVITE_DAYS = 30


def add_command(sub: argparse._SubParsersAction, name: str, summary: str, details: str = "") -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Gives a new sub-command whose `--help` opens with what it does (argparse's `help` shows only in
    the list of commands), with `details` as a paragraph below."""
    description = summary[0].upper() + summary[1:] + "." + (f"\n\n{details}" if details else "")
    return sub.add_parser(name, help=summary, description=description, formatter_class=argparse.RawDescriptionHelpFormatter)


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds the extra sub-commands to the parser."""
    from bot import cli_audit, cli_import

    invite = add_command(
        sub, "invite", "create an invite link for a programme (and a learning set)",
        "The link works through the last day given with --expires, as the programme's calendar counts days.",
    )
    invite.add_argument("--programme", required=True, metavar="KEY", help="the programme's key")
    invite.add_argument("--set", dest="learning_set", metavar="KEY", help="the learning set's key")
    invite.add_argument("--role", choices=("participant", "facilitator"), default="participant",
                        help="what the person becomes (default: participant)")
    invite.add_argument("--uses", type=int, default=1, help="how many people may use it (default 1)")
    invite.add_argument("--expires", metavar="YYYY-MM-DD", help=f"last day it works (default: in {INVITE_DAYS} days)")
    invite.add_argument("--bot-username", metavar="NAME", help="the bot's @username, when Telegram cannot be asked")
    invite.set_defaults(func=cmd_invite)

    grant = add_command(sub, "grant", "make a Telegram user a facilitator of a programme")
    grant.add_argument("--programme", required=True, metavar="KEY", help="the programme's key")
    grant.add_argument("--telegram-id", required=True, type=int, metavar="ID", help="the user's numeric Telegram id")
    grant.add_argument("--name", default="", help="their name, until they start the bot")
    grant.set_defaults(func=cmd_grant)

    demo = add_command(sub, "demo", "show the whole bot at work for two simulated weeks on a local fake Telegram",
                       "Needs no token and no network beyond this machine.")
    demo.add_argument("--keep", type=Path, metavar="DB", help="leave the demo database at this path")
    demo.set_defaults(func=cmd_demo)

    backup = add_command(
        sub, "backup", "write a consistent copy of the live database",
        "Uses SQLite's online backup, so the bot may keep running; the copy is checked with PRAGMA integrity_check.",
    )
    backup.add_argument("path", type=Path, metavar="COPY.db", help="where to write the copy")
    backup.set_defaults(func=cmd_backup)

    cli_audit.add_commands(sub)
    cli_import.add_commands(sub)


def cmd_invite(args: argparse.Namespace) -> int:
    """Creates an invite and prints its deep link and code."""
    from bot.cli import Failure, settings_for
    from bot.cli_import import _expiry, _last_day
    from bot.store import audit, people, programmes
    from bot.store.db import open_database

    settings = settings_for(require_token=False)
    if not 1 <= args.uses <= 10_000:
        raise Failure("--uses must be a whole number from 1 to 10000.")
    now = datetime.now(UTC)
    typed = _last_day(args.expires)

    async def go() -> tuple[str, str, date]:
        db = await open_database(settings.db_path)
        try:
            stored = await programmes.get_programme(db, args.programme)
            if stored is None:
                raise Failure(f"There is no programme {args.programme!r}; load it with `pitstop programme load FILE`.")
            # As `import` does: through the last day, as the programme's calendar counts days.
            zone = stored.programme.zone
            last_day = typed or now.astimezone(zone).date() + timedelta(days=INVITE_DAYS)
            expires = _expiry(last_day, zone, now)
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
        return invite.code, username, last_day

    code, username, last_day = asyncio.run(go())
    if username:
        print(f"https://t.me/{username.lstrip('@')}?start={code}")
    else:
        print("(no bot token configured: the participant sends this to the bot instead)")
        print(f"/start {code}")
    print(f"code: {code}  works through {last_day.isoformat()}  uses: {args.uses}  role: {args.role}")
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
