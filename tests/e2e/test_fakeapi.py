"""The fake Telegram server carries a real python-telegram-bot Application end to end.

Each test starts a real ``telegram.ext.Application`` with long polling against the fake and
checks what reaches the handlers and what the fake records, plus the faults the product must
survive (blocked users, flood control, bad HTML).
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.sandbox.fakeapi import FakeChat, FakeTelegram, FakeUser, parse_html

ALICE = FakeUser(id=1001, first_name="Alice", username="alice")
BOB = FakeUser(id=1002, first_name="Bob", language_code="nl")
TEAM = FakeChat(id=-4001, type="group", title="Cohort 7")
REPO = Path(__file__).resolve().parents[2]


# ---- the bot under test: tiny handlers defined here --------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet with two buttons."""
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Yes", callback_data="yes"),
                InlineKeyboardButton("No", callback_data="no"),
            ]
        ]
    )
    await update.effective_message.reply_text(
        "<b>Welcome</b>", parse_mode="HTML", reply_markup=keyboard
    )


async def choose(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the button press and edit the message to show the choice."""
    query = update.callback_query
    assert query is not None
    await query.answer(f"got {query.data}")
    await query.edit_message_text(f"You chose {query.data}")


async def send_doc(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send a file."""
    assert update.effective_message is not None
    await update.effective_message.reply_document(
        document=b"week 1 notes\n", filename="notes.txt", caption="Your notes"
    )


async def remember(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Keep every update PTB managed to parse, before any other handler runs."""
    context.bot_data.setdefault("seen", []).append(update)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo plain text, naming the chat type."""
    message = update.effective_message
    assert message is not None and message.text is not None
    await message.reply_text(f"echo ({message.chat.type}): {message.text}")


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """A fake Telegram on an ephemeral loopback port."""
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def app(fake: FakeTelegram) -> AsyncIterator[Application]:
    """A real PTB Application long-polling the fake."""
    application = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(f"{fake.base_url}/bot")
        .base_file_url(f"{fake.base_url}/file/bot")
        .build()
    )
    application.add_handler(TypeHandler(Update, remember), group=-1)
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("doc", send_doc))
    application.add_handler(CallbackQueryHandler(choose))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=1)
    yield application
    await application.updater.stop()
    await application.stop()
    await application.shutdown()
    assert fake.internal_errors == []


# ---- through PTB ---------------------------------------------------------------------------


async def test_start_command_reaches_the_command_handler_and_the_reply_is_recorded(
    fake: FakeTelegram, app: Application
) -> None:
    message = await fake.send_text(ALICE, "/start")

    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    [reply] = await fake.wait_for(ALICE.id)
    assert reply.text == "<b>Welcome</b>"
    assert reply.parse_mode == "HTML"
    assert reply.message["text"] == "Welcome"  # what Telegram shows after parsing
    assert reply.message["entities"] == [{"type": "bold", "offset": 0, "length": 7}]
    assert reply.buttons() == [("Yes", "yes"), ("No", "no")]
    assert fake.requests["getMe"] == 1 and fake.requests["sendMessage"] == 1


async def test_button_press_reaches_the_callback_handler_and_the_answer_is_recorded(
    fake: FakeTelegram, app: Application
) -> None:
    await fake.send_text(ALICE, "/start")
    [greeting] = await fake.wait_for(ALICE.id)

    query_id = await fake.press(ALICE, greeting, "yes")

    await fake.wait_for(ALICE.id, lambda m: m.text == "You chose yes")
    assert fake.callback_answers == [
        {
            "callback_query_id": query_id,
            "text": "got yes",
            "show_alert": False,
            "url": None,
            "cache_time": None,
        }
    ]


async def test_edit_message_text_changes_the_recorded_message_and_drops_its_keyboard(
    fake: FakeTelegram, app: Application
) -> None:
    await fake.send_text(ALICE, "/start")
    [greeting] = await fake.wait_for(ALICE.id)

    await fake.press(ALICE, greeting.message_id, "no")
    await fake.wait_for(ALICE.id, lambda m: m.edits == ["You chose no"])

    assert len(fake.sent(ALICE.id)) == 1
    assert greeting.text == "You chose no"
    assert greeting.reply_markup is None and greeting.buttons() == []
    with pytest.raises(ValueError, match="no button"):
        await fake.press(ALICE, greeting, "yes")  # the keyboard is gone


