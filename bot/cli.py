"""`pitstop …` and `python -m bot …`: the operator's and facilitator's commands."""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from bot.cli_more import add_command
from bot.clock import Clock, SystemClock
from bot.config import ConfigError, Settings, load_settings, read_env_file
from bot.domain.programme import ProgrammeError, parse_programme, summarise
from bot.store.db import StoreError, open_database

log = logging.getLogger("bot")

EXIT_USAGE = 2
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
  PITSTOP_WEBHOOK_PORT, PITSTOP_WEBHOOK_LISTEN  where the webhook server listens (default 0.0.0.0:8443)
Runs until Ctrl-C or SIGTERM. One process per database: a second one is refused."""


class Failure(Exception):
    """A problem the operator must fix; the message is printed as one sentence, exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command and gives its exit code; errors a user can cause become one sentence."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        from_file = read_env_file(Path(".env")).get("PITSTOP_LOG_LEVEL", "")
    except ConfigError as exc:
        print(f"pitstop: {exc}", file=sys.stderr)
        return EXIT_USAGE
    level_name = (os.environ.get("PITSTOP_LOG_LEVEL") or from_file or "INFO").strip().upper() or "INFO"
    if level_name not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        print(f"pitstop: PITSTOP_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {level_name!r}.", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The level applies to Pitstop's own logs only. The libraries' debug logs carry what must never
    # be logged: python-telegram-bot logs message texts and the URL with the token, aiosqlite the
    # SQL parameters (journal text), httpx every request URL (the token again).
    logging.getLogger("bot").setLevel(level_name)
    for noisy in ("telegram", "httpx", "httpcore", "aiosqlite", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, StoreError, Failure) as exc:
        print(f"pitstop: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    """Gives the argument parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="pitstop", description="Pitstop, a reflection bot for leadership programmes.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = add_command(sub, "run", "start the bot (long polling, or a webhook when PITSTOP_WEBHOOK_URL is set)", RUN_DETAILS)
    run.set_defaults(func=cmd_run)

    migrate = add_command(sub, "migrate", "bring the database schema up to date",
                          "`run` does this too at start-up; the database is PITSTOP_DB (default ./pitstop.db).")
    migrate.set_defaults(func=cmd_migrate)

    programme = add_command(sub, "programme", "check, load or list programme files")
    psub = programme.add_subparsers(dest="action", required=True, metavar="{check,load,list}")
    check = add_command(psub, "check", "check a programme file and summarise it",
                        "Lists every problem with the key it concerns; stores nothing.")
    check.add_argument("file", type=Path, metavar="FILE.toml", help="the programme file")
    check.set_defaults(func=cmd_programme_check)
    load = add_command(psub, "load", "store a programme file, or update it when its key exists",
                       "The file is checked first; when it has a problem, nothing is stored.")
    load.add_argument("file", type=Path, metavar="FILE.toml", help="the programme file")
    load.set_defaults(func=cmd_programme_load)
    plist = add_command(psub, "list", "list loaded programmes")
    plist.set_defaults(func=cmd_programme_list)

    _extend(sub)
    return parser


def _extend(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds the commands that live in their own modules."""
    from bot import cli_more

    cli_more.add_commands(sub)


# --------------------------------------------------------------------------- helpers


def settings_for(require_token: bool) -> Settings:
    """Gives the settings, or raises ConfigError with one sentence."""
    return load_settings(require_token=require_token)


def read_programme_file(path: Path) -> tuple[str, bytes]:
    """Gives a programme file's bytes, or fails with a sentence when it cannot be read."""
    try:
        if path.stat().st_size > 1_000_000:
            raise Failure(f"{path} is {path.stat().st_size} bytes; a programme file is at most 1 MB.")
        return str(path), path.read_bytes()
    except FileNotFoundError:
        raise Failure(f"{path} does not exist.") from None
    except IsADirectoryError:
        raise Failure(f"{path} is a folder, not a programme file.") from None
    except PermissionError:
        raise Failure(f"{path} cannot be read (permission denied).") from None


def print_problems(name: str, problems: Sequence[object], out: IO[str]) -> None:
    """Prints every problem of a programme file, one per line."""
    print(f"{name}: {len(problems)} problem{'s' if len(problems) != 1 else ''}", file=out)
    for problem in problems:
        print(f"  {problem}", file=out)


# --------------------------------------------------------------------------- commands


def cmd_migrate(args: argparse.Namespace) -> int:
    """Applies pending migrations."""
    settings = settings_for(require_token=False)

    async def go() -> list[str]:
        db = await open_database(settings.db_path)
        await db.close()
        from bot.store.db import available_migrations

        return [m.name for m in available_migrations()]

    names = asyncio.run(go())
    print(f"{settings.db_path}: schema up to date ({len(names)} migrations)")
    return 0


def cmd_programme_check(args: argparse.Namespace, clock: Clock | None = None) -> int:
    """Checks a programme file: every problem, or a short summary."""
    name, raw = read_programme_file(args.file)
    try:
        programme = parse_programme(raw)
    except ProgrammeError as exc:
        print_problems(name, exc.problems, sys.stdout)
        return 1
    now = (clock or SystemClock()).now()
    summary = summarise(programme, now)
    print(f"{name}: OK — {programme.title} ({programme.key}, {programme.language}, {programme.timezone})")
    print(f"  {summary.modules} modules, {summary.events} events, {summary.sets} learning sets, {summary.meetings} set meetings")
    for module in programme.modules:
        print(f"  {module.key}: {module.title} ({module.starts} to {module.ends}), {len(module.events)} events")
    if summary.next_event is not None:
        e = summary.next_event
        local = e.starts.astimezone(programme.zone)
        where = f" in {e.place}" if e.place else ""
        print(f"  next event: {e.kind}{' ' + repr(e.title) if e.title else ''} on {local:%Y-%m-%d %H:%M}{where}")
    else:
        print("  next event: none (the programme has ended)")
    return 0


def cmd_programme_load(args: argparse.Namespace) -> int:
    """Stores a programme file in one transaction, after checking it."""
    settings = settings_for(require_token=False)
    name, raw = read_programme_file(args.file)
    try:
        programme = parse_programme(raw)
    except ProgrammeError as exc:
        print_problems(name, exc.problems, sys.stdout)
        print("Nothing was loaded.")
        return 1

    async def go() -> None:
        from bot.jobs import reminders
        from bot.jobs.sets import replan_programme as replan_sets
        from bot.store import audit, programmes

        db = await open_database(settings.db_path)
        try:
            now = SystemClock().now()
            result = await programmes.save_programme(db, programme, raw.decode("utf-8"), now)
            await audit.record(db, now, "cli", "programme.load", result.programme_id, programme.key)
            # A running bot would plan these within the hour; planning now makes a change take effect at once.
            await reminders.replan_programme(db, result.programme_id, now)
            await replan_sets(db, result.programme_id, now)
        finally:
            await db.close()
        verb = "loaded" if result.created else "updated"
        print(
            f"{programme.key} {verb}: {len(programme.modules)} modules, {len(programme.sets)} learning sets"
            f" ({result.sets_added} new, {result.sets_retired} retired)"
        )

    asyncio.run(go())
    return 0


def cmd_programme_list(args: argparse.Namespace) -> int:
    """Lists loaded programmes."""
    settings = settings_for(require_token=False)

    async def go() -> None:
        from bot.store import programmes

        db = await open_database(settings.db_path)
        try:
            found = await programmes.list_programmes(db)
        finally:
            await db.close()
        if not found:
            print("No programmes loaded yet: use `pitstop programme load FILE`.")
        for p in found:
            print(f"{p.programme.key}\t{p.programme.title}\t{len(p.programme.modules)} modules\tloaded {p.loaded_at[:16].replace('T', ' ')} UTC")

    asyncio.run(go())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Runs the bot until SIGINT or SIGTERM."""
    settings = settings_for(require_token=True)
    lock = _lock_database(settings.db_path)
    try:
        asyncio.run(serve(settings, SystemClock()))
    finally:
        lock.close()
    return 0


def _lock_database(path: Path) -> IO[str]:
    """Takes an advisory lock beside the database so that two bots never share it."""
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


async def serve(settings: Settings, clock: Clock, stop: asyncio.Event | None = None) -> None:
    """Opens the database, runs the Application until `stop` is set or a signal arrives, closes all."""
    from bot.runtime import StartError, halt, launch

    db = await open_database(settings.db_path)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        try:
            app = await launch(settings, clock, db)
        except StartError as exc:
            raise Failure(str(exc)) from None
        log.info("pitstop running db=%s", settings.db_path)
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


if __name__ == "__main__":
    raise SystemExit(main())
