"""What the bot keeps to itself, whatever the world sends: an update the library cannot read is
skipped without holding up the rest, logs never carry journal text, an erase is erased on disk,
and the webhook refuses strangers before it reads what they send."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import aiohttp
import pytest

from bot.sandbox.fakeapi import FakeUser
from tests.e2e.test_sharing import PROGRAMME
from tests.e2e.test_webhook import STRANGER, free_port, update
from tests.e2e.world import World

ANNA = FakeUser(id=7001, first_name="Anna", language_code="nl")
BOB = FakeUser(id=7002, first_name="Bob")
ANNA_TEXT = "Mijn geheime twijfel over de reorganisatie van team Zuidvleugel-42."
BOB_TEXT = "My private note about the Quokka-97 budget round."
SECRET = "X-Telegram-Bot-Api-Secret-Token"
LIBRARIES = ("telegram", "httpx", "httpcore", "aiosqlite", "apscheduler", "bot", "tornado", "aiohttp")


def unreadable_poll() -> dict:
    """A poll without the fields python-telegram-bot requires (as an older Bot API server may send)."""
    return {"poll": {"id": "5550001", "question": "Which one?"}}


async def test_an_unreadable_update_is_skipped_and_no_log_line_carries_journal_text(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await world.load(PROGRAMME)
    await world.start()
    await world.onboard(ANNA, await world.invite("cpm-sets", "set-a"), language="nl")
    await world.onboard(BOB, await world.invite("cpm-sets", "set-a"))
    for name in LIBRARIES:
        caplog.set_level(logging.DEBUG, logger=name)
    caplog.set_level(logging.DEBUG)
    # One batch: the bot is down while the three arrive, so one getUpdates gives all of them.
    await world.stop()
    await world.say(ANNA, ANNA_TEXT)
    await world.fake.push_update(unreadable_poll())
    await world.say(BOB, BOB_TEXT)
    await world.start()
    await world.expect(ANNA, "Bewaard in je dagboek")
    await world.expect(BOB, "Kept in your journal")
    await world.settle()
    assert world.fake.pending_updates == 0
    await world.stop()  # shutdown is clean: nothing raises
    text = caplog.text + "".join(str(r.args) + str(r.msg) for r in caplog.records)
    for secret in (ANNA_TEXT, BOB_TEXT, "Zuidvleugel-42", "Quokka-97", world.settings.token):
        assert secret not in text
    skipped = [r for r in caplog.records if "update skipped" in r.getMessage()]
    assert len(skipped) == 1 and "kind=poll" in skipped[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def webhook_world(world: World) -> int:
    """Starts the bot in webhook mode on a free local port; gives the port."""
    port = free_port()
    world.settings = replace(
        world.settings, webhook_url="https://pitstop.example/hook", webhook_secret="s3cret-Token_1",
        webhook_port=port, webhook_listen="127.0.0.1",
    )
    await world.start()
    return port


async def status_after_headers(port: int, headers: dict[str, str], declared: int, sent: bytes) -> int:
    """Sends a POST's headers declaring `declared` bytes of body but only `sent`; gives the status the server answers.

    A server that reads the whole body before looking at the headers never answers (it waits for the rest).
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(
            f"POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {declared}\r\n{head}\r\n".encode() + sent
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=10)
        return int(status_line.split()[1])
    finally:
        writer.close()


async def test_the_webhook_refuses_a_body_without_the_secret_before_reading_it(world: World) -> None:
    port = await webhook_world(world)
    huge = 95 * 1024 * 1024
    assert await status_after_headers(port, {}, huge, b"{" + b" " * 1000) == 403
    assert await status_after_headers(port, {SECRET: "wrong"}, huge, b"{" + b" " * 1000) == 403
    # With the secret, a body larger than any update Telegram sends is refused unread too.
    assert await status_after_headers(port, {SECRET: "s3cret-Token_1"}, huge, b"{" + b" " * 1000) == 413
    async with aiohttp.ClientSession() as session:
        too_big = b'{"update_id": 1, "x": "' + b"a" * (3 * 1024 * 1024) + b'"}'
        async with session.post(f"http://127.0.0.1:{port}/hook", data=too_big, headers={
            SECRET: "s3cret-Token_1", "Content-Type": "application/json"}) as refused:
            assert refused.status == 413
        # The bot still takes a real update afterwards.
        async with session.post(f"http://127.0.0.1:{port}/hook", json=update(3, "/start"),
                                headers={SECRET: "s3cret-Token_1"}) as taken:
            assert taken.status == 200
    await world.expect(STRANGER, "works by invitation only")


