"""The outbox: every planned message as a row with a due time and a status.

Rows are claimed in a transaction (pending → sending) just before they are sent, a few at a time,
then marked. At start-up rows left in `sending` by a hard kill are put back to pending, and while the
bot runs so is a claim older than any send could take: they are the only ones that may arrive twice.
A long text goes part by part: after each part the row is pending again with `parts_sent` in its
payload, so that a retry or a restart sends the next part, never the first again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import aiosqlite

from bot.domain.plans import Planned as Planned  # also named here by the code and tests written before plans
from bot.store.codec import decode, encode
from bot.store.db import Database

ts = encode  # the name modules written before bot.store.codec use for it

# The states of a row whose message a participant can have in front of them: a button under it can be
# pressed before the dispatcher has committed 'sent' (on PostgreSQL, another process may handle the press).
DELIVERED = ("sending", "sent")


@dataclass(frozen=True)
class OutboxRow:
    """One planned message."""

    id: int
    kind: str
    person_id: int | None
    chat_id: int
    due_at: datetime
    status: str
    dedupe_key: str
    payload: dict[str, Any]
    prompt_key: str | None
    module_key: str | None
    response: str | None
    attempts: int
    telegram_message_id: int | None
    sent_at: datetime | None
    broadcast_id: int | None


async def _write_one(db: Database, sql: str, params: tuple[Any, ...]) -> int:
    """Runs one statement as a unit of the group commit; gives how many rows it changed, once committed."""
    return await db.write(lambda conn: conn.execute(sql, params).rowcount)


def _row(r: aiosqlite.Row) -> OutboxRow:
    return OutboxRow(
        id=r["id"],
        kind=r["kind"],
        person_id=r["person_id"],
        chat_id=r["chat_id"],
        due_at=decode(r["due_at"]),
        status=r["status"],
        dedupe_key=r["dedupe_key"],
        payload=json.loads(r["payload"] or "{}"),
        prompt_key=r["prompt_key"],
        module_key=r["module_key"],
        response=r["response"],
        attempts=r["attempts"],
        telegram_message_id=r["telegram_message_id"],
        sent_at=decode(r["sent_at"]),
        broadcast_id=r["broadcast_id"],
    )


# A message for a person is planned only while that person is active — checked in the same statement,
# so a planner that read the person a moment earlier cannot race a block or an erasure. Broadcasts are
# the exception: people who blocked the bot are counted as blocked there. A key planned before is left alone.
PLAN_SQL = (
    "INSERT INTO outbox (kind, person_id, chat_id, due_at, dedupe_key, payload, broadcast_id, created_at)"
    " SELECT ?,?,?,?,?,?,?,? WHERE ? IS NULL OR ? = 'broadcast'"
    " OR EXISTS (SELECT 1 FROM person WHERE id = ? AND status = 'active')"
    " ON CONFLICT (dedupe_key) DO NOTHING"
)


def _plan_params(items: Iterable[Planned], now: datetime, check: bool = True) -> list[tuple[Any, ...]]:
    """Gives PLAN_SQL's parameters (with `check` False, PLAN_READ_ACTIVE_SQL's: the same without the check's)."""
    created = encode(now)
    due: dict[datetime, str] = {}  # a week of nudges for thousands of people holds few distinct moments
    params: list[tuple[Any, ...]] = []
    for p in items:
        if p.due_at not in due:
            due[p.due_at] = encode(p.due_at)
        payload = json.dumps(p.payload) if p.payload else "{}"
        if check:
            params.append((p.kind, p.person_id, p.chat_id, due[p.due_at], p.dedupe_key, payload, p.broadcast_id,
                           created, p.person_id, p.kind, p.person_id))
        else:
            params.append((p.kind, p.person_id, p.chat_id, due[p.due_at], p.dedupe_key, payload, p.broadcast_id, created))
    return params


