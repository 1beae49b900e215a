"""Builds the python-telegram-bot Application: nothing is built at import time."""

from __future__ import annotations

import logging

from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults

from bot.services import Services
from bot.tg import console, handlers, menus
from bot.tg.context import AppServices, PitstopApplication, PitstopContext
from bot.tg.request import AiohttpRequest
from bot.tg.updates import PerChatUpdateProcessor, ReadableUpdatesRequest, ReadingBot

log = logging.getLogger(__name__)


def build_application(services: Services, *, polling: bool = True) -> PitstopApplication:
    """Gives the Application wired to the services: handlers, its dispatcher, start-up and shut-down hooks."""
    builder = (
        ApplicationBuilder()
        .application_class(PitstopApplication, kwargs={"services": AppServices.around(services)})
        .bot(make_bot(services))
        .context_types(ContextTypes(context=PitstopContext))
        # Side by side across chats, in order within one: a person's messages never race each other.
        .concurrent_updates(PerChatUpdateProcessor())
        # PTB types these hooks for its own Application, not for the subclass set above.
        .post_init(_post_init)  # type: ignore[arg-type]
        .post_stop(_post_stop)  # type: ignore[arg-type]
    )
    # The Updater serves both long polling and the webhook server (PTB's start_webhook).
    app = builder.build()
    assert isinstance(app, PitstopApplication)
    handlers.register(app)
    return app


def make_bot(services: Services) -> ReadingBot:
    """Gives the Bot: its requests over aiohttp, the default parse mode and zone, the Bot API server to use."""
    settings = services.settings
    return ReadingBot(
        settings.token,
        # another Bot API server (TELEGRAM_BASE_URL), else Telegram's (PTB's defaults)
        base_url=settings.api_base() or "https://api.telegram.org/bot",
        base_file_url=settings.file_base() or "https://api.telegram.org/file/bot",
        defaults=Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.zone, link_preview_options=None),
        # What the bot sends goes over aiohttp: a request costs the event loop a fifth of httpx's CPU.
        request=AiohttpRequest(),
        # One update the library cannot read must not hold up the rest of its batch.
        get_updates_request=ReadableUpdatesRequest(),
    )


async def _post_init(app: Application) -> None:  # type: ignore[type-arg]
    """Learns the bot's username, registers its commands, and arms the jobs from the database."""
    assert isinstance(app, PitstopApplication)
    services = app.services
    await menus.set_participant_menu(app.bot, services.render)
    await menus.set_leaders_menus(app.bot, services.db, services.render, services.settings.admins)
    await console.set_console_menu(app.bot, services.render, services.settings)
    await services.dispatcher.start()
    services.dispatcher.arm(app)
    log.info("bot ready username=%s", app.bot.username)


async def _post_stop(app: Application) -> None:  # type: ignore[type-arg]
    """Lets the dispatcher finish what is in flight before the process ends."""
    assert isinstance(app, PitstopApplication)
    await app.services.dispatcher.stop()
