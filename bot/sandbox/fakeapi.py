"""A fake Telegram Bot API server on loopback that the real python-telegram-bot can poll.

Tests, ``pitstop demo`` and the benchmarks point an ``Application`` at it with::

    ApplicationBuilder().token(fake.token)
        .base_url(f"{fake.base_url}/bot").base_file_url(f"{fake.base_url}/file/bot")

and then drive the bot as a user (``send_text``, ``press``, ...) and read what the bot did
(``sent``, ``wait_for``, ``callback_answers``, ...). Everything lives in memory.

Where it is cheap, the fake is as strict as Telegram, because those rejections are what bites
in production: HTML that Telegram cannot parse, texts over 4096 characters, callback data over
64 bytes, editing a message into the same text, replying to a message that is gone, long
polling from two processes at once, polling while a webhook is set.

``python -m bot.sandbox.fakeapi --port 8081`` serves it on its own; the ``/_fake/...`` HTTP endpoints
let another process drive it (see ``_ControlApi``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import dataclasses
import html
import itertools
import json
import logging
import math
import re
import signal
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, NoReturn, Self

from aiohttp import web

__all__ = ["ApiError", "FakeChat", "FakeTelegram", "FakeUser", "SentMessage", "main", "parse_html"]

_LOG = logging.getLogger(__name__)

JSONDict = dict[str, Any]

# Update types Telegram delivers when getUpdates never named any (the documented default).
_EXCLUDED_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Telegram accepts uploads up to 50 MB; a little headroom for the multipart framing.
_MAX_UPLOAD = 52 * 1024 * 1024
_TEXT_LIMIT = 4096
_CAPTION_LIMIT = 1024
_DEFAULT_429 = "Too Many Requests: retry after 1"
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# PTB posts every parameter as a form field and JSON-encodes all values except strings, so
# a form value must be JSON-decoded -- except for these, which are strings even when they
# look like numbers ("123" as a message text must stay a string).
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "secret_token",
        "language_code",
        "action",
        "document",
        "photo",
        "file_id",
        "description",
        "short_description",
        "name",
        "emoji",
        "business_connection_id",
        "message_effect_id",
        "ip_address",
        "thumbnail",
        "filename",
    }
)


class ApiError(Exception):
    """A Bot API error answer: HTTP status == error_code, as Telegram does."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> JSONDict:
        """The ``{"ok": false, ...}`` body Telegram would send."""
        body: JSONDict = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


# --------------------------------------------------------------------------------------------
# Public value types


@dataclass(frozen=True)
class FakeUser:
    """A human Telegram user who talks to the bot."""

    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = "en"

    def to_dict(self) -> JSONDict:
        """The Bot API ``User`` object."""
        data: JSONDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username is not None:
            data["username"] = self.username
        if self.language_code is not None:
            data["language_code"] = self.language_code
        return data


@dataclass(frozen=True)
class FakeChat:
    """A chat; private chats share the user's id, groups have negative ids and a title."""

    id: int
    type: str = "private"  # "private" | "group" | "supergroup"
    title: str | None = None


@dataclass
class SentMessage:
    """A message the bot sent, as the fake recorded it (``text`` is the caption for media)."""

    chat_id: int
    message_id: int
    text: str | None
    reply_markup: dict[str, Any] | None
    method: str
    date: int
    document: tuple[str, bytes] | None = None
    photo: bytes | None = None
    parse_mode: str | None = None
    edits: list[str] = field(default_factory=list)  # successive texts set by edits, oldest first
    deleted: bool = False
    reply_to: int | None = None
    params: JSONDict = field(default_factory=dict, repr=False)  # decoded request, files elided
    message: JSONDict = field(default_factory=dict, repr=False)  # current Bot API Message

    def buttons(self) -> list[tuple[str, str]]:
        """Inline buttons flattened row by row as (text, callback_data or url or "")."""
        if not self.reply_markup:
            return []
        out: list[tuple[str, str]] = []
        for row in self.reply_markup.get("inline_keyboard", []):
            for button in row:
                web_app = button.get("web_app")
                action = button.get("callback_data", button.get("url", web_app.get("url", "") if isinstance(web_app, dict) else ""))
                out.append((str(button.get("text", "")), str(action)))
        return out


@dataclass
class _Fault:
    method: str  # lower-case
    chat_id: int | None
    error_code: int
    description: str
    retry_after: int | None
    times: int
    after: int = 0  # matching calls let through before the fault applies
    result: Any = None  # for a mangled answer: the call succeeds, and this is the ``result`` sent back
    mangle: bool = False


# --------------------------------------------------------------------------------------------
# Telegram's HTML parse mode, strict where Telegram is strict

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]+)|#[xX]([0-9a-fA-F]+));")
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ATTR = re.compile(r"""([a-zA-Z][\w-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")


def _utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Parse Telegram HTML into (plain text, entities); raise ApiError 400 like Telegram."""

    def fail(reason: str) -> NoReturn:
        raise ApiError(400, f"Bad Request: can't parse entities: {reason}")

    def at(index: int) -> int:
        return len(text[:index].encode())

    plain: list[str] = []
    pos = 0
    stack: list[tuple[str, int, dict[str, str]]] = []
    attrs: dict[str, str]
    entities: list[JSONDict] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "&":
            m = _HTML_ENTITY.match(text, i)
            if m:
                if m.group(1):
                    decoded = _HTML_NAMED[m.group(1)]
                else:
                    code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
                    decoded = chr(code) if 0 < code <= 0x10FFFF else "\ufffd"
                plain.append(decoded)
                pos += _utf16_len(decoded)
                i = m.end()
                continue
            # Telegram keeps a bare "&" literally.
        if ch != "<":
            # Up to the next tag or entity in one step: the text between needs nothing but its length.
            end = min((k for k in (text.find("<", i + 1), text.find("&", i + 1)) if k != -1), default=n)
            plain.append(text[i:end])
            pos += _utf16_len(text[i:end])
            i = end
            continue
        begin = i
        i += 1
        closing = i < n and text[i] == "/"
        if closing:
            i += 1
        j = i
        while j < n and not text[j].isspace() and text[j] not in "/>":
            j += 1
        name = text[i:j].lower()
        i = j
        if closing:
            while i < n and text[i].isspace():
                i += 1
            if i >= n or text[i] != ">":
                fail(f"Unclosed end tag at byte offset {at(begin)}")
            i += 1
            if not stack:
                fail(f'Unexpected end tag "{name}" at byte offset {at(begin)}')
            open_name, start, attrs = stack.pop()
            if name != open_name:
                fail(
                    f'Unmatched end tag at byte offset {at(begin)}, expected "</{open_name}>", '
                    f'found "</{name}>"'
                )
            if pos > start:
                entities.extend(_html_entity(open_name, start, pos - start, attrs))
            continue
        if name not in _HTML_TAGS:
            fail(f'Unsupported start tag "{name}" at byte offset {at(begin)}')
        attrs = {}
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                fail(f"Unclosed start tag at byte offset {at(begin)}")
            if text[i] == ">":
                i += 1
                break
            m = _HTML_ATTR.match(text, i)
            if not m:
                fail(f'Empty attribute name in the tag "{name}" at byte offset {at(begin)}')
            value = next((g for g in m.group(2, 3, 4) if g is not None), "")
            attrs[m.group(1).lower()] = html.unescape(value)
            i = m.end()
        if name == "span" and attrs.get("class") != "tg-spoiler":
            fail(f'Tag "span" must have class "tg-spoiler" at byte offset {at(begin)}')
        stack.append((name, pos, attrs))
    if stack:
        fail(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(plain), entities


def _html_entity(tag: str, offset: int, length: int, attrs: dict[str, str]) -> list[JSONDict]:
    kind = _HTML_TAGS[tag]
    entity: JSONDict = {"type": kind, "offset": offset, "length": length}
    if tag == "a":
        if not attrs.get("href"):
            return []  # Telegram drops links without a target
        entity["url"] = attrs["href"]
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "0")
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    return [entity]


def _message_entities(text: str) -> list[JSONDict]:
    """The entities Telegram's clients attach to a typed text: commands, mentions, links."""
    entities: list[JSONDict] = []
    patterns = (
        ("bot_command", r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w@])"),
        ("mention", r"(?<![\w@])@[A-Za-z0-9_]{5,32}\b"),
        ("url", r"\bhttps?://[^\s<>]+"),
    )
    for kind, pattern in patterns:
        for m in re.finditer(pattern, text):
            entities.append(
                {
                    "type": kind,
                    "offset": _utf16_len(text[: m.start()]),
                    "length": _utf16_len(m.group(0)),
                }
            )
    entities.sort(key=lambda e: e["offset"])
    return entities


