"""What members share with their learning set: visibility of reflections, cases, digests, linked groups.

The rule that keeps private text private is in the SQL here: a digest selects only entries whose
author chose to share them for that very set, and that no earlier digest carried.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.domain.digest import SharedEntry
from bot.store.codec import decode, encode
from bot.store.db import Database
from bot.store.people import Person, person_of


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


async def members(db: Database, set_id: int) -> list[Person]:
    """Gives the active participants of a learning set."""
    rows = await db.fetchall(
        "SELECT person.* FROM person JOIN membership ON membership.person_id = person.id"
        " WHERE membership.learning_set_id = ? AND membership.role = 'participant' AND person.status = 'active'"
        " ORDER BY person.id",
        (set_id,),
    )
    return [person_of(r) for r in rows]


async def set_of(db: Database, person_id: int) -> int | None:
    """Gives the learning set a participant belongs to (the latest joined)."""
    return await db.scalar(
        "SELECT learning_set_id FROM membership WHERE person_id = ? AND role = 'participant'"
        " AND learning_set_id IS NOT NULL ORDER BY id DESC LIMIT 1",
        (person_id,),
    )


def _entry(r: aiosqlite.Row) -> SharedEntry:
    return SharedEntry(
        reflection_id=r["id"], person_id=r["person_id"], author=r["name"], set_id=r["shared_set_id"],
        visibility=r["visibility"], text=r["text"] or "", takeaway=r["takeaway"],
        written_at=decode(r["created_at"]), digest_id=r["digest_id"],
    )


_ENTRY_SQL = (
    "SELECT reflection.id, reflection.person_id, person.name, reflection.shared_set_id, reflection.visibility,"
    " reflection.takeaway, reflection.created_at, reflection.digest_id,"
    " (SELECT group_concat(text, char(10)) FROM (SELECT text FROM reflection_part"
    "   WHERE reflection_id = reflection.id AND text != '' ORDER BY created_at, message_id)) AS text"
    " FROM reflection JOIN person ON person.id = reflection.person_id"
)


async def pending_shared(db: Database, set_id: int) -> list[SharedEntry]:
    """Gives entries shared for a set that no digest has carried yet (the digest so far)."""
    rows = await db.fetchall(
        _ENTRY_SQL + " WHERE reflection.shared_set_id = ? AND reflection.visibility IN ('shared', 'takeaway')"
        " AND reflection.digest_id IS NULL ORDER BY reflection.created_at",
        (set_id,),
    )
    return [_entry(r) for r in rows]


async def digest_entries(db: Database, digest_id: int, set_id: int) -> list[SharedEntry]:
    """Gives the entries a sealed digest carries, checked again against its set."""
    rows = await db.fetchall(
        _ENTRY_SQL + " WHERE reflection.digest_id = ? AND reflection.shared_set_id = ?"
        " AND reflection.visibility IN ('shared', 'takeaway') ORDER BY reflection.created_at",
        (digest_id, set_id),
    )
    return [_entry(r) for r in rows]


async def ensure_digest(
    conn: aiosqlite.Connection, set_id: int, period_key: str, send_at: datetime, meeting_starts: datetime | None,
    meeting_place: str, now: datetime,
) -> int:
    """Gives the digest of a set and period, creating it once (inside the caller's transaction)."""
    await conn.execute(
        "INSERT INTO digest (learning_set_id, period_key, send_at, meeting_starts, meeting_place, created_at)"
        " VALUES (?,?,?,?,?,?) ON CONFLICT (learning_set_id, period_key) DO UPDATE SET send_at = excluded.send_at"
        " WHERE digest.status = 'planned'",
        (set_id, period_key, encode(send_at), encode(meeting_starts) if meeting_starts else None, meeting_place, encode(now)),
    )
    rows = list(await conn.execute_fetchall(
        "SELECT id FROM digest WHERE learning_set_id = ? AND period_key = ?", (set_id, period_key)
    ))
    return int(rows[0][0])  # upserted just above


async def get_digest(db: Database, digest_id: int) -> Digest | None:
    """Gives a digest row."""
    row = await db.fetchone("SELECT * FROM digest WHERE id = ?", (digest_id,))
    return None if row is None else _digest(row)


async def previous_sealed(db: Database, set_id: int, before_id: int) -> Digest | None:
    """Gives the set's digest sealed before this one, if any."""
    row = await db.fetchone(
        "SELECT * FROM digest WHERE learning_set_id = ? AND status = 'sealed' AND id != ?"
        " ORDER BY sealed_at DESC LIMIT 1",
        (set_id, before_id),
    )
    return None if row is None else _digest(row)


async def seal_digest(
    db: Database, digest_id: int, set_id: int, now: datetime, only: Sequence[int] | None = None
) -> bool:
    """Fixes what a digest carries (shared entries not yet carried; of those, `only` these when given), once;
    gives False if it was sealed before. Entries left out wait for the next digest."""
    chosen = "" if only is None else f" AND id IN ({','.join('?' for _ in only)})"
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE digest SET status = 'sealed', sealed_at = ? WHERE id = ? AND status = 'planned'", (encode(now), digest_id)
        )
        if cur.rowcount != 1:
            return False
        await conn.execute(
            "UPDATE reflection SET digest_id = ? WHERE shared_set_id = ? AND visibility IN ('shared', 'takeaway')"
            " AND digest_id IS NULL AND shared_at <= ?" + chosen,
            (digest_id, set_id, encode(now), *(only or ())),
        )
    return True


