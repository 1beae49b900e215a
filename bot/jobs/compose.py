"""Turns an outbox row into the message to send, at the moment it is sent.

Composing late means a prompt fits the phase on the day it arrives, and the participant's
language and settings as they are then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.buttons import CaseRoundButton, PromptButton
from bot.domain.choice import choose_prompt
from bot.domain.programme import Event, Phase, Position, locate
from bot.jobs.learning_question import compose_question
from bot.render import Renderer, day_text
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


@dataclass(frozen=True)
class Composed:
    """A message ready to send, or the reason it must not be sent."""

    text: str = ""
    keyboard: InlineKeyboardMarkup | None = None
    cancel_reason: str | None = None
    prompt_key: str | None = None
    module_key: str | None = None
    more: tuple[str, ...] = ()  # further messages of a long text, sent after the first
    cancel_status: str = "cancelled"  # the status a row gets when it is not sent
    expand: tuple[outbox.Planned, ...] = ()  # rows to plan instead of this one


async def where_is(db: Database, person: people.Person, now: datetime) -> Where | None:
    """Gives where a participant stands in their programme now, or None without one."""
    # One query for the programme, its version and the set: this runs for every journal message.
    row = await db.fetchone(
        "SELECT membership.programme_id, programme.loaded_at, learning_set.key FROM membership"
        " JOIN programme ON programme.id = membership.programme_id"
        " LEFT JOIN learning_set ON learning_set.id = membership.learning_set_id"
        " WHERE membership.person_id = ? AND membership.role = 'participant' ORDER BY membership.id DESC LIMIT 1",
        (person.id,),
    )
    if row is None:
        return None
    stored = await programmes.get_programme_version(db, row[0], row[1])
    if stored is None:
        return None
    set_key = row[2]
    return Where(row[0], stored, set_key, locate(stored.programme, now, set_key))


def event_values(render: Renderer, language: str, event: Event | None, zone: object) -> dict[str, str]:
    """Gives the template values that describe an event, all text, empty when there is none."""
    if event is None:
        return {"event_title": "", "event_place": "", "event_date": ""}
    title = event.title or render.button(language, "kind", kind=event.kind)
    return {"event_title": title, "event_place": event.place, "event_date": day_text(event.starts, language, zone)}


def prompt_keyboard(render: Renderer, language: str, outbox_id: int) -> InlineKeyboardMarkup:
    """Gives the *later* / *skip* buttons of a prompt."""
    return InlineKeyboardMarkup(
        [[
            InlineKeyboardButton(render.button(language, "later"), callback_data=PromptButton("later", outbox_id).data),
            InlineKeyboardButton(render.button(language, "skip"), callback_data=PromptButton("skip", outbox_id).data),
        ]]
    )


async def compose(db: Database, render: Renderer, row: OutboxRow, now: datetime) -> Composed:
    """Gives the message for a claimed row, fitted into the person's day (bot.jobs.daily)."""
    composed = await _compose_row(db, render, row, now)
    if row.kind in ("prompt", "follow_up", "case_round", "reminder", "question"):
        from bot.jobs.daily import fit

        return await fit(db, render, row, composed, now)
    return composed


async def _compose_row(db: Database, render: Renderer, row: OutboxRow, now: datetime) -> Composed:
    """Gives the message for a claimed row, on its own."""
    if row.kind in ("prompt", "follow_up"):
        if row.person_id is None:
            return Composed(cancel_reason="no person")
        person = await people.get_person(db, row.person_id)
        if person is None or person.status != "active":
            return Composed(cancel_reason="person not active")
        if person.paused_until is not None and person.paused_until > now:
            return Composed(cancel_reason="paused")
        if now - row.due_at > STALE_AFTER[row.kind]:
            # After a long outage a day-old nudge is noise, and several at once worse: let it go.
            return Composed(cancel_reason="too late")
        if row.kind == "prompt":
            return await _compose_prompt(db, render, row, person, now)
        return await _compose_follow_up(db, render, row, person)
    if row.kind == "digest":
        from bot.jobs.sets import compose_digest

        texts, expand, reason = await compose_digest(db, render, row, now)
        if expand:
            return Composed(cancel_reason=reason or "expanded", expand=tuple(expand))
        if reason is not None or not texts:
            return Composed(cancel_reason=reason or "empty")
        return Composed(texts[0], more=tuple(texts[1:]))
    if row.kind == "broadcast":
        from bot.jobs.broadcasts import compose_copy

        text, reason, status = await compose_copy(db, render, row)
        if reason is not None:
            return Composed(cancel_reason=reason, cancel_status=status)
        return Composed(text)
    if row.kind == "reminder":
        from bot.jobs.reminders import compose_reminder

        text, reason = await compose_reminder(db, render, row, now)
        return Composed(text) if reason is None else Composed(cancel_reason=reason)
    if row.kind == "case_round":
        return await _compose_case_round(db, render, row, now)
    if row.kind == "question":
        asked = await compose_question(db, render, row, now)
        return Composed(asked.text, asked.keyboard, cancel_reason=asked.cancel_reason, module_key=asked.module_key)
    if row.kind == "notice":
        language = row.payload.get("language", "en")
        if row.person_id is not None:
            person = await people.get_person(db, row.person_id)
            if person is None:
                return Composed(cancel_reason="person erased")
            language = person.language
        return Composed(text=render.message(language, row.payload["template"], **row.payload.get("values", {})))
    return Composed(cancel_reason=f"no composer for {row.kind}")


