"""A person in two programmes: joining the second is announced, and /digest shows every set they
belong to, the one that holds their shared reflections included."""

from __future__ import annotations

from bot.sandbox.fakeapi import FakeUser
from tests.e2e.world import World, local
from tests.factories import learning_set, meeting, programme


def one_set_programme(key: str, title: str, set_key: str, set_name: str) -> str:
    """Gives a programme with one module and one set that meets on 20 April."""
    return programme(
        key=key, title=title, sets=[learning_set(set_key, set_name, [meeting("2027-04-20T14:00:00")])]
    )


FIRST = one_set_programme("first", "First Programme", "set-a", "Set A")
SECOND = one_set_programme("second", "Second Programme", "set-x", "Set X")

ANNA = FakeUser(id=8001, first_name="Anna", language_code="nl")
SHARED = "Ik vroeg eerst wat mijn team nodig had, en dat werkte."


async def test_joining_a_second_programme_is_announced_and_digest_shows_both_sets(world: World) -> None:
    await world.load(FIRST)
    await world.load(SECOND)
    await world.start()
    world.clock.set(local("2027-03-24T10:00"))
    await world.onboard(ANNA, await world.invite("first", "set-a"), language="nl")
    await world.say(ANNA, SHARED)
    ack = await world.expect(ANNA, lambda m: any(d.endswith(":shared") for _, d in m.buttons()))
    await world.press(ANNA, ack, next(d for _, d in ack.buttons() if d.endswith(":shared")))
    await world.settle()

    await world.say(ANNA, f"/start {await world.invite('second', 'set-x')}")
    joined = await world.expect(ANNA, "Je doet nu ook mee aan <b>Second Programme</b>")
    assert "Set X" in joined.text

    await world.say(ANNA, "/digest")
    first = await world.expect(ANNA, "<b>Set A</b> — het volgende overzicht tot nu toe")
    assert SHARED in first.text
    second = await world.expect(ANNA, "<b>Set X</b> — het volgende overzicht tot nu toe")
    assert "Nog niets gedeeld" in second.text
