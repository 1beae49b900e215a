"""Webhook mode: the bot registers its webhook with the secret, handles updates that carry the
secret header, and refuses requests without it."""

from __future__ import annotations

import socket
from dataclasses import replace

import aiohttp

from bot.sandbox.fakeapi import FakeUser
from tests.e2e.world import World

STRANGER = FakeUser(id=5101, first_name="Wes")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def update(update_id: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_800_000_000,
            "chat": {"id": STRANGER.id, "type": "private", "first_name": STRANGER.first_name},
            "from": {"id": STRANGER.id, "is_bot": False, "first_name": STRANGER.first_name, "language_code": "en"},
            "text": text,
        },
    }


async def test_webhook_mode_takes_updates_with_the_secret_and_refuses_the_rest(world: World) -> None:
    port = free_port()
    world.settings = replace(
        world.settings, webhook_url="https://pitstop.example/hook", webhook_secret="s3cret-Token_1",
        webhook_port=port, webhook_listen="127.0.0.1",
    )
    await world.start()
    assert world.fake.webhook is not None and world.fake.webhook.get("url") == "https://pitstop.example/hook"
    assert world.fake.webhook.get("secret_token") == "s3cret-Token_1"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://127.0.0.1:{port}/hook", json=update(1, "hello")) as refused:
            assert refused.status == 403
        headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        async with session.post(f"http://127.0.0.1:{port}/hook", json=update(2, "hello"), headers=headers) as refused:
            assert refused.status == 403
        headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1"}
        async with session.post(f"http://127.0.0.1:{port}/hook", json=update(3, "/start"), headers=headers) as taken:
            assert taken.status == 200
    answer = await world.expect(STRANGER, "works by invitation only")
    assert len(world.fake.sent(STRANGER.id)) == 1 and answer is not None
