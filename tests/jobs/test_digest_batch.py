"""Digests due at the same moment are expanded together: the dispatcher claims their rows to MEMBERS in a
batch and seals them all in one commit, each digest a write unit of its own. A digest that fails is rolled
back alone and its row marked failed, the others are sent and sealed once; a batch holds one digest per set;
and a hard kill in the middle of a batch leaves nothing sealed, so that a restart seals each digest once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import Settings
from bot.domain.plans import MEMBERS, Planned
from bot.domain.programme import parse_programme
from bot.jobs.sets import compose_digest, expand_due_digests
from bot.render import Renderer
from bot.sandbox.fakeapi import FakeTelegram
from bot.services import Services
from bot.store import outbox, programmes, sharing
from bot.store.db import Database, open_database
from bot.store.journal import NewReflection, add_message
from bot.tg.app import build_application
from tests.factories import learning_set, module, programme

NOW = datetime(2027, 4, 1, 8, tzinfo=UTC)
SETS = 4
MEMBERS_PER_SET = 2
FIRST_GROUP = -5000
RENDER = Renderer()
MAIN = Path(__file__).resolve().parents[2]


async def sets_with_digests(db: Database, sets: int = SETS, periods: tuple[str, ...] = ("week",)) -> list[int]:
    """Loads a programme of `sets` sets, each with a linked group and members who shared one reflection an
    hour ago, and plans a digest of each set per period, all due at NOW; gives the set ids."""
    source = programme(key="batch", modules=[module("m1", "One", "2027-03-01", "2027-06-30")],
                       sets=[learning_set(f"s{n}", f"Set {n}") for n in range(sets)])
    loaded = await programmes.save_programme(db, parse_programme(source), source, NOW)
    set_ids, telegram_id = [], 900
    for n in range(sets):
        found = await programmes.get_set(db, loaded.programme_id, f"s{n}")
        assert found is not None
        set_ids.append(found.id)
        for m in range(MEMBERS_PER_SET):
            telegram_id += 1
            async with db.transaction() as conn:
                cur = await conn.execute(
                    "INSERT INTO person (telegram_id, chat_id, name, status, created_at, updated_at)"
                    " VALUES (?, ?, ?, 'active', ?, ?)",
                    (telegram_id, telegram_id, f"Member {n}.{m}", NOW.isoformat(), NOW.isoformat()),
                )
                person_id = int(cur.lastrowid or 0)
                await conn.execute(
                    "INSERT INTO membership (person_id, programme_id, learning_set_id, role, joined_at)"
                    " VALUES (?, ?, ?, 'participant', ?)", (person_id, loaded.programme_id, found.id, NOW.isoformat()),
                )
            written = NOW - timedelta(hours=1)
            stored = await add_message(
                db, NewReflection(person_id, None, None, loaded.programme_id, "m1", "between", "", False, None),
                None, telegram_id, 1, "text", f"what member {n}.{m} shared", None, written,
            )
            assert stored is not None
            assert await sharing.set_visibility(db, stored[0], person_id, "shared", found.id, written)
        await sharing.link_group(db, found.id, FIRST_GROUP - n)
        for period in periods:
            async with db.transaction() as conn:
                digest_id = await sharing.ensure_digest(conn, found.id, period, NOW, None, "", NOW)
            await outbox.plan(db, [Planned("digest", MEMBERS, NOW, f"digest:{digest_id}",
                                           payload={"digest_id": digest_id})], NOW)
    return set_ids


async def digests(db: Database) -> list[dict[str, Any]]:
    """Gives every digest with its status, seal, how many entries it carries and how many copies it has."""
    rows = await db.fetchall(
        "SELECT digest.id, digest.learning_set_id, digest.status, digest.sealed_at,"
        " (SELECT count(*) FROM reflection WHERE reflection.digest_id = digest.id) AS carried,"
        " (SELECT count(*) FROM outbox WHERE outbox.dedupe_key LIKE 'digest:' || digest.id || ':%') AS copies,"
        " (SELECT status FROM outbox WHERE outbox.dedupe_key = 'digest:' || digest.id) AS row_status,"
        " (SELECT last_error FROM outbox WHERE outbox.dedupe_key = 'digest:' || digest.id) AS row_error"
        " FROM digest ORDER BY digest.id"
    )
    return [dict(r) for r in rows]


def failing_seal(monkeypatch: pytest.MonkeyPatch, digest_id: int) -> None:
    """Makes the seal of one digest fail after it wrote (so that its unit must be rolled back)."""
    seal: Callable[..., bool] = sharing._seal

    def seal_or_fail(digest: int, *args: Any) -> bool:
        sealed = seal(digest, *args)
        if digest == digest_id:
            raise RuntimeError("a seal that fails")
        return sealed

    monkeypatch.setattr(sharing, "_seal", seal_or_fail)


async def test_digests_due_together_are_sealed_in_one_commit_each_with_its_own_copy(db: Database) -> None:
    await sets_with_digests(db)
    before = db.commits
    outcomes = await expand_due_digests(db, RENDER, NOW)
    assert outcomes == {"expanded": SETS}
    assert db.commits - before == 2  # the claim of the batch, and its seals with their copies and rows' ends
    for digest in await digests(db):
        assert digest["status"] == "sealed" and digest["carried"] == MEMBERS_PER_SET and digest["copies"] == 1
        assert digest["row_status"] == "cancelled" and digest["row_error"] == "expanded"


async def test_a_batch_larger_than_the_limit_goes_in_several_commits(db: Database) -> None:
    await sets_with_digests(db)
    before = db.commits
    assert await expand_due_digests(db, RENDER, NOW, limit=3) == {"expanded": SETS}
    assert db.commits - before == 3  # 3 claimed; their seals with the claim of the 4th; its seal
    assert {d["status"] for d in await digests(db)} == {"sealed"}


async def test_a_claim_that_fails_beside_a_batchs_records_is_made_alone_and_every_digest_goes(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sets_with_digests(db)
    claim = outbox._claim_expansions
    calls: list[int] = []

    def claim_or_fail(*args: Any) -> list[outbox.OutboxRow]:
        calls.append(1)
        if len(calls) == 2:  # the one queued with the first batch's records
            raise RuntimeError("a claim that fails")
        return claim(*args)

    monkeypatch.setattr(outbox, "_claim_expansions", claim_or_fail)
    assert await expand_due_digests(db, RENDER, NOW, limit=3) == {"expanded": SETS}
    assert len(calls) == 3  # the first claim, the one that failed, and the same made alone
    assert {d["status"] for d in await digests(db)} == {"sealed"}


async def test_a_digest_that_fails_rolls_back_alone_and_the_others_are_sealed_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sets_with_digests(db)
    broken = (await digests(db))[1]["id"]
    failing_seal(monkeypatch, broken)
    assert await expand_due_digests(db, RENDER, NOW) == {"expanded": SETS - 1, "failed": 1}
    found = {d["id"]: d for d in await digests(db)}
    assert found[broken]["status"] == "planned" and found[broken]["carried"] == 0 and found[broken]["copies"] == 0
    assert found[broken]["row_status"] == "failed" and found[broken]["row_error"] == "error: RuntimeError"
    others = [d for d in found.values() if d["id"] != broken]
    assert all(d["status"] == "sealed" and d["carried"] == MEMBERS_PER_SET and d["copies"] == 1 for d in others)

    monkeypatch.undo()
    later = NOW + timedelta(minutes=5)
    assert await expand_due_digests(db, RENDER, later) == {}  # a failed row is not tried again
    assert await digests(db) == list(found.values())  # and nothing is sealed twice
    # Each copy reads its own set's entries only.
    for copy in await db.fetchall("SELECT id, chat_id FROM outbox WHERE kind = 'digest' AND chat_id != 0"):
        row = await outbox.get(db, copy["id"])
        assert row is not None
        text = "\n".join((await compose_digest(db, RENDER, row, later)).texts)
        n = FIRST_GROUP - copy["chat_id"]
        assert all(f"member {n}.{m} shared" in text for m in range(MEMBERS_PER_SET))
        assert text.count("shared") == MEMBERS_PER_SET


async def test_a_digest_whose_composing_fails_is_marked_failed_and_the_others_go(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sets_with_digests(db)
    broken = (await digests(db))[2]["id"]
    reading = sharing._digest_reading  # what the batch's one trip runs for each digest, on the database thread

    def reading_or_fail(digest_id: int, *args: Any) -> sharing.DigestReading | None:
        if digest_id == broken:
            raise ValueError("a reading that fails")
        return reading(digest_id, *args)

    monkeypatch.setattr(sharing, "_digest_reading", reading_or_fail)
    assert await expand_due_digests(db, RENDER, NOW) == {"expanded": SETS - 1, "failed": 1}
    found = {d["id"]: d for d in await digests(db)}
    assert found[broken]["status"] == "planned" and found[broken]["row_error"] == "error: ValueError"
    assert sum(d["status"] == "sealed" for d in found.values()) == SETS - 1


async def test_a_batch_takes_one_digest_per_set_so_the_next_sees_the_one_before_sealed(db: Database) -> None:
    set_ids = await sets_with_digests(db, sets=2, periods=("week-1", "week-2"))
    assert await expand_due_digests(db, RENDER, NOW) == {"expanded": 2}
    first = await digests(db)
    assert [d["status"] for d in first] == ["sealed", "planned", "sealed", "planned"]
    assert [d["row_status"] for d in first] == ["cancelled", "pending", "cancelled", "pending"]
    later = NOW + timedelta(seconds=1)
    assert await expand_due_digests(db, RENDER, later) == {"expanded": 2}
    second = await digests(db)
    assert [d["status"] for d in second] == ["sealed"] * 4
    # What the first digest of a set carried, the second does not carry again.
    assert [d["carried"] for d in second] == [MEMBERS_PER_SET, 0, MEMBERS_PER_SET, 0]
    assert [d["learning_set_id"] for d in second] == [set_ids[0], set_ids[0], set_ids[1], set_ids[1]]


async def test_a_claim_passes_over_a_set_whose_digest_is_on_its_way(db: Database) -> None:
    await sets_with_digests(db, sets=2, periods=("week-1", "week-2"))
    first, _, third, _ = [d["id"] for d in await digests(db)]  # set 0's two digests, then set 1's
    held = await outbox.claim_expansions(db, NOW, 1)
    assert [int(r.payload["digest_id"]) for r in held] == [first]
    rest = await outbox.claim_expansions(db, NOW, 10)
    assert [int(r.payload["digest_id"]) for r in rest] == [third]  # not set 0's second: its first is on its way
    assert await outbox.claim_expansions(db, NOW, 10) == []
    await outbox.release(db, [r.id for r in held], "put back")
    assert [int(r.payload["digest_id"]) for r in await outbox.claim_expansions(db, NOW, 10)] == [first]


async def test_the_dispatcher_expands_digests_due_in_a_batch_and_sends_each_group_its_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    telegram = FakeTelegram(rate_limits=False)
    await telegram.start()
    db = await open_database(tmp_path / "pitstop.db")
    try:
        await sets_with_digests(db)
        claimed_alone: list[int] = []  # the chats of rows claimed the way other rows are
        claim_due = outbox.claim_due

        async def claim_counted(*args: Any, **kwargs: Any) -> list[outbox.OutboxRow]:
            rows = await claim_due(*args, **kwargs)
            claimed_alone.extend(row.chat_id for row in rows)
            return rows

        monkeypatch.setattr(outbox, "claim_due", claim_counted)
        clock = ManualClock(NOW)
        settings = Settings(token=telegram.token, base_url=telegram.base_url, db_path=tmp_path / "pitstop.db",
                            rate_per_second=0)
        app = build_application(Services(settings=settings, db=db, clock=clock, render=Renderer()))
        await app.bot.initialize()
        try:
            outcomes = await app.services.dispatcher.run_once(app.bot)
        finally:
            await app.bot.shutdown()
        assert outcomes == {"expanded": SETS, "sent": SETS}
        assert MEMBERS not in claimed_alone and sorted(claimed_alone) == [FIRST_GROUP - n for n in reversed(range(SETS))]
        for n in range(SETS):
            texts = [m.text or "" for m in telegram.sent(FIRST_GROUP - n)]
            assert len(texts) == 1 and all(f"member {n}.{m} shared" in texts[0] for m in range(MEMBERS_PER_SET))
    finally:
        await db.close()
        await telegram.stop()


CHILD = """
import asyncio, os, signal, sys
from datetime import datetime
from bot.jobs.sets import expand_due_digests
from bot.render import Renderer
from bot.sandbox.fakeapi import FakeTelegram
from bot.services import Services
from bot.store import sharing
from bot.store.db import open_database

