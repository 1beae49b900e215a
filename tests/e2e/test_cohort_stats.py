"""The cohort view in /stats: a programme's facilitator (or an admin) sees the pulse trend per module and
capacity — averages with their number of answers only where at least five answered, and never one that,
minus a set's own average, would give away fewer than five — and no row for a set nobody has joined."""

from __future__ import annotations

from bot.sandbox.fakeapi import FakeUser, SentMessage
from bot.store import people, programmes, pulse
from tests.e2e.world import World, local
from tests.factories import learning_set, module, programme

PROGRAMME = programme(
    key="cohort",
    modules=[module("m1", "The Challenges", "2027-01-04", "2027-02-28"), module("m2", "The Person", "2027-03-01", "2027-05-30")],
    sets=[learning_set("set-a", "Set A"), learning_set("set-b", "Set B"), learning_set("set-e", "Empty set")],
)
FIONA = FakeUser(id=6209, first_name="Fiona")
ADMIN = FakeUser(id=9000, first_name="Ada", language_code="nl")


def seen(message: SentMessage) -> str:
    return str(message.message.get("text") or message.message.get("caption") or "")


async def members(world: World, set_key: str, count: int, first: int) -> list[int]:
    """Gives the ids of `count` new members of a set (invited; their onboarding does not matter here)."""
    found = []
    for i in range(count):
        code = await world.invite("cohort", set_key)
        _, person, _ = await people.redeem_invite(world.db, code, first + i, first + i, f"Member {first + i}", "en",
                                                  "Europe/Amsterdam", world.clock.now())
        assert person is not None
        found.append(person.id)
    return found


async def test_the_pulse_trend_shows_averages_of_five_or_more_and_no_empty_set(world: World) -> None:
    programme_id = await world.load(PROGRAMME)
    sets = {s.key: s.id for s in await programmes.list_sets(world.db, programme_id)}
    set_a = await members(world, "set-a", 6, 71000)
    set_b = await members(world, "set-b", 2, 72000)
    now = local("2027-01-04T09:00")

    async def answer(person_ids: list[int], set_key: str, module_key: str, moment: str, capacity: str,
                     scores: list[int | None]) -> None:
        for person_id, score in zip(person_ids, scores):
            await pulse.record(world.db, person_id, programme_id, sets[set_key], module_key, moment, capacity, score, now)

    # m1 start: "Making sense" has 5 in set A and 2 in set B: A's own average shows in its brief, so the
    # programme's would give B's away — held back. "Working with people": 5 in A only — shown.
    await answer(set_a, "set-a", "m1", "start", "cognitive", [4, 4, 4, 4, 4])
    await answer(set_b, "set-b", "m1", "start", "cognitive", [1, 1])
    await answer(set_a, "set-a", "m1", "start", "relational", [3, 4, 4, 5, 5, None])  # one skipped
    # m1 end: four answers only.
    await answer(set_a, "set-a", "m1", "end", "relational", [2, 3, 4, 5])
    await world.start()
    await world.onboard(FIONA, await world.invite("cohort", role="facilitator"))

    await world.say(FIONA, "/stats")
    counts = seen(await world.expect(FIONA, "Participation — Certified Public Manager"))
    trend = seen(await world.expect(FIONA, "Pulse trend — Certified Public Manager"))
    await world.expect(FIONA, lambda m: m.photo is not None)
    assert "Set A" in counts and "Set B" in counts and "Empty set" not in counts
    assert trend.split("\n")[2:] == [
        "",
        "The Challenges",
        "Start:",
        "• Making sense: too few answers",
        "• Working with people: 4.2 (5 answers)",
        "• Stepping in: too few answers",
        "• Across boundaries: too few answers",
        "End: too few answers to show (fewer than 5)",
    ]
    assert "The Person" not in trend  # no answers yet for module 2

    # An admin reads it in Dutch.
    await world.say(ADMIN, "/stats")
    dutch = seen(await world.expect(ADMIN, "Peiling door de tijd — Certified Public Manager"))
    assert "• Samenwerken: 4,2 (5 antwoorden)" in dutch and "Einde: te weinig antwoorden om te tonen (minder dan 5)" in dutch


async def test_a_programme_without_pulse_answers_says_so(world: World) -> None:
    await world.load(PROGRAMME)
    await members(world, "set-a", 1, 73000)
    await world.start()
    await world.say(ADMIN, "/stats")
    dutch = seen(await world.expect(ADMIN, "Peiling door de tijd"))
    assert dutch.endswith("Nog geen antwoorden op de peiling.")
    counts = seen(await world.expect(ADMIN, "Deelname — Certified Public Manager"))
    assert "Empty set" not in counts and "Set B" not in counts and "Set A" in counts
