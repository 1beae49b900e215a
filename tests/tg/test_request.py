"""The Bot's requests over aiohttp (bot.tg.request): texts, keyboards and files reach the Bot API as with
PTB's own httpx request, a slow answer is TimedOut and no answer at all is NetworkError, as the
dispatcher's retries expect; HTTP_PROXY and NO_PROXY are followed, as httpx follows them. Long polling
(bot.tg.updates): a batch is read once, and one the library cannot read is fetched again and read update
by update."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.sandbox.fakeapi import FakeTelegram, FakeUser
from bot.tg.request import AiohttpRequest
from bot.tg.updates import ReadableUpdatesRequest, ReadingBot


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    telegram = FakeTelegram(rate_limits=False)
    await telegram.start()
    yield telegram
    await telegram.stop()


def a_bot(base_url: str, token: str, request: AiohttpRequest) -> Bot:
    return Bot(token, base_url=f"{base_url}/bot", base_file_url=f"{base_url}/file/bot", request=request)


async def test_a_text_a_keyboard_and_a_file_arrive_as_sent(fake: FakeTelegram) -> None:
    bot = a_bot(fake.base_url, fake.token, AiohttpRequest())
    async with bot:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Later", callback_data="pr:later:1")]])
        message = await bot.send_message(77, "<b>Hello</b> there", parse_mode=ParseMode.HTML, reply_markup=keyboard)
        await bot.send_document(77, InputFile(b"%PDF-1.4 story", filename="story.pdf"), caption="Your story")
    first, second = fake.sent(77)
    assert message.message_id == first.message_id and message.chat_id == 77
    assert first.text == "<b>Hello</b> there" and first.parse_mode == "HTML"
    assert first.buttons() == [("Later", "pr:later:1")]
    assert second.document == ("story.pdf", b"%PDF-1.4 story") and second.text == "Your story"


async def test_telegrams_refusal_is_the_librarys_error(fake: FakeTelegram) -> None:
    async with a_bot(fake.base_url, fake.token, AiohttpRequest()) as bot:
        with pytest.raises(BadRequest):
            await bot.send_message(77, "<b>unclosed", parse_mode=ParseMode.HTML)


async def test_an_answer_later_than_the_read_timeout_is_timed_out(fake: FakeTelegram) -> None:
    async with a_bot(fake.base_url, fake.token, AiohttpRequest(read_timeout=0.1)) as bot:
        fake.latency = 0.5
        with pytest.raises(TimedOut):
            await bot.send_message(77, "slow")


async def test_no_server_at_all_is_a_network_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:{port}/bot123456:TEST/getMe")
        assert not isinstance(raised.value, TimedOut)
    finally:
        await request.shutdown()


async def test_a_proxy_in_the_environment_carries_the_requests(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fake answers a proxied request (its absolute URL) as its own: the bot's host exists nowhere else.
    monkeypatch.setenv("HTTP_PROXY", fake.base_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with Bot(fake.token, base_url="http://api.telegram.invalid/bot", request=AiohttpRequest()) as bot:
        await bot.send_message(77, "through the proxy")
    assert [m.text for m in fake.sent(77)] == ["through the proxy"]


async def test_a_host_no_proxy_names_is_reached_directly(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a proxy nobody listens on: a request through it would fail
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://user:secret@127.0.0.1:{port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with a_bot(fake.base_url, fake.token, AiohttpRequest()) as bot:
        await bot.send_message(77, "directly")
    assert [m.text for m in fake.sent(77)] == ["directly"]


def a_reading_bot(fake: FakeTelegram) -> tuple[ReadingBot, ReadableUpdatesRequest]:
    """The Bot as bot.tg.app makes it, for long polling: ReadingBot with the getUpdates request."""
    polling = ReadableUpdatesRequest()
    bot = ReadingBot(fake.token, base_url=f"{fake.base_url}/bot", base_file_url=f"{fake.base_url}/file/bot",
                     request=AiohttpRequest(), get_updates_request=polling)
    return bot, polling


async def test_a_batch_of_readable_updates_is_asked_for_once_and_read_by_the_library_alone(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    user = FakeUser(id=501, first_name="Anna")
    for n in range(3):
        await fake.send_text(user, f"message {n}")
    bot, polling = a_reading_bot(fake)
    async with bot:
        updates = await bot.get_updates(timeout=0)
        again = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert [u.message.text for u in updates if u.message] == ["message 0", "message 1", "message 2"]
    assert again == ()
    assert fake.requests["getUpdates"] == 2 and polling.skipped == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_batch_the_library_cannot_read_is_asked_for_again_and_only_the_unreadable_update_is_skipped(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user = FakeUser(id=502, first_name="Bob")
    await fake.send_text(user, "before")
    await fake.push_update({"poll": {"id": "5550001", "question": "Which one?"}})  # required fields missing
    await fake.send_text(user, "after")
    bot, polling = a_reading_bot(fake)
    async with bot:
        updates = await bot.get_updates(timeout=0)
    assert [u.message.text if u.message else None for u in updates] == ["before", None, "after"]
    assert updates[1].poll is None  # the bare update: confirmed with the others, taken by no handler
    assert fake.requests["getUpdates"] == 2 and polling.skipped == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "update skipped" in warnings[0] and "kind=poll" in warnings[0]
