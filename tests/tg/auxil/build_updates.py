"""Telegram updates as the Bot API would deliver them, built with defaults.

After python-telegram-bot's `tests/auxil/build_messages.py` (`make_message`, `make_command_update`…):
a test names the person and what they did, and gets a `telegram.Update` bound to the bot, ready
for `await application.process_update(update)`.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from typing import Any

from telegram import Bot, CallbackQuery, Chat, Message, MessageEntity, Update, User

DATE = datetime(2027, 3, 24, 9, 0, tzinfo=UTC)
COMMAND = re.compile(r"/[0-9A-Za-z_]{1,32}(?:@\w{1,32})?")  # Latin letters, digits, _

_update_ids = itertools.count(1)
_message_ids = itertools.count(1000)
_query_ids = itertools.count(1)


def make_user(user_id: int = 1001, first_name: str = "Anna", language_code: str | None = "en") -> User:
    """Gives a person (not a bot) with their Telegram app's language."""
    return User(id=user_id, first_name=first_name, is_bot=False, language_code=language_code)


def private_chat(user: User) -> Chat:
    """Gives the private chat of a person with the bot (its id is theirs, as on Telegram)."""
    return Chat(id=user.id, type=Chat.PRIVATE, first_name=user.first_name)


def make_message(
    text: str, bot: Bot, user: User | None = None, chat: Chat | None = None, **kwargs: Any
) -> Message:
    """Gives a text message a person wrote, in their private chat unless another chat is given."""
    user = user or make_user()
    message = Message(
        message_id=kwargs.pop("message_id", next(_message_ids)),
        date=kwargs.pop("date", DATE),
        chat=chat or private_chat(user),
        from_user=user,
        text=text,
        **kwargs,
    )
    message.set_bot(bot)
    return message


def make_command_message(text: str, bot: Bot, **kwargs: Any) -> Message:
    """Gives a message whose command Telegram marked with a bot_command entity, as it does."""
    found = COMMAND.match(text)
    entities = [MessageEntity(MessageEntity.BOT_COMMAND, 0, len(found.group(0)))] if found else []
    return make_message(text, bot, entities=entities, **kwargs)


def make_message_update(text: str, bot: Bot, edited: bool = False, **kwargs: Any) -> Update:
    """Gives the update of a text message (or of its edit)."""
    message = make_message(text, bot, **kwargs)
    if edited:
        return Update(next(_update_ids), edited_message=message)
    return Update(next(_update_ids), message=message)


def make_command_update(text: str, bot: Bot, **kwargs: Any) -> Update:
    """Gives the update of a command such as "/start CODE"."""
    return Update(next(_update_ids), message=make_command_message(text, bot, **kwargs))


def make_callback_update(data: str, bot: Bot, user: User, on: dict[str, Any]) -> Update:
    """Gives the update of a press on a message the bot sent (`on`, as the Bot API gave it back).

    The data may be anything a client can send, a forged or stale value included.
    """
    message = Message.de_json(on, bot)
    assert message is not None
    query = CallbackQuery(
        id=str(next(_query_ids)), from_user=user, chat_instance=str(user.id), data=data, message=message
    )
    query.set_bot(bot)
    return Update(next(_update_ids), callback_query=query)
