"""When each participant last answered, for the quiet rule (bot.domain.quiet), and the mark that they
were asked. Only moments and counts: no text is read here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.store.codec import decode, encode
from bot.store.db import Database
from bot.store.people import Person, person_of

# The latest answer of `person`, typed or tapped: a reflection, a pulse question (a skip is a tap too),
# a version of the learning question, a step of going deeper. '' when there is none.
LAST_ANSWER = (
    "max("
    "coalesce((SELECT max(created_at) FROM reflection WHERE reflection.person_id = person.id), ''),"
    " coalesce((SELECT max(answered_at) FROM pulse_answer WHERE pulse_answer.person_id = person.id), ''),"
    " coalesce((SELECT max(created_at) FROM learning_question WHERE learning_question.person_id = person.id), ''),"
    " coalesce((SELECT max(answered_at) FROM deepening WHERE deepening.person_id = person.id"
    "   AND deepening.answer IS NOT NULL), ''))"
)


@dataclass(frozen=True)
class Member:
    """An active participant of a programme with their set and the moment they last answered."""

    person: Person
    programme_id: int
    learning_set_id: int | None
    last_answer: datetime | None


async def members(db: Database, programme_id: int | None = None, set_id: int | None = None) -> list[Member]:
    """Gives the active participants (of a programme, of a set, or all) with their last answer, once per
    membership, in the order they joined."""
    where, params = ["membership.role = 'participant'", "person.status = 'active'"], []
    if programme_id is not None:
        where.append("membership.programme_id = ?")
        params.append(programme_id)
    if set_id is not None:
        where.append("membership.learning_set_id = ?")
        params.append(set_id)
    rows = await db.fetchall(
        f"SELECT person.*, membership.programme_id AS member_of, membership.learning_set_id AS set_id,"
        f" {LAST_ANSWER} AS last_answer"
        " FROM membership JOIN person ON person.id = membership.person_id"
        f" WHERE {' AND '.join(where)} ORDER BY membership.id",
        params,
    )
    return [Member(person_of(r), r["member_of"], r["set_id"], decode(r["last_answer"] or None)) for r in rows]


async def last_answer(db: Database, person_id: int) -> datetime | None:
    """Gives when a person last answered anything, or None."""
    value = await db.scalar(f"SELECT {LAST_ANSWER} FROM person WHERE person.id = ?", (person_id,))
    return decode(value or None)


async def mark_asked(conn: aiosqlite.Connection, person_ids: Sequence[int], now: datetime) -> None:
    """Records, inside the caller's transaction, that these people's check-in is planned."""
    await conn.executemany(
        "UPDATE person SET quiet_asked_at = ? WHERE id = ?", [(encode(now), person_id) for person_id in person_ids]
    )
