"""Builds the python-telegram-bot Application: nothing is built at import time."""

from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeDefault
from telegram.constants import ParseMode
from telegram.ext import ApplicationBuilder, ContextTypes, Defaults

from bot.render import Renderer
from bot.services import Services
from bot.tg import handlers
from bot.tg.context import AppServices, PitstopApplication, PitstopContext
from bot.tg.updates import PerChatUpdateProcessor, ReadableUpdatesRequest

log = logging.getLogger(__name__)

PARTICIPANT_COMMANDS = ("journal", "digest", "settings", "pause", "resume", "export", "forget", "help")


def build_application(services: Services, *, polling: bool = True) -> PitstopApplication:
    """Gives the Application wired to the services: handlers, its dispatcher, start-up and shut-down hooks."""
    settings = services.settings
    builder = (
        ApplicationBuilder()
        .application_class(PitstopApplication, kwargs={"services": AppServices.around(services)})
        .token(settings.token)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.zone, link_preview_options=None))
        .context_types(ContextTypes(context=PitstopContext))
        # Side by side across chats, in order within one: a person's messages never race each other.
        .concurrent_updates(PerChatUpdateProcessor(16))
        # One update the library cannot read must not hold up the rest of its batch.
        .get_updates_request(ReadableUpdatesRequest())
        .post_init(_post_init)
        .post_stop(_post_stop)
    )
    if settings.base_url:
        builder = builder.base_url(settings.api_base()).base_file_url(settings.file_base())
    # The Updater serves both long polling and the webhook server (PTB's start_webhook).
    app = builder.build()
    assert isinstance(app, PitstopApplication)
    handlers.register(app)
    return app


def command_list(render: Renderer, language: str, names: tuple[str, ...]) -> list[BotCommand]:
    """Gives a command menu in a language, each described by its `command_<name>` template."""
    return [BotCommand(name, render.message(language, f"command_{name}")) for name in names]


async def _post_init(app: PitstopApplication) -> None:  # type: ignore[type-arg]
    """Learns the bot's username, registers its commands, and arms the jobs from the database."""
    services = app.services
    for language in ("en", "nl"):
        await app.bot.set_my_commands(
            command_list(services.render, language, PARTICIPANT_COMMANDS),
            scope=BotCommandScopeDefault(), language_code=None if language == "en" else language,
        )
    await _facilitator_menus(app)
    await services.dispatcher.start()
    services.dispatcher.arm(app)
    log.info("bot ready username=%s", app.bot.username)


async def _facilitator_menus(app: PitstopApplication) -> None:  # type: ignore[type-arg]
    """Gives every facilitator and admin the menu with their commands."""
    from bot.store import people
    from bot.tg.facilitators import set_facilitator_menu

    services = app.services
    rows = await services.db.fetchall(
        "SELECT DISTINCT person.id FROM person LEFT JOIN membership ON membership.person_id = person.id"
        " WHERE person.status != 'blocked' AND (membership.role = 'facilitator' OR person.telegram_id IN (%s))"
        % ",".join(str(int(a)) for a in services.settings.admins or {0})  # noqa: UP031 (integers only)
    )
    for row in rows:
        person = await people.get_person(services.db, row[0])
        if person is not None:
            await set_facilitator_menu(app.bot, services.render, person)


async def _post_stop(app: PitstopApplication) -> None:  # type: ignore[type-arg]
    """Lets the dispatcher finish what is in flight before the process ends."""
    await app.services.dispatcher.stop()
