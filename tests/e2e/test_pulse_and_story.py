"""The pulse and my story, end to end: a pulse at a module's start replaces that day's prompt and moves
in place through four questions; the end pulse on the last day; the story (a PDF) that evening with
the learning question's history, the reflections, the intention and what happened and the chart in
it; /pulse as a chart and in words; /story on demand; bad presses; export and forget."""

from __future__ import annotations

import io
import json

import pypdf
from PIL import Image

from bot.sandbox.fakeapi import FakeUser, SentMessage
from bot.store import outbox, people
from bot.story import CHART_HEIGHT, CHART_WIDTH
from tests.e2e.world import World, local, plain
from tests.factories import learning_set, module, programme

PROGRAMME = programme(
    key="cpm-pulse",
    modules=[
        module("m1", "The Challenges", "2027-03-29", "2027-04-02", capacities=["cognitive"]),
        module("m2", "The Person", "2027-04-05", "2027-04-09", capacities=["relational"]),
    ],
    sets=[learning_set("set-a", "Set A")],
)

ANNA = FakeUser(id=7101, first_name="Anna")
BOB = FakeUser(id=7102, first_name="Bob", language_code="nl")

REFLECTION = "I noticed I decide before my team has spoken — next time I ask first. Café, 5 €."
OUTCOME = "I asked first in Tuesday's meeting; the plan got better and Joëlle spoke up."


def is_pulse(message: SentMessage) -> bool:
    return any(d.startswith("pu:") for _, d in message.buttons()) or "pu:" in json.dumps(message.params.get("reply_markup") or {})


def is_prompt(message: SentMessage) -> bool:
    return "pr:" in json.dumps(message.params.get("reply_markup") or {})


async def answer_pulse(world: World, user: FakeUser, message: SentMessage, scores: list[int | None]) -> None:
    """Taps through the four questions of a pulse message as it moves in place."""
    for number, score in enumerate(scores):
        await world.until(lambda: len(message.buttons()) == 6 and f"{number + 1} of 4" in plain(message) or
                          f"{number + 1} van 4" in plain(message))
        data = next(d for label, d in message.buttons() if label == (str(score) if score is not None else "Skip")
                    or (score is None and d.endswith(":s")))
        await world.press(user, message, data)
    await world.until(lambda: not message.buttons())


async def join(world: World, *users: FakeUser) -> None:
    """Loads the programme, starts the bot and onboards Anna (and others), and waits until the planner
    has planned their pulses (it runs on its own, a week ahead; the daily prompts are planned at once)."""
    await world.load(PROGRAMME)
    await world.start()
    for user in (ANNA, *users):
        await world.onboard(user, await world.invite("cpm-pulse", "set-a"), language=user.language_code or "en")
    await world.scalar_becomes(
        "SELECT count(DISTINCT person_id) FROM outbox WHERE kind = 'pulse' AND dedupe_key LIKE '%:m1:start'", (),
        1 + len(users), timeout=10,
    )


