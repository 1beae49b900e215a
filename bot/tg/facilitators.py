"""Facilitators' commands: /broadcast (audience, text, preview, send or schedule) and /reminders (list, mute).

Every step checks again that the presser leads the programme; a broadcast's buttons work only
for the facilitator who started it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.buttons import AudienceButton, BroadcastButton, DraftButton, RemindersButton
from bot.domain.nudges import local_moment
from bot.domain.parsing import parse_day, parse_hour
from bot.jobs.broadcasts import broadcast_text, launch
from bot.jobs.reminders import replan_programme, upcoming
from bot.render import moment_text
from bot.store import audit, broadcasts, people, programmes
from bot.store.people import Person
from bot.store.programmes import StoredProgramme
from bot.tg.common import (
    Question,
    answer_button,
    awaiting,
    remove_buttons,
    reply,
    stale_button,
)
from bot.tg.console import console_button
from bot.tg.context import PitstopContext
from bot.tg.roles import may_lead

log = logging.getLogger(__name__)

BROADCAST_LIMIT = 3500  # leaves room for the header within Telegram's 4096


async def start_broadcast(update: Update, context: PitstopContext, person: Person, led: list[StoredProgramme]) -> None:
    """/broadcast: asks for the audience with a button per programme it leads, per set and the facilitators."""
    render, lang = context.render, person.language
    rows = []
    for stored in led:
        title = stored.programme.title
        rows.append([InlineKeyboardButton(render.button(lang, "audience_programme", title=title),
                                          callback_data=AudienceButton("p", stored.id).data)])
        for learning_set in await programmes.list_sets(context.db, stored.id):
            rows.append([InlineKeyboardButton(render.button(lang, "audience_set", name=learning_set.name),
                                              callback_data=AudienceButton("s", learning_set.id).data)])
        rows.append([InlineKeyboardButton(render.button(lang, "audience_facilitators", title=title),
                                          callback_data=AudienceButton("f", stored.id).data)])
    rows = rows[:90]
    console = console_button(context, lang, "broadcast")
    rows += [[console]] if console is not None else []
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, render.message(lang, "broadcast_audience", chosen=""),
                                   reply_markup=InlineKeyboardMarkup(rows))


async def press_broadcast(update: Update, context: PitstopContext, person: Person, pressed: BroadcastButton) -> None:
    """Handles the choice of an audience, and *send*, *schedule* and *cancel* on a draft of the presser's."""
    if isinstance(pressed, AudienceButton):
        await _choose_audience(update, context, person, pressed.audience, pressed.target_id)
        return
    action = pressed.action
    draft = await broadcasts.get(context.db, pressed.broadcast_id)
    if draft is None or draft.created_by != person.id or not await may_lead(context, person, draft.programme_id):
        await stale_button(update, context, person.language)
        return
    now = context.clock.now()
    if action == "cancel":
        cancelled = await broadcasts.cancel(context.db, draft.id)
        await people.update_person(context.db, person.id, now, awaiting=None)
        await answer_button(update, context, person.language, "cancelled" if cancelled else "stale")
        await remove_buttons(update)
        if cancelled:
            await reply(update, context, person.language, "broadcast_cancelled")
        return
    if draft.status != "draft" or not draft.text:
        await stale_button(update, context, person.language)
        return
    if action == "when":
        await people.update_person(context.db, person.id, now, awaiting=awaiting("broadcast_when", draft.id, now))
        await answer_button(update, context, person.language, "chosen")
        await remove_buttons(update)  # the choice is made: the preview's buttons would only confuse
        assert update.effective_chat is not None
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(
            context.render.button(person.language, "cancel"), callback_data=DraftButton("cancel", draft.id).data)]])
        await context.bot.send_message(
            update.effective_chat.id,
            context.render.message(person.language, "broadcast_ask_when", timezone=person.timezone),
            reply_markup=keyboard,
        )
        return
    await answer_button(update, context, person.language, "chosen")
    await remove_buttons(update)
    await _launch(update, context, person, draft, now)


async def _choose_audience(update: Update, context: PitstopContext, person: Person, kind: str, target: int) -> None:
    """Starts a draft for the chosen audience, after checking the presser leads it."""
    programme_id, set_id, audience, set_name = None, None, "", ""
    if kind in ("p", "f"):
        programme_id, audience = target, "programme" if kind == "p" else "facilitators"
    elif kind == "s":
        learning_set = await programmes.get_set_by_id(context.db, target)
        if learning_set is not None:
            programme_id, set_id, audience, set_name = learning_set.programme_id, learning_set.id, "set", learning_set.name
    stored = await programmes.get_programme_by_id(context.db, programme_id) if programme_id is not None else None
    if programme_id is None or stored is None or not await may_lead(context, person, programme_id):
        await stale_button(update, context, person.language)
        return
    render, lang = context.render, person.language
    title = stored.programme.title
    chosen = {"p": render.button(lang, "audience_programme", title=title),
              "f": render.button(lang, "audience_facilitators", title=title)}.get(kind) \
        or render.button(lang, "audience_set", name=set_name)
    now = context.clock.now()
    draft_id = await broadcasts.create_draft(context.db, programme_id, audience, set_id, person.id, now)
    await people.update_person(context.db, person.id, now, awaiting=awaiting("broadcast", draft_id, now))
    draft = await broadcasts.get(context.db, draft_id)
    assert draft is not None
    count = len(await broadcasts.recipients(context.db, draft))
    await answer_button(update, context, person.language, "chosen")
    await _show_choice(update, render.message(lang, "broadcast_audience", chosen=chosen))
    await reply(update, context, person.language, "broadcast_ask_text", count=count, limit=BROADCAST_LIMIT)


