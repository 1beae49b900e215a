"""What members share with their learning set: visibility of reflections, cases, digests, linked groups.

The rule that keeps private text private is in the SQL here: a digest selects only entries whose
author chose to share them for that very set, and that no earlier digest carried.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import aiosqlite

from bot.domain.digest import SharedEntry
from bot.store.codec import decode, encode
from bot.store.db import Database
from bot.store.learning_question import SharedQuestion, read_shared_in_set
from bot.store.people import Person, person_of, read_person
from bot.store.programmes import StoredSet, read_programme_version, read_set_by_id


@dataclass(frozen=True)
class Digest:
    """A digest row: one per set and period."""

    id: int
    learning_set_id: int
    period_key: str
    send_at: datetime
    meeting_starts: datetime | None
    meeting_place: str
    status: str
    sealed_at: datetime | None


@dataclass(frozen=True)
class Case:
    """A work case a member brings to a meeting."""

    person_id: int
    author: str
    text: str


def _digest(r: aiosqlite.Row) -> Digest:
    return Digest(
        r["id"], r["learning_set_id"], r["period_key"], decode(r["send_at"]),
        decode(r["meeting_starts"]), r["meeting_place"],
        r["status"], decode(r["sealed_at"]),
    )


async def set_visibility(
    db: Database, reflection_id: int, person_id: int, visibility: str, set_id: int | None, now: datetime,
    takeaway: str | None = None,
) -> bool:
    """Changes who may read a reflection; gives False when it is not the person's or a digest carried it already."""
    if visibility not in ("private", "shared", "takeaway"):
        raise ValueError(visibility)
    shared = visibility != "private"
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE reflection SET visibility = ?, shared_set_id = ?, shared_at = ?, takeaway = ?"
            " WHERE id = ? AND person_id = ? AND digest_id IS NULL",
            (visibility, set_id if shared else None, encode(now) if shared else None,
             takeaway if visibility == "takeaway" else None, reflection_id, person_id),
        )
        return cur.rowcount == 1


_MEMBERS_SQL = (
    "SELECT person.* FROM person JOIN membership ON membership.person_id = person.id"
    " WHERE membership.learning_set_id = ? AND membership.role = 'participant' AND person.status = 'active'"
    " ORDER BY person.id"
)


async def members(db: Database, set_id: int) -> list[Person]:
    """Gives the active participants of a learning set."""
    return [person_of(r) for r in await db.fetchall(_MEMBERS_SQL, (set_id,))]


async def members_by_set(db: Database, programme_id: int) -> dict[int, list[Person]]:
    """Gives the active participants of each learning set of a programme (as `members` gives them), in one read."""
    rows = await db.fetchall(
        "SELECT person.*, membership.learning_set_id AS member_of FROM person"
        " JOIN membership ON membership.person_id = person.id"
        " WHERE membership.learning_set_id IN (SELECT id FROM learning_set WHERE programme_id = ?)"
        " AND membership.role = 'participant' AND person.status = 'active' ORDER BY person.id",
        (programme_id,),
    )
    found: dict[int, list[Person]] = {}
    for r in rows:
        found.setdefault(r["member_of"], []).append(person_of(r))
    return found


async def set_of(db: Database, person_id: int) -> int | None:
    """Gives the learning set a participant belongs to (the latest joined)."""
    return await db.scalar(
        "SELECT learning_set_id FROM membership WHERE person_id = ? AND role = 'participant'"
        " AND learning_set_id IS NOT NULL ORDER BY id DESC LIMIT 1",
        (person_id,),
    )


def _entry(r: aiosqlite.Row) -> SharedEntry:
    # By position (the columns of _ENTRY_SQL, in order): a name is looked up column by column.
    return SharedEntry(r[0], r[1], r[2], r[3], r[4], r[8] or "", r[5], decode(r[6]), r[7])


_ENTRY_SQL = (
    "SELECT reflection.id, reflection.person_id, person.name, reflection.shared_set_id, reflection.visibility,"
    " reflection.takeaway, reflection.created_at, reflection.digest_id,"
    " (SELECT group_concat(text, char(10)) FROM (SELECT text FROM reflection_part"
    "   WHERE reflection_id = reflection.id AND text != '' ORDER BY created_at, message_id)) AS text"
    " FROM reflection JOIN person ON person.id = reflection.person_id"
)


