"""Turns an outbox row into the message to send, at the moment it is sent.

Composing late means a prompt fits the phase on the day it arrives, and the participant's
language and settings as they are then. Each kind has one composer, and every composer gives a
`Composed` (bot.jobs.composed): the prompt's and follow-up's are here, the digest's and case
round's in bot.jobs.sets, the reminder's in bot.jobs.reminders, a broadcast copy's in
bot.jobs.broadcasts. `compose` picks the composer, then fits the message into the person's day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.buttons import PromptButton
from bot.domain.choice import choose_prompt
from bot.domain.programme import FocusQuestion, Phase, Position, locate
from bot.jobs import broadcasts, daily, pulse, reminders, sets
from bot.jobs.briefs import compose_brief
from bot.jobs.composed import Composed, cancelled
from bot.jobs.deepening import follow_up_quote
from bot.jobs.learning_question import compose_question
from bot.jobs.quiet import compose_checkin
from bot.jobs.wording import prompt_values
from bot.render import PromptSpec, Renderer, day_text
from bot.store import journal, learning_question, outbox, people, programmes
from bot.store.db import Database
from bot.store.outbox import OutboxRow

STALE_AFTER = {"prompt": timedelta(hours=6), "follow_up": timedelta(days=2)}


@dataclass(frozen=True)
class Where:
    """A participant's programme, set and position at a moment."""

    programme_id: int
    stored: programmes.StoredProgramme
    set_key: str | None
    position: Position


async def where_is(db: Database, person: people.Person, now: datetime) -> Where | None:
    """Gives where a participant stands in their programme now, or None without one."""
    return await where_is_id(db, person.id, now)


async def where_is_id(db: Database, person_id: int, now: datetime) -> Where | None:
    """Gives where the participant `person_id` stands in their programme now, or None without one."""
    place = await programmes.place_of(db, person_id)
    if place is None:
        return None
    return Where(place.stored.id, place.stored, place.set_key, locate(place.stored.programme, now, place.set_key))


def prompt_keyboard(render: Renderer, language: str, outbox_id: int) -> InlineKeyboardMarkup:
    """Gives the *later* / *skip* buttons of a prompt."""
    return InlineKeyboardMarkup(
        [[
            InlineKeyboardButton(render.button(language, "later"), callback_data=PromptButton("later", outbox_id).data),
            InlineKeyboardButton(render.button(language, "skip"), callback_data=PromptButton("skip", outbox_id).data),
        ]]
    )


IN_THE_DAY = ("prompt", "follow_up", "case_round", "reminder", "pulse", "question", "checkin")  # the kinds the daily budget counts


async def compose(db: Database, render: Renderer, row: OutboxRow, now: datetime) -> Composed:
    """Gives the message for a claimed row, fitted into the person's day (bot.jobs.daily)."""
    composed = await compose_alone(db, render, row, now)
    if row.kind in IN_THE_DAY:
        return await daily.fit(db, render, row, composed, now)
    return composed


async def compose_alone(db: Database, render: Renderer, row: OutboxRow, now: datetime) -> Composed:
    """Gives the message for a claimed row, on its own: each kind's composer."""
    if row.kind in ("prompt", "follow_up"):
        return await _compose_nudge(db, render, row, now)
    if row.kind == "digest":
        return await sets.compose_digest(db, render, row, now)
    if row.kind == "broadcast":
        return await broadcasts.compose_copy(db, render, row)
    if row.kind == "reminder":
        return await reminders.compose_reminder(db, render, row, now)
    if row.kind == "case_round":
        return await sets.compose_case_round(db, render, row, now)
    if row.kind in ("pulse", "story"):
        sending = await pulse.compose(db, render, row, now)
        return Composed(sending.text, sending.keyboard, cancel_reason=sending.cancel_reason, document=sending.document)
    if row.kind == "brief":
        brief = await compose_brief(db, render, row, now)
        if brief.reason is not None or not brief.texts:
            return cancelled(brief.reason or "empty")
        return Composed(brief.texts[0], more=tuple(brief.texts[1:]), photo=brief.chart, caption=brief.caption)
    if row.kind == "question":
        asked = await compose_question(db, render, row, now)
        return Composed(asked.text, asked.keyboard, cancel_reason=asked.cancel_reason, module_key=asked.module_key)
    if row.kind == "notice":
        return await _compose_notice(db, render, row)
    if row.kind == "checkin":
        return await compose_checkin(db, render, row, now)
    return cancelled(f"no composer for {row.kind}")


