"""The PostgreSQL store: the dialect it translates (no server needed), and, on the test server, what
several processes rely on — locks that end with their connection, claims that never overlap, one send
budget, an inbox that takes an update once, text with U+0000 kept as typed."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.jobs.pacing import SharedPacer
from bot.store import inbox, outbox
from bot.store.outbox import Planned
from bot.store.pg import PgDatabase, escape_text, open_database, translate, unescape_text
from tests.pg import fresh_schema

NOW = datetime(2027, 3, 24, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("sqlite", "postgresql"), [
    ("SELECT * FROM person WHERE id = ?", "SELECT * FROM person WHERE id = %s"),
    ("SELECT name FROM person WHERE name LIKE ? ", "SELECT name FROM person WHERE name ILIKE %s "),
    ("SELECT 1 WHERE 'a ? %' = ?", "SELECT 1 WHERE 'a ? %%' = %s"),
    ("SELECT json_extract(payload, '$.digest_id') FROM outbox", "SELECT (payload::jsonb ->> 'digest_id') FROM outbox"),
    ("UPDATE outbox SET payload = json_set(payload, '$.n', ?)",
     "UPDATE outbox SET payload = jsonb_set(payload::jsonb, '{n}', to_jsonb(%s))::text"),
    ("SELECT sum(score IS NULL) FROM pulse_answer", "SELECT sum(CAST((score IS NULL) AS INTEGER)) FROM pulse_answer"),
    ("SELECT max(a, b), max(c) FROM t", "SELECT GREATEST(a, b), max(c) FROM t"),
    ("SELECT id FROM t WHERE id IN ()", "SELECT id FROM t WHERE id = ANY('{}')"),
    ("SELECT id FROM t WHERE id NOT IN ()", "SELECT id FROM t WHERE id <> ALL('{}')"),
    ("SELECT id FROM t WHERE a IS ?", "SELECT id FROM t WHERE a IS NOT DISTINCT FROM %s"),
    ("SELECT id FROM t WHERE ? IS NULL", "SELECT id FROM t WHERE CAST(%s AS TEXT) IS NULL"),
    ("SELECT count(*) FROM (SELECT 1) WHERE TRUE", "SELECT count(*) FROM (SELECT 1) AS subquery_1 WHERE TRUE"),
    ("SELECT key FROM programme ORDER BY key COLLATE NOCASE", "SELECT key FROM programme ORDER BY lower(key)"),
])
def test_sqlite_dialect_is_translated(sqlite: str, postgresql: str) -> None:
    assert translate(sqlite)[0] == postgresql


def test_an_insert_returns_its_id_except_into_tables_without_one() -> None:
    assert translate("INSERT INTO person (name) VALUES (?)") == ("INSERT INTO person (name) VALUES (%s) RETURNING id", "person")
    assert translate("INSERT INTO inbox (update_id) VALUES (?)")[1] is None
    assert translate("INSERT INTO person (name) VALUES (?) RETURNING *")[1] is None


@given(st.text())
def test_any_text_survives_the_escape(text: str) -> None:
    stored = escape_text(text)
    assert "\x00" not in stored
    assert unescape_text(stored) == text


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> bool:
    """Gives True as soon as `check` does, trying again for `within` seconds (the server's view of a
    connection that just closed, or of one being opened, follows a moment later)."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


@pytest.fixture
async def two() -> AsyncIterator[tuple[PgDatabase, PgDatabase]]:
    """Two stores on one fresh schema, as two processes would have them."""
    with fresh_schema() as dsn:
        first = await open_database(dsn)
        second = await open_database(dsn)
        try:
            yield first, second
        finally:
            await first.close()
            await second.close()


async def test_a_lock_is_one_processes_until_its_connection_ends(two: tuple[PgDatabase, PgDatabase]) -> None:
    first, second = two
    assert await first.try_lock("planner")
    assert await first.try_lock("planner")  # held here: still ours
    assert not await second.try_lock("planner")
    await first.unlock("planner")
    assert await second.try_lock("planner")
    # A process that dies ends its lock connection: the lock is free at once.
    await first.try_lock("chat:7")
    raw = first._lock_raw
    raw.close()
    assert await eventually(lambda: second.try_lock("chat:7"))  # the server ends the session a moment later
    assert not await first.try_lock("chat:7")  # reconnected, and it knows it no longer holds it


