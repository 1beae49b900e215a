"""The console's web server: aiohttp on the bot's own event loop, one address and port, nothing third-party.

Every address under `/api/` needs Telegram's signed initData in the `Authorization: tma <initData>`
header (Telegram's own convention for Mini Apps); the page addresses give the same small shell, whose
script reads initData and the theme from the fragment Telegram opens it with (`#tgWebAppData=…`) and asks
`/api/…` for the page in the viewer's language. No cookie is ever set, and every answer carries a strict
Content-Security-Policy: scripts, styles and fonts come only from this server.

Refusals say what HTTP means: 413 for a body over MAX_BODY (unread), 400 for a body that is not a JSON
object, 401 for missing, forged or expired initData, 403 for someone without the role, 404 for what is
not theirs or not there, 409 when the thing changed meanwhile, 422 for a change the calendar rules refuse.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web
from telegram import Bot

from bot.services import Services
from bot.webapp import facilitator, participant
from bot.webapp.context import Action, Console, View
from bot.webapp.home import view_home
from bot.webapp.initdata import InitDataError, check
from bot.webapp.pages import ConsoleError, Pages
from bot.webapp.viewer import Viewer, who

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"console.js": "text/javascript", "console.css": "text/css"}
MAX_BODY = 64 * 1024  # the longest thing the console sends is a broadcast of 3,500 characters
# The addresses that open the console on a page (the menu button opens "", /journal's button "journal", …).
PAGES = ("", "journal", "question", "pulse", "calendar", "stats", "broadcast")

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",  # charts come inline, as data: URLs, with the page that shows them
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    # Telegram Web shows a Mini App in a frame of its own page; the phone apps in a web view.
    "frame-ancestors 'self' https://web.telegram.org",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Resource-Policy": "same-origin",
}

LANGUAGE = web.RequestKey("language", str)  # the language a refusal is said in, once it is known
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def routes() -> tuple[dict[str, View], dict[str, Action]]:
    """Gives every page (GET /api/view/<name>) and every action (POST /api/<name>) of the console."""
    views: dict[str, View] = {"home": view_home, **participant.VIEWS, **facilitator.VIEWS}
    actions: dict[str, Action] = {**participant.ACTIONS, **facilitator.ACTIONS}
    return views, actions


class ConsoleServer:
    """Serves the console on one address and port until stopped."""

    def __init__(self, services: Services, bot: Bot | None, listen: str, port: int) -> None:
        self.console = Console(services, Pages(services.render), bot)
        self.listen = listen
        self.port = port
        self.views, self.actions = routes()
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self.guard])
        for page in PAGES:
            app.router.add_get("/" + page, self.shell)
        app.router.add_get("/static/{name}", self.static)
        app.router.add_get("/api/view/{name}", self.view)
        app.router.add_post("/api/{name}", self.act)
        # No access log: a line per request says nothing an operator needs, and paths may carry search words.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)

    @property
    def address(self) -> str:
        """Gives the local address the console answers on (http://host:port), for the demo and the tests."""
        return f"http://{self.listen}:{self.port}"

    async def start(self) -> None:
        """Binds the port (0 picks a free one, then `port` says which)."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.listen, self.port)
        await site.start()
        if self.port == 0:
            self.port = int(self._runner.addresses[0][1])
        log.info("console listening on %s:%d", self.listen, self.port)

    async def stop(self) -> None:
        """Stops taking requests."""
        await self._runner.cleanup()

    # -- plumbing

    @web.middleware
    async def guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Gives every answer the security headers, and turns every refusal into a page that says why."""
        language = self.console.services.settings.language
        try:
            response = await handler(request)
        except ConsoleError as failure:
            language = request.get(LANGUAGE, language)
            response = self._fragment(self.console.pages.error(language, failure), failure.status)
        except web.HTTPException as exc:  # aiohttp's own: no such address (404), method (405), body too large (413)
            words = {404: "not_found", 405: "not_found", 413: "too_large"}.get(exc.status, "bad_request")
            response = self._fragment(self.console.pages.error(language, ConsoleError(exc.status, words)), exc.status)
        except Exception:  # the console's one error handler: the bot keeps running, the viewer gets a sentence
            log.exception("console request failed path=%s", request.path.split("?")[0][:80])
            response = self._fragment(self.console.pages.error(language, ConsoleError(500, "failed")), 500)
        for name, value in SECURITY_HEADERS.items():
            response.headers[name] = value
        if "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response

    async def _viewer(self, request: web.Request) -> Viewer:
        """Gives who is asking, from the initData in the Authorization header, or refuses (401, 403)."""
        header = request.headers.get("Authorization", "")
        scheme, _, raw = header.partition(" ")
        services = self.console.services
        try:
            if scheme.lower() != "tma":
                raise InitDataError("missing")
            user = check(raw.strip(), services.settings.token, services.clock.now(), services.settings.webapp_max_age)
        except InitDataError as exc:
            log.info("console request refused: initData %s", exc.reason)
            raise ConsoleError(401, "expired" if exc.reason == "expired" else "not_signed") from None
        if user.language_code in ("en", "nl"):
            request[LANGUAGE] = user.language_code
        viewer = await who(services, user)
        request[LANGUAGE] = viewer.language
        return viewer

    def _fragment(self, html: str, status: int = 200) -> web.Response:
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")

    # -- addresses

    async def shell(self, request: web.Request) -> web.Response:
        """Gives the console's frame; the script in it asks for the page the address names."""
        html = self.console.pages.shell(self.console.services.settings.language)
        response = self._fragment(html)
        response.headers["Cache-Control"] = "no-cache"
        return response

    async def static(self, request: web.Request) -> web.Response:
        """Gives the console's script or style sheet (nothing else is served from disk)."""
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            raise ConsoleError(404, "not_found")
        body = (STATIC / name).read_bytes()
        response = web.Response(body=body, content_type=STATIC_FILES[name], charset="utf-8")
        response.headers["Cache-Control"] = "no-cache"
        return response

    async def view(self, request: web.Request) -> web.Response:
        """Gives one page of the console for who is asking."""
        viewer = await self._viewer(request)
        found = self.views.get(request.match_info["name"])
        if found is None:
            raise ConsoleError(404, "not_found")
        query: Mapping[str, str] = {k: v for k, v in request.query.items()}
        return self._fragment(await found(self.console, viewer, query))

    async def act(self, request: web.Request) -> web.Response:
        """Does one action for who is asking: the size first (unread), then who, then the body, then what."""
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise ConsoleError(413, "too_large")
        viewer = await self._viewer(request)
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise ConsoleError(413, "too_large") from None
        try:
            body: Any = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ConsoleError(400, "bad_json") from None
        if not isinstance(body, dict):
            raise ConsoleError(400, "bad_json")
        found = self.actions.get(request.match_info["name"])
        if found is None:
            raise ConsoleError(404, "not_found")
        return self._fragment(await found(self.console, viewer, body))
