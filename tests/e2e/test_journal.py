"""A participant's own journal on a phone: /export holds everything the database holds about them,
in words of their language; /journal opens, corrects and deletes one entry."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.sandbox.fakeapi import FakeUser
from bot.store import journal, people
from tests.e2e.test_privacy import on_disk
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
    await world.expect(ANNA, "Schrijf je inzicht in één regel")
    await world.say(ANNA, "Eerst vragen, dan beslissen.")
    confirm = await world.expect(ANNA, "Wil je deze regel als inzicht delen")
    await world.press(ANNA, confirm, next(d for _, d in confirm.buttons() if d.endswith(":yes")))
    await world.expect(ANNA, "Gedeeld met je leergroep als inzicht")

    # The digest of Sunday 4 April carries it (planned before the clock passes its time).
    await world.scalar_becomes("SELECT count(*) > 0 FROM digest WHERE send_at < '2027-04-05'", (), 1, timeout=30)
    world.clock.set(local("2027-04-05T09:30"))
    await world.scalar_becomes(
        "SELECT count(*) FROM reflection JOIN digest ON digest.id = reflection.digest_id WHERE digest.status = 'sealed'",
        (), 1, timeout=30,
    )
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


def entry_message(number: int):
    """Matches the message that shows one journal entry whole."""
    return lambda m: (m.text or "").startswith(f"<b>Reflectie {number}</b>")


async def test_on_a_phone_journal_opens_corrects_and_deletes_one_entry(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    world.clock.set(local("2027-04-01T08:00"))
    await world.onboard(ANNA, await world.invite("cpm-sets", "set-a"), language="nl")
    await world.onboard(BOB, await world.invite("cpm-sets", "set-a"))
    # Telegram cuts a long text into messages of 4096 characters: two messages, one reflection.
    long_one = " ".join(f"Zin {i} van een lange reflectie over het team-Oosterpark." for i in range(68))
    long_two = " ".join(f"Zin {i} van een lange reflectie over het team-Oosterpark." for i in range(68, 136))
    assert len(long_one) < 4096 and len(long_one + long_two) > 7000
    texts = ["Ik merkte dat ik te snel invulde.", "Wolkenkrabber-77 was een fout idee.", long_one]
    for i, text in enumerate(texts):
        world.clock.set(local(f"2027-04-01T1{i}:00"))  # a new reflection each time, not a continuation
        await world.say(ANNA, text)
        ack = await world.expect(ANNA, with_buttons("sh:"), count=i + 1)
        if i < 2:  # a shared reflection is closed: the long one stays private, to be continued
            await world.press(ANNA, ack, next(d for _, d in ack.buttons() if d.endswith(":shared")))
        await world.settle()
    await world.say(ANNA, long_two)
    await world.expect(ANNA, "Toegevoegd")

    await world.say(ANNA, "/journal")
    page = await world.expect(ANNA, "Je dagboek")
    labels = [label for label, _ in page.buttons()]
    assert all(len(d.encode()) <= 64 for _, d in page.buttons())
    # Every button says which entry it is about: its number and first words, none alike.
    assert len(set(labels)) == len(labels)
    assert "📖 1 · Ik merkte dat ik te…" in labels and any(x.startswith("Weer privé maken: 2 · Wolkenkrabber") for x in labels)
    assert "3." in page.text and "tik hieronder op het nummer" in page.text

    # Open the long one: it comes whole, over three messages, the buttons on the last.
    before = len(world.fake.sent(ANNA.id))
    await world.press(ANNA, page, next(d for label, d in page.buttons() if label.startswith("📖 3")))
    last = await world.expect(ANNA, "deel 3 van 3")
    shown = world.fake.sent(ANNA.id)[before:]
    assert len(shown) == 3 and all(len(m.text) <= 4096 for m in shown)
    assert "Zin 0 van" in shown[0].text and "Zin 135 van" in shown[2].text
    assert all(f"Zin {i} van" in "".join(m.text for m in shown) for i in range(136))
    assert [label for label, _ in last.buttons()][:2] == ["✏️ Verbeteren", "🗑 Verwijderen"]

    # Correct entry 2: an empty message gets a sentence and the question again; then the new text replaces it.
    await world.press(ANNA, page, next(d for label, d in page.buttons() if label.startswith("📖 2")))
    opened = await world.expect(ANNA, entry_message(2))
    assert "Wolkenkrabber-77 was een fout idee." in opened.text
    await world.press(ANNA, opened, next(d for _, d in opened.buttons() if ":c:" in d))
    await world.expect(ANNA, "Typ de nieuwe tekst van reflectie 2")
    await world.say(ANNA, "   ")
    await world.expect(ANNA, "Er staat niets in dat bericht")
    await world.say(ANNA, "Achteraf was het toch een goed idee.")
    await world.expect(ANNA, "Reflectie 2 is verbeterd")
    person = await world.person(ANNA)
    entries = await journal.for_person(world.db, person.id)
    assert len(entries) == 3  # nothing else lost, no new reflection made of the correction
    assert [e.text for e in entries][1] == "Achteraf was het toch een goed idee."
    assert on_disk(world, "Wolkenkrabber-77") == []

    # Bob cannot press Anna's buttons.
    answer = await world.press_answered(BOB, world.last(BOB), next(d for _, d in opened.buttons() if ":d:" in d))
    assert answer["text"] == "This button no longer applies."

    # Delete entry 1 after a confirmation: gone, and gone from disk.
    await world.press(ANNA, page, next(d for label, d in page.buttons() if label.startswith("📖 1")))
    opened = await world.expect(ANNA, entry_message(1))
    await world.press(ANNA, opened, next(d for _, d in opened.buttons() if ":d:" in d))
    confirm = await world.expect(ANNA, "Reflectie 1 (‘Ik merkte dat ik te…’) verwijderen?")
    await world.press(ANNA, confirm, next(d for _, d in confirm.buttons() if ":y:" in d))
    await world.expect(ANNA, "Reflectie 1 is verwijderd")
    assert [e.text for e in await journal.for_person(world.db, person.id)][-1].startswith("Achteraf")
    assert on_disk(world, "te snel invulde") == []
    assert await journal.count(world.db, person.id) == 2
