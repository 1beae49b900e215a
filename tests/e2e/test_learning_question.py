"""The learning question (leervraag) end to end: written at onboarding or skipped, rewritten and its
history shown, asked again at the intake and at a module's end (the answer a reflection that counts),
quoted by prompts only for those who have one, shared at the top of the own set's digest and no
other, in /export and gone after /forget; bad input gets a sentence and stores nothing wrong."""

from __future__ import annotations

import json

from bot.sandbox.fakeapi import FakeUser, SentMessage
from bot.store import learning_question, outbox, programmes, stats
from tests.e2e.test_privacy import on_disk
from tests.e2e.world import World, local, plain
from tests.factories import event, learning_set, meeting, module, programme

PROGRAMME = programme(
    key="lq-den-haag",
    title="Pitstop Den Haag",
    language="nl",
    modules=[
        module("verbinden", "Verbinden", "2027-03-01", "2027-04-02", capacities=["relational"], events=[
            event("intake", "2027-03-30T13:00:00", "2027-03-30T17:00:00", title="Intake van je leergroep"),
        ]),
        module("slagkracht", "Slagkracht", "2027-04-03", "2027-06-30", capacities=["intervention"]),
    ],
    sets=[
        learning_set("groep-1", "Leergroep 1", [meeting("2027-04-13T14:00:00")]),
        learning_set("groep-2", "Leergroep 2", [meeting("2027-04-14T14:00:00")]),
    ],
)

ANNA = FakeUser(id=8101, first_name="Anna", language_code="nl")
BOB = FakeUser(id=8102, first_name="Bob")
DAN = FakeUser(id=8103, first_name="Dan")
CAROL = FakeUser(id=8104, first_name="Carol")

Q1 = "Hoe houd ik mijn team aan boord bij de reorganisatie van Zuid-Rozenburg?"
Q2 = "Hoe geef ik mijn team ruimte zonder de koers kwijt te raken?"
Q3 = "Hoe stel ik eerst vragen voordat ik besluit, juist onder druk?"
DAN_Q = "How do I work across the boundary with the Waterschap-77 people?"
BOB_Q = "How do I say no to my director without losing their trust?"


def buttons_with(prefix: str):  # noqa: ANN201 - a predicate for world.expect
    return lambda m: any(d.startswith(prefix) for _, d in m.buttons())


def says(text: str):  # noqa: ANN201 - a predicate for world.expect
    return lambda m: text in plain(m)


def data(message: SentMessage, start: str) -> str:
    return next(d for _, d in message.buttons() if d.startswith(start))


async def versions(world: World, user: FakeUser) -> list[str]:
    person = await world.person(user)
    assert person is not None
    return [v.text for v in await learning_question.versions(world.db, person.id)]


async def show(world: World, user: FakeUser) -> SentMessage:
    """Sends /question and gives the view."""
    before = sum(1 for m in world.fake.sent(user.id) if "lq:rw:" in json.dumps(m.params.get("reply_markup") or {}))
    await world.say(user, "/question")
    return await world.expect(user, lambda m: "lq:rw:" in json.dumps(m.params.get("reply_markup") or {}),
                              count=before + 1)


