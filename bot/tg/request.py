"""The Bot's requests to the Bot API over aiohttp, through python-telegram-bot's hook for that (`BaseRequest`).

Why: every message the bot sends is one request, and the event loop's CPU is what limits how many go
out a second. Against the fake Bot API on loopback, 4 at once, a request through PTB's `HTTPXRequest`
cost about 1.7 ms of that CPU, a bare httpx post 1.25 ms, a bare aiohttp post 0.27 ms (httpcore checks
every pooled connection and builds much per request). Long polling has its own session of this kind
(bot.tg.updates.ReadableUpdatesRequest, one connection): PTB gives each getUpdates its read timeout.

The same answers and errors as `HTTPXRequest`: a timeout is `TimedOut` (the request may have reached
Telegram), any other failure to get an answer is `NetworkError`; PTB turns the answer into the rest.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
import certifi
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)

# What PTB passes for a timeout not given (its DefaultValue type, reached through its public constant).
NOT_GIVEN = type(BaseRequest.DEFAULT_NONE)


class AiohttpRequest(BaseRequest):
    """PTB's requests over one aiohttp session: PTB's default timeouts and pool size (as `HTTPXRequest`)."""

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._env_proxies: dict[str, str] = {}
        self._proxy_for: dict[tuple[str, str], tuple[str | None, aiohttp.BasicAuth | None]] = {}

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout in seconds."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Opens the session (again, after a shutdown)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                # Mozilla's certificates, as httpx (and so PTB) trusts them (certifi comes with httpx),
                # not whatever the machine's own store holds (a slim container may hold none).
                connector=aiohttp.TCPConnector(limit=self._pool_size, ssl=ssl.create_default_context(cafile=certifi.where())),
                cookie_jar=aiohttp.DummyCookieJar(),  # the Bot API sets none; not storing them is cheaper
                headers={"User-Agent": self.USER_AGENT},
                # Not aiohttp's trust_env: it reads the proxy variables and ~/.netrc again for every request,
                # in two trips to a thread (about 0.5 ms of CPU a message, bench/RESULTS.md 2026-12-07). The
                # variables are read here instead, once, as httpx (and so PTB) reads them when its client is
                # made; see `_proxy`.
                trust_env=False,
            )
            self._env_proxies = {scheme: url for scheme, url in getproxies().items() if scheme in ("http", "https")}
            self._proxy_for = {}

    async def shutdown(self) -> None:
        """Closes the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,  # float, None or the library's "not given"
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Gives the Bot API's status code and body, or raises TimedOut or NetworkError."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else {}
        fields = request_data.json_parameters if request_data else {}
        # A form without files is encoded here: aiohttp's FormData would make a multipart writer (and a
        # random boundary) for every request, only to send it urlencoded.
        body: Any = urlencode(fields).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if files:
            headers = {}
            form = aiohttp.FormData()
            for name, value in fields.items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            body = form
        read = self._read_timeout if isinstance(read_timeout, NOT_GIVEN) else read_timeout
        write = (self._media_write_timeout if files else self._write_timeout) if isinstance(write_timeout, NOT_GIVEN) else write_timeout
        connect = self._connect_timeout if isinstance(connect_timeout, NOT_GIVEN) else connect_timeout
        pool = self._pool_timeout if isinstance(pool_timeout, NOT_GIVEN) else pool_timeout
        # aiohttp has no write timeout: the whole request is held to the sum of the four (none, if any is
        # None), so that a send still ends within PTB's timeouts (bot.jobs.dispatcher.STALE_CLAIM counts on it).
        parts = (read, write, connect, pool)
        total = None if any(p is None for p in parts) else sum(p for p in parts if p is not None)
        timeout = aiohttp.ClientTimeout(
            total=total,
            connect=None if connect is None or pool is None else connect + pool,  # a free connection, then connected
            sock_connect=connect,
            sock_read=read,
        )
        proxy, proxy_auth = self._proxy(url)
        try:
            async with session.request(method, url, data=body, headers=headers, timeout=timeout, allow_redirects=False,
                                       proxy=proxy, proxy_auth=proxy_auth) as response:
                return response.status, await response.read()
        except TimeoutError as err:  # aiohttp's timeouts are TimeoutErrors (and some ClientErrors too)
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err

    def _proxy(self, url: str) -> tuple[str | None, aiohttp.BasicAuth | None]:
        """Gives the proxy (and its credentials) for a request to `url`: HTTP_PROXY / HTTPS_PROXY as read at
        `initialize`, none for a host NO_PROXY names; worked out once per scheme and host."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        found = self._proxy_for.get(key)
        if found is None:
            found = (None, None)
            proxy = self._env_proxies.get(parts.scheme)
            if proxy is not None and not proxy_bypass(key[1]):
                address = urlsplit(proxy)
                host = address.netloc.rpartition("@")[2]  # the credentials go apart, as proxy_auth
                bare = urlunsplit((address.scheme, host, address.path, address.query, address.fragment))
                if address.scheme == "https":  # as aiohttp's own reading of the variables: not supported
                    log.warning("https proxies are not supported, ignoring %s", bare)
                else:
                    auth = None
                    if address.username:
                        auth = aiohttp.BasicAuth(unquote(address.username), unquote(address.password or ""))
                    found = (bare, auth)
            self._proxy_for[key] = found
        return found