async def plan_many(conn: aiosqlite.Connection, items: Iterable[Planned], now: datetime) -> None:
    """Adds planned messages (made by bot.domain.plans) inside the caller's transaction; a key planned
    before is left alone, and a person's message only while the person is active (PLAN_SQL)."""
    await conn.executemany(PLAN_SQL, _plan_params(items, now))


# The planner's batches (bot.jobs.planner.plan_everyone) read their people active inside the transaction
# that plans them. On SQLite that transaction holds the database's write lock from that read to its
# commit, so no block or erasure can come in between, and the same-statement check of PLAN_SQL (about
# a fifth of each insert) is not needed. On PostgreSQL other processes write meanwhile: PLAN_SQL as always.
PLAN_READ_ACTIVE_SQL = (
    "INSERT INTO outbox (kind, person_id, chat_id, due_at, dedupe_key, payload, broadcast_id, created_at)"
    " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (dedupe_key) DO NOTHING"
)


async def plan_for_active(conn: aiosqlite.Connection, items: Iterable[Planned], now: datetime, *, engine: str) -> None:
    """The same as `plan_many`, for the messages of people the caller read active (people.active_rhythms_among)
    inside this same transaction of a store whose `engine` is given (see PLAN_READ_ACTIVE_SQL)."""
    if engine != "sqlite":
        await plan_many(conn, items, now)
        return
    await conn.executemany(PLAN_READ_ACTIVE_SQL, _plan_params(items, now, check=False))


def plan_rows(conn: sqlite3.Connection, items: Iterable[Planned], now: datetime) -> None:
    """The same as `plan_many`, inside a write unit of the group commit (bot.store.db.Database.write)."""
    conn.executemany(PLAN_SQL, _plan_params(items, now))


async def plan(db: Database, items: Sequence[Planned], now: datetime) -> None:
    """Adds planned messages, committed in the next group commit."""
    if items:
        await db.write(partial(plan_rows, items=items, now=now))


async def get(db: Database, outbox_id: int) -> OutboxRow | None:
    """Gives one row."""
    row = await db.fetchone("SELECT * FROM outbox WHERE id = ?", (outbox_id,))
    return None if row is None else _row(row)


async def by_message(db: Database, chat_id: int, message_id: int) -> OutboxRow | None:
    """Gives the row whose sent message has this Telegram id in this chat."""
    row = await db.fetchone(
        "SELECT * FROM outbox WHERE chat_id = ? AND telegram_message_id = ? AND status = 'sent'",
        (chat_id, message_id),
    )
    return None if row is None else _row(row)


# PostgreSQL: a claim whose holder (bot.store.db.Database.holder, the application_name of each of its
# process's connections) has no connection left belongs to a process that died; pg_stat_activity lists
# the connections of every user of the database.
_LIVE_HOLDERS = "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'pitstop %'"


async def recover_in_flight(db: Database) -> int:
    """Puts rows a hard kill left in `sending` back to pending; gives how many (these may repeat).

    On PostgreSQL, where other processes may be sending, only the rows of processes that died."""
    if db.engine == "postgresql":
        return await recover_dead(db)
    return await db.write(
        lambda conn: conn.execute("UPDATE outbox SET status = 'pending', claimed_at = NULL WHERE status = 'sending'").rowcount
    )


async def recover_dead(db: Database, keep: Iterable[int] = ()) -> int:
    """Puts back the claims of processes that are gone (PostgreSQL; on SQLite there are none while the
    bot runs), never the rows in `keep` (being sent here); gives how many (these may repeat)."""
    if db.engine != "postgresql":
        return 0
    kept = list(keep)
    marks = ",".join("?" for _ in kept)
    return await _write_one(
        db,
        "UPDATE outbox SET status = 'pending', claimed_at = NULL, claimed_by = NULL WHERE status = 'sending'"
        f" AND (claimed_by IS NULL OR claimed_by NOT IN ({_LIVE_HOLDERS}))" + (f" AND id NOT IN ({marks})" if kept else ""),
        tuple(kept),
    )


