"""Going deeper after a reflection: at most three short questions along Korthagen's ALACT cycle.

The steps (bot.domain.deepening) are rows of `deepening`; the open one is also the person's awaited
question (`deeper:<step id>`), so a restart resumes at the same step. Each question has *Stop here*,
and, like every question, stops waiting after AWAIT_MINUTES: later text is a reflection again. A
press on *Go deeper* while a step is open asks that step again. The answer to the trial step is an
intention, followed up like any other (bot.jobs.planner.plan_follow_up), quoting what they will try.

The answers are private to their author, like the reflection: sharing a reflection shares the
reflection only, never its thread (the digest reads reflections, not this table).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.buttons import DeepeningButton, DeeperStopButton
from bot.domain.deepening import StepPhase, next_phase, route
from bot.jobs.compose import where_is
from bot.jobs.planner import plan_follow_up
from bot.store import deepening, journal, outbox, people
from bot.store.deepening import Step
from bot.store.journal import Reflection
from bot.store.people import Person
from bot.tg.common import acknowledge, answer_button, awaiting, open_question, reply, stale_button
from bot.tg.context import PitstopContext

log = logging.getLogger(__name__)


def steps_of(entry: Reflection) -> tuple[StepPhase, ...]:
    """Gives the steps to ask after this reflection (see bot.domain.deepening.route for why these)."""
    return route(entry.follows_up_id is not None, entry.is_intention)


def question_text(context: PitstopContext, language: str, entry: Reflection, step: Step, numbered: bool = True) -> str:
    """Gives a step's question as the person reads it (numbered "question 2 of 3" in the chat, not in an export)."""
    steps = steps_of(entry)
    return context.render.message(
        language, f"deeper_{step.phase}", step=step.step if numbered else 0, steps=len(steps),
        stretched="alternatives" not in steps,
    )


async def press_deeper(update: Update, context: PitstopContext, person: Person, pressed: DeepeningButton) -> None:
    """*Go deeper* starts (or resumes) the thread of one's own reflection; *Stop here* ends it at the open step."""
    if isinstance(pressed, DeeperStopButton):
        await _stop(update, context, person, pressed.step_id)
        return
    entry = await journal.get(context.db, pressed.reflection_id)
    if entry is None or entry.person_id != person.id:
        await stale_button(update, context, person.language)
        return
    thread = await deepening.thread(context.db, entry.id)
    step = next((s for s in thread if s.is_open), None)
    if step is None and thread:
        await answer_button(update, context, person.language, "deeper_done", alert=True)
        return
    if step is None:
        step = await deepening.ask(context.db, entry.id, person.id, 1, steps_of(entry)[0], context.clock.now())
        if step is None:  # a second press that lost the race: the first one asks
            await acknowledge(update)
            return
        log.info("deepening started person=%d reflection=%d", person.id, entry.id)
    await acknowledge(update)
    await _ask(context, person, entry, step)


async def _ask(context: PitstopContext, person: Person, entry: Reflection, step: Step) -> None:
    """Sends a step's question with *Stop here*; only once it has gone does the bot wait for the answer."""
    now = context.clock.now()  # the question's age counts from when it was asked
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(
        context.render.button(person.language, "stop_deeper"), callback_data=DeeperStopButton(step.id).data)]])
    sent = await context.bot.send_message(
        person.chat_id, question_text(context, person.language, entry, step), reply_markup=keyboard
    )
    await people.update_person(
        context.db, person.id, now, awaiting=awaiting("deeper", step.id, now, sent.message_id)
    )


async def _stop(update: Update, context: PitstopContext, person: Person, step_id: int) -> None:
    """Ends a thread at its open step; the answers given stay with the reflection."""
    step = await deepening.get(context.db, step_id)
    if step is None or step.person_id != person.id or not await deepening.stop(context.db, step.id, person.id):
        await stale_button(update, context, person.language)
        return
    now = context.clock.now()
    question = open_question(person, now)
    if question is not None and question.kind == "deeper" and question.target == step.id:
        await people.update_person(context.db, person.id, now, awaiting=None)
    log.info("deepening stopped person=%d reflection=%d step=%d", person.id, step.reflection_id, step.step)
    await acknowledge(update)
    await _remove_stop(context, person, update.callback_query.message.message_id if update.callback_query and
                       update.callback_query.message else None)
    await reply(update, context, person.language, "deeper_stopped", count=step.step - 1)