async def test_text_with_nul_and_emoji_reads_back_as_typed(two: tuple[PgDatabase, PgDatabase]) -> None:
    first, _ = two
    typed = "voor\x00na 👩🏽‍💼 \ue000"
    await first.write(lambda conn: conn.execute(
        "INSERT INTO person (telegram_id, chat_id, name, status, created_at, updated_at) VALUES (1, 1, ?, 'active', ?, ?)",
        (typed, NOW.isoformat(), NOW.isoformat()),
    ))
    assert await first.scalar("SELECT name FROM person") == typed


async def test_claims_from_two_processes_never_overlap_and_keep_one_chat_in_order(
    two: tuple[PgDatabase, PgDatabase],
) -> None:
    first, second = two
    rows = [Planned("notice", 100 + i % 20, NOW - timedelta(seconds=300 - i), f"n:{i}", payload={"text": "x"})
            for i in range(200)]
    await outbox.plan(first, rows, NOW)
    claimed: dict[str, list[int]] = {"first": [], "second": []}
    first_name, second_name = await first.holder(), await second.holder()
    assert first_name and second_name and first_name != second_name

    async def drain(db: PgDatabase, name: str, holder: str) -> None:
        while True:
            got = await outbox.claim_due(db, NOW, 4, holder=holder)
            if not got:
                if not await db.scalar("SELECT count(*) FROM outbox WHERE status = 'pending'"):
                    return
                await asyncio.sleep(0.001)
                continue
            for row in got:
                claimed[name].append(row.id)
            await asyncio.sleep(0.002)
            for row in got:
                await outbox.mark_sent(db, row.id, row.id, NOW)

    await asyncio.gather(drain(first, "first", first_name), drain(second, "second", second_name))
    everything = claimed["first"] + claimed["second"]
    assert sorted(everything) == sorted(set(everything)) and len(everything) == 200
    assert claimed["first"] and claimed["second"]
    # Each chat's rows were claimed in their order, across both processes.
    sent = await first.fetchall("SELECT chat_id, id, sent_at FROM outbox ORDER BY chat_id, id")
    assert all(r[2] is not None for r in sent)
    by_holder = dict(await first.fetchall("SELECT claimed_by, count(*) FROM outbox GROUP BY claimed_by"))
    assert set(by_holder) == {first_name, second_name}


async def test_claims_made_with_the_record_of_a_send_never_overlap_across_processes(
    two: tuple[PgDatabase, PgDatabase],
) -> None:
    first, second = two
    rows = [Planned("notice", 100 + i % 10, NOW - timedelta(seconds=300 - i), f"n:{i}", payload={"text": "x"})
            for i in range(120)]
    await outbox.plan(first, rows, NOW)
    held: dict[int, int] = {}  # chat -> the row being "sent" to it, by either process
    order: dict[int, list[int]] = {}
    overlaps: list[int] = []

    def take(row: outbox.OutboxRow) -> None:
        if row.chat_id in held:
            overlaps.append(row.chat_id)
        held[row.chat_id] = row.id
        order.setdefault(row.chat_id, []).append(row.id)

    async def sender(db: PgDatabase, holder: str) -> None:
        """One sender: a row claimed alone, then each next one with the record of the one before."""
        while True:
            got = await outbox.claim_due(db, NOW, 1, holder=holder)
            if not got:
                if not await db.scalar("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"):
                    return
                await asyncio.sleep(0.001)
                continue
            while got:
                [row] = got
                take(row)
                await asyncio.sleep(0.001)
                del held[row.chat_id]
                got = await outbox.mark_sent(db, row.id, row.id, NOW, then=outbox.Claim(NOW, 1, holder=holder))

    names = [await first.holder(), await second.holder()]
    assert names[0] and names[1]
    await asyncio.gather(*(sender(db, name) for db, name in ((first, names[0]), (second, names[1])) for _ in range(2)))
    assert not overlaps
    assert all(ids == sorted(ids) for ids in order.values())
    assert sum(len(ids) for ids in order.values()) == 120
    assert await first.scalar("SELECT count(*) FROM outbox WHERE status = 'sent'") == 120


