"""Strange input never breaks Pitstop: every sticker, file, edit, odd text, junk command and forged
button gets a plain answer in the person's language, nothing is logged as a failure, the bot keeps
running, a forged button changes no stored data, and nothing from a group chat is stored."""

from __future__ import annotations

import asyncio
import itertools
import logging
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jinja2 import meta

from bot.sandbox.fakeapi import FakeChat, FakeUser, SentMessage
from bot.store import outbox
from tests.e2e.world import World, local
from tests.factories import event, learning_set, meeting, module, programme

PROGRAMME = programme(
    key="bad-input",
    modules=[module("m2", "The Person", capacities=["relational"], events=[
        event("residential", "2027-05-10", "2027-05-14", place="Manchester"),
    ])],
    sets=[learning_set("set-a", "Set A", [meeting("2027-04-06T14:00:00", place="Utrecht")])],
)

# Nina's Telegram app is in English but she chose Dutch in the bot: every answer must be Dutch.
NINA = FakeUser(id=3001, first_name="Nina", language_code="en")
OMAR = FakeUser(id=3002, first_name="Omar", language_code="en")
LEO = FakeUser(id=3003, first_name="Leo", language_code="nl")  # stops at the first onboarding step
STRANGER = FakeUser(id=3999, first_name="Sam", language_code="nl")  # no invite; Telegram in Dutch
GROUP = FakeChat(id=-4001, type="group", title="Set A")

ODD_TEXTS = [
    "مرحبا، هذا تأمل قصير \u200fשלום\u200f",  # Arabic and Hebrew with right-to-left marks
    "\u202egnitirw sdrawkcab\u202c and back",  # a right-to-left override
    "👩\u200d👩\u200d👧\u200d👦 family, 🏳️\u200d🌈 flag, 👋🏽 wave, 🇳🇱",  # zero-width joiners, modifiers, flags
    "e\u0301e\u0301n ke\u0301er, zero\u200bwidth\u200cnon\u200djoiner\ufeff",  # combining accents, ZW chars
    "<b>not bold</b> & <i>unclosed",
    "&amp; &lt;b&gt; &#x1F600; &nbsp;",
    '<a href="javascript:alert(1)">x</a><script>alert(1)</script>',
    "{{ name }} {% if x %}jinja{% endif %} %s %(name)s {0}",
    "Robert'); DROP TABLE reflection;--",
    "\x00\x01\x07 control characters \x1b[31m",
]
LONG_TEXT = ("Vandaag merkte ik dat ik in overleg te snel invul wat de ander bedoelt. " * 60)[:4096]

SNAPSHOT = {
    "person": "SELECT * FROM person ORDER BY id",
    "membership": "SELECT * FROM membership ORDER BY id",
    "invite": "SELECT id, uses FROM invite ORDER BY id",
    "reflection": "SELECT * FROM reflection ORDER BY id",
    "reflection_part": "SELECT * FROM reflection_part ORDER BY id",
    "learning_set": "SELECT id, group_chat_id, active FROM learning_set ORDER BY id",
    "case_proposal": "SELECT * FROM case_proposal ORDER BY id",
    "programme": "SELECT * FROM programme ORDER BY id",
    "broadcast": "SELECT * FROM broadcast ORDER BY id",
    "outbox": "SELECT id, kind, person_id, chat_id, due_at, status, response, dedupe_key FROM outbox ORDER BY id",
}


@dataclass
class Scene:
    """The running bot with two active participants who got a prompt, one half-onboarded, a stranger."""

    nina_prompt: SentMessage
    nina_row_id: int
    omar_row_id: int
    omar_reflection_id: int
    leo_step: SentMessage
    stranger_note: SentMessage


async def snapshot(world: World) -> dict[str, list[tuple]]:
    """Gives the stored rows a forged press must not change."""
    return {
        name: [tuple(r) for r in await world.db.fetchall(sql)] for name, sql in SNAPSHOT.items()
    }


