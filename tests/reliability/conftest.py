"""Fixtures and builders for the reliability tests: the e2e World, a programme that is running
today, and participants inserted in bulk with plain SQL (as an import of a large cohort would)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.store.db import Database
from tests.e2e.conftest import store_target, world  # noqa: F401  (the e2e fixtures, reused as they are)
from tests.factories import module, programme


def programme_source(key: str, starts: date, ends: date) -> str:
    """Gives a programme file with one module from `starts` to `ends` and no events or sets."""
    return programme(
        key=key,
        title="Reliability Programme",
        modules=[module("m1", "The Person", starts, ends, theme="Working under pressure", capacities=["relational"])],
    )


def around(today: date) -> tuple[date, date]:
    """Gives a module window that is certainly running today."""
    return today - timedelta(days=30), today + timedelta(days=90)


async def insert_participants(
    db: Database,
    programme_id: int,
    first_telegram_id: int,
    count: int,
    now: datetime,
    nudge_days: str = "",
) -> list[tuple[int, int]]:
    """Inserts active participants with their memberships in one transaction; gives (person id, chat id).

    `nudge_days` is empty by default so that the planner adds no daily prompts of its own: the
    tests plan exactly the rows they count.
    """
    stamp = now.isoformat()
    made: list[tuple[int, int]] = []
    async with db.transaction() as conn:
        for i in range(count):
            chat = first_telegram_id + i
            cur = await conn.execute(
                "INSERT INTO person (telegram_id, chat_id, name, status, nudge_days, created_at, updated_at)"
                " VALUES (?,?,?,'active',?,?,?)",
                (chat, chat, f"P{i}", nudge_days, stamp, stamp),
            )
            person_id = int(cur.lastrowid or 0)
            await conn.execute(
                "INSERT INTO membership (person_id, programme_id, role, joined_at) VALUES (?,?,'participant',?)",
                (person_id, programme_id, stamp),
            )
            made.append((person_id, chat))
    return made


async def insert_facilitator(
    db: Database, programme_id: int, telegram_id: int, now: datetime
) -> int:
    """Inserts an active facilitator of the programme; gives the person id."""
    stamp = now.isoformat()
    async with db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO person (telegram_id, chat_id, name, status, nudge_days, created_at, updated_at)"
            " VALUES (?,?,'Fiona','active','',?,?)",
            (telegram_id, telegram_id, stamp, stamp),
        )
        person_id = int(cur.lastrowid or 0)
        await conn.execute(
            "INSERT INTO membership (person_id, programme_id, role, joined_at) VALUES (?,?,'facilitator',?)",
            (person_id, programme_id, stamp),
        )
    return person_id

