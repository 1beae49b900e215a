"""The dispatcher's senders: each takes its next row in the commit that records its last send, so that
rows on their way are never more than CONCURRENCY at any commit (all a hard kill can double), one
chat's messages still arrive in order, and most rows need no claim of their own (one commit, not two)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import SystemClock
from bot.config import Settings
from bot.jobs.dispatcher import CONCURRENCY
from bot.render import Renderer
from bot.sandbox.fakeapi import FakeTelegram
from bot.services import Services
from bot.store import db as store_db
from bot.store import outbox
from bot.store.db import Database, open_database
from bot.tg.app import build_application

CHATS = 20
PER_CHAT = 3


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """Gives the fake Bot API, answering a little late so that sends overlap."""
    telegram = FakeTelegram(rate_limits=False, latency=0.003)
    await telegram.start()
    yield telegram
    await telegram.stop()


async def plan_notices(db: Database, clock: SystemClock) -> None:
    """Plans PER_CHAT due notices for each of CHATS chats, a chat's in their order of due time."""
    payload = json.dumps({"template": "not_invited", "values": {}, "language": "en"})
    due = clock.now() - timedelta(minutes=5)
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO outbox (kind, person_id, chat_id, due_at, dedupe_key, payload, created_at)"
            " VALUES ('notice', NULL, ?, ?, ?, ?, ?)",
            [(1000 + i % CHATS, outbox.ts(due + timedelta(seconds=i)), f"t:{i}", payload, outbox.ts(clock.now()))
             for i in range(CHATS * PER_CHAT)],
        )


async def test_rows_on_their_way_never_pass_concurrency_and_each_chat_keeps_its_order(
    tmp_path: Path, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SystemClock()
    db = await open_database(tmp_path / "pitstop.db")
    sending_after_commits: list[int] = []
    commit_units = store_db._commit_units

    def counted(units: list[Any], conn: sqlite3.Connection) -> list[tuple[bool, Any]]:
        outcomes = commit_units(units, conn)
        # On the database thread, right after the commit: no other batch commits before this count.
        sending_after_commits.append(int(conn.execute("SELECT count(*) FROM outbox WHERE status = 'sending'").fetchone()[0]))
        return outcomes

    claimed_alone: list[int] = []  # rows claimed on their own, not with the record of a send
    claim_due = outbox.claim_due

    async def claim_counted(*args: Any, **kwargs: Any) -> list[outbox.OutboxRow]:
        rows = await claim_due(*args, **kwargs)
        claimed_alone.extend(row.id for row in rows)
        return rows

    try:
        await plan_notices(db, clock)
        monkeypatch.setattr(store_db, "_commit_units", counted)
        monkeypatch.setattr(outbox, "claim_due", claim_counted)
        settings = Settings(token=fake.token, base_url=fake.base_url, db_path=tmp_path / "pitstop.db", rate_per_second=0)
        app = build_application(Services(settings=settings, db=db, clock=clock, render=Renderer()))
        await app.bot.initialize()
        try:
            outcomes = await app.services.dispatcher.run_once(app.bot)
        finally:
            await app.bot.shutdown()
        rows = await db.fetchall("SELECT chat_id, telegram_message_id, status FROM outbox ORDER BY due_at, id")
    finally:
        await db.close()

    assert outcomes == {"sent": CHATS * PER_CHAT}
    assert {r[2] for r in rows} == {"sent"}
    # Each chat's rows, in their order of due time, got Telegram's message ids 1, 2, 3 of that chat.
    by_chat: dict[int, list[int]] = {}
    for chat_id, message_id, _ in rows:
        by_chat.setdefault(chat_id, []).append(message_id)
    assert all(ids == list(range(1, PER_CHAT + 1)) for ids in by_chat.values()), by_chat
    assert sending_after_commits and max(sending_after_commits) <= CONCURRENCY
    # Most rows were claimed in the commit that recorded the send before them.
    assert len(claimed_alone) < CHATS * PER_CHAT / 4
