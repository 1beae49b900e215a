"""Pulse answers: a person's 1–5 (or skipped) per capacity, module and moment (start or end).

One row per person, programme, module, moment and capacity (the table's UNIQUE): an answer given
again replaces the score, which the caller allows only while the module runs (bot.domain.pulse).
A set's averages come with their counts; whether a count is large enough to show is the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.pulse import CAPACITIES
from bot.store.db import Database
from bot.store.outbox import ts


@dataclass(frozen=True)
class PulseAnswer:
    """One answer of one person."""

    programme_id: int
    learning_set_id: int | None
    module_key: str
    moment: str
    capacity: str
    score: int | None  # None: skipped
    answered_at: datetime


@dataclass(frozen=True)
class CapacityAverage:
    """A set's pulse for one capacity at one module's moment: the average of the scores given (None when
    none was), how many scores, how many skipped, and how many people answered anything at that moment."""

    capacity: str
    average: float | None
    answers: int
    skipped: int
    people: int


async def record(
    db: Database, person_id: int, programme_id: int, learning_set_id: int | None, module_key: str, moment: str,
    capacity: str, score: int | None, now: datetime,
) -> str:
    """Stores an answer; gives 'new', 'changed' (another score than before) or 'same' (nothing changed)."""
    async with db.transaction() as conn:
        before = next(iter(await conn.execute_fetchall(
            "SELECT score FROM pulse_answer WHERE person_id = ? AND programme_id = ? AND module_key = ? AND moment = ?"
            " AND capacity = ?",
            (person_id, programme_id, module_key, moment, capacity),
        )), None)
        if before is not None and before[0] == score:
            return "same"
        await conn.execute(
            "INSERT INTO pulse_answer (person_id, programme_id, learning_set_id, module_key, moment, capacity, score,"
            " answered_at) VALUES (?,?,?,?,?,?,?,?)"
            " ON CONFLICT (person_id, programme_id, module_key, moment, capacity)"
            " DO UPDATE SET score = excluded.score, answered_at = excluded.answered_at",
            (person_id, programme_id, learning_set_id, module_key, moment, capacity, score, ts(now)),
        )
    return "new" if before is None else "changed"


async def answers_of(db: Database, person_id: int, programme_id: int | None = None) -> list[PulseAnswer]:
    """Gives a person's answers (in one programme, or all), oldest first."""
    rows = await db.fetchall(
        "SELECT programme_id, learning_set_id, module_key, moment, capacity, score, answered_at FROM pulse_answer"
        " WHERE person_id = ? AND (? IS NULL OR programme_id = ?) ORDER BY answered_at, id",
        (person_id, programme_id, programme_id),
    )
    return [PulseAnswer(r[0], r[1], r[2], r[3], r[4], r[5], datetime.fromisoformat(r[6])) for r in rows]


async def answered(db: Database, person_id: int, programme_id: int, module_key: str, moment: str) -> dict[str, int | None]:
    """Gives the capacities a person answered (or skipped) at one module's moment, with the score."""
    rows = await db.fetchall(
        "SELECT capacity, score FROM pulse_answer WHERE person_id = ? AND programme_id = ? AND module_key = ?"
        " AND moment = ?",
        (person_id, programme_id, module_key, moment),
    )
    return {r[0]: r[1] for r in rows}


async def set_averages(db: Database, learning_set_id: int, module_key: str, moment: str) -> dict[str, CapacityAverage]:
    """Gives a learning set's pulse at a module's moment, per capacity, with the number of answers.

    Every capacity is in the result, with zero counts when nobody answered it. The set is the one a
    person was in when they answered.
    """
    rows = await db.fetchall(
        "SELECT capacity, avg(score), count(score), sum(score IS NULL) FROM pulse_answer"
        " WHERE learning_set_id = ? AND module_key = ? AND moment = ? GROUP BY capacity",
        (learning_set_id, module_key, moment),
    )
    people = await db.scalar(
        "SELECT count(DISTINCT person_id) FROM pulse_answer WHERE learning_set_id = ? AND module_key = ? AND moment = ?",
        (learning_set_id, module_key, moment),
    )
    found = {r[0]: CapacityAverage(r[0], r[1], r[2], r[3], int(people or 0)) for r in rows}
    return {c: found.get(c, CapacityAverage(c, None, 0, 0, int(people or 0))) for c in CAPACITIES}


async def active_participations(db: Database) -> dict[int, int]:
    """Gives each active participant's programme, the one joined last winning (as the daily planner does)."""
    rows = await db.fetchall(
        "SELECT membership.person_id, membership.programme_id FROM membership"
        " JOIN person ON person.id = membership.person_id WHERE membership.role = 'participant'"
        " AND person.status = 'active' ORDER BY membership.id"
    )
    return {r[0]: r[1] for r in rows}


async def journey_rows(db: Database) -> list[tuple[str, datetime, str, int]]:
    """Gives (dedupe key, due, status, id) of every pulse and story row."""
    rows = await db.fetchall("SELECT dedupe_key, due_at, status, id FROM outbox WHERE kind IN ('pulse', 'story')")
    return [(r[0], datetime.fromisoformat(r[1]), r[2], r[3]) for r in rows]


async def answer_count(db: Database) -> int:
    """Gives how many pulse answers (skips included) are stored, for everyone."""
    return int(await db.scalar("SELECT count(*) FROM pulse_answer") or 0)


async def is_planned(db: Database, dedupe_key: str) -> bool:
    """Gives whether a pulse or story row with that key exists, whatever became of it."""
    return await db.scalar("SELECT 1 FROM outbox WHERE dedupe_key = ?", (dedupe_key,)) is not None


async def move_pending(db: Database, moved: list[tuple[str, int]]) -> None:
    """Moves pending rows to new due times, given as (encoded due, row id)."""
    async with db.transaction() as conn:
        await conn.executemany("UPDATE outbox SET due_at = ? WHERE id = ? AND status = 'pending'", moved)
