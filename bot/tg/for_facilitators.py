"""Sharing a reflection, or one line of it, with the set's facilitators only — never with the set.

Opt-in, per reflection, from its share buttons or from /journal. The whole reflection is shared after
the author has seen it quoted and pressed to share it; a line is typed, quoted back, and shared only
after *Yes* (like a takeaway: bot.tg.sharing.take_awaited_text and press_confirm). It can be undone
until the brief that carries it has gone.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.buttons import FacilitatorButton
from bot.domain.digest import TAKEAWAY_LIMIT, clipped
from bot.store import briefs, journal, people, sharing
from bot.store.people import Person
from bot.tg.common import acknowledge, answer_button, awaiting, open_question, remove_buttons, reply, stale_button
from bot.tg.context import PitstopContext

log = logging.getLogger(__name__)

QUOTE = 400  # characters of the reflection quoted in the offer


async def press_facilitator(update: Update, context: PitstopContext, person: Person, pressed: FacilitatorButton) -> None:
    """Handles a for-the-facilitator button on one of the presser's reflections; anyone else's changes nothing."""
    entry = await journal.get(context.db, pressed.reflection_id)
    if entry is None or entry.person_id != person.id:
        await stale_button(update, context, person.language)
        return
    now, action, language = context.clock.now(), pressed.action, person.language
    if action == "cancel":
        question = open_question(person, now)
        if question is not None and question.kind == "facilitator" and question.target == entry.id:
            await people.update_person(context.db, person.id, now, awaiting=None)
        await answer_button(update, context, language, "cancelled")
        await remove_buttons(update)
        return
    current = await briefs.state(context.db, entry.id)
    if current.carried:
        await answer_button(update, context, language, "brief_gone", alert=True)
        return
    if action == "undo":
        if not await briefs.undo(context.db, entry.id, person.id):
            await stale_button(update, context, language)
            return
        log.info("facilitator share undone person=%d reflection=%d", person.id, entry.id)
        await answer_button(update, context, language, "private")
        await remove_buttons(update)
        await reply(update, context, language, "facilitator_undone")
        return
    set_id = await sharing.set_of(context.db, person.id)
    if set_id is None:
        await answer_button(update, context, language, "no_set", alert=True)
        return
    readers = await briefs.facilitators_of_set(context.db, set_id)
    if not readers:
        await answer_button(update, context, language, "no_facilitator", alert=True)
        return
    assert update.effective_chat is not None
    if action == "ask":
        await acknowledge(update)
        keyboard = InlineKeyboardMarkup([
            [InlineKeyboardButton(context.render.button(language, "facilitator_whole"),
                                  callback_data=FacilitatorButton(entry.id, "whole").data)],
            [InlineKeyboardButton(context.render.button(language, "facilitator_line"),
                                  callback_data=FacilitatorButton(entry.id, "line").data)],
            [InlineKeyboardButton(context.render.button(language, "cancel"),
                                  callback_data=FacilitatorButton(entry.id, "cancel").data)],
        ])
        text = context.render.message(
            language, "facilitator_offer", quote=clipped(entry.text, QUOTE), already=current.shared,
            readers=[r.name for r in readers if r.name],
        )
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=keyboard)
    elif action == "whole":
        if not await briefs.share(context.db, entry.id, person.id, set_id, None, now):
            await answer_button(update, context, language, "brief_gone", alert=True)
            return
        log.info("facilitator share person=%d reflection=%d whole=True", person.id, entry.id)
        await answer_button(update, context, language, "shared")
        await remove_buttons(update)
        await reply(update, context, language, "facilitator_shared", line="")
    else:  # "line": asked first; only then is typed text the answer
        await remove_buttons(update)
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(
            context.render.button(language, "cancel"), callback_data=FacilitatorButton(entry.id, "cancel").data)]])
        await context.bot.send_message(
            update.effective_chat.id, context.render.message(language, "ask_facilitator", limit=TAKEAWAY_LIMIT),
            reply_markup=keyboard,
        )
        await people.update_person(context.db, person.id, now, awaiting=awaiting("facilitator", entry.id, now))
        await answer_button(update, context, language, "chosen")


async def share_line(context: PitstopContext, person: Person, reflection_id: int, line: str) -> bool:
    """Shares a confirmed line of one of the person's reflections with their set's facilitators; gives False
    when that cannot be (no set, not theirs, or a brief carried the reflection already)."""
    entry = await journal.get(context.db, reflection_id)
    set_id = await sharing.set_of(context.db, person.id)
    if entry is None or entry.person_id != person.id or set_id is None:
        return False
    shared = await briefs.share(context.db, entry.id, person.id, set_id, line, context.clock.now())
    if shared:
        log.info("facilitator share person=%d reflection=%d whole=False", person.id, entry.id)
    return shared


def journal_buttons(context: PitstopContext, language: str, reflection_id: int, state: briefs.ShareState) -> list[list[InlineKeyboardButton]]:
    """Gives the /journal row for one entry: share it for the facilitator, or undo that while no brief carried it."""
    if state.carried:
        return []
    if state.shared:
        return [[InlineKeyboardButton(context.render.button(language, "facilitator_undo"),
                                      callback_data=FacilitatorButton(reflection_id, "undo").data)]]
    return [[InlineKeyboardButton(context.render.button(language, "for_facilitator"),
                                  callback_data=FacilitatorButton(reflection_id, "ask").data)]]
