"""digest_pace: how long a broadcast to other chats waits behind one large group digest.

The real Application (bot.runtime.launch) at Telegram's pace (30 messages a second, one message per
3 s to a group) against bot.sandbox.fakeapi on loopback, with its flood control on. One member of a set with a
linked group shared a reflection of 10 long messages (about 40,000 characters); its digest falls due.
As soon as the group has the digest's first part, a facilitator's broadcast to 200 other participants
is launched. A second run has four members each share one long reflection. Figures: from the launch to
the first and to the last copy of the broadcast, and how many parts the group got and over how long.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import date
from pathlib import Path
from typing import Any

from bench.common import aim, figure, header, scratch
from bot.loop import run_loop  # the loop `pitstop run` runs on
from bot.sandbox.fakeapi import FakeTelegram

NAME = "digest_pace"
RECIPIENTS = 200
GROUP = -9_000_001
FIRST_CHAT = 20_000_000
FACILITATOR = 19_999_999
PARTS = 10  # messages merged into the shared reflection
PROGRAMME = """
[programme]
key = "pace"
title = "Pace Programme"
language = "en"
timezone = "Europe/Amsterdam"

[[modules]]
key = "m1"
title = "The Person"
theme = "Working under pressure"
capacities = ["relational"]
starts = {starts}
ends = {ends}

