"""The Bot's requests over aiohttp (bot.tg.request): texts, keyboards and files reach the Bot API as with
PTB's own httpx request, a slow answer is TimedOut and no answer at all is NetworkError, as the
dispatcher's retries expect; HTTP_PROXY and NO_PROXY are followed, as httpx follows them."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.sandbox.fakeapi import FakeTelegram
from bot.tg.request import AiohttpRequest


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
