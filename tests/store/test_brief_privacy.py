"""The brief's privacy rule, tried on random sets, members, entries and cases: a facilitator's brief never
holds the text of a private entry, of an entry shared with the set, or anything of another set; and it
holds every reflection or line its own set's members shared for the facilitators."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.brief import brief_time
from bot.domain.programme import parse_programme
from bot.jobs.briefs import compose_brief, scheduled_key
from bot.render import Renderer
from bot.store import briefs, outbox, programmes, sharing
from bot.store.db import Database, open_database
from bot.store.journal import NewReflection, add_message
from bot.store.outbox import Planned, ts
from tests.factories import learning_set, meeting, module, programme

AMS = ZoneInfo("Europe/Amsterdam")
PREVIOUS = datetime(2027, 4, 1, 14, tzinfo=AMS)
MEETING = datetime(2027, 4, 15, 14, tzinfo=AMS)
RENDER = Renderer()


def programme_text(sets: int) -> str:
    """Gives the programme "prop" with `sets` sets, each meeting on 1 and 15 April (the brief's period)."""
    return programme(
        key="prop",
        title="Property",
        modules=[module("m1", "One", "2027-03-01", "2027-06-30")],
        sets=[
            learning_set(f"s{i}", f"Set {i}", [meeting("2027-04-01T14:00:00"), meeting("2027-04-15T14:00:00")])
            for i in range(sets)
        ],
    )


entry = st.tuples(
    st.integers(min_value=0, max_value=7),  # author
    st.sampled_from(["private", "shared", "takeaway"]),
    st.sampled_from(["none", "whole", "line"]),  # shared for the facilitators?
    st.booleans(),  # written before the previous meeting (an earlier brief's period)
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sets=st.integers(min_value=1, max_value=3),
    homes=st.lists(st.integers(min_value=0, max_value=2), min_size=8, max_size=8),  # each author's set
    entries=st.lists(entry, min_size=0, max_size=16),
    cased=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_a_brief_never_holds_private_or_foreign_text_and_holds_every_line_for_the_facilitator(
    sets: int, homes: list[int], entries: list[tuple[int, str, str, bool]], cased: list[bool]
) -> None:
    asyncio.run(check(sets, homes, entries, cased))


async def person(db: Database, number: int, programme_id: int, set_id: int | None, role: str) -> int:
    stamp = ts(PREVIOUS - timedelta(days=30))
    cur = await db.conn.execute(
        "INSERT INTO person (telegram_id, chat_id, name, status, created_at, updated_at) VALUES (?, ?, ?, 'active', ?, ?)",
        (100 + number, 100 + number, f"Member {number}" if role == "participant" else "Fiona", stamp, stamp),
    )
    person_id = int(cur.lastrowid or 0)
    await db.conn.execute(
        "INSERT INTO membership (person_id, programme_id, learning_set_id, role, joined_at) VALUES (?, ?, ?, ?, ?)",
        (person_id, programme_id, set_id, role, stamp),
    )
    await db.conn.commit()
    return person_id


async def check(sets: int, homes: list[int], entries: list[tuple[int, str, str, bool]], cased: list[bool]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = await open_database(Path(folder) / "p.db")
        try:
            source = programme_text(sets)
            result = await programmes.save_programme(db, parse_programme(source), source, PREVIOUS - timedelta(days=40))
            set_rows = await programmes.list_sets(db, result.programme_id)
            members = {a: (await person(db, a, result.programme_id, set_rows[homes[a] % sets].id, "participant"),
                           set_rows[homes[a] % sets].id) for a in range(8)}
            reader = await person(db, 99, result.programme_id, None, "facilitator")
            # Every text planted, with the set it belongs to and whether a brief of that set must show it.
            planted: list[tuple[str, int, bool]] = []
            for number, (author, visibility, for_facilitator, early) in enumerate(entries):
                person_id, home = members[author]
                when = (PREVIOUS if early else MEETING) - timedelta(days=3, minutes=number)
                text = f"secret{number}x"
                stored = await add_message(
                    db, NewReflection(person_id, None, None, result.programme_id, "m1", "between", "relational", False, None),
                    None, 100 + author, 1000 + number, "text", text, None, when,
                )
                assert stored is not None
                if visibility != "private":
                    takeaway = f"takeaway{number}x" if visibility == "takeaway" else None
                    await sharing.set_visibility(db, stored[0], person_id, visibility, home, when, takeaway=takeaway)
                    if takeaway:
                        planted.append((takeaway, home, False))
                line = f"line{number}x" if for_facilitator == "line" else None
                if for_facilitator != "none":
                    assert await briefs.share(db, stored[0], person_id, home, line, when)
                    if line:
                        planted.append((line, home, True))
                planted.append((text, home, for_facilitator == "whole"))
            for author, brings in enumerate(cased):
                person_id, home = members[author]
                if brings:
                    async with db.transaction() as conn:
                        digest_id = await sharing.ensure_digest(conn, home, ts(MEETING), MEETING - timedelta(days=2),
                                                                MEETING, "", PREVIOUS)
                    assert await sharing.add_case(db, digest_id, home, person_id, f"case{author}x", MEETING - timedelta(days=3))
                    planted.append((f"case{author}x", home, True))

            for s in set_rows:
                now = brief_time(MEETING, AMS)
                key = scheduled_key(s.id, MEETING, reader)
                await outbox.plan(db, [Planned("brief", 199, now, key, person_id=reader,
                                               payload={"set_id": s.id, "meeting": ts(MEETING)})], now)
                row = await outbox.get(db, int(await db.scalar("SELECT id FROM outbox WHERE dedupe_key = ?", (key,))))
                assert row is not None
                brief = await compose_brief(db, RENDER, row, now.astimezone(UTC))
                if not any(home == s.id for _, home in members.values()):
                    assert brief.reason == "no members" and not brief.texts
                    continue
                assert brief.reason is None
                rendered = "\n".join(brief.texts) + brief.caption
                for text, home, shown in planted:
                    assert (text in rendered) == (home == s.id and shown), (text, home, s.id)
        finally:
            await db.close()
