"""The command menus Telegram shows beside the message field: everyone's, and each facilitator's own.

Participants see their commands; facilitators and admins see those and theirs, set per chat. Every
description is its `command_<name>` template, in both languages.
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.render import Renderer
from bot.store import people
from bot.store.db import Database
from bot.store.people import Person

log = logging.getLogger(__name__)

PARTICIPANT_COMMANDS = ("journal", "question", "digest", "settings", "pause", "resume", "export", "forget", "help", "pulse", "story")
FACILITATOR_COMMANDS = ("broadcast", "stats", "reminders", "brief")
LANGUAGES = ("en", "nl")  # English is also the menu of every other app language


def command_list(render: Renderer, language: str, names: tuple[str, ...]) -> list[BotCommand]:
    """Gives a command menu in a language, each described by its `command_<name>` template."""
    return [BotCommand(name, render.message(language, f"command_{name}")) for name in names]


def _language_code(language: str) -> str | None:
    return None if language == "en" else language


async def set_participant_menu(bot: Bot, render: Renderer) -> None:
    """Gives every chat the participants' menu, in both languages."""
    for language in LANGUAGES:
        await bot.set_my_commands(
            command_list(render, language, PARTICIPANT_COMMANDS),
            scope=BotCommandScopeDefault(), language_code=_language_code(language),
        )


async def set_facilitator_menu(bot: Bot, render: Renderer, person: Person) -> None:
    """Gives a facilitator their own command menu (participant commands plus theirs), in both languages."""
    for language in LANGUAGES:
        commands = command_list(render, language, PARTICIPANT_COMMANDS + FACILITATOR_COMMANDS)
        try:
            await bot.set_my_commands(
                commands, scope=BotCommandScopeChat(person.chat_id), language_code=_language_code(language)
            )
        except TelegramError:
            log.warning("could not set the facilitator menu person=%d", person.id)


async def set_leaders_menus(bot: Bot, db: Database, render: Renderer, admins: frozenset[int]) -> None:
    """Gives every facilitator and known admin the menu with their commands (at start-up)."""
    for person in await people.leaders(db, admins):
        await set_facilitator_menu(bot, render, person)
