"""Small helpers every handler module uses: the language to answer in, and answering from templates."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from telegram import Update
from telegram.error import BadRequest

from bot.store import people
from bot.tg.context import PitstopContext

log = logging.getLogger(__name__)


def language_of(update: Update, context: PitstopContext, person: people.Person | None = None) -> str:
    """Gives the language to answer in: the person's choice, else their Telegram app's, else the default."""
    if person is not None:
        return person.language
    user = update.effective_user
    code = (user.language_code or "") if user else ""
    if code.startswith("nl"):
        return "nl"
    if code.startswith("en"):
        return "en"
    return context.services.settings.language


async def reply(update: Update, context: PitstopContext, language: str, template: str, /, **values: object) -> None:
    """Answers in the chat the update came from with a rendered template."""
    chat = update.effective_chat
    if chat is None:
        return
    text = context.render.message(language, template, **values)
    await context.bot.send_message(chat.id, text)


async def answer_button(
    update: Update, context: PitstopContext, language: str, template: str, /, alert: bool = False, **values: object
) -> None:
    """Answers a button press with a short notice from a template (`button_<template>`)."""
    query = update.callback_query
    if query is None:
        return
    text = context.render.message(language, f"button_{template}", **values)
    try:
        await query.answer(text[:200], show_alert=alert)
    except BadRequest as error:
        # "query is too old" after a slow moment or a backlog: the press still counts, only the pop-up is lost.
        log.info("button answer refused: %s", error.message[:80])


async def acknowledge(update: Update) -> None:
    """Answers a button press without a notice; a press too old to answer still counts."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer()
    except BadRequest as error:
        log.info("button answer refused: %s", error.message[:80])


async def stale_button(update: Update, context: PitstopContext, language: str) -> None:
    """Answers a press on a button that no longer applies, or was never ours; changes nothing."""
    await answer_button(update, context, language, "stale")


async def remove_buttons(update: Update) -> None:
    """Takes the buttons off the message a button was pressed on (an old message may refuse: fine)."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest:
        pass  # too old to edit, or no buttons any more


AWAIT_MINUTES = 30


@dataclass(frozen=True)
class Question:
    """A question the bot asked and waits a typed answer to: what kind, about which row, asked when."""

    kind: str
    target: int
    asked_at: int  # a Unix timestamp
    message_id: int | None = None  # the message the question is about (e.g. the one with share buttons)


def awaiting(kind: str, target: int, now: datetime, message_id: int | None = None) -> str:
    """Gives the stored form of "the bot waits for a typed <kind> about <target>", stamped with now."""
    stored = f"{kind}:{target}@{int(now.timestamp())}"
    return stored if message_id is None else f"{stored}/{message_id}"


def open_question(person: people.Person, now: datetime) -> Question | None:
    """Gives the question a person has open, unless it is older than AWAIT_MINUTES.

    A question left unanswered must not capture a later reflection.
    """
    found = re.fullmatch(r"([a-z_]+):([0-9]{1,12})@([0-9]{1,12})(?:/([0-9]{1,12}))?", person.awaiting or "")
    if found is None:
        return None
    kind, target, stamp, message = found.groups()
    if now.timestamp() - int(stamp) > AWAIT_MINUTES * 60:
        return None
    return Question(kind, int(target), int(stamp), int(message) if message else None)


def read_awaiting(person: people.Person, now: datetime) -> tuple[str, int] | None:
    """Gives (kind, target) of the question a person has open (see `open_question`)."""
    question = open_question(person, now)
    return None if question is None else (question.kind, question.target)
