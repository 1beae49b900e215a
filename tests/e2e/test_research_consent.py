"""Research consent end to end through the fake Bot API: off by default, explained in one paragraph in
/settings, given and withdrawn with a button; a press forged with someone else's id, a press that no
longer applies and a facilitator's press get a sentence and change nothing; /export says what was chosen
and /forget takes the consent with everything else."""

from __future__ import annotations

import json

from bot.sandbox.fakeapi import FakeUser, SentMessage
from bot.store import research
from tests.e2e.world import World, local, plain
from tests.factories import learning_set, module, programme

PROGRAMME = programme(
    key="rs-e2e",
    modules=[module("m1", "The Challenges", "2027-03-01", "2027-05-30")],
    sets=[learning_set("set-a", "Set A")],
)

ANNA = FakeUser(id=7101, first_name="Anna")
BOB = FakeUser(id=7102, first_name="Bob")
SANNE = FakeUser(id=7103, first_name="Sanne", language_code="nl")
FIONA = FakeUser(id=7109, first_name="Fiona")


def button(message: SentMessage, prefix: str) -> str:
    return next(d for _, d in message.buttons() if d.startswith(prefix))


async def consent_panel(world: World, user: FakeUser) -> SentMessage:
    """Opens /settings and the trend study's paragraph from it; gives the paragraph."""
    seen = len(world.fake.sent(user.id))

    def after(wanted: str) -> SentMessage | None:
        return next((m for m in world.fake.sent(user.id)[seen:] if any(d.startswith(wanted) for _, d in m.buttons())), None)

    await world.say(user, "/settings")
    await world.until(lambda: after("rs:info") is not None)
    settings = after("rs:info")
    assert settings is not None
    await world.press(user, settings, "rs:info")
    await world.until(lambda: after("rs:give:") is not None or after("rs:withdraw:") is not None)
    panel = after("rs:give:") or after("rs:withdraw:")
    assert panel is not None
    return panel