async def test_a_pulse_at_start_and_end_and_the_story_at_the_module_end(world: World) -> None:
    world.render.library = [p for p in world.render.library if p.intention]  # every prompt asks for an intention
    await join(world)
    anna = await world.person(ANNA)
    assert anna is not None
    # Her learning question, written at onboarding and rewritten (another part of the bot writes these rows).
    for text, at in (("How do I give my team room to decide?", "2027-03-24T11:00"),
                     ("How do I stay silent long enough for others to decide?", "2027-03-26T11:00")):
        async with world.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO learning_question (person_id, programme_id, text, created_at) VALUES (?, ?, ?, ?)",
                (anna.id, world.programme_ids["cpm-pulse"], text, outbox.ts(local(at))),
            )

    # Monday 29 March, the module's first day: the pulse is the day's one question (no prompt).
    world.clock.set(local("2027-03-29T09:00"))
    start = await world.expect(ANNA, is_pulse)
    assert "start of The Challenges" in plain(start) and "1 of 4" in plain(start)
    await answer_pulse(world, ANNA, start, [2, 3, None, 4])
    assert "thank you" in plain(start) and "Stepping in: skipped" in plain(start)
    world.clock.set(local("2027-03-29T18:00"))
    await world.settle()
    assert not [m for m in world.fake.sent(ANNA.id) if is_prompt(m)]

    # Tuesday: a prompt; she names what she will try. Its follow-up would come on Friday, where the end
    # pulse goes first (the daily budget), and Thursday asks what the module did for her learning
    # question; here it is asked on Wednesday, and she says what happened.
    world.clock.set(local("2027-03-30T09:00"))
    prompt = await world.expect(ANNA, is_prompt)
    await world.row_of(ANNA, prompt)
    await world.say(ANNA, REFLECTION)
    await world.expect(ANNA, "Kept in your journal")
    follow_up = await world.db.fetchone("SELECT id, due_at FROM outbox WHERE kind = 'follow_up'")
    assert follow_up is not None
    async with world.db.transaction() as conn:
        await conn.execute("UPDATE outbox SET due_at = ? WHERE id = ?", (outbox.ts(local("2027-03-31T09:00")), follow_up[0]))
    world.clock.set(local("2027-03-31T09:00"))
    await world.expect(ANNA, lambda m: REFLECTION[:20] in (m.text or ""))
    await world.say(ANNA, OUTCOME)
    await world.expect(ANNA, "Kept in your journal", count=2)

    # Friday 2 April, the last day: the end pulse.
    world.clock.set(local("2027-04-02T09:00"))
    end = await world.expect(ANNA, lambda m: is_pulse(m) and "end of The Challenges" in plain(m))
    await answer_pulse(world, ANNA, end, [4, 3, 3, 5])

    # That evening: the story, a PDF, to her alone.
    world.clock.set(local("2027-04-02T20:00"))
    story = await world.expect(ANNA, lambda m: m.document is not None and m.document[0].endswith(".pdf"))
    assert "The Challenges has ended" in plain(story)
    text = pdf_text(story.document[1])  # type: ignore[index]
    for words in ("My story", "How do I give my team room to decide?",
                  "How do I stay silent long enough for others to decide?", "My pulse",
                  "Making sense: from 2 to 4", "Stepping in: 3 (one answer so far)", "The Challenges",
                  "Café, 5 €", "What I meant to try, and what happened", "Joëlle spoke up"):
        assert words in text, words
    # Above her reflection, the prompt it answers, as it read on Tuesday.
    assert " ".join(plain(prompt).split()) + " " + REFLECTION[:30] in text
    reader = pypdf.PdfReader(io.BytesIO(story.document[1]))  # type: ignore[index]
    images = [image for page in reader.pages for image in page.images]
    assert images, "the pulse chart is in the story"
    assert all(m.chat_id == ANNA.id for m in world.fake.sent() if m.document is not None)

    # /pulse: the words and a real PNG of the chart's size.
    await world.say(ANNA, "/pulse")
    words = await world.expect(ANNA, "Your pulse")
    assert "Making sense: from 2 to 4 (2 answers)" in plain(words)
    chart = await world.expect(ANNA, lambda m: m.photo is not None)
    picture = Image.open(io.BytesIO(chart.photo))  # type: ignore[arg-type]
    assert picture.format == "PNG" and picture.size == (CHART_WIDTH, CHART_HEIGHT)

    # The prompt of the first day gave way to the pulse; the one prompt sent came on Tuesday.
    rows = await world.db.fetchall("SELECT dedupe_key, status, last_error FROM outbox WHERE kind = 'prompt'")
    assert ("prompt:1:2027-03-29", "cancelled", "daily budget") in [tuple(r) for r in rows]
    assert [r[0] for r in rows if r[1] == "sent"] == ["prompt:1:2027-03-30"]