def changes(
    before: dict[str, list[tuple]], after: dict[str, list[tuple]]
) -> dict[str, dict[str, list]]:
    """Gives the rows that disappeared or appeared, per table, for a readable failure."""
    found = {}
    for table, rows in before.items():
        gone = [r for r in rows if r not in after[table]]
        new = [r for r in after[table] if r not in rows]
        if gone or new:
            found[table] = {"gone": gone, "new": new}
    return found


async def set_the_scene(world: World) -> Scene:
    """Starts the bot once per world: Nina (Dutch) and Omar get Thursday's prompt; Leo and a stranger wait."""
    existing = getattr(world, "bad_input_scene", None)
    if existing is not None:
        return existing
    world.render.library = [p for p in world.render.library if not p.intention]
    await world.load(PROGRAMME)
    await world.start()
    await world.onboard(NINA, await world.invite("bad-input", "set-a"), language="nl")
    await world.onboard(OMAR, await world.invite("bad-input", "set-a"))
    await world.say(LEO, f"/start {await world.invite('bad-input', 'set-a')}")
    leo_step = await world.expect(LEO, lambda m: any(d == "ob:lang:nl" for _, d in m.buttons()))
    (stranger_note,) = await answers_to(world, STRANGER, lambda: world.say(STRANGER, "hallo"))

    world.clock.set(local("2027-03-25T09:00"))  # Thursday: the first prompt for both
    def is_prompt(m: SentMessage) -> bool:
        return any(d.startswith("pr:skip:") for _, d in m.buttons())

    nina_prompt = await world.expect(NINA, is_prompt)
    omar_prompt = await world.expect(OMAR, is_prompt)
    nina_row = await world.row_of(NINA, nina_prompt)
    omar_row = await world.row_of(OMAR, omar_prompt)
    reflection = "I listened longer before answering today."
    await answers_to(
        world, OMAR, lambda: world.say(OMAR, reflection, reply_to=omar_prompt.message_id)
    )
    omar_reflection_id = await world.db.scalar(
        "SELECT id FROM reflection WHERE outbox_id = ?", (omar_row.id,)
    )
    await catch_up(world)
    scene = Scene(
        nina_prompt, nina_row.id, omar_row.id, omar_reflection_id, leo_step, stranger_note
    )
    world.bad_input_scene = scene  # type: ignore[attr-defined]
    return scene


async def catch_up(world: World) -> None:
    """Lets the planner catch up with the clock and the dispatcher send what is due, so the store holds still.

    The planner also runs on its own every few tenths of a second in tests; after the clock jumped,
    its next run would add the week's new prompts in the middle of a before/after comparison.
    """
    assert world.app is not None and world.app.services.dispatcher is not None
    await world.app.services.dispatcher.plan()
    now = world.clock.now().isoformat(timespec="microseconds")
    due = "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending') AND due_at <= ?"
    deadline = asyncio.get_running_loop().time() + 5.0
    while await world.db.scalar(due, (now,)):
        assert asyncio.get_running_loop().time() < deadline, (
            "the dispatcher did not send what was due"
        )
        await asyncio.sleep(0.01)
    await world.settle()


def failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Gives every error the bot or python-telegram-bot logged."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith(("bot", "telegram"))
    ]


async def answers_to(
    world: World, user: FakeUser, act: Callable[[], Awaitable[object]]
) -> list[SentMessage]:
    """Does something as a user and gives the bot's new messages to that user's chat (at least one)."""
    before = len(world.fake.sent(user.id))
    await act()
    await world.fake.wait_for(user.id, count=before + 1)
    await world.settle()  # and anything that follows the first answer
    return world.fake.sent(user.id)[before:]


async def say_and_wait(world: World, user: FakeUser, text: str) -> dict:
    """Sends a text and waits for the bot's answer; gives the message the user sent."""
    before = len(world.fake.sent(user.id))
    message = await world.say(user, text)
    await world.fake.wait_for(user.id, count=before + 1)
    await world.settle()
    return message


