"""The facilitator's brief end to end, through the fake Bot API and the test clock: a set of six meets;
five answered the pulse, one did not; the day before the meeting at 08:00 the facilitator gets the brief
privately with the right counts, the pulse averages (five answered), a case, the line a member shared
for the facilitator only and a chart — and none of the private texts planted for the test. A set of
four shows "too few" for its pulse. A share for the facilitator is confirmed before it goes, can be
taken back in /journal until the brief carries it, and a forged press on it changes nothing."""

from __future__ import annotations

import io
from datetime import UTC, timedelta

from PIL import Image

from bot.sandbox.fakeapi import FakeUser, SentMessage
from bot.store import programmes, sharing
from bot.store.outbox import ts
from tests.e2e.test_sharing import data, plain, reflect
from tests.e2e.world import World, local
from tests.factories import event, learning_set, meeting, module, programme

PROGRAMME = programme(
    key="cpm-brief",
    modules=[module("m2", "The Person", capacities=["relational"], events=[
        event("residential", "2027-05-10", "2027-05-14", title="Residential week", place="Kaunas"),
    ])],
    sets=[
        learning_set("set-a", "Action learning set A", [
            meeting("2027-04-06T14:00:00", place="Utrecht"), meeting("2027-04-20T14:00:00", place="Utrecht"),
        ]),
        learning_set("set-b", "Action learning set B", [meeting("2027-04-20T10:00:00", place="Leiden")]),
        learning_set("set-c", "Action learning set C", [meeting("2027-04-21T10:00:00")]),
    ],
)

OTHER = programme(
    key="lpw-brief",
    title="Leergang Publieke Werken",
    language="nl",
    modules=[module("m1", "Publieke waarden", "2027-02-01", "2027-06-30")],
    sets=[learning_set("groep-1", "Intervisiegroep 1", [meeting("2027-04-22T10:00:00")])],
)

FIONA = FakeUser(id=8101, first_name="Fiona")  # facilitator of cpm-brief (all its sets)
PIA = FakeUser(id=8111, first_name="Pia")  # member of set A, through the bot
RUUD = FakeUser(id=8112, first_name="Ruud", language_code="nl")  # member of set B, through the bot
ADMIN = FakeUser(id=9000, first_name="Ada")  # PITSTOP_ADMINS in tests/e2e/world.py
MEETING_A = local("2027-04-20T14:00")

PIA_PRIVATE = "PRIVATE-PIA: I doubt whether I want to stay in this job."
PIA_LINE = "I would like to talk about my director before the meeting."
PIA_TAKEN_BACK = "TAKEN-BACK: something I shared with the facilitator and then took back."
RUUD_LINE = "Een regel alleen voor de begeleider van groep B."
PLANTED_PRIVATE = [f"PRIVATE-{n}: a private reflection nobody else may read." for n in range(5)]
SHARED_WITH_SET = "SHARED-A: what I shared with my set, not for the brief."
CASE = "Two departments must build one counter for entrepreneurs together."
# Pulse scores of set A's five answering members, per capacity: averages 3.0, 3.4, 2.6, 4.0.
SCORES = {"cognitive": [1, 2, 3, 4, 5], "relational": [3, 3, 3, 4, 4], "intervention": [2, 2, 3, 3, 3],
          "cross-boundary": [4, 4, 4, 4, 4]}


async def insert_member(world: World, programme_id: int, set_id: int, telegram_id: int, name: str,
                        show_activity: bool = False) -> int:
    """Adds an active participant of a set, as an import would (no prompts: no nudge days)."""
    stamp = ts(world.clock.now())
    async with world.db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO person (telegram_id, chat_id, name, status, nudge_days, show_activity, created_at, updated_at)"
            " VALUES (?,?,?,'active','',?,?,?)",
            (telegram_id, telegram_id, name, int(show_activity), stamp, stamp),
        )
        person_id = int(cur.lastrowid or 0)
        await conn.execute(
            "INSERT INTO membership (person_id, programme_id, learning_set_id, role, joined_at) VALUES (?,?,?,'participant',?)",
            (person_id, programme_id, set_id, stamp),
        )
    return person_id


