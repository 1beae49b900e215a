"""A zone or an hour typed during onboarding is read as people write them, in Dutch or English, and
said back in words, so that a misreading shows at once."""

from __future__ import annotations

from bot.sandbox.fakeapi import FakeUser
from tests.e2e.test_participant_loop import PROGRAMME
from tests.e2e.world import World

SANNE = FakeUser(id=7301, first_name="Sanne")


async def test_the_dutch_example_lissabon_and_a_typed_hour_are_confirmed_in_words(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    code = await world.invite("cpm-e2e", "set-a")
    await world.say(SANNE, f"/start {code}")
    step = await world.expect(SANNE, lambda m: "ob:lang:nl" in [d for _, d in m.buttons()])
    await world.press(SANNE, step, "ob:lang:nl")
    await world.expect(SANNE, "bijvoorbeeld <i>Lissabon</i>")
    await world.say(SANNE, "lissabon")
    await world.expect(SANNE, "Tijdzone: <b>Lissabon (Portugal)</b>")
    assert (await world.person(SANNE)).timezone == "Europe/Lisbon"
    await world.expect(SANNE, "Hoe laat")
    await world.say(SANNE, "7.30")
    await world.expect(SANNE, "Je vragen komen om <b>07:30</b>")
    person = await world.person(SANNE)
    assert (person.nudge_hour, person.nudge_minute) == (7, 30)


async def test_a_dutch_town_and_a_zone_name_are_understood_in_settings(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    await world.onboard(SANNE, await world.invite("cpm-e2e", "set-a"), language="nl")
    seen: dict[str, int] = {}
    for i, (typed, zone, words) in enumerate((("Eindhoven", "Europe/Amsterdam", "Amsterdam (Nederland)"),
                                              ("Midden-Europese tijd", "Europe/Amsterdam", "Amsterdam (Nederland)"),
                                              ("Kopenhagen", "Europe/Copenhagen", "Kopenhagen (Denemarken)"))):
        await world.say(SANNE, "/settings")
        panel = await world.expect(SANNE, "Je instellingen", count=2 * i + 1)  # each save shows them again
        await world.press(SANNE, panel, "st:timezone")
        await world.expect(SANNE, "In welke tijdzone", count=i + 1)
        await world.say(SANNE, typed)
        seen[words] = seen.get(words, 0) + 1
        await world.expect(SANNE, f"Tijdzone: <b>{words}</b>", count=seen[words])
        await world.expect(SANNE, "Opgeslagen.", count=i + 1)
        assert (await world.person(SANNE)).timezone == zone
    await world.say(SANNE, "/settings")
    panel = await world.expect(SANNE, "Je instellingen", count=7)
    await world.press(SANNE, panel, "st:timezone")
    await world.expect(SANNE, "Nu: Kopenhagen (Denemarken).")
