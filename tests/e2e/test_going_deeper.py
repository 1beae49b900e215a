"""Going deeper after a reflection, end to end: the ALACT questions one by one, *Stop here*, a restart
in the middle, the intention it ends in followed up days later, the thread in /journal and /export,
privacy (never in a digest, gone after /forget) and bad input (forged, stale, empty, long)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

from bot.sandbox.fakeapi import FakeUser, SentMessage
from bot.store import deepening, journal
from tests.e2e.test_privacy import on_disk
from tests.e2e.world import World, local
from tests.factories import learning_set, meeting, module, programme

PROGRAMME = programme(
    key="cpm-deeper",
    modules=[module("m2", "The Person", capacities=["relational"])],
    sets=[learning_set("set-a", "Set A", [meeting("2027-04-20T14:00:00", place="Utrecht")])],
)

ANNA = FakeUser(id=3101, first_name="Anna", language_code="en")
BOB = FakeUser(id=3102, first_name="Bob", language_code="nl")

REFLECTION = "In the team meeting I pushed my plan through before anyone had spoken."
LOOKED_BACK = "Karel started to object and I talked over him. I wanted to be done before noon."
ESSENTIAL = "For me: being seen as decisive. For Karel: being heard before deciding."
TRIAL = "On Tuesday I will ask Karel first what he sees, and wait until he has finished."


def deeper_data(message: SentMessage) -> str:
    """Gives the data of the *Go deeper* button on a message."""
    return next(d for _, d in message.buttons() if d.startswith("dp:") and not d.startswith("dp:stop:"))


def stop_data(message: SentMessage) -> str:
    return next(d for _, d in message.buttons() if d.startswith("dp:stop:"))


async def reflect(world: World, user: FakeUser, text: str, kept: str = "Kept in your journal") -> SentMessage:
    """Writes a reflection of one's own and gives the bot's confirmation (with its buttons)."""
    before = len(world.fake.sent(user.id))
    await world.say(user, text)
    return await world.expect(user, lambda m: kept in (m.text or "") and m in world.fake.sent(user.id)[before:])


async def ready(world: World, *users: FakeUser) -> None:
    await world.load(PROGRAMME)
    await world.start()
    for user in users:
        await world.onboard(user, await world.invite("cpm-deeper", "set-a"), language=user.language_code or "en")


async def test_a_participant_goes_deeper_and_the_follow_up_quotes_what_she_will_try(world: World) -> None:
    await ready(world, ANNA)
    kept = await reflect(world, ANNA, REFLECTION)
    labels = [label for label, _ in kept.buttons()]
    assert labels[-1] == "🔎 Go deeper" and "Share with my set" in labels  # beside the share choice

    await world.press(ANNA, kept, deeper_data(kept))
    first = await world.expect(ANNA, "question 1 of 3")
    assert "What exactly happened" in (first.text or "")  # her own words: looking back comes first
    assert [label for label, _ in first.buttons()] == ["Stop here"]
    await world.say(ANNA, LOOKED_BACK)
    second = await world.expect(ANNA, "question 2 of 3")
    assert "heart of it" in (second.text or "") and "other person" in (second.text or "")
    await world.until(lambda: first.buttons() == [])  # the answered question loses its Stop button
    await world.say(ANNA, ESSENTIAL)
    third = await world.expect(ANNA, "question 3 of 3")
    assert "What will you try" in (third.text or "") and "usually" in (third.text or "")
    await world.say(ANNA, TRIAL)
    done = await world.expect(ANNA, "I'll ask in a few days how it went")
    assert TRIAL in (done.text or "")

    person = await world.person(ANNA)
    assert person is not None and person.awaiting is None
    entries = await journal.for_person(world.db, person.id)
    assert len(entries) == 1 and entries[0].text == REFLECTION  # the answers are no reflections of their own
    thread = await deepening.thread(world.db, entries[0].id)
    assert [(s.step, s.phase, s.answer) for s in thread] == [
        (1, "looking_back", LOOKED_BACK), (2, "essential", ESSENTIAL), (3, "trial", TRIAL)]

    # Days later the follow-up quotes what she said she would try, not the first reflection.
    due = await world.db.scalar("SELECT due_at FROM outbox WHERE kind = 'follow_up' AND person_id = ?", (person.id,))
    assert due is not None and datetime.fromisoformat(due) - world.clock.now() >= timedelta(days=1)
    world.clock.set(datetime.fromisoformat(due))
    asked = await world.expect(ANNA, "You meant to try something at work")
    assert TRIAL in (asked.text or "") and REFLECTION not in (asked.text or "")
    await world.row_of(ANNA, asked)
    await world.say(ANNA, "Karel had a better idea than mine.", reply_to=asked.message_id)
    answer_kept = await world.expect(ANNA, "Kept in your journal", count=2)

    # Going deeper on the answer to a follow-up: the looking back is done, so awareness comes first.
    await world.press(ANNA, answer_kept, deeper_data(answer_kept))
    again = await world.expect(ANNA, lambda m: "question 1 of 3" in (m.text or "") and m.message_id > done.message_id)
    assert "heart of it" in (again.text or "")
    await world.say(ANNA, "That listening first worked.")
    await world.expect(ANNA, "Which other ways")
    await world.press(ANNA, world.last(ANNA), stop_data(world.last(ANNA)))
    await world.expect(ANNA, "we'll stop here")


async def test_a_restart_in_the_middle_of_going_deeper_resumes_at_the_same_step(world: World) -> None:
    await ready(world, BOB)
    kept = await reflect(world, BOB, "Het overleg met de wethouder liep vast.", kept="Bewaard in je dagboek")
    await world.press(BOB, kept, deeper_data(kept))
    await world.expect(BOB, "vraag 1 van 3")
    await world.say(BOB, "Ik wilde vooral gelijk krijgen.")
    await world.expect(BOB, "vraag 2 van 3")

    await world.stop()
    await world.start()
    await world.say(BOB, "Voor haar telde de raad, voor mij de planning.")
    third = await world.expect(BOB, "vraag 3 van 3")
    assert "Wat ga je de volgende keer proberen" in (third.text or "")
    entry = (await journal.for_person(world.db, (await world.person(BOB)).id))[0]
    assert [s.answer for s in await deepening.thread(world.db, entry.id)] == [
        "Ik wilde vooral gelijk krijgen.", "Voor haar telde de raad, voor mij de planning.", None]

    # A press on Go deeper while a step is open asks that step again; nothing else changes.
    await world.press(BOB, kept, deeper_data(kept))
    await world.expect(BOB, "vraag 3 van 3", count=2)
    assert len(await deepening.thread(world.db, entry.id)) == 3


async def test_the_thread_shows_in_the_journal_and_the_export_and_leaves_with_forget(world: World) -> None:
    await ready(world, ANNA)
    kept = await reflect(world, ANNA, REFLECTION)
    await world.press(ANNA, kept, deeper_data(kept))
    await world.expect(ANNA, "question 1 of 3")
    await world.say(ANNA, LOOKED_BACK)
    await world.expect(ANNA, "question 2 of 3")
    await world.say(ANNA, "Zebra-Lantaarn-77 was what mattered.")
    await world.expect(ANNA, "question 3 of 3")
    await world.press(ANNA, world.last(ANNA), stop_data(world.last(ANNA)))
    await world.expect(ANNA, "What you wrote is kept with your reflection")

    # /journal: the entry opened whole carries its thread.
    await world.say(ANNA, "/journal")
    page = await world.expect(ANNA, "Your journal")
    assert "went deeper" in (page.text or "")
    await world.press(ANNA, page, next(d for _, d in page.buttons() if ":o:" in d))
    thread = await world.expect(ANNA, "Zebra-Lantaarn-77")
    assert LOOKED_BACK in (thread.text or "") and "Going deeper" in (thread.text or "")

    # /export: in the JSON with the reflection, and in the Markdown document.
    await world.say(ANNA, "/export")
    json_doc = await world.expect(ANNA, lambda m: m.document is not None and m.document[0].endswith(".json"))
    markdown = next(m for m in world.fake.sent(ANNA.id) if m.document and m.document[0].endswith(".md"))
    data = json.loads(json_doc.document[1])
    steps = data["reflections"][0]["going_deeper"]
    assert [s["answer"] for s in steps] == [LOOKED_BACK, "Zebra-Lantaarn-77 was what mattered."]
    assert steps[0]["question"].startswith("Go back to that moment")
    document = markdown.document[1].decode()
    assert "Going deeper" in document and "Zebra-Lantaarn-77" in document

    # /forget: gone from the database file and its WAL.
    assert on_disk(world, "Zebra-Lantaarn-77")
    await world.say(ANNA, "/forget")
    confirm = await world.expect(ANNA, lambda m: ("Yes, erase everything", "fg:yes") in m.buttons())
    await world.press(ANNA, confirm, "fg:yes")
    await world.until(lambda: world.fake.sent(ANNA.id)[-1].message_id > confirm.message_id)
    await world.scalar_becomes("SELECT count(*) FROM person WHERE telegram_id = ?", (ANNA.id,), 0)
    assert await world.db.scalar("SELECT count(*) FROM deepening") == 0
    assert on_disk(world, "Zebra-Lantaarn-77") == []


async def test_sharing_a_reflection_shares_the_reflection_and_not_its_thread(world: World) -> None:
    await ready(world, ANNA, BOB)
    kept = await reflect(world, ANNA, REFLECTION)
    await world.press(ANNA, kept, deeper_data(kept))
    await world.expect(ANNA, "question 1 of 3")
    await world.say(ANNA, "Only-For-Me-31 is what happened.")
    await world.expect(ANNA, "question 2 of 3")
    await world.press(ANNA, kept, next(d for _, d in kept.buttons() if d.endswith(":shared")))
    await world.settle()
    await world.say(ANNA, "/digest")
    so_far = await world.expect(ANNA, lambda m: REFLECTION in (m.text or ""))
    assert "Only-For-Me-31" not in (so_far.text or "")
    # The set's digest, once it goes, carries the reflection only.
    world.clock.set(local("2027-04-17T10:00"))  # the digest is planned some days before the meeting of 20 April
    due = None
    for _ in range(500):
        if (due := await world.db.scalar("SELECT send_at FROM digest WHERE status = 'planned' LIMIT 1")) is not None:
            break
        await asyncio.sleep(0.01)
    assert due is not None
    world.clock.set(datetime.fromisoformat(due) + timedelta(minutes=1))
    digest = await world.expect(BOB, lambda m: REFLECTION in (m.text or ""))
    assert all("Only-For-Me-31" not in (m.text or "") for m in world.fake.sent(BOB.id))
    assert digest is not None


async def test_bad_input_while_going_deeper_gets_a_sentence_and_stores_nothing_wrong(world: World) -> None:
    await ready(world, ANNA, BOB)
    kept = await reflect(world, ANNA, REFLECTION)
    anna_entry = (await journal.for_person(world.db, (await world.person(ANNA)).id))[0]

    # Bob forges a press on Anna's entry: the stale notice, nothing asked, nothing stored.
    answer = await world.press_answered(BOB, world.last(BOB), f"dp:{anna_entry.id}")
    assert answer["text"] == "Deze knop werkt niet meer."
    assert await world.db.scalar("SELECT count(*) FROM deepening") == 0
    assert (await world.person(BOB)).awaiting is None

    # An empty answer: a sentence and the question again; a 5,000-character one is kept whole.
    await world.press(ANNA, kept, deeper_data(kept))
    await world.expect(ANNA, "question 1 of 3")
    await world.say(ANNA, "   ")
    await world.expect(ANNA, "I didn't get any words there")
    await world.expect(ANNA, "question 1 of 3", count=2)
    long = ("I kept talking. " * 313)[:5000]
    await world.say(ANNA, long)
    await world.expect(ANNA, "question 2 of 3")
    thread = await deepening.thread(world.db, anna_entry.id)
    assert thread[0].answer == long.strip() and len(thread[0].answer) > 4900

    # Bob forges Anna's Stop button: nothing stops.
    answer = await world.press_answered(BOB, world.last(BOB), f"dp:stop:{thread[1].id}")
    assert answer["text"] == "Deze knop werkt niet meer."
    assert (await deepening.get(world.db, thread[1].id)) is not None

    # Anna stops; the old Stop button and a Go deeper after the thread finished get a sentence.
    question = world.last(ANNA)
    await world.press(ANNA, question, stop_data(question))
    await world.expect(ANNA, "we'll stop here")
    answer = await world.press_answered(ANNA, question.message_id, f"dp:stop:{thread[1].id}")
    assert answer["text"] == "This button no longer applies."
    answer = await world.press_answered(ANNA, kept, deeper_data(kept))
    assert "already went deeper" in answer["text"]
    assert [s.step for s in await deepening.thread(world.db, anna_entry.id)] == [1]

    # After the question has expired, typed text is a reflection again, never a late answer.
    world.clock.set(world.clock.now() + timedelta(minutes=11))  # past the window in which messages make one reflection
    await world.press(ANNA, (fresh := await reflect(world, ANNA, "Another moment.")), deeper_data(fresh))
    await world.expect(ANNA, "question 1 of 3", count=3)
    world.clock.set(world.clock.now() + timedelta(minutes=31))
    await world.say(ANNA, "A new thought, hours later.")
    await world.expect(ANNA, "Kept in your journal", count=3)
    assert len(await journal.for_person(world.db, anna_entry.person_id)) == 3


async def test_an_edited_answer_changes_the_thread(world: World) -> None:
    await ready(world, ANNA)
    kept = await reflect(world, ANNA, REFLECTION)
    await world.press(ANNA, kept, deeper_data(kept))
    await world.expect(ANNA, "question 1 of 3")
    sent = await world.say(ANNA, "I wanted to be done by noom.")
    await world.expect(ANNA, "question 2 of 3")
    await world.fake.edit_text(ANNA, sent, "I wanted to be done by noon.")
    await world.expect(ANNA, "Updated your journal")
    entry = (await journal.for_person(world.db, (await world.person(ANNA)).id))[0]
    assert (await deepening.thread(world.db, entry.id))[0].answer == "I wanted to be done by noon."
    assert on_disk(world, "noom") == []


async def test_an_answer_telegram_split_in_two_messages_stays_one_answer(world: World) -> None:
    await ready(world, ANNA)
    kept = await reflect(world, ANNA, REFLECTION)
    await world.press(ANNA, kept, deeper_data(kept))
    await world.expect(ANNA, "question 1 of 3")
    first_part, rest = "word " * 819 + "word", "and this is how the long answer ends."
    await world.say(ANNA, first_part)  # 4,099 characters: what Telegram sends as one message at most, roughly
    await world.expect(ANNA, "question 2 of 3")
    await world.say(ANNA, rest)  # the same second: the rest of it
    await world.settle()
    entry = (await journal.for_person(world.db, (await world.person(ANNA)).id))[0]
    thread = await deepening.thread(world.db, entry.id)
    assert thread[0].answer == first_part + "\n" + rest and thread[1].is_open
    # A reply a while later answers the open question.
    world.clock.set(world.clock.now() + timedelta(minutes=1))
    await world.say(ANNA, ESSENTIAL)
    await world.expect(ANNA, "question 3 of 3")
    assert (await deepening.thread(world.db, entry.id))[1].answer == ESSENTIAL

