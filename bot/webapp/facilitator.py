"""The console's pages for a facilitator."""

from __future__ import annotations

from bot.webapp.context import Action, View

VIEWS: dict[str, View] = {}
ACTIONS: dict[str, Action] = {}