async def take_answer(update: Update, context: PitstopContext, person: Person, text: str) -> bool:
    """Takes typed text as the answer to the open step, and asks the next one or closes the thread with an
    intention; gives False when no step waits (the text is then a reflection).

    Empty text gets a sentence and the question again. A long answer is kept whole: the journal shows it
    over as many messages as it needs, and the export has all of it.
    """
    now = context.clock.now()
    question = open_question(person, now)
    message = update.effective_message
    if question is None or question.kind != "deeper" or message is None:
        return False
    replied = message.reply_to_message
    if replied is not None and await outbox.by_message(context.db, message.chat.id, replied.message_id) is not None:
        return False  # an answer to a prompt, not to this question; the question stays open
    step = await deepening.get(context.db, question.target)
    entry = await journal.get(context.db, step.reflection_id) if step is not None else None
    if step is None or entry is None or step.person_id != person.id or not step.is_open:
        await people.update_person(context.db, person.id, now, awaiting=None)
        return False
    answer = text.strip()
    if not answer:
        await reply(update, context, person.language, "deeper_empty")
        await _ask(context, person, entry, step)
        return True
    if await _continues_previous(context, person, step, answer):
        return True
    phase = next_phase(steps_of(entry), step.step)
    then = (step.step + 1, phase) if phase is not None else None
    stored = await deepening.answer(context.db, step.id, person.id, answer, message.chat.id, message.message_id, now, then)
    if stored is None:  # answered meanwhile (an update seen twice): nothing more to do
        return True
    log.info("deepening answered person=%d reflection=%d step=%d", person.id, entry.id, step.step)
    await _remove_stop(context, person, question.message_id)
    if then is not None and stored.is_open:
        await _ask(context, person, entry, stored)
        return True
    await people.update_person(context.db, person.id, now, awaiting=None)
    if step.phase == "trial":
        where = await where_is(context.db, person, now)
        meeting = where.position.next_event if where else None
        next_meeting = meeting.starts if meeting is not None and meeting.kind == "set-meeting" else None
        await plan_follow_up(context.db, person, entry.id, now, next_meeting)
        log.info("deepening intention person=%d reflection=%d", person.id, entry.id)
        await reply(update, context, person.language, "deeper_done", quote=quoted(answer))
    return True


# Telegram sends a text longer than 4,096 characters as several messages, a moment apart: a message that
# follows a full-length answer that quickly is the rest of it, not the answer to the next question.
SPLIT_AT = 4000
SPLIT_WITHIN = timedelta(seconds=10)


async def _continues_previous(context: PitstopContext, person: Person, step: Step, text: str) -> bool:
    """Adds text to the previous step's answer when it is the rest of a long message Telegram split; gives
    whether it did (the open question then stays open)."""
    if step.step < 2:
        return False
    previous = next((s for s in await deepening.thread(context.db, step.reflection_id) if s.step == step.step - 1), None)
    now = context.clock.now()
    if previous is None or previous.answer is None or previous.answered_at is None:
        return False
    if len(previous.answer) < SPLIT_AT or now - previous.answered_at > SPLIT_WITHIN:
        return False
    return await deepening.continue_answer(context.db, previous.id, person.id, text, now)


QUOTE = 600  # characters of an answer quoted back in a message (the follow-up quotes as much)


def quoted(text: str) -> str:
    """Gives an answer as a message quotes it: whole when short, else its start and "…" (it is kept whole)."""
    return text if len(text) <= QUOTE else text[:QUOTE].rstrip() + "…"


async def _remove_stop(context: PitstopContext, person: Person, message_id: int | None) -> None:
    """Takes *Stop here* off a question that is answered or stopped (an old message may refuse: fine)."""
    if message_id is None:
        return
    try:
        await context.bot.edit_message_reply_markup(person.chat_id, message_id, reply_markup=None)
    except BadRequest:
        pass