async def test_a_dead_processes_claims_go_back_and_a_live_ones_stay(two: tuple[PgDatabase, PgDatabase]) -> None:
    first, second = two
    await outbox.plan(first, [Planned("notice", 1, NOW, "a", payload={"text": "x"}),
                              Planned("notice", 2, NOW, "b", payload={"text": "x"})], NOW)
    [mine] = await outbox.claim_due(first, NOW, 1, holder=await first.holder())
    [theirs] = await outbox.claim_due(second, NOW, 1, holder=await second.holder())
    assert await outbox.recover_in_flight(first) == 0  # both holders are alive
    name = await second.holder()
    second._lock_raw.close()  # a reconnect of the lock connection is not a death: its name stays
    assert await second.holder() == name
    assert await first.scalar("SELECT claimed_by FROM outbox WHERE id = ?", (theirs.id,)) == name
    assert await outbox.recover_dead(first) == 0
    await second.close()  # the second process dies: no connection has its name any more
    recovered = 0

    async def taken_back() -> bool:
        nonlocal recovered
        recovered += await outbox.recover_dead(first, keep=[mine.id])
        return recovered > 0

    assert await eventually(taken_back)
    assert recovered == 1
    assert (await outbox.get(first, theirs.id)).status == "pending"
    assert (await outbox.get(first, mine.id)).status == "sending"


async def test_two_processes_share_one_send_budget(two: tuple[PgDatabase, PgDatabase]) -> None:
    first, second = two
    pacers = [SharedPacer(first, per_second=10), SharedPacer(second, per_second=10)]
    starts: list[float] = []

    async def send(pacer: SharedPacer, chat: int) -> None:
        async with pacer.slot(chat):
            starts.append(time.monotonic())
            await asyncio.sleep(0.01)

    began = time.monotonic()
    await asyncio.gather(*(send(pacers[i % 2], 1000 + i) for i in range(25)))
    elapsed = time.monotonic() - began
    starts.sort()
    busiest = max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)
    assert busiest <= 10
    assert elapsed >= 2.0  # 25 sends at 10 a second take more than two seconds, whichever process sends
    # One chat: a second apart, whichever process sends.
    starts.clear()
    await asyncio.gather(send(pacers[0], 5), send(pacers[1], 5))
    assert starts[1] - starts[0] >= 0.95


async def test_a_429_heard_by_one_process_holds_the_other(two: tuple[PgDatabase, PgDatabase]) -> None:
    first, second = two
    hearing, other = SharedPacer(first, per_second=30), SharedPacer(second, per_second=30)
    hearing.pause(1.0)
    await asyncio.sleep(0.1)  # the pause is written in the background
    began = time.monotonic()
    async with other.slot(42):
        pass
    assert time.monotonic() - began >= 0.8


async def test_the_inbox_takes_an_update_once_and_empties_it_when_handled(two: tuple[PgDatabase, PgDatabase]) -> None:
    first, second = two
    assert await inbox.take(first, 10, 7, '{"update_id": 10, "text": "mijn zin"}', NOW)
    assert not await inbox.take(second, 10, 7, '{"update_id": 10, "text": "mijn zin"}', NOW)
    assert await inbox.take(second, 11, 7, '{"update_id": 11}', NOW)
    assert [u for u, _ in await inbox.waiting(first, 7)] == [10, 11]
    await inbox.handled(first, 10, NOW)
    assert [u for u, _ in await inbox.waiting(second, 7)] == [11]
    assert await first.scalar("SELECT body FROM inbox WHERE update_id = 10") == ""
    assert await inbox.waiting_chats(first, NOW + timedelta(seconds=1)) == [7]
    assert await inbox.prune(first, NOW + timedelta(days=2)) == 1


async def test_a_server_that_cannot_be_reached_is_named_without_its_password_in_its_own_words() -> None:
    from bot.store.db import StoreError
    from tests.e2e.test_webhook import free_port

    with pytest.raises(StoreError) as refused:
        await open_database(f"postgresql://pitstop:s3cret@127.0.0.1:{free_port()}/pitstop")
    assert "cannot be reached" in str(refused.value) and "Connection refused" in str(refused.value)
    assert "s3cret" not in str(refused.value) and "pitstop:***@" in str(refused.value)


async def test_a_search_path_whose_schema_does_not_exist_is_named_with_what_to_do() -> None:
    from bot.store.db import StoreError
    from bot.store.schemas import in_schema
    from tests.pg import require_server

    with pytest.raises(StoreError) as missing:
        await open_database(in_schema(require_server(), "pitstop_not_made_yet"))
    assert "no schema to keep Pitstop's tables in" in str(missing.value)
    assert "pitstop_not_made_yet" in str(missing.value) and "CREATE SCHEMA" in str(missing.value)


async def _in_transaction(db: PgDatabase) -> list[str]:
    """Gives what the store's connections, left inside a transaction, last ran (none is the healthy answer)."""
    import psycopg

    with psycopg.connect(db.dsn, autocommit=True) as admin:  # this store's connections carry its name
        rows = admin.execute(
            "SELECT query FROM pg_stat_activity WHERE state LIKE 'idle in transaction%%' AND application_name = %s",
            (db._holder_name,),
        ).fetchall()
    return [r[0] for r in rows]


