"""Journal entries: reflections and the messages they are made of. Their text never reaches a log."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.store.codec import decode, encode
from bot.store.db import Database

MAX_PARTS = 20  # messages merged into one reflection at most (1,000 in a row made one digest entry of 1,000 parts)


@dataclass(frozen=True)
class Part:
    """One message of a reflection."""

    id: int
    reflection_id: int
    chat_id: int
    message_id: int
    kind: str
    text: str
    file_id: str | None
    created_at: datetime
    edited_at: datetime | None


@dataclass(frozen=True)
class Reflection:
    """A journal entry with its parts joined."""

    id: int
    person_id: int
    outbox_id: int | None
    prompt_key: str | None
    programme_id: int | None
    module_key: str
    phase: str
    capacity: str
    is_intention: bool
    follows_up_id: int | None
    visibility: str
    takeaway: str | None
    shared_set_id: int | None
    digest_id: int | None
    created_at: datetime
    updated_at: datetime
    parts: tuple[Part, ...] = ()

    @property
    def text(self) -> str:
        """Gives the reflection's text: its text parts in order, voice notes and photos by caption."""
        return "\n".join(p.text for p in self.parts if p.text)


@dataclass(frozen=True)
class NewReflection:
    """What is known of a reflection when its first message arrives."""

    person_id: int
    outbox_id: int | None
    prompt_key: str | None
    programme_id: int | None
    module_key: str
    phase: str
    capacity: str
    is_intention: bool
    follows_up_id: int | None


def _part(r: aiosqlite.Row) -> Part:
    return Part(
        r["id"], r["reflection_id"], r["chat_id"], r["message_id"], r["kind"], r["text"], r["file_id"],
        decode(r["created_at"]), decode(r["edited_at"]),
    )


def _reflection(r: aiosqlite.Row, parts: tuple[Part, ...]) -> Reflection:
    return Reflection(
        r["id"], r["person_id"], r["outbox_id"], r["prompt_key"], r["programme_id"], r["module_key"], r["phase"],
        r["capacity"], bool(r["is_intention"]), r["follows_up_id"], r["visibility"], r["takeaway"],
        r["shared_set_id"], r["digest_id"], decode(r["created_at"]),
        decode(r["updated_at"]), parts,
    )


async def add_message(
    db: Database,
    new: NewReflection,
    append_to: int | None,
    chat_id: int,
    message_id: int,
    kind: str,
    text: str,
    file_id: str | None,
    now: datetime,
) -> tuple[int, bool] | None:
    """Stores a message as part of a reflection (a new one, or `append_to`).

    A new reflection that answers a prompt marks the prompt answered in the same transaction (a unit of
    the group commit: committed, fsynced, before this returns). Gives (reflection id, whether it is
    new), or None when the message was stored before.
    """
    def store(conn: sqlite3.Connection) -> tuple[int, bool] | None:
        if conn.execute(
            "SELECT 1 FROM reflection_part WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
        ).fetchone() is not None:
            return None
        into = append_to
        if into is not None:
            parts = conn.execute("SELECT count(*) FROM reflection_part WHERE reflection_id = ?", (into,)).fetchone()[0]
            if parts >= MAX_PARTS:
                into = None  # a reflection holds MAX_PARTS messages; the next one starts another
        if into is None:
            cur = conn.execute(
                "INSERT INTO reflection (person_id, outbox_id, prompt_key, programme_id, module_key, phase, capacity,"
                " is_intention, follows_up_id, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (new.person_id, new.outbox_id, new.prompt_key, new.programme_id, new.module_key, new.phase,
                 new.capacity, int(new.is_intention), new.follows_up_id, encode(now), encode(now)),
            )
            reflection_id = int(cur.lastrowid or 0)
            if new.outbox_id is not None:
                # The prompt is answered, and so is the one it re-asks after *Later*; a re-ask still
                # to come is not needed any more.
                conn.execute(
                    "UPDATE outbox SET response = 'answered' WHERE (response IS NULL OR response = 'later')"
                    " AND (id = ? OR id = (SELECT CAST(json_extract(payload, '$.again_of') AS INTEGER) FROM outbox WHERE id = ?))",
                    (new.outbox_id, new.outbox_id),
                )
                conn.execute(
                    "DELETE FROM outbox WHERE status = 'pending' AND person_id = ? AND dedupe_key = 'later:' || ?",
                    (new.person_id, new.outbox_id),
                )
        else:
            reflection_id = into
            conn.execute("UPDATE reflection SET updated_at = ? WHERE id = ?", (encode(now), reflection_id))
        conn.execute(
            "INSERT INTO reflection_part (reflection_id, chat_id, message_id, kind, text, file_id, created_at)"
            " VALUES (?,?,?,?,?,?,?)",
            (reflection_id, chat_id, message_id, kind, text, file_id, encode(now)),
        )
        return reflection_id, into is None

    return await db.write(store)


async def edit_message(db: Database, chat_id: int, message_id: int, text: str, now: datetime) -> int | None:
    """Replaces the text of a stored message; gives its reflection id, or None if it is not a journal message."""
    async with db.transaction() as conn:
        row = next(iter(await conn.execute_fetchall(
            "SELECT reflection_id FROM reflection_part WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
        )), None)
        if row is None:
            return None
        await conn.execute(
            "UPDATE reflection_part SET text = ?, edited_at = ? WHERE chat_id = ? AND message_id = ?",
            (text, encode(now), chat_id, message_id),
        )
        await conn.execute("UPDATE reflection SET updated_at = ? WHERE id = ?", (encode(now), row[0]))
    await db.scrub()  # the words edited away leave the disk too
    return int(row[0])


