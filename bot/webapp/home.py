"""The console's first page: who you are, and the pages your roles open."""

from __future__ import annotations

from collections.abc import Mapping

from bot.webapp.context import Console
from bot.webapp.viewer import Viewer


async def view_home(console: Console, viewer: Viewer, query: Mapping[str, str]) -> str:
    """Gives the start page: a participant's own pages, and a facilitator's programmes."""
    return console.page(viewer, "home", programmes=list(viewer.led))
