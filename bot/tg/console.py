"""The way into the console (the Mini App) from the chat: the menu button and `web_app` buttons.

Only when PITSTOP_WEBAPP_URL is set; unset, none of this sends or adds anything and the chat does
everything as before. Telegram opens the address with the signed initData in its fragment.
"""

from __future__ import annotations

import logging

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, MenuButtonWebApp, Update, WebAppInfo
from telegram.error import TelegramError

from bot.config import Settings
from bot.render import Renderer
from bot.store.people import Person
from bot.tg.context import PitstopContext

log = logging.getLogger(__name__)


def console_address(settings: Settings, page: str = "") -> str | None:
    """Gives the console's public address of a page ("" is its start page), or None when there is no console."""
    if settings.webapp_url is None:
        return None
    return f"{settings.webapp_url}/{page}"


def console_button(context: PitstopContext, language: str, page: str) -> InlineKeyboardButton | None:
    """Gives a button that opens the console on a page (journal, stats or broadcast: each has its label), or None
    when there is no console."""
    address = console_address(context.services.settings, page)
    if address is None:
        return None
    label = context.render.button(language, f"open_console_{page}")
    return InlineKeyboardButton(label, web_app=WebAppInfo(address))


async def set_console_menu(bot: Bot, render: Renderer, settings: Settings) -> None:
    """Makes the menu button beside every private chat's message field open the console (when there is one)."""
    address = console_address(settings)
    if address is None:
        return
    button = MenuButtonWebApp(render.button(settings.language, "console_menu"), WebAppInfo(address))
    try:
        await bot.set_chat_menu_button(menu_button=button)
    except TelegramError as exc:
        log.warning("could not set the console's menu button error=%s", type(exc).__name__)


async def offer_console(update: Update, context: PitstopContext, person: Person, page: str) -> None:
    """Sends a short message with a button into the console after a command it does better (when there is one)."""
    button = console_button(context, person.language, page)
    chat = update.effective_chat
    if button is None or chat is None:
        return
    await context.bot.send_message(
        chat.id, context.render.message(person.language, "console_offer"), reply_markup=InlineKeyboardMarkup([[button]])
    )
