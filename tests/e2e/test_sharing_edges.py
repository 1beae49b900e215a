"""Edges of sharing and settings where a private word could slip out or a reflection get lost:
an unanswered takeaway question, a message after a share, an abandoned settings change, a long
/digest, and a meeting moved in the programme file."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.programme import parse_programme
from bot.jobs.sets import replan_programme
from bot.sandbox.fakeapi import FakeUser
from bot.store import journal, programmes, sharing
from tests.e2e.test_sharing import PROGRAMME, cpm_sets, data, plain, reflect
from tests.e2e.world import World, local

NINA = FakeUser(id=4501, first_name="Nina")
OMAR = FakeUser(id=4502, first_name="Omar")


async def setup(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    world.clock.set(local("2027-04-01T08:00"))
    await world.onboard(NINA, await world.invite("cpm-sets", "set-a"))
    await world.onboard(OMAR, await world.invite("cpm-sets", "set-a"))


async def test_an_unanswered_takeaway_question_does_not_capture_a_later_reflection(world: World) -> None:
    await setup(world)
    ack = await reflect(world, NINA, "Something I might share a line of.")
    await world.press(NINA, ack, data(ack, ":takeaway"))
    await world.expect(NINA, "Write your takeaway in one line")
    world.clock.advance(timedelta(hours=20))  # she never answered
    secret = "My director and I clash; nobody may read this."
    await reflect(world, NINA, secret)
    person = await world.person(NINA)
    entries = await journal.for_person(world.db, person.id)
    assert entries[0].text == secret and entries[0].visibility == "private"
    assert all(e.visibility == "private" for e in entries)
    assert not any(secret in (e.text + (e.takeaway or "")) for e in await sharing.pending_shared(world.db, entries[0].shared_set_id or 1))


async def test_a_message_after_a_share_starts_a_new_private_reflection(world: World) -> None:
    await setup(world)
    ack = await reflect(world, NINA, "Fine to share with the set.")
    await world.press(NINA, ack, data(ack, ":shared"))
    await world.settle()
    world.clock.advance(timedelta(minutes=3))
    await reflect(world, NINA, "PRIVATE afterthought about my director.")
    entries = await journal.for_person(world.db, (await world.person(NINA)).id)
    assert [e.visibility for e in entries] == ["private", "shared"]
    await world.say(OMAR, "/digest")
    digest = await world.expect(OMAR, "the next digest so far")
    assert "Fine to share" in plain(digest) and "PRIVATE afterthought" not in plain(digest)


async def test_an_answer_a_settings_question_cannot_read_is_asked_again_and_never_kept(world: World) -> None:
    await setup(world)
    await world.say(NINA, "/settings")
    settings_message = await world.expect(NINA, "Your settings")
    await world.press(NINA, settings_message, "st:hour")
    await world.expect(NINA, "At what time of day", count=2)
    for typed in ("25:99", "soon", "half past never"):
        await world.say(NINA, typed)
        await world.expect(NINA, f'"{typed}" is not a time I can read')
    question = await world.expect(NINA, "At what time of day", count=5)  # asked again after each
    assert ("Cancel", "st:cancel") in question.buttons()
    person = await world.person(NINA)
    assert await journal.count(world.db, person.id) == 0  # nothing became a reflection
    assert not any("Kept in your journal" in (m.text or "") for m in world.fake.sent(NINA.id))
    await world.say(NINA, "13:59")  # the question is still open
    await world.expect(NINA, "Saved.")
    person = await world.person(NINA)
    assert (person.nudge_hour, person.nudge_minute) == (13, 59) and person.onboarding_step is None
    # The same for a time zone the bot does not know; Cancel closes the question.
    await world.press(NINA, settings_message, "st:timezone")
    await world.expect(NINA, "Which time zone are you in?", count=2)
    await world.say(NINA, "Atlantis")
    await world.expect(NINA, 'I don\'t know the time zone "Atlantis"')
    question = await world.expect(NINA, "Which time zone are you in?", count=3)
    await world.press(NINA, question, "st:cancel")
    await world.expect(NINA, "Your settings", count=3)
    text = "Today I tried to delegate the planning and it worked."
    await reflect(world, NINA, text)
    person = await world.person(NINA)
    assert person.timezone == "Europe/Amsterdam" and person.onboarding_step is None
    assert (await journal.for_person(world.db, person.id))[0].text == text


async def test_an_abandoned_settings_change_does_not_swallow_a_later_reflection(world: World) -> None:
    await setup(world)
    await world.say(NINA, "/settings")
    settings_message = await world.expect(NINA, "Your settings")
    await world.press(NINA, settings_message, "st:timezone")
    await world.expect(NINA, "Which time zone are you in?", count=2)
    world.clock.advance(timedelta(minutes=31))  # she walked away from the question
    text = "Today I tried to delegate the planning and it worked."
    await reflect(world, NINA, text)
    person = await world.person(NINA)
    assert person.timezone == "Europe/Amsterdam" and person.onboarding_step is None
    assert (await journal.for_person(world.db, person.id))[0].text == text
    # A typed zone while the question is open still answers it.
    await world.press(NINA, settings_message, "st:timezone")
    await world.expect(NINA, "Which time zone are you in?", count=3)
    await world.say(NINA, "Lisbon")
    await world.expect(NINA, "Time zone: <b>Lisbon (Portugal)</b>")


async def test_a_long_digest_so_far_comes_in_pieces_telegram_accepts(world: World) -> None:
    await setup(world)
    for number in range(6):
        world.clock.advance(timedelta(minutes=15))
        ack = await reflect(world, NINA, f"Long shared reflection {number}: " + "many words about the work " * 40)
        await world.press(NINA, ack, data(ack, ":shared"))
    await world.settle()
    await world.say(OMAR, "/digest")
    first = await world.expect(OMAR, "the next digest so far")
    await world.settle()
    pieces = [m for m in world.fake.sent(OMAR.id) if m.message_id >= first.message_id]
    assert len(pieces) >= 2 and all(len(plain(m)) <= 4096 for m in pieces)
    assert "Long shared reflection 5" in "".join(plain(m) for m in pieces)


async def test_a_meeting_moved_in_the_programme_file_moves_its_digest(world: World) -> None:
    await setup(world)
    ack = await reflect(world, NINA, "Shared before the move.")
    await world.press(NINA, ack, data(ack, ":shared"))
    moved = cpm_sets(first_meeting="2027-04-13T14:00:00")
    result = await programmes.save_programme(world.db, parse_programme(moved), moved, world.clock.now())
    await replan_programme(world.db, result.programme_id, world.clock.now())
    # The old digest (Sunday 4 April) does not go; the new one (Sunday 11 April) carries the share.
    world.clock.set(local("2027-04-04T10:00"))
    await world.settle()
    assert not any("digest for the meeting" in plain(m) for m in world.fake.sent(NINA.id) + world.fake.sent(OMAR.id))
    world.clock.set(local("2027-04-11T09:00"))
    digest = await world.expect(OMAR, "digest for the meeting on Tuesday 13 April")
    assert "Shared before the move." in plain(digest)
