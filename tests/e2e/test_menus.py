"""Command menus: everyone has the participants' menu; each facilitator and admin has their own, set again
at every start and given to an admin the first time they use a facilitator command."""

from __future__ import annotations

from bot.sandbox.fakeapi import FakeUser
from bot.store import people
from tests.e2e.test_stats import PROGRAMME
from tests.e2e.world import World

FIONA = FakeUser(id=6109, first_name="Fiona")
GERT = FakeUser(id=6110, first_name="Gert")
ANNA = FakeUser(id=6101, first_name="Anna")
ADMIN = FakeUser(id=9000, first_name="Ada", language_code="nl")  # in PITSTOP_ADMINS of the test settings


def menus_of(world: World, user: FakeUser) -> set[str]:
    """Gives the languages of the menus set for one user's chat ('' is the default)."""
    return {language for (scope, language) in world.fake.commands if f'"chat_id": {user.id}' in scope}


async def test_every_facilitator_and_known_admin_gets_their_menu_at_start(world: World) -> None:
    programme_id = await world.load(PROGRAMME)
    now = world.clock.now()
    for user, role in ((FIONA, "facilitator"), (GERT, "facilitator"), (ANNA, "participant")):
        await people.grant(world.db, user.id, programme_id, role, user.first_name, "en", "Europe/Amsterdam", now)
    gert = await people.get_person_by_telegram(world.db, GERT.id)
    assert gert is not None
    await people.update_person(world.db, gert.id, now, status="blocked")
    await people.create_admin(world.db, ADMIN.id, ADMIN.id, "Ada", "nl", "Europe/Amsterdam", now)

    await world.start()

    await world.until(lambda: menus_of(world, FIONA) == {"", "nl"} and menus_of(world, ADMIN) == {"", "nl"})
    assert menus_of(world, ANNA) == set() and menus_of(world, GERT) == set()
    default = [commands for (scope, _), commands in world.fake.commands.items() if "default" in scope]
    assert len(default) == 2 and all("broadcast" not in str(c) for c in default)


async def test_an_admin_without_an_invite_gets_a_record_and_the_menu_on_their_first_facilitator_command(
    world: World,
) -> None:
    await world.load(PROGRAMME)
    await world.start()

    await world.say(ADMIN, "/reminders")

    await world.expect(ADMIN, "Certified Public Manager")
    admin = await world.person(ADMIN)
    assert admin is not None and admin.status == "active" and admin.language == "nl"
    assert menus_of(world, ADMIN) == {"", "nl"}
    facilitator_menu = next(c for (scope, _), c in world.fake.commands.items() if str(ADMIN.id) in scope)
    assert {c["command"] for c in facilitator_menu} >= {"broadcast", "stats", "reminders", "journal"}
