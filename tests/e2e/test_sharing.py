"""Learning sets end to end: keeping private, sharing, a takeaway, undoing a share, a case round,
linking a group, and the digest reaching exactly the right chats with exactly what was shared."""

from __future__ import annotations

from bot.sandbox.fakeapi import FakeChat, FakeUser, SentMessage
from bot.store import journal
from tests.e2e.world import World, local
from tests.factories import learning_set, meeting, module, programme


def cpm_sets(first_meeting: str = "2027-04-06T14:00:00") -> str:
    """Gives the programme of the sharing tests: set A meets in Utrecht first, then in Leiden; set B online."""
    return programme(
        key="cpm-sets",
        modules=[module("m2", "The Person", theme="Values and diversity", capacities=["relational"])],
        sets=[
            learning_set("set-a", "Action learning set A", [
                meeting(first_meeting, place="Utrecht"), meeting("2027-04-20T14:00:00", place="Leiden"),
            ]),
            learning_set("set-b", "Action learning set B", [meeting("2027-04-08T10:00:00", place="Online")]),
        ],
    )


PROGRAMME = cpm_sets()

ANNA = FakeUser(id=4001, first_name="Anna", language_code="nl")
BOB = FakeUser(id=4002, first_name="Bob")
CAROL = FakeUser(id=4003, first_name="Carol")
FIONA = FakeUser(id=4009, first_name="Fiona")
SET_A_GROUP = FakeChat(id=-5001, type="group", title="Set A")

ANNA_SHARED = "Ik zag hoe mijn team opbloeide toen ik een stap terug deed."
ANNA_UNSHARED = "Dit deel ik toch liever niet: conflict met mijn directeur."
BOB_PRIVATE = "My private worry about the budget round and my own role in it."
BOB_TAKEAWAY = "Ask first, decide later."
CAROL_SHARED = "Carol's shared note for set B only."
ANNA_CASE = "Een reorganisatie waarin twee afdelingen moeten samenwerken."


def share_buttons(m: SentMessage) -> bool:
    return any(d.startswith("sh:") for _, d in m.buttons())


async def reflect(world: World, user: FakeUser, text: str) -> SentMessage:
    """Writes a reflection and gives the bot's acknowledgement with the share buttons."""
    before = sum(1 for m in world.fake.sent(user.id) if share_buttons(m) or "sh:" in str(m.params.get("reply_markup")))
    await world.say(user, text)
    return await world.expect(user, lambda m: "sh:" in str(m.params.get("reply_markup")), count=before + 1)


def plain(message: SentMessage) -> str:
    """Gives the text as the reader sees it (HTML parsed, entities unescaped)."""
    return str(message.message.get("text") or message.message.get("caption") or "")


def data(message: SentMessage, suffix: str) -> str:
    return next(d for _, d in message.buttons() if d.endswith(suffix))


