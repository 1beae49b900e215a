"""The learning question: every version a participant wrote, and whether they share it with their set.

The newest version is the current one; none is ever changed or dropped, except all of them by /forget
(ON DELETE CASCADE from person). Their text never reaches a log.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import aiosqlite

from bot.store.db import Database
from bot.store.outbox import Planned, plan_rows, ts


@dataclass(frozen=True)
class QuestionVersion:
    """One version of a person's learning question."""

    id: int
    person_id: int
    programme_id: int | None
    text: str
    created_at: datetime


@dataclass(frozen=True)
class SharedQuestion:
    """A member's current learning question as their set's digest shows it."""

    person_id: int
    name: str
    text: str


def _version(r: aiosqlite.Row) -> QuestionVersion:
    return QuestionVersion(r["id"], r["person_id"], r["programme_id"], r["text"], datetime.fromisoformat(r["created_at"]))


async def add_version(
    db: Database, person_id: int, programme_id: int | None, text: str, chat_id: int, message_id: int, now: datetime
) -> int | None:
    """Keeps a new version of a person's question; gives its id, or None when that message was kept before
    (an update delivered twice stores nothing twice)."""
    async with db.transaction() as conn:
        if await conn.execute_fetchall(
            "SELECT 1 FROM learning_question WHERE person_id = ? AND chat_id = ? AND message_id = ?",
            (person_id, chat_id, message_id),
        ):
            return None
        cur = await conn.execute(
            "INSERT INTO learning_question (person_id, programme_id, text, chat_id, message_id, created_at)"
            " VALUES (?,?,?,?,?,?)",
            (person_id, programme_id, text, chat_id, message_id, ts(now)),
        )
        return int(cur.lastrowid or 0)


async def versions(db: Database, person_id: int) -> list[QuestionVersion]:
    """Gives every version of a person's question, newest first."""
    rows = await db.fetchall(
        "SELECT * FROM learning_question WHERE person_id = ? ORDER BY created_at DESC, id DESC", (person_id,)
    )
    return [_version(r) for r in rows]


async def current(db: Database, person_id: int) -> QuestionVersion | None:
    """Gives a person's current question (their newest version), or None when they have none."""
    row = await db.fetchone(
        "SELECT * FROM learning_question WHERE person_id = ? ORDER BY created_at DESC, id DESC LIMIT 1", (person_id,)
    )
    return None if row is None else _version(row)


async def as_of(db: Database, person_id: int, moment: datetime) -> QuestionVersion | None:
    """Gives the version of a person's question that was current at a moment (for a prompt re-read later)."""
    row = await db.fetchone(
        "SELECT * FROM learning_question WHERE person_id = ? AND created_at <= ? ORDER BY created_at DESC, id DESC"
        " LIMIT 1",
        (person_id, ts(moment)),
    )
    return None if row is None else _version(row)


async def get(db: Database, version_id: int) -> QuestionVersion | None:
    """Gives one version."""
    row = await db.fetchone("SELECT * FROM learning_question WHERE id = ?", (version_id,))
    return None if row is None else _version(row)


async def shared_since(db: Database, person_id: int) -> datetime | None:
    """Gives since when a person shares their question with their set, or None while it is private."""
    value = await db.scalar("SELECT question_shared_at FROM person WHERE id = ?", (person_id,))
    return None if value is None else datetime.fromisoformat(str(value))


async def set_shared(db: Database, person_id: int, shared: bool, now: datetime) -> None:
    """Shares a person's question with their set from now on, or makes it private again."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE person SET question_shared_at = CASE WHEN ? THEN COALESCE(question_shared_at, ?) END WHERE id = ?",
            (int(shared), ts(now), person_id),
        )


async def shared_in_set(db: Database, set_id: int) -> list[SharedQuestion]:
    """Gives the current questions that members of a set share, by name: only members of that set, only
    their newest version written in the set's programme (or outside any), only while they share it."""
    return [SharedQuestion(r[0], r[1], r[2]) for r in await db.fetchall(_SHARED_IN_SET_SQL, (set_id,))]


