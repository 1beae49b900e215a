"""What a person's story reads beside their journal and pulse: their learning question's versions, the
going-deeper steps they answered, the cases they brought, and the prompts their reflections answer.
Read only; other modules write these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.store.codec import decode
from bot.store.db import Database


@dataclass(frozen=True)
class QuestionVersion:
    """One version of a person's learning question."""

    text: str
    written_at: datetime


@dataclass(frozen=True)
class DeeperStep:
    """One answered step of going deeper into a reflection."""

    reflection_id: int
    step: int
    phase: str  # looking_back | essential | alternatives | trial
    answer: str


@dataclass(frozen=True)
class Answered:
    """A prompt (or a module's end question) a reflection answers: its kind, when it was sent and in which
    module, so that its words can be read again as they were."""

    kind: str  # prompt | follow_up | question
    sent_at: datetime
    module_key: str


@dataclass(frozen=True)
class BroughtCase:
    """A case a person proposed for a set's meeting."""

    text: str
    written_at: datetime
    set_name: str
    meeting: datetime | None
    place: str


async def question_versions(db: Database, person_id: int) -> list[QuestionVersion]:
    """Gives every version of a person's learning question, oldest first (empty when they wrote none)."""
    rows = await db.fetchall(
        "SELECT text, created_at FROM learning_question WHERE person_id = ? AND trim(text) != ''"
        " ORDER BY created_at, id",
        (person_id,),
    )
    return [QuestionVersion(r[0], datetime.fromisoformat(r[1])) for r in rows]


async def deeper_steps(db: Database, person_id: int) -> dict[int, list[DeeperStep]]:
    """Gives a person's answered going-deeper steps per reflection, in step order."""
    rows = await db.fetchall(
        "SELECT reflection_id, step, phase, answer FROM deepening WHERE person_id = ? AND answer IS NOT NULL"
        " AND trim(answer) != '' ORDER BY reflection_id, step",
        (person_id,),
    )
    found: dict[int, list[DeeperStep]] = {}
    for r in rows:
        found.setdefault(r[0], []).append(DeeperStep(r[0], r[1], r[2], r[3]))
    return found


async def brought_cases(db: Database, person_id: int) -> list[BroughtCase]:
    """Gives the cases a person proposed for their set's meetings, oldest first."""
    rows = await db.fetchall(
        "SELECT case_proposal.text, case_proposal.created_at, learning_set.name, digest.meeting_starts,"
        " digest.meeting_place FROM case_proposal JOIN learning_set ON learning_set.id = case_proposal.learning_set_id"
        " JOIN digest ON digest.id = case_proposal.digest_id WHERE case_proposal.person_id = ?"
        " ORDER BY case_proposal.created_at, case_proposal.id",
        (person_id,),
    )
    return [
        BroughtCase(r[0], datetime.fromisoformat(r[1]), r[2], datetime.fromisoformat(r[3]) if r[3] else None, r[4] or "")
        for r in rows
    ]


async def prompts_answered(db: Database, person_id: int) -> dict[int, Answered]:
    """Gives, per outbox row, the prompts and questions a person's reflections answer (one query for a
    whole story, however many reflections it holds)."""
    rows = await db.fetchall(
        "SELECT DISTINCT outbox.id, outbox.kind, COALESCE(outbox.sent_at, outbox.due_at),"
        " COALESCE(outbox.module_key, json_extract(outbox.payload, '$.module_key'), '')"
        " FROM reflection JOIN outbox ON outbox.id = reflection.outbox_id WHERE reflection.person_id = ?",
        (person_id,),
    )
    return {r[0]: Answered(r[1], decode(r[2]), r[3]) for r in rows}
