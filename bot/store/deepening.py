"""Going deeper: the steps of a thread after a reflection (table `deepening`, migration 0009).

One row per step asked; `answer` is NULL while its question is open. The answers are private to their
author, like the reflection, and never reach a log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.store.db import Database
from bot.store.outbox import ts


@dataclass(frozen=True)
class Step:
    """One step of a thread: which question (its number and ALACT phase), and the answer once given."""

    id: int
    reflection_id: int
    person_id: int
    step: int
    phase: str
    answer: str | None
    chat_id: int | None
    message_id: int | None
    asked_at: datetime
    answered_at: datetime | None

    @property
    def is_open(self) -> bool:
        """Gives whether its question still waits for an answer."""
        return self.answer is None


def _step(r: aiosqlite.Row) -> Step:
    return Step(
        r["id"], r["reflection_id"], r["person_id"], r["step"], r["phase"], r["answer"], r["chat_id"], r["message_id"],
        datetime.fromisoformat(r["asked_at"]),
        datetime.fromisoformat(r["answered_at"]) if r["answered_at"] else None,
    )


async def get(db: Database, step_id: int) -> Step | None:
    """Gives one step."""
    row = await db.fetchone("SELECT * FROM deepening WHERE id = ?", (step_id,))
    return None if row is None else _step(row)


async def thread(db: Database, reflection_id: int) -> list[Step]:
    """Gives a reflection's steps in order."""
    rows = await db.fetchall("SELECT * FROM deepening WHERE reflection_id = ? ORDER BY step", (reflection_id,))
    return [_step(r) for r in rows]


async def for_person(db: Database, person_id: int) -> dict[int, list[Step]]:
    """Gives every thread of a person, per reflection id, each in order."""
    rows = await db.fetchall(
        "SELECT * FROM deepening WHERE person_id = ? ORDER BY reflection_id, step", (person_id,)
    )
    found: dict[int, list[Step]] = {}
    for r in rows:
        found.setdefault(r["reflection_id"], []).append(_step(r))
    return found


async def answered_counts(db: Database, reflection_ids: list[int]) -> dict[int, int]:
    """Gives how many answered steps each of these reflections has (those without any are left out)."""
    if not reflection_ids:
        return {}
    marks = ",".join("?" for _ in reflection_ids)
    rows = await db.fetchall(
        f"SELECT reflection_id, count(*) FROM deepening WHERE answer IS NOT NULL AND reflection_id IN ({marks})"
        " GROUP BY reflection_id",
        reflection_ids,
    )
    return {r[0]: r[1] for r in rows}


async def ask(db: Database, reflection_id: int, person_id: int, step: int, phase: str, now: datetime) -> Step | None:
    """Opens a step of a person's own reflection; gives it, or None when the reflection is not theirs or that
    step exists already (a second press, a forged one)."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO deepening (reflection_id, person_id, step, phase, asked_at)"
            " SELECT id, person_id, ?, ?, ? FROM reflection WHERE id = ? AND person_id = ?"
            " ON CONFLICT (reflection_id, step) DO NOTHING",
            (step, phase, ts(now), reflection_id, person_id),
        )
        if cur.rowcount != 1:
            return None
        step_id = int(cur.lastrowid or 0)
    return await get(db, step_id)


async def answer(
    db: Database, step_id: int, person_id: int, text: str, chat_id: int, message_id: int, now: datetime,
    then: tuple[int, str] | None,
) -> Step | None:
    """Keeps the answer to an open step and, in the same transaction, opens the next one (`then`: its number
    and phase), so that the step a person is at is never lost between the two. Gives the next step (or the
    answered one when there is no next), or None when the step was not open or not theirs."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE deepening SET answer = ?, chat_id = ?, message_id = ?, answered_at = ?"
            " WHERE id = ? AND person_id = ? AND answer IS NULL",
            (text, chat_id, message_id, ts(now), step_id, person_id),
        )
        if cur.rowcount != 1:
            return None
        next_id = step_id
        if then is not None:
            cur = await conn.execute(
                "INSERT INTO deepening (reflection_id, person_id, step, phase, asked_at)"
                " SELECT reflection_id, person_id, ?, ?, ? FROM deepening WHERE id = ?"
                " ON CONFLICT (reflection_id, step) DO NOTHING",
                (then[0], then[1], ts(now), step_id),
            )
            if cur.rowcount == 1:
                next_id = int(cur.lastrowid or 0)
    return await get(db, next_id)


async def continue_answer(db: Database, step_id: int, person_id: int, text: str, now: datetime) -> bool:
    """Adds the rest of an answer Telegram split into two messages to that answer; gives False when it is not theirs
    or not answered."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE deepening SET answer = answer || char(10) || ?, answered_at = ?"
            " WHERE id = ? AND person_id = ? AND answer IS NOT NULL",
            (text, ts(now), step_id, person_id),
        )
        return cur.rowcount == 1


async def stop(db: Database, step_id: int, person_id: int) -> bool:
    """Ends a thread at an open step (*Stop here*): the unanswered question goes, the answers stay.
    Gives False when the step was answered already or is not theirs."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "DELETE FROM deepening WHERE id = ? AND person_id = ? AND answer IS NULL", (step_id, person_id)
        )
        return cur.rowcount == 1


async def edit_answer(db: Database, chat_id: int, message_id: int, text: str, now: datetime) -> int | None:
    """Replaces an answer whose message was edited; gives its reflection id, or None if it is no answer."""
    async with db.transaction() as conn:
        row = next(iter(await conn.execute_fetchall(
            "UPDATE deepening SET answer = ?, answered_at = ? WHERE chat_id = ? AND message_id = ? AND answer IS NOT NULL"
            " RETURNING reflection_id",
            (text, ts(now), chat_id, message_id),
        )), None)
    if row is None:
        return None
    await db.scrub()  # the words edited away leave the disk too
    return int(row[0])
