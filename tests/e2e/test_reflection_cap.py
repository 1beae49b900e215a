"""Many messages in a row make several reflections, not one of unbounded size: a reflection holds
MAX_PARTS messages, and the next message starts a new one (which can be shared on its own)."""

from __future__ import annotations

from bot.sandbox.fakeapi import FakeUser
from bot.store.journal import MAX_PARTS
from tests.e2e.test_participant_loop import PROGRAMME
from tests.e2e.world import World

ANNA = FakeUser(id=3101, first_name="Anna", language_code="en")


async def test_a_long_run_of_messages_is_kept_in_reflections_of_at_most_max_parts(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    await world.onboard(ANNA, await world.invite("cpm-e2e", "set-a"))
    for i in range(MAX_PARTS + 1):
        await world.say(ANNA, f"Thought number {i}.")
    await world.expect(ANNA, lambda m: (m.text or "").startswith("Kept in your journal"), count=2)
    await world.expect(ANNA, "Added to the same reflection", count=MAX_PARTS - 1)
    person = await world.person(ANNA)
    assert person is not None
    sizes = await world.db.fetchall(
        "SELECT count(*) FROM reflection_part JOIN reflection ON reflection.id = reflection_part.reflection_id"
        " WHERE reflection.person_id = ? GROUP BY reflection.id ORDER BY reflection.id",
        (person.id,),
    )
    assert [r[0] for r in sizes] == [MAX_PARTS, 1]