seal, sealed = sharing._seal, []

def seal_then_die(*args):
    done = seal(*args)
    sealed.append(args[0])
    if len(sealed) == int(sys.argv[3]):  # in the middle of the batch's transaction, on the database thread
        print("killing", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    return done

sharing._seal = seal_then_die

async def main(path, now):
    db = await open_database(path)
    await expand_due_digests(db, Renderer(), datetime.fromisoformat(now))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_a_hard_kill_in_the_middle_of_a_batch_leaves_nothing_sealed_and_a_restart_seals_each_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "killed.db"
    db = await open_database(path)
    try:
        await sets_with_digests(db)
    finally:
        await db.close()
    env = {**os.environ, "PYTHONPATH": str(MAIN), "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), NOW.isoformat(), "3"], capture_output=True, env=env, cwd=tmp_path,
        timeout=60, check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    assert b"killing" in done.stdout
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM digest WHERE status != 'planned'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM reflection WHERE digest_id IS NOT NULL").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM outbox WHERE kind = 'digest' AND chat_id != 0").fetchone()[0] == 0
        # The batch's claim was committed before the kill: its rows are on their way, and only those.
        assert conn.execute("SELECT status, count(*) FROM outbox WHERE chat_id = 0 GROUP BY status").fetchall() == [
            ("sending", SETS)
        ]

    db = await open_database(path)
    try:
        assert await outbox.recover_in_flight(db) == SETS  # what a restart does (Dispatcher.start)
        assert await expand_due_digests(db, RENDER, NOW + timedelta(seconds=30)) == {"expanded": SETS}
        for digest in await digests(db):
            assert digest["status"] == "sealed" and digest["carried"] == MEMBERS_PER_SET and digest["copies"] == 1
    finally:
        await db.close()