# --------------------------------------------------------------------------------------------
# Request decoding


@dataclass
class _Call:
    method: str  # canonical name
    params: JSONDict
    files: dict[str, tuple[str, bytes]]  # multipart part name -> (filename, bytes)


def _decode_form_value(key: str, value: str) -> Any:
    if key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. chat_id="@channel"


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value)
    return None


def _json_response(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


Handler = Callable[[_Call], Coroutine[Any, Any, Any]]


# --------------------------------------------------------------------------------------------
# The server


class FakeTelegram:
    """An in-memory Bot API server on loopback plus helpers to act as users and to inspect."""

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "pitstop_test_bot",
        clock: Callable[[], datetime] | None = None,
        *,
        latency: float = 0.0,
        strict_chats: bool = False,
        group_privacy: bool = False,
        rate_limits: bool = False,
    ) -> None:
        """Configure the fake; nothing listens until ``start``.

        ``strict_chats``: sending to a chat that never produced an update fails as in real life
        (403 "bot can't initiate conversation" / 400 "chat not found").
        ``group_privacy``: group messages reach the bot only if they are commands, mention the
        bot or reply to it (Telegram's default privacy mode).
        ``rate_limits``: answer 429 beyond 30 sends per second overall or 20 per minute to a
        group, like Telegram's flood control.
        """
        bot_id = _as_int(token.split(":", 1)[0])
        if bot_id is None or ":" not in token:
            raise ValueError(f"token must look like '<bot id>:<secret>', got {token!r}")
        self.token = token
        self.latency = latency
        self.strict_chats = strict_chats
        self.group_privacy = group_privacy
        self.rate_limits = rate_limits
        self._clock = clock
        self.bot_user: JSONDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Pitstop Test",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": not group_privacy,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        # What the bot did / asked for
        self.requests: collections.Counter[str] = collections.Counter()
        self.send_times: list[tuple[float, int]] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.webhook: JSONDict | None = None
        self.bot_settings: JSONDict = {}
        self.menu_buttons: dict[int | None, JSONDict] = {}  # chat id (None: every private chat) -> menu button
        self.internal_errors: list[str] = []  # bugs in the fake itself, surfaced as 500s
        self._sent: list[SentMessage] = []
        self._by_key: dict[tuple[int, int], SentMessage] = {}
        self._callback_answers: list[JSONDict] = []
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        # What the users did
        self._updates: collections.deque[JSONDict] = collections.deque()  # not yet confirmed
        self._update_ids = itertools.count(1)
        self._last_update_id = 0
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._user_messages: dict[tuple[int, int], JSONDict] = {}
        self._query_ids = itertools.count(1)
        self._open_queries: set[str] = set()
        self._users: dict[int, FakeUser] = {}
        self._chats: dict[int, FakeChat] = {}
        self._known_chats: set[int] = set()
        self._gone_from: dict[int, str] = {}  # group chat id -> why the bot cannot write there
        self._files: dict[str, tuple[str, bytes, str]] = {}  # file_id -> (name, bytes, path)
        self._file_ids = itertools.count(1)
        # Faults
        self._blocked: set[int] = set()
        self._faults: list[_Fault] = []
        # Long polling
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._closing = False
        self._cond = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self._methods: dict[str, tuple[str, Handler]] = {}
        for name, handler in (
            ("getMe", self._get_me),
            ("getUpdates", self._get_updates),
            ("deleteWebhook", self._delete_webhook),
            ("setWebhook", self._set_webhook),
            ("getWebhookInfo", self._get_webhook_info),
            ("setMyCommands", self._set_my_commands),
            ("getMyCommands", self._get_my_commands),
            ("deleteMyCommands", self._delete_my_commands),
            ("setMyDescription", self._set_bot_setting),
            ("setMyShortDescription", self._set_bot_setting),
            ("sendMessage", self._send_message),
            ("editMessageText", self._edit_message_text),
            ("editMessageCaption", self._edit_message_caption),
            ("editMessageReplyMarkup", self._edit_message_reply_markup),
            ("deleteMessage", self._delete_message),
            ("answerCallbackQuery", self._answer_callback_query),
            ("sendDocument", self._send_document),
            ("sendPhoto", self._send_photo),
            ("sendChatAction", self._send_chat_action),
            ("getChat", self._get_chat),
            ("getChatMember", self._get_chat_member),
            ("leaveChat", self._leave_chat),
            ("getFile", self._get_file),
            ("setChatMenuButton", self._set_chat_menu_button),
            ("getChatMenuButton", self._get_chat_menu_button),
            ("close", self._true),
            ("logOut", self._true),
        ):
            self._methods[name.lower()] = (name, handler)

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on host:port (0 picks a free port) and set ``base_url``."""
        app = web.Application(client_max_size=_MAX_UPLOAD)
        app.router.add_route("*", r"/bot{token}/{method}", self._handle_api)
        app.router.add_get(r"/file/bot{token}/{path:.+}", self._handle_file)
        _ControlApi(self).register(app)
        # A short shutdown timeout: pending long polls are released by `stop` anyway.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.base_url = f"http://{bound_host}:{bound_port}"
        self._closing = False

    async def stop(self) -> None:
        """Release pending long polls and stop listening."""
        self._closing = True
        await self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ---- driving the bot as a user ---------------------------------------------------------

    def private_chat(self, user: FakeUser) -> FakeChat:
        """The private chat between ``user`` and the bot."""
        self._users[user.id] = user
        return FakeChat(id=user.id, type="private")

    async def send_text(
        self,
        user: FakeUser,
        text: str,
        chat: FakeChat | None = None,
        reply_to: int | None = None,
    ) -> JSONDict:
        """The user types ``text``; commands, mentions and links get their entities."""
        chat = self._enter(user, chat)
        extra: JSONDict = {"text": text}
        entities = _message_entities(text)
        if entities:
            extra["entities"] = entities
        message = self._new_user_message(user, chat, extra, reply_to)
        if self._bot_reads(chat, text, entities, message):
            await self.push_update({"message": message})
        return message

    async def edit_text(self, user: FakeUser, message: JSONDict, new_text: str) -> JSONDict:
        """The user edits one of their messages; the bot gets an ``edited_message``."""
        key = (message["chat"]["id"], message["message_id"])
        current = self._user_messages.get(key)
        if current is None or current["from"]["id"] != user.id:
            raise ValueError(f"user {user.id} has no message {key[1]} in chat {key[0]}")
        edited = dict(current, text=new_text, edit_date=self._now())
        edited.pop("entities", None)
        entities = _message_entities(new_text)
        if entities:
            edited["entities"] = entities
        self._user_messages[key] = edited
        await self.push_update({"edited_message": edited})
        return edited

    async def press(
        self,
        user: FakeUser,
        message: SentMessage | int,
        data: str,
        chat: FakeChat | None = None,
        *,
        strict: bool = True,
    ) -> str:
        """The user presses the inline button carrying ``data``; returns the callback query id.

        With ``strict`` the button must be on the message as it is now, because a user cannot
        press a button the bot has since removed.
        """
        if isinstance(message, int):
            chat_id = chat.id if chat is not None else user.id
            sent = self._by_key.get((chat_id, message))
            if sent is None:
                raise ValueError(f"the bot sent no message {message} to chat {chat_id}")
        else:
            sent = message
        if sent.deleted:
            raise ValueError(f"message {sent.message_id} in chat {sent.chat_id} was deleted")
        if strict and data not in [d for _, d in sent.buttons()]:
            raise ValueError(
                f"message {sent.message_id} has no button with data {data!r}; "
                f"it has {sent.buttons()}"
            )
        self._enter(user, self._chat_for(sent.chat_id))
        query_id = str(next(self._query_ids))
        self._open_queries.add(query_id)
        await self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.to_dict(),
                    "message": sent.message,
                    "chat_instance": str(-sent.chat_id * 7919),
                    "data": data,
                }
            }
        )
        return query_id

    async def send_photo(
        self,
        user: FakeUser,
        chat: FakeChat | None = None,
        *,
        data: bytes = b"\x89PNG fake",
        caption: str | None = None,
        width: int = 640,
        height: int = 480,
    ) -> JSONDict:
        """The user sends a photo (one size)."""
        size = dict(self._store_file(data, "photo.jpg", "photos"), width=width, height=height)
        return await self._send_media(user, chat, {"photo": [size]}, caption)

    async def send_voice(
        self,
        user: FakeUser,
        chat: FakeChat | None = None,
        *,
        data: bytes = b"OggS fake",
        duration: int = 3,
    ) -> JSONDict:
        """The user sends a voice note."""
        voice = dict(
            self._store_file(data, "voice.oga", "voice"), duration=duration, mime_type="audio/ogg"
        )
        return await self._send_media(user, chat, {"voice": voice}, None)

    async def send_sticker(
        self, user: FakeUser, chat: FakeChat | None = None, *, emoji: str = "👍"
    ) -> JSONDict:
        """The user sends a static sticker."""
        sticker = dict(
            self._store_file(b"RIFF fake webp", "sticker.webp", "stickers"),
            type="regular",
            width=512,
            height=512,
            is_animated=False,
            is_video=False,
            emoji=emoji,
        )
        return await self._send_media(user, chat, {"sticker": sticker}, None)

    async def send_location(
        self,
        user: FakeUser,
        chat: FakeChat | None = None,
        *,
        latitude: float = 52.3702,
        longitude: float = 4.8952,
    ) -> JSONDict:
        """The user shares a location."""
        location = {"latitude": latitude, "longitude": longitude}
        return await self._send_media(user, chat, {"location": location}, None)

    async def send_document(
        self,
        user: FakeUser,
        chat: FakeChat | None = None,
        *,
        filename: str = "notes.txt",
        data: bytes = b"hello",
        mime_type: str = "text/plain",
        caption: str | None = None,
    ) -> JSONDict:
        """The user sends a file."""
        document = dict(
            self._store_file(data, filename, "documents"), file_name=filename, mime_type=mime_type
        )
        return await self._send_media(user, chat, {"document": document}, caption)

    async def send_contact(
        self,
        user: FakeUser,
        chat: FakeChat | None = None,
        *,
        phone_number: str = "+31600000000",
        first_name: str | None = None,
        user_id: int | None = None,
    ) -> JSONDict:
        """The user shares a contact, by default their own."""
        contact: JSONDict = {
            "phone_number": phone_number,
            "first_name": first_name or user.first_name,
        }
        if first_name is None or user_id is not None:
            contact["user_id"] = user_id if user_id is not None else user.id
        return await self._send_media(user, chat, {"contact": contact}, None)

    async def add_bot_to_group(self, user: FakeUser, chat: FakeChat) -> None:
        """``user`` adds the bot to a group: a ``my_chat_member`` and a service message."""
        if chat.type == "private":
            raise ValueError("add_bot_to_group needs a group or supergroup chat")
        self._enter(user, chat)
        self._gone_from.pop(chat.id, None)
        await self.push_update(self._my_chat_member(user, chat, "left", "member"))
        message = self._new_user_message(user, chat, {"new_chat_members": [self.bot_user]})
        await self.push_update({"message": message})

    async def remove_bot_from_group(self, user: FakeUser, chat: FakeChat) -> None:
        """``user`` removes the bot from a group; later sends there answer 403."""
        self._enter(user, chat)
        await self.push_update(self._my_chat_member(user, chat, "member", "kicked"))
        self._gone_from[chat.id] = f"Forbidden: bot was kicked from the {chat.type} chat"

    async def user_blocks_bot(self, user: FakeUser) -> None:
        """``user`` blocks the bot: a ``my_chat_member`` update, then sends answer 403."""
        chat = self.private_chat(user)
        await self.push_update(self._my_chat_member(user, chat, "member", "kicked"))
        self.block(user.id)

    async def push_update(self, update: JSONDict) -> None:
        """Queue a raw update; ``update_id`` is assigned unless given (and must then grow).

        Like Telegram, the bot never sees update types it did not ask for in
        ``allowed_updates`` (by default: all but chat_member and message reactions).
        """
        update = dict(update)
        if "update_id" in update:
            update_id = int(update["update_id"])
            if update_id <= self._last_update_id:
                raise ValueError(f"update_id {update_id} is not above {self._last_update_id}")
            self._update_ids = itertools.count(update_id + 1)
        else:
            update_id = next(self._update_ids)
            update = {"update_id": update_id, **update}
        self._last_update_id = update_id
        for value in update.values():
            if isinstance(value, dict) and isinstance(value.get("chat"), dict):
                self._known_chats.add(value["chat"]["id"])
            elif isinstance(value, dict) and isinstance(value.get("message"), dict):
                self._known_chats.add(value["message"]["chat"]["id"])
        self._updates.append(update)
        await self._notify()

    # ---- reading what the bot did ----------------------------------------------------------

    def sent(self, chat_id: int | None = None) -> list[SentMessage]:
        """Every message the bot sent (to ``chat_id``), in order, deleted ones included.

        The objects are live: later edits and deletions show up in them.
        """
        return [m for m in self._sent if chat_id is None or m.chat_id == chat_id]

    @property
    def callback_answers(self) -> list[JSONDict]:
        """answerCallbackQuery calls: callback_query_id, text, show_alert, url, cache_time."""
        return list(self._callback_answers)

    @property
    def commands(self) -> dict[tuple[str, str], list[JSONDict]]:
        """Command lists keyed by (scope as sorted JSON, language_code or "")."""
        return {key: list(value) for key, value in self._commands.items()}

    @property
    def pending_updates(self) -> int:
        """Updates the bot has not confirmed yet (getWebhookInfo's pending_update_count)."""
        return len(self._updates)

    async def wait_for(
        self,
        chat_id: int,
        predicate: Callable[[SentMessage], bool] | None = None,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[SentMessage]:
        """Wait until ``count`` messages ever sent to the chat match; return all matches.

        Messages are seen in their current state, so waiting for an edit works. Raises
        AssertionError listing what the chat did receive.
        """
        problems: list[str] = []

        def matches() -> list[SentMessage]:
            found = []
            for m in self._sent:
                if m.chat_id != chat_id:
                    continue
                try:
                    ok = predicate is None or predicate(m)
                # A predicate tripping over e.g. a captionless document is a non-match.
                except Exception as exc:  # noqa: BLE001
                    ok = False
                    if not problems:
                        problems.append(f"predicate raised {exc!r} on message {m.message_id}")
                if ok:
                    found.append(m)
            return found

        try:
            async with asyncio.timeout(timeout):
                async with self._cond:
                    await self._cond.wait_for(lambda: len(matches()) >= count)
        except TimeoutError:
            got = matches()
            lines = [
                (
                    f"chat {chat_id}: wanted {count} matching message(s) within {timeout}s, "
                    f"{len(got)} matched; the chat received:"
                )
            ]
            lines += [f"  {_describe(m)}" for m in self.sent(chat_id)] or ["  (nothing)"]
            others = collections.Counter(m.chat_id for m in self._sent if m.chat_id != chat_id)
            if others:
                lines.append(f"other chats received: {dict(others)}")
            lines += problems
            raise AssertionError("\n".join(lines)) from None
        return matches()

    async def wait_idle(self, timeout: float = 5.0, settle: float = 0.05) -> None:
        """Wait until the bot confirmed every update and made no API call for ``settle`` s.

        A heuristic: a handler busy without calling the API for longer than ``settle`` looks
        idle. Prefer ``wait_for`` when you know what to expect.
        """
        async with asyncio.timeout(timeout):
            while True:
                async with self._cond:
                    await self._cond.wait_for(lambda: not self._updates and not self._inflight)
                quiet = time.monotonic() - self._last_activity
                if quiet >= settle and not self._updates and not self._inflight:
                    return
                await asyncio.sleep(max(settle - quiet, 0.005))

    # ---- faults ----------------------------------------------------------------------------

    def block(self, chat_id: int) -> None:
        """Every request aimed at the chat answers 403 "bot was blocked by the user"."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """Undo ``block``."""
        self._blocked.discard(chat_id)

    def fail_next(
        self,
        method: str,
        *,
        chat_id: int | None = None,
        error_code: int = 429,
        description: str = _DEFAULT_429,
        retry_after: int | None = None,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``chat_id``) with an error, once
        ``after`` matching calls have gone through (``after=1``: the second part of a long text).

        For 429 the retry_after parameter defaults to the number in the description, because
        PTB raises RetryAfter only when the parameter is present.
        """
        if error_code == 429:
            if retry_after is None:
                m = re.search(r"retry after (\d+)", description)
                retry_after = int(m.group(1)) if m else 1
            elif description == _DEFAULT_429:
                description = f"Too Many Requests: retry after {retry_after}"
        self._faults.append(
            _Fault(method.lower(), chat_id, error_code, description, retry_after, times, after)
        )

    def mangle_next(
        self, method: str, result: Any, *, chat_id: int | None = None, times: int = 1, after: int = 0
    ) -> None:
        """Carry out the next ``times`` calls of ``method`` (to ``chat_id``), but answer
        ``{"ok": true, "result": result}``: a malformed success, as a broken proxy or a Bot API
        bug gives. The message is delivered and recorded; the bot cannot read the answer."""
        self._faults.append(
            _Fault(method.lower(), chat_id, 200, "", None, times, after, result=result, mangle=True)
        )

    # ---- HTTP plumbing ---------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        raw_method = request.match_info["method"]
        known = self._methods.get(raw_method.lower())
        method = known[0] if known else raw_method
        self.requests[method] += 1
        polling = method == "getUpdates"
        if not polling:
            self._inflight += 1
            self._last_activity = time.monotonic()
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if known is None:
                raise ApiError(404, "Not Found: method not found")
            try:
                call = await self._read_call(method, request)
            except ConnectionResetError:
                # The client hung up before its request was read (a bot stopping while its long poll
                # is on the way): nobody waits for an answer, and the fake did nothing wrong.
                _LOG.debug("client left before its request was read method=%s", method)
                return _json_response(ApiError(499, "Client Closed Request").to_json(), status=499)
            mangled = self._check_faults(call)
            result = await known[1](call)
            if mangled is not None:
                result = mangled.result
            return _json_response({"ok": True, "result": result})
        except ApiError as exc:
            return _json_response(exc.to_json(), status=exc.error_code)
        except web.HTTPRequestEntityTooLarge:
            return _json_response(ApiError(413, "Request Entity Too Large").to_json(), 413)
        except Exception as exc:  # noqa: BLE001 -- a bug in the fake must not look like a hang
            _LOG.exception("fake Telegram failed on %s", method)
            self.internal_errors.append(f"{method}: {exc!r}")
            error = ApiError(500, f"Internal Server Error: fake failed: {exc!r}")
            return _json_response(error.to_json(), status=500)
        finally:
            if not polling:
                self._inflight -= 1
                self._last_activity = time.monotonic()
                await self._notify()

    async def _read_call(self, method: str, request: web.Request) -> _Call:
        params: JSONDict = {k: _decode_form_value(k, v) for k, v in request.query.items()}
        files: dict[str, tuple[str, bytes]] = {}
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON") from None
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: JSON object expected")
            params.update(body)
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = (value.filename or key, value.file.read())
                else:
                    params[key] = _decode_form_value(key, str(value))
        return _Call(method, params, files)

    def _check_faults(self, call: _Call) -> _Fault | None:
        """Raise the first fault that applies to the call; give a mangled answer's fault instead."""
        chat_id = _as_int(call.params.get("chat_id"))
        for fault in self._faults:
            if fault.method != call.method.lower():
                continue
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            if fault.after > 0:
                fault.after -= 1
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            if fault.mangle:
                return fault
            raise ApiError(fault.error_code, fault.description, fault.retry_after)
        return None

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _json_response(ApiError(401, "Unauthorized").to_json(), 401)
        path = request.match_info["path"]
        for _name, data, file_path in self._files.values():
            if file_path == path:
                return web.Response(body=data, content_type="application/octet-stream")
        return _json_response(ApiError(404, "Not Found").to_json(), 404)

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    # ---- Bot API methods -------------------------------------------------------------------

    async def _true(self, call: _Call) -> bool:
        return True

    async def _get_me(self, call: _Call) -> JSONDict:
        return self.bot_user

    async def _get_updates(self, call: _Call) -> list[JSONDict]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _as_int(call.params.get("offset")) or 0
        limit = min(max(_as_int(call.params.get("limit")) or 100, 1), 100)
        timeout = max(float(call.params.get("timeout") or 0), 0.0)
        allowed = call.params.get("allowed_updates")
        if isinstance(allowed, list):
            # Telegram remembers the last list given; an empty one means "the default set".
            self._allowed_updates = frozenset(allowed) if allowed else None
        if offset > 0:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
        elif offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
        # Telegram lets one long poll live at a time; a newer one terminates the older.
        self._poll_generation += 1
        generation = self._poll_generation
        await self._notify()
        deadline = time.monotonic() + timeout
        async with self._cond:
            while True:
                if self._closing:
                    return []
                if generation != self._poll_generation:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                self._drop_unwanted()
                if self._updates:
                    return list(itertools.islice(self._updates, limit))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await self._cond.wait()

    def _drop_unwanted(self) -> None:
        """Forget queued updates of types the bot did not ask for, as Telegram never sends them."""
        allowed = self._allowed_updates

        def wanted(update: JSONDict) -> bool:
            kind = next(k for k in update if k != "update_id")
            if allowed is None:
                return kind not in _EXCLUDED_BY_DEFAULT
            return kind in allowed

        if not all(wanted(u) for u in self._updates):
            self._updates = collections.deque(u for u in self._updates if wanted(u))

    async def _delete_webhook(self, call: _Call) -> bool:
        self.webhook = None
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _set_webhook(self, call: _Call) -> bool:
        url = call.params.get("url") or ""
        if not url:
            self.webhook = None
            return True
        if not str(url).startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        self.webhook = {k: v for k, v in call.params.items() if k != "certificate"}
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        await self._notify()  # a pending long poll must now fail with 409
        return True

    async def _get_webhook_info(self, call: _Call) -> JSONDict:
        info: JSONDict = {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook and "allowed_updates" in self.webhook:
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    @staticmethod
    def _commands_key(call: _Call) -> tuple[str, str]:
        scope = call.params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(call.params.get("language_code") or "")

    async def _set_my_commands(self, call: _Call) -> bool:
        commands = call.params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a list of at most 100 commands")
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(call)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _get_my_commands(self, call: _Call) -> list[JSONDict]:
        return self._commands.get(self._commands_key(call), [])

    async def _delete_my_commands(self, call: _Call) -> bool:
        self._commands.pop(self._commands_key(call), None)
        return True

    async def _set_chat_menu_button(self, call: _Call) -> bool:
        button = call.params.get("menu_button") or {"type": "default"}
        if isinstance(button, str):
            button = json.loads(button)
        if not isinstance(button, dict) or button.get("type") not in ("commands", "web_app", "default"):
            raise ApiError(400, "Bad Request: can't parse menu button")
        if button["type"] == "web_app":
            url = str((button.get("web_app") or {}).get("url", ""))
            if not url.startswith("https://") or not str(button.get("text", "")):
                raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
        self.menu_buttons[_as_int(call.params.get("chat_id"))] = dict(button)
        return True

    async def _get_chat_menu_button(self, call: _Call) -> JSONDict:
        return self.menu_buttons.get(_as_int(call.params.get("chat_id")), {"type": "default"})

    async def _set_bot_setting(self, call: _Call) -> bool:
        key = (call.method, str(call.params.get("language_code") or ""))
        self.bot_settings[f"{key[0]}:{key[1]}"] = dict(call.params)
        return True

    async def _send_message(self, call: _Call) -> JSONDict:
        chat_id = self._target_chat(call)
        text = call.params.get("text")
        if not isinstance(text, str):
            raise ApiError(400, "Bad Request: message text is empty")
        parse_mode = self._parse_mode(call)
        plain, entities = self._render(text, parse_mode, caption=False)
        content: JSONDict = {"text": plain}
        if entities:
            content["entities"] = entities
        return self._record(call, chat_id, text, parse_mode, content).message

    async def _send_document(self, call: _Call) -> JSONDict:
        chat_id = self._target_chat(call)
        name, data = self._input_file(call, "document")
        info = self._store_file(data, name, "documents")
        document = dict(info, file_name=name, mime_type=_guess_mime(name))
        sent = self._record_media(call, chat_id, {"document": document})
        sent.document = (name, data)
        return sent.message

    async def _send_photo(self, call: _Call) -> JSONDict:
        chat_id = self._target_chat(call)
        name, data = self._input_file(call, "photo")
        width, height = _image_size(data)
        info = self._store_file(data, name, "photos")
        sent = self._record_media(
            call, chat_id, {"photo": [dict(info, width=width, height=height)]}
        )
        sent.photo = data
        return sent.message

    async def _send_chat_action(self, call: _Call) -> bool:
        chat_id = self._target_chat(call)
        action = str(call.params.get("action") or "")
        if action not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        self.chat_actions.append((chat_id, action))
        return True

    async def _edit_message_text(self, call: _Call) -> JSONDict:
        sent = self._editable(call, "message to edit not found")
        if sent.method != "sendMessage":
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text = call.params.get("text")
        if not isinstance(text, str):
            raise ApiError(400, "Bad Request: message text is empty")
        parse_mode = self._parse_mode(call)
        plain, entities = self._render(text, parse_mode, caption=False)
        # Telegram drops the inline keyboard when an edit does not repeat it.
        markup = self._reply_markup(call, inline_only=True)
        old = sent.message
        if (
            plain == old.get("text")
            and entities == old.get("entities", [])
            and markup == sent.reply_markup
        ):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        sent.text = text
        sent.parse_mode = parse_mode
        sent.edits.append(text)
        sent.reply_markup = markup
        old["text"] = plain
        old.pop("entities", None)
        if entities:
            old["entities"] = entities
        self._set_markup(sent, markup)
        return await self._edited(sent)

    async def _edit_message_caption(self, call: _Call) -> JSONDict:
        sent = self._editable(call, "message to edit not found")
        if sent.method == "sendMessage":
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption = str(call.params.get("caption") or "")
        parse_mode = self._parse_mode(call)
        plain, entities = self._render(caption, parse_mode, caption=True)
        markup = self._reply_markup(call, inline_only=True)
        old = sent.message
        if plain == old.get("caption", "") and markup == sent.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified")
        sent.text = caption or None
        sent.parse_mode = parse_mode
        sent.edits.append(caption)
        sent.reply_markup = markup
        old.pop("caption", None)
        old.pop("caption_entities", None)
        if plain:
            old["caption"] = plain
        if entities:
            old["caption_entities"] = entities
        self._set_markup(sent, markup)
        return await self._edited(sent)

    async def _edit_message_reply_markup(self, call: _Call) -> JSONDict:
        sent = self._editable(call, "message to edit not found")
        markup = self._reply_markup(call, inline_only=True)
        if markup == sent.reply_markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        sent.reply_markup = markup
        self._set_markup(sent, markup)
        return await self._edited(sent)

    async def _delete_message(self, call: _Call) -> bool:
        chat_id = self._target_chat(call, creating=False)
        message_id = _as_int(call.params.get("message_id"))
        key = (chat_id, message_id or 0)
        sent = self._by_key.get(key)
        if sent is not None and not sent.deleted:
            sent.deleted = True
            await self._notify()
            return True
        user_message = self._user_messages.get(key)
        if user_message is not None and not user_message.get("_deleted"):
            user_message["_deleted"] = True
            return True
        raise ApiError(400, "Bad Request: message to delete not found")

    async def _answer_callback_query(self, call: _Call) -> bool:
        query_id = str(call.params.get("callback_query_id") or "")
        if query_id not in self._open_queries:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        text = call.params.get("text")
        if text is not None and len(str(text)) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._open_queries.discard(query_id)
        self._callback_answers.append(
            {
                "callback_query_id": query_id,
                "text": text,
                "show_alert": bool(call.params.get("show_alert", False)),
                "url": call.params.get("url"),
                "cache_time": call.params.get("cache_time"),
            }
        )
        await self._notify()
        return True

    async def _get_chat(self, call: _Call) -> JSONDict:
        chat_id = _as_int(call.params.get("chat_id"))
        if chat_id is None or chat_id not in self._chats:
            raise ApiError(400, "Bad Request: chat not found")
        info = self._chat_dict(chat_id)
        # ChatFullInfo fields PTB requires.
        info.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        )
        return info

    async def _get_chat_member(self, call: _Call) -> JSONDict:
        chat_id = _as_int(call.params.get("chat_id"))
        user_id = _as_int(call.params.get("user_id"))
        if chat_id is None or chat_id not in self._chats:
            raise ApiError(400, "Bad Request: chat not found")
        if user_id == self.bot_user["id"]:
            if chat_id in self._gone_from:
                return {"user": self.bot_user, "status": "kicked", "until_date": 0}
            return {"user": self.bot_user, "status": "member"}
        user = self._users.get(user_id or 0)
        if user is None:
            raise ApiError(400, "Bad Request: user not found")
        if chat_id == user.id and user.id in self._blocked:
            return {"user": user.to_dict(), "status": "kicked", "until_date": 0}
        return {"user": user.to_dict(), "status": "member"}

    async def _leave_chat(self, call: _Call) -> bool:
        chat_id = self._target_chat(call, creating=False)
        chat = self._chats.get(chat_id)
        if chat is None or chat.type == "private":
            raise ApiError(400, "Bad Request: chat not found")
        self._gone_from[chat_id] = f"Forbidden: bot is not a member of the {chat.type} chat"
        return True

    async def _get_file(self, call: _Call) -> JSONDict:
        file_id = str(call.params.get("file_id") or "")
        if file_id not in self._files:
            raise ApiError(400, "Bad Request: invalid file_id")
        _name, data, path = self._files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"U{file_id}",
            "file_size": len(data),
            "file_path": path,
        }

    # ---- helpers ---------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self._clock().timestamp()) if self._clock else int(time.time())

    def _next_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def _enter(self, user: FakeUser, chat: FakeChat | None) -> FakeChat:
        """Register the user and the chat the user acts in (their private chat by default)."""
        self._users[user.id] = user
        chat = chat or FakeChat(id=user.id, type="private")
        if chat.type == "private" and chat.id != user.id:
            raise ValueError(f"private chat {chat.id} belongs to user {chat.id}, not {user.id}")
        self._chats.setdefault(chat.id, chat)
        return chat

    def _chat_for(self, chat_id: int) -> FakeChat:
        """The registered chat, or one guessed from the id the way Telegram allocates them."""
        chat = self._chats.get(chat_id)
        if chat is None:
            kind = "private" if chat_id > 0 else "supergroup" if chat_id < -(10**12) else "group"
            chat = FakeChat(chat_id, kind)
        return chat

    def _chat_dict(self, chat_id: int) -> JSONDict:
        chat = self._chat_for(chat_id)
        data: JSONDict = {"id": chat.id, "type": chat.type}
        if chat.type == "private":
            user = self._users.get(chat.id)
            data["first_name"] = user.first_name if user else f"User {chat.id}"
            if user and user.username:
                data["username"] = user.username
        else:
            data["title"] = chat.title or f"Group {-chat.id}"
        return data

    def _new_user_message(
        self, user: FakeUser, chat: FakeChat, content: JSONDict, reply_to: int | None = None
    ) -> JSONDict:
        message: JSONDict = {
            "message_id": self._next_message_id(chat.id),
            "date": self._now(),
            "chat": self._chat_dict(chat.id),
            "from": user.to_dict(),
        }
        if reply_to is not None:
            message["reply_to_message"] = self._replied(chat.id, reply_to)
        message.update(content)
        self._user_messages[(chat.id, message["message_id"])] = message
        return message

    def _replied(self, chat_id: int, message_id: int) -> JSONDict:
        """The message being replied to, without its own reply (Telegram nests one level)."""
        sent = self._by_key.get((chat_id, message_id))
        found = sent.message if sent and not sent.deleted else None
        user_message = self._user_messages.get((chat_id, message_id))
        if found is None and user_message is not None and not user_message.get("_deleted"):
            found = user_message
        if found is None:
            raise LookupError(f"no message {message_id} in chat {chat_id} to reply to")
        return {k: v for k, v in found.items() if k != "reply_to_message"}

    def _bot_reads(
        self, chat: FakeChat, text: str, entities: list[JSONDict], message: JSONDict
    ) -> bool:
        if chat.id in self._gone_from:
            return False
        if chat.type == "private" or not self.group_privacy:
            return True
        if any(e["type"] == "bot_command" for e in entities):
            return True
        if f"@{self.bot_user['username']}".lower() in text.lower():
            return True
        replied = message.get("reply_to_message") or {}
        return bool((replied.get("from") or {}).get("id") == self.bot_user["id"])

    async def _send_media(
        self, user: FakeUser, chat: FakeChat | None, content: JSONDict, caption: str | None
    ) -> JSONDict:
        chat = self._enter(user, chat)
        if caption is not None:
            content = dict(content, caption=caption)
            entities = _message_entities(caption)
            if entities:
                content["caption_entities"] = entities
        message = self._new_user_message(user, chat, content)
        if chat.id not in self._gone_from and (chat.type == "private" or not self.group_privacy):
            await self.push_update({"message": message})
        return message

    def _my_chat_member(self, user: FakeUser, chat: FakeChat, old: str, new: str) -> JSONDict:
        def member(status: str) -> JSONDict:
            data: JSONDict = {"user": self.bot_user, "status": status}
            if status == "kicked":
                data["until_date"] = 0
            return data

        return {
            "my_chat_member": {
                "chat": self._chat_dict(chat.id),
                "from": user.to_dict(),
                "date": self._now(),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            }
        }

    def _store_file(self, data: bytes, name: str, folder: str) -> JSONDict:
        number = next(self._file_ids)
        file_id = f"FILE{number:06d}"
        suffix = name.rsplit(".", 1)[-1] if "." in name else "bin"
        self._files[file_id] = (name, data, f"{folder}/file_{number}.{suffix}")
        return {"file_id": file_id, "file_unique_id": f"U{file_id}", "file_size": len(data)}

    def _input_file(self, call: _Call, field_name: str) -> tuple[str, bytes]:
        """An uploaded file, an attach:// reference or a file_id the fake handed out."""
        value = call.params.get(field_name)
        if field_name in call.files:
            name, data = call.files[field_name]
        elif isinstance(value, str) and value.startswith("attach://"):
            part = value.removeprefix("attach://")
            if part not in call.files:
                raise ApiError(400, f"Bad Request: file attach://{part} not found")
            name, data = call.files[part]
        elif isinstance(value, str) and value in self._files:
            name, data, _ = self._files[value]
        elif isinstance(value, str) and value.startswith(("http://", "https://")):
            name, data = value.rsplit("/", 1)[-1] or "file", b""
        else:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if not data and not (isinstance(value, str) and value.startswith("http")):
            raise ApiError(400, "Bad Request: file must be non-empty")
        return name, data

    def _target_chat(self, call: _Call, *, creating: bool = True) -> int:
        """Resolve chat_id and apply what Telegram would refuse for that chat."""
        raw = call.params.get("chat_id")
        chat_id = _as_int(raw)
        if chat_id is None:
            if raw is None or raw == "":
                raise ApiError(400, "Bad Request: chat_id is empty")
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self._gone_from:
            raise ApiError(403, self._gone_from[chat_id])
        if self.strict_chats and chat_id not in self._known_chats:
            if chat_id > 0:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            raise ApiError(400, "Bad Request: chat not found")
        if creating and self.rate_limits:
            self._check_rate(chat_id)
        return chat_id

    def _check_rate(self, chat_id: int) -> None:
        now = time.monotonic()
        recent = [t for t, _ in self.send_times if now - t < 1.0]
        if len(recent) >= 30:
            raise ApiError(429, "Too Many Requests: retry after 1", 1)
        if chat_id < 0:
            in_chat = [t for t, c in self.send_times if c == chat_id and now - t < 60.0]
            if len(in_chat) >= 20:
                wait = max(1, math.ceil(60.0 - (now - in_chat[0])))
                raise ApiError(429, f"Too Many Requests: retry after {wait}", wait)

    @staticmethod
    def _parse_mode(call: _Call) -> str | None:
        mode = call.params.get("parse_mode")
        if mode in (None, ""):
            return None
        if str(mode).lower() not in {"html", "markdown", "markdownv2"}:
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        return str(mode)

    @staticmethod
    def _render(text: str, parse_mode: str | None, *, caption: bool) -> tuple[str, list[JSONDict]]:
        """Apply the parse mode (HTML only; Markdown passes through) and Telegram's limits."""
        if parse_mode and parse_mode.lower() == "html":
            plain, entities = parse_html(text)
        else:
            plain, entities = text, []
        if not caption and not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(plain) > (_CAPTION_LIMIT if caption else _TEXT_LIMIT):
            reason = "message caption is too long" if caption else "message is too long"
            raise ApiError(400, f"Bad Request: {reason}")
        return plain, entities

    @staticmethod
    def _reply_markup(call: _Call, *, inline_only: bool = False) -> JSONDict | None:
        markup = call.params.get("reply_markup")
        if markup in (None, ""):
            return None
        if isinstance(markup, str):
            try:
                markup = json.loads(markup)
            except ValueError:
                raise ApiError(
                    400, "Bad Request: can't parse reply keyboard markup JSON object"
                ) from None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise ApiError(
                    400, "Bad Request: can't parse inline keyboard button: array expected"
                )
            for row in rows:
                for button in row:
                    _check_inline_button(button)
        elif inline_only:
            raise ApiError(400, "Bad Request: inline keyboard expected")
        return markup

    def _record(
        self, call: _Call, chat_id: int, text: str | None, parse_mode: str | None, content: JSONDict
    ) -> SentMessage:
        markup = self._reply_markup(call)
        reply_to = self._reply_to(call)
        replied: JSONDict | None = None
        if reply_to is not None:
            try:
                replied = self._replied(chat_id, reply_to)
            except LookupError:
                if not self._reply_may_vanish(call):
                    raise ApiError(400, "Bad Request: message to be replied not found") from None
                reply_to = None
        message: JSONDict = {
            "message_id": self._next_message_id(chat_id),
            "from": self.bot_user,
            "date": self._now(),
            "chat": self._chat_dict(chat_id),
        }
        if replied is not None:
            message["reply_to_message"] = replied
        message.update(content)
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Telegram echoes only inline keyboards
        params = {k: v for k, v in call.params.items() if k not in call.files}
        sent = SentMessage(
            chat_id=chat_id,
            message_id=message["message_id"],
            text=text,
            reply_markup=markup,
            method=call.method,
            date=message["date"],
            parse_mode=parse_mode,
            reply_to=reply_to,
            params=params,
            message=message,
        )
        self._sent.append(sent)
        self._by_key[(chat_id, sent.message_id)] = sent
        # Waiters are woken by the notify at the end of _handle_api.
        self.send_times.append((time.monotonic(), chat_id))
        return sent

    def _record_media(self, call: _Call, chat_id: int, content: JSONDict) -> SentMessage:
        caption = call.params.get("caption")
        parse_mode = self._parse_mode(call)
        if caption:
            plain, entities = self._render(str(caption), parse_mode, caption=True)
            content = dict(content, caption=plain)
            if entities:
                content["caption_entities"] = entities
        return self._record(call, chat_id, str(caption) if caption else None, parse_mode, content)

    @staticmethod
    def _reply_to(call: _Call) -> int | None:
        parameters = call.params.get("reply_parameters")
        if isinstance(parameters, dict):
            return _as_int(parameters.get("message_id"))
        return _as_int(call.params.get("reply_to_message_id"))

    @staticmethod
    def _reply_may_vanish(call: _Call) -> bool:
        parameters = call.params.get("reply_parameters")
        if isinstance(parameters, dict) and parameters.get("allow_sending_without_reply"):
            return True
        return bool(call.params.get("allow_sending_without_reply"))

    def _editable(self, call: _Call, missing: str) -> SentMessage:
        if call.params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat_id = self._target_chat(call, creating=False)
        message_id = _as_int(call.params.get("message_id")) or 0
        sent = self._by_key.get((chat_id, message_id))
        if sent is None or sent.deleted:
            if (chat_id, message_id) in self._user_messages:
                raise ApiError(400, "Bad Request: message can't be edited")
            raise ApiError(400, f"Bad Request: {missing}")
        return sent

    @staticmethod
    def _set_markup(sent: SentMessage, markup: JSONDict | None) -> None:
        sent.message.pop("reply_markup", None)
        if markup is not None:
            sent.message["reply_markup"] = markup

    async def _edited(self, sent: SentMessage) -> JSONDict:
        sent.message["edit_date"] = self._now()
        await self._notify()
        return sent.message


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not str(button.get("text", "")):
        raise ApiError(
            400, "Bad Request: can't parse inline keyboard button: Text must be non-empty"
        )
    actions = [k for k in button if k != "text"]
    if not actions:
        raise ApiError(
            400,
            "Bad Request: can't parse inline keyboard button: "
            "Text buttons are unallowed in the inline keyboard",
        )
    if "callback_data" in button:
        size = len(str(button["callback_data"]).encode())
        if not 1 <= size <= 64:
            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    if "url" in button and not str(button["url"]).startswith(("http://", "https://", "tg://")):
        raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
    if "web_app" in button:  # Telegram opens Mini Apps over https only
        web_app = button["web_app"]
        if not isinstance(web_app, dict) or not str(web_app.get("url", "")).startswith("https://"):
            raise ApiError(400, "Bad Request: BUTTON_TYPE_INVALID")


def _guess_mime(name: str) -> str:
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return {
        "txt": "text/plain",
        "csv": "text/csv",
        "pdf": "application/pdf",
        "json": "application/json",
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "ics": "text/calendar",
        "md": "text/markdown",
        "html": "text/html",
        "zip": "application/zip",
    }.get(suffix, "application/octet-stream")


def _image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG (read from its header); other formats get a plausible size."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return 640, 480


def _describe(m: SentMessage) -> str:
    flags = " (deleted)" if m.deleted else ""
    extra = f" buttons={m.buttons()}" if m.buttons() else ""
    if m.document:
        extra += f" document={m.document[0]!r} ({len(m.document[1])} bytes)"
    return f"#{m.message_id} {m.method}{flags}: {m.text!r}{extra}"


def _sent_to_json(m: SentMessage) -> JSONDict:
    data = dataclasses.asdict(m)
    data["document"] = (
        {"filename": m.document[0], "base64": base64.b64encode(m.document[1]).decode()}
        if m.document
        else None
    )
    data["photo"] = base64.b64encode(m.photo).decode() if m.photo is not None else None
    data["buttons"] = m.buttons()
    return data


# --------------------------------------------------------------------------------------------
# HTTP control API, for driving the fake from another process


class _ControlApi:
    """``/_fake/...`` endpoints: JSON in, ``{"ok": true, "result": ...}`` out.

    GET  /_fake/state                      counters, commands, answers, pending updates
    GET  /_fake/sent?chat_id=N             messages the bot sent (files base64-encoded)
    POST /_fake/send_text                  {user: {id, first_name, ...}, text, chat?, reply_to?}
    POST /_fake/press                      {user, message_id, data, chat?}
    POST /_fake/push_update                a raw update
    POST /_fake/block | /_fake/unblock     {chat_id}
    POST /_fake/fail_next                  {method, chat_id?, error_code?, description?, after?, ...}
    POST /_fake/latency                    {seconds}
    POST /_fake/wait_for                   {chat_id, contains?, count?, timeout?}
    """

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake

    def register(self, app: web.Application) -> None:
        """Add the routes to ``app``."""
        routes = {
            "state": self.state,
            "sent": self.sent,
            "send_text": self.send_text,
            "press": self.press,
            "push_update": self.push_update,
            "block": self.block,
            "unblock": self.unblock,
            "fail_next": self.fail_next,
            "latency": self.latency,
            "wait_for": self.wait_for,
        }
        for name, handler in routes.items():
            app.router.add_route("*", f"/_fake/{name}", self._wrap(handler))

    @staticmethod
    def _wrap(
        handler: Callable[[JSONDict], Coroutine[Any, Any, Any]],
    ) -> Callable[[web.Request], Coroutine[Any, Any, web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            body: JSONDict = dict(request.query)
            if request.can_read_body:
                try:
                    payload = await request.json()
                except ValueError:
                    return _json_response({"ok": False, "description": "JSON body expected"}, 400)
                if isinstance(payload, dict):
                    body.update(payload)
            try:
                return _json_response({"ok": True, "result": await handler(body)})
            except (AssertionError, ValueError, LookupError, TypeError, KeyError) as exc:
                return _json_response({"ok": False, "description": str(exc)}, 400)

        return handle

    @staticmethod
    def _user(body: JSONDict) -> FakeUser:
        data = body["user"]
        return FakeUser(
            id=int(data["id"]),
            first_name=str(data.get("first_name", "User")),
            username=data.get("username"),
            language_code=data.get("language_code", "en"),
        )

    @staticmethod
    def _chat(body: JSONDict) -> FakeChat | None:
        data = body.get("chat")
        if not data:
            return None
        return FakeChat(int(data["id"]), str(data.get("type", "private")), data.get("title"))

    async def state(self, body: JSONDict) -> JSONDict:
        fake = self.fake
        return {
            "base_url": fake.base_url,
            "bot_user": fake.bot_user,
            "pending_updates": fake.pending_updates,
            "requests": dict(fake.requests),
            "commands": [
                {"scope": json.loads(scope), "language_code": lang, "commands": cmds}
                for (scope, lang), cmds in fake.commands.items()
            ],
            "callback_answers": fake.callback_answers,
            "webhook": fake.webhook,
            "sent_count": len(fake.sent()),
        }

    async def sent(self, body: JSONDict) -> list[JSONDict]:
        chat_id: Any = body.get("chat_id")
        messages = self.fake.sent(int(chat_id) if chat_id not in (None, "") else None)
        return [_sent_to_json(m) for m in messages]

    async def send_text(self, body: JSONDict) -> JSONDict:
        reply_to = body.get("reply_to")
        return await self.fake.send_text(
            self._user(body),
            str(body["text"]),
            self._chat(body),
            int(reply_to) if reply_to is not None else None,
        )

    async def press(self, body: JSONDict) -> str:
        return await self.fake.press(
            self._user(body), int(body["message_id"]), str(body["data"]), self._chat(body)
        )

    async def push_update(self, body: JSONDict) -> bool:
        await self.fake.push_update(body)
        return True

    async def block(self, body: JSONDict) -> bool:
        self.fake.block(int(body["chat_id"]))
        return True

    async def unblock(self, body: JSONDict) -> bool:
        self.fake.unblock(int(body["chat_id"]))
        return True

    async def fail_next(self, body: JSONDict) -> bool:
        self.fake.fail_next(
            str(body["method"]),
            chat_id=int(body["chat_id"]) if body.get("chat_id") is not None else None,
            error_code=int(body.get("error_code", 429)),
            description=str(body.get("description", _DEFAULT_429)),
            retry_after=int(body["retry_after"]) if body.get("retry_after") is not None else None,
            times=int(body.get("times", 1)),
            after=int(body.get("after", 0)),
        )
        return True

    async def latency(self, body: JSONDict) -> float:
        self.fake.latency = float(body["seconds"])
        return self.fake.latency

    async def wait_for(self, body: JSONDict) -> list[JSONDict]:
        contains = body.get("contains")

        def predicate(m: SentMessage) -> bool:
            return contains is None or (m.text is not None and str(contains) in m.text)

        found = await self.fake.wait_for(
            int(body["chat_id"]),
            predicate,
            count=int(body.get("count", 1)),
            timeout=float(body.get("timeout", 5.0)),
        )
        return [_sent_to_json(m) for m in found]


# --------------------------------------------------------------------------------------------
# python -m bot.sandbox.fakeapi


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeTelegram(
        token=args.token,
        bot_username=args.bot_username,
        latency=args.latency,
        strict_chats=args.strict_chats,
    )
    await fake.start(args.host, args.port)
    # The first stdout line is only the URL, so a parent process can read it.
    print(fake.base_url, flush=True)
    print(
        f"fake Telegram for token {fake.token!r}: base_url={fake.base_url}/bot "
        f"base_file_url={fake.base_url}/file/bot; control at {fake.base_url}/_fake/state",
        file=sys.stderr,
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> int:
    """Serve a fake Telegram until Ctrl-C / SIGTERM; prints the base URL first."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.sandbox.fakeapi", description="Serve a fake Telegram Bot API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    # A token of the shape `pitstop run` accepts, so the two work together without --token.
    parser.add_argument("--token", default="123456789:FAKEfakeFAKEfakeFAKEfake")
    parser.add_argument("--bot-username", default="pitstop_test_bot")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--strict-chats", action="store_true")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
