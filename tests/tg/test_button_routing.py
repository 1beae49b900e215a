"""Every button bot/buttons.py can parse has one handler in `handlers.PRESSES`: a new kind of button
that nobody routes would answer every press as stale."""

from __future__ import annotations

from typing import get_args

from bot import buttons
from bot.tg.handlers import PRESSES


def test_every_kind_of_button_is_routed_to_exactly_one_handler() -> None:
    routes = {kind.__name__: [press.__name__ for taken, press in PRESSES if issubclass(kind, taken)]
              for kind in get_args(buttons.Button)}
    assert {name: found for name, found in routes.items() if len(found) != 1} == {}