async def test_a_question_written_at_onboarding_is_rewritten_twice_and_shows_how_it_changed(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    await world.onboard(ANNA, await world.invite("lq-den-haag", "groep-1"), language="nl", question=Q1)
    kept = await world.expect(ANNA, "Bewaard als je leervraag")
    assert Q1 in plain(kept) and "Alleen jij kunt hem lezen" in plain(kept)
    assert await versions(world, ANNA) == [Q1]

    view = await show(world, ANNA)
    assert Q1 in plain(view) and "Sinds 24 mrt 2027 · alleen jij kunt hem lezen" in plain(view)
    assert "Hoe hij veranderde" not in plain(view)

    # Rewritten the next day, and again a week later; every version stays.
    world.clock.set(local("2027-03-25T20:00"))
    await world.press(ANNA, view, data(view, "lq:rw:"))
    ask = await world.expect(ANNA, "Schrijf je nieuwe leervraag")
    assert Q1 in plain(ask) and any(d.startswith("lq:x:") for _, d in ask.buttons())
    await world.say(ANNA, Q2)
    await world.expect(ANNA, "Bewaard als je nieuwe leervraag")
    world.clock.set(local("2027-04-01T20:00"))
    view = await show(world, ANNA)
    await world.press(ANNA, view, data(view, "lq:rw:"))
    await world.expect(ANNA, lambda m: Q2 in plain(m) and "Schrijf je nieuwe leervraag" in plain(m))
    await world.say(ANNA, Q3)
    await world.expect(ANNA, lambda m: Q3 in plain(m) and "Bewaard als je nieuwe leervraag" in plain(m))
    assert await versions(world, ANNA) == [Q3, Q2, Q1]

    # /question: the current one with its date, then how it changed, newest first, each with its date.
    text = plain(await show(world, ANNA))
    assert text.index(Q3) < text.index("Hoe hij veranderde") < text.index(Q2) < text.index(Q1)
    assert "Sinds 1 apr 2027" in text
    assert f"25 mrt 2027: {Q2}" in text and f"24 mrt 2027: {Q1}" in text

    # Rewriting can be left: Cancel stops it, and the next message is a reflection, not a question.
    view = await show(world, ANNA)
    await world.press(ANNA, view, data(view, "lq:rw:"))
    ask = await world.expect(ANNA, lambda m: Q3 in plain(m) and "Schrijf je nieuwe leervraag" in plain(m))
    await world.press(ANNA, ask, data(ask, "lq:x:"))
    await world.scalar_becomes("SELECT awaiting FROM person WHERE telegram_id = ?", (ANNA.id,), None)
    await world.say(ANNA, "Vandaag merkte ik dat ik te snel besliste.")
    await world.expect(ANNA, "Bewaard in je dagboek")
    assert await versions(world, ANNA) == [Q3, Q2, Q1]


async def test_skipping_at_onboarding_leaves_none_and_the_intake_asks_again(world: World) -> None:
    # The calendar's own reminder of the intake is another story (bot.jobs.reminders): muted here.
    await programmes.mute_reminders(world.db, await world.load(PROGRAMME), True)
    await world.start()
    await world.onboard(ANNA, await world.invite("lq-den-haag", "groep-1"), language="nl", question=Q1)
    await world.onboard(BOB, await world.invite("lq-den-haag", "groep-1"))
    await world.expect(BOB, "write your learning question with /question")
    assert await versions(world, BOB) == []
    view = await show(world, BOB)
    assert "You have no learning question yet" in plain(view)
    assert [d for _, d in view.buttons()] == ["lq:rw:0"]

    # Tuesday 30 March, the intake, at each one's hour (09:00): asked again, in place of the day's prompt.
    # Planned when each finished onboarding, days ahead: not left to the hourly planner.
    assert await world.db.scalar("SELECT count(*) FROM outbox WHERE kind = 'question' AND status = 'pending'", ()) == 2
    world.clock.set(local("2027-03-29T20:00"))
    await world.settle()
    world.clock.set(local("2027-03-30T09:00"))
    anna = await world.expect(ANNA, says("Vandaag is het Intake van je leergroep"))
    assert Q1 in plain(anna) and "Past hij nog" in plain(anna)
    assert [label for label, _ in anna.buttons()] == ["✏️ Herschrijven", "Zo laten"]
    bob = await world.expect(BOB, says("Today is Intake van je leergroep"))
    assert "Would you like to write it now?" in plain(bob)
    await world.press(ANNA, anna, data(anna, "lq:ok:"))
    await world.press(BOB, bob, data(bob, "lq:rw:"))
    await world.expect(BOB, "Write your learning question in a message (at most 500 characters)")
    await world.say(BOB, BOB_Q)
    await world.expect(BOB, "Kept as your learning question")
    assert await versions(world, BOB) == [BOB_Q]
    assert await versions(world, ANNA) == [Q1]
    await world.settle()
    for user in (ANNA, BOB):  # one message that day: the intake's question took the prompt's place
        person = await world.person(user)
        assert person is not None
        day = [r for r in await outbox.for_person(world.db, person.id)
               if r.status == "sent" and r.sent_at is not None and r.sent_at >= local("2027-03-30T00:00")]
        assert [r.kind for r in day] == ["question"]


async def test_a_shared_question_opens_its_sets_digest_and_no_other(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    world.clock.set(local("2027-04-05T10:00"))
    await world.onboard(ANNA, await world.invite("lq-den-haag", "groep-1"), language="nl", question=Q1)
    await world.onboard(BOB, await world.invite("lq-den-haag", "groep-1"), question=BOB_Q)
    await world.onboard(DAN, await world.invite("lq-den-haag", "groep-2"), question=DAN_Q)

    # Anna and Dan share theirs; Bob keeps his private (the default). Anna shares a reflection too.
    view = await show(world, ANNA)
    assert [label for label, _ in view.buttons()][1:] == ["✓ Privé houden", "Delen met mijn groep"]
    answer = await world.press_answered(ANNA, view, data(view, "lq:sh:"))
    assert "bovenaan het volgende overzicht" in answer["text"]
    await world.expect(ANNA, lambda m: m.message_id == view.message_id and "gedeeld met je leergroep" in plain(m))
    assert [label for label, _ in view.buttons()][1:] == ["Privé houden", "✓ Delen met mijn groep"]
    view = await show(world, DAN)
    await world.press_answered(DAN, view, data(view, "lq:sh:"))
    await world.say(ANNA, "Ik deel dit: mijn team nam het gesprek over.")
    ack = await world.expect(ANNA, lambda m: any(d.endswith(":shared") for _, d in m.buttons()))
    await world.press(ANNA, ack, next(d for _, d in ack.buttons() if d.endswith(":shared")))
    await world.settle()

    # What the digest holds so far (/digest) opens the same way, in each set with its own questions only.
    await world.say(BOB, "/digest")
    so_far = plain(await world.expect(BOB, says("the next digest so far")))
    assert "Our learning questions\n• Anna: " + Q1 in so_far and BOB_Q not in so_far and DAN_Q not in so_far
    assert so_far.index(Q1) < so_far.index("mijn team nam het gesprek over")
    await world.say(DAN, "/digest")
    so_far = plain(await world.expect(DAN, says("the next digest so far")))
    assert "• Dan: " + DAN_Q in so_far and Q1 not in so_far and "No reflections shared yet." in so_far

    # Sunday 11 April 09:00: set 1's digest opens with Anna's question under her name; not Bob's, not Dan's.
    world.clock.set(local("2027-04-11T09:00"))
    digest = plain(await world.expect(BOB, says("Leergroep 1 — digest")))
    assert "Our learning questions\n• Anna: " + Q1 in digest
    assert digest.index(Q1) < digest.index("mijn team nam het gesprek over")
    assert BOB_Q not in digest and DAN_Q not in digest
    assert Q1 in plain(await world.expect(ANNA, says("Leergroep 1 — overzicht")))
    world.clock.set(local("2027-04-12T09:00"))
    other = plain(await world.expect(DAN, says("Leergroep 2 — digest")))
    assert "• Dan: " + DAN_Q in other and Q1 not in other and BOB_Q not in other

    # Private again: the next digest of set 1 leaves it out.
    view = await show(world, ANNA)
    await world.press_answered(ANNA, view, data(view, "lq:pv:"))
    assert await learning_question.shared_since(world.db, (await world.person(ANNA)).id) is None  # type: ignore[union-attr]


async def test_a_prompt_quotes_the_question_and_is_only_for_those_who_wrote_one(world: World) -> None:
    library = {p.key: p for p in world.render.library}
    assert library["question-preparing-01"].question and not library["between-cognitive-01"].question
    world.render.library = [library["question-preparing-01"], library["between-cognitive-01"]]
    await world.load(PROGRAMME)
    await world.start()
    await world.onboard(ANNA, await world.invite("lq-den-haag", "groep-1"), language="nl", question=Q1)
    await world.onboard(BOB, await world.invite("lq-den-haag", "groep-1"))

    # Thursday 25 March, the week before the intake: preparing. Only Anna's prompt quotes a question.
    world.clock.set(local("2027-03-25T09:00"))
    anna = await world.expect(ANNA, buttons_with("pr:"))
    assert "dichter bij een antwoord op je leervraag" in plain(anna) and Q1 in plain(anna)
    assert "<i>Hoe houd ik mijn team aan boord" in (anna.text or "")
    bob = await world.expect(BOB, buttons_with("pr:"))
    assert "learning question" not in plain(bob)
    assert (await world.row_of(ANNA, anna)).prompt_key == "question-preparing-01"
    assert (await world.row_of(BOB, bob)).prompt_key == "between-cognitive-01"


async def test_the_module_end_asks_what_it_did_for_the_question_and_the_answer_counts(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    await world.onboard(ANNA, await world.invite("lq-den-haag", "groep-1"), language="nl", question=Q1)
    await world.onboard(BOB, await world.invite("lq-den-haag", "groep-1"))

    # Friday 2 April is the module's last day, and its end pulse's: at 09:00 the day before (her last prompt
    # day but one) Anna is asked about her question (Bob has none).
    world.clock.set(local("2027-03-31T20:00"))
    await world.scalar_becomes(
        "SELECT count(*) FROM outbox WHERE kind = 'question' AND status = 'pending' AND dedupe_key LIKE 'question:end:%'",
        (), 1)  # the planner has put it in the outbox, a week ahead at most
    world.clock.set(local("2027-04-01T09:00"))
    asked = await world.expect(ANNA, says("De module Verbinden loopt ten einde"))
    assert Q1 in plain(asked) and "wat heeft deze module je opgeleverd voor je leervraag" in plain(asked)
    row = await world.row_of(ANNA, asked)
    assert row.kind == "question" and row.payload["moment"] == "module_end" and row.module_key == "verbinden"
    await world.settle()
    assert not any("Verbinden loopt" in plain(m) or "Verbinden is coming" in plain(m) for m in world.fake.sent(BOB.id))

    # She just types her answer: a reflection linked to that question, counted as an answered one.
    await world.say(ANNA, "Ik heb geleerd eerst te luisteren; wat nog open staat is het tempo.")
    await world.expect(ANNA, "Bewaard in je dagboek")
    await world.scalar_becomes("SELECT count(*) FROM reflection WHERE outbox_id = ?", (row.id,), 1)
    assert (await outbox.get(world.db, row.id)).response == "answered"  # type: ignore[union-attr]
    counted = await stats.programme_stats(world.db, world.programme_ids["lq-den-haag"], "verbinden", world.clock.now())
    assert counted.totals.prompts_answered == 1
    assert counted.totals.prompts_sent == 1 + sum(1 for m in world.fake.sent(BOB.id) if buttons_with("pr:")(m))


async def test_bad_learning_questions_get_a_sentence_and_nothing_is_stored_wrong(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    await world.onboard(ANNA, await world.invite("lq-den-haag", "groep-1"), language="nl", question=Q1)
    anna = await world.person(ANNA)
    assert anna is not None
    anna_version = (await learning_question.current(world.db, anna.id)).id  # type: ignore[union-attr]

    # At Carol's onboarding step: blank, 5,000 characters, only emoji: a sentence and the step again each time.
    code = await world.invite("lq-den-haag", "groep-2")
    await world.say(CAROL, f"/start {code}")
    for tap in ("ob:lang:en", "ob:tz:Europe/Amsterdam", "ob:hour:9", "ob:days:ok", "ob:ok"):
        await world.press(CAROL, await world.expect(CAROL, buttons_with(tap)), tap)
    await world.expect(CAROL, buttons_with("lq:skip"))
    for typed, sentence in (("   ", "no text I can keep"), ("x" * 5000, "That is 5000 characters; a learning question holds at most 500"),
                            ("🙂🙂 !!! 🎉", "only emoji or punctuation")):
        await world.say(CAROL, typed)
        await world.expect(CAROL, sentence)
    await world.expect(CAROL, buttons_with("lq:skip"), count=4)  # the step asked again after each
    assert await versions(world, CAROL) == []
    carol = await world.person(CAROL)
    assert carol is not None and carol.status == "onboarding"
    await world.say(CAROL, "How do I " + "really " * 70 + "listen?")  # 500 characters and a bit: refused whole
    await world.expect(CAROL, "a learning question holds at most 500")
    await world.say(CAROL, "How do I listen before I decide?")
    await world.expect(CAROL, "All set")
    assert await versions(world, CAROL) == ["How do I listen before I decide?"]

    # Rewriting: 5,000 characters is refused whole, the question asked again, the old one still current.
    view = await show(world, CAROL)
    await world.press(CAROL, view, data(view, "lq:rw:"))
    await world.expect(CAROL, "Write your new learning question")
    await world.say(CAROL, "y" * 5000)
    await world.expect(CAROL, "That is 5000 characters")
    await world.expect(CAROL, "Write your new learning question", count=2)
    assert await versions(world, CAROL) == ["How do I listen before I decide?"]
    again = await world.expect(CAROL, buttons_with("lq:x:"), count=2)
    await world.press(CAROL, again, data(again, "lq:x:"))

    # Forged buttons for Anna's question, pressed by Carol: stale, nothing changes for either of them.
    for forged in (f"lq:sh:{anna_version}", f"lq:pv:{anna_version}", f"lq:rw:{anna_version}", f"lq:ok:{anna_version}",
                   "lq:sh:0", "lq:pv:0", "lq:x:0", "lq:skip", "lq:sh:99999999", "lq:zz:1", f"lq:sh:{anna_version}:x"):
        answer = await world.press_answered(CAROL, view, forged)
        assert "no longer" in answer["text"] or "not" in answer["text"].lower(), (forged, answer)
    await world.settle()
    assert await learning_question.shared_since(world.db, anna.id) is None
    carol = await world.person(CAROL)
    assert carol is not None and carol.awaiting is None
    assert await versions(world, ANNA) == [Q1] and await versions(world, CAROL) == ["How do I listen before I decide?"]


async def test_export_holds_every_version_and_forget_erases_it_on_disk(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    await world.onboard(ANNA, await world.invite("lq-den-haag", "groep-1"), language="nl", question=Q1)
    world.clock.set(local("2027-03-26T10:00"))
    view = await show(world, ANNA)
    await world.press(ANNA, view, data(view, "lq:rw:"))
    await world.expect(ANNA, "Schrijf je nieuwe leervraag")
    await world.say(ANNA, Q2)
    await world.expect(ANNA, "Bewaard als je nieuwe leervraag")
    view = await show(world, ANNA)
    await world.press_answered(ANNA, view, data(view, "lq:sh:"))

    await world.say(ANNA, "/export")
    await world.expect(ANNA, lambda m: bool(m.document) and m.document[0].endswith(".json"))
    sent = [m for m in world.fake.sent(ANNA.id) if m.document]
    markdown = next(m for m in sent if m.document[0].endswith(".md")).document[1].decode()  # type: ignore[index]
    exported = json.loads(next(m for m in sent if m.document[0].endswith(".json")).document[1])  # type: ignore[index]
    question = exported["learning_question"]
    assert [v["text"] for v in question["versions"]] == [Q2, Q1]
    assert [(v["current"], v["shared"]) for v in question["versions"]] == [(True, True), (False, False)]
    assert question["versions"][0]["written"].startswith("2027-03-26") and question["shared_since"]
    assert "## Je leervraag" in markdown and Q1 in markdown and Q2 in markdown
    assert "(nu), in Pitstop Den Haag; gedeeld met je leergroep sinds" in markdown

    assert on_disk(world, "Zuid-Rozenburg")  # the check can see the question where it is
    await world.say(ANNA, "/forget")
    confirm = await world.expect(ANNA, "Hiermee wis je alles")
    await world.press(ANNA, confirm, "fg:yes")
    await world.expect(ANNA, "alles is gewist")
    assert await world.db.scalar("SELECT count(*) FROM learning_question", ()) == 0
    assert on_disk(world, "Zuid-Rozenburg") == [] and on_disk(world, "zonder de koers") == []
