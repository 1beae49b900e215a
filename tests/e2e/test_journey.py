"""The learning journey walked whole, in English and in Dutch, as a participant on a phone: a learning
question written at onboarding and rewritten, a prompt that quotes it, going deeper two steps into
what she will try and its follow-up, the pulse at the module's start and end, the module's end
question, and her story through the outbox at the module's end and at the programme's end, with
the question's history, the prompts she answered, the thread and the chart in it. Every message fits a
phone: short enough to read without scrolling far, buttons short enough to read whole."""

from __future__ import annotations

import io
import json
import re

import pypdf
import pytest
from PIL import Image

from bot.sandbox.fakeapi import FakeUser, SentMessage
from bot.story import CHART_HEIGHT, CHART_WIDTH
from tests.e2e.world import World, local, plain
from tests.factories import learning_set, module, programme

PROGRAMME = programme(
    key="journey",
    title="Certified Public Manager",
    modules=[module("m1", "The Challenges", "2027-03-29", "2027-04-09", capacities=["cognitive"]),
             module("m2", "The Person", "2027-04-12", "2027-04-16", capacities=["relational"])],
    sets=[learning_set("set-a", "Set A")],
)

Q1 = {"en": "How do I give my team room to decide?", "nl": "Hoe geef ik mijn team ruimte om te beslissen?"}
Q2 = {"en": "How do I stay silent long enough for others to decide?",
      "nl": "Hoe zwijg ik lang genoeg zodat anderen kunnen beslissen?"}
REFLECTION = {"en": "In the planning meeting I filled every silence — café talk, 5 € of coffee, and no room.",
              "nl": "In het planningsoverleg vulde ik elke stilte op — koffie van 5 €, en geen ruimte."}
LOOKED_BACK = {"en": "Joëlle started twice and I finished her sentence. I wanted it done by ten.",
               "nl": "Joëlle begon twee keer en ik maakte haar zin af. Ik wilde om tien uur klaar zijn."}
ESSENTIAL = {"en": "For me: looking in control. For Joëlle: being heard out.",
             "nl": "Voor mij: de regie houden. Voor Joëlle: uitgesproken mogen zijn."}
TRIAL = {"en": "On Thursday I will count to ten before I speak after a question.",
         "nl": "Donderdag tel ik tot tien voordat ik na een vraag iets zeg."}
OUTCOME = {"en": "I counted; Joëlle proposed the new rota herself.", "nl": "Ik telde; Joëlle stelde zelf het nieuwe rooster voor."}
MODULE_END = {"en": "Silence is work too: I hold it longer now.", "nl": "Stilte is ook werk: ik houd hem nu langer vol."}

WORDS = {
    "en": {"kept_question": "Kept as your learning question", "kept_new": "Kept as your new learning question",
           "changed": "How it changed", "kept": "Kept in your journal", "deeper_1": "question 1 of 3",
           "deeper_3": "question 3 of 3", "done": "I'll ask in a few days how it went",
           "follow_up": "You meant to try something at work", "module_end": "is coming to an end",
           "pulse_start": "start of The Challenges", "pulse_end": "end of The Challenges", "of_4": "of 4",
           "module_story": "The Challenges has ended", "programme_story": "The programme has ended",
           "pdf": ("My story", "My learning question", "My pulse", "Making sense: from 2 to 4",
                   "What I meant to try, and what happened", "Going deeper: What happened, and what did you want?",
                   "What did The Challenges do for my learning question?", "You rewrote it once.")},
    "nl": {"kept_question": "Bewaard als je leervraag", "kept_new": "Bewaard als je nieuwe leervraag",
           "changed": "Hoe hij veranderde", "kept": "Bewaard in je dagboek", "deeper_1": "vraag 1 van 3",
           "deeper_3": "vraag 3 van 3", "done": "Over een paar dagen vraag ik hoe het ging",
           "follow_up": "Je wilde iets uitproberen op je werk", "module_end": "loopt ten einde",
           "pulse_start": "begin van The Challenges", "pulse_end": "einde van The Challenges", "of_4": "van 4",
           "module_story": "The Challenges is afgelopen", "programme_story": "Het programma is afgelopen",
           "pdf": ("Mijn verhaal", "Mijn leervraag", "Mijn peiling", "Doorgronden: van 2 naar 4",
                   "Wat ik wilde proberen, en wat er gebeurde", "Dieper: Wat gebeurde er, en wat wilde je?",
                   "Wat heeft The Challenges opgeleverd voor mijn leervraag?", "Je hebt hem één keer herschreven.")},
}

