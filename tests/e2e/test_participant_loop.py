"""A participant's weeks, end to end: invite, onboarding in Dutch, prompts at the local hour across
a daylight-saving change, answers in two messages, an edit, skip, later, an intention follow-up,
export and forget — the real bot against the fake Bot API, with a clock the test moves."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.sandbox.fakeapi import FakeUser
from bot.store import journal, outbox
from tests.e2e.world import World, local
from tests.factories import event, learning_set, meeting, module, programme

PROGRAMME = programme(
    key="cpm-e2e",
    modules=[module(
        "m2", "The Person",
        theme="Values, diversity and the personal side of change", capacities=["relational"],
        events=[
            event("residential", "2027-03-15", "2027-03-19", place="Brussels"),
            event("residential", "2027-05-10", "2027-05-14", place="Manchester"),
        ],
    )],
    sets=[learning_set("set-a", "Set A", [meeting("2027-04-06T14:00:00", place="Utrecht")])],
)

ANNA = FakeUser(id=2001, first_name="Anna", language_code="nl")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def prompts_to(world: World, user: FakeUser) -> list:
    """Gives the messages that came with prompt buttons (even when the buttons were removed since)."""
    return [m for m in world.fake.sent(user.id) if "pr:" in json_text(m.params.get("reply_markup"))]


def json_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


async def next_prompt(world: World, user: FakeUser) -> object:
    """Waits for a prompt newer than every prompt so far."""
    before = max((m.message_id for m in prompts_to(world, user)), default=0)
    message = await world.expect(user, lambda m: m.message_id > before and "pr:" in json_text(m.params.get("reply_markup")))
    await world.row_of(user, message)  # recorded as sent, as it is a moment after Telegram has it
    return message


async def test_a_participant_joins_in_dutch_and_reflects_across_a_dst_change(world: World) -> None:
    # No intention prompts here: their follow-ups have a test of their own below.
    world.render.library = [p for p in world.render.library if not p.intention]
    await world.load(PROGRAMME)
    await world.start()
    code = await world.invite("cpm-e2e", "set-a")

    # Join and onboard in Dutch, typing the time zone as a city.
    await world.say(ANNA, f"/start {code}")
    step = await world.expect(ANNA, lambda m: ("ob:lang:nl" in [d for _, d in m.buttons()]))
    await world.press(ANNA, step, "ob:lang:nl")
    await world.expect(ANNA, "tijdzone")
    await world.say(ANNA, "Atlantis")
    await world.expect(ANNA, "ken ik niet")
    await world.say(ANNA, "Den Haag")
    await world.expect(ANNA, "Tijdzone: <b>Amsterdam (Nederland)</b>")
    step = await world.expect(ANNA, "Hoe laat")
    await world.press(ANNA, step, "ob:hour:9")
    step = await world.expect(ANNA, "Op welke dagen")
    await world.press(ANNA, step, "ob:day:5")  # Saturday on …
    await world.press(ANNA, step, "ob:day:5")  # … and off again: the keyboard is edited in place
    assert any(label.startswith("✓ ma") for label, _ in world.fake.sent(ANNA.id)[-1].buttons())
    await world.press(ANNA, step, "ob:days:ok")
    step = await world.expect(ANNA, "Wat privé blijft")
    await world.press(ANNA, step, "ob:ok")
    step = await world.expect(ANNA, "Je leervraag")
    await world.press(ANNA, step, "lq:skip")
    done = await world.expect(ANNA, "Alles staat klaar")
    assert "do 25 mrt 2027, 09:00" in (done.text or "")
    person = await world.person(ANNA)
    assert person is not None and person.status == "active" and person.language == "nl"

    # Thursday 25 March 09:00 CET is 08:00 UTC: nothing a minute before, the prompt at the hour.
    world.clock.set(utc("2027-03-25T07:59"))
    await world.settle()
    assert prompts_to(world, ANNA) == []
    world.clock.set(utc("2027-03-25T08:00"))
    first = await next_prompt(world, ANNA)
    assert [label for label, _ in first.buttons()] == ["Later", "Overslaan"]

    # Answer in two messages: one reflection; then edit the first message.
    sent_one = await world.say(ANNA, "Ik merkte dat ik in overleg te snel invul wat de ander bedoelt.")
    await world.expect(ANNA, "Bewaard in je dagboek")
    await world.say(ANNA, "Volgende keer vraag ik eerst door.")
    await world.expect(ANNA, "Toegevoegd aan dezelfde reflectie")
    await world.fake.edit_text(ANNA, sent_one, "Ik merkte dat ik in overleg te snel conclusies trek.")
    await world.expect(ANNA, "bijgewerkt")
    entries = await journal.for_person(world.db, person.id)
    assert len(entries) == 1
    assert entries[0].text == "Ik merkte dat ik in overleg te snel conclusies trek.\nVolgende keer vraag ik eerst door."
    assert entries[0].outbox_id == (await world.row_of(ANNA, first)).id and entries[0].module_key == "m2"
    assert (await outbox.get(world.db, entries[0].outbox_id)).response == "answered"

    # Friday: skip the prompt. The buttons go away and nothing is stored.
    world.clock.set(utc("2027-03-26T08:00"))
    friday = await next_prompt(world, ANNA)
    assert friday.message_id != first.message_id
    answer = await world.press_answered(ANNA, friday, friday.buttons()[1][1])
    assert answer["text"].startswith("Overgeslagen")
    await world.until(lambda: friday.reply_markup in (None, {}, {"inline_keyboard": []}))

    # Saturday and Sunday have no prompt. Monday 29 March, after the change to summer time:
    # 09:00 CEST is 07:00 UTC.
    world.clock.set(utc("2027-03-29T06:59"))
    await world.settle()
    assert len(prompts_to(world, ANNA)) == 2
    world.clock.set(utc("2027-03-29T07:00"))
    monday = await next_prompt(world, ANNA)
    monday_row = await world.row_of(ANNA, monday)
    assert monday_row.due_at == utc("2027-03-29T07:00")

    # Later: the same prompt comes again three hours on.
    await world.press(ANNA, monday, f"pr:later:{monday_row.id}")
    await world.settle()
    world.clock.set(utc("2027-03-29T10:00"))
    again = await next_prompt(world, ANNA)
    assert again.text == monday.text
    assert (await world.row_of(ANNA, again)).prompt_key == monday_row.prompt_key

    # Pressing the old Later again changes nothing.
    snapshot = "SELECT id, status, response, due_at FROM outbox WHERE kind = 'prompt' AND status != 'pending' ORDER BY id"
    before = [tuple(r) for r in await world.db.fetchall(snapshot)]
    answer = await world.press_answered(ANNA, monday.message_id, f"pr:later:{monday_row.id}")
    assert answer["text"] == "Deze knop werkt niet meer."
    assert [tuple(r) for r in await world.db.fetchall(snapshot)] == before
    assert await world.db.scalar("SELECT count(*) FROM outbox WHERE dedupe_key LIKE 'later:%'") == 1

    # Export: a Markdown document and a JSON file with the reflection.
    await world.say(ANNA, "/export")
    json_doc = await world.expect(ANNA, lambda m: m.document is not None and m.document[0].endswith(".json"))
    markdown = next(m for m in world.fake.sent(ANNA.id) if m.document and m.document[0].endswith(".md"))
    data = json.loads(json_doc.document[1])
    assert data["reflections"][0]["messages"][0]["text"].startswith("Ik merkte")
    assert "Volgende keer vraag ik eerst door." in markdown.document[1].decode()

    # Forget: after confirming, nothing of Anna is left, planned messages included.
    await world.say(ANNA, "/forget")
    confirm = await world.expect(ANNA, "Hiermee wis je alles")
    await world.press(ANNA, confirm, "fg:yes")
    await world.expect(ANNA, "alles is gewist")
    assert await world.person(ANNA) is None
    for table in ("reflection", "reflection_part", "membership"):
        assert await world.db.scalar(f"SELECT count(*) FROM {table}") == 0
    assert await world.db.scalar("SELECT count(*) FROM outbox WHERE chat_id = ?", (ANNA.id,)) == 0
    await world.say(ANNA, "hallo?")
    await world.expect(ANNA, "uitnodiging")


async def test_an_intention_is_followed_up_before_the_next_set_meeting(world: World) -> None:
    # Only intention prompts, so that the first prompt asks what she will try.
    world.render.library = [p for p in world.render.library if p.intention]
    await world.load(PROGRAMME)
    await world.start()
    bob = FakeUser(id=2002, first_name="Bob", language_code="en")
    world.clock.set(local("2027-04-01T08:00"))  # Thursday
    await world.onboard(bob, await world.invite("cpm-e2e", "set-a"))
    world.clock.set(local("2027-04-02T09:00"))  # Friday 09:00
    prompt = await world.expect(bob, lambda m: any(d.startswith("pr:later:") for _, d in m.buttons()))
    await world.row_of(bob, prompt)
    await world.say(bob, "I will ask my team what they need before I propose anything.", reply_to=prompt.message_id)
    await world.expect(bob, "I'll ask in a few days how it went")
    intention = (await journal.for_person(world.db, (await world.person(bob)).id))[0]
    assert intention.is_intention

    # The set meets on Tuesday 6 April: the follow-up comes Monday 5 April at 09:00, not after four days.
    follow_up = await world.db.fetchone("SELECT due_at FROM outbox WHERE kind = 'follow_up'")
    assert datetime.fromisoformat(follow_up[0]) == local("2027-04-05T09:00").astimezone(UTC)
    # Saturday's question whether she brings a case goes on Saturday (once the planner has planned it, and
    # recorded as sent before the clock moves on): skipped over, it would come on Monday and, asked
    # first, take Monday's one message.
    await world.scalar_becomes("SELECT count(*) FROM outbox WHERE kind = 'case_round'", (), 1)
    world.clock.set(local("2027-04-03T09:00"))
    await world.row_of(bob, await world.expect(bob, "bring a case"))
    # Monday's reminder of the meeting (08:30) and the follow-up (09:00) fall due together here: the
    # reminder rides along with the follow-up instead of taking the day's message.
    world.clock.set(local("2027-04-05T09:00"))
    asked = await world.expect(bob, "You meant to try something at work")
    await world.row_of(bob, asked)
    assert "I will ask my team what they need" in (asked.text or "")
    assert "Friday 2 April" in (asked.text or "")
    await world.say(bob, "They asked for fewer meetings. We dropped one.", reply_to=asked.message_id)
    await world.expect(bob, "Kept in your journal", count=2)
    answer = (await journal.for_person(world.db, intention.person_id))[0]
    assert answer.follows_up_id == intention.id