async def recover_stale(
    db: Database, claimed_before: datetime, keep: Iterable[int] = (), holder: str | None = None
) -> int:
    """Puts claims older than `claimed_before` back to pending, except the rows in `keep` (still being
    sent here); gives how many (these may repeat). A claim that old belongs to a send that died.
    With a `holder` (several processes), only that process's own claims and those nobody holds: a
    live process's claims are its own to finish."""
    kept = list(keep)
    marks = ",".join("?" for _ in kept)
    sql = (
        "UPDATE outbox SET status = 'pending', claimed_at = NULL WHERE status = 'sending'"
        " AND (claimed_at IS NULL OR claimed_at < ?)" + (f" AND id NOT IN ({marks})" if kept else "")
        + (" AND (claimed_by IS NULL OR claimed_by = ?)" if holder is not None else "")
    )
    params = (encode(claimed_before), *kept, *((holder,) if holder is not None else ()))
    return await db.write(lambda conn: conn.execute(sql, params).rowcount)


PEEK = 8  # due rows looked at per row wanted: enough to step over chats that must wait


# A chat with a row on its way is skipped, so that its rows keep their order however the claims of one
# commit were made: a send's record and the claim of the next share a commit (Dispatcher), and two such
# claims in one commit cannot see each other's `waiting`, only each other's rows in 'sending'.
_DUE_SQL = (
    "SELECT id, chat_id FROM outbox WHERE status = 'pending' AND due_at <= ?"
    " AND chat_id NOT IN (SELECT chat_id FROM outbox WHERE status = 'sending')"
    " ORDER BY due_at, id LIMIT ?"
)
# PostgreSQL, where several processes claim: claims take turns (a lock until the claim commits), so that
# no chat is claimed by two at once and its rows keep their order; a chat that another process is sending
# to waits; and the rows are locked as they are read, skipping those another transaction holds, so that
# no row is ever claimed twice.
_CLAIM_TURN_SQL = "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ':claim', 0))"
_DUE_PG_SQL = (
    "SELECT id, chat_id FROM outbox WHERE status = 'pending' AND due_at <= ?"
    " AND chat_id NOT IN (SELECT chat_id FROM outbox WHERE status = 'sending')"
    " ORDER BY due_at, id LIMIT ? FOR UPDATE SKIP LOCKED"
)


def _earliest_only(conn: sqlite3.Connection, chosen: list[tuple[int, int]], now: str) -> list[tuple[int, int]]:
    """Keeps the chosen (id, chat) rows that are their chat's earliest due row. SKIP LOCKED steps over
    a row another transaction holds for a moment; its chat's next row must then wait as well, so that
    the chat's messages keep their order (PostgreSQL; one read of the due rows of those chats)."""
    marks = ",".join("?" for _ in chosen)
    first: dict[int, int] = {}
    for outbox_id, chat_id in conn.execute(
        f"SELECT id, chat_id FROM outbox WHERE status = 'pending' AND due_at <= ? AND chat_id IN ({marks})"
        " ORDER BY due_at, id",
        (now, *(chat for _, chat in chosen)),
    ).fetchall():
        first.setdefault(chat_id, outbox_id)
    return [(outbox_id, chat) for outbox_id, chat in chosen if first.get(chat) == outbox_id]


@dataclass(frozen=True)
class Claim:
    """What to claim: up to `limit` rows due at `now`, none for the chats in `waiting`, under `holder`."""

    now: datetime
    limit: int
    waiting: frozenset[int] = frozenset()
    holder: str | None = None


def _claim(conn: sqlite3.Connection, claim: Claim, several: bool) -> list[OutboxRow]:
    """Claims the rows (a write unit's part); `several`: PostgreSQL, where several processes claim."""
    skip = set(claim.waiting)
    now = encode(claim.now)
    if several:
        conn.execute(_CLAIM_TURN_SQL)
    candidates = conn.execute(_DUE_PG_SQL if several else _DUE_SQL, (now, claim.limit * PEEK + len(skip))).fetchall()
    chosen: list[tuple[int, int]] = []
    for outbox_id, chat_id in candidates:
        if chat_id not in skip and len(chosen) < claim.limit:
            chosen.append((outbox_id, chat_id))
        skip.add(chat_id)
    if several and chosen:
        chosen = _earliest_only(conn, chosen, now)
    return _take(conn, [outbox_id for outbox_id, _ in chosen], now, claim.holder)