def pdf_text(data: bytes) -> str:
    """Gives a PDF's text, lines joined by spaces (a sentence may wrap)."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


async def test_pulse_presses_twice_for_another_person_another_module_or_after_the_module_change_nothing_wrong(world: World) -> None:
    await join(world, BOB)
    world.clock.set(local("2027-03-29T09:00"))
    anna_pulse = await world.expect(ANNA, is_pulse)
    bob_pulse = await world.expect(BOB, is_pulse)
    assert "Hoe zeker voel je je vandaag" in plain(bob_pulse)
    anna_row = await world.row_of(ANNA, anna_pulse)
    first = next(d for label, d in anna_pulse.buttons() if label == "4")

    await world.press(ANNA, anna_pulse, first)
    await world.until(lambda: "2 of 4" in plain(anna_pulse))
    # The same press again (a double tap, or Telegram delivering it twice): nothing changes.
    answer = await world.press_answered(ANNA, anna_pulse, first)
    assert "already" in answer["text"]
    # Another score for the first question while the module runs: the answer changes.
    answer = await world.press_answered(ANNA, anna_pulse, first.replace(":4", ":2"))
    assert "Changed to 2" in answer["text"]
    # Bob presses a button of Anna's pulse (forged data): nothing is stored for anyone.
    answer = await world.press_answered(BOB, bob_pulse, f"pu:{anna_row.id}:r:5")
    assert answer["text"] == world.render.message("nl", "button_stale")
    # Data the bot never writes.
    await world.press_answered(ANNA, anna_pulse, f"pu:{anna_row.id}:q:9")
    anna = await world.person(ANNA)
    bob = await world.person(BOB)
    assert anna is not None and bob is not None
    stored = await world.db.fetchall("SELECT person_id, capacity, score FROM pulse_answer ORDER BY id")
    assert [tuple(r) for r in stored] == [(anna.id, "cognitive", 2)]

    # After the module ended: a plain sentence, the answer as it was, the buttons gone.
    world.clock.set(local("2027-04-03T10:00"))
    old_five = next(d for label, d in anna_pulse.buttons() if label == "5")
    answer = await world.press_answered(ANNA, anna_pulse, old_five)
    assert "has closed" in answer["text"]
    assert await world.db.scalar("SELECT count(*) FROM pulse_answer WHERE capacity = 'relational'") == 0
    await world.until(lambda: not anna_pulse.buttons())

    # In the next module, with its own pulse open: the first module's button still counts for nothing,
    # in neither module, and a pulse button naming a row that is no pulse (a prompt's) is refused.
    world.clock.set(local("2027-04-05T09:00"))
    next_pulse = await world.expect(ANNA, lambda m: is_pulse(m) and "start of The Person" in plain(m))
    answer = await world.press_answered(ANNA, anna_pulse, old_five)
    assert "has closed" in answer["text"]
    prompt_row = await world.db.scalar("SELECT id FROM outbox WHERE kind = 'prompt' AND person_id = ? LIMIT 1", (anna.id,))
    answer = await world.press_answered(ANNA, next_pulse, f"pu:{prompt_row}:c:3")
    assert answer["text"] == world.render.message("en", "button_stale")
    stored = await world.db.fetchall("SELECT module_key, capacity, score FROM pulse_answer ORDER BY id")
    assert [tuple(r) for r in stored] == [("m1", "cognitive", 2)]
    assert "1 of 4" in plain(next_pulse)  # its own question waits, untouched


async def test_story_without_reflections_then_export_and_forget_cover_the_pulse(world: World) -> None:
    await join(world)
    await world.say(ANNA, "/story")
    await world.expect(ANNA, "nothing to tell yet")
    await world.say(ANNA, "/pulse")
    await world.expect(ANNA, "not answered a pulse yet")

    world.clock.set(local("2027-03-29T09:00"))
    start = await world.expect(ANNA, is_pulse)
    await answer_pulse(world, ANNA, start, [3, 4, 5, None])
    world.clock.set(local("2027-03-30T09:00"))
    prompt = await world.expect(ANNA, is_prompt)
    await world.row_of(ANNA, prompt)
    await world.say(ANNA, REFLECTION)
    await world.expect(ANNA, "Kept in your journal")
    await world.say(ANNA, "/story")
    story = await world.expect(ANNA, lambda m: m.document is not None and m.document[0].endswith(".pdf"))
    assert "Your story so far" in plain(story)
    assert "Café, 5 €" in pdf_text(story.document[1])  # type: ignore[index]

    await world.say(ANNA, "/export")
    document = await world.expect(ANNA, lambda m: m.document is not None and m.document[0].endswith(".md"))
    exported = document.document[1].decode()  # type: ignore[index]
    assert "## Your pulse answers" in exported and "The Challenges, start — relational: 4" in exported
    data = await world.expect(ANNA, lambda m: m.document is not None and m.document[0].endswith(".json"))
    answers = json.loads(data.document[1])["pulse_answers"]  # type: ignore[index]
    assert {(a["capacity"], a["score"]) for a in answers} == {
        ("cognitive", 3), ("relational", 4), ("intervention", 5), ("cross-boundary", None)
    }

    await world.say(ANNA, "/forget")
    confirm = await world.expect(ANNA, lambda m: any(d == "fg:yes" for _, d in m.buttons()))
    await world.press(ANNA, confirm, "fg:yes")
    await world.scalar_becomes("SELECT count(*) FROM person WHERE telegram_id = ?", (ANNA.id,), 0)
    assert await world.db.scalar("SELECT count(*) FROM pulse_answer") == 0
    assert await people.get_person_by_telegram(world.db, ANNA.id) is None