async def test_the_webhook_skips_an_unreadable_update_and_takes_the_next(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    port = await webhook_world(world)
    caplog.set_level(logging.DEBUG, logger="telegram")
    headers = {SECRET: "s3cret-Token_1"}
    async with aiohttp.ClientSession() as session:
        bad = {"update_id": 2, **unreadable_poll(), "message": {"text": ANNA_TEXT}}
        async with session.post(f"http://127.0.0.1:{port}/hook", json=bad, headers=headers) as skipped:
            assert skipped.status == 200  # answered, so that Telegram does not send it again and again
        async with session.post(f"http://127.0.0.1:{port}/hook", json=update(3, "/start"), headers=headers) as taken:
            assert taken.status == 200
    await world.expect(STRANGER, "works by invitation only")
    assert ANNA_TEXT not in caplog.text
    assert any("update skipped" in r.getMessage() for r in caplog.records)


def on_disk(world: World, phrase: str) -> list[str]:
    """Gives which of the database's files (main, WAL, shared memory) hold a phrase, byte for byte.

    On PostgreSQL: which of the schema's tables, TOAST tables and indexes hold it in their files, read
    after a CHECKPOINT (the write-ahead log keeps it until recycled, as the README says)."""
    if world.settings.db_url is not None:
        return pg_files_holding(world.settings.db_url, phrase)
    found = []
    for suffix in ("", "-wal", "-shm"):
        file = world.path.with_name(world.path.name + suffix)
        if file.exists() and phrase.encode() in file.read_bytes():
            found.append(file.name)
    return found


async def test_after_forget_the_text_is_in_neither_the_database_file_nor_its_wal(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    await world.onboard(ANNA, await world.invite("cpm-sets", "set-a"), language="nl")
    await world.say(ANNA, ANNA_TEXT)
    await world.expect(ANNA, "Bewaard in je dagboek")
    sent = await world.say(ANNA, "Nog een zin met Kiwi-Vlinder-8 erin.")
    await world.expect(ANNA, "Toegevoegd")
    await world.fake.edit_text(ANNA, sent, "Nog een zin, zonder dat woord.")
    await world.expect(ANNA, "bijgewerkt")
    assert on_disk(world, "Zuidvleugel-42")  # the check can see text where it is
    assert on_disk(world, "Kiwi-Vlinder-8") == []  # an edit leaves the old words nowhere
    await world.say(ANNA, "/forget")
    confirm = await world.expect(ANNA, "Hiermee wis je alles")
    await world.press(ANNA, confirm, "fg:yes")
    await world.expect(ANNA, "alles is gewist")
    assert on_disk(world, "Zuidvleugel-42") == []
    assert on_disk(world, "zonder dat woord") == []


def pg_files_holding(dsn: str, phrase: str) -> list[str]:
    """Gives the relations of the DSN's schema whose data files hold a phrase (server-side reads)."""
    import psycopg

    found = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        relations = conn.execute(
            "SELECT c.relname, pg_relation_filepath(c.oid) FROM pg_class c"
            " WHERE c.relkind IN ('r', 't', 'i') AND pg_relation_filepath(c.oid) IS NOT NULL"
            " AND (c.relnamespace = current_schema()::regnamespace OR c.oid IN ("
            "  SELECT reltoastrelid FROM pg_class WHERE relnamespace = current_schema()::regnamespace))"
        ).fetchall()
        for name, path in relations:
            size = conn.execute("SELECT (pg_stat_file(%s, true)).size", (path,)).fetchone()[0]
            if not size:
                continue
            data = conn.execute("SELECT pg_read_binary_file(%s)", (path,)).fetchone()[0]
            if phrase.encode() in bytes(data):
                found.append(name)
    return found
