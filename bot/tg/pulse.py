"""The pulse's buttons, /pulse (a person's own trend as a chart and in words) and /story (their story as a PDF).

A pulse button names its outbox row, a capacity and a score. It counts only for the person the
pulse was sent to, while its module runs; pressing again changes the answer, the same score again
changes nothing. Anything else gets a sentence and stores nothing.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import InputFile, Update
from telegram.error import BadRequest, TelegramError

from bot.buttons import PulseButton
from bot.domain.pulse import capacity_of, is_open
from bot.jobs import pulse as journey
from bot.store import outbox, people, programmes, pulse
from bot.store.people import Person
from bot.tg.common import acknowledge, answer_button, remove_buttons, reply, stale_button
from bot.tg.context import PitstopContext

log = logging.getLogger(__name__)


async def press_pulse(update: Update, context: PitstopContext, person: Person, pressed: PulseButton) -> None:
    """Stores one answer of a pulse and moves its message to the next question (or the thanks)."""
    query = update.callback_query
    row = await outbox.get(context.db, pressed.outbox_id)
    capacity = capacity_of(pressed.capacity)
    if row is None or row.kind != "pulse" or row.person_id != person.id or row.status not in outbox.DELIVERED or capacity is None:
        await stale_button(update, context, person.language)
        return
    stored = await programmes.get_programme_by_id(context.db, int(row.payload.get("programme_id", 0)))
    module = stored.programme.module(str(row.payload.get("module_key", ""))) if stored else None
    if stored is None or module is None:
        await stale_button(update, context, person.language)
        return
    now = context.clock.now()
    if not is_open(module, now.astimezone(stored.programme.zone).date()):
        await answer_button(update, context, person.language, "pulse_closed", alert=True, module_title=module.title)
        await remove_buttons(update)
        return
    moment = str(row.payload.get("moment", "start"))
    membership = await people.participation(context.db, person.id)
    set_id = membership.learning_set_id if membership and membership.programme_id == stored.id else None
    outcome = await pulse.record(
        context.db, person.id, stored.id, set_id, module.key, moment, capacity, pressed.score, now
    )
    log.info("pulse answer person=%d outbox=%d capacity=%s outcome=%s", person.id, row.id, capacity, outcome)
    if outcome == "new":
        await acknowledge(update)
    else:
        await answer_button(update, context, person.language, "pulse_kept", score=pressed.score,
                            changed=outcome == "changed", same=outcome == "same")
    answered = await pulse.answered(context.db, person.id, stored.id, module.key, moment)
    text, keyboard = journey.pulse_message(context.render, person.language, row.id, module.title, moment, answered)
    if query is not None:
        try:
            await query.edit_message_text(text, reply_markup=keyboard)
        except BadRequest:
            pass  # the same question again (a repeated press): nothing to redraw


async def show_pulse(update: Update, context: PitstopContext, person: Person) -> None:
    """Sends a person's own pulse: the trend in words, and the chart."""
    found = await journey.pulse_of(context.db, context.render, person)
    if found is None or found.trend.empty:
        await reply(update, context, person.language, "pulse_empty")
        return
    await reply(update, context, person.language, "pulse_trend", moments=len(found.trend.points),
                trend=journey.trend_lines(context.render, person.language, found.trend))
    chart = await asyncio.to_thread(journey.chart_png, context.render, person.language, found)
    chat_id = update.effective_chat.id if update.effective_chat else person.chat_id
    caption = context.render.message(person.language, "pulse_caption")
    try:
        await context.bot.send_photo(chat_id, photo=chart, caption=caption)
    except TelegramError as exc:
        log.warning("pulse chart refused person=%d error=%s", person.id, type(exc).__name__)  # the words went
    log.info("pulse shown person=%d moments=%d", person.id, len(found.trend.points))


async def send_story(update: Update, context: PitstopContext, person: Person) -> None:
    """Sends a person their story so far as a PDF, or a sentence while their journal is empty."""
    built = await journey.build_story(context.db, context.render, person, context.clock.now())
    if built is None:
        await reply(update, context, person.language, "story_empty")
        return
    chat_id = update.effective_chat.id if update.effective_chat else person.chat_id
    await context.bot.send_document(chat_id, InputFile(built.pdf, filename=built.filename), caption=built.caption)
    log.info("story sent person=%d reflections=%d", person.id, built.reflections)