async def _show_choice(update: Update, text: str) -> None:
    """Rewrites a question whose button was pressed to say what was chosen, without its buttons."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.edit_message_text(text, reply_markup=None)
    except BadRequest:
        await remove_buttons(update)  # too old to edit: at least the buttons go


QUESTIONS = ("broadcast", "broadcast_when")


async def take_awaited_text(update: Update, context: PitstopContext, person: Person, question: Question, text: str) -> None:
    """Takes a broadcast's text, or its date and time, that the bot asked for (`QUESTIONS`)."""
    now = context.clock.now()
    kind = question.kind
    draft = await broadcasts.get(context.db, question.target)
    if draft is None or draft.status != "draft" or not await may_lead(context, person, draft.programme_id):
        await people.update_person(context.db, person.id, now, awaiting=None)
        await reply(update, context, person.language, "broadcast_gone")
        return
    if kind == "broadcast":
        body = text.strip()
        if not body:
            await reply(update, context, person.language, "broadcast_empty")
            return
        if len(body) > BROADCAST_LIMIT:
            await reply(update, context, person.language, "broadcast_too_long", length=len(body), limit=BROADCAST_LIMIT)
            return
        await broadcasts.set_text(context.db, draft.id, body)
        await people.update_person(context.db, person.id, now, awaiting=None)
        await _preview(update, context, person, draft.id)
        return
    when = _parse_when(text, person, now)
    if when is None or when <= now:
        await reply(update, context, person.language, "broadcast_bad_when", typed=text[:60])
        return
    await people.update_person(context.db, person.id, now, awaiting=None)
    await _launch(update, context, person, draft, when)


def _parse_when(text: str, person: Person, now: datetime) -> datetime | None:
    """Reads "2027-01-04 09:00" (or "4-1 9:00") in the facilitator's time zone."""
    pieces = text.strip().split()
    if len(pieces) != 2:
        return None
    zone = ZoneInfo(person.timezone)
    day = parse_day(pieces[0], now.astimezone(zone).date())
    hour = parse_hour(pieces[1])
    if day is None or hour is None:
        return None
    return local_moment(day, hour[0], hour[1], zone).astimezone(UTC)


async def _preview(update: Update, context: PitstopContext, person: Person, draft_id: int) -> None:
    """Shows the broadcast exactly as recipients will read it, with Send / Schedule / Cancel."""
    draft = await broadcasts.get(context.db, draft_id)
    assert draft is not None and update.effective_chat is not None
    count = len(await broadcasts.recipients(context.db, draft))
    render, lang = context.render, person.language
    await reply(update, context, lang, "broadcast_preview_intro", count=count)
    keyboard = InlineKeyboardMarkup([
        [InlineKeyboardButton(render.button(lang, "send_now", count=count), callback_data=DraftButton("send", draft.id).data)],
        [InlineKeyboardButton(render.button(lang, "schedule"), callback_data=DraftButton("when", draft.id).data),
         InlineKeyboardButton(render.button(lang, "cancel"), callback_data=DraftButton("cancel", draft.id).data)],
    ])
    await context.bot.send_message(
        update.effective_chat.id, await broadcast_text(context.db, render, draft, lang), reply_markup=keyboard
    )


async def _launch(update: Update, context: PitstopContext, person: Person, draft: broadcasts.Broadcast, when: datetime) -> None:
    """Plans the copies and posts the progress message that will be edited as they go out."""
    assert update.effective_chat is not None
    launched = await launch(
        context.bot, context.db, context.render, person, draft, when, context.clock.now(), update.effective_chat.id
    )
    if launched is None:
        await reply(update, context, person.language, "broadcast_already")


async def list_reminders(update: Update, context: PitstopContext, person: Person, led: list[StoredProgramme]) -> None:
    """/reminders: the calendar's next reminders per programme led, with a mute/unmute button each."""
    await _send_reminders(update, context, person, [s.id for s in led])


async def _send_reminders(update: Update, context: PitstopContext, person: Person, programme_ids: list[int]) -> None:
    render, lang = context.render, person.language
    now = context.clock.now()
    assert update.effective_chat is not None
    for programme_id in programme_ids:
        stored = await programmes.get_programme_by_id(context.db, programme_id)
        if stored is None:
            continue
        muted = await programmes.reminders_muted(context.db, programme_id)
        zone = stored.programme.zone
        items = [
            {"when": moment_text(due, lang, zone), "reminder": kind, "kind": render.button(lang, "kind", kind=event.kind),
             "title": event.title, "place": event.place}
            for due, kind, event in await upcoming(context.db, programme_id, now)
        ]
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(
            render.button(lang, "unmute" if muted else "mute"),
            callback_data=RemindersButton(not muted, programme_id).data)]])
        await context.bot.send_message(
            update.effective_chat.id,
            render.message(lang, "reminders", programme=stored.programme.title, muted=muted, items=items),
            reply_markup=keyboard,
        )


async def press_reminders(update: Update, context: PitstopContext, person: Person, pressed: RemindersButton) -> None:
    """Mutes or unmutes a programme's calendar reminders, for a facilitator of that programme."""
    programme_id, now = pressed.programme_id, context.clock.now()
    action = "mute" if pressed.mute else "unmute"
    if not await may_lead(context, person, programme_id) \
            or await programmes.get_programme_by_id(context.db, programme_id) is None:
        await stale_button(update, context, person.language)
        return
    await programmes.mute_reminders(context.db, programme_id, pressed.mute)
    if action == "unmute":
        await replan_programme(context.db, programme_id, now)
    await audit.record(context.db, now, str(person.telegram_id), f"reminders.{action}", programme_id)
    await answer_button(update, context, person.language, "chosen")
    await remove_buttons(update)
    await _send_reminders(update, context, person, [programme_id])
