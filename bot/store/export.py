"""Everything the database holds about one person, for /export: each table's rows that are about them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.store.db import Database


@dataclass(frozen=True)
class Holdings:
    """The rows about one person beyond their journal (which bot.store.journal gives), as plain values."""

    person: dict[str, Any]
    invites: list[dict[str, Any]] = field(default_factory=list)
    memberships: list[dict[str, Any]] = field(default_factory=list)
    shares: dict[int, dict[str, Any]] = field(default_factory=dict)  # per reflection id: set and digest
    cases: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    broadcasts: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    pulse: list[dict[str, Any]] = field(default_factory=list)  # pulse answers, per module and moment
    questions: list[dict[str, Any]] = field(default_factory=list)  # every version of the learning question, oldest first


async def holdings(db: Database, person_id: int) -> Holdings | None:
    """Gives the rows about a person: their record, invites (with the e-mail of an import), roles,
    what they shared where and which digest carried it, cases, messages planned and sent, broadcasts
    they wrote, their recorded actions and their pulse answers. None when the person is not known."""
    person = await db.fetchone("SELECT * FROM person WHERE id = ?", (person_id,))
    if person is None:
        return None
    rows = await db.fetchall(
        "SELECT invite.role, invite.name, invite.language, invite.import_ref, invite.created_at, invite.expires_at,"
        " invite.created_by, programme.key AS programme_key, programme.title AS programme_title,"
        " learning_set.name AS set_name FROM invite JOIN programme ON programme.id = invite.programme_id"
        " LEFT JOIN learning_set ON learning_set.id = invite.learning_set_id WHERE invite.used_by = ? ORDER BY invite.id",
        (person_id,),
    )
    invites = []
    for r in rows:
        item = dict(r)
        ref = item.pop("import_ref") or ""
        # An import's reference is "<programme>:<e-mail>" when the file gave an address.
        _, _, rest = ref.partition(":")
        item["email"] = rest if "@" in rest and ":" not in rest else None
        item["imported"] = bool(ref)
        invites.append(item)
    memberships = [dict(r) for r in await db.fetchall(
        "SELECT membership.role, membership.joined_at, programme.id AS programme_id, programme.key AS programme_key,"
        " programme.title AS programme_title, learning_set.id AS set_id, learning_set.name AS set_name"
        " FROM membership JOIN programme ON programme.id = membership.programme_id"
        " LEFT JOIN learning_set ON learning_set.id = membership.learning_set_id WHERE membership.person_id = ?"
        " ORDER BY membership.id",
        (person_id,),
    )]
    shares = {r["id"]: dict(r) for r in await db.fetchall(
        "SELECT reflection.id, reflection.shared_at, learning_set.name AS set_name, digest.id AS digest_id,"
        " digest.sent_at AS digest_sent_at, digest.meeting_starts AS digest_meeting, digest.meeting_place AS"
        " digest_place, digest.status AS digest_status FROM reflection"
        " LEFT JOIN learning_set ON learning_set.id = reflection.shared_set_id"
        " LEFT JOIN digest ON digest.id = reflection.digest_id"
        " WHERE reflection.person_id = ? AND (reflection.shared_set_id IS NOT NULL OR reflection.digest_id IS NOT NULL"
        " OR reflection.shared_at IS NOT NULL)",
        (person_id,),
    )}
    cases = [dict(r) for r in await db.fetchall(
        "SELECT case_proposal.created_at, case_proposal.text, learning_set.name AS set_name, digest.id AS digest_id,"
        " digest.meeting_starts AS meeting, digest.meeting_place AS place, digest.sent_at AS digest_sent_at"
        " FROM case_proposal JOIN learning_set ON learning_set.id = case_proposal.learning_set_id"
        " JOIN digest ON digest.id = case_proposal.digest_id WHERE case_proposal.person_id = ?"
        " ORDER BY case_proposal.created_at",
        (person_id,),
    )]
    messages = [dict(r) for r in await db.fetchall(
        "SELECT kind, due_at, status, sent_at, prompt_key, module_key, response, telegram_message_id, digest_id,"
        " broadcast_id FROM outbox WHERE person_id = ? ORDER BY due_at, id",
        (person_id,),
    )]
    broadcasts = [dict(r) for r in await db.fetchall(
        "SELECT broadcast.audience, broadcast.text, broadcast.status, broadcast.created_at, broadcast.scheduled_at,"
        " broadcast.finished_at, programme.title AS programme_title, learning_set.name AS set_name FROM broadcast"
        " JOIN programme ON programme.id = broadcast.programme_id"
        " LEFT JOIN learning_set ON learning_set.id = broadcast.learning_set_id"
        " WHERE broadcast.created_by = ? ORDER BY broadcast.id",
        (person_id,),
    )]
    actions = [dict(r) for r in await db.fetchall(
        "SELECT at, action, detail FROM audit_log WHERE actor = ? ORDER BY id", (str(person["telegram_id"]),)
    )]
    pulse = [dict(r) for r in await db.fetchall(
        "SELECT pulse_answer.module_key, pulse_answer.moment, pulse_answer.capacity, pulse_answer.score,"
        " pulse_answer.answered_at, programme.title AS programme_title, learning_set.name AS set_name"
        " FROM pulse_answer JOIN programme ON programme.id = pulse_answer.programme_id"
        " LEFT JOIN learning_set ON learning_set.id = pulse_answer.learning_set_id WHERE pulse_answer.person_id = ?"
        " ORDER BY pulse_answer.answered_at, pulse_answer.id",
        (person_id,),
    )]
    questions = [dict(r) for r in await db.fetchall(
        "SELECT learning_question.id, learning_question.text, learning_question.created_at, learning_question.message_id,"
        " programme.title AS programme_title FROM learning_question"
        " LEFT JOIN programme ON programme.id = learning_question.programme_id"
        " WHERE learning_question.person_id = ? ORDER BY learning_question.created_at, learning_question.id",
        (person_id,),
    )]
    return Holdings(dict(person), invites, memberships, shares, cases, messages, broadcasts, actions, pulse, questions)
