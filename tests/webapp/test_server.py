"""The console's door: only initData Telegram signed for this bot opens it, for someone the bot knows,
and every answer carries strict security headers, no cookie, and a clear sentence when it refuses."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import learning_set, programme
from tests.webapp.conftest import ADMIN, Site

ANNA, FIONA, STRANGER = 4101, 4102, 4199


async def people_of(site: Site) -> None:
    await site.load(programme(key="cpm", sets=[learning_set("set-a", "Set A")]))
    await site.participant(ANNA, "Anna", "cpm", "set-a")
    await site.facilitator(FIONA, "Fiona", "cpm", language="nl")


def secure(headers: dict[str, str]) -> None:
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "object-src 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in headers


async def test_every_console_address_gives_the_same_shell_with_only_its_own_script_and_style(site: Site) -> None:
    for path in ("/", "/journal", "/calendar", "/broadcast"):
        page = await site.get(path)
        assert page.status == 200
        secure(page.headers)
        assert '<script src="static/console.js"' in page.text and 'href="static/console.css"' in page.text
        assert "http" not in page.text.replace("https://web.telegram.org", "")  # nothing from elsewhere
    script = await site.get("/static/console.js")
    assert script.status == 200 and script.headers["Content-Type"].startswith("text/javascript")
    secure(script.headers)
    assert (await site.get("/static/../pitstop.db")).status == 404
    assert (await site.get("/static/other.js")).status == 404


async def test_requests_without_or_with_forged_or_old_initdata_are_refused_with_401(site: Site) -> None:
    await people_of(site)
    refused = await site.get("/api/view/home")
    assert refused.status == 401 and "opens only from the bot in Telegram" in refused.text
    secure(refused.headers)
    forged = site.signed(ANNA).replace(str(ANNA), str(FIONA))  # Anna's signature over Fiona's id
    assert str(FIONA) in forged and (await site.get("/api/view/home", init=forged)).status == 401
    old = site.signed(ANNA, at=site.clock.now() - timedelta(hours=2))
    expired = await site.get("/api/view/home", init=old)
    assert expired.status == 401 and "too long ago" in expired.text
    assert (await site.get("/api/view/home", init="user=%7B%22id%22%3A4101%7D")).status == 401
    assert (await site.post("/api/share", {"entry": 1})).status == 401


async def test_a_stranger_signed_by_telegram_is_refused_with_403_in_their_language(site: Site) -> None:
    await people_of(site)
    refused = await site.get("/api/view/home", init=site.signed(STRANGER, "Wes", "nl"))
    assert refused.status == 403 and "alleen op uitnodiging" in refused.text


async def test_a_known_person_gets_their_start_page_in_their_language(site: Site) -> None:
    await people_of(site)
    anna = await site.get("/api/view/home", as_user=ANNA)
    assert anna.status == 200 and "Hello, Anna" in anna.text and 'data-view="journal"' in anna.text
    assert 'data-view="calendar"' not in anna.text
    secure(anna.headers)
    assert anna.headers["Cache-Control"] == "no-store"
    fiona = await site.get("/api/view/home", as_user=FIONA)
    assert fiona.status == 200 and "Hallo, Fiona" in fiona.text and 'data-view="calendar"' in fiona.text
    assert 'data-view="journal"' not in fiona.text


async def test_an_admin_unknown_to_the_bot_gets_a_record_and_every_programme(site: Site) -> None:
    await people_of(site)
    admin = await site.get("/api/view/home", init=site.signed(ADMIN, "Ada", "en"))
    assert admin.status == 200 and "Hello, Ada" in admin.text and "Certified Public Manager" in admin.text


async def test_a_huge_body_is_refused_unread_and_a_broken_one_said_so(site: Site) -> None:
    await people_of(site)
    huge = await site.post("/api/share", raw=b"{" + b" " * (10 * 1024 * 1024) + b"}", as_user=ANNA)
    assert huge.status == 413 and "too much" in huge.text
    secure(huge.headers)
    broken = await site.post("/api/share", raw=b'{"entry": 1', as_user=ANNA)
    assert broken.status == 400 and "could not read" in broken.text
    not_an_object = await site.post("/api/share", raw=b"[1, 2]", as_user=ANNA)
    assert not_an_object.status == 400
    assert (await site.post("/api/nothing-here", {}, as_user=ANNA)).status == 404
    assert (await site.get("/api/view/nothing-here", as_user=ANNA)).status == 404
    assert (await site.get("/api/view/home", as_user=ANNA)).status == 200  # and the console keeps serving