async def _compose_prompt(
    db: Database, render: Renderer, row: OutboxRow, person: people.Person, now: datetime
) -> Composed:
    where = await where_is(db, person, now)
    if where is None:
        return Composed(cancel_reason="no programme")
    position = where.position
    if position.phase == Phase.FINISHED:
        return Composed(cancel_reason="programme finished")
    module = position.module
    module_key = module.key if module else ""
    key = row.payload.get("prompt_key")
    spec = next((p for p in render.library if p.key == key), None)
    question = await learning_question.current(db, person.id)
    if spec is None:
        used = await outbox.used_prompt_keys(db, person.id, module_key)
        local_day = now.astimezone(person_zone(person)).date()
        spec = choose_prompt(
            render.library, position.phase, module_key, module.capacities if module else (), used,
            seed=f"{person.id}:{local_day.isoformat()}", learning_question=question is not None,
        )
    if spec is None:
        return Composed(cancel_reason="empty prompt library")
    zone = person_zone(person)
    values = {
        "name": person.name,
        "module_title": module.title if module else "",
        "module_theme": module.theme if module else "",
        "module_short_theme": module.short_theme(person.language) if module else "",
        "learning_question": question.text if question else "",
        **event_values(render, person.language, position.event, zone),
    }
    text = render.prompt(person.language, spec.key, **values)
    return Composed(text, prompt_keyboard(render, person.language, row.id), prompt_key=spec.key, module_key=module_key)


async def _compose_follow_up(db: Database, render: Renderer, row: OutboxRow, person: people.Person) -> Composed:
    intention = await journal.get(db, int(row.payload.get("reflection_id", 0)))
    if intention is None or intention.person_id != person.id:
        return Composed(cancel_reason="intention erased")
    quote = intention.text
    if len(quote) > 600:
        quote = quote[:600].rstrip() + "…"
    text = render.message(
        person.language,
        "follow_up",
        name=person.name,
        quote=quote,
        written_on=day_text(intention.created_at, person.language, person_zone(person)),
    )
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(render.button(person.language, "skip"), callback_data=PromptButton("skip", row.id).data)]]
    )
    return Composed(text, keyboard, module_key=intention.module_key)


async def _compose_case_round(db: Database, render: Renderer, row: OutboxRow, now: datetime) -> Composed:
    from bot.store import sharing

    person = await people.get_person(db, row.person_id) if row.person_id is not None else None
    if person is None or person.status != "active":
        return Composed(cancel_reason="person not active")
    digest = await sharing.get_digest(db, int(row.payload.get("digest_id", 0)))
    if digest is None or digest.status != "planned" or digest.meeting_starts is None:
        return Composed(cancel_reason="meeting digest gone")
    learning_set = await programmes.get_set_by_id(db, digest.learning_set_id)
    stored = await programmes.get_programme_by_id(db, learning_set.programme_id) if learning_set else None
    from bot.jobs.sets import still_in_calendar

    if learning_set is None or stored is None or not still_in_calendar(stored.programme, learning_set.key, digest):
        return Composed(cancel_reason="meeting no longer in the calendar")
    if digest.meeting_starts <= now:
        return Composed(cancel_reason="meeting passed")
    zone = person_zone(person)
    text = render.message(
        person.language, "case_round", name=person.name,
        meeting_date=day_text(digest.meeting_starts, person.language, zone), meeting_place=digest.meeting_place,
    )
    keyboard = InlineKeyboardMarkup([[
        InlineKeyboardButton(render.button(person.language, "case_yes"), callback_data=CaseRoundButton(True, row.id).data),
        InlineKeyboardButton(render.button(person.language, "case_no"), callback_data=CaseRoundButton(False, row.id).data),
    ]])
    return Composed(text, keyboard)


def person_zone(person: people.Person) -> ZoneInfo:
    """Gives a person's time zone."""

    return ZoneInfo(person.timezone)