async def test_consent_is_off_by_default_given_and_withdrawn_and_a_forged_press_changes_nothing(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    await world.onboard(ANNA, await world.invite("rs-e2e", "set-a"))
    await world.onboard(BOB, await world.invite("rs-e2e", "set-a"))
    anna, bob = await world.person(ANNA), await world.person(BOB)
    assert anna is not None and bob is not None
    assert await research.consent_of(world.db, anna.id) is None  # off by default

    await world.say(ANNA, "/settings")
    settings = await world.expect(ANNA, "Your settings")
    assert "Take part in the trend study: no" in plain(settings)
    await world.press(ANNA, settings, "rs:info")
    paragraph = await world.expect(ANNA, "The trend study")
    text = plain(paragraph)
    for promise in ("a code instead of your name", "your pulse answers", "Never anything you wrote",
                    "fewer than five people are left out", "stop at any time", "You don't take part"):
        assert promise in text, promise
    assert paragraph.buttons() == [("Yes, I take part", f"rs:give:{anna.id}")]

    # Bob forges Anna's button in his own chat: a sentence, and nobody's consent changes.
    answer = await world.press_answered(BOB, world.last(BOB), f"rs:give:{anna.id}")
    assert answer["text"] == "This button is someone else's; nothing changed."
    assert await research.consent_of(world.db, anna.id) is None
    assert await research.consent_of(world.db, bob.id) is None
    # Data the bot never wrote is stale, whoever presses it.
    assert (await world.press_answered(BOB, world.last(BOB), "rs:give:x"))["text"] == "This button no longer applies."
    assert (await world.press_answered(BOB, world.last(BOB), "rs:maybe:1"))["text"] == "This button no longer applies."

    # Anna gives her consent.
    world.clock.set(local("2027-03-24T11:00"))
    await world.press(ANNA, paragraph, f"rs:give:{anna.id}")
    await world.expect(ANNA, "you take part in the trend study from today")
    given = await research.consent_of(world.db, anna.id)
    assert given is not None and given == local("2027-03-24T11:00")
    assert await research.consent_of(world.db, bob.id) is None
    await world.say(ANNA, "/settings")
    await world.expect(ANNA, "Take part in the trend study: yes, since 24 Mar 2027")

    # The old give button, pressed again a day later, no longer applies: the consent keeps its date.
    world.clock.set(local("2027-03-25T11:00"))
    answer = await world.press_answered(ANNA, paragraph.message_id, f"rs:give:{anna.id}")
    assert answer["text"] == "You take part already; nothing changed."
    assert await research.consent_of(world.db, anna.id) == given

    # She withdraws it; withdrawing again changes nothing.
    panel = await consent_panel(world, ANNA)
    assert "You take part, since 24 Mar 2027." in plain(panel)
    assert panel.buttons() == [("Stop taking part", f"rs:withdraw:{anna.id}")]
    await world.press(ANNA, panel, f"rs:withdraw:{anna.id}")
    await world.expect(ANNA, "you no longer take part in the trend study")
    assert await research.consent_of(world.db, anna.id) is None
    answer = await world.press_answered(ANNA, panel.message_id, f"rs:withdraw:{anna.id}")
    assert answer["text"] == "You don't take part, so there is nothing to stop; nothing changed."
    await world.settle()
    assert not any("Sorry, something went wrong" in (m.text or "") for m in world.fake.sent(ANNA.id) + world.fake.sent(BOB.id))


async def test_a_facilitator_has_no_trend_study_and_a_dutch_participant_reads_it_in_dutch(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    await world.onboard(FIONA, await world.invite("rs-e2e", role="facilitator"))
    fiona = await world.person(FIONA)
    assert fiona is not None
    await world.say(FIONA, "/settings")
    settings = await world.expect(FIONA, "Your settings")
    assert "trend study" not in plain(settings) and "rs:info" not in [d for _, d in settings.buttons()]
    answer = await world.press_answered(FIONA, settings, f"rs:give:{fiona.id}")
    assert answer["text"] == "The trend study is for participants; nothing changed."
    assert await research.consent_of(world.db, fiona.id) is None

    await world.onboard(SANNE, await world.invite("rs-e2e", "set-a"), language="nl")
    await world.say(SANNE, "/settings")
    await world.expect(SANNE, "Meedoen aan het trendonderzoek: nee")
    panel = await consent_panel(world, SANNE)
    assert "Nooit iets wat je hebt geschreven" in plain(panel) and "Je doet niet mee" in plain(panel)
    sanne = await world.person(SANNE)
    assert sanne is not None and panel.buttons() == [("Ja, ik doe mee", f"rs:give:{sanne.id}")]
    await world.press(SANNE, panel, f"rs:give:{sanne.id}")
    await world.expect(SANNE, "je doet vanaf vandaag mee aan het trendonderzoek")


async def test_export_says_what_was_chosen_and_forget_takes_the_consent_along(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    await world.onboard(ANNA, await world.invite("rs-e2e", "set-a"))
    anna = await world.person(ANNA)
    assert anna is not None

    await world.say(ANNA, "/export")
    await world.expect(ANNA, lambda m: bool(m.document) and m.document[0].endswith(".json"))
    sent = [m for m in world.fake.sent(ANNA.id) if m.document]
    exported = json.loads(next(m for m in sent if m.document[0].endswith(".json")).document[1])  # type: ignore[index]
    assert exported["person"]["research_consent_since"] is None
    assert "- The trend study: you don't take part" in next(
        m for m in sent if m.document[0].endswith(".md")).document[1].decode()  # type: ignore[index]

    panel = await consent_panel(world, ANNA)
    await world.press(ANNA, panel, f"rs:give:{anna.id}")
    await world.expect(ANNA, "you take part in the trend study from today")
    await world.say(ANNA, "/export")
    await world.expect(ANNA, lambda m: bool(m.document) and m.document[0].endswith(".json"), count=2)
    sent = [m for m in world.fake.sent(ANNA.id) if m.document]
    exported = json.loads([m for m in sent if m.document[0].endswith(".json")][-1].document[1])  # type: ignore[index]
    assert exported["person"]["research_consent_since"].startswith("2027-03-24T09:00")
    markdown = [m for m in sent if m.document[0].endswith(".md")][-1].document[1].decode()  # type: ignore[index]
    assert "- The trend study: you take part, since Wed 24 Mar 2027, 10:00" in markdown

    await world.say(ANNA, "/forget")
    confirm = await world.expect(ANNA, lambda m: any(d == "fg:yes" for _, d in m.buttons()))
    await world.press(ANNA, confirm, "fg:yes")
    await world.expect(ANNA, lambda m: "erased" in (m.text or ""))
    assert await world.db.scalar("SELECT count(*) FROM person WHERE research_consent_at IS NOT NULL", ()) == 0
    assert await research.consent_of(world.db, anna.id) is None