def _take(conn: sqlite3.Connection, outbox_ids: list[int], now: str, holder: str | None) -> list[OutboxRow]:
    """Marks chosen rows `sending` (those still pending) for `holder`; gives them oldest first."""
    if not outbox_ids:
        return []
    marks = ",".join("?" for _ in outbox_ids)
    rows = conn.execute(
        "UPDATE outbox SET status = 'sending', claimed_at = ?, claimed_by = ?, attempts = attempts + 1"
        f" WHERE id IN ({marks}) AND status = 'pending' RETURNING *",
        (now, holder, *outbox_ids),
    ).fetchall()
    return sorted((_row(r) for r in rows), key=lambda r: (r.due_at, r.id))


async def claim_due(
    db: Database, now: datetime, limit: int, waiting: Iterable[int] = (), holder: str | None = None
) -> list[OutboxRow]:
    """Claims up to `limit` due rows, oldest first, at most one per chat and none for the chats in
    `waiting` (being sent to, or not yet allowed by the pace), so that no other tick sends them too.

    A chat's later rows wait behind its earliest, so one chat's messages keep their order. `holder`
    names the claiming process (Database.holder) where several may claim.
    """
    claim = Claim(now, limit, frozenset(waiting), holder)
    several = db.engine == "postgresql"
    return await db.write(lambda conn: _claim(conn, claim, several))


# Digests due to MEMBERS (chat 0, bot.domain.plans.digest), oldest first, with their digest's set. A set
# with such a row on its way (being expanded, here or in another process) waits: its digests are sealed one
# after another, each after the one before it is committed.
_EXPANSIONS_SQL = (
    "SELECT outbox.id, digest.learning_set_id FROM outbox"
    " LEFT JOIN digest ON digest.id = CAST(json_extract(outbox.payload, '$.digest_id') AS INTEGER)"
    " WHERE outbox.status = 'pending' AND outbox.chat_id = 0 AND outbox.kind = 'digest' AND outbox.due_at <= ?"
    " AND (digest.learning_set_id IS NULL OR digest.learning_set_id NOT IN ("
    "   SELECT d.learning_set_id FROM outbox AS o JOIN digest AS d"
    "   ON d.id = CAST(json_extract(o.payload, '$.digest_id') AS INTEGER)"
    "   WHERE o.status = 'sending' AND o.chat_id = 0 AND o.kind = 'digest'))"
    " ORDER BY outbox.due_at, outbox.id LIMIT ?"
)


def _claim_expansions(conn: sqlite3.Connection, claim: Claim, several: bool) -> list[OutboxRow]:
    """Claims due digest rows to MEMBERS, at most one per learning set (a write unit's part)."""
    if several:
        conn.execute(_CLAIM_TURN_SQL)
    sql = _EXPANSIONS_SQL + (" FOR UPDATE OF outbox SKIP LOCKED" if several else "")
    chosen: list[int] = []
    sets: set[int] = set()
    for outbox_id, set_id in conn.execute(sql, (encode(claim.now), claim.limit * PEEK)).fetchall():
        if set_id is None or set_id not in sets:  # a row whose digest is gone: expanded to nothing
            chosen.append(outbox_id)
        if set_id is not None:
            sets.add(set_id)
        if len(chosen) == claim.limit:
            break
    return _take(conn, chosen, encode(claim.now), claim.holder)


async def claim_expansions(db: Database, now: datetime, limit: int, holder: str | None = None) -> list[OutboxRow]:
    """Claims up to `limit` digest rows to MEMBERS due by `now`, oldest first and at most one per learning set
    (none of a set whose row is on its way), so that they can be expanded side by side in one commit
    (bot.jobs.sets.expand_due_digests) and each digest still sees the one before it sealed."""
    claim = Claim(now, limit, holder=holder)
    several = db.engine == "postgresql"
    return await db.write(lambda conn: _claim_expansions(conn, claim, several))


