"""The outbox's claims: a send's record and the claim of the row a sender takes next share one commit,
a chat with a row on its way is passed over by every claim (its rows keep their order), and a claim
that fails never costs the record of a send."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from bot.store import outbox
from bot.store.db import Database
from bot.store.outbox import Claim, Planned

NOW = datetime(2027, 3, 24, 9, 0, tzinfo=UTC)


async def plan_notices(db: Database, chats: list[int]) -> None:
    """Plans one due notice per entry of `chats`, in that order (a chat named twice gets two)."""
    rows = [Planned("notice", chat, NOW - timedelta(seconds=100 - i), f"n:{i}", payload={"text": "x"})
            for i, chat in enumerate(chats)]
    await outbox.plan(db, rows, NOW)


async def statuses(db: Database) -> dict[int, str]:
    return {r[0]: r[1] for r in await db.fetchall("SELECT id, status FROM outbox ORDER BY id")}


async def test_a_sends_record_and_the_claim_of_the_next_row_share_one_commit(db: Database) -> None:
    await plan_notices(db, [1, 2, 3])
    [first] = await outbox.claim_due(db, NOW, 1)
    before = db.commits
    following = await outbox.mark_sent(db, first.id, 11, NOW, then=Claim(NOW, 1))
    assert db.commits == before + 1
    assert [row.chat_id for row in following] == [2]
    assert following[0].status == "sending" and following[0].attempts == 1
    assert await statuses(db) == {first.id: "sent", following[0].id: "sending", first.id + 2: "pending"}


async def test_a_part_sent_row_may_be_claimed_again_with_its_record(db: Database) -> None:
    await plan_notices(db, [1])
    [row] = await outbox.claim_due(db, NOW, 1)
    [again] = await outbox.mark_part_sent(db, row.id, 1, 11, then=Claim(NOW, 1))
    assert again.id == row.id and again.payload["parts_sent"] == 1 and again.status == "sending"


async def test_a_chat_with_a_row_on_its_way_is_passed_over_by_every_claim(db: Database) -> None:
    await plan_notices(db, [1, 1, 2])
    [first] = await outbox.claim_due(db, NOW, 1)
    assert first.chat_id == 1
    # Nothing says chat 1 is busy, but its first row is on its way: its second must wait behind it.
    assert [row.chat_id for row in await outbox.claim_due(db, NOW, 5)] == [2]
    following = await outbox.mark_sent(db, first.id, 11, NOW, then=Claim(NOW, 5))
    assert [row.chat_id for row in following] == [1]


async def test_two_claims_in_one_commit_never_take_one_chats_rows_at_once(db: Database) -> None:
    await plan_notices(db, [1, 2, 3, 3, 3])
    one, two = await outbox.claim_due(db, NOW, 2)
    # Both senders finish at once; each knows only the other's row, not what the other claims next.
    before = db.commits
    first, second = await asyncio.gather(
        outbox.mark_sent(db, one.id, 11, NOW, then=Claim(NOW, 1, frozenset({two.chat_id}))),
        outbox.mark_sent(db, two.id, 12, NOW, then=Claim(NOW, 1, frozenset({one.chat_id}))),
    )
    assert db.commits == before + 1
    assert [row.chat_id for row in first + second] == [3]
    assert list((await statuses(db)).values()).count("sending") == 1


async def test_a_claim_that_fails_never_costs_the_record_of_the_send(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await plan_notices(db, [1, 2])
    [first] = await outbox.claim_due(db, NOW, 1)

    def broken(conn: sqlite3.Connection, claim: Claim, several: bool) -> list[outbox.OutboxRow]:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(outbox, "_claim", broken)
    assert await outbox.mark_sent(db, first.id, 11, NOW, then=Claim(NOW, 1)) == []
    assert await statuses(db) == {first.id: "sent", first.id + 1: "pending"}
