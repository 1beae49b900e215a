"""Small helpers every handler module uses: the language to answer in, and answering from templates."""

from __future__ import annotations

import re
from datetime import datetime

from telegram import Update
from telegram.error import BadRequest

from bot.store import people
from bot.tg.context import PitstopContext


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
    await query.answer(text[:200], show_alert=alert)


async def stale_button(update: Update, context: PitstopContext, language: str) -> None:
    """Answers a press on a button that no longer applies, or was never ours; changes nothing."""
    await answer_button(update, context, language, "stale")


def is_id(raw: str) -> bool:
    """Gives whether button data holds a plain row id (ASCII digits: `str.isdigit` also accepts "²")."""
    return re.fullmatch(r"[0-9]{1,11}", raw) is not None


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


def awaiting(kind: str, target: int, now: datetime) -> str:
    """Gives the stored form of "the bot waits for a typed <kind> about <target>", stamped with now."""
    return f"{kind}:{target}@{int(now.timestamp())}"


def read_awaiting(person: people.Person, now: datetime) -> tuple[str, int] | None:
    """Gives what the bot waits for from a person, unless it is older than AWAIT_MINUTES.

    A question left unanswered must not capture a later reflection (which would then be shared).
    """
    raw = person.awaiting or ""
    kind, _, rest = raw.partition(":")
    target, _, stamp = rest.partition("@")
    if not kind or not target.isascii() or not target.isdigit() or not stamp.isdigit():
        return None
    if now.timestamp() - int(stamp) > AWAIT_MINUTES * 60:
        return None
    return kind, int(target)
