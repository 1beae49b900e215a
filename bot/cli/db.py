"""`pitstop db copy`: moving a grown installation from its SQLite file into an empty PostgreSQL database.

The copying is bot.store.copy's; here the addresses are read, the lock a running bot holds on the file is
taken (so a bot at work makes the copy refuse), the progress bar goes to stderr and the table of counts to
stdout. No password is ever printed: the target is shown as bot.config.redacted gives it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import IO
from urllib.parse import unquote

from bot.cli.common import Failure, SubCommands, add_command, lock_database
from bot.config import is_postgres, redacted
from bot.store.copy import CopyResult, copy_database

SQLITE_SCHEME = "sqlite://"
COPY_DETAILS = """\
Everything goes: the journal, the outbox with each row's state, the audit log, every table. The
PostgreSQL database is migrated first and must be empty; the rows go in one transaction, and the copy is
kept only when every table's count and a checksum of the journal read back the same on both sides.
Stop the bot first: while it runs on the SQLite file, the copy refuses. The SQLite file is only read."""
HEADER = ("table", "SQLite", "PostgreSQL")


def add_db(sub: SubCommands) -> None:
    """Adds `db` and its action."""
    command = add_command(sub, "db", "move the database from a SQLite file to PostgreSQL")
    dsub = command.add_subparsers(dest="action", required=True, metavar="{copy}")
    copy = add_command(dsub, "copy", "copy a SQLite database into an empty PostgreSQL database, in one transaction",
                       COPY_DETAILS)
    copy.add_argument("--from", dest="source", required=True, metavar="SQLITE",
                      help="the SQLite file: sqlite:///path/to/pitstop.db, or its path")
    copy.add_argument("--to", dest="target", required=True, metavar="POSTGRESQL",
                      help="the PostgreSQL database: postgresql://user:password@host:port/name")
    copy.set_defaults(func=cmd_db_copy)


def sqlite_path(value: str) -> Path:
    """Gives the file a --from value names: sqlite:///absolute/path (a URL, as file:/// is), or a plain path."""
    if not value.startswith(SQLITE_SCHEME):
        return Path(value)
    rest = value[len(SQLITE_SCHEME):]
    if not rest.startswith("/") or rest == "/":
        raise Failure(f"--from {value} names no file; write sqlite:///path/to/pitstop.db (three slashes) or the path.")
    return Path(unquote(rest))


def cmd_db_copy(args: argparse.Namespace) -> int:
    """Copies the SQLite database into the PostgreSQL one and prints the counts of both sides."""
    if not is_postgres(args.target):
        raise Failure(f"--to must name a PostgreSQL database (postgresql://…), not {redacted(args.target)}.")
    path = sqlite_path(args.source)
    if path.is_dir():
        raise Failure(f"--from {path} is a folder, not a SQLite database.")
    if not path.is_file():
        raise Failure(f"The SQLite database {path} does not exist; check --from.")
    lock = lock_database(path)
    try:
        result = asyncio.run(copy_database(path, args.target, progress=sys.stderr))
    finally:
        lock.close()
    print_result(sys.stdout, result, redacted(args.target))
    return 0


def print_result(out: IO[str], result: CopyResult, target: str) -> None:
    """Prints each table's rows on both sides (by name), that the journal's checksum matches, and what to do next."""
    width = max(len(HEADER[0]), *(len(t.name) for t in result.tables))
    print(f"{HEADER[0]:<{width}}  {HEADER[1]:>10}  {HEADER[2]:>10}", file=out)
    for table in sorted(result.tables, key=lambda t: t.name):
        print(f"{table.name:<{width}}  {table.sqlite_count:>10}  {table.pg_count:>10}", file=out)
    print(f"journal checksum {result.checksum} matches", file=out)
    where = f"PITSTOP_DB={target}" + (" (with its password for ***)" if ":***@" in target else "")
    print(f"Copied {result.rows} rows in {result.elapsed:.1f} s. Set {where} and start the bot; "
          "keep the SQLite file until it runs well.", file=out)
