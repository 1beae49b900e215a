"""The typed context handlers receive: `context.db`, `context.clock`, `context.render`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.clock import Clock
from bot.jobs.dispatcher import Dispatcher
from bot.render import Renderer
from bot.services import Services
from bot.store.db import Database


@dataclass(frozen=True)
class AppServices(Services):
    """The services as the Application holds them: the shared ones and the dispatcher it owns."""

    dispatcher: Dispatcher

    @classmethod
    def around(cls, services: Services) -> AppServices:
        """Gives the services with a dispatcher of their own, built from them (the jobs never see this class)."""
        return cls(services.settings, services.db, services.clock, services.render, Dispatcher(services))


class PitstopApplication(Application):  # type: ignore[type-arg]
    """The python-telegram-bot Application, carrying the services and its dispatcher."""

    def __init__(self, services: AppServices, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services


class PitstopContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """A context that exposes the services by name instead of bot_data string keys."""

    @property
    def services(self) -> AppServices:
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
