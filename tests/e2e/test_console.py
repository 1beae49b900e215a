"""The console (a Telegram Mini App) is served by the bot process itself when PITSTOP_WEBAPP_URL is set,
on the Application's own event loop, and stops with it; unset, there is none."""

from __future__ import annotations

from dataclasses import replace

import aiohttp

from bot.runtime import console_of
from bot.sandbox.fakeapi import FakeUser
from bot.webapp.initdata import signed_for
from tests.e2e.test_webhook import free_port
from tests.e2e.world import World
from tests.factories import learning_set, programme

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


async def test_a_broadcast_composed_in_the_console_takes_the_chats_preview_and_reaches_everyone(world: World) -> None:
    port = with_console(world)
    await world.load(programme(key="cpm", sets=[learning_set("set-a", "Set A")]))
    await world.start()
    fiona, anna = FakeUser(id=5301, first_name="Fiona"), FakeUser(id=5302, first_name="Anna", language_code="nl")
    await world.onboard(fiona, await world.invite("cpm", role="facilitator"))
    await world.onboard(anna, await world.invite("cpm", "set-a"), language="nl")
    set_id = await world.db.scalar("SELECT id FROM learning_set WHERE key = 'set-a'")
    signed = signed_for(fiona.id, "Fiona", "en", world.settings.token, world.clock.now())
    headers = {"Authorization": f"tma {signed}"}
    address = f"http://127.0.0.1:{port}/api"
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.post(f"{address}/broadcast_preview", json={"audience": f"s:{set_id}", "text": ""}) as empty:
            assert empty.status == 422
        text = "Bring one <real> case to Pitstop 2 & your questions."
        async with session.post(f"{address}/broadcast_preview", json={"audience": f"s:{set_id}", "text": text}) as preview:
            page = await preview.text()
            assert preview.status == 200 and "exactly what 1 recipient will see" in page
            assert "Bring one &lt;real&gt; case" in page and "Send now to 1" in page
        draft = int(page.split('data-draft="')[1].split('"')[0])
        assert await world.db.scalar("SELECT count(*) FROM outbox WHERE kind = 'broadcast'") == 0  # nothing yet
        async with session.post(f"{address}/broadcast_send", json={"draft": str(draft)}) as sent:
            assert sent.status == 200 and "Sending to 1 recipient" in await sent.text()
        async with session.post(f"{address}/broadcast_send", json={"draft": str(draft)}) as again:
            assert again.status == 409
    copy = await world.expect(anna, "Bring one &lt;real&gt; case")
    assert "Certified Public Manager" in (copy.text or "")
    await world.expect(fiona, lambda m: "delivered to the one recipient" in " ".join([m.text or "", *m.edits]))
    entry = await world.db.fetchone("SELECT actor, detail FROM audit_log WHERE action = 'broadcast.send'")
    assert entry is not None and entry[0] == str(fiona.id) and "via=console" in entry[1]


async def open_the_commands(world: World) -> tuple[FakeUser, FakeUser]:
    """A facilitator and a participant join; the participant writes a reflection; each opens their commands."""
    await world.load(programme(key="cpm", sets=[learning_set("set-a", "Set A")]))
    await world.start()
    fiona, anna = FakeUser(id=5401, first_name="Fiona"), FakeUser(id=5402, first_name="Anna")
    await world.onboard(fiona, await world.invite("cpm", role="facilitator"))
    await world.onboard(anna, await world.invite("cpm", "set-a"))
    await world.say(anna, "A first thought for my journal.")
    await world.expect(anna, lambda m: any(d.startswith("sh:") for _, d in m.buttons()))
    await world.say(anna, "/journal")
    await world.expect(anna, "first thought")
    await world.say(fiona, "/broadcast")
    await world.expect(fiona, lambda m: any(d.startswith("bc:aud:") for _, d in m.buttons()))
    await world.say(fiona, "/stats")
    await world.expect(fiona, lambda m: m.photo is not None)
    await world.settle()
    return fiona, anna


def web_apps(world: World, user: FakeUser) -> list[str]:
    """Gives the address of every web_app button the bot sent a user, in order."""
    return [button["web_app"]["url"] for m in world.fake.sent(user.id) if m.reply_markup
            for row in m.reply_markup.get("inline_keyboard", []) for button in row if "web_app" in button]


async def test_with_a_console_the_menu_button_and_the_commands_open_it(world: World) -> None:
    with_console(world)
    fiona, anna = await open_the_commands(world)
    assert world.fake.menu_buttons[None]["type"] == "web_app"
    assert world.fake.menu_buttons[None]["web_app"]["url"] == CONSOLE_URL + "/"
    assert web_apps(world, anna) == [CONSOLE_URL + "/journal"]
    assert web_apps(world, fiona) == [CONSOLE_URL + "/broadcast", CONSOLE_URL + "/stats"]
    offer = world.fake.sent(fiona.id)[-1]
    assert "also in the console" in (offer.text or "") and offer.buttons()[0][1] == CONSOLE_URL + "/stats"


async def test_without_a_console_the_commands_are_as_they_were(world: World) -> None:
    fiona, anna = await open_the_commands(world)
    assert world.fake.requests["setChatMenuButton"] == 0 and world.fake.menu_buttons == {}
    assert web_apps(world, anna) == [] and web_apps(world, fiona) == []
    assert not any("console" in (m.text or "") for m in world.fake.sent(fiona.id) + world.fake.sent(anna.id))
    assert world.fake.sent(fiona.id)[-1].photo is not None  # /stats ends with its chart, as before
