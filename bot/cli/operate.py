"""The operator's commands: `run`, `migrate`, `demo`, `backup` and `audit`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from bot.cli.common import Failure, SubCommands, add_command, database, lock_database, settings_for
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.loop import run_loop
from bot.runtime import StartError, halt, launch, spare_the_collector
from bot.sandbox import demo
from bot.store import audit, programmes
from bot.store.db import available_migrations, backup, integrity_check
from bot.store.engines import open_database

log = logging.getLogger("bot")

RUN_DETAILS = """\
Settings come from the environment or a .env file in the working directory:
  TELEGRAM_BOT_TOKEN      the bot's token from @BotFather (required)
  TELEGRAM_BASE_URL       another Bot API server, http://host:port (optional)
  PITSTOP_DB              the SQLite file (default ./pitstop.db)
  PITSTOP_ADMINS          Telegram user ids of admins, comma-separated
  PITSTOP_TIMEZONE        default time zone (default Europe/Amsterdam)
  PITSTOP_LANGUAGE        default language, en or nl (default en)
  PITSTOP_LOG_LEVEL       DEBUG, INFO (default), WARNING or ERROR
  PITSTOP_WEBHOOK_URL     a public https address: webhook mode instead of long polling
  PITSTOP_WEBHOOK_SECRET  required with PITSTOP_WEBHOOK_URL
  PITSTOP_WEBHOOK_PORT, PITSTOP_WEBHOOK_LISTEN  where the webhook server listens (default 127.0.0.1:8443, behind a reverse proxy)
  PITSTOP_WEBAPP_URL      the console's public https address: serve the console (Mini App) too
  PITSTOP_WEBAPP_PORT, PITSTOP_WEBAPP_LISTEN  where the console listens (default 127.0.0.1:8444, behind a reverse proxy)
  PITSTOP_WEBAPP_MAX_AGE  seconds the console trusts Telegram's signed data after it was made (default 3600)
Runs until Ctrl-C or SIGTERM. One process per database: a second one is refused."""
AUDIT_HEADER = ("when (UTC)", "who", "action", "programme", "detail")


# --------------------------------------------------------------------------- the parser


def add_run(sub: SubCommands) -> None:
    """Adds `run`."""
    run = add_command(sub, "run", "start the bot (long polling, or a webhook when PITSTOP_WEBHOOK_URL is set)", RUN_DETAILS)
    run.set_defaults(func=cmd_run)


def add_migrate(sub: SubCommands) -> None:
    """Adds `migrate`."""
    migrate = add_command(sub, "migrate", "bring the database schema up to date",
                          "`run` does this too at start-up; the database is PITSTOP_DB (default ./pitstop.db).")
    migrate.set_defaults(func=cmd_migrate)


def add_demo(sub: SubCommands) -> None:
    """Adds `demo`."""
    command = add_command(sub, "demo", "show the whole bot at work for two simulated weeks on a local fake Telegram",
                          "Needs no token and no network beyond this machine.")
    command.add_argument("--keep", type=Path, metavar="DB", help="leave the demo database at this path")
    command.add_argument("--console", action="store_true",
                         help="then serve the console (Mini App) on localhost and print links that open it")
    command.add_argument("--port", type=int, default=8765, metavar="PORT", help="the console's port (default 8765)")
    command.set_defaults(func=cmd_demo)


def add_backup(sub: SubCommands) -> None:
    """Adds `backup`."""
    command = add_command(
        sub, "backup", "write a consistent copy of the live database",
        "Uses SQLite's online backup, so the bot may keep running; the copy is checked with PRAGMA integrity_check.",
    )
    command.add_argument("path", type=Path, metavar="COPY.db", help="where to write the copy")
    command.set_defaults(func=cmd_backup)


def add_audit(sub: SubCommands) -> None:
    """Adds `audit`."""
    command = add_command(
        sub, "audit", "print the audit log of facilitator and admin actions",
        "One line per action, oldest first, tab-separated: when (UTC), who, action, programme key, detail."
        " Never any journal text.",
    )
    command.add_argument("--limit", type=int, default=200, metavar="N", help="print the last N actions (default 200)")
    command.set_defaults(func=cmd_audit)


# --------------------------------------------------------------------------- running the bot


def cmd_run(args: argparse.Namespace) -> int:
    """Runs the bot until SIGINT or SIGTERM."""
    settings = settings_for(require_token=True)
    # On SQLite one process owns the file; on PostgreSQL several may run side by side (see the README).
    lock = None if settings.db_url else lock_database(settings.db_path)
    try:
        run_loop(serve(settings, SystemClock()))
    finally:
        if lock is not None:
            lock.close()
    return 0


async def serve(settings: Settings, clock: Clock, stop: asyncio.Event | None = None) -> None:
    """Opens the database, runs the Application until `stop` is set or a signal arrives, closes all."""
    db = await open_database(settings.db_target)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        try:
            app = await launch(settings, clock, db)
        except StartError as exc:
            raise Failure(str(exc)) from None
        spare_the_collector()
        log.info("pitstop running db=%s", settings.db_shown)
        try:
            await stop.wait()
            log.info("pitstop stopping")
        finally:
            await halt(app)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await db.close()
        log.info("pitstop stopped; database closed")


def cmd_demo(args: argparse.Namespace) -> int:
    """Runs the demo (no token, no network beyond loopback)."""
    if not 0 <= args.port <= 65535:
        raise Failure(f"--port must be a port number from 1 to 65535, not {args.port}.")
    return demo.main(args.keep, args.port if args.console else None)


# --------------------------------------------------------------------------- the database


def cmd_migrate(args: argparse.Namespace) -> int:
    """Applies pending migrations."""
    settings = settings_for(require_token=False)

    async def go() -> list[str]:
        async with database(settings):
            pass
        return [m.name for m in available_migrations()]

    names = asyncio.run(go())
    print(f"{settings.db_shown}: schema up to date ({len(names)} migrations)")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """Copies the live database with SQLite's online backup API and checks the copy."""
    settings = settings_for(require_token=False)
    if settings.db_url:
        raise Failure("PITSTOP_DB is a PostgreSQL database; back it up with pg_dump, which is consistent while the bot runs.")
    if not settings.db_path.is_file():
        raise Failure(f"The database {settings.db_path} does not exist; check PITSTOP_DB.")

    async def go() -> None:
        async with database(settings) as db:
            await backup(db, args.path)

    asyncio.run(go())
    verdict = integrity_check(args.path)
    print(f"backup written to {args.path} (integrity: {verdict})")
    return 0 if verdict == "ok" else 1


def cmd_audit(args: argparse.Namespace) -> int:
    """Prints the most recent audit entries."""
    settings = settings_for(require_token=False)
    if args.limit < 1:
        raise Failure("--limit must be a whole number of at least 1.")

    async def go() -> None:
        async with database(settings) as db:
            found = await audit.entries(db, args.limit)
            keys = {p.id: p.programme.key for p in await programmes.list_programmes(db)} if found else {}
        if not found:
            print("The audit log is empty.")
            return
        print("\t".join(AUDIT_HEADER))
        for e in found:
            programme = "-" if e.programme_id is None else keys.get(e.programme_id, f"#{e.programme_id} (removed)")
            print(f"{e.at:%Y-%m-%d %H:%M:%S}\t{e.actor}\t{e.action}\t{programme}\t{e.detail}")

    asyncio.run(go())
    return 0