async def button_answer(world: World, user: FakeUser, message: SentMessage, data: str) -> dict:
    """Presses a (possibly forged) button and gives the one callback answer the bot made."""
    query_id = await world.fake.press(user, message.message_id, data, strict=False)
    deadline = asyncio.get_running_loop().time() + 5.0
    while not any(a["callback_query_id"] == query_id for a in world.fake.callback_answers):
        assert asyncio.get_running_loop().time() < deadline, (
            f"the press {data!r} was never answered"
        )
        await asyncio.sleep(0.005)
    await world.settle()
    found = [a for a in world.fake.callback_answers if a["callback_query_id"] == query_id]
    assert len(found) == 1, f"press {data!r} got {len(found)} callback answers"
    return found[0]


def texts(world: World, language: str, *templates: str, **values: object) -> set[str]:
    """Gives every text the templates can render in a language with these values.

    Flags the test does not give (a template may grow one, like `can_share`) are tried both ways,
    so that the check stays about the language and the kind of answer, not about every detail.
    """
    env = world.render.env
    found = set()
    for template in templates:
        name = f"{language}/{template}.j2"
        source = env.loader.get_source(env, name)[0]  # type: ignore[union-attr]
        flags = sorted(meta.find_undeclared_variables(env.parse(source)) - set(values) - {"lang"})
        for choice in itertools.product((False, True), repeat=len(flags)):
            found.add(
                world.render.message(language, template, **values, **dict(zip(flags, choice)))
            )
    return found


async def still_alive(world: World, user: FakeUser, language: str) -> None:
    """A plain /help is still answered, in the person's language."""
    got = await answers_to(world, user, lambda: world.say(user, "/help"))
    assert len(got) == 1 and got[0].text in texts(world, language, "help", facilitator=False)


# --------------------------------------------------------------------------- messages


