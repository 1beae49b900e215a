"""broadcast: a facilitator's broadcast to 2,000 participants, through the whole running bot.

The real Application (bot.runtime.launch) against bot.sandbox.fakeapi on loopback: the facilitator types
/broadcast, picks the programme, types the text and taps *Send now*; the figure is the time from
that tap until the progress message reports the final count. Run twice: with the pacer at
Telegram's 30 messages a second (the fake answering 429 beyond 30 in any second, as Telegram
does), and with pacing off.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    aim,
    figure,
    header,
    load_programme,
    programme_toml,
    scratch,
    seed_participants,
)
from bench.delivery import CountingFake, busiest_window
from bot.loop import run_loop  # the loop `pitstop run` runs on
from bot.sandbox.fakeapi import FakeUser

NAME = "broadcast"
RECIPIENTS = 2_000
FACILITATOR = FakeUser(id=990_001, first_name="Fiona")
TEXT = "Bring one case from your own work to the next meeting."


async def one_run(folder: Path, rate: float) -> dict[str, Any]:
    """Seeds 2,000 participants and a facilitator, runs the broadcast, gives its figures."""
    from bot.clock import SystemClock
    from bot.config import Settings
    from bot.render import Renderer
    from bot.runtime import halt, launch
    from bot.store.db import open_database

    clock = SystemClock()
    now = clock.now()
    path = folder / "pitstop.db"
    db = await open_database(path)
    source = programme_toml(date(now.year, now.month, 1))
    programme_id, set_ids = await load_programme(db, source, now)
    async with db.transaction() as conn:
        await seed_participants(conn, programme_id, set_ids, RECIPIENTS, now, first_id=10_000_000, nudge_days="")
        await conn.execute(
            "INSERT INTO person (telegram_id, chat_id, name, status, created_at, updated_at) VALUES (?,?,?,'active',?,?)",
            (FACILITATOR.id, FACILITATOR.id, FACILITATOR.first_name, now.isoformat(), now.isoformat()),
        )
        await conn.execute(
            "INSERT INTO membership (person_id, programme_id, role, joined_at)"
            " SELECT id, ?, 'facilitator', ? FROM person WHERE telegram_id = ?",
            (programme_id, now.isoformat(), FACILITATOR.id),
        )
    fake = CountingFake(token="123456:" + "B" * 35, rate_limits=rate > 0)
    await fake.start()
    settings = Settings(token=fake.token, base_url=fake.base_url, db_path=path, rate_per_second=rate, dispatch_interval=0.2)
    app = await launch(settings, clock, db, Renderer(), poll_timeout=5)
    try:
        await fake.send_text(FACILITATOR, "/broadcast")
        audience = await fake.wait_for(FACILITATOR.id, lambda m: bool(m.buttons()), timeout=10)
        await fake.press(FACILITATOR, audience[-1], audience[-1].buttons()[0][1])
        await fake.wait_for(FACILITATOR.id, lambda m: "Type the message" in (m.text or ""), timeout=10)
        await fake.send_text(FACILITATOR, TEXT)
        preview = await fake.wait_for(FACILITATOR.id, lambda m: any(d.startswith("bc:send:") for _, d in m.buttons()), timeout=10)
        fake.send_times.clear()
        fake.attempt_times.clear()
        started = time.monotonic()
        await fake.press(FACILITATOR, preview[-1], preview[-1].buttons()[0][1])
        final = await fake.wait_for(
            FACILITATOR.id, lambda m: "Broadcast finished" in (m.text or ""), timeout=RECIPIENTS / max(rate, 1) * 3 + 60
        )
        seconds = time.monotonic() - started
    finally:
        await halt(app)
        await db.close()
        await fake.stop()
    copies = [t for t, chat in fake.send_times if chat != FACILITATOR.id]
    return {
        "seconds": seconds,
        "copies": len(copies),
        "rate": len(copies) / seconds,
        "busiest": busiest_window(copies),
        "too_many": fake.too_many,
        "final": final[-1].message.get("text", ""),
        "edits": len(final[-1].edits),
        "errors": list(fake.internal_errors),
    }


def main() -> None:
    """Prints the broadcast figures."""
    logging.getLogger("bot").setLevel(logging.WARNING)
    header(
        "broadcast",
        "a /broadcast to 2,000 participants through the running bot (tap on Send now -> final report)",
        participants=f"{RECIPIENTS:,} active participants of one programme, one chat each",
        runs="1 with the pacer at 30/s (fake answers 429 beyond 30 in any second), 1 with pacing off",
        driven="bot.runtime.launch (the real Application, long polling the fake), the facilitator's taps",
    )
    for label, rate in (("pacer at 30/s", 30.0), ("pacing off", 0.0)):
        with scratch("broadcast") as folder:
            r = run_loop(one_run(folder, rate))
        target = "at least 28.5/s" if rate else "as fast as it goes"
        ok = r["rate"] >= 28.5 and r["busiest"] <= 30 and r["too_many"] == 0 if rate else True
        figure(f"{label}: messages/s", f"{r['rate']:7.1f} msg/s  ({r['copies']:,} copies in {r['seconds']:.1f} s)",
               aim(ok, target + (", never more than 30 in a second, no 429" if rate else "")) if rate else "")
        figure(f"{label}: busiest 1 s window", f"{r['busiest']} sends;  429 answers: {r['too_many']}")
        figure(f"{label}: progress message", f"{r['edits']} edits; final: {r['final']!r}")
        if r["errors"]:
            figure(f"{label}: fake errors", str(r["errors"][:3]))
    print(f"   (finished {datetime.now(UTC):%H:%M:%S} UTC)")


if __name__ == "__main__":
    main()
