"""The learning-question planning works a few hundred participants at a time (one read of them, one
commit): on a seeded population (zones, hours, pauses, people not active, some with a question) the rows it
writes are exactly those the person-by-person planning wrote (their ids aside), also when hours change
between two runs (rows at the old hour go, rows at the new one come)."""

from __future__ import annotations

import random
import shutil
from datetime import timedelta
from pathlib import Path

from bot.jobs import learning_question as questions
from bot.store import learning_question, people, programmes
from bot.store.db import Database, open_database
from tests.jobs.test_planner_rows import FIRST, rows, seed


async def plan_person_by_person(db: Database, now: object) -> int:
    """The planning as it was: each participant read, planned and committed alone."""
    wanted = 0
    for stored in await programmes.list_programmes(db):
        ids = await learning_question.participants(db, stored.id)
        having = await learning_question.with_question(db, ids)
        for person_id in ids:
            person = await people.get_person(db, person_id)
            if person is not None:
                wanted += await questions._plan_for(db, stored, person, person_id in having, now)  # type: ignore[arg-type]
    return wanted


async def add_questions_and_move_hours(db: Database, seed_number: int, move: bool) -> None:
    rng = random.Random(seed_number)
    ids = [r[0] for r in await db.fetchall("SELECT id FROM person ORDER BY id")]
    async with db.transaction() as conn:
        if not move:
            for person_id in rng.sample(ids, len(ids) // 3):
                await conn.execute("INSERT INTO learning_question (person_id, text, created_at) VALUES (?, 'q', ?)",
                                   (person_id, FIRST.isoformat()))
        else:
            for person_id in rng.sample(ids, len(ids) // 4):
                await conn.execute("UPDATE person SET nudge_hour = ? WHERE id = ?", (rng.randint(0, 23), person_id))


async def test_the_question_rows_are_those_the_person_by_person_planning_wrote(tmp_path: Path) -> None:
    seeded = tmp_path / "seeded.db"
    db = await open_database(seeded)
    await seed(db)
    await add_questions_and_move_hours(db, 1, move=False)
    await db.close()
    shutil.copy(seeded, tmp_path / "reference.db")
    commits = {}
    for name, plan in (("seeded.db", questions.plan_questions), ("reference.db", plan_person_by_person)):
        db = await open_database(tmp_path / name)
        first = await plan(db, FIRST)
        await add_questions_and_move_hours(db, 2, move=True)
        before = db.commits
        second = await plan(db, FIRST + timedelta(days=2))
        commits[name] = db.commits - before
        await db.close()
        assert first > 40 and second > 40
    def by_key(path: Path) -> list[tuple[object, ...]]:  # a row's id is not kept: SQLite reuses a deleted top id
        return sorted((r[1:] for r in rows(path)), key=lambda r: str(r[5]))

    planned = by_key(seeded)
    assert {r[0] for r in planned} == {"question"}
    assert planned == by_key(tmp_path / "reference.db")
    assert commits["seeded.db"] <= 4 < commits["reference.db"]  # 600 people: 2 programmes, 1 or 2 chunks each
