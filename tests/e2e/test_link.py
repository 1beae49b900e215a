"""/link in a group: the list of sets, moving a group between sets of a programme (said aloud, and
the set that lost it is told), and a group held by another programme's set, which is refused."""

from __future__ import annotations

from bot.sandbox.fakeapi import FakeChat, FakeUser
from bot.store import programmes
from tests.e2e.world import World, local
from tests.factories import learning_set, programme

PROGRAMME_A = programme(
    key="prog-a", title="Programme A", sets=[learning_set("set-a", "Set A"), learning_set("set-c", "Set C")]
)
# Programme B has a set "set-a" of its own.
PROGRAMME_B = programme(
    key="prog-b", title="Programme B", sets=[learning_set("set-b", "Set B"), learning_set("set-a", "B's own set A")]
)

FIONA = FakeUser(id=7001, first_name="Fiona")  # leads programme A
HANNA = FakeUser(id=7003, first_name="Hanna")  # leads programme A too
GERT = FakeUser(id=7002, first_name="Gert", language_code="nl")  # leads programme B
GROUP = FakeChat(id=-7100, type="group", title="B's group")


async def setup(world: World) -> None:
    await world.load(PROGRAMME_A)
    await world.load(PROGRAMME_B)
    await world.start()
    world.clock.set(local("2027-03-24T10:00"))
    await world.onboard(FIONA, await world.invite("prog-a", role="facilitator"))
    await world.onboard(GERT, await world.invite("prog-b", role="facilitator"), language="nl")
    await world.onboard(HANNA, await world.invite("prog-a", role="facilitator"))


async def group_of(world: World, programme: str, set_key: str) -> int | None:
    found = await programmes.get_set(world.db, world.programme_ids[programme], set_key)
    assert found is not None
    return found.group_chat_id


async def test_link_alone_lists_plain_keys_unless_a_key_is_used_twice(world: World) -> None:
    await setup(world)
    await world.fake.add_bot_to_group(FIONA, GROUP)
    await world.fake.send_text(FIONA, "/link", chat=GROUP)
    listing = await world.expect(GROUP.id, "Which learning set is this group for?")
    assert listing.text.endswith("set-a, set-c")
    await world.fake.send_text(GERT, "/link", chat=GROUP)
    listing = await world.expect(GROUP.id, "Voor welke leergroep is deze groep?")
    assert listing.text.endswith("set-a, set-b")
    admin = FakeUser(id=9000, first_name="Ada")
    await world.fake.send_text(admin, "/link", chat=GROUP)
    listing = await world.expect(GROUP.id, "Which learning set is this group for?", count=2)
    assert listing.text.endswith("prog-a/set-a, set-c, prog-b/set-a, set-b")


async def test_a_facilitator_of_another_programme_cannot_take_over_a_linked_group(world: World) -> None:
    await setup(world)
    await world.fake.add_bot_to_group(GERT, GROUP)
    await world.fake.send_text(GERT, "/link set-b", chat=GROUP)
    await world.expect(GROUP.id, "gekoppeld aan <b>Set B</b>")
    await world.fake.send_text(FIONA, "/link set-a", chat=GROUP)
    refusal = await world.expect(GROUP.id, "already linked to <b>Set B</b> of another programme")
    assert "Programme B" in refusal.text
    assert await group_of(world, "prog-b", "set-b") == GROUP.id
    assert await group_of(world, "prog-a", "set-a") is None


async def test_moving_a_group_to_another_set_says_so_and_tells_the_facilitators(world: World) -> None:
    await setup(world)
    await world.fake.add_bot_to_group(FIONA, GROUP)
    await world.fake.send_text(FIONA, "/link set-a", chat=GROUP)
    await world.expect(GROUP.id, "now linked to <b>Set A</b>")
    await world.fake.send_text(FIONA, "/link set-c", chat=GROUP)
    moved = await world.expect(GROUP.id, "now linked to <b>Set C</b>")
    assert "no longer linked to <b>Set A</b>" in moved.text
    notice = await world.expect(HANNA, "The Telegram group of <b>Set A</b> is now linked to <b>Set C</b> (by Fiona)")
    assert "privately" in notice.text
    assert await group_of(world, "prog-a", "set-a") is None
    assert await group_of(world, "prog-a", "set-c") == GROUP.id
    # Linking the same set again changes nothing and tells nobody.
    await world.fake.send_text(FIONA, "/link set-c", chat=GROUP)
    again = await world.expect(GROUP.id, "now linked to <b>Set C</b>", count=2)
    assert "no longer linked" not in again.text
    await world.settle()
    assert sum("is now linked to" in (m.text or "") for m in world.fake.sent(HANNA.id)) == 1
    assert not any("is now linked to" in (m.text or "") for m in world.fake.sent(FIONA.id))  # she did it herself


async def test_linking_a_set_to_a_new_group_tells_the_old_group(world: World) -> None:
    await setup(world)
    other = FakeChat(id=-7200, type="group", title="A's new group")
    await world.fake.add_bot_to_group(FIONA, GROUP)
    await world.fake.send_text(FIONA, "/link set-a", chat=GROUP)
    await world.expect(GROUP.id, "now linked to <b>Set A</b>")
    await world.fake.add_bot_to_group(FIONA, other)
    await world.fake.send_text(FIONA, "/link set-a", chat=other)
    await world.expect(other.id, "now linked to <b>Set A</b>")
    await world.expect(GROUP.id, "This group is no longer linked to <b>Set A</b>")
    assert await group_of(world, "prog-a", "set-a") == other.id
