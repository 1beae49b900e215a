"""`pitstop audit`: print the audit log."""

from __future__ import annotations

import argparse
import asyncio


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds `audit`."""
    audit = sub.add_parser("audit", help="print the audit log of facilitator and admin actions")
    audit.add_argument("--limit", type=int, default=200)
    audit.set_defaults(func=cmd_audit)


def cmd_audit(args: argparse.Namespace) -> int:
    """Prints the most recent audit entries."""
    from bot.cli import settings_for
    from bot.store import audit
    from bot.store.db import open_database

    settings = settings_for(require_token=False)

    async def go() -> None:
        db = await open_database(settings.db_path)
        try:
            found = await audit.entries(db, args.limit)
        finally:
            await db.close()
        if not found:
            print("The audit log is empty.")
        for e in found:
            print(f"{e.at:%Y-%m-%d %H:%M:%S}Z\t{e.actor}\t{e.action}\t{e.programme_id or '-'}\t{e.detail}")

    asyncio.run(go())
    return 0
