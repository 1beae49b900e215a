"""Handlers: parse the update, call the store or domain, reply from a template."""

from __future__ import annotations

import html
import logging

from telegram import Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot.store import people
from bot.tg.context import PitstopContext

log = logging.getLogger(__name__)


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Adds every handler, the catch-all last, and the one error handler."""
    app.add_handler(CommandHandler("start", start_bot))
    app.add_handler(CommandHandler("help", show_help))
    app.add_handler(MessageHandler(filters.ALL, answer_anything_else))
    app.add_error_handler(report_error)


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


async def start_bot(update: Update, context: PitstopContext) -> None:
    """Welcomes a known person back; tells a stranger the bot works by invitation."""
    user = update.effective_user
    if user is None:
        return
    person = await people.get_person_by_telegram(context.db, user.id)
    if person is None:
        await reply(update, context, language_of(update, context), "not_invited")
        return
    await reply(update, context, person.language, "welcome_back", name=person.name)


async def show_help(update: Update, context: PitstopContext) -> None:
    """Lists what the bot does, in the person's language."""
    user = update.effective_user
    if user is None:
        return
    person = await people.get_person_by_telegram(context.db, user.id)
    if person is None:
        await reply(update, context, language_of(update, context), "not_invited")
        return
    facilitator = await people.is_facilitator(context.db, person.id) or user.id in context.services.settings.admins
    await reply(update, context, person.language, "help", facilitator=facilitator)


async def answer_anything_else(update: Update, context: PitstopContext) -> None:
    """Gives strangers the invitation sentence; everything else is handled by later handlers."""
    user = update.effective_user
    if user is None or update.effective_chat is None:
        return
    person = await people.get_person_by_telegram(context.db, user.id)
    if person is None and update.effective_chat.type == "private":
        await reply(update, context, language_of(update, context), "not_invited")


async def report_error(update: object, context: PitstopContext) -> None:
    """Logs the failure with its trace (never message text), then apologises to the user."""
    log.error("update failed: %s", html.escape(type(context.error).__name__), exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            person = None
            if update.effective_user is not None:
                person = await people.get_person_by_telegram(context.db, update.effective_user.id)
            await reply(update, context, language_of(update, context, person), "error")
        except Exception:  # the apology itself failed: the log above already has the cause
            log.warning("could not send the error answer", exc_info=True)