async def _compose_nudge(db: Database, render: Renderer, row: OutboxRow, now: datetime) -> Composed:
    if row.person_id is None:
        return cancelled("no person")
    person = await people.get_person(db, row.person_id)
    if person is None or person.status != "active":
        return cancelled("person not active")
    if person.paused_until is not None and person.paused_until > now:
        return cancelled("paused")
    if now - row.due_at > STALE_AFTER[row.kind]:
        # After a long outage a day-old nudge is noise, and several at once worse: let it go.
        return cancelled("too late")
    if row.kind == "prompt":
        return await _compose_prompt(db, render, row, person, now)
    return await _compose_follow_up(db, render, row, person)


async def _compose_notice(db: Database, render: Renderer, row: OutboxRow) -> Composed:
    language = row.payload.get("language", "en")
    if row.person_id is not None:
        person = await people.get_person(db, row.person_id)
        if person is None:
            return cancelled("person erased")
        language = person.language
    return Composed(text=render.message(language, row.payload["template"], **row.payload.get("values", {})))


async def _compose_prompt(
    db: Database, render: Renderer, row: OutboxRow, person: people.Person, now: datetime
) -> Composed:
    where = await where_is(db, person, now)
    if where is None:
        return cancelled("no programme")
    position = where.position
    if position.phase == Phase.FINISHED:
        return cancelled("programme finished")
    module = position.module
    module_key = module.key if module else ""
    owed = await pulse.start_pulse_owed(db, person, where.stored, now)
    if owed is not None:  # on a module's first day its start pulse is the day's question
        return cancelled("gives way to the start pulse", expand=(owed,))
    key = row.payload.get("prompt_key")
    # The facilitator's focus questions are written in the programme's language: asked in that language only.
    own = module.focus_questions if module and person.language == where.stored.programme.language else ()
    candidates: list[PromptSpec | FocusQuestion] = [*render.library, *own]
    spec = next((p for p in candidates if p.key == key), None)
    question = await learning_question.current(db, person.id)
    if spec is None:
        used = await outbox.used_prompt_keys(db, person.id, module_key)
        local_day = now.astimezone(person_zone(person)).date()
        spec = choose_prompt(
            candidates, position.phase, module_key, module.capacities if module else (), used,
            seed=f"{person.id}:{local_day.isoformat()}", learning_question=question is not None,
        )
    if spec is None:
        return cancelled("empty prompt library")
    zone = person_zone(person)
    values = prompt_values(render, person.language, person.name, module, position.event, zone,
                           question.text if question else "")
    if isinstance(spec, FocusQuestion):
        text = render.message(person.language, "focus_question", text=spec.text, module_title=values["module_title"])
    else:
        text = render.prompt(person.language, spec.key, **values)
    return Composed(text, prompt_keyboard(render, person.language, row.id), prompt_key=spec.key, module_key=module_key)


async def _compose_follow_up(db: Database, render: Renderer, row: OutboxRow, person: people.Person) -> Composed:
    intention = await journal.get(db, int(row.payload.get("reflection_id", 0)))
    if intention is None or intention.person_id != person.id:
        return cancelled("intention erased")
    quote, written = await follow_up_quote(db, intention)
    if len(quote) > 600:
        quote = quote[:600].rstrip() + "…"
    text = render.message(
        person.language,
        "follow_up",
        name=person.name,
        quote=quote,
        written_on=day_text(written, person.language, person_zone(person)),
    )
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(render.button(person.language, "skip"), callback_data=PromptButton("skip", row.id).data)]]
    )
    return Composed(text, keyboard, module_key=intention.module_key)


def person_zone(person: people.Person) -> ZoneInfo:
    """Gives a person's time zone."""

    return ZoneInfo(person.timezone)
