"""Webhook mode: a small aiohttp server that checks Telegram's secret header before it reads a byte of body.

python-telegram-bot's webhook server (tornado) reads bodies of up to 100 MB into memory before it
looks at the header, so anyone who finds the address can fill the bot's memory. This server answers
403 to a request without the secret and 413 to a body larger than any update Telegram sends, both
unread, and feeds the updates it takes to the Application's update queue (PTB's documented way for
a custom webhook server). An update the library cannot read is answered 200 and skipped, so that
Telegram does not send it again and again.

On PostgreSQL, where several processes may serve the one address, an update is stored in the shared
inbox before Telegram hears 200, and handled by whichever process holds its chat (bot.tg.inbox).
"""

from __future__ import annotations

import hmac
import json
import logging
from urllib.parse import urlparse

from aiohttp import web
from telegram import Update

from bot.tg.context import PitstopApplication
from bot.tg.inbox import Drainer

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# An update is at most a few tens of kilobytes (4096 characters, entities, a quoted message); 1 MiB is plenty.
MAX_BODY = 1024 * 1024


class WebhookServer:
    """Serves the webhook path on one address and port until stopped."""

    def __init__(self, app: PitstopApplication, url: str, secret: str, listen: str, port: int) -> None:
        self.app = app
        self.url = url
        self.secret = secret.encode()
        self.listen = listen
        self.port = port
        self.skipped = 0
        # PostgreSQL: several processes may serve this address; updates go through the shared inbox.
        self.drainer = Drainer(app) if app.services.db.engine == "postgresql" else None
        web_app = web.Application(client_max_size=MAX_BODY)
        web_app.router.add_post("/" + urlparse(url).path.lstrip("/"), self.take)
        # No access log: the path is the bot's address, and nothing per request is worth a line.
        self._runner = web.AppRunner(web_app, access_log=None, handle_signals=False)

    async def start(self) -> None:
        """Binds the port and tells Telegram where to send updates, with the secret."""
        if self.drainer is not None:
            self.drainer.start()
        await self._runner.setup()
        await web.TCPSite(self._runner, self.listen, self.port).start()
        await self.app.bot.set_webhook(url=self.url, secret_token=self.secret.decode(), allowed_updates=Update.ALL_TYPES)
        log.info("webhook listening on %s:%d", self.listen, self.port)

    async def stop(self) -> None:
        """Stops taking requests (the webhook stays registered with Telegram, which keeps updates until we return)."""
        await self._runner.cleanup()
        if self.drainer is not None:
            await self.drainer.stop()

    async def take(self, request: web.Request) -> web.Response:
        """Answers one request from Telegram: checks the header, then the size, then reads and queues the update."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            return web.Response(status=403)
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.Response(status=413)
        try:
            raw = json.loads(await request.read())
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413)
        except (ValueError, UnicodeDecodeError):
            log.warning("webhook request refused: not JSON")
            return web.Response(status=400)
        if not isinstance(raw, dict) or not isinstance(raw.get("update_id"), int):
            log.warning("webhook request refused: not an update")
            return web.Response(status=400)
        try:
            update = Update.de_json(raw, self.app.bot)
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:  # what a bad field raises
            self.skipped += 1
            kinds = ",".join(sorted(str(k) for k in raw if k != "update_id"))[:80]
            log.warning(
                "update skipped: cannot be read update_id=%d kind=%s error=%s skipped_so_far=%d",
                raw["update_id"], kinds, type(exc).__name__, self.skipped,
            )
            return web.Response(status=200)
        if self.drainer is not None:
            try:
                await self.drainer.take(raw["update_id"], raw, update)
            except Exception:  # noqa: BLE001 -- not stored: Telegram sends it again after a 500
                log.warning("update not stored update_id=%d; Telegram will send it again", raw["update_id"], exc_info=True)
                return web.Response(status=500)
            return web.Response(status=200)
        self.app.bot.insert_callback_data(update)
        await self.app.update_queue.put(update)
        return web.Response(status=200)
