"""A Bot API that never leaves the process: python-telegram-bot's request layer, answered in memory.

After `tests/auxil/networking.py` of python-telegram-bot, whose `OfflineRequest` refuses every call.
This one answers the methods Pitstop uses the way Telegram does (a sent message comes back with its
id, chat and date; an edit of a message that was never sent is refused with Telegram's words; a
button press can be answered once), and records every call, so that a test reads what the bot did.
A method it does not know is refused and remembered in `unexpected`, for the test to fail on.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Pitstop Test",
    "username": "pitstop_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
TOKEN = f"{BOT_USER['id']}:OFFLINE"
DATE = 1806480000  # 2027-03-31, a moment Telegram would stamp on what the bot sends


@dataclass
class Call:
    """One Bot API call the bot made: the method (as Telegram names it) and its parameters."""

    method: str
    params: dict[str, Any]


class ApiRefusal(Exception):
    """An error answer of the Bot API: its code and description."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class OfflineRequest(BaseRequest):
    """Answers Bot API calls in memory like Telegram and records them; nothing goes over a network."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.unexpected: list[str] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}  # (chat id, message id) -> as Telegram has it
        self.answers: dict[str, dict[str, Any]] = {}  # callback query id -> the answer
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._answers = {
            "getMe": lambda p: BOT_USER,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message,
            "editMessageReplyMarkup": self._edit_message,
            "answerCallbackQuery": self._answer_callback_query,
            "deleteMessage": self._delete_message,
            "sendChatAction": lambda p: True,
            "setMyCommands": lambda p: True,
            "deleteMyCommands": lambda p: True,
        }

    # ---- what the tests read

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        """Gives the messages the bot sent to a chat, oldest first, as they stand after any edits."""
        return [m for (chat, _), m in sorted(self.messages.items()) if chat == chat_id and not m.get("deleted")]

    def texts(self, chat_id: int) -> list[str]:
        """Gives the texts of the messages the bot sent to a chat."""
        return [str(m.get("text", "")) for m in self.sent(chat_id)]

    def calls_to(self, method: str) -> list[Call]:
        """Gives the calls of one Bot API method."""
        return [c for c in self.calls if c.method == method]

    # ---- BaseRequest

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Gives Telegram's answer to the call as HTTP status and JSON body."""
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        self.calls.append(Call(name, params))
        answer = self._answers.get(name)
        if answer is None:
            self.unexpected.append(name)
            return 400, _body({"ok": False, "error_code": 400, "description": f"Bad Request: {name} is not offline"})
        try:
            result = answer(params)
        except ApiRefusal as error:
            return error.code, _body({"ok": False, "error_code": error.code, "description": error.description})
        return 200, _body({"ok": True, "result": result})

    # ---- the methods

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        text = str(params.get("text") or "")
        if not text.strip():
            raise ApiRefusal(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiRefusal(400, "Bad Request: message is too long")
        message_id = next(self._message_ids.setdefault(chat_id, itertools.count(1)))
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": DATE,
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": BOT_USER,
            "text": text,
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.messages[(chat_id, message_id)] = message
        return message

    def _edit_message(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self.messages.get((int(params.get("chat_id") or 0), int(params.get("message_id") or 0)))
        if message is None or message.get("deleted"):
            raise ApiRefusal(400, "Bad Request: message to edit not found")
        edited = {**message, "edit_date": DATE}
        if "text" in params:
            edited["text"] = str(params["text"])
        edited.pop("reply_markup", None)
        if params.get("reply_markup"):
            edited["reply_markup"] = params["reply_markup"]
        if edited == {**message, "edit_date": DATE}:
            raise ApiRefusal(400, "Bad Request: message is not modified")
        self.messages[(message["chat"]["id"], message["message_id"])] = edited
        return edited

    def _delete_message(self, params: dict[str, Any]) -> bool:
        message = self.messages.get((int(params.get("chat_id") or 0), int(params.get("message_id") or 0)))
        if message is None or message.get("deleted"):
            raise ApiRefusal(400, "Bad Request: message to delete not found")
        message["deleted"] = True
        return True

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params["callback_query_id"])
        if query_id in self.answers:
            raise ApiRefusal(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self.answers[query_id] = params
        return True


def _body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    """Gives (label, callback data) of every inline button on a message the bot sent."""
    markup = message.get("reply_markup") or {}
    return [
        (str(b.get("text")), str(b.get("callback_data")))
        for row in markup.get("inline_keyboard", [])
        for b in row
        if "callback_data" in b
    ]