async def test_every_kind_of_message_from_a_participant_gets_a_dutch_answer(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await set_the_scene(world)
    kept = texts(world, "nl", "kept_new", "kept_more", intention=False)
    unsupported = texts(world, "nl", "unsupported")
    not_facilitator = texts(world, "nl", "not_facilitator")
    help_message = await say_and_wait(world, NINA, "/help")

    cases: list[tuple[str, Callable[[], Awaitable[object]], set[str]]] = [
        ("long text", lambda: world.say(NINA, LONG_TEXT), kept),
        *[(f"odd text {i}", lambda t=t: world.say(NINA, t), kept) for i, t in enumerate(ODD_TEXTS)],
        ("sticker", lambda: world.fake.send_sticker(NINA), unsupported),
        ("location", lambda: world.fake.send_location(NINA), unsupported),
        (
            "document",
            lambda: world.fake.send_document(NINA, filename="notes.pdf", data=b"%PDF-1.4"),
            unsupported,
        ),
        ("contact", lambda: world.fake.send_contact(NINA), unsupported),
        (
            "voice",
            lambda: world.fake.send_voice(NINA),
            texts(world, "nl", "kept_voice", intention=False),
        ),
        (
            "photo",
            lambda: world.fake.send_photo(NINA),
            texts(world, "nl", "kept_photo", intention=False),
        ),
        (
            "edit of a command",
            lambda: world.fake.edit_text(NINA, help_message, "hallo"),
            texts(world, "nl", "edit_not_kept"),
        ),
        (
            "/pause 31-02-2027",
            lambda: world.say(NINA, "/pause 31-02-2027"),
            texts(world, "nl", "pause_bad_date", typed="31-02-2027"),
        ),
        (
            "/pause until forever",
            lambda: world.say(NINA, "/pause until forever"),
            texts(world, "nl", "pause_bad_date", typed="until forever"),
        ),
        (
            "/pause <b>",
            lambda: world.say(NINA, "/pause <b>&amp;"),
            texts(world, "nl", "pause_bad_date", typed="<b>&amp;"),
        ),
        (
            "/resume junk",
            lambda: world.say(NINA, "/resume " + "x" * 300),
            texts(world, "nl", "not_paused"),
        ),
        ("/whatever", lambda: world.say(NINA, "/whatever"), texts(world, "nl", "unknown_command")),
        ("/broadcast", lambda: world.say(NINA, "/broadcast hallo allemaal"), not_facilitator),
        ("/stats", lambda: world.say(NINA, "/stats xyz"), not_facilitator),
        ("/reminders", lambda: world.say(NINA, "/reminders mute 1"), not_facilitator),
        (
            "/whatever@bot",
            lambda: world.say(NINA, "/whatever@pitstop_test_bot junk"),
            texts(world, "nl", "unknown_command"),
        ),
    ]
    for name, act, expected in cases:
        got = await answers_to(world, NINA, act)
        assert len(got) == 1, f"{name}: {got}"
        assert got[0].text in expected, f"{name}: answered {got[0].text!r}"

    # A junk invite code is refused and changes nothing .
    before = await snapshot(world)
    got = await answers_to(world, NINA, lambda: world.say(NINA, "/start " + "x" * 500))
    assert [
        m.text in texts(world, "nl", "invite_unknown") | texts(world, "en", "invite_unknown")
        for m in got
    ] == [True]
    assert changes(before, await snapshot(world)) == {}

    journal = await answers_to(world, NINA, lambda: world.say(NINA, "/journal xyz"))
    assert len(journal) == 1 and "Je dagboek" in journal[0].message["text"]

    # Every odd text is kept exactly as typed: nothing escaped, trimmed or lost on the way in.
    stored = "\n".join(
        r[0] for r in await world.db.fetchall("SELECT text FROM reflection_part ORDER BY id")
    )
    for typed in [LONG_TEXT, *ODD_TEXTS]:
        assert typed in stored
    # A new reflection that looks like HTML shows in the journal as text, not as markup.
    world.clock.advance(timedelta(minutes=30))
    await answers_to(world, NINA, lambda: world.say(NINA, "<b>vet?</b> &amp; <i>open"))
    journal = await answers_to(world, NINA, lambda: world.say(NINA, "/journal"))
    assert "<b>vet?</b> &amp; <i>open" in journal[0].message["text"]

    await still_alive(world, NINA, "nl")
    assert failures(caplog) == []
    assert world.fake.internal_errors == []


async def test_every_kind_of_message_from_a_stranger_gets_the_invite_only_answer_and_nothing_is_stored(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await set_the_scene(world)
    not_invited = texts(world, "nl", "not_invited")
    earlier = await say_and_wait(world, STRANGER, "dag")
    before = await snapshot(world)

    cases: list[tuple[str, Callable[[], Awaitable[object]], set[str]]] = [
        ("long text", lambda: world.say(STRANGER, LONG_TEXT), not_invited),
        *[
            (f"odd text {i}", lambda t=t: world.say(STRANGER, t), not_invited)
            for i, t in enumerate(ODD_TEXTS)
        ],
        ("sticker", lambda: world.fake.send_sticker(STRANGER), not_invited),
        ("location", lambda: world.fake.send_location(STRANGER), not_invited),
        ("document", lambda: world.fake.send_document(STRANGER), not_invited),
        ("contact", lambda: world.fake.send_contact(STRANGER), not_invited),
        ("voice", lambda: world.fake.send_voice(STRANGER), not_invited),
        ("photo", lambda: world.fake.send_photo(STRANGER, caption="mijn foto"), not_invited),
        ("edit", lambda: world.fake.edit_text(STRANGER, earlier, "gewijzigd"), not_invited),
        ("/start", lambda: world.say(STRANGER, "/start"), not_invited),
        (
            "/start with a 500-character code",
            lambda: world.say(STRANGER, "/start " + "A" * 500),
            texts(world, "nl", "invite_unknown"),
        ),
        (
            "/start with a made-up code",
            lambda: world.say(STRANGER, "/start nope-123"),
            texts(world, "nl", "invite_unknown"),
        ),
        ("/help", lambda: world.say(STRANGER, "/help"), not_invited),
        ("/pause 31-02-2027", lambda: world.say(STRANGER, "/pause 31-02-2027"), not_invited),
        ("/journal xyz", lambda: world.say(STRANGER, "/journal xyz"), not_invited),
        ("/forget", lambda: world.say(STRANGER, "/forget"), not_invited),
        ("/export", lambda: world.say(STRANGER, "/export"), not_invited),
        ("/whatever", lambda: world.say(STRANGER, "/whatever"), not_invited),
        ("/broadcast", lambda: world.say(STRANGER, "/broadcast hallo"), not_invited),
        ("/stats", lambda: world.say(STRANGER, "/stats"), not_invited),
        ("/reminders", lambda: world.say(STRANGER, "/reminders"), not_invited),
    ]
    for name, act, expected in cases:
        got = await answers_to(world, STRANGER, act)
        assert len(got) == 1, f"{name}: {got}"
        assert got[0].text in expected, f"{name}: answered {got[0].text!r}"

    assert changes(before, await snapshot(world)) == {}
    assert await world.person(STRANGER) is None
    assert failures(caplog) == []
    assert world.fake.internal_errors == []


async def test_a_junk_invite_code_from_a_participant_is_refused_in_their_chosen_language(
    world: World,
) -> None:
    await set_the_scene(world)

    got = await answers_to(world, NINA, lambda: world.say(NINA, "/start " + "x" * 500))

    assert len(got) == 1 and got[0].text in texts(world, "nl", "invite_unknown")


# --------------------------------------------------------------------------- forged buttons


async def test_forged_buttons_get_a_stale_answer_and_change_nothing(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    scene = await set_the_scene(world)
    # 64 bytes of junk: every control character, then é.
    junk = "".join(chr(c) for c in range(1, 33)) + "\u00e9" * 16
    assert len(junk.encode()) == 64
    forged = {
        NINA: (
            scene.nina_prompt,
            "nl",
            [
                "pr:later:999999",
                f"pr:skip:{scene.omar_row_id}",  # Omar's prompt
                f"pr:later:{scene.omar_row_id}",
                f"pr:snooze:{scene.nina_row_id}",
                "pr:skip:-1",
                "pr:skip:99999999999999999999",
                "pr",
                "ob:lang:de",
                "ob:lang:en",  # a real onboarding button, but she finished onboarding
                "ob:tz:Mars/Olympus",
                "ob:hour:9",
                "ob:day:3",
                "ob:days:ok",
                "ob:ok",
                "st:nonsense",
                f"sh:{scene.omar_reflection_id}:shared",  # Omar's reflection
                f"sh:{scene.omar_reflection_id}:takeaway",
                f"sh:{scene.omar_reflection_id}:private",
                f"sh:{scene.omar_reflection_id}:cancel",
                "sh:999999:shared",
                "sh::shared",
                "sh:-1:shared",
                f"cs:yes:{scene.omar_row_id}",
                f"cs:yes:{scene.nina_row_id}",  # her own prompt, but not a case round
                "cs:no:999999",
                "cs:maybe:1",
                "cs:stop:1",  # no case question is open for her
                "cf:1:yes",  # a draft that is not hers (or none at all)
                "cf:1:maybe",
                "cf:abc:no",
                "cf:99999999999999:yes",
                "cf",
                "bc:aud:p:1",  # facilitator buttons: she leads no programme
                "bc:aud:s:1",
                "bc:aud:f:1",
                "bc:aud:x:1",
                "bc:send:1",
                "bc:when:1",
                "bc:cancel:1",
                "rm:mute:1",
                "rm:unmute:1",
                "rm:mute:999999",
                "jr:-1",
                "jr:abc",
                "jr:1e9",
                "jr:9999999",
                "fg:maybe",
                "fg:",
                "zz:1",
                "",
                ":",
                ":::::",
                junk,
                "0" * 64,
                "jr:" + "1" * 200,  # longer than Telegram allows
            ],
        ),
        LEO: (
            scene.leo_step,
            "nl",
            [
                "ob:lang:de",
                "ob:lang:",
                "ob:tz:Europe/Amsterdam",
                "ob:hour:99",
                "ob:day:9",
                "ob:days:ok",
                "ob:ok",
                "st:timezone",
                f"pr:skip:{scene.omar_row_id}",
                f"sh:{scene.omar_reflection_id}:shared",
                "fg:maybe",
                "zz:1",
                "",
                junk,
            ],
        ),
        STRANGER: (
            scene.stranger_note,
            "nl",
            [
                f"pr:skip:{scene.nina_row_id}",
                "pr:later:1",
                f"sh:{scene.omar_reflection_id}:shared",
                "cs:yes:1",
                "ob:lang:nl",
                "st:activity",
                "jr:0",
                "fg:yes",
                "zz:1",
                "",
                junk,
            ],
        ),
    }
    for user, (message, language, presses) in forged.items():
        stale = texts(world, language, "button_stale")
        for data in presses:
            before = await snapshot(world)
            sent_before = len(world.fake.sent(user.id))
            answer = await button_answer(world, user, message, data)
            assert answer["text"] in stale, f"{user.first_name} pressing {data!r}: {answer}"
            assert changes(before, await snapshot(world)) == {}, (
                f"{user.first_name} pressing {data!r} changed stored data"
            )
            assert len(world.fake.sent(user.id)) == sent_before, (
                f"{user.first_name} pressing {data!r} sent a message"
            )

    assert (await outbox.get(world.db, scene.omar_row_id)).response == "answered"  # as Omar left it
    await still_alive(world, NINA, "nl")
    assert failures(caplog) == []
    assert world.fake.internal_errors == []


@pytest.mark.parametrize(
    "data",
    ["jr:²", "pr:skip:²", "pr:later:①", "sh:²:shared", "cs:yes:³", "bc:aud:p:²", "rm:mute:²"],
)
async def test_a_button_with_a_superscript_digit_gets_a_stale_answer(
    world: World, caplog: pytest.LogCaptureFixture, data: str
) -> None:
    scene = await set_the_scene(world)
    before = await snapshot(world)

    answer = await button_answer(world, NINA, scene.nina_prompt, data)

    assert failures(caplog) == []
    assert answer["text"] in texts(world, "nl", "button_stale")
    assert changes(before, await snapshot(world)) == {}


# --------------------------------------------------------------------------- group chats


async def test_nothing_from_a_group_chat_is_stored(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await set_the_scene(world)
    code = await world.invite("bad-input", "set-a")
    before = await snapshot(world)

    for user in (NINA, STRANGER):
        await world.fake.add_bot_to_group(user, GROUP)
        message = await world.fake.send_text(user, "Een reflectie in de groep", chat=GROUP)
        await world.fake.edit_text(user, message, "gewijzigd in de groep")
        await world.fake.send_text(user, LONG_TEXT, chat=GROUP)
        for text in ODD_TEXTS:
            await world.fake.send_text(user, text, chat=GROUP)
        for command in (
            f"/start {code}",
            f"/start@pitstop_test_bot {code}",
            "/start " + "A" * 500,
            "/pause",
            "/pause 31-02-2027",
            "/journal xyz",
            "/forget",
            "/export",
            "/whatever",
            "/help",
            "/link",
            "/link set-a",
            "/link bad-input/set-a",
            "/link " + "x" * 500,
            "/digest",
            "/stats",
            "/broadcast hallo groep",
            "/reminders",
        ):
            await world.fake.send_text(user, command, chat=GROUP)
        await world.fake.send_sticker(user, GROUP)
        await world.fake.send_location(user, GROUP)
        await world.fake.send_document(user, GROUP)
        await world.fake.send_contact(user, GROUP)
        await world.fake.send_voice(user, GROUP)
        await world.fake.send_photo(user, GROUP, caption="groepsfoto")
    # Updates are taken one at a time, in order: once this is answered, every group message was seen.
    await still_alive(world, NINA, "nl")

    assert changes(before, await snapshot(world)) == {}
    assert await world.person(STRANGER) is None
    assert failures(caplog) == []
    assert world.fake.internal_errors == []


# --------------------------------------------------------------------------- anything at all

COMMANDS = {  # a command with any argument, and what it answers (Dutch templates or a check)
    "whatever": "unknown_command",
    "journal": "journal",
    "resume": "not_paused",
    "help": "help",
    "stats": "not_facilitator",
    "broadcast": "not_facilitator",
}
BUTTON_PREFIXES = [
    "",
    "pr:",
    "pr:later:",
    "pr:skip:",
    "ob:",
    "ob:lang:",
    "ob:hour:",
    "st:",
    "jr:",
    "fg:",
    "sh:",
    "sh:1:",
    "cs:",
    "cs:yes:",
    "bc:",
    "bc:aud:p:",
    "rm:mute:",
    "zz:",
]


def _own_button(data: str, scene: Scene, reflection_ids: set[int]) -> bool:
    """True for data of a button Nina really has, whose press is allowed to change things."""
    if data.startswith("jr:") and data[3:].isdecimal() and len(data[3:]) <= 6:
        return True
    parts = data.split(":")
    if (
        parts[0] == "sh"
        and len(parts) > 1
        and parts[1].isdecimal()
        and int(parts[1]) in reflection_ids
    ):
        return True
    return data in {
        "st:language",
        "st:timezone",
        "st:hour",
        "st:days",
        "st:activity",
        "fg:yes",
        "fg:no",
        f"pr:later:{scene.nina_row_id}",
        f"pr:skip:{scene.nina_row_id}",
    }


def _known_digit_bug(data: str) -> bool:
    """Characters str.isdigit() accepts but int() refuses: the bug test_a_button_with_a_superscript_digit… shows."""
    return any(c.isdigit() and not c.isdecimal() for c in data)


plain_texts = st.text(min_size=1, max_size=400).filter(
    lambda t: t.strip() and not t.startswith("/")
)
commands = st.builds(
    lambda name, rest: f"/{name} {rest}", st.sampled_from(sorted(COMMANDS)), st.text(max_size=80)
)
button_data = st.text(max_size=64) | st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(BUTTON_PREFIXES),
    st.text(alphabet=string.printable + "é-", max_size=20),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(typed=plain_texts | commands, data=button_data)
async def test_any_text_and_any_button_data_get_a_plain_answer(
    world: World, caplog: pytest.LogCaptureFixture, typed: str, data: str
) -> None:
    scene = await set_the_scene(world)
    nina_id = (await world.person(NINA)).id
    reflection_ids = {
        r[0]
        for r in await world.db.fetchall(
            "SELECT id FROM reflection WHERE person_id = ?", (nina_id,)
        )
    }
    assume(not _own_button(data, scene, reflection_ids) and not _known_digit_bug(data))

    got = await answers_to(world, NINA, lambda: world.say(NINA, typed))
    assert len(got) == 1, got
    if typed.startswith("/"):
        expected = COMMANDS[typed[1:].split(" ", 1)[0]]
        if expected == "journal":
            assert "Je dagboek" in got[0].message["text"]
        else:
            assert got[0].text in texts(world, "nl", expected, facilitator=False)
    else:
        assert got[0].text in texts(world, "nl", "kept_new", "kept_more", intention=False)

    stranger_got = await answers_to(world, STRANGER, lambda: world.say(STRANGER, typed))
    assert len(stranger_got) == 1 and stranger_got[0].text in texts(world, "nl", "not_invited")

    for user, message in ((NINA, scene.nina_prompt), (STRANGER, scene.stranger_note)):
        before = await snapshot(world)
        answer = await button_answer(world, user, message, data)
        assert answer["text"] in texts(world, "nl", "button_stale"), (user.first_name, data)
        assert changes(before, await snapshot(world)) == {}, (
            f"{user.first_name} pressing {data!r} changed stored data"
        )

    assert failures(caplog) == []
    assert world.fake.internal_errors == []
