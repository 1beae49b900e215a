"""/stats end to end: a facilitator sees, per learning set, how many joined, reflected, shared and
answered prompts, with a PNG chart — and never a word of anyone's journal. A participant is refused;
an admin without an invite sees every programme."""

from __future__ import annotations

import io
import json

from PIL import Image

from bot.sandbox.fakeapi import FakeUser, SentMessage
from bot.store import people
from tests.e2e.world import World, local
from tests.factories import LearningSet, learning_set, meeting, module, programme

SET_B = learning_set("set-b", "Action learning set B")


def cpm_stats(key: str = "cpm-stats", sets: list[LearningSet] | None = None) -> str:
    """Gives the programme of these tests; by default with sets A (meeting on 20 April) and B."""
    return programme(
        key=key,
        modules=[module("m2", "The Person", capacities=["relational"])],
        sets=[learning_set("set-a", "Action learning set A", [meeting("2027-04-20T14:00:00")]), SET_B]
        if sets is None else sets,
    )


PROGRAMME = cpm_stats()

OTHER = programme(
    key="lpw-stats",
    title="Leergang Publieke Werken",
    language="nl",
    modules=[module("m1", "Publieke waarden", "2027-02-01", "2027-06-30")],
    sets=[learning_set("groep-1", "Intervisiegroep 1")],
)

ANNA = FakeUser(id=6001, first_name="Anna")
BOB = FakeUser(id=6002, first_name="Bob")
CAROL = FakeUser(id=6003, first_name="Carol", language_code="nl")
FIONA = FakeUser(id=6009, first_name="Fiona")
ADMIN = FakeUser(id=9000, first_name="Ada", language_code="nl")

ANNA_TEXT = "I noticed I decide before my team has spoken; next time I ask first."
BOB_SECRET = "My private worry: the director and I no longer trust each other."


def seen(message: SentMessage) -> str:
    """Gives the text or caption as the reader sees it (HTML parsed)."""
    return str(message.message.get("text") or message.message.get("caption") or "")


def block(text: str, heading: str) -> str:
    """Gives the paragraph of a stats message that starts with a heading."""
    return next(p for p in text.split("\n\n") if p.startswith(heading))


def is_prompt(m: SentMessage) -> bool:
    return "pr:" in json.dumps(m.params.get("reply_markup") or {})


async def prompt_for(world: World, user: FakeUser) -> SentMessage:
    message = await world.expect(user, is_prompt)
    await world.row_of(user, message)
    return message


