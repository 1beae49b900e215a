"""A group digest against a faulty Telegram: a malformed answer, a 502 on a later part, a refusal that is
not a removal, text that Telegram measures in UTF-16, and a claim left behind while the bot runs. Each row
ends in a state that says what happened, and nothing is sent twice."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot.domain.digest import DIGEST_PARTS
from bot.sandbox.fakeapi import SentMessage
from bot.store import outbox, programmes
from tests.e2e.world import World, plain
from tests.reliability.sets import plan_digest, set_with_group, share

GROUP = -7_001


def digest_parts(world: World, chat_id: int) -> list[SentMessage]:
    return [m for m in world.fake.sent(chat_id) if m.method == "sendMessage"]


async def group_row(world: World, digest_id: int) -> dict:
    row = await world.db.fetchone(
        "SELECT status, last_error, payload, attempts FROM outbox WHERE dedupe_key = ?",
        (f"digest:{digest_id}:group:{GROUP}",),
    )
    assert row is not None, "the digest was never expanded to the group"
    return dict(row)


async def settled(world: World) -> None:
    await world.scalar_becomes(
        "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending') AND due_at <= ?",
        (outbox.ts(world.clock.now()),), 0, timeout=10,
    )
    await world.settle()


async def test_an_unreadable_answer_from_telegram_ends_the_row_and_a_restart_sends_nothing_twice(world: World) -> None:
    setup = await set_with_group(world, 3, GROUP)
    await share(world, setup.members[0][0], setup.set_id, ["What I learned this week."])
    digest_id = await plan_digest(world, setup.set_id)
    world.fake.mangle_next("sendMessage", True, chat_id=GROUP)  # {"ok": true, "result": true}
    await world.start()
    await settled(world)
    row = await group_row(world, digest_id)
    assert row["status"] in ("sent", "failed"), row
    assert "AttributeError" in (row["last_error"] or "")
    await world.stop()
    await world.start()
    await settled(world)
    assert len(digest_parts(world, GROUP)) == 1


async def test_a_claim_left_behind_is_recovered_while_the_bot_runs(world: World) -> None:
    setup = await set_with_group(world, 2, None)
    (pid, chat) = setup.members[0]
    now = world.clock.now()
    await world.start()
    await world.settle()
    await outbox.plan(world.db, [outbox.Planned("notice", chat, now + timedelta(days=1), "left-behind", person_id=pid,
                                                 payload={"template": "group_lost", "values": {"set_name": "Set A"}})], now)
    # A worker that died without a restart (another process, a lost task) left its claim behind.
    async with world.db.transaction() as conn:
        await conn.execute(
            "UPDATE outbox SET status = 'sending', claimed_at = ?, due_at = ? WHERE dedupe_key = 'left-behind'",
            (outbox.ts(now - timedelta(hours=1)), outbox.ts(now - timedelta(hours=1))),
        )
    world.clock.advance(timedelta(minutes=20))
    await settled(world)
    assert await world.db.scalar("SELECT status FROM outbox WHERE dedupe_key = 'left-behind'") == "sent"
    assert len(world.fake.sent(chat)) == 1


async def test_a_502_on_a_later_part_is_retried_and_the_row_says_sent_only_when_all_parts_went(world: World) -> None:
    setup = await set_with_group(world, 3, GROUP)
    for i, (pid, _) in enumerate(setup.members):
        await share(world, pid, setup.set_id, [f"Reflection {i}: " + "word " * 700])
    digest_id = await plan_digest(world, setup.set_id)
    world.fake.fail_next("sendMessage", chat_id=GROUP, error_code=502, description="Bad Gateway", after=1)
    await world.start()
    await settled(world)
    parts = digest_parts(world, GROUP)
    texts = [plain(m) for m in parts]
    assert len(parts) >= 2
    assert texts[0].startswith("Set A")
    assert len(set(texts)) == len(texts), "a part was sent twice"
    assert all(f"Reflection {i}:" in "\n".join(texts) for i in range(3))
    row = await group_row(world, digest_id)
    assert row["status"] == "sent", row


async def test_a_digest_of_emoji_telegram_counts_in_utf16_reaches_the_group_and_keeps_it_linked(world: World) -> None:
    setup = await set_with_group(world, 3, GROUP)
    # 2,040 characters as Python counts them, 4,080 UTF-16 code units as Telegram does: past 4,096 with the header.
    await share(world, setup.members[0][0], setup.set_id, ["👍" * 2040])
    digest_id = await plan_digest(world, setup.set_id)
    await world.start()
    await settled(world)
    row = await group_row(world, digest_id)
    assert row["status"] == "sent", row
    learning_set = await programmes.get_set_by_id(world.db, setup.set_id)
    assert learning_set is not None and learning_set.group_chat_id == GROUP
    assert world.fake.sent(setup.facilitator_chat) == []
    assert sum(plain(m).count("👍") for m in digest_parts(world, GROUP)) == 2040


async def test_a_refusal_that_is_not_a_removal_keeps_the_group_and_tells_nobody_it_was_removed(world: World) -> None:
    setup = await set_with_group(world, 3, GROUP)
    await share(world, setup.members[0][0], setup.set_id, ["A short one."])
    digest_id = await plan_digest(world, setup.set_id)
    world.fake.fail_next("sendMessage", chat_id=GROUP, error_code=400,
                         description="Bad Request: can't parse entities: Unsupported start tag")
    await world.start()
    await settled(world)
    row = await group_row(world, digest_id)
    assert row["status"] == "failed" and "parse entities" in row["last_error"], row
    learning_set = await programmes.get_set_by_id(world.db, setup.set_id)
    assert learning_set is not None and learning_set.group_chat_id == GROUP
    assert world.fake.sent(setup.facilitator_chat) == []
    assert all(world.fake.sent(chat) == [] for _, chat in setup.members)


async def test_a_group_that_removed_the_bot_gets_its_digest_to_the_members_instead(world: World) -> None:
    setup = await set_with_group(world, 3, GROUP)
    await share(world, setup.members[0][0], setup.set_id, ["A short one."])
    await plan_digest(world, setup.set_id)
    world.fake.fail_next("sendMessage", chat_id=GROUP, error_code=403,
                         description="Forbidden: bot was kicked from the group chat")
    await world.start()
    await settled(world)
    # The members' copies are planned after the group's refusal is recorded: wait for them, then look.
    await world.until(lambda: all(len(world.fake.sent(chat)) >= 1 for _, chat in setup.members))
    await settled(world)
    learning_set = await programmes.get_set_by_id(world.db, setup.set_id)
    assert learning_set is not None and learning_set.group_chat_id is None
    assert all(len(world.fake.sent(chat)) == 1 for _, chat in setup.members)
    assert len(world.fake.sent(setup.facilitator_chat)) == 1


async def test_a_huge_shared_reflection_is_capped_and_what_does_not_fit_waits_for_the_next_digest(world: World) -> None:
    setup = await set_with_group(world, 4, GROUP)
    huge = await share(world, setup.members[0][0], setup.set_id, [f"Message {i} of a long evening." for i in range(1000)],
                       minutes_ago=600)
    for i in range(30):
        await share(world, setup.members[1 + i % 3][0], setup.set_id, [f"Entry {i}: " + "thought " * 250],
                    minutes_ago=500 - i)
    digest_id = await plan_digest(world, setup.set_id)
    await world.start()
    await settled(world)
    parts = digest_parts(world, GROUP)
    assert 1 < len(parts) <= DIGEST_PARTS
    texts = [plain(m) for m in parts]
    waiting = await world.db.scalar(
        "SELECT count(*) FROM reflection WHERE shared_set_id = ? AND digest_id IS NULL", (setup.set_id,)
    )
    carried = await world.db.scalar("SELECT count(*) FROM reflection WHERE digest_id = ?", (digest_id,))
    assert waiting > 0 and carried + waiting == 31
    assert f"{waiting} more shared reflections did not fit" in texts[-1] and "/digest" in texts[-1]
    assert await world.db.scalar("SELECT digest_id FROM reflection WHERE id = ?", (huge,)) == digest_id  # oldest first
    assert "Message 0 of" in texts[0] and "Message 999 of" not in "\n".join(texts)  # the huge one is cut
    assert (await group_row(world, digest_id))["status"] == "sent"


async def test_a_groups_pace_does_not_hold_other_chats_messages(world: World) -> None:
    world.settings = dataclasses.replace(world.settings, rate_per_second=30.0)
    setup = await set_with_group(world, 6, GROUP)
    for i, (pid, _) in enumerate(setup.members[:4]):
        await share(world, pid, setup.set_id, [f"Reflection {i}: " + "word " * 700])
    await plan_digest(world, setup.set_id)
    app = await world.start()
    assert app.services.dispatcher is not None
    app.services.dispatcher.pacer.per_group = 1.0  # Telegram's 3 s between a group's messages, shortened
    await world.until(lambda: len(digest_parts(world, GROUP)) >= 1, timeout=10)
    now = world.clock.now()
    await outbox.plan(world.db, [
        outbox.Planned("notice", chat, now, f"notice:{pid}", person_id=pid,
                       payload={"template": "group_lost", "values": {"set_name": "Set A"}})
        for pid, chat in setup.members
    ], now)
    await settled(world)
    order = [m.chat_id for m in world.fake.sent() if m.method == "sendMessage"]
    last_part = len(order) - 1 - order[::-1].index(GROUP)
    assert order.count(GROUP) == 4
    assert all(order.index(chat) < last_part for _, chat in setup.members), order