_PENDING_SQL = (
    _ENTRY_SQL + " WHERE reflection.shared_set_id = ? AND reflection.visibility IN ('shared', 'takeaway')"
    " AND reflection.digest_id IS NULL ORDER BY reflection.created_at"
)


async def pending_shared(db: Database, set_id: int) -> list[SharedEntry]:
    """Gives entries shared for a set that no digest has carried yet (the digest so far)."""
    return [_entry(r) for r in await db.fetchall(_PENDING_SQL, (set_id,))]


_CARRIED_SQL = (
    _ENTRY_SQL + " WHERE reflection.digest_id = ? AND reflection.shared_set_id = ?"
    " AND reflection.visibility IN ('shared', 'takeaway') ORDER BY reflection.created_at"
)
_WAITING_SQL = (
    "SELECT count(*) FROM reflection WHERE shared_set_id = ? AND visibility IN ('shared', 'takeaway')"
    " AND digest_id IS NULL AND shared_at <= ?"
)


async def digest_entries(db: Database, digest_id: int, set_id: int) -> list[SharedEntry]:
    """Gives the entries a sealed digest carries, checked again against its set."""
    return [_entry(r) for r in await db.fetchall(_CARRIED_SQL, (digest_id, set_id))]


@dataclass(frozen=True)
class Carried:
    """What a sealed digest carries, read in one go."""

    sealed_at: datetime
    entries: list[SharedEntry]  # checked again against its set (_CARRIED_SQL)
    waiting: int  # entries shared for the set by sealed_at that no digest carries (left for the next one)
    took_part: tuple[int, int]  # as `took_part` gives it, from `since` until sealed_at


def _carried(digest_id: int, set_id: int, since: datetime | None, conn: sqlite3.Connection) -> Carried | None:
    row = conn.execute("SELECT sealed_at FROM digest WHERE id = ? AND status = 'sealed'", (digest_id,)).fetchone()
    if row is None:
        return None
    sealed_at = decode(row[0])
    entries = [_entry(r) for r in conn.execute(_CARRIED_SQL, (digest_id, set_id)).fetchall()]
    waiting = int(conn.execute(_WAITING_SQL, (set_id, row[0])).fetchone()[0] or 0)
    return Carried(sealed_at, entries, waiting, _took_part(set_id, since, sealed_at, conn))


@dataclass(frozen=True)
class DigestContext:
    """A digest with what its text needs besides its entries, read in one trip."""

    digest: Digest
    previous: Digest | None  # the set's digest sealed before it
    cases: list[Case]


def _digest_context(digest_id: int, conn: sqlite3.Connection) -> DigestContext | None:
    row = conn.execute("SELECT * FROM digest WHERE id = ?", (digest_id,)).fetchone()
    if row is None:
        return None
    before = conn.execute(_PREVIOUS_SQL, (row["learning_set_id"], digest_id)).fetchone()
    cases = [Case(r[0], r[1], r[2]) for r in conn.execute(_CASES_SQL, (digest_id,)).fetchall()]
    return DigestContext(_digest(row), None if before is None else _digest(before), cases)


@dataclass(frozen=True)
class DigestReading:
    """What composing a digest's outbox row reads, in one trip: the digest with its context, its set, the
    version of the set's programme, the questions its members share, and what the row's kind needs."""

    context: DigestContext
    learning_set: StoredSet | None
    programme_version: str | None  # the loaded_at of the set's programme (programmes.get_programme_version)
    questions: list[SharedQuestion]
    members: list[Person]  # a row to MEMBERS of a set without a linked group: the set's active participants
    pending: list[SharedEntry]  # a row to MEMBERS of a planned digest: as `pending_shared` gives them
    took_part: tuple[int, int] | None  # with `pending`: as `took_part` gives it, from the previous digest until now
    person: Person | None  # a copy to a member: that person
    carried: Carried | None  # a copy of a sealed digest: as `carried` gives it, from the previous digest


