"""`pitstop audit`: print the audit log."""

from __future__ import annotations

import argparse
import asyncio

from bot.cli_more import add_command

HEADER = ("when (UTC)", "who", "action", "programme", "detail")


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds `audit`."""
    audit = add_command(
        sub, "audit", "print the audit log of facilitator and admin actions",
        "One line per action, oldest first, tab-separated: when (UTC), who, action, programme key, detail."
        " Never any journal text.",
    )
    audit.add_argument("--limit", type=int, default=200, metavar="N", help="print the last N actions (default 200)")
    audit.set_defaults(func=cmd_audit)


def cmd_audit(args: argparse.Namespace) -> int:
    """Prints the most recent audit entries."""
    from bot.cli import Failure, settings_for
    from bot.store import audit, programmes
    from bot.store.db import open_database

    settings = settings_for(require_token=False)
    if args.limit < 1:
        raise Failure("--limit must be a whole number of at least 1.")

    async def go() -> None:
        db = await open_database(settings.db_path)
        try:
            found = await audit.entries(db, args.limit)
            keys = {p.id: p.programme.key for p in await programmes.list_programmes(db)} if found else {}
        finally:
            await db.close()
        if not found:
            print("The audit log is empty.")
            return
        print("\t".join(HEADER))
        for e in found:
            programme = "-" if e.programme_id is None else keys.get(e.programme_id, f"#{e.programme_id} (removed)")
            print(f"{e.at:%Y-%m-%d %H:%M:%S}\t{e.actor}\t{e.action}\t{programme}\t{e.detail}")

    asyncio.run(go())
    return 0
