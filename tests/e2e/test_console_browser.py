"""The console in a real headless browser (Debian's chromium and chromium-driver, driven by selenium), served by
the running bot: a facilitator moves a meeting and its digest's planned time moves in the outbox; a participant
searches their journal and finds an entry; texts planted as private never reach a facilitator's page or any API
response, and a participant never sees another's entry; a page opened without or with forged initData is
refused. Screenshots of the main pages are saved under the test's temporary folder and their paths printed.

One browser serves the whole module; selenium's calls block, so each runs in a thread while the bot (on this
test's event loop) answers the browser.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from bot.sandbox.fakeapi import FakeUser
from bot.webapp.initdata import signed_for
from tests.e2e.test_console import with_console
from tests.e2e.test_sharing import reflect
from tests.e2e.world import World, local
from tests.factories import learning_set, meeting, module, programme

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
MISSING = ("the browser tests need Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver;"
           " .ci/run installs them)")
if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
    if os.environ.get("PITSTOP_BROWSER_TESTS") == "required":  # .ci/run: never a silent skip
        pytest.fail(MISSING, pytrace=False)
    pytest.skip(MISSING, allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="the browser tests need selenium (pip install -e '.[test]')")
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

PROGRAMME = programme(
    key="cpm",
    modules=[module("m1", "The Challenges", "2027-03-01", "2027-04-30"),
             module("m2", "The Person", "2027-05-01", "2027-06-30")],
    sets=[learning_set("set-a", "Set A", [meeting("2027-04-06T14:00:00", "Utrecht")])],
)
FIONA = FakeUser(id=6001, first_name="Fiona")
ANNA = FakeUser(id=6002, first_name="Anna")
BOB = FakeUser(id=6003, first_name="Bob")
ANNA_PRIVATE = "PLANTED-ANNA-PRIVATE: my doubts about the director's budget plan."
ANNA_SHARED = "Asked the team first before deciding; it changed the plan."
BOB_PRIVATE = "PLANTED-BOB-PRIVATE: worried about my own role in the budget round."
DARK = {"bg_color": "#17212b", "text_color": "#f5f5f5", "hint_color": "#708499", "link_color": "#6ab3f3",
        "button_color": "#5288c1", "button_text_color": "#ffffff", "secondary_bg_color": "#232e3c"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Gives one headless chromium, 360 px wide like a phone, that logs what the network answers."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=360,780", "--disable-extensions", "--no-first-run"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(20)
    # A phone's screen: a window cannot be narrower than 500 px in headless chromium, a page's viewport can.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 360, "height": 780, "deviceScaleFactor": 2, "mobile": True})
    try:
        yield driver
    finally:
        driver.quit()


@dataclass
class Console:
    """The browser pointed at the bot's console, with the selenium calls moved off the event loop."""

    driver: Any
    address: str
    folder: Path
    shots: list[Path]

    async def call(self, action: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(action, *args)

    async def open(self, page: str, user: FakeUser | None, world: World, theme: dict[str, str] | None = None,
                   init: str | None = None) -> None:
        """Opens a page as Telegram would: initData signed for the user (or as given) in the fragment."""
        if init is None and user is not None:
            init = signed_for(user.id, user.first_name, user.language_code or "en", world.settings.token, world.clock.now())
        fragment = ""
        if init is not None:
            fragment = f"#tgWebAppData={quote(init)}&tgWebAppThemeParams={quote(json.dumps(theme or {}))}"
        await self.call(self.driver.get, "about:blank")
        await self.call(self.driver.get_log, "performance")  # forget what earlier pages answered
        await self.call(self.driver.get, f"{self.address}/{page}{fragment}")

    async def wait(self, css: str, timeout: float = 10.0) -> Any:
        """Waits until an element is on the page; gives it."""
        def find() -> Any:
            try:
                return WebDriverWait(self.driver, timeout).until(lambda d: d.find_element(By.CSS_SELECTOR, css))
            except TimeoutException:
                raise AssertionError(f"{css} never appeared; the page holds:\n{self.driver.page_source[:3000]}") from None
        return await self.call(find)

    async def text(self) -> str:
        return str(await self.call(lambda: self.driver.page_source))

    async def script(self, code: str, *args: Any) -> Any:
        return await self.call(self.driver.execute_script, code, *args)

    async def shot(self, name: str) -> None:
        """Saves a screenshot of the page as it stands."""
        path = self.folder / f"{name}.png"
        await self.call(self.driver.save_screenshot, str(path))
        self.shots.append(path)

    async def api_bodies(self) -> list[str]:
        """Gives the body of every /api/ response the browser received since the page was opened."""
        def read() -> list[str]:
            bodies = []
            for entry in self.driver.get_log("performance"):
                message = json.loads(entry["message"])["message"]
                if message.get("method") != "Network.responseReceived":
                    continue
                if "/api/" not in message["params"]["response"]["url"]:
                    continue
                try:
                    found = self.driver.execute_cdp_cmd("Network.getResponseBody",
                                                        {"requestId": message["params"]["requestId"]})
                except Exception:  # a body the browser no longer keeps (the page was left): nothing to read
                    continue
                bodies.append(found.get("body", ""))
            return bodies
        return await self.call(read)


@pytest.fixture
async def console(world: World, browser: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    """Gives the browser on the console of a bot that runs the test programme, and prints the screenshots' paths."""
    port = with_console(world)
    await world.load(PROGRAMME)
    found = Console(browser, f"http://127.0.0.1:{port}", tmp_path, [])
    yield found
    with capsys.disabled():
        for path in found.shots:
            print(f"\nscreenshot: {path}")


async def cast(world: World) -> None:
    """The bot runs; Fiona leads, Anna and Bob take part in set A and write; Anna shares one reflection."""
    world.clock.set(local("2027-03-24T10:00"))
    await world.start()
    await world.onboard(FIONA, await world.invite("cpm", role="facilitator"))
    await world.onboard(ANNA, await world.invite("cpm", "set-a"))
    await world.onboard(BOB, await world.invite("cpm", "set-a"))
    await reflect(world, ANNA, ANNA_PRIVATE)
    world.clock.set(local("2027-03-24T11:00"))  # later than the bot's "same reflection" window
    ack = await reflect(world, ANNA, ANNA_SHARED)
    await world.press(ANNA, ack, next(d for _, d in ack.buttons() if d.endswith(":shared")))
    await world.scalar_becomes("SELECT count(*) FROM reflection WHERE visibility = 'shared'", (), 1)
    world.clock.set(local("2027-03-24T12:00"))
    await reflect(world, BOB, BOB_PRIVATE)


async def digest_due(world: World) -> list[str]:
    rows = await world.db.fetchall(
        "SELECT outbox.due_at FROM outbox JOIN digest"
        " ON digest.id = CAST(json_extract(outbox.payload, '$.digest_id') AS INTEGER)"
        " WHERE outbox.kind = 'digest' AND outbox.status = 'pending' AND digest.meeting_starts IS NOT NULL"
        " ORDER BY outbox.due_at"
    )
    return [r[0] for r in rows]


async def test_a_facilitator_moves_a_meeting_and_its_digest_moves_without_any_private_text(
    world: World, console: Console,
) -> None:
    await cast(world)
    for _ in range(500):  # the bot's planner plans the digest of the meeting on 6 April
        if await digest_due(world):
            break
        await asyncio.sleep(0.02)
    assert (await digest_due(world))[0].startswith("2027-04-04")

    await console.open("calendar", FIONA, world, theme=DARK)
    await console.wait('[data-move="s:set-a:0"]')
    background = await console.script("return getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(23, 33, 43)"  # Telegram's theme colour, from the fragment
    assert await console.script("return window.innerWidth") == 360
    assert await console.script("return document.documentElement.scrollWidth") <= 360  # fits a phone, no sideways
    await console.shot("facilitator-calendar")
    await console.call((await console.wait('[data-move="s:set-a:0"]')).click)
    day = await console.wait("#starts-day")
    await console.script("arguments[0].value = '2027-04-09'", day)
    await console.script("document.getElementById('starts-time').value = '15:30'")
    await console.shot("facilitator-move-meeting")
    await console.call((await console.wait('[data-page="event"] button[type="submit"]')).click)
    done = await console.wait(".ok")
    assert "Moved." in await console.call(lambda: done.text)
    await console.shot("facilitator-calendar-moved")
    due = await digest_due(world)
    assert due[0].startswith("2027-04-07") and not any(d.startswith("2027-04-04") for d in due)

    await console.call((await console.wait('a[data-view="stats"]')).click)
    await console.wait('[data-page="stats"] table')
    await console.shot("facilitator-stats")
    pages = [await console.text(), *await console.api_bodies()]
    assert len(pages) >= 4  # the calendar, the form, the move and the numbers
    for planted in ("PLANTED-ANNA-PRIVATE", "PLANTED-BOB-PRIVATE", ANNA_SHARED):
        assert all(planted not in page for page in pages), planted


async def test_a_participant_searches_their_journal_and_never_sees_another_persons_entry(
    world: World, console: Console,
) -> None:
    await cast(world)
    await console.open("journal", ANNA, world)
    await console.wait('[data-page="journal"] .entry')
    await console.shot("participant-journal")
    search = await console.wait("#q")
    await console.call(search.send_keys, "budget plan")
    await console.call((await console.wait('form[role="search"] button[type="submit"]')).click)
    await console.wait('[data-found="1"]')
    listed = await console.text()
    assert "my doubts about the director" in listed and ANNA_SHARED not in listed
    await console.shot("participant-search")
    await console.call((await console.wait("a.entry")).click)
    await console.wait('[data-page="entry"]')
    assert "Share with my set" in await console.text()
    await console.shot("participant-entry")
    pages = [await console.text(), *await console.api_bodies()]
    assert len(pages) >= 3
    for page in pages:
        assert "PLANTED-BOB-PRIVATE" not in page and "worried about my own role" not in page


async def test_a_page_opened_without_or_with_forged_initdata_is_refused(world: World, console: Console) -> None:
    await cast(world)
    await console.open("journal", None, world)
    refused = await console.wait('#notice .error[data-status="401"]')
    assert "opens only from the bot in Telegram" in await console.call(lambda: refused.text)
    await console.shot("refused-without-initdata")
    forged = signed_for(ANNA.id, "Anna", "en", world.settings.token, world.clock.now()).replace(str(ANNA.id), str(BOB.id))
    await console.open("journal", None, world, init=forged)
    await console.wait('#notice .error[data-status="401"]')
    pages = [await console.text(), *await console.api_bodies()]
    assert all("PLANTED" not in page and "Anna" not in page for page in pages)
    await console.shot("refused-forged-initdata")