async def test_a_facilitator_sees_counts_and_a_chart_and_never_journal_text(world: World) -> None:
    world.render.library = [p for p in world.render.library if not p.intention]
    await world.load(PROGRAMME)
    await world.load(OTHER)
    await world.start()
    await world.onboard(ANNA, await world.invite("cpm-stats", "set-a"))
    await world.onboard(BOB, await world.invite("cpm-stats", "set-a"))
    await world.onboard(CAROL, await world.invite("cpm-stats", "set-b"), language="nl")
    await world.onboard(FIONA, await world.invite("cpm-stats", role="facilitator"))

    # Anna lets facilitators see her activity; Bob and Carol keep the default (counts only).
    await world.say(ANNA, "/settings")
    settings = await world.expect(ANNA, lambda m: any(d == "st:activity" for _, d in m.buttons()))
    await world.press(ANNA, settings, "st:activity")
    await world.expect(ANNA, "Show my activity to facilitators: yes")

    # Thursday 25 March 09:00: a prompt each. Anna answers and shares, Bob answers privately, Carol skips.
    world.clock.set(local("2027-03-25T09:00"))
    await prompt_for(world, ANNA)
    await world.say(ANNA, ANNA_TEXT)
    ack = await world.expect(ANNA, lambda m: any(d.endswith(":shared") for _, d in m.buttons()))
    await world.press(ANNA, ack, next(d for _, d in ack.buttons() if d.endswith(":shared")))
    await prompt_for(world, BOB)
    await world.say(BOB, BOB_SECRET)
    await world.expect(BOB, "Kept in your journal")
    carol_prompt = await prompt_for(world, CAROL)
    await world.press(CAROL, carol_prompt, carol_prompt.buttons()[1][1])
    await world.settle()

    # The facilitator asks for the numbers.
    world.clock.set(local("2027-03-25T11:00"))
    await world.say(FIONA, "/stats")
    report = seen(await world.expect(FIONA, "Participation — Certified Public Manager"))
    photo = await world.expect(FIONA, lambda m: m.photo is not None)
    assert "Module now: The Person" in report
    # Sets of two and one: the activity counts would point at a person, so they are not shown.
    assert block(report, "Action learning set A").split("\n")[1:] == [
        "Joined: 2 · active: 2",
        "Reflected, shared and prompts answered: too few to show (fewer than 5, not all of whom show their activity)",
        "Reflections in the last 7 days, of those who show their activity:",
        "• Anna: 1",
    ]
    assert block(report, "Action learning set B").split("\n")[1:] == [
        "Joined: 1 · active: 1",
        "Reflected, shared and prompts answered: too few to show (fewer than 5, not all of whom show their activity)",
    ]
    totals = block(report, "All sets together")
    assert "Joined: 3 · active: 3" in totals and "too few to show" in totals and "Prompts answered" not in totals
    assert (
        "Bob" not in report and "Carol" not in report
    )  # they did not choose to show their activity
    assert "Leergang" not in report  # not her programme

    # The chart is a PNG with a caption; the whole conversation holds no journal text.
    assert photo.photo is not None and photo.photo.startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(io.BytesIO(photo.photo)).size == (1000, 640)
    assert seen(photo).startswith("Certified Public Manager: reflections per week")
    assert seen(photo).endswith("Sets too small to show are left out.")
    await world.settle()
    for message in world.fake.sent(FIONA.id):
        for forbidden in (ANNA_TEXT, BOB_SECRET, "I noticed", "private worry"):
            assert forbidden not in seen(message) and forbidden not in (message.text or "")

    # A participant is refused and gets no chart.
    await world.say(BOB, "/stats")
    await world.expect(BOB, "That command is for facilitators")
    await world.settle()
    assert not any(m.photo for m in world.fake.sent(BOB.id))

    # An admin who was never invited sees every programme, in their own language.
    await world.say(ADMIN, "/stats")
    await world.expect(ADMIN, "Deelname — Certified Public Manager")
    other = seen(await world.expect(ADMIN, "Deelname — Leergang Publieke Werken"))
    # A set nobody has joined is left out (a row of zeros says nothing).
    assert "Intervisiegroep 1" not in other and "Er hebben zich nog geen deelnemers aangemeld." in other
    await world.expect(ADMIN, lambda m: m.photo is not None, count=2)
    for message in world.fake.sent(ADMIN.id):
        assert ANNA_TEXT not in seen(message) and BOB_SECRET not in seen(message)


def many_sets(count: int) -> str:
    return cpm_stats("big-stats", [
        learning_set(f"set-{i:02d}", f"Leergroep {i:02d} van de gemeente, team Openbare Ruimte & Wijken")
        for i in range(count)
    ])


async def test_many_sets_are_split_into_messages_telegram_accepts(world: World) -> None:
    await world.load(many_sets(60))
    for i in range(60):  # a member each (invited, not yet set up): a set without members is left out
        code = await world.invite("big-stats", f"set-{i:02d}")
        await people.redeem_invite(world.db, code, 70000 + i, 70000 + i, f"Member {i}", "nl", "Europe/Amsterdam",
                                   world.clock.now())
    await world.start()
    await world.say(ADMIN, "/stats")
    await world.expect(ADMIN, lambda m: m.photo is not None)
    texts = [m.params["text"] for m in world.fake.sent(ADMIN.id) if m.method == "sendMessage"]
    assert len(texts) > 1 and all(len(t) <= 4096 for t in texts)
    joined = "\n\n".join(seen(m) for m in world.fake.sent(ADMIN.id) if m.method == "sendMessage")
    for i in range(60):
        assert (
            f"Leergroep {i:02d} van de gemeente, team Openbare Ruimte & Wijken\nAangemeld: 1"
            in joined
        )
    assert joined.count("Alle leergroepen samen") == 1


async def test_a_chart_telegram_refuses_is_one_sentence_and_every_programme_still_comes(world: World) -> None:
    await world.load(PROGRAMME)
    await world.load(OTHER)
    await world.start()
    world.fake.fail_next("sendPhoto", chat_id=ADMIN.id, error_code=400, description="Bad Request: PHOTO_INVALID_DIMENSIONS")
    await world.say(ADMIN, "/stats")
    await world.expect(ADMIN, "Deelname — Certified Public Manager")
    await world.expect(ADMIN, "Deelname — Leergang Publieke Werken")
    await world.expect(ADMIN, lambda m: m.photo is not None)  # the second programme's chart goes
    await world.settle()
    texts = [seen(m) for m in world.fake.sent(ADMIN.id)]
    assert not any("Sorry, something went wrong" in t for t in texts)
    refused = [t for t in texts if "grafiek" in t and "niet versturen" in t]
    assert len(refused) == 1 and "Certified Public Manager" in refused[0]
