"""The learning question on time: asked again at the programme's intake, and at each module's end.

The outbox holds one row of kind 'question' per moment (payload `moment`: "intake" or "module_end"),
at the participant's hour. The intake row offers to write or rewrite the question (buttons); the
module-end row asks what the module did for it, and the answer is a reflection linked to that row,
like the answer to a prompt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.buttons import PromptButton, QuestionButton
from bot.domain.learning_question import INTAKE, MODULE_END, QUESTION_LIMIT, question_moments
from bot.jobs.planner import nudge_settings
from bot.render import Renderer
from bot.store import learning_question, people, programmes
from bot.store.db import Database
from bot.store.outbox import OutboxRow, Planned

log = logging.getLogger(__name__)

HORIZON = timedelta(days=7)
CHUNK = 500  # participants planned together: one read of them and one commit
STALE_AFTER = timedelta(days=1)


def takes_reflection(row: OutboxRow) -> bool:
    """Gives whether a typed answer to this row is a reflection: the question at a module's end is one."""
    return row.kind == "question" and row.payload.get("moment") == MODULE_END


async def plan_questions(db: Database, now: datetime) -> int:
    """Plans, for every active participant, the intake and module-end questions of the next week at their
    hour (a change of hour or days moves the pending ones); gives how many rows are wanted."""
    wanted = 0
    for stored in await programmes.list_programmes(db):
        try:
            ids = await learning_question.participants(db, stored.id)
            for start in range(0, len(ids), CHUNK):  # a few hundred people to a read and to a commit
                chunk = ids[start : start + CHUNK]
                having = await learning_question.with_question(db, chunk)
                found = await people.get_people(db, chunk)
                items = {person.id: _wanted(stored, person, person.id in having, now)
                         for person in found.values() if person.status == "active"}
                await learning_question.replan_many(db, stored.id, items, now)
                wanted += sum(len(rows) for rows in items.values())
        except Exception:  # one programme's calendar never stops the others' questions
            log.exception("learning questions not planned programme=%d", stored.id)
    return wanted


async def plan_person_questions(db: Database, person_id: int, now: datetime) -> int:
    """Plans one participant's questions at once (after onboarding, or a question written), as the hourly
    planner would; gives how many rows are wanted."""
    person = await people.get_person(db, person_id)
    if person is None:
        return 0
    has_question = await learning_question.current(db, person_id) is not None
    wanted = 0
    for membership in await people.memberships(db, person_id):
        stored = await programmes.get_programme_by_id(db, membership.programme_id)
        if stored is not None and membership.role == "participant":
            wanted += await _plan_for(db, stored, person, has_question, now)
    return wanted


async def _plan_for(
    db: Database, stored: programmes.StoredProgramme, person: people.Person, has_question: bool, now: datetime
) -> int:
    if person.status != "active":
        return 0
    items = _wanted(stored, person, has_question, now)
    await learning_question.replan(db, person.id, stored.id, items, now)
    return len(items)


def _wanted(stored: programmes.StoredProgramme, person: people.Person, has_question: bool, now: datetime) -> list[Planned]:
    """Gives the question rows a participant should have planned for the next week (none unless active)."""
    if person.status != "active":
        return []
    moments = question_moments(stored.programme, nudge_settings(person, stored.programme), now, HORIZON,
                               intake=True, module_end=has_question)
    return [
        Planned("question", person.chat_id, m.due,
                f"question:{'end' if m.moment == MODULE_END else 'intake:' + m.day.isoformat()}"
                f":{person.id}:{stored.id}:{m.module_key}",
                person_id=person.id,
                payload={"moment": m.moment, "programme_id": stored.id, "module_key": m.module_key})
        for m in moments
    ]


@dataclass(frozen=True)
class QuestionMessage:
    """A learning-question message ready to send, or the reason it must not be sent."""

    text: str = ""
    keyboard: InlineKeyboardMarkup | None = None
    cancel_reason: str | None = None
    module_key: str | None = None


async def compose_question(db: Database, render: Renderer, row: OutboxRow, now: datetime) -> QuestionMessage:
    """Gives the intake or module-end message of a 'question' row, in the person's language as it is now."""
    person = await people.get_person(db, row.person_id) if row.person_id is not None else None
    if person is None or person.status != "active":
        return QuestionMessage(cancel_reason="person not active")
    if person.paused_until is not None and person.paused_until > now:
        return QuestionMessage(cancel_reason="paused")
    if now - row.due_at > STALE_AFTER:
        return QuestionMessage(cancel_reason="too late")
    stored = await programmes.get_programme_by_id(db, int(row.payload.get("programme_id", 0)))
    module = stored.programme.module(str(row.payload.get("module_key", ""))) if stored else None
    if stored is None or module is None:
        return QuestionMessage(cancel_reason="module no longer in the programme")
    current = await learning_question.current(db, person.id)
    lang = person.language
    if row.payload.get("moment") == INTAKE:
        event = next((e for e in module.events if e.kind == "intake"), None)
        version = current.id if current else 0
        text = render.message(lang, "question_intake", name=person.name, question=current.text if current else "",
                              event_title=event.title if event else "", limit=QUESTION_LIMIT)
        keyboard = InlineKeyboardMarkup([[
            InlineKeyboardButton(render.button(lang, "question_rewrite" if current else "question_write"),
                                 callback_data=QuestionButton("rw", version).data),
            InlineKeyboardButton(render.button(lang, "question_keep" if current else "question_not_now"),
                                 callback_data=QuestionButton("ok", version).data),
        ]])
        return QuestionMessage(text, keyboard, module_key=module.key)
    if current is None:
        return QuestionMessage(cancel_reason="no learning question")
    text = render.message(lang, "question_module_end", name=person.name, question=current.text,
                          module_title=module.title)
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(render.button(lang, "skip"), callback_data=PromptButton("skip", row.id).data)]]
    )
    return QuestionMessage(text, keyboard, module_key=module.key)