def _digest_reading(
    digest_id: int, expanding: bool, person_id: int | None, now: datetime, conn: sqlite3.Connection
) -> DigestReading | None:
    context = _digest_context(digest_id, conn)
    if context is None:
        return None
    digest = context.digest
    learning_set = read_set_by_id(conn, digest.learning_set_id)
    version = None if learning_set is None else read_programme_version(conn, learning_set.programme_id)
    since = context.previous.sealed_at if context.previous else None
    planned, sealed = digest.status == "planned", digest.status == "sealed"
    pending, took = ([], None) if not (expanding and planned) else _candidates(digest.learning_set_id, since, now, conn)
    return DigestReading(
        context, learning_set, version,
        read_shared_in_set(conn, digest.learning_set_id),
        # Only a set without a linked group gets its digest member by member.
        [person_of(r) for r in conn.execute(_MEMBERS_SQL, (digest.learning_set_id,)).fetchall()]
        if expanding and learning_set is not None and learning_set.group_chat_id is None else [],
        pending, took,
        read_person(conn, person_id) if person_id is not None and not expanding else None,
        _carried(digest_id, digest.learning_set_id, since, conn) if sealed and not expanding else None,
    )


async def digest_reading(
    db: Database, digest_id: int, *, expanding: bool, person_id: int | None, now: datetime
) -> DigestReading | None:
    """Gives what composing a row of this digest needs (None when the digest is gone), in one trip: for a row to
    MEMBERS (`expanding`) the entries it may carry and the members (when no group is linked: they are the
    recipients), for a copy the person and what it carries."""
    return await db.run(partial(_digest_reading, digest_id, expanding, person_id, now))


def _digest_readings(
    asks: Sequence[tuple[int, bool, int | None]], now: datetime, conn: sqlite3.Connection
) -> list[DigestReading | None | Exception]:
    found: list[DigestReading | None | Exception] = []
    for digest_id, expanding, person_id in asks:
        try:
            found.append(_digest_reading(digest_id, expanding, person_id, now, conn))
        except Exception as exc:  # noqa: BLE001 -- one digest's failure is its own: its composer raises it
            found.append(exc)
    return found


async def digest_readings(
    db: Database, asks: Sequence[tuple[int, bool, int | None]], now: datetime
) -> list[DigestReading | None | Exception]:
    """Gives what `digest_reading` gives for each (digest_id, expanding, person_id), all in one trip, or the
    exception that reading raised in its place (the others are read all the same).

    Why one trip for a batch (bot.jobs.sets.expand_due_digests): read one by one while the event loop
    renders the digest read before, the two threads handed the interpreter's lock back and forth at every
    step of every statement, and each ran several times slower than alone."""
    return await db.run(partial(_digest_readings, list(asks), now))


def _candidates(
    set_id: int, since: datetime | None, until: datetime, conn: sqlite3.Connection
) -> tuple[list[SharedEntry], tuple[int, int]]:
    return [_entry(r) for r in conn.execute(_PENDING_SQL, (set_id,)).fetchall()], _took_part(set_id, since, until, conn)


async def digest_candidates(
    db: Database, set_id: int, since: datetime | None, until: datetime
) -> tuple[list[SharedEntry], tuple[int, int]]:
    """Gives what `pending_shared` gives and who took part from `since` until `until`, in one trip."""
    return await db.run(partial(_candidates, set_id, since, until))


_ENSURE_DIGEST_SQL = (
    "INSERT INTO digest (learning_set_id, period_key, send_at, meeting_starts, meeting_place, created_at)"
    " VALUES (?,?,?,?,?,?) ON CONFLICT (learning_set_id, period_key) DO UPDATE SET send_at = excluded.send_at"
    " WHERE digest.status = 'planned'"
)


async def ensure_digest(
    conn: aiosqlite.Connection, set_id: int, period_key: str, send_at: datetime, meeting_starts: datetime | None,
    meeting_place: str, now: datetime,
) -> int:
    """Gives the digest of a set and period, creating it once (inside the caller's transaction)."""
    await conn.execute(
        _ENSURE_DIGEST_SQL,
        (set_id, period_key, encode(send_at), encode(meeting_starts) if meeting_starts else None, meeting_place, encode(now)),
    )
    rows = list(await conn.execute_fetchall(
        "SELECT id FROM digest WHERE learning_set_id = ? AND period_key = ?", (set_id, period_key)
    ))
    return int(rows[0][0])  # upserted just above


