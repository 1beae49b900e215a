"""What every handler and job needs, built once at start-up: settings, database, clock, templates."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.render import Renderer
from bot.store.db import Database


@dataclass(frozen=True)
class Services:
    """The shared resources of one running bot; the jobs and the Telegram edge both take them."""

    settings: Settings
    db: Database
    clock: Clock
    render: Renderer
