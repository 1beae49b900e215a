"""The typed context handlers receive: `context.db`, `context.clock`, `context.render`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.clock import Clock
from bot.config import Settings
from bot.render import Renderer
from bot.store.db import Database

if TYPE_CHECKING:
    from bot.jobs.dispatcher import Dispatcher


@dataclass
class Services:
    """What every handler and job needs, built once at start-up."""

    settings: Settings
    db: Database
    clock: Clock
    render: Renderer
    dispatcher: Dispatcher | None = None


class PitstopApplication(Application):  # type: ignore[type-arg]
    """The python-telegram-bot Application, carrying the services."""

    def __init__(self, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services


class PitstopContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """A context that exposes the services by name instead of bot_data string keys."""

    @property
    def services(self) -> Services:
        """Gives the services of the running application."""
        app = self.application
        assert isinstance(app, PitstopApplication)
        return app.services

    @property
    def db(self) -> Database:
        """Gives the database."""
        return self.services.db

    @property
    def clock(self) -> Clock:
        """Gives the clock."""
        return self.services.clock

    @property
    def render(self) -> Renderer:
        """Gives the renderer."""
        return self.services.render