def _insert_person(conn_sql: str = "INSERT INTO person (telegram_id, chat_id, name, status, created_at, updated_at)"
                   " VALUES (5, 5, 'Cancelled', 'active', ?, ?)") -> tuple[str, tuple[str, str]]:
    return conn_sql, (NOW.isoformat(), NOW.isoformat())


@pytest.mark.parametrize("cancel_after", [0.0, 0.001, 0.01, 0.05])
async def test_a_transaction_cancelled_at_any_await_rolls_back_and_gives_its_connection_back(
    two: tuple[PgDatabase, PgDatabase], cancel_after: float,
) -> None:
    first, _ = two
    sql, params = _insert_person()

    async def body() -> None:
        async with first.transaction() as conn:
            await conn.execute(sql, params)
            await asyncio.sleep(30)

    task = asyncio.create_task(body())
    await asyncio.sleep(cancel_after)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    async def none_left() -> bool:
        return await _in_transaction(first) == []

    assert await eventually(none_left)
    assert await first.scalar("SELECT count(*) FROM person") == 0
    async def all_back() -> bool:  # a connection the pool is opening meanwhile counts once it is open
        stats = first.pool.get_stats()
        return bool(stats.get("pool_size", 0) == stats.get("pool_available", 0))

    assert await eventually(all_back)  # every connection is back
    async with first.transaction() as conn:  # and the next transaction goes ahead at once
        await conn.execute(sql, params)
    assert await first.scalar("SELECT count(*) FROM person") == 1


async def test_closing_with_a_transaction_whose_task_was_dropped_leaves_nothing_holding_locks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bot.store.pg

    monkeypatch.setattr(bot.store.pg, "CLOSE_WAIT", 0.5)
    with fresh_schema() as dsn:
        db = await open_database(dsn)
        sql, params = _insert_person()
        entered, never = asyncio.Event(), asyncio.Event()

        async def stuck() -> None:
            async with db.transaction() as conn:
                await conn.execute(sql, params)
                entered.set()
                await never.wait()

        task = asyncio.create_task(stuck())
        await entered.wait()
        assert await _in_transaction(db) != []  # what this test is about: a transaction still open
        await asyncio.wait_for(db.close(), 5)

        async def ended() -> bool:  # the server ends the closed connection's session a moment later
            return await _in_transaction(db) == []

        assert await eventually(ended)
        task.cancel()
        with pytest.raises((asyncio.CancelledError, Exception)):
            await task
        after = await open_database(dsn)
        try:
            assert await after.scalar("SELECT count(*) FROM person") == 0
        finally:
            await after.close()


async def test_a_stale_claim_of_a_live_process_is_left_to_it(two: tuple[PgDatabase, PgDatabase]) -> None:
    first, second = two
    await outbox.plan(first, [Planned("notice", 1, NOW, "a", payload={"text": "x"}),
                              Planned("notice", 2, NOW, "b", payload={"text": "x"})], NOW)
    [mine] = await outbox.claim_due(first, NOW, 1, holder=await first.holder())
    [theirs] = await outbox.claim_due(second, NOW, 1, holder=await second.holder())
    later = NOW + timedelta(hours=1)
    assert await outbox.recover_stale(first, later, holder=await first.holder()) == 1
    assert (await outbox.get(first, mine.id)).status == "pending"
    assert (await outbox.get(first, theirs.id)).status == "sending"


async def test_a_chats_earliest_row_held_by_another_transaction_keeps_its_place(
    two: tuple[PgDatabase, PgDatabase],
) -> None:
    first, second = two
    await outbox.plan(first, [Planned("notice", 9, NOW - timedelta(minutes=2), "early", payload={"text": "1"}),
                              Planned("notice", 9, NOW - timedelta(minutes=1), "late", payload={"text": "2"})], NOW)
    async with second.transaction() as conn:  # another process holds the chat's first row for a moment
        await conn.execute("SELECT id FROM outbox WHERE dedupe_key = 'early' FOR UPDATE")
        assert await outbox.claim_due(first, NOW, 5, holder=await first.holder()) == []
    [row] = await outbox.claim_due(first, NOW, 5, holder=await first.holder())
    assert row.dedupe_key == "early"


