"""The typed context handlers receive: `context.db`, `context.clock`, `context.render`."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.clock import Clock
from bot.jobs.dispatcher import Dispatcher
from bot.render import Renderer
from bot.services import Services
from bot.store.db import Database


class SeenPeople:
    """Whom a Telegram user was when last seen here: user id → person id, the last `LIMIT` people.

    Only a guess, so that what a journal message needs can be read beside the person instead of after it
    (bot.tg.handlers.take_text); what it gave is used only when the person read says the same.
    """

    LIMIT = 20_000

    def __init__(self) -> None:
        self._ids: OrderedDict[int, int] = OrderedDict()

    def guess(self, telegram_id: int) -> int | None:
        """Gives the person id this user had when last seen, if seen lately."""
        return self._ids.get(telegram_id)

    def saw(self, telegram_id: int, person_id: int) -> None:
        """Notes whom this user is now."""
        self._ids[telegram_id] = person_id
        self._ids.move_to_end(telegram_id)
        if len(self._ids) > self.LIMIT:
            self._ids.popitem(last=False)


@dataclass(frozen=True)
class AppServices(Services):
    """The services as the Application holds them: the shared ones, the dispatcher it owns, whom it saw."""

    dispatcher: Dispatcher
    seen: SeenPeople = field(default_factory=SeenPeople)

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