async def insert_reflection(world: World, person_id: int, text: str, *, set_id: int | None = None,
                            capacity: str = "relational", days_ago: int = 1) -> int:
    """Adds a reflection written some days ago (shared with the set when set_id is given)."""
    at = ts(world.clock.now() - timedelta(days=days_ago))
    async with world.db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO reflection (person_id, capacity, module_key, visibility, shared_set_id, shared_at, created_at,"
            " updated_at) VALUES (?, ?, 'm2', ?, ?, ?, ?, ?)",
            (person_id, capacity, "shared" if set_id else "private", set_id, at if set_id else None, at, at),
        )
        reflection_id = int(cur.lastrowid or 0)
        await conn.execute(
            "INSERT INTO reflection_part (reflection_id, chat_id, message_id, text, created_at) VALUES (?,?,?,?,?)",
            (reflection_id, person_id + 500_000, reflection_id, text, at),
        )
    return reflection_id


async def insert_pulse(world: World, programme_id: int, set_id: int, people: list[int]) -> None:
    """Adds the start-of-module pulse of these members (until the pulse has its own questions on main)."""
    async with world.db.transaction() as conn:
        for i, person_id in enumerate(people):
            for capacity, scores in SCORES.items():
                await conn.execute(
                    "INSERT INTO pulse_answer (person_id, programme_id, learning_set_id, module_key, moment, capacity,"
                    " score, answered_at) VALUES (?,?,?,'m2','start',?,?,?)",
                    (person_id, programme_id, set_id, capacity, scores[i % 5], ts(world.clock.now())),
                )


def briefs_to(world: World, user: FakeUser, set_name: str) -> list[SentMessage]:
    return [m for m in world.fake.sent(user.id) if plain(m).startswith(f"Brief for {set_name}")]


async def share_line_for_facilitator(world: World, user: FakeUser, ack: SentMessage, line: str) -> None:
    """Presses *For the facilitator only*, chooses one line, types it, sees it quoted and confirms it."""
    await world.press(user, ack, data(ack, ":ask"))
    offer = await world.expect(user, lambda m: any(d.endswith(":line") for _, d in m.buttons()))
    await world.press(user, offer, data(offer, ":line"))
    await world.expect(user, lambda m: "line for your facilitator" in (m.text or "") or "regel voor je begeleider" in (m.text or ""))
    await world.say(user, line)
    confirm = await world.expect(user, lambda m: any(d.startswith("cf:") for _, d in m.buttons()))
    assert line in plain(confirm)
    await world.press(user, confirm, data(confirm, ":yes"))
    await world.expect(user, lambda m: line in (m.text or "") and ("facilitator only" in (m.text or "") or "begeleider" in (m.text or "")))


async def setup(world: World) -> dict[str, int]:
    programme_id = await world.load(PROGRAMME)
    other_id = await world.load(OTHER)
    await world.start()
    await world.onboard(FIONA, await world.invite("cpm-brief", role="facilitator"))
    await world.onboard(PIA, await world.invite("cpm-brief", "set-a"))
    await world.onboard(RUUD, await world.invite("cpm-brief", "set-b"), language="nl")
    set_a = await programmes.get_set(world.db, programme_id, "set-a")
    set_b = await programmes.get_set(world.db, programme_id, "set-b")
    assert set_a is not None and set_b is not None
    return {"programme": programme_id, "other": other_id, "set_a": set_a.id, "set_b": set_b.id}


