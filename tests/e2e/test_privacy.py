"""What the bot keeps to itself, whatever the world sends: an update the library cannot read is
skipped without holding up the rest, logs never carry journal text, an erase is erased on disk,
and the webhook refuses strangers before it reads what they send."""

from __future__ import annotations

import logging

import pytest

from bot.fakeapi import FakeUser
from tests.e2e.test_sharing import PROGRAMME
from tests.e2e.world import World

ANNA = FakeUser(id=7001, first_name="Anna", language_code="nl")
BOB = FakeUser(id=7002, first_name="Bob")
ANNA_TEXT = "Mijn geheime twijfel over de reorganisatie van team Zuidvleugel-42."
BOB_TEXT = "My private note about the Quokka-97 budget round."
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