async def waiting_since(db: Database, set_id: int, until: datetime) -> int:
    """Gives how many entries shared for a set by `until` no digest carries yet (left for the next one)."""
    count = await db.scalar(
        "SELECT count(*) FROM reflection WHERE shared_set_id = ? AND visibility IN ('shared', 'takeaway')"
        " AND digest_id IS NULL AND shared_at <= ?",
        (set_id, encode(until)),
    )
    return int(count or 0)


async def took_part(db: Database, set_id: int, since: datetime | None, until: datetime) -> tuple[int, int]:
    """Gives (members who reflected in the period, members of the set): counts only."""
    total = await db.scalar(
        "SELECT count(*) FROM membership JOIN person ON person.id = membership.person_id"
        " WHERE membership.learning_set_id = ? AND membership.role = 'participant' AND person.status != 'blocked'",
        (set_id,),
    )
    active = await db.scalar(
        "SELECT count(DISTINCT reflection.person_id) FROM reflection JOIN membership"
        " ON membership.person_id = reflection.person_id AND membership.role = 'participant'"
        " WHERE membership.learning_set_id = ? AND reflection.created_at > ? AND reflection.created_at <= ?",
        (set_id, encode(since) if since else "", encode(until)),
    )
    return int(active or 0), int(total or 0)


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


async def cases(db: Database, digest_id: int) -> list[Case]:
    """Gives the cases proposed for a digest's meeting."""
    rows = await db.fetchall(
        "SELECT case_proposal.person_id, person.name, case_proposal.text FROM case_proposal"
        " JOIN person ON person.id = case_proposal.person_id WHERE digest_id = ? ORDER BY case_proposal.created_at",
        (digest_id,),
    )
    return [Case(r[0], r[1], r[2]) for r in rows]


async def planned_digests(db: Database, set_id: int) -> list[Digest]:
    """Gives a set's digests that have not gone out."""
    rows = await db.fetchall("SELECT * FROM digest WHERE learning_set_id = ? AND status = 'planned'", (set_id,))
    return [_digest(r) for r in rows]


async def skip_digest(db: Database, digest_id: int) -> None:
    """Marks a planned digest as not going out (its meeting left the calendar); what was shared waits for the next."""
    async with db.transaction() as conn:
        await conn.execute("UPDATE digest SET status = 'skipped' WHERE id = ? AND status = 'planned'", (digest_id,))


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
