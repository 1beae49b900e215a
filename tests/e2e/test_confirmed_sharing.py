"""Nothing is shared that its author did not see and confirm: a takeaway or a case is quoted back with
*share* / *keep private*, the bot waits for typed text only once its question reached the person, a
press Telegram no longer lets the bot answer changes nothing of that, and text that cannot be shared
is kept privately, never dropped. Also: an answer typed after *Later* counts for the prompt."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import ManualClock
from bot.domain.digest import shown_text
from bot.render import Renderer
from bot.sandbox.fakeapi import FakeTelegram, FakeUser, SentMessage
from bot.store import journal, outbox, sharing
from bot.store.db import open_database
from tests.e2e.test_sharing import PROGRAMME, data, plain, reflect
from tests.e2e.world import World, local, make_settings

PIA = FakeUser(id=4701, first_name="Pia")
RUUD = FakeUser(id=4702, first_name="Ruud", language_code="nl")
TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


async def setup(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    world.clock.set(local("2027-04-01T08:00"))
    await world.onboard(PIA, await world.invite("cpm-sets", "set-a"))
    await world.onboard(RUUD, await world.invite("cpm-sets", "set-a"), language="nl")


async def shared_texts(world: World) -> str:
    """Gives everything the set could read in its next digest, as one string."""
    set_id = await world.db.scalar("SELECT id FROM learning_set WHERE key = 'set-a'", ())
    entries = await sharing.pending_shared(world.db, set_id)
    cases = await world.db.fetchall("SELECT text FROM case_proposal", ())
    return "\n".join([shown_text(e) for e in entries] + [c[0] for c in cases])


async def test_a_takeaway_whose_button_press_was_too_old_to_answer_is_still_asked_and_never_shared_unconfirmed(
    world: World,
) -> None:
    await setup(world)
    ack = await reflect(world, PIA, "A reflection I keep, with one line I may share.")
    world.fake.fail_next("answerCallbackQuery", error_code=400, description=TOO_OLD)
    await world.press(PIA, ack, data(ack, ":takeaway"))
    await world.expect(PIA, "Write your takeaway in one line")
    await world.settle()
    assert not any("went wrong" in (m.text or "") for m in world.fake.sent(PIA.id))
    secret = "I am thinking of leaving because my director never listens."
    await world.say(PIA, secret)
    confirm = await world.expect(PIA, "Share this line with your learning set")
    assert secret in plain(confirm)
    assert secret not in await shared_texts(world)
    before = len(world.fake.sent(RUUD.id))
    await world.say(RUUD, "/digest")
    so_far = (await world.fake.wait_for(RUUD.id, count=before + 1))[-1]
    assert "Pia" not in plain(so_far) and secret not in plain(so_far)
    # She meant it as a new reflection: keeping it private stores it in her journal, shares nothing.
    yes = data(confirm, ":yes")
    await world.press(PIA, confirm, data(confirm, ":no"))
    await world.expect(PIA, "Not shared. I've kept it privately in your journal.")
    entries = await journal.for_person(world.db, (await world.person(PIA)).id)
    assert entries[0].text == secret and entries[0].visibility == "private"
    assert all(e.visibility == "private" for e in entries)
    assert secret not in await shared_texts(world)
    assert await world.db.scalar("SELECT count(*) FROM draft", ()) == 0
    # The quoted line cannot be confirmed twice (the draft is gone).
    answer = await world.press_answered(PIA, confirm.message_id, yes)
    assert answer["text"] == world.render.message("en", "button_stale")
    assert secret not in await shared_texts(world)


async def test_a_confirmed_takeaway_is_shared_and_ticked_on_the_reflection(world: World) -> None:
    await setup(world)
    ack = await reflect(world, RUUD, "Lange reflectie over eerst vragen en dan pas besluiten.")
    await world.press(RUUD, ack, data(ack, ":takeaway"))
    await world.expect(RUUD, "Schrijf je inzicht in één regel")
    await world.say(RUUD, "Eerst vragen, dan besluiten.")
    confirm = await world.expect(RUUD, "Wil je deze regel als inzicht delen")
    await world.press(RUUD, confirm, data(confirm, ":yes"))
    await world.expect(RUUD, "Gedeeld met je leergroep als inzicht")
    await world.settle()
    assert "Eerst vragen, dan besluiten." in await shared_texts(world)
    assert "Lange reflectie" not in await shared_texts(world)
    labels = [label for label, _ in ack.buttons()]
    assert labels[0] == "Privé houden" and labels[2].startswith("✓ ")
    assert confirm.buttons() == []


async def test_an_overlong_takeaway_is_kept_privately_and_the_question_stays_open(world: World) -> None:
    await setup(world)
    ack = await reflect(world, PIA, "Something to take a line from.")
    await world.press(PIA, ack, data(ack, ":takeaway"))
    await world.expect(PIA, "Write your takeaway in one line")
    long_text = "A long thought that goes on " + "and on " * 60
    await world.say(PIA, long_text)
    await world.expect(PIA, "I've kept what you wrote privately in your journal")
    question = await world.expect(PIA, "Write your takeaway in one line", count=2)
    assert question.buttons() == [("Cancel", data(ack, ":takeaway").replace(":takeaway", ":cancel"))]
    entries = await journal.for_person(world.db, (await world.person(PIA)).id)
    assert entries[0].text == long_text and entries[0].visibility == "private"
    assert "goes on" not in await shared_texts(world)
    await world.say(PIA, "Short now.")
    await world.expect(PIA, "Share this line with your learning set")


async def test_a_case_is_asked_before_the_bot_waits_and_proposed_only_once_confirmed(world: World) -> None:
    await setup(world)
    world.clock.set(local("2027-04-03T09:00"))  # the case round before the meeting of 6 April
    question = await world.expect(PIA, "Will you bring a case")
    world.fake.fail_next("answerCallbackQuery", error_code=400, description=TOO_OLD)
    await world.press(PIA, question, next(d for _, d in question.buttons() if d.startswith("cs:yes:")))
    ask = await world.expect(PIA, "Describe your case in a few lines")
    await world.say(PIA, "A merger of two teams that do not trust each other.")
    confirm = await world.expect(PIA, "Bring this case to the meeting?")
    assert await world.db.scalar("SELECT count(*) FROM case_proposal", ()) == 0
    await world.press(PIA, confirm, data(confirm, ":yes"))
    await world.scalar_becomes("SELECT count(*) FROM case_proposal", (), 1)
    assert "merger of two teams" in await shared_texts(world)
    # Writing a case can be stopped; what is typed after that is a private reflection.
    assert ask.buttons()[0][1].startswith("cs:stop:")


async def test_an_answer_typed_after_later_counts_for_the_prompt_and_no_reask_follows(world: World) -> None:
    await setup(world)
    world.clock.set(local("2027-04-01T09:00"))
    prompt = await world.expect(PIA, lambda m: any(d.startswith("pr:later:") for _, d in m.buttons()))
    row = await world.row_of(PIA, prompt)
    await world.press(PIA, prompt, f"pr:later:{row.id}")
    await world.scalar_becomes("SELECT response FROM outbox WHERE id = ?", (row.id,), "later")
    world.clock.advance(timedelta(minutes=20))
    await reflect(world, PIA, "Answering it after all, before the bot asks again.")
    entry = (await journal.for_person(world.db, (await world.person(PIA)).id))[0]
    assert entry.outbox_id == row.id and entry.prompt_key == row.prompt_key
    assert (await outbox.get(world.db, row.id)).response == "answered"
    reasks = await world.db.scalar(
        "SELECT count(*) FROM outbox WHERE dedupe_key = ? AND status IN ('pending', 'sending', 'sent')", (f"later:{row.id}",)
    )
    assert reasks == 0
    world.clock.advance(timedelta(hours=5))
    await world.settle()
    assert sum(1 for m in world.fake.sent(PIA.id) if "pr:later:" in str(m.params.get("reply_markup"))) == 1


# --------------------------------------------------------------------------- the property

action = st.one_of(
    st.tuples(st.just("write"), st.integers(min_value=0, max_value=0)),
    st.tuples(st.just("write"), st.integers(min_value=0, max_value=0)),
    st.tuples(st.just("press"), st.integers(min_value=0, max_value=40)),
    st.tuples(st.just("press_too_old"), st.integers(min_value=0, max_value=40)),
    st.tuples(st.just("wait"), st.sampled_from([1, 11, 40])),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=st.lists(action, min_size=4, max_size=16))
def test_no_text_is_ever_shared_that_its_author_did_not_confirm(actions: list[tuple[str, int]]) -> None:
    asyncio.run(run_actions(actions))


async def run_actions(actions: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        clock = ManualClock(local("2027-03-24T10:00"))
        fake = FakeTelegram(clock=clock.now)
        await fake.start()
        path = Path(folder) / "pitstop.db"
        db = await open_database(path)
        world = World(fake=fake, clock=clock, db=db, path=path, settings=make_settings(fake, path), render=Renderer())
        try:
            await setup(world)
            await check_actions(world, actions)
        finally:
            await world.stop()
            await world.db.close()
            await fake.stop()


async def check_actions(world: World, actions: list[tuple[str, int]]) -> None:
    confirmed: set[str] = set()
    written = 0
    for kind, number in actions:
        if kind == "write":
            written += 1
            before = len(world.fake.sent(PIA.id))
            await world.say(PIA, f"text number {written} of Pia")
            await world.fake.wait_for(PIA.id, count=before + 1)  # every text gets an answer
        elif kind == "wait":
            world.clock.advance(timedelta(minutes=number))
        else:
            recent = [m for m in world.fake.sent(PIA.id) if m.buttons() and not m.buttons()[0][1].startswith("ob:")]
            buttons = [(m, d) for m in recent[-3:] for _, d in m.buttons()]  # what a person sees on screen
            if not buttons:
                continue
            message, pressed = buttons[number % len(buttons)]
            if kind == "press_too_old":
                world.fake.fail_next("answerCallbackQuery", error_code=400, description=TOO_OLD)
            answered = world.fake.requests["answerCallbackQuery"]
            await world.press(PIA, message, pressed)
            await world.until(lambda: world.fake.requests["answerCallbackQuery"] > answered)  # every press is answered
            await world.settle()
            # One chat's updates are handled in order, so what the press shares is what it saw.
            confirmed |= await what_a_press_confirms(world, message, pressed)
        await world.settle()
    person = await world.person(PIA)
    assert person is not None
    for entry in await journal.for_person(world.db, person.id):
        if entry.visibility == "shared":
            assert all(p.text in confirmed for p in entry.parts), (entry.parts, confirmed)
        if entry.visibility == "takeaway":
            assert entry.takeaway in confirmed, (entry.takeaway, confirmed)
    for (text,) in await world.db.fetchall("SELECT text FROM case_proposal", ()):
        assert text in confirmed


async def what_a_press_confirms(world: World, message: SentMessage, pressed: str) -> set[str]:
    """Gives the texts a press means to share: a reflection's messages as they are now, or the quoted line."""
    parts = pressed.split(":")
    if parts[0] == "sh" and parts[2] == "shared":
        entry = await journal.get(world.db, int(parts[1]))
        return {p.text for p in entry.parts} if entry else set()
    if parts[0] == "cf" and parts[2] == "yes":
        return {line.strip() for line in plain(message).splitlines() if line.strip()}
    return set()


async def test_a_photo_sent_while_a_question_waits_for_text_is_not_kept_as_its_answer(world: World) -> None:
    await setup(world)
    ack = await reflect(world, PIA, "A reflection to take a line from.")
    await world.press(PIA, ack, data(ack, ":takeaway"))
    await world.expect(PIA, "Write your takeaway in one line")
    await world.fake.send_photo(PIA)
    await world.expect(PIA, "I'm waiting for a typed answer to my last question")
    assert await journal.count(world.db, (await world.person(PIA)).id) == 1
    await world.say(PIA, "Still my takeaway.")
    await world.expect(PIA, "Share this line with your learning set")