async def release(db: Database, outbox_ids: Sequence[int], reason: str) -> None:
    """Puts claimed rows that were not recorded back in line (those still on their way only)."""
    if outbox_ids:
        marks = ",".join("?" for _ in outbox_ids)
        await _write_one(
            db, f"UPDATE outbox SET status = 'pending', last_error = ?, claimed_at = NULL WHERE id IN ({marks})"
            " AND status = 'sending'", (reason, *outbox_ids),
        )


async def _record_then_claim(db: Database, sql: str, params: tuple[Any, ...], then: Claim | None) -> list[OutboxRow]:
    """Runs a statement that records a send; with `then`, claims the rows that follow in the same commit.

    One unit, so that the row recorded and those claimed change state together: the rows on their way
    are never more than before. Should the claim fail, the record is written alone (and nothing claimed).
    """
    if then is None:
        await _write_one(db, sql, params)
        return []
    several = db.engine == "postgresql"

    def unit(conn: sqlite3.Connection) -> list[OutboxRow]:
        conn.execute(sql, params)
        return _claim(conn, then, several)

    try:
        return await db.write(unit)
    except Exception:  # noqa: BLE001 -- the claim must never cost the record of a send: that alone, again
        await _write_one(db, sql, params)
        return []


async def mark_part_sent(
    db: Database, outbox_id: int, parts_sent: int, message_id: int, error: str | None = None, *, then: Claim | None = None
) -> list[OutboxRow]:
    """Records that the first `parts_sent` parts of a long text are delivered; the row is pending for the next.

    The first part's Telegram id stays the row's; each part starts its attempts anew. With `then`, claims
    in the same commit what a sender takes next (gives those rows).
    """
    return await _record_then_claim(
        db,
        "UPDATE outbox SET status = 'pending', claimed_at = NULL, attempts = 0, last_error = ?,"
        " telegram_message_id = COALESCE(telegram_message_id, ?),"
        " payload = json_set(payload, '$.parts_sent', ?) WHERE id = ?",
        (error, message_id, parts_sent, outbox_id),
        then,
    )


async def mark_sent(
    db: Database,
    outbox_id: int,
    message_id: int,
    now: datetime,
    prompt_key: str | None = None,
    module_key: str | None = None,
    payload: dict[str, Any] | None = None,
    *,
    then: Claim | None = None,
) -> list[OutboxRow]:
    """Records a delivered message and its Telegram id; with `then`, claims in the same commit what a
    sender takes next (gives those rows)."""
    return await _record_then_claim(
        db,
        "UPDATE outbox SET status = 'sent', telegram_message_id = ?, sent_at = ?, last_error = NULL,"
        " prompt_key = COALESCE(?, prompt_key), module_key = COALESCE(?, module_key),"
        " payload = COALESCE(?, payload) WHERE id = ?",
        (message_id, encode(now), prompt_key, module_key, json.dumps(payload) if payload is not None else None, outbox_id),
        then,
    )


async def mark(
    db: Database, outbox_id: int, status: str, error: str | None = None,
    *, expand: Sequence[Planned] = (), now: datetime | None = None,
    also: Callable[[sqlite3.Connection], object] | None = None,
) -> None:
    """Sets a row's status (pending for a retry, failed, blocked, cancelled) with the reason; with `expand`,
    plans the rows it is replaced by (planned at `now`), and with `also` runs that write unit of another
    store module, all in the same commit."""

    def unit(conn: sqlite3.Connection) -> None:
        if also is not None:
            also(conn)
        if expand:
            assert now is not None, "rows planned need the time they are planned at"
            plan_rows(conn, expand, now)
        conn.execute("UPDATE outbox SET status = ?, last_error = ?, claimed_at = NULL WHERE id = ?", (status, error, outbox_id))

    await db.write(unit)


