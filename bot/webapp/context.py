"""What every console page and action is handed: the bot's services, the page renderer and the bot itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from telegram import Bot

from bot.services import Services
from bot.webapp.pages import Pages
from bot.webapp.viewer import Viewer


@dataclass(frozen=True)
class Console:
    """The console's share of the running bot."""

    services: Services
    pages: Pages
    bot: Bot | None = None  # posts a broadcast's progress message in the facilitator's chat

    def page(self, viewer: Viewer, name: str, /, **values: Any) -> str:
        """Gives a page in the viewer's language, with the viewer at hand for the navigation and the chat's
        own short names (`button("capacity_name", capacity=…)`, `button("kind", kind=…)`) for the labels."""
        render, language = self.services.render, viewer.language

        def button(label: str, **label_values: Any) -> str:
            return render.button(language, label, **label_values)

        return self.pages.page(language, name, viewer=viewer, zone=viewer.zone, button=button, **values)


# A page: the query string's values in, HTML out. An action: the JSON body in, HTML out.
View = Callable[[Console, Viewer, Mapping[str, str]], Awaitable[str]]
Action = Callable[[Console, Viewer, dict[str, Any]], Awaitable[str]]