async def test_the_facilitator_gets_the_brief_the_day_before_with_counts_pulse_case_and_line_and_nothing_private(
    world: World,
) -> None:
    ids = await setup(world)
    world.clock.set(local("2027-04-12T10:00"))  # after the meeting of 6 April
    # Set A: Pia (through the bot) and five more; one of them shows her activity.
    others = [await insert_member(world, ids["programme"], ids["set_a"], 8200 + n, f"Member {n}", show_activity=n == 0)
              for n in range(5)]
    pia = await world.person(PIA)
    assert pia is not None
    await world.say(PIA, PIA_PRIVATE)
    await world.expect(PIA, "Kept in your journal")
    world.clock.advance(timedelta(minutes=11))  # a new reflection, not more of the last one
    ack = await reflect(world, PIA, "After the meeting I kept thinking about my director.")
    await share_line_for_facilitator(world, PIA, ack, PIA_LINE)
    # A whole reflection shared for the facilitator, then taken back in /journal: it must not reach the brief.
    taken_back = await reflect(world, PIA, PIA_TAKEN_BACK)
    await world.press(PIA, taken_back, data(taken_back, ":ask"))
    offer = await world.expect(PIA, lambda m: any(d.endswith(":whole") for _, d in m.buttons()))
    assert PIA_TAKEN_BACK in plain(offer) and "never sees it" in plain(offer)
    await world.press(PIA, offer, data(offer, ":whole"))
    await world.expect(PIA, "Your reflection is shared with your facilitator only")
    await world.say(PIA, "/journal")
    page = await world.expect(PIA, lambda m: any(d.startswith("jr:0:o:") for _, d in m.buttons()))
    await world.press(PIA, page, page.buttons()[0][1])  # the newest entry: the one just shared
    entry = await world.expect(PIA, lambda m: any(d.endswith(":undo") for _, d in m.buttons()))
    await world.press(PIA, entry, data(entry, ":undo"))
    await world.expect(PIA, "Taken back")
    # The others: four reflect since the last meeting (two share with the set); the fifth wrote before it.
    for n, person_id in enumerate(others):
        await insert_reflection(world, person_id, PLANTED_PRIVATE[n], capacity="cognitive", days_ago=10 if n == 4 else 1)
    await insert_reflection(world, others[0], SHARED_WITH_SET, set_id=ids["set_a"])
    await insert_reflection(world, others[1], "SHARED-A2: another one for the set.", set_id=ids["set_a"],
                            capacity="cross-boundary")
    # A case for the meeting, in its digest's case round.
    async with world.db.transaction() as conn:
        digest_id = await sharing.ensure_digest(conn, ids["set_a"], MEETING_A.astimezone(UTC).isoformat(),
                                                local("2027-04-18T09:00"), MEETING_A, "Utrecht", world.clock.now())
    assert await sharing.add_case(world.db, digest_id, ids["set_a"], others[2], CASE, world.clock.now())
    # The pulse: five of the six answered.
    await insert_pulse(world, ids["programme"], ids["set_a"], others)
    # Set B: Ruud (through the bot) and three more; four answered the pulse; Ruud shares a line for its facilitator.
    set_b = [await insert_member(world, ids["programme"], ids["set_b"], 8300 + n, f"B{n}") for n in range(3)]
    ruud = await world.person(RUUD)
    assert ruud is not None
    await insert_pulse(world, ids["programme"], ids["set_b"], [ruud.id, *set_b])
    ack_b = await reflect(world, RUUD, "Een reflectie van Ruud.")
    await share_line_for_facilitator(world, RUUD, ack_b, RUUD_LINE)

    # The evening before the day before: no brief yet.
    world.clock.set(local("2027-04-19T07:59"))
    await world.settle()
    assert briefs_to(world, FIONA, "Action learning set A") == []
    world.clock.set(local("2027-04-19T08:00"))
    brief = await world.expect(FIONA, "Brief for Action learning set A", timeout=15)
    text = plain(brief)
    assert "Meeting: Tuesday 20 April at 14:00 in Utrecht" in text
    assert "Module: The Person" in text
    assert "After that: Residential week, Monday 10 May in Kaunas" in text
    assert "Since the meeting of 6 Apr 2027" in text
    assert "5 of 6 members reflected" in text  # Pia and four others, since the meeting of 6 April
    assert "2 shared something with the set" in text
    assert "• Member 0: 2" in text  # she shows her activity; nobody else is named
    assert "Member 1:" not in text and "Pia:" not in text
    assert "• relational: " in text and "• cross-boundary: 1" in text  # what was shared, by the prompts' tags
    assert "cognitive: 1" not in text.split("Pulse")[0]  # private reflections touch no count of capacities
    assert f"• Member 2: {CASE}" in text
    assert PIA_LINE in text and "Pia" in text
    assert "averages of 5 members" in text
    for capacity, average in (("cognitive", "3.0"), ("relational", "3.4"), ("intervention", "2.6"),
                              ("cross-boundary", "4.0")):
        assert f"• {capacity}: {average}" in text
    everything = "\n".join(plain(m) for m in world.fake.sent(FIONA.id))
    for secret in (PIA_PRIVATE, PIA_TAKEN_BACK, SHARED_WITH_SET, RUUD_LINE, *PLANTED_PRIVATE,
                   "After the meeting I kept thinking"):
        assert secret not in everything, secret
    chart = await world.expect(FIONA, lambda m: m.photo is not None and "Action learning set A" in plain(m))
    assert Image.open(io.BytesIO(chart.photo or b"")).format == "PNG"
    # It went privately, to the facilitator only.
    assert await world.db.scalar(
        "SELECT count(*) FROM outbox WHERE kind = 'brief' AND status = 'sent' AND chat_id != ?", (FIONA.id,)) == 0

    # Set B's brief (its meeting is at 10:00 the same day) holds Ruud's line, and its pulse is "too few".
    brief_b = await world.expect(FIONA, "Brief for Action learning set B", timeout=15)
    text_b = plain(brief_b)
    assert RUUD_LINE in text_b and PIA_LINE not in text_b and CASE not in text_b
    assert "too few answers to show" in text_b
    assert "Too few members to show counts" in text_b  # four, none of whom shows their activity
    # Set C has no members: no brief at all.
    assert briefs_to(world, FIONA, "Action learning set C") == []

    # The line has gone with the brief: it can no longer be taken back.
    row = await world.db.fetchone("SELECT id FROM reflection WHERE facilitator_line = ?", (PIA_LINE,))
    assert row is not None
    answer = await world.press_answered(PIA, ack.message_id, f"fc:{row[0]}:undo")
    assert answer["text"] == world.render.message("en", "button_brief_gone")
    assert await world.db.scalar("SELECT facilitator_line FROM reflection WHERE id = ?", (row[0],)) == PIA_LINE


