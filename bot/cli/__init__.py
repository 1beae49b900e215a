"""`pitstop …` and `python -m bot …`: the operator's and facilitator's commands.

`main()` and the parser live here; each group of commands lives in its own module (`programme`,
`people`, `operate`, `research`, `db`), and what they all need (settings, the database, the bot's username) in `common`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.cli import db, operate, people, programme, research
from bot.cli.common import Failure
from bot.config import ConfigError, read_env_file
from bot.store.db import StoreError

EXIT_USAGE = 2


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
    # SQL parameters (journal text), httpx every request URL (the token again), psycopg's pool every
    # connection it lends.
    logging.getLogger("bot").setLevel(level_name)
    for noisy in ("telegram", "httpx", "httpcore", "aiosqlite", "apscheduler", "psycopg"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, StoreError, Failure) as exc:
        print(f"pitstop: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    """Gives the argument parser with every sub-command, in the order `pitstop --help` lists them."""
    parser = argparse.ArgumentParser(prog="pitstop", description="Pitstop, a reflection bot for leadership programmes.")
    sub = parser.add_subparsers(dest="command", required=True)
    operate.add_run(sub)
    operate.add_migrate(sub)
    programme.add_programme(sub)
    people.add_invite(sub)
    people.add_grant(sub)
    operate.add_demo(sub)
    operate.add_backup(sub)
    operate.add_audit(sub)
    db.add_db(sub)
    people.add_import(sub)
    research.add_research(sub)
    return parser