async def test_editing_into_the_same_text_or_a_missing_message_is_a_bad_request(
    fake: FakeTelegram, app: Application
) -> None:
    sent = await app.bot.send_message(ALICE.id, "Same")

    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await app.bot.edit_message_text("Same", chat_id=ALICE.id, message_id=sent.message_id)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await app.bot.edit_message_text("Other", chat_id=ALICE.id, message_id=999)
    await app.bot.delete_message(ALICE.id, sent.message_id)
    assert fake.sent(ALICE.id)[0].deleted


async def test_send_document_keeps_the_bytes_and_the_filename(
    fake: FakeTelegram, app: Application
) -> None:
    await fake.send_text(ALICE, "/doc")

    [doc] = await fake.wait_for(ALICE.id, lambda m: m.method == "sendDocument")
    assert doc.document == ("notes.txt", b"week 1 notes\n")
    assert doc.text == "Your notes"
    file = await app.bot.get_file(doc.message["document"]["file_id"])
    assert bytes(await file.download_as_bytearray()) == b"week 1 notes\n"


async def test_a_blocked_chat_surfaces_in_ptb_as_forbidden(
    fake: FakeTelegram, app: Application
) -> None:
    fake.block(BOB.id)

    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await app.bot.send_message(BOB.id, "Reminder")
    assert fake.sent(BOB.id) == []
    assert fake.send_times == []


# PTB warns that RetryAfter.retry_after becomes a timedelta in v23.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_fail_next_429_surfaces_as_retry_after_once(
    fake: FakeTelegram, app: Application
) -> None:
    fake.fail_next("sendMessage", chat_id=ALICE.id, error_code=429, retry_after=2)

    with pytest.raises(RetryAfter) as caught:
        await app.bot.send_message(ALICE.id, "Reminder")
    assert caught.value.retry_after in (2, timedelta(seconds=2))
    await app.bot.send_message(ALICE.id, "Reminder")  # only the next call failed
    assert [m.text for m in fake.sent(ALICE.id)] == ["Reminder"]


async def test_fail_next_500_and_chat_not_found_surface_as_ptb_errors(
    fake: FakeTelegram, app: Application
) -> None:
    fake.fail_next("sendmessage", error_code=500, description="Internal Server Error")
    fake.fail_next("sendMessage", error_code=400, description="Bad Request: chat not found")

    with pytest.raises(NetworkError, match="Internal Server Error"):
        await app.bot.send_message(ALICE.id, "one")
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await app.bot.send_message(ALICE.id, "two")


async def test_a_fault_after_some_calls_hits_a_later_part_of_a_long_text(
    fake: FakeTelegram, app: Application
) -> None:
    fake.fail_next("sendMessage", chat_id=TEAM.id, error_code=502, description="Bad Gateway", after=1)

    await app.bot.send_message(TEAM.id, "part 1")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await app.bot.send_message(TEAM.id, "part 2")
    await app.bot.send_message(TEAM.id, "part 2")
    assert [m.text for m in fake.sent(TEAM.id)] == ["part 1", "part 2"]


async def test_a_mangled_success_delivers_the_message_but_ptb_cannot_read_the_answer(
    fake: FakeTelegram, app: Application
) -> None:
    fake.mangle_next("sendMessage", {"message_id": 7}, chat_id=ALICE.id)

    with pytest.raises(KeyError):
        await app.bot.send_message(ALICE.id, "delivered all the same")
    assert [m.text for m in fake.sent(ALICE.id)] == ["delivered all the same"]
    fake.mangle_next("sendMessage", True, chat_id=ALICE.id)
    assert await app.bot.send_message(ALICE.id, "again") is True  # not a Message at all