async def get(db: Database, reflection_id: int) -> Reflection | None:
    """Gives one reflection with its parts."""
    row = await db.fetchone("SELECT * FROM reflection WHERE id = ?", (reflection_id,))
    if row is None:
        return None
    parts = await db.fetchall(
        "SELECT * FROM reflection_part WHERE reflection_id = ? ORDER BY created_at, message_id", (reflection_id,)
    )
    return _reflection(row, tuple(_part(p) for p in parts))


@dataclass(frozen=True)
class Latest:
    """Just enough of a person's latest reflection to decide whether a message continues it."""

    id: int
    outbox_id: int | None
    updated_at: datetime
    visibility: str
    for_facilitators: bool = False  # shared with the set's facilitators (bot.store.briefs)


async def latest_brief(db: Database, person_id: int) -> Latest | None:
    """Gives the id, prompt and last change of the person's most recently written reflection."""
    row = await db.fetchone(
        "SELECT id, outbox_id, updated_at, visibility, for_facilitators_at IS NOT NULL FROM reflection"
        " WHERE person_id = ? ORDER BY updated_at DESC, id DESC LIMIT 1",
        (person_id,),
    )
    return None if row is None else Latest(row[0], row[1], decode(row[2]), row[3], bool(row[4]))


async def for_person(db: Database, person_id: int, limit: int = 1_000_000, offset: int = 0) -> list[Reflection]:
    """Gives a person's reflections, newest first."""
    rows = await db.fetchall(
        "SELECT * FROM reflection WHERE person_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        (person_id, limit, offset),
    )
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    marks = ",".join("?" for _ in ids)
    parts = await db.fetchall(
        f"SELECT * FROM reflection_part WHERE reflection_id IN ({marks}) ORDER BY created_at, message_id", ids
    )
    by_reflection: dict[int, list[Part]] = {}
    for p in parts:
        by_reflection.setdefault(p["reflection_id"], []).append(_part(p))
    return [_reflection(r, tuple(by_reflection.get(r["id"], []))) for r in rows]


async def count(db: Database, person_id: int) -> int:
    """Gives how many reflections a person has."""
    return int(await db.scalar("SELECT count(*) FROM reflection WHERE person_id = ?", (person_id,)) or 0)


async def number_of(db: Database, entry: Reflection) -> int:
    """Gives an entry's number in its author's journal: 1 for the first they wrote, counting on in time."""
    return int(await db.scalar(
        "SELECT count(*) FROM reflection WHERE person_id = ? AND (created_at < ? OR (created_at = ? AND id <= ?))",
        (entry.person_id, encode(entry.created_at), encode(entry.created_at), entry.id),
    ) or 0)


async def delete(db: Database, reflection_id: int, person_id: int) -> bool:
    """Deletes one entry of a person with its messages, erased on disk too; gives False when it is not theirs."""
    async with db.transaction() as conn:
        cur = await conn.execute("DELETE FROM reflection WHERE id = ? AND person_id = ?", (reflection_id, person_id))
        gone = cur.rowcount == 1
    if gone:
        await db.scrub()
    return gone


async def correct(
    db: Database, reflection_id: int, person_id: int, chat_id: int, message_id: int, text: str, now: datetime
) -> bool:
    """Replaces the text of a person's entry by a typed correction (that message becomes its text), the old words
    erased on disk; voice notes and photos stay, without their captions. Gives False when it is not theirs."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE reflection SET updated_at = ? WHERE id = ? AND person_id = ?", (encode(now), reflection_id, person_id)
        )
        if cur.rowcount != 1:
            return False
        await conn.execute("DELETE FROM reflection_part WHERE reflection_id = ? AND kind = 'text'", (reflection_id,))
        await conn.execute("UPDATE reflection_part SET text = '' WHERE reflection_id = ?", (reflection_id,))
        await conn.execute(
            "INSERT INTO reflection_part (reflection_id, chat_id, message_id, kind, text, created_at, edited_at)"
            " VALUES (?,?,?,'text',?,?,?) ON CONFLICT (chat_id, message_id) DO NOTHING",
            (reflection_id, chat_id, message_id, text, encode(now), encode(now)),
        )
    await db.scrub()
    return True


@dataclass(frozen=True)
class Totals:
    """How many reflections there are, by who may read them."""

    reflections: int
    shared: int  # shared whole or as a takeaway
    private: int


async def totals(db: Database) -> Totals:
    """Gives how many reflections everyone wrote, shared and kept private."""
    row = await db.fetchone(
        "SELECT count(*), count(CASE WHEN visibility != 'private' THEN 1 END),"
        " count(CASE WHEN visibility = 'private' THEN 1 END) FROM reflection"
    )
    assert row is not None
    return Totals(row[0], row[1], row[2])


async def texts_not_shared_whole(db: Database) -> list[str]:
    """Gives every message text of reflections not shared whole (private, or shared as a takeaway only)."""
    rows = await db.fetchall(
        "SELECT text FROM reflection_part JOIN reflection ON reflection.id = reflection_part.reflection_id"
        " WHERE reflection.visibility != 'shared' AND text != ''"
    )
    return [r[0] for r in rows]