[[sets]]
key = "set-a"
name = "Set A"
"""


async def seed(db: Any, now: Any, authors: int, messages: int) -> tuple[int, int, int]:
    """Stores the programme, the set with its group, the members and the facilitator; gives
    (programme id, set id, facilitator id)."""
    from bot.domain.programme import parse_programme
    from bot.store import programmes, sharing

    start = date(now.year, 1, 1)
    source = PROGRAMME.format(starts=start.isoformat(), ends=date(now.year + 1, 12, 31).isoformat())
    saved = await programmes.save_programme(db, parse_programme(source), source, now)
    learning_set = await programmes.get_set(db, saved.programme_id, "set-a")
    assert learning_set is not None
    stamp = now.isoformat()
    async with db.transaction() as conn:
        for i in range(RECIPIENTS + authors):
            chat = FIRST_CHAT + i
            cur = await conn.execute(
                "INSERT INTO person (telegram_id, chat_id, name, status, nudge_days, created_at, updated_at)"
                " VALUES (?,?,?,'active','',?,?)",
                (chat, chat, f"P{i}", stamp, stamp),
            )
            await conn.execute(
                "INSERT INTO membership (person_id, programme_id, learning_set_id, role, joined_at)"
                " VALUES (?,?,?,'participant',?)",
                (cur.lastrowid, saved.programme_id, learning_set.id if i < authors else None, stamp),
            )
        cur = await conn.execute(
            "INSERT INTO person (telegram_id, chat_id, name, status, nudge_days, created_at, updated_at)"
            " VALUES (?,?,'Fiona','active','',?,?)",
            (FACILITATOR, FACILITATOR, stamp, stamp),
        )
        facilitator = int(cur.lastrowid or 0)
        await conn.execute(
            "INSERT INTO membership (person_id, programme_id, role, joined_at) VALUES (?,?,'facilitator',?)",
            (facilitator, saved.programme_id, stamp),
        )
        for author in range(authors):
            member = await (await conn.execute("SELECT id FROM person WHERE chat_id = ?", (FIRST_CHAT + author,))).fetchone()
            cur = await conn.execute(
                "INSERT INTO reflection (person_id, visibility, shared_set_id, shared_at, created_at, updated_at)"
                " VALUES (?, 'shared', ?, ?, ?, ?)",
                (member[0], learning_set.id, stamp, stamp, stamp),
            )
            for i in range(messages):
                await conn.execute(
                    "INSERT INTO reflection_part (reflection_id, chat_id, message_id, text, created_at)"
                    " VALUES (?,?,?,?,?)",
                    (cur.lastrowid, FIRST_CHAT + author, 1000 + i, f"Part {i}. " + "a long evening of thought " * 155,
                     stamp),
                )
    await sharing.link_group(db, learning_set.id, GROUP)
    return saved.programme_id, learning_set.id, facilitator


async def one_run(folder: Path, authors: int, messages: int) -> dict[str, float]:
    """Runs the digest and the broadcast through the running bot; gives the figures in seconds."""
    from bot.clock import SystemClock
    from bot.config import Settings
    from bot.render import Renderer
    from bot.runtime import halt, launch
    from bot.store import broadcasts, outbox, sharing
    from bot.store.db import open_database
    from bot.store.outbox import Planned

    clock = SystemClock()
    now = clock.now()
    fake = FakeTelegram(token="4242:DigestPaceBench", rate_limits=True)
    await fake.start()
    path = folder / "pitstop.db"
    db = await open_database(path)
    programme_id, set_id, facilitator = await seed(db, now, authors, messages)
    settings = Settings(
        token=fake.token, base_url=fake.base_url, db_path=path, admins=frozenset(), timezone="Europe/Amsterdam",
        language="en", rate_per_second=30.0, dispatch_interval=1.0, plan_interval=3600.0,
    )
    app = await launch(settings, clock, db, Renderer(), poll_timeout=1)
    try:
        async with db.transaction() as conn:
            digest_id = await sharing.ensure_digest(conn, set_id, "bench", now, None, "", now)
            await outbox.plan_many(conn, [Planned("digest", 0, now, f"digest:{digest_id}", payload={"digest_id": digest_id})], now)
        due = time.monotonic()
        while not fake.sent(GROUP):
            await asyncio.sleep(0.005)
        first_part = time.monotonic()
        broadcast_id = await broadcasts.create_draft(db, programme_id, "programme", None, facilitator, clock.now())
        await broadcasts.set_text(db, broadcast_id, "Module 2 starts on Monday.")
        found = await broadcasts.get(db, broadcast_id)
        assert found is not None
        people = [p for p in await broadcasts.recipients(db, found) if p.chat_id >= FIRST_CHAT + authors]
        progress = await app.bot.send_message(FACILITATOR, "Sending…")  # as /broadcast does before launching
        launched = time.monotonic()
        await broadcasts.launch(db, broadcast_id, clock.now(), people, FACILITATOR, progress.message_id, clock.now())
        chats = {p.chat_id for p in people}

        def copies() -> int:
            return sum(1 for m in fake.sent() if m.chat_id in chats and "Module 2" in (m.text or ""))

        while copies() == 0:
            await asyncio.sleep(0.005)
        first_copy = time.monotonic()
        while copies() < len(chats):
            await asyncio.sleep(0.01)
        last_copy = time.monotonic()
        while await db.scalar(
            "SELECT count(*) FROM outbox WHERE dedupe_key LIKE ? AND status IN ('pending', 'sending')", (f"digest:{digest_id}%",)
        ):
            await asyncio.sleep(0.05)
        digest_done = max(t for t, chat in fake.send_times if chat == GROUP)  # when its last part arrived
    finally:
        await halt(app)
        await db.close()
        await fake.stop()
    parts = [m for m in fake.sent(GROUP) if m.method == "sendMessage"]
    return {
        "first copy": first_copy - launched,
        "last copy": last_copy - launched,
        "parts": float(len(parts)),
        "digest": digest_done - due,
        "first part": first_part - due,
    }


SCENARIOS = (
    ("one member's reflection of 10 long messages", 1, PARTS),
    ("4 members, one long reflection each", 4, 1),
)


def main() -> None:
    """Prints the figures of one run per scenario."""
    logging.getLogger("bot").setLevel(logging.WARNING)
    header(
        NAME,
        "a broadcast to other chats launched while a large group digest is going out",
        recipients=RECIPIENTS,
        message="about 4,000 characters",
        pacing="30/s overall, 3.1 s between a group's messages (Telegram's 20 a minute)",
        dispatch_interval="1.0 s (the default)",
    )
    for title, authors, messages in SCENARIOS:
        with scratch(NAME) as folder:
            result = run_loop(one_run(folder, authors, messages))
        print(f"   {title}:")
        figure("broadcast: launch to first copy", f"{result['first copy']:.2f} s",
               aim(result["first copy"] < 2.0, "< 2 s: not held by the group's pace"))
        figure("broadcast: launch to last copy", f"{result['last copy']:.2f} s",
               aim(result["last copy"] < 2.0 + RECIPIENTS / 30, f"< {2.0 + RECIPIENTS / 30:.1f} s (200 at 30/s)"))
        figure("digest: parts the group got", f"{result['parts']:.0f}")
        figure("digest: due to its last part", f"{result['digest']:.1f} s")


if __name__ == "__main__":
    main()
