"""The Telegram edge offline: `telegram.Update` objects built by a factory are handed to the real
Application with `await app.process_update(update)`, the way python-telegram-bot tests itself.

The Application is the one `bot.tg.app.build_application` makes, handlers, defaults and all. That
factory takes the services and makes its Bot's own requests, so the fixture (tests/tg/conftest.py) hands
it, in place of them, a `BaseRequest` that answers like Telegram in memory and records each call
(tests/tg/auxil/networking.py). The fake Bot API of tests/e2e cannot stand in here: it answers only
button presses it issued itself, and a press made by a factory (a forged one above all) is not one.

Each update is handled before `process_update` returns, so nothing here waits on a clock.
"""

from __future__ import annotations

import logging

import pytest

from bot.store import people
from bot.store.db import Database
from tests.factories import learning_set, module, programme
from tests.tg.auxil.build_updates import make_user
from tests.tg.auxil.networking import buttons
from tests.tg.conftest import Offline

PROGRAMME = programme(
    key="cpm-offline",
    modules=[module("m2", "The Person", "2027-03-01", "2027-05-30", capacities=["relational"])],
    sets=[learning_set("set-a", "Set A")],
)

ANNA = make_user(5001, "Anna", "nl")
BOB = make_user(5002, "Bob", "en")
STRANGER = make_user(5999, "Sam", "nl")  # no invite; Telegram in Dutch


async def every_row(db: Database) -> dict[str, list[tuple]]:
    """Gives every row of every table, to compare before and after an update."""
    tables = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return {t[0]: [tuple(r) for r in await db.fetchall(f'SELECT * FROM "{t[0]}" ORDER BY rowid')] for t in tables}


def failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_strangers_text_gets_the_invitation_sentence_and_nothing_is_stored(
    offline: Offline, caplog: pytest.LogCaptureFixture
) -> None:
    await offline.load(PROGRAMME)
    before = await every_row(offline.db)
    await offline.say(STRANGER, "Hallo, mag ik meedoen?")
    await offline.say(STRANGER, "/start")
    await offline.say(STRANGER, "/start NOT-A-CODE")
    invitation = offline.render.message("nl", "not_invited")
    assert offline.request.texts(STRANGER.id)[:2] == [invitation, invitation]
    assert len(offline.request.texts(STRANGER.id)) == 3
    assert await every_row(offline.db) == before
    assert failures(caplog) == []


@pytest.mark.parametrize("command", ["/frobnicate", "/frobnicate now please", "/start_over@pitstop_test_bot"])
async def test_an_unknown_command_gets_its_sentence_and_changes_nothing(
    offline: Offline, command: str, caplog: pytest.LogCaptureFixture
) -> None:
    programme_id = await offline.load(PROGRAMME)
    await offline.onboard(BOB, await offline.invite(programme_id, "set-a"))
    before = await every_row(offline.db)
    await offline.say(BOB, command)
    assert offline.request.texts(BOB.id)[-1] == offline.render.message("en", "unknown_command")
    assert await every_row(offline.db) == before
    assert failures(caplog) == []


async def test_a_button_forged_with_another_persons_entry_changes_nothing(
    offline: Offline, caplog: pytest.LogCaptureFixture
) -> None:
    programme_id = await offline.load(PROGRAMME)
    await offline.onboard(ANNA, await offline.invite(programme_id, "set-a"), language="nl")
    await offline.onboard(BOB, await offline.invite(programme_id, "set-a"))
    await offline.say(ANNA, "Ik liet vandaag mijn team eerst praten.")
    share = next(d for _, d in buttons(offline.request.sent(ANNA.id)[-1]) if d.endswith(":shared"))

    before, sent_before = await every_row(offline.db), len(offline.request.calls_to("sendMessage"))
    answer = await offline.press(BOB, share, on=offline.request.sent(BOB.id)[-1])  # Anna's button, pressed by Bob
    assert answer is not None and answer["text"] == offline.render.message("en", "button_stale")
    assert await every_row(offline.db) == before
    assert len(offline.request.calls_to("sendMessage")) == sent_before
    assert failures(caplog) == []

    # Anna's own press of the same button still shares her reflection.
    await offline.press(ANNA, share)
    assert await every_row(offline.db) != before


async def test_a_text_goes_to_the_journal_of_whoever_wrote_it_even_when_the_bot_remembers_them_as_someone_else(
    offline: Offline,
) -> None:
    programme_id = await offline.load(PROGRAMME)
    await offline.onboard(ANNA, await offline.invite(programme_id, "set-a"), language="nl")
    await offline.onboard(BOB, await offline.invite(programme_id, "set-a"))
    await offline.say(ANNA, "Ik liet vandaag mijn team eerst praten.")
    await offline.say(BOB, "I kept quiet in the meeting for once.")
    anna = await people.get_person_by_telegram(offline.db, ANNA.id)
    bob = await people.get_person_by_telegram(offline.db, BOB.id)
    assert anna is not None and bob is not None
    # What a journal message needs is read beside the person, for whom the bot last saw. Were that guess
    # wrong (an erased person invited again has a new id), Bob's open reflection must not take Anna's words.
    offline.app.services.seen.saw(ANNA.id, bob.id)
    await offline.say(ANNA, "En daarna vroeg ik wat zij nodig hadden.")
    rows = await offline.db.fetchall(
        "SELECT r.person_id, part.text FROM reflection_part part JOIN reflection r ON r.id = part.reflection_id"
        " ORDER BY part.id"
    )
    assert [(r[0], r[1]) for r in rows] == [
        (anna.id, "Ik liet vandaag mijn team eerst praten."),
        (bob.id, "I kept quiet in the meeting for once."),
        (anna.id, "En daarna vroeg ik wat zij nodig hadden."),
    ]
    assert offline.request.texts(ANNA.id)[-1].startswith("Toegevoegd aan dezelfde reflectie")
    assert offline.app.services.seen.guess(ANNA.id) == anna.id  # and the bot knows her again