# A phone shows about 40 characters a line: a message longer than this asks for a lot of scrolling,
# and a button label longer than that is cut off.
LONGEST_MESSAGE = 900
LONGEST_LABEL = 30


def buttons_with(prefix: str):  # noqa: ANN201 - a predicate for world.expect
    return lambda m: any(d.startswith(prefix) for _, d in m.buttons())


def says(text: str):  # noqa: ANN201 - a predicate for world.expect
    return lambda m: text in plain(m)


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def flat(text: str) -> str:
    return " ".join(text.split())


async def tap_pulse(world: World, user: FakeUser, message: SentMessage, scores: list[int | None], of: str) -> None:
    """Taps through a pulse's four questions as its one message moves in place."""
    for number, score in enumerate(scores, start=1):
        await world.until(lambda: f"{number} {of}" in plain(message) and len(message.buttons()) == 6)
        wanted = str(score) if score is not None else None
        await world.press(user, message, next(d for label, d in message.buttons()
                                              if (label == wanted) or (wanted is None and d.endswith(":s"))))
    await world.until(lambda: not message.buttons())


async def at(world: World, moment: str) -> None:
    world.clock.set(local(moment))
    await world.settle()


@pytest.mark.parametrize("language", ["en", "nl"])
async def test_a_participant_walks_the_whole_journey_and_gets_her_story(world: World, language: str) -> None:
    words = WORDS[language]
    user = FakeUser(id=7301, first_name="Anna", language_code=language)
    await world.load(PROGRAMME)
    await world.start()

    # Wednesday 24 March: onboarding ends with her learning question; /question rewrites it.
    await world.onboard(user, await world.invite("journey", "set-a"), language=language, question=Q1[language])
    await world.expect(user, says(words["kept_question"]))
    await world.say(user, "/question")
    view = await world.expect(user, buttons_with("lq:rw:"))
    await world.press(user, view, next(d for _, d in view.buttons() if d.startswith("lq:rw:")))
    await world.expect(user, buttons_with("lq:x:"))
    await world.say(user, Q2[language])
    await world.expect(user, says(words["kept_new"]))
    await world.say(user, "/question")
    view = await world.expect(user, lambda m: words["changed"] in plain(m))
    assert plain(view).index(Q2[language]) < plain(view).index(Q1[language])
    person = await world.person(user)
    assert person is not None
    await world.say(user, "/story")  # nothing written yet: a plain sentence, no document
    await world.expect(user, says(world.render.message(language, "story_empty")))

    # Monday 29 March, the module's first day: the start pulse is the day's one message.
    world.clock.set(local("2027-03-29T09:00"))
    start = await world.expect(user, lambda m: words["pulse_start"] in plain(m))
    await tap_pulse(world, user, start, [2, 3, 4, None], words["of_4"])
    # Tuesday's prompt is one that quotes her learning question (as the day's choice might be).
    async with world.db.transaction() as conn:
        await conn.execute("UPDATE outbox SET payload = json_set(payload, '$.prompt_key', 'question-between-01')"
                           " WHERE dedupe_key = ?", (f"prompt:{person.id}:2027-03-30",))

    # Tuesday: the prompt quotes the rewritten question; she answers and goes deeper: two steps, then
    # what she will try.
    world.clock.set(local("2027-03-30T09:00"))
    prompt = await world.expect(user, lambda m: Q2[language] in plain(m) and "pr:later:" in json.dumps(m.params))
    await world.row_of(user, prompt)
    await world.say(user, REFLECTION[language], reply_to=prompt.message_id)
    kept = await world.expect(user, buttons_with("dp:"))
    await world.press(user, kept, next(d for _, d in kept.buttons() if d.startswith("dp:")))
    await world.expect(user, says(words["deeper_1"]))
    await world.say(user, LOOKED_BACK[language])
    await world.expect(user, says(words["deeper_1"].replace("1", "2")))
    await world.say(user, ESSENTIAL[language])
    await world.expect(user, says(words["deeper_3"]))
    await world.say(user, TRIAL[language])
    done = await world.expect(user, says(words["done"]))
    assert TRIAL[language] in plain(done)

    # Friday 2 April: the follow-up quotes what she will try; she says what happened.
    world.clock.set(local("2027-04-02T09:00"))
    follow_up = await world.expect(user, says(words["follow_up"]))
    assert TRIAL[language] in plain(follow_up) and REFLECTION[language] not in plain(follow_up)
    await world.row_of(user, follow_up)
    await world.say(user, OUTCOME[language], reply_to=follow_up.message_id)
    await world.expect(user, says(words["kept"]), count=2)

    # Thursday 8 April: what did the module do for her question? Friday 9 April: the end pulse.
    world.clock.set(local("2027-04-08T09:00"))
    question = await world.expect(user, says(words["module_end"]))
    assert Q2[language] in plain(question)
    await world.row_of(user, question)
    await world.say(user, MODULE_END[language], reply_to=question.message_id)
    await world.expect(user, says(words["kept"]), count=3)
    world.clock.set(local("2027-04-09T09:00"))
    end = await world.expect(user, lambda m: words["pulse_end"] in plain(m))
    await tap_pulse(world, user, end, [4, 4, 3, 5], words["of_4"])

    # That evening her story comes through the outbox, to her alone.
    world.clock.set(local("2027-04-09T20:00"))
    story = await world.expect(user, lambda m: m.document is not None and m.document[0].endswith(".pdf"))
    assert words["module_story"] in plain(story)
    row = await world.row_of(user, story)
    assert row.kind == "story"
    text = pdf_text(story.document[1])  # type: ignore[index]
    asked = flat(plain(prompt))  # the prompt as she got it, her rewritten question in it
    for expected in (*words["pdf"], Q1[language], Q2[language], asked + " " + REFLECTION[language], LOOKED_BACK[language],
                     ESSENTIAL[language], TRIAL[language], OUTCOME[language], MODULE_END[language]):
        assert flat(expected) in text, expected
    reader = pypdf.PdfReader(io.BytesIO(story.document[1]))  # type: ignore[index]
    charts = [image for page in reader.pages for image in page.images]
    assert len(charts) == 1 and Image.open(io.BytesIO(charts[0].data)).size == (CHART_WIDTH, CHART_HEIGHT)

    # /export holds the question she answered beside her reflection, the thread and both versions.
    await world.say(user, "/export")
    data = await world.expect(user, lambda m: m.document is not None and m.document[0].endswith(".json"))
    exported = json.loads(data.document[1])  # type: ignore[index]
    answered = next(r for r in exported["reflections"] if r["messages"][0]["text"] == REFLECTION[language])
    assert flat(answered["question"]) == asked and len(answered["going_deeper"]) == 3
    assert [v["text"] for v in exported["learning_question"]["versions"]] == [Q2[language], Q1[language]]

    # The last module's end is the programme's: that story says so.
    await at(world, "2027-04-12T09:00")
    world.clock.set(local("2027-04-16T20:00"))
    last = await world.expect(user, lambda m: m.document is not None and m.document[0].endswith(".pdf"), count=2)
    assert words["programme_story"] in plain(last)
    assert all(m.chat_id == user.id for m in world.fake.sent() if m.document is not None)

    # Everything fits a phone.
    for message in world.fake.sent(user.id):
        body = plain(message)
        assert len(body) <= LONGEST_MESSAGE, (len(body), body[:80])
        for label, _ in message.buttons():
            assert len(label) <= LONGEST_LABEL, label
    assert not re.search(r"\{\{|\}\}|\{%", " ".join(plain(m) for m in world.fake.sent(user.id)))
