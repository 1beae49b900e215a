"""Replies become reflections; prompt buttons (*later*, *skip*); intentions get a follow-up.

Journal text is stored and shown back to its author only; it is never logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.buttons import DeeperButton, FacilitatorButton, PromptButton, ShareButton
from bot.domain import plans
from bot.domain.nudges import later_time
from bot.jobs.compose import Where, where_is, where_is_id
from bot.jobs.learning_question import takes_reflection
from bot.jobs.planner import nudge_settings, plan_follow_up
from bot.render import Renderer
from bot.store import deepening, journal, outbox
from bot.store.journal import NewReflection
from bot.store.outbox import OutboxRow
from bot.store.people import Person
from bot.tg.common import answer_button, remove_buttons, reply, stale_button
from bot.tg.context import PitstopContext

log = logging.getLogger(__name__)

T = TypeVar("T")
MERGE_WINDOW = timedelta(minutes=10)
OPEN_PROMPT_WINDOW = timedelta(days=3)
MAX_TEXT = 4096


def share_keyboard(render: Renderer, language: str, reflection_id: int, visibility: str) -> InlineKeyboardMarkup:
    """Gives the share choices for a reflection, one a row, the current one ticked (the last shares it
    with the set's facilitators only, bot.tg.for_facilitators), and *Go deeper*."""
    def label(name: str, value: str) -> str:
        return ("✓ " if visibility == value else "") + render.button(language, name)

    return InlineKeyboardMarkup([
        [InlineKeyboardButton(label("keep_private", "private"), callback_data=ShareButton(reflection_id, "private").data)],
        [InlineKeyboardButton(label("share_set", "shared"), callback_data=ShareButton(reflection_id, "shared").data)],
        [InlineKeyboardButton(label("share_takeaway", "takeaway"),
                              callback_data=ShareButton(reflection_id, "takeaway").data)],
        [InlineKeyboardButton(render.button(language, "for_facilitator"),
                              callback_data=FacilitatorButton(reflection_id, "ask").data)],
        deeper_row(render, language, reflection_id),
    ])


def deeper_row(render: Renderer, language: str, reflection_id: int) -> list[InlineKeyboardButton]:
    """Gives the *Go deeper* button of a reflection (bot.tg.deeper), beside the share choice or on its own."""
    return [InlineKeyboardButton(render.button(language, "go_deeper"), callback_data=DeeperButton(reflection_id).data)]


@dataclass(frozen=True)
class JournalReads:
    """What keeping a message in a person's journal must know first, read together (`journal_reads`)."""

    person_id: int
    prompt: OutboxRow | None  # the prompt it answers
    latest: journal.Latest | None  # the person's latest reflection, which it may add to
    where: Where | None  # where in the programme it is written


async def journal_reads(context: PitstopContext, person_id: int, message: Message) -> JournalReads:
    """Reads what keeping `message` in the journal of `person_id` needs: three reads that do not depend on
    each other, queued together, so that they cost one wait for the database."""
    prompt, latest, where = await asyncio.gather(*_three_reads(context, person_id, message))
    return JournalReads(person_id, prompt, latest, where)


async def journal_reads_beside(
    context: PitstopContext, person_id: int, message: Message, other: Awaitable[T]
) -> tuple[T, JournalReads]:
    """Gives what `other` (another read) gives and `journal_reads`, all four queued at once."""
    first, prompt, latest, where = await asyncio.gather(other, *_three_reads(context, person_id, message))
    return first, JournalReads(person_id, prompt, latest, where)


def _three_reads(
    context: PitstopContext, person_id: int, message: Message
) -> tuple[Awaitable[OutboxRow | None], Awaitable[journal.Latest | None], Awaitable[Where | None]]:
    db = context.db
    return (_prompt_answered(context, person_id, message), journal.latest_brief(db, person_id),
            where_is_id(db, person_id, context.clock.now()))


async def _prompt_answered(context: PitstopContext, person_id: int, message: Message) -> OutboxRow | None:
    """Gives the prompt a message answers: the one replied to, else the latest open one."""
    replied = message.reply_to_message
    if replied is not None:
        row = await outbox.by_message(context.db, message.chat.id, replied.message_id)
        if row is not None and row.person_id == person_id and (row.kind in ("prompt", "follow_up") or takes_reflection(row)):
            return row
    now = context.clock.now()
    row = await outbox.latest_open_prompt(context.db, person_id, now - OPEN_PROMPT_WINDOW)
    if row is not None and row.response in (None, "later"):  # *Later* leaves it open
        return row
    return None


async def keep_message(
    update: Update, context: PitstopContext, person: Person, kind: str, text: str, file_id: str | None,
    read: JournalReads | None = None,
) -> None:
    """Stores a message as (part of) a reflection and confirms it; an update seen before changes nothing.

    `read`: what `journal_reads` gave for this message, when it was read beside the person (bot.tg.handlers).
    """
    message = update.effective_message
    assert message is not None
    db, now = context.db, context.clock.now()
    if read is None or read.person_id != person.id:
        read = await journal_reads(context, person.id, message)
    prompt, latest, where = read.prompt, read.latest, read.where
    append_to = None
    # A shared reflection (with the set or its facilitators) is closed: what comes after it must not be
    # shared without being asked.
    if latest is not None and latest.visibility == "private" and not latest.for_facilitators \
            and now - latest.updated_at <= MERGE_WINDOW:
        # Several messages in a short while are one reflection, unless a reply points elsewhere.
        if prompt is None or prompt.id == latest.outbox_id or message.reply_to_message is None:
            append_to = latest.id
    new = _new_reflection(context, person, prompt, where)
    stored = await journal.add_message(
        db, new, append_to, message.chat.id, message.message_id, kind, text[:MAX_TEXT], file_id, now
    )
    if stored is None:
        return
    reflection_id, created = stored
    log.info("reflection stored person=%d reflection=%d new=%s kind=%s", person.id, reflection_id, created, kind)
    if created and new.is_intention:
        meeting = where.position.next_event if where else None
        next_meeting = meeting.starts if meeting is not None and meeting.kind == "set-meeting" else None
        await plan_follow_up(db, person, reflection_id, now, next_meeting)
    template = {"voice": "kept_voice", "photo": "kept_photo"}.get(kind, "kept_new" if created else "kept_more")
    can_share = created and where is not None and where.set_key is not None
    text = context.render.message(person.language, template, intention=new.is_intention and created, can_share=can_share)
    keyboard = (share_keyboard(context.render, person.language, reflection_id, "private") if can_share
                else InlineKeyboardMarkup([deeper_row(context.render, person.language, reflection_id)]) if created else None)
    await context.bot.send_message(message.chat.id, text, reply_markup=keyboard)


def _new_reflection(context: PitstopContext, person: Person, prompt: OutboxRow | None, where: Where | None) -> NewReflection:
    """Gives what is known of a new reflection: the prompt it answers and where in the programme it was written."""
    spec = next((p for p in context.render.library if prompt and p.key == prompt.prompt_key), None)
    module = where.position.module if where else None
    own = module.focus_question(prompt.prompt_key) if module and prompt and prompt.prompt_key else None
    return NewReflection(
        person_id=person.id,
        outbox_id=prompt.id if prompt else None,
        prompt_key=prompt.prompt_key if prompt else None,
        programme_id=where.programme_id if where else None,
        module_key=(where.position.module.key if where and where.position.module else ""),
        phase=where.position.phase.value if where else "",
        capacity=spec.capacity if spec else own.capacity if own else "",  # a focus question: the capacity its author gave
        is_intention=bool(spec and spec.intention and prompt and prompt.kind == "prompt"),
        follows_up_id=int(prompt.payload["reflection_id"]) if prompt and prompt.kind == "follow_up" else None,
    )


async def keep_privately(context: PitstopContext, person: Person, chat_id: int, message_id: int, text: str) -> int | None:
    """Keeps a typed text the person did not want shared (or that was too long to share) as a new private reflection.

    Gives its id, or None when that message is in the journal already.
    """
    now = context.clock.now()
    where = await where_is(context.db, person, now)
    stored = await journal.add_message(
        context.db, _new_reflection(context, person, None, where), None, chat_id, message_id, "text", text[:MAX_TEXT], None, now
    )
    if stored is None:
        return None
    log.info("reflection stored person=%d reflection=%d new=True kind=text", person.id, stored[0])
    return stored[0]


async def take_text(update: Update, context: PitstopContext, person: Person, read: JournalReads | None = None) -> None:
    """A typed message in the private chat becomes (part of) a reflection (`read`: see keep_message)."""
    message = update.effective_message
    assert message is not None and message.text is not None
    await keep_message(update, context, person, "text", message.text, None, read)


async def take_media(update: Update, context: PitstopContext, person: Person) -> None:
    """A voice note or photo is kept as a reference (its file id and caption), with a clear answer."""
    message = update.effective_message
    assert message is not None
    if message.voice is not None:
        await keep_message(update, context, person, "voice", message.caption or "", message.voice.file_id)
    elif message.photo:
        await keep_message(update, context, person, "photo", message.caption or "", message.photo[-1].file_id)


async def take_edit(update: Update, context: PitstopContext, person: Person) -> None:
    """An edited message updates the journal entry it belongs to."""
    message = update.edited_message
    assert message is not None
    text = message.text or message.caption or ""
    reflection_id = await journal.edit_message(context.db, message.chat.id, message.message_id, text[:MAX_TEXT], context.clock.now())
    if reflection_id is None and text.strip():  # an answer given while going deeper, kept whole like the answer
        reflection_id = await deepening.edit_answer(context.db, message.chat.id, message.message_id, text.strip(), context.clock.now())
    if reflection_id is None:
        await reply(update, context, person.language, "edit_not_kept")
        return
    log.info("reflection edited person=%d reflection=%d", person.id, reflection_id)
    await reply(update, context, person.language, "kept_edit")


async def press_prompt(update: Update, context: PitstopContext, person: Person, pressed: PromptButton) -> None:
    """Handles *later* and *skip* on a prompt or follow-up, checked against the presser."""
    action = pressed.action
    row = await outbox.get(context.db, pressed.outbox_id)
    valid = (
        row is not None
        and row.person_id == person.id
        and (row.kind in ("prompt", "follow_up") or takes_reflection(row))
        and row.status in ("sent", "sending")  # a press can beat the record of the delivery
        and row.response is None
        and not (action == "later" and row.kind != "prompt")
    )
    if not valid or row is None:
        await stale_button(update, context, person.language)
        return
    now = context.clock.now()
    if not await outbox.set_response(context.db, row.id, "later" if action == "later" else "skipped"):
        await stale_button(update, context, person.language)
        return
    if action == "later":
        await outbox.plan(
            context.db,
            [plans.prompt_again(person, later_time(now, nudge_settings(person)), row.id, row.prompt_key)],
            now,
        )
    await answer_button(update, context, person.language, "later" if action == "later" else "skipped")
    await remove_buttons(update)