async def test_a_drainer_that_lost_its_chat_lock_reads_the_chat_afresh(two: tuple[PgDatabase, PgDatabase]) -> None:
    """The lock connection drops while an update is handled; meanwhile another process takes the chat
    and handles the next update. The first, back, must not handle that one again."""
    from types import SimpleNamespace

    from bot.tg.inbox import Drainer

    first, second = two
    chat = 42
    for update_id in (1, 2, 3):
        body = {"update_id": update_id, "message": {"message_id": update_id, "date": 0, "text": f"m{update_id}",
                                                    "chat": {"id": chat, "type": "private"}}}
        await inbox.take(first, update_id, chat, json.dumps(body), NOW)
    handled: list[int] = []

    async def process_update(update: Any) -> None:
        handled.append(update.update_id)
        if update.update_id == 1:
            first._lock_raw.close()  # the lock connection drops: the lock is free
            assert await eventually(lambda: second.try_lock(f"chat:{chat}"))
            await inbox.handled(second, 2, NOW)  # the other process handles the next update
            await second.unlock(f"chat:{chat}")

    bot = SimpleNamespace(insert_callback_data=lambda update: None)
    app = SimpleNamespace(services=SimpleNamespace(db=first), bot=bot, process_update=process_update)
    drainer = Drainer(app)  # type: ignore[arg-type]
    drainer.kick(chat)
    await asyncio.wait_for(asyncio.gather(*drainer._draining.values()), 10)
    assert handled == [1, 3]
    assert await inbox.waiting(first, chat) == []


async def test_two_processes_expanding_digests_never_take_one_row_nor_two_digests_of_a_set(
    two: tuple[PgDatabase, PgDatabase],
) -> None:
    from tests.jobs.test_digest_batch import NOW as DUE
    from tests.jobs.test_digest_batch import sets_with_digests

    first, second = two
    await sets_with_digests(first, sets=4, periods=("week-1", "week-2"))
    holders = {id(db): await db.holder() for db in (first, second)}
    claimed = await asyncio.gather(*(
        outbox.claim_expansions(db, DUE, 10, holder=holders[id(db)]) for db in (first, second, first, second)
    ))
    rows = [row for batch in claimed for row in batch]
    assert len({row.id for row in rows}) == len(rows) == 4  # each set's first digest, by one process or the other
    digests = {int(row.payload["digest_id"]) for row in rows}
    sets = await first.fetchall(
        f"SELECT DISTINCT learning_set_id FROM digest WHERE id IN ({','.join('?' for _ in digests)})", tuple(digests)
    )
    assert len(sets) == 4
    assert await outbox.claim_expansions(second, DUE, 10) == []  # every set has a digest on its way


async def test_a_database_at_0016_takes_0017_and_its_digests_still_seal_carry_and_expand() -> None:
    """As on SQLite (tests/store/test_upgrade.py): PostgreSQL's 0017 makes reflection_by_digest hold carried
    entries only and adds the index of the rows to MEMBERS, and a digest sealed before it still counts."""
    from functools import partial

    from bot.jobs.sets import expand_due_digests
    from bot.render import Renderer
    from bot.store import pg, sharing
    from tests.jobs.test_digest_batch import MEMBERS_PER_SET, digests, sets_with_digests
    from tests.jobs.test_digest_batch import NOW as DUE

    with fresh_schema() as dsn:
        old = await pg.connect(dsn)
        try:
            await old.run(partial(pg._migrate, plans=[p for p in pg._migration_plan() if p.name < "0017"]))
            await sets_with_digests(old, sets=2, periods=("week-1", "week-2"))
            render = Renderer()
            assert await expand_due_digests(old, render, DUE) == {"expanded": 2}  # each set's first, before 0017
            before = await digests(old)
        finally:
            await old.close()
        db = await open_database(dsn)
        try:
            indexes = {r[0]: r[1] for r in await db.fetchall(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                " AND indexname IN ('reflection_by_digest', 'outbox_to_members')")}
            assert "WHERE (digest_id IS NOT NULL)" in indexes["reflection_by_digest"]
            assert "WHERE (chat_id = 0)" in indexes["outbox_to_members"]
            for digest in before[::2]:
                assert len(await sharing.digest_entries(db, digest["id"], digest["learning_set_id"])) == MEMBERS_PER_SET
            assert await expand_due_digests(db, render, DUE + timedelta(seconds=1)) == {"expanded": 2}
            assert [d["carried"] for d in await digests(db)] == [MEMBERS_PER_SET, 0, MEMBERS_PER_SET, 0]
        finally:
            await db.close()