async def test_a_digest_carries_exactly_what_members_shared_for_their_set(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    world.clock.set(local("2027-04-01T08:00"))
    await world.onboard(ANNA, await world.invite("cpm-sets", "set-a"), language="nl")
    await world.onboard(BOB, await world.invite("cpm-sets", "set-a"))
    await world.onboard(CAROL, await world.invite("cpm-sets", "set-b"))
    await world.onboard(FIONA, await world.invite("cpm-sets", role="facilitator"))

    # Anna shares one reflection; the share button is ticked in place.
    ack = await reflect(world, ANNA, ANNA_SHARED)
    await world.press(ANNA, ack, data(ack, ":shared"))
    await world.settle()
    assert any(label.startswith("✓ Delen") for label, _ in ack.buttons())

    # Bob keeps one private (the default), then shares only a takeaway of another.
    await reflect(world, BOB, BOB_PRIVATE)
    world.clock.set(local("2027-04-01T12:00"))
    ack = await reflect(world, BOB, "Long reflection about asking before deciding, which I keep to myself.")
    await world.press(ack and BOB, ack, data(ack, ":takeaway"))
    await world.expect(BOB, "Write your takeaway in one line")
    await world.say(BOB, "x" * 300)
    await world.expect(BOB, "That's 300 characters")
    await world.say(BOB, "   ")
    await world.expect(BOB, "That takeaway is empty")
    await world.say(BOB, BOB_TAKEAWAY)
    confirm = await world.expect(BOB, "Share this line with your learning set")
    assert BOB_TAKEAWAY in plain(confirm)  # the person sees exactly what will be shared
    await world.press(BOB, confirm, data(confirm, ":yes"))
    await world.expect(BOB, "Shared with your learning set as a takeaway")
    await world.settle()
    assert any(label == "✓ Share a takeaway" for label, _ in ack.buttons())  # the choice shows where it was made
    assert not any(label.startswith("✓ Keep private") for label, _ in ack.buttons())

    # Anna shares something else, then undoes it from /journal.
    world.clock.set(local("2027-04-01T16:00"))
    ack = await reflect(world, ANNA, ANNA_UNSHARED)
    await world.press(ANNA, ack, data(ack, ":shared"))
    await world.say(ANNA, "/journal")
    page = await world.expect(ANNA, lambda m: "Je dagboek" in (m.text or ""))
    undo = [d for label, d in page.buttons() if label.startswith("Weer privé maken")]
    assert len(undo) == 2  # both shared entries can still be made private
    unshared = (await journal.for_person(world.db, (await world.person(ANNA)).id))[0]
    await world.press(ANNA, page, next(d for label, d in page.buttons() if d.endswith(f":u:{unshared.id}")))
    await world.settle()
    assert (await journal.get(world.db, unshared.id)).visibility == "private"

    # Carol shares for set B.
    ack = await reflect(world, CAROL, CAROL_SHARED)
    await world.press(CAROL, ack, data(ack, ":shared"))

    # Linking the group: refused for a participant, a sentence in private, then done by the facilitator.
    await world.fake.add_bot_to_group(FIONA, SET_A_GROUP)
    await world.fake.send_text(BOB, "/link set-a", chat=SET_A_GROUP)
    await world.expect(SET_A_GROUP.id, "Only a facilitator")
    await world.say(FIONA, "/link set-a")
    await world.expect(FIONA, "works in a group")
    await world.fake.send_text(FIONA, "/link", chat=SET_A_GROUP)
    await world.expect(SET_A_GROUP.id, "one of: set-a, set-b")
    await world.fake.send_text(FIONA, "/link set-z", chat=SET_A_GROUP)
    await world.expect(SET_A_GROUP.id, "I don't know the learning set")
    await world.fake.send_text(FIONA, "/link set-a", chat=SET_A_GROUP)
    await world.expect(SET_A_GROUP.id, "now linked to <b>Action learning set A</b>")
    await world.fake.send_text(BOB, "a chat message in the group, never stored", chat=SET_A_GROUP)

    # Case round on Saturday 3 April: Anna brings a case, Bob does not.
    world.clock.set(local("2027-04-03T09:00"))
    question = await world.expect(ANNA, "Breng je deze keer een casus")
    await world.press(ANNA, question, data(question, question.buttons()[0][1].split(":", 1)[1]))
    await world.expect(ANNA, "Beschrijf je casus")
    await world.say(ANNA, ANNA_CASE)
    confirm = await world.expect(ANNA, "Wil je deze casus inbrengen")
    assert await world.db.scalar("SELECT count(*) FROM case_proposal", ()) == 0  # not before she confirms
    await world.press(ANNA, confirm, data(confirm, ":yes"))
    await world.expect(ANNA, "Je casus komt in het overzicht")
    await world.scalar_becomes("SELECT count(*) FROM case_proposal", (), 1)
    question = await world.expect(BOB, "Will you bring a case")
    await world.press(BOB, question, question.buttons()[1][1])
    await world.settle()

    # Bob looks at the digest so far.
    await world.say(BOB, "/digest")
    so_far = await world.expect(BOB, "the next digest so far")
    seen = plain(so_far)
    assert ANNA_SHARED in seen and BOB_TAKEAWAY in seen and ANNA_CASE in seen
    assert BOB_PRIVATE not in seen and ANNA_UNSHARED not in seen and CAROL_SHARED not in seen

    # Sunday 4 April 09:00, two days before the meeting: the digest goes to the linked group only.
    world.clock.set(local("2027-04-04T09:00"))
    digest = await world.expect(SET_A_GROUP.id, "digest for the meeting on Tuesday 6 April at 14:00 in Utrecht")
    text = plain(digest)
    for expected in (ANNA_SHARED, BOB_TAKEAWAY, ANNA_CASE, "Module: The Person", "2 of 2 members reflected"):
        assert expected in text
    for forbidden in (BOB_PRIVATE, ANNA_UNSHARED, CAROL_SHARED, "Long reflection", "never stored"):
        assert forbidden not in text
    await world.settle()
    assert not any("digest for the meeting" in (m.text or "") for m in world.fake.sent(ANNA.id) + world.fake.sent(BOB.id))

    # Once the digest has gone, the share can no longer be undone.
    shared_entry = (await journal.for_person(world.db, (await world.person(ANNA)).id))[-1]
    assert shared_entry.digest_id is not None
    answer = await world.press_answered(ANNA, page.message_id, f"jr:0:u:{shared_entry.id}")
    assert "al verstuurd" in answer["text"]
    assert (await journal.get(world.db, shared_entry.id)).visibility == "shared"

    # Set B has no group: its digest reaches Carol privately, with only set B's entry.
    world.clock.set(local("2027-04-06T10:00"))
    carol_digest = await world.expect(CAROL, "Action learning set B</b> — digest")
    assert CAROL_SHARED in plain(carol_digest) and ANNA_SHARED not in plain(carol_digest)

    # The bot is removed from set A's group: the facilitator is told, the next digest goes to members.
    await world.fake.remove_bot_from_group(FIONA, SET_A_GROUP)
    await world.expect(FIONA, "I was removed from the Telegram group of <b>Action learning set A</b>")
    world.clock.set(local("2027-04-18T09:00"))
    anna_digest = await world.expect(ANNA, "Action learning set A</b> — overzicht voor de bijeenkomst op dinsdag 20 april")
    bob_digest = await world.expect(BOB, "Action learning set A</b> — digest for the meeting on Tuesday 20 April")
    for message in (anna_digest, bob_digest):
        assert ANNA_SHARED not in plain(message)  # carried by the previous digest already
        assert "Nothing was shared this time" in plain(message) or "Deze keer is er niets gedeeld" in plain(message)