_SHARED_IN_SET_SQL = (
    "SELECT person.id, person.name, learning_question.text FROM membership"
    " JOIN learning_set ON learning_set.id = membership.learning_set_id"
    " JOIN person ON person.id = membership.person_id"
    " JOIN learning_question ON learning_question.id = ("
    "   SELECT id FROM learning_question AS newest WHERE newest.person_id = person.id"
    "   AND (newest.programme_id IS NULL OR newest.programme_id = learning_set.programme_id)"
    "   ORDER BY newest.created_at DESC, newest.id DESC LIMIT 1)"
    " WHERE membership.learning_set_id = ? AND membership.role = 'participant'"
    " AND membership.programme_id = learning_set.programme_id"
    " AND person.status = 'active' AND person.question_shared_at IS NOT NULL"
    " ORDER BY person.name COLLATE NOCASE, person.id"
)


def read_shared_in_set(conn: sqlite3.Connection, set_id: int) -> list[SharedQuestion]:
    """The same as `shared_in_set`, on the database thread (inside a function given to `Database.run`)."""
    return [SharedQuestion(r[0], r[1], r[2]) for r in conn.execute(_SHARED_IN_SET_SQL, (set_id,)).fetchall()]


async def with_question(db: Database, person_ids: list[int]) -> set[int]:
    """Gives which of these people have a learning question."""
    if not person_ids:
        return set()
    marks = ",".join("?" for _ in person_ids)
    rows = await db.fetchall(f"SELECT DISTINCT person_id FROM learning_question WHERE person_id IN ({marks})", person_ids)
    return {r[0] for r in rows}


async def participants(db: Database, programme_id: int) -> list[int]:
    """Gives the ids of a programme's active participants."""
    rows = await db.fetchall(
        "SELECT person.id FROM membership JOIN person ON person.id = membership.person_id"
        " WHERE membership.programme_id = ? AND membership.role = 'participant' AND person.status = 'active'"
        " ORDER BY person.id",
        (programme_id,),
    )
    return [r[0] for r in rows]


async def replan(db: Database, person_id: int, programme_id: int, items: list[Planned], now: datetime) -> None:
    """Makes a person's pending learning-question rows of a programme those of `items`: a row no longer
    wanted, or wanted at another time (a change of hour), goes; a missing one is added. Rows already as
    wanted are left untouched, so that nothing reading the outbox meanwhile sees them gone; rows sent or
    on their way stay, and their keys keep them from coming twice."""
    await replan_many(db, programme_id, {person_id: items}, now)


async def replan_many(db: Database, programme_id: int, wanted: dict[int, list[Planned]], now: datetime) -> None:
    """`replan` for several people of one programme at once, in one write unit (one commit)."""
    if wanted:
        await db.write(partial(_replan_rows, programme_id, wanted, now))


def _replan_rows(programme_id: int, wanted: dict[int, list[Planned]], now: datetime, conn: sqlite3.Connection) -> None:
    people = list(wanted)
    marks = ",".join("?" for _ in people)
    due = {p.dedupe_key: ts(p.due_at) for items in wanted.values() for p in items}
    pending = conn.execute(
        "SELECT id, dedupe_key, due_at FROM outbox WHERE kind = 'question' AND status = 'pending'"
        f" AND person_id IN ({marks}) AND CAST(json_extract(payload, '$.programme_id') AS INTEGER) = ?",
        (*people, programme_id),
    ).fetchall()
    gone = [r[0] for r in pending if due.get(r[1]) != r[2]]
    for start in range(0, len(gone), 500):
        chunk = gone[start : start + 500]
        conn.execute(f"DELETE FROM outbox WHERE id IN ({','.join('?' for _ in chunk)})", chunk)
    kept = {r[1] for r in pending if due.get(r[1]) == r[2]}
    plan_rows(conn, [p for items in wanted.values() for p in items if p.dedupe_key not in kept], now)