def ensure_digest_row(
    conn: sqlite3.Connection, set_id: int, period_key: str, send_at: datetime, meeting_starts: datetime | None,
    meeting_place: str, now: datetime,
) -> int:
    """The same as `ensure_digest`, inside a write unit of the group commit (bot.store.db.Database.write)."""
    conn.execute(
        _ENSURE_DIGEST_SQL,
        (set_id, period_key, encode(send_at), encode(meeting_starts) if meeting_starts else None, meeting_place, encode(now)),
    )
    row = conn.execute("SELECT id FROM digest WHERE learning_set_id = ? AND period_key = ?", (set_id, period_key)).fetchone()
    return int(row[0])  # upserted just above


async def get_digest(db: Database, digest_id: int) -> Digest | None:
    """Gives a digest row."""
    row = await db.fetchone("SELECT * FROM digest WHERE id = ?", (digest_id,))
    return None if row is None else _digest(row)


_PREVIOUS_SQL = (
    "SELECT * FROM digest WHERE learning_set_id = ? AND status = 'sealed' AND id != ? ORDER BY sealed_at DESC LIMIT 1"
)


async def previous_sealed(db: Database, set_id: int, before_id: int) -> Digest | None:
    """Gives the set's digest sealed before this one, if any."""
    row = await db.fetchone(_PREVIOUS_SQL, (set_id, before_id))
    return None if row is None else _digest(row)


def _seal(digest_id: int, set_id: int, now: datetime, only: Sequence[int] | None, conn: sqlite3.Connection) -> bool:
    chosen = "" if only is None else f" AND id IN ({','.join('?' for _ in only)})"
    sealed = conn.execute(
        "UPDATE digest SET status = 'sealed', sealed_at = ? WHERE id = ? AND status = 'planned'", (encode(now), digest_id)
    ).rowcount == 1
    if sealed:
        conn.execute(
            "UPDATE reflection SET digest_id = ? WHERE shared_set_id = ? AND visibility IN ('shared', 'takeaway')"
            " AND digest_id IS NULL AND shared_at <= ?" + chosen,
            (digest_id, set_id, encode(now), *(only or ())),
        )
    return sealed


def sealing(
    digest_id: int, set_id: int, now: datetime, only: Sequence[int] | None = None
) -> Callable[[sqlite3.Connection], bool]:
    """Gives the write unit that seals a digest as `seal_digest` does, to commit with other writes."""
    return partial(_seal, digest_id, set_id, now, only)


async def seal_digest(
    db: Database, digest_id: int, set_id: int, now: datetime, only: Sequence[int] | None = None
) -> bool:
    """Fixes what a digest carries (shared entries not yet carried; of those, `only` these when given), once;
    gives False if it was sealed before. Entries left out wait for the next digest."""
    return await db.write(partial(_seal, digest_id, set_id, now, only))


async def seal_and_carry(
    db: Database, digest_id: int, set_id: int, now: datetime, only: Sequence[int] | None = None,
    since: datetime | None = None,
) -> Carried | None:
    """Seals a digest as `seal_digest` does (unless it was sealed before) and gives what it carries: one
    commit, and the entries read back inside it (None when the digest was skipped meanwhile)."""

    def unit(conn: sqlite3.Connection) -> Carried | None:
        _seal(digest_id, set_id, now, only, conn)
        return _carried(digest_id, set_id, since, conn)

    return await db.write(unit)


async def waiting_since(db: Database, set_id: int, until: datetime) -> int:
    """Gives how many entries shared for a set by `until` no digest carries yet (left for the next one)."""
    return int(await db.scalar(_WAITING_SQL, (set_id, encode(until))) or 0)


def _took_part(set_id: int, since: datetime | None, until: datetime, conn: sqlite3.Connection) -> tuple[int, int]:
    row = conn.execute(
        "SELECT (SELECT count(DISTINCT reflection.person_id) FROM reflection JOIN membership"
        "   ON membership.person_id = reflection.person_id AND membership.role = 'participant'"
        "   WHERE membership.learning_set_id = ? AND reflection.created_at > ? AND reflection.created_at <= ?),"
        " (SELECT count(*) FROM membership JOIN person ON person.id = membership.person_id"
        "   WHERE membership.learning_set_id = ? AND membership.role = 'participant' AND person.status != 'blocked')",
        (set_id, encode(since) if since else "", encode(until), set_id),
    ).fetchone()
    return int(row[0] or 0), int(row[1] or 0)