async def set_response(db: Database, outbox_id: int, response: str) -> bool:
    """Records the participant's answer to a prompt once; gives False when it had one already."""
    changed = await _write_one(db, "UPDATE outbox SET response = ? WHERE id = ? AND response IS NULL", (response, outbox_id))
    return changed == 1


async def cancel_pending(db: Database, person_id: int, kinds: Sequence[str], prefix: str = "") -> int:
    """Cancels a person's pending rows of some kinds (whose key starts with prefix); gives how many."""
    marks = ",".join("?" for _ in kinds)
    return await _write_one(
        db,
        f"DELETE FROM outbox WHERE person_id = ? AND status = 'pending' AND kind IN ({marks}) AND dedupe_key LIKE ? || '%'",
        (person_id, *kinds, prefix),
    )


async def cancel_all_for_chat(db: Database, chat_id: int, reason: str) -> int:
    """Marks every pending row to a chat as blocked (the person blocked the bot)."""
    return await _write_one(
        db, "UPDATE outbox SET status = 'blocked', last_error = ? WHERE chat_id = ? AND status = 'pending'", (reason, chat_id)
    )


async def latest_open_prompt(db: Database, person_id: int, since: datetime) -> OutboxRow | None:
    """Gives the person's most recent sent prompt or follow-up that was not skipped, if recent.

    A prompt put off with *Later* is still open: an answer typed before the re-ask counts for it.
    """
    row = await db.fetchone(
        "SELECT * FROM outbox WHERE person_id = ? AND status = 'sent'"
        " AND (kind IN ('prompt', 'follow_up') OR (kind = 'question' AND json_extract(payload, '$.moment') = 'module_end'))"
        " AND (response IS NULL OR response IN ('answered', 'later')) AND sent_at >= ? ORDER BY sent_at DESC, id DESC LIMIT 1",
        (person_id, encode(since)),
    )
    return None if row is None else _row(row)


async def used_prompt_keys(db: Database, person_id: int, module_key: str) -> set[str]:
    """Gives the prompts already sent to a person within a module."""
    rows = await db.fetchall(
        "SELECT DISTINCT prompt_key FROM outbox WHERE person_id = ? AND kind = 'prompt' AND status = 'sent'"
        " AND module_key = ? AND prompt_key IS NOT NULL",
        (person_id, module_key),
    )
    return {r[0] for r in rows}


async def for_person(db: Database, person_id: int) -> list[OutboxRow]:
    """Gives every row of a person, oldest first (for export and tests)."""
    rows = await db.fetchall("SELECT * FROM outbox WHERE person_id = ? ORDER BY due_at, id", (person_id,))
    return [_row(r) for r in rows]


async def counts(db: Database) -> dict[str, int]:
    """Gives how many rows have each status."""
    rows = await db.fetchall("SELECT status, count(*) FROM outbox GROUP BY status")
    return {r[0]: r[1] for r in rows}


async def follow_up_between(db: Database, person_id: int, start: datetime, end: datetime) -> bool:
    """Gives whether a follow-up question is planned or sent for a person in [start, end)."""
    row = await db.fetchone(
        "SELECT 1 FROM outbox WHERE person_id = ? AND kind = 'follow_up' AND status IN ('pending', 'sending', 'sent')"
        " AND due_at >= ? AND due_at < ? LIMIT 1",
        (person_id, encode(start), encode(end)),
    )
    return row is not None


async def day_of(db: Database, person_id: int, start: datetime, end: datetime) -> list[OutboxRow]:
    """Gives a person's bot-initiated messages planned, on their way or sent in [start, end) (the daily budget's view)."""
    rows = await db.fetchall(
        "SELECT * FROM outbox WHERE person_id = ? AND kind IN ('prompt', 'follow_up', 'case_round', 'pulse', 'reminder', 'question', 'checkin')"
        " AND status IN ('pending', 'sending', 'sent') AND dedupe_key NOT LIKE 'later:%'"
        " AND COALESCE(sent_at, due_at) >= ? AND COALESCE(sent_at, due_at) < ? ORDER BY due_at, id",
        (person_id, encode(start), encode(end)),
    )
    return [_row(r) for r in rows]