async def test_bad_brief_requests_and_forged_presses_get_a_sentence_and_leak_nothing(world: World) -> None:
    await setup(world)
    world.clock.set(local("2027-04-12T10:00"))
    ack = await reflect(world, PIA, "A reflection for the facilitator.")
    await share_line_for_facilitator(world, PIA, ack, PIA_LINE)
    reflection_id = int(data(ack, ":ask").split(":")[1])

    # A facilitator of this programme asks for a set of another programme: it is unknown to her.
    await world.say(FIONA, "/brief groep-1")
    refusal = await world.expect(FIONA, "You have no learning set called")
    assert "Intervisiegroep" not in plain(refusal) and "set-a" in plain(refusal)
    await world.say(FIONA, "/brief lpw-brief/groep-1")
    await world.expect(FIONA, "You have no learning set called", count=2)
    # A set without members.
    await world.say(FIONA, "/brief set-c")
    await world.expect(FIONA, "Action learning set C has no members yet")
    # A participant asking is refused.
    await world.say(PIA, "/brief set-a")
    await world.expect(PIA, world.render.message("en", "not_facilitator")[:30])
    # Ruud forges buttons on Pia's share: a sentence, and her share stays exactly as it was.
    for action in ("undo", "whole", "line", "ask", "cancel"):
        answer = await world.press_answered(RUUD, world.last(RUUD).message_id, f"fc:{reflection_id}:{action}")
        assert answer["text"] == world.render.message("nl", "button_stale")
    assert await world.db.scalar("SELECT facilitator_line FROM reflection WHERE id = ?", (reflection_id,)) == PIA_LINE
    assert all(PIA_LINE not in plain(m) for m in world.fake.sent(RUUD.id))
    ruud = await world.person(RUUD)
    assert ruud is not None and ruud.awaiting is None
    # Nothing of it reached any digest or group.
    assert await world.db.scalar("SELECT count(*) FROM reflection WHERE visibility != 'private'") == 0

    # An admin asks for set A's brief now: it holds the line (no brief has carried it), and seals nothing.
    await world.say(ADMIN, "/brief set-a")
    asked = await world.expect(ADMIN, lambda m: plain(m).startswith("Brief for Action learning set A — as it stands now"))
    assert PIA_LINE in plain(asked)
    assert await world.db.scalar("SELECT facilitator_brief FROM reflection WHERE id = ?", (reflection_id,)) is None
    await world.say(ADMIN, "/brief")
    await world.expect(ADMIN, "Which learning set? Send /brief with one of:")


async def test_what_comes_after_a_reflection_shared_for_the_facilitator_is_a_new_private_one(world: World) -> None:
    await setup(world)
    world.clock.set(local("2027-04-12T10:00"))
    ack = await reflect(world, PIA, "Whole reflection for my facilitator.")
    await world.press(PIA, ack, data(ack, ":ask"))
    offer = await world.expect(PIA, lambda m: any(d.endswith(":whole") for _, d in m.buttons()))
    await world.press(PIA, offer, data(offer, ":whole"))
    await world.expect(PIA, "Your reflection is shared with your facilitator only")
    world.clock.advance(timedelta(minutes=2))
    after = await reflect(world, PIA, "AFTER: written two minutes later, never asked to share.")
    assert data(after, ":ask") != data(ack, ":ask")  # a reflection of its own, with its own choice
    await world.say(ADMIN, "/brief set-a")
    asked = await world.expect(ADMIN, "Brief for Action learning set A")
    assert "Whole reflection for my facilitator." in plain(asked)
    assert "AFTER:" not in plain(asked)
