"""A participant's own journal on a phone: /export holds everything the database holds about them,
in words of their language; /journal opens, corrects and deletes one entry."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.fakeapi import FakeUser
from bot.store import people
from tests.e2e.test_sharing import PROGRAMME
from tests.e2e.world import World, local

ANNA = FakeUser(id=8001, first_name="Anna", language_code="nl")
BOB = FakeUser(id=8002, first_name="Bob")


def documents(world: World, user: FakeUser) -> tuple[str, dict]:
    """Gives the last export's Markdown text and JSON data."""
    sent = [m for m in world.fake.sent(user.id) if m.document]
    markdown = next(m for m in reversed(sent) if m.document[0].endswith(".md"))
    data = next(m for m in reversed(sent) if m.document[0].endswith(".json"))
    return markdown.document[1].decode(), json.loads(data.document[1])


def with_buttons(prefix: str):
    return lambda m: any(d.startswith(prefix) for _, d in m.buttons())


async def test_the_export_holds_everything_about_the_person_in_words_and_escaped(world: World) -> None:
    programme_id = await world.load(PROGRAMME)
    await world.start()
    world.clock.set(local("2027-04-01T08:00"))
    set_a = await world.db.scalar("SELECT id FROM learning_set WHERE key = 'set-a'")
    invite = await people.create_invite(
        world.db, programme_id, set_a, "participant", 1, world.clock.now() + timedelta(days=30), world.clock.now(),
        created_by="cli:import", name="Anna de Wit", language="nl", import_ref="cpm-sets:anna@example.nl",
    )
    await world.onboard(ANNA, invite.code, language="nl")
    await world.onboard(BOB, await world.invite("cpm-sets", "set-a"))

    # The 09:00 question, answered with text that looks like markup, shared as a takeaway.
    world.clock.set(local("2027-04-01T09:00"))
    prompt = await world.expect(ANNA, with_buttons("pr:later:"))
    await world.row_of(ANNA, prompt)
    await world.say(ANNA, "Dit was <b>mijn</b> *moment*\n- met een lijstje", reply_to=prompt.message_id)
    ack = await world.expect(ANNA, with_buttons("sh:"))
    await world.press(ANNA, ack, next(d for _, d in ack.buttons() if d.endswith(":takeaway")))
    await world.expect(ANNA, "inzicht")
    await world.say(ANNA, "Eerst vragen, dan beslissen.")
    await world.expect(ANNA, "Gedeeld")

    # The digest of Sunday 4 April carries it.
    world.clock.set(local("2027-04-05T09:30"))
    await world.expect(BOB, "Eerst vragen, dan beslissen.")
    await world.say(ANNA, "/export")
    await world.expect(ANNA, lambda m: bool(m.document) and m.document[0].endswith(".json"))
    markdown, data = documents(world, ANNA)

    person = data["person"]
    assert person["telegram_id"] == ANNA.id and person["emails"] == ["anna@example.nl"]
    entry = data["reflections"][0]
    assert entry["question"] and "<" not in entry["question"]
    assert entry["takeaway"] == "Eerst vragen, dan beslissen."
    assert entry["shared_with"] == "Action learning set A" and entry["shared_at"]
    assert entry["digest"]["id"] and entry["digest"]["status"] == "sealed" and entry["digest"]["place"] == "Utrecht"
    assert entry["module_title"] == "The Person"

    assert str(ANNA.id) in markdown and "anna@example.nl" in markdown
    assert entry["question"][:40] in markdown.replace("\\", "")
    assert "**Inzicht:** Eerst vragen, dan beslissen." in markdown
    assert "Module: The Person" in markdown and "relationeel" in markdown
    assert "Action learning set A" in markdown and "samenvatting nummer" in markdown
    assert "Dit was \\<b\\>mijn\\</b\\> \\*moment\\*\\\n\\- met een lijstje" in markdown
    for internal in ("private", "privé ·", "relational", "takeaway", "between", "just_after", "None"):
        assert internal not in markdown, internal