async def carry(db: Database, reminder_ids: Sequence[int], carrier_id: int) -> list[OutboxRow]:
    """Takes waiting reminders into a message that goes now (once: a reminder already on its way stays
    its own); gives every reminder this message carries, also those taken on an earlier attempt."""
    mark = f"carried by {carrier_id}"

    def take(conn: sqlite3.Connection) -> list[sqlite3.Row]:
        conn.executemany(
            "UPDATE outbox SET status = 'cancelled', last_error = ? WHERE id = ? AND kind = 'reminder' AND status = 'pending'",
            [(mark, reminder_id) for reminder_id in reminder_ids],
        )
        return conn.execute(
            "SELECT * FROM outbox WHERE kind = 'reminder' AND status = 'cancelled' AND last_error = ? ORDER BY due_at, id",
            (mark,),
        ).fetchall()

    return [_row(r) for r in await db.write(take)]


async def drop_pending_daily_prompts(conn: aiosqlite.Connection, person_id: int) -> None:
    """Drops a person's daily prompts not yet sent, inside the caller's transaction (to plan them anew)."""
    await conn.execute(
        "DELETE FROM outbox WHERE person_id = ? AND kind = 'prompt' AND status = 'pending'"
        " AND dedupe_key LIKE 'prompt:%'",
        (person_id,),
    )


async def daily_prompts_planned_until(db: Database, now: datetime) -> dict[int, datetime]:
    """Gives, per person, the due time of the last daily prompt planned from now on."""
    rows = await db.fetchall(
        "SELECT person_id, max(due_at) FROM outbox WHERE kind = 'prompt' AND dedupe_key LIKE 'prompt:%'"
        " AND due_at >= ? GROUP BY person_id",
        (encode(now),),
    )
    return {r[0]: decode(r[1]) for r in rows}


async def drop_pending_reminders(db: Database, programme_id: int) -> None:
    """Drops a programme's calendar reminders not yet sent (to plan them anew)."""
    await _write_one(
        db, "DELETE FROM outbox WHERE kind = 'reminder' AND status = 'pending' AND dedupe_key LIKE ?",
        (f"reminder:{programme_id}:%",),
    )


async def drop_pending_digest(db: Database, digest_id: int) -> None:
    """Drops a digest's rows and its case rounds not yet sent (to plan them anew)."""
    await _write_one(
        db,
        "DELETE FROM outbox WHERE status = 'pending' AND kind IN ('digest', 'case_round') AND (dedupe_key = ? OR dedupe_key LIKE ?)",
        (f"digest:{digest_id}", f"case_round:{digest_id}:%"),
    )


async def due_count(db: Database, now: datetime) -> int:
    """Gives how many rows are due by now and not yet sent (waiting or on their way)."""
    return int(await db.scalar(
        "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending') AND due_at <= ?", (encode(now),)
    ) or 0)


async def next_due(db: Database) -> datetime | None:
    """Gives when the earliest waiting row falls due, or None when nothing waits."""
    return decode(await db.scalar("SELECT min(due_at) FROM outbox WHERE status = 'pending'"))


async def delivered(db: Database, kind: str) -> int:
    """Gives how many messages of a kind were delivered, on their own or carried by another."""
    return int(await db.scalar(
        "SELECT count(*) FROM outbox WHERE kind = ?"
        " AND (status = 'sent' OR (status = 'cancelled' AND last_error LIKE 'carried by %'))",
        (kind,),
    ) or 0)


async def keys_since(db: Database, kind: str, since: datetime) -> set[str]:
    """Gives the keys of a kind's rows due since `since`, whatever their state (one read)."""
    rows = await db.fetchall("SELECT dedupe_key FROM outbox WHERE kind = ? AND due_at >= ?", (kind, encode(since)))
    return {str(r[0]) for r in rows}
