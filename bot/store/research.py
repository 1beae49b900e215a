"""Research consent, and what the trend study and the cohort view read: counts, moments and pulse scores.

Consent lives in person.research_consent_at (NULL: not given, the default); it goes with the person on
/forget. No query here selects the text of a reflection, a takeaway, a line for the facilitator, a
case, a learning question or an answer while going deeper: only who, when, which module and how many.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.research import Member, ModuleAnswer, StudyData
from bot.store.codec import decode, encode
from bot.store.db import Database

# The programme's participants who consented: the only people an export or the research chart reads.
CONSENTING = (
    "SELECT membership.person_id FROM membership JOIN person ON person.id = membership.person_id"
    " WHERE membership.programme_id = ? AND membership.role = 'participant'"
    " AND person.research_consent_at IS NOT NULL"
)


async def consent_of(db: Database, person_id: int) -> datetime | None:
    """Gives since when a person consents to the trend study, or None (not given, or withdrawn)."""
    return decode(await db.scalar("SELECT research_consent_at FROM person WHERE id = ?", (person_id,)))


async def give_consent(db: Database, person_id: int, now: datetime) -> bool:
    """Records a person's consent from now; gives False (and changes nothing) when it was given already."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE person SET research_consent_at = ?, updated_at = ? WHERE id = ? AND research_consent_at IS NULL",
            (encode(now), encode(now), person_id),
        )
        return (cur.rowcount or 0) > 0


async def withdraw_consent(db: Database, person_id: int, now: datetime) -> bool:
    """Withdraws a person's consent; gives False (and changes nothing) when there was none."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE person SET research_consent_at = NULL, updated_at = ? WHERE id = ? AND research_consent_at IS NOT NULL",
            (encode(now), person_id),
        )
        return (cur.rowcount or 0) > 0


async def study_data(db: Database, programme_id: int) -> StudyData:
    """Gives what an export of a programme may hold about its consenting participants: who (with set and
    joining moment), counts per module, the moments of cases and learning-question versions, pulse scores,
    and the prompts this programme sent them."""
    members = tuple(
        Member(r[0], r[1], decode(r[2]))
        for r in await db.fetchall(
            "SELECT membership.person_id, coalesce(learning_set.key, ''), membership.joined_at FROM membership"
            " JOIN person ON person.id = membership.person_id"
            " LEFT JOIN learning_set ON learning_set.id = membership.learning_set_id"
            " WHERE membership.programme_id = ? AND membership.role = 'participant'"
            " AND person.research_consent_at IS NOT NULL ORDER BY membership.person_id",
            (programme_id,),
        )
    )
    counts: dict[tuple[int, str], dict[str, int]] = {}

    def add(rows: Sequence[Sequence[object]], columns: Sequence[str]) -> None:
        for row in rows:
            into = counts.setdefault((int(str(row[0])), str(row[1])), {})
            for name, value in zip(columns, row[2:]):
                into[name] = int(str(value or 0))

    add(await db.fetchall(
        "SELECT reflection.person_id, reflection.module_key, count(*), sum(reflection.visibility = 'shared'),"
        " sum(reflection.visibility = 'takeaway'), sum(reflection.for_facilitators_at IS NOT NULL),"
        " sum(reflection.is_intention != 0), sum(reflection.follows_up_id IS NOT NULL),"
        " sum(EXISTS (SELECT 1 FROM deepening WHERE deepening.reflection_id = reflection.id"
        "   AND deepening.answer IS NOT NULL))"
        f" FROM reflection WHERE reflection.programme_id = ? AND reflection.person_id IN ({CONSENTING})"
        " GROUP BY reflection.person_id, reflection.module_key",
        (programme_id, programme_id),
    ), ("reflections", "shared_with_set", "takeaways", "for_facilitators", "intentions", "follow_ups", "went_deeper"))
    add(await db.fetchall(
        "SELECT reflection.person_id, reflection.module_key, count(*) FROM deepening"
        " JOIN reflection ON reflection.id = deepening.reflection_id"
        f" WHERE deepening.answer IS NOT NULL AND reflection.programme_id = ? AND reflection.person_id IN ({CONSENTING})"
        " GROUP BY reflection.person_id, reflection.module_key",
        (programme_id, programme_id),
    ), ("deepening_answers",))
    prompts = tuple(
        (r[0], r[1], decode(r[2]), r[3] == "answered")
        for r in await db.fetchall(
            "SELECT outbox.person_id, outbox.module_key, outbox.sent_at, outbox.response FROM outbox"
            " WHERE outbox.kind = 'prompt' AND outbox.status = 'sent' AND outbox.module_key IS NOT NULL"
            " AND outbox.sent_at IS NOT NULL AND outbox.dedupe_key NOT LIKE 'later:%'"  # a re-ask after *Later* is the same question
            f" AND outbox.person_id IN ({CONSENTING})"
            # A prompt names its module, not its programme: it was this programme's when this was the one the
            # person joined last by then (the planner's rule for someone in two programmes).
            " AND (SELECT membership.programme_id FROM membership WHERE membership.person_id = outbox.person_id"
            "      AND membership.role = 'participant' AND membership.joined_at <= outbox.sent_at"
            "      ORDER BY membership.id DESC LIMIT 1) = ?",
            (programme_id, programme_id),
        )
    )
    cases = tuple(
        (r[0], decode(r[1]))
        for r in await db.fetchall(
            "SELECT case_proposal.person_id, case_proposal.created_at FROM case_proposal"
            " JOIN learning_set ON learning_set.id = case_proposal.learning_set_id"
            f" WHERE learning_set.programme_id = ? AND case_proposal.person_id IN ({CONSENTING})",
            (programme_id, programme_id),
        )
    )
    questions = tuple(
        (r[0], decode(r[1]))
        for r in await db.fetchall(
            "SELECT learning_question.person_id, learning_question.created_at FROM learning_question"
            f" WHERE learning_question.programme_id = ? AND learning_question.person_id IN ({CONSENTING})",
            (programme_id, programme_id),
        )
    )
    return StudyData(members, counts, cases, questions, tuple(await pulse_answers(db, programme_id, consenting=True)),
                     prompts)


async def pulse_answers(db: Database, programme_id: int, consenting: bool = False) -> list[ModuleAnswer]:
    """Gives the pulse answers given in a programme (of its consenting participants only, when asked), each
    with the set it was given in; the caller decides which averages may be shown."""
    only = f" AND pulse_answer.person_id IN ({CONSENTING})" if consenting else ""
    rows = await db.fetchall(
        "SELECT person_id, learning_set_id, module_key, moment, capacity, score FROM pulse_answer"
        f" WHERE programme_id = ?{only} ORDER BY id",
        (programme_id, programme_id) if consenting else (programme_id,),
    )
    return [ModuleAnswer(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]
