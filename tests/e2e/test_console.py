"""The console (a Telegram Mini App) is served by the bot process itself when PITSTOP_WEBAPP_URL is set,
on the Application's own event loop, and stops with it; unset, there is none."""

from __future__ import annotations

from dataclasses import replace

import aiohttp

from bot.runtime import console_of
from bot.webapp.initdata import signed_for
from tests.e2e.test_webhook import free_port
from tests.e2e.world import World

CONSOLE_URL = "https://console.example.org/pitstop"


def with_console(world: World) -> int:
    """Turns the console on for the next start; gives the port it will listen on."""
    port = free_port()
    world.settings = replace(world.settings, webapp_url=CONSOLE_URL, webapp_port=port)
    return port


async def test_the_bot_serves_the_console_while_it_runs_and_stops_it_with_itself(world: World) -> None:
    port = with_console(world)
    app = await world.start()
    server = console_of(app)
    assert server is not None and server.port == port
    signed = signed_for(9000, "Ada", "en", world.settings.token, world.clock.now())  # an admin of the test settings
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/") as shell:
            assert shell.status == 200 and "console.js" in await shell.text()
        async with session.get(f"http://127.0.0.1:{port}/api/view/home", headers={"Authorization": f"tma {signed}"}) as home:
            assert home.status == 200 and "Hello, Ada" in await home.text()
        await world.stop()
        assert console_of(app) is None
        try:
            async with session.get(f"http://127.0.0.1:{port}/"):
                raise AssertionError("the console still answers after the bot stopped")
        except aiohttp.ClientConnectionError:
            pass


async def test_without_its_address_the_bot_serves_no_console(world: World) -> None:
    app = await world.start()
    assert world.settings.webapp_url is None and console_of(app) is None