async def test_text_length_is_counted_in_utf16_code_units_after_parsing(
    fake: FakeTelegram, app: Application
) -> None:
    await app.bot.send_message(ALICE.id, "👍" * 2048)  # 2,048 characters, 4,096 code units
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await app.bot.send_message(ALICE.id, "👍" * 2049)
    # Tags count nothing, an escaped character one.
    await app.bot.send_message(ALICE.id, "<b>" + "&amp;" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await app.bot.send_message(ALICE.id, "&amp;" * 4097, parse_mode="HTML")


async def test_group_chat_messages_reach_the_bot(fake: FakeTelegram, app: Application) -> None:
    await fake.add_bot_to_group(ALICE, TEAM)
    command = await fake.send_text(BOB, "/start@pitstop_test_bot", chat=TEAM)
    await fake.send_text(ALICE, "hello team", chat=TEAM)

    replies = await fake.wait_for(TEAM.id, count=2)
    assert [m.text for m in replies] == ["<b>Welcome</b>", "echo (group): hello team"]
    assert replies[0].reply_to == command["message_id"]  # PTB quotes in groups by default
    assert replies[0].message["chat"] == {"id": TEAM.id, "type": "group", "title": "Cohort 7"}

    await fake.remove_bot_from_group(ALICE, TEAM)
    with pytest.raises(Forbidden, match="kicked from the group chat"):
        await app.bot.send_message(TEAM.id, "still here?")


async def test_html_telegram_cannot_parse_is_a_bad_request(
    fake: FakeTelegram, app: Application
) -> None:
    with pytest.raises(BadRequest, match='(?i)unsupported start tag "br"'):
        await app.bot.send_message(ALICE.id, "line<br>line", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await app.bot.send_message(ALICE.id, "x" * 4097)
    bad_button = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await app.bot.send_message(ALICE.id, "hi", reply_markup=bad_button)
    assert fake.sent() == []


async def test_commands_are_recorded_per_scope_and_language(
    fake: FakeTelegram, app: Application
) -> None:
    await app.bot.set_my_commands([("start", "Begin")])
    await app.bot.set_my_commands([("start", "Beginnen")], language_code="nl")

    assert fake.commands == {
        ('{"type": "default"}', ""): [{"command": "start", "description": "Begin"}],
        ('{"type": "default"}', "nl"): [{"command": "start", "description": "Beginnen"}],
    }
    assert [c.command for c in await app.bot.get_my_commands(language_code="nl")] == ["start"]
    await app.bot.delete_my_commands(language_code="nl")
    assert list(fake.commands) == [('{"type": "default"}', "")]


async def test_every_kind_of_user_update_parses_in_ptb(
    fake: FakeTelegram, app: Application
) -> None:
    first = await fake.send_text(ALICE, "see @someone at https://example.org")
    await fake.edit_text(ALICE, first, "edited")
    await fake.send_text(ALICE, "and a reply", reply_to=first["message_id"])
    await fake.send_photo(ALICE, caption="me")
    await fake.send_voice(ALICE)
    await fake.send_sticker(ALICE)
    await fake.send_location(ALICE)
    await fake.send_document(ALICE, filename="cv.pdf", data=b"%PDF")
    await fake.send_contact(ALICE)
    await fake.user_blocks_bot(BOB)

    await fake.wait_idle()

    # PTB Update objects; Any spares a None-check on every Optional along the way.
    seen: list[Any] = app.bot_data.setdefault("seen", [])
    assert fake.pending_updates == 0
    async with asyncio.timeout(2):  # wait_idle is a heuristic; PTB may still be dispatching
        while len(seen) < 10:
            await asyncio.sleep(0.01)
    edited, reply, photo, voice, sticker, location, document, contact, blocked = seen[1:]
    assert [e.type for e in seen[0].effective_message.entities] == ["mention", "url"]
    assert edited.edited_message.text == "edited"
    assert reply.message.reply_to_message.message_id == first["message_id"]
    assert photo.message.photo[0].file_size == len(b"\x89PNG fake")
    assert photo.message.caption == "me"
    assert voice.message.voice.mime_type == "audio/ogg"
    assert sticker.message.sticker.emoji == "👍"
    assert location.message.location.latitude == pytest.approx(52.3702)
    assert document.message.document.file_name == "cv.pdf"
    assert contact.message.contact.user_id == ALICE.id
    assert blocked.my_chat_member.new_chat_member.status == "kicked"
    downloaded = await (await document.message.document.get_file()).download_as_bytearray()
    assert bytes(downloaded) == b"%PDF"


# ---- the fake on its own -------------------------------------------------------------------


async def test_long_poll_returns_as_soon_as_an_update_is_pushed_and_offset_confirms(
    fake: FakeTelegram,
) -> None:
    url = f"{fake.base_url}/bot{fake.token}/getUpdates"
    async with aiohttp.ClientSession() as session:

        async def poll(**params: int) -> list[dict]:
            async with session.post(url, json=params) as response:
                body = await response.json()
            assert body["ok"], body
            return body["result"]

        started = time.monotonic()
        waiting = asyncio.create_task(poll(timeout=5))
        await asyncio.sleep(0.05)
        await fake.send_text(ALICE, "hi")
        [update] = await waiting
        assert time.monotonic() - started < 1.0
        assert update["message"]["text"] == "hi"

        assert fake.pending_updates == 1  # fetched, not yet confirmed
        assert await poll(offset=update["update_id"] + 1, timeout=0) == []
        assert fake.pending_updates == 0


async def test_a_second_poller_terminates_the_first_with_conflict(fake: FakeTelegram) -> None:
    url = f"{fake.base_url}/bot{fake.token}/getUpdates"
    async with aiohttp.ClientSession() as session:
        first = asyncio.create_task(session.post(url, json={"timeout": 5}))
        await asyncio.sleep(0.05)
        async with session.post(url, json={"timeout": 0}) as second:
            assert second.status == 200
        response = await first
        assert response.status == 409
        assert "terminated by other getUpdates" in (await response.json())["description"]


async def test_wrong_token_and_unknown_method_are_rejected(fake: FakeTelegram) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{fake.base_url}/bot9:WRONG/getMe") as response:
            assert response.status == 401
            assert await response.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with session.post(f"{fake.base_url}/bot{fake.token}/sendTelepathy") as response:
            assert response.status == 404
            assert (await response.json())["description"] == "Not Found: method not found"
        async with session.get(f"{fake.base_url}/bot{fake.token}/GETME") as response:
            assert (await response.json())["result"]["username"] == "pitstop_test_bot"


async def test_wrong_token_surfaces_in_ptb_as_invalid_token(fake: FakeTelegram) -> None:
    application = ApplicationBuilder().token("9:WRONG").base_url(f"{fake.base_url}/bot").build()
    try:
        with pytest.raises(InvalidToken):
            await application.initialize()
    finally:
        await application.bot.shutdown()  # its HTTP clients were opened before getMe failed


async def test_polling_while_a_webhook_is_set_is_a_conflict(fake: FakeTelegram) -> None:
    application = ApplicationBuilder().token(fake.token).base_url(f"{fake.base_url}/bot").build()
    async with application:
        await application.bot.set_webhook("https://example.org/hook")
        assert fake.webhook is not None and fake.webhook["url"] == "https://example.org/hook"
        with pytest.raises(Conflict, match="webhook is active"):
            await application.bot.get_updates()


async def test_wait_for_timeout_lists_what_the_chat_received(
    fake: FakeTelegram, app: Application
) -> None:
    await app.bot.send_message(ALICE.id, "Good morning")

    with pytest.raises(AssertionError, match="'Good morning'") as caught:
        await fake.wait_for(ALICE.id, lambda m: "evening" in (m.text or ""), timeout=0.2)
    assert "0 matched" in str(caught.value)


def test_html_parser_follows_telegram() -> None:
    assert parse_html('<a href="https://x.org">x</a> &amp; <i>y</i>') == (
        "x & y",
        [
            {"type": "text_link", "offset": 0, "length": 1, "url": "https://x.org"},
            {"type": "italic", "offset": 4, "length": 1},
        ],
    )
    for bad, reason in [
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", "Unmatched end tag"),
        ("<b", "Unclosed start tag"),
    ]:
        with pytest.raises(Exception, match=reason):
            parse_html(bad)


async def test_command_line_server_is_driven_over_http_from_another_process() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.sandbox.fakeapi",
        "--port",
        "0",
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        base_url = (await asyncio.wait_for(process.stdout.readline(), 10)).decode().strip()
        assert base_url.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as session:
            user = {"id": 7, "first_name": "Remote"}
            async with session.post(
                f"{base_url}/_fake/send_text", json={"user": user, "text": "/start"}
            ) as response:
                assert (await response.json())["result"]["text"] == "/start"
            async with session.post(
                f"{base_url}/bot123456789:FAKEfakeFAKEfakeFAKEfake/sendMessage",
                data={
                    "chat_id": "7",
                    "text": "42",
                    "reply_markup": json.dumps(
                        {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
                    ),
                },
            ) as response:
                assert (await response.json())["result"]["text"] == "42"
            async with session.get(f"{base_url}/_fake/sent", params={"chat_id": "7"}) as response:
                [sent] = (await response.json())["result"]
            assert sent["text"] == "42" and sent["buttons"] == [["A", "a"]]
            async with session.get(f"{base_url}/_fake/state") as response:
                assert (await response.json())["result"]["pending_updates"] == 1
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C
        assert await asyncio.wait_for(process.wait(), 10) == 0
