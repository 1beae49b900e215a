"""Starting and stopping the real Application: shared by `pitstop run`, the demo and the tests."""

from __future__ import annotations

import gc
import logging

from telegram.error import InvalidToken, NetworkError

from bot.clock import Clock
from bot.config import Settings
from bot.logs import install_redaction
from bot.render import Renderer
from bot.services import Services
from bot.store.db import Database
from bot.tg.app import build_application
from bot.tg.context import PitstopApplication
from bot.tg.webhook import WebhookServer
from bot.webapp.server import ConsoleServer

log = logging.getLogger(__name__)

# The webhook server of each running Application (webhook mode only), stopped by halt().
_webhooks: dict[int, WebhookServer] = {}
# The console of each running Application (when PITSTOP_WEBAPP_URL is set), stopped by halt().
_consoles: dict[int, ConsoleServer] = {}


class StartError(Exception):
    """The bot cannot start; one sentence for the operator."""


async def launch(
    settings: Settings, clock: Clock, db: Database, render: Renderer | None = None, poll_timeout: int = 10
) -> PitstopApplication:
    """Builds, initialises and starts the Application, long polling unless a webhook is configured."""
    install_redaction(settings.token)  # before the first request: the libraries log payloads at several levels
    services = Services(settings=settings, db=db, clock=clock, render=render or Renderer())
    app = build_application(services, polling=settings.webhook_url is None)
    try:
        await app.initialize()
    except InvalidToken:
        raise StartError("Telegram refused TELEGRAM_BOT_TOKEN; check it with @BotFather.") from None
    except NetworkError as exc:
        where = settings.base_url or "api.telegram.org"
        raise StartError(f"Telegram cannot be reached at {where} ({exc.message}).") from None
    if app.post_init:
        await app.post_init(app)
    await app.start()
    if settings.webhook_url is None:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=poll_timeout, drop_pending_updates=False)
    else:
        await _start_webhook(app, settings)
    if settings.webapp_url is not None:
        await _start_console(app, settings)
    return app


def spare_the_collector() -> None:
    """Leaves what is alive once the bot has started out of every later garbage collection (`gc.freeze`).

    Why: templates, the prompt library, the programmes and the libraries' own objects are about 90,000
    objects that live as long as the process. A full collection looked at all of them and held every handler
    up for 40 to 110 ms, a few times a minute under load (`python -m bench reflections`, open loop); with them
    frozen it looks only at what the traffic made (under 10 ms). For a process that starts one Application
    (`pitstop run`): one that starts many (the tests) would keep the cycles of those it has stopped.
    """
    gc.collect()
    gc.freeze()


async def halt(app: PitstopApplication) -> None:
    """Stops polling and jobs, lets the dispatcher finish what is in flight, and shuts down."""
    # Before the JobQueue stops: it waits for running jobs, and a broadcast may have thousands left.
    app.services.dispatcher.request_stop()
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    webhook = _webhooks.pop(id(app), None)
    if webhook is not None:
        await webhook.stop()
    console = _consoles.pop(id(app), None)
    if console is not None:
        await console.stop()
    if app.job_queue is not None and app.job_queue.scheduler.running:
        # No job starts from here on. The JobQueue's stop waits for the jobs running, then shuts the
        # scheduler down, which cancels any job started in between: a dispatcher run cut off halfway,
        # logged as an error.
        app.job_queue.scheduler.pause()
    if app.running:
        await app.stop()
    if app.post_stop:
        await app.post_stop(app)
    await app.shutdown()


async def _start_webhook(app: PitstopApplication, settings: Settings) -> None:
    """Starts the webhook server, which refuses requests without the secret header before reading them."""
    server = WebhookServer(
        app, settings.webhook_url or "", settings.webhook_secret or "", settings.webhook_listen, settings.webhook_port
    )
    try:
        await server.start()
    except OSError as exc:
        await server.stop()
        raise StartError(
            f"The webhook cannot listen on {settings.webhook_listen}:{settings.webhook_port} ({exc.strerror})."
        ) from None
    _webhooks[id(app)] = server


def console_of(app: PitstopApplication) -> ConsoleServer | None:
    """Gives the console a running Application serves, if any (the tests ask it for its address)."""
    return _consoles.get(id(app))


async def _start_console(app: PitstopApplication, settings: Settings) -> None:
    """Serves the console (the Mini App) on the bot's own event loop, beside the Application."""
    server = ConsoleServer(app.services, app.bot, settings.webapp_listen, settings.webapp_port)
    try:
        await server.start()
    except OSError as exc:
        await server.stop()
        await halt(app)
        raise StartError(
            f"The console cannot listen on {settings.webapp_listen}:{settings.webapp_port} ({exc.strerror});"
            " set PITSTOP_WEBAPP_PORT to a free port."
        ) from None
    _consoles[id(app)] = server
