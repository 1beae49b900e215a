"""The real bot against the fake Bot API: /start, /help and strangers."""

from __future__ import annotations

from bot.sandbox.fakeapi import FakeUser
from tests.e2e.test_sharing import PROGRAMME
from tests.e2e.world import World

STRANGER = FakeUser(id=5001, first_name="Sam", language_code="nl")


async def test_a_stranger_gets_the_invitation_sentence_and_nothing_is_stored(world: World) -> None:
    await world.start()
    await world.say(STRANGER, "/start")
    answer = await world.expect(STRANGER, "uitnodiging")
    assert "alleen op uitnodiging" in (answer.text or "")
    await world.say(STRANGER, "hello there, anyone?")
    await world.expect(STRANGER, "uitnodiging", count=2)
    assert await world.db.scalar("SELECT count(*) FROM person") == 0
    assert await world.db.scalar("SELECT count(*) FROM reflection_part") == 0


async def test_commands_are_registered_in_both_languages(world: World) -> None:
    await world.start()
    languages = {language for (_, language) in world.fake.commands}
    assert {"", "nl"} <= languages
    english = next(v for (scope, language), v in world.fake.commands.items() if language == "")
    assert {c["command"] for c in english} >= {"journal", "settings", "pause", "resume", "export", "forget", "help"}


async def test_an_unknown_invite_code_gets_a_sentence_and_stores_nothing(world: World) -> None:
    await world.start()
    await world.say(STRANGER, "/start not-a-real-code")
    await world.expect(STRANGER, "ken ik niet")
    await world.say(STRANGER, "/start " + "x" * 300)
    await world.expect(STRANGER, "ken ik niet", count=2)
    assert await world.db.scalar("SELECT count(*) FROM person") == 0


async def test_a_facilitator_is_not_asked_when_reflection_prompts_may_come(world: World) -> None:
    await world.load(PROGRAMME)
    await world.start()
    femke = FakeUser(id=5002, first_name="Femke", language_code="nl")
    await world.onboard(femke, await world.invite("cpm-sets", role="facilitator"), language="nl")
    texts = [m.text or "" for m in world.fake.sent(femke.id)]
    assert not any("Hoe laat mag ik je" in t or "Op welke dagen" in t for t in texts)
    assert any(d == "ob:ok" for m in world.fake.sent(femke.id) for _, d in m.buttons())
    assert await world.db.scalar("SELECT count(*) FROM outbox WHERE kind = 'prompt'") == 0
