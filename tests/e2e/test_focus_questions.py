"""A facilitator's focus questions reach the participants of their module who use the programme's
language, as prompts with the usual buttons; the reflection keeps the capacity its author gave, and
/export shows the question as it was written."""

from __future__ import annotations

import json

from bot.sandbox.fakeapi import FakeUser
from bot.store import journal
from tests.e2e.world import World, local
from tests.factories import module, programme

PROGRAMME = programme(
    key="focus-e2e",
    title="Leergang",
    language="nl",
    modules=[module("m1", "Jij en de publieke zaak", capacities=["cognitive"], focus_questions=[
        {"text": "Voor wie deed je deze week je werk eigenlijk?", "capacity": "relational"},
    ])],
)

NOOR = FakeUser(id=3201, first_name="Noor", language_code="nl")
SAM = FakeUser(id=3202, first_name="Sam", language_code="en")


async def test_a_focus_question_is_asked_in_the_programmes_language_and_kept_with_its_capacity(world: World) -> None:
    world.render.library = []  # only the facilitator's question can be chosen
    await world.load(PROGRAMME)
    await world.start()
    await world.onboard(NOOR, await world.invite("focus-e2e"), language="nl")
    await world.onboard(SAM, await world.invite("focus-e2e"), language="en")
    world.clock.set(local("2027-03-25T09:00"))
    asked = await world.expect(NOOR, "Voor wie deed je deze week je werk eigenlijk?")
    assert "Een vraag van je begeleiders bij <b>Jij en de publieke zaak</b>" in (asked.text or "")
    assert [label for label, _ in asked.buttons()] == ["Later", "Overslaan"]
    row = await world.row_of(NOOR, asked)
    assert row.prompt_key is not None and row.prompt_key.startswith("focus:m1:")
    await world.say(NOOR, "Eerlijk gezegd vooral voor de wethouder.", reply_to=asked.message_id)
    await world.expect(NOOR, "Bewaard in je dagboek")
    entry = (await journal.for_person(world.db, row.person_id))[0]
    assert entry.prompt_key == row.prompt_key and entry.capacity == "relational"

    await world.say(NOOR, "/export")
    json_doc = await world.expect(NOOR, lambda m: m.document is not None and m.document[0].endswith(".json"))
    assert json.loads(json_doc.document[1])["reflections"][0]["question"] == "Voor wie deed je deze week je werk eigenlijk?"

    # Sam reads English: a Dutch question is not put to him (and the library is empty here: nothing comes).
    await world.settle()
    assert all("Voor wie" not in (m.text or "") for m in world.fake.sent(SAM.id))