async def took_part(db: Database, set_id: int, since: datetime | None, until: datetime) -> tuple[int, int]:
    """Gives (members who reflected in the period, members of the set): counts only, in one read."""
    return await db.run(partial(_took_part, set_id, since, until))


async def add_case(db: Database, digest_id: int, set_id: int, person_id: int, text: str, now: datetime) -> bool:
    """Records (or replaces) the case a member brings; gives False once the digest has gone."""
    async with db.transaction() as conn:
        row = next(iter(await conn.execute_fetchall("SELECT status FROM digest WHERE id = ?", (digest_id,))), None)
        if row is None or row[0] != "planned":
            return False
        await conn.execute(
            "INSERT INTO case_proposal (learning_set_id, person_id, digest_id, text, created_at) VALUES (?,?,?,?,?)"
            " ON CONFLICT (digest_id, person_id) DO UPDATE SET text = excluded.text, created_at = excluded.created_at",
            (set_id, person_id, digest_id, text, encode(now)),
        )
    return True


_CASES_SQL = (
    "SELECT case_proposal.person_id, person.name, case_proposal.text FROM case_proposal"
    " JOIN person ON person.id = case_proposal.person_id WHERE digest_id = ? ORDER BY case_proposal.created_at"
)


async def cases(db: Database, digest_id: int) -> list[Case]:
    """Gives the cases proposed for a digest's meeting."""
    return [Case(r[0], r[1], r[2]) for r in await db.fetchall(_CASES_SQL, (digest_id,))]


async def planned_digests(db: Database, set_id: int) -> list[Digest]:
    """Gives a set's digests that have not gone out."""
    rows = await db.fetchall("SELECT * FROM digest WHERE learning_set_id = ? AND status = 'planned'", (set_id,))
    return [_digest(r) for r in rows]


def _skip(digest_id: int, conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE digest SET status = 'skipped' WHERE id = ? AND status = 'planned'", (digest_id,))


def skipping(digest_id: int) -> Callable[[sqlite3.Connection], None]:
    """Gives the write unit that skips a digest as `skip_digest` does, to commit with other writes."""
    return partial(_skip, digest_id)


async def skip_digest(db: Database, digest_id: int) -> None:
    """Marks a planned digest as not going out (its meeting left the calendar); what was shared waits for the next."""
    await db.write(skipping(digest_id))


async def next_open_digest(db: Database, set_id: int) -> Digest | None:
    """Gives the set's next digest that has not gone yet."""
    row = await db.fetchone(
        "SELECT * FROM digest WHERE learning_set_id = ? AND status = 'planned' ORDER BY send_at LIMIT 1", (set_id,)
    )
    return None if row is None else _digest(row)


async def link_group(db: Database, set_id: int, chat_id: int) -> None:
    """Links a Telegram group to a set (a group serves one set)."""
    async with db.transaction() as conn:
        await conn.execute("UPDATE learning_set SET group_chat_id = NULL WHERE group_chat_id = ?", (chat_id,))
        await conn.execute("UPDATE learning_set SET group_chat_id = ? WHERE id = ?", (chat_id, set_id))


async def unlink_group(db: Database, chat_id: int) -> list[int]:
    """Unlinks a group the bot was removed from; gives the sets it served."""
    async with db.transaction() as conn:
        ids = [r[0] for r in await conn.execute_fetchall("SELECT id FROM learning_set WHERE group_chat_id = ?", (chat_id,))]
        await conn.execute("UPDATE learning_set SET group_chat_id = NULL WHERE group_chat_id = ?", (chat_id,))
    return ids


async def facilitators(db: Database, programme_id: int) -> list[Person]:
    """Gives the facilitators of a programme who use the bot."""
    rows = await db.fetchall(
        "SELECT person.* FROM person JOIN membership ON membership.person_id = person.id"
        " WHERE membership.programme_id = ? AND membership.role = 'facilitator' AND person.status != 'blocked'",
        (programme_id,),
    )
    return [person_of(r) for r in rows]
