"""The pulses and stories are worked out once per setting and module, not once per person: on a seeded
population (zones, hours, days, pauses, people not active, a programme whose module ends within the week)
the rows written are exactly those of the person-by-person planning, on a first run and on a later one; 300 more
who share one setting share its work."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.jobs import pulse
from bot.store.db import open_database
from tests.jobs.test_planner_rows import FIRST, rows, seed


async def alike(db: Any, count: int) -> None:
    """Adds `count` participants who share one setting (the same zone, hour, days), as most people do."""
    stamp = FIRST.isoformat()
    async with db.transaction() as conn:
        for n in range(count):
            cur = await conn.execute(
                "INSERT INTO person (telegram_id, chat_id, name, timezone, nudge_hour, nudge_minute, nudge_days,"
                " status, created_at, updated_at) VALUES (?,?,?,'Europe/Amsterdam',9,0,'0,2,4','active',?,?)",
                (90_000 + n, 90_000 + n, f"A{n}", stamp, stamp),
            )
            await conn.execute(
                "INSERT INTO membership (person_id, programme_id, role, joined_at) VALUES (?,?,'participant',?)",
                (cur.lastrowid, 1 + n % 2, stamp),
            )


async def test_the_journey_rows_are_those_the_person_by_person_planning_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    seeded = tmp_path / "seeded.db"
    db = await open_database(seeded)
    await seed(db)
    await alike(db, 300)
    await db.close()
    shutil.copy(seeded, tmp_path / "reference.db")
    shared = pulse._wanted
    calls = {"work": 0}
    real_times = pulse.pulse_times

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls["work"] += 1
        return real_times(*args, **kwargs)

    monkeypatch.setattr(pulse, "pulse_times", counted)
    work = {}
    for name, wanted in (("seeded.db", shared), ("reference.db", lambda *a: shared(*a[:4]))):
        monkeypatch.setattr(pulse, "_wanted", wanted)
        calls["work"] = 0
        db = await open_database(tmp_path / name)
        first = await pulse.plan_journey(db, FIRST)
        await pulse.plan_journey(db, FIRST + timedelta(days=2, hours=7))
        await db.close()
        work[name] = calls["work"]
        assert first > 100
    planned = rows(seeded)
    assert {r[1] for r in planned} == {"pulse", "story"}
    assert planned == rows(tmp_path / "reference.db")
    assert work["reference.db"] - work["seeded.db"] >= 2 * 300 - 4  # the 300 alike share the work, both runs
