"""The sharing rule, tried on random sets, entries and choices: a digest never holds the text of a
private entry, of another set's entry, or of an entry an earlier digest carried."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.digest import shown_text, visible_in_digest
from bot.domain.programme import parse_programme
from bot.jobs.sets import compose_digest
from bot.render import Renderer
from bot.store import deepening, outbox, programmes, sharing
from bot.store.db import open_database
from bot.store.journal import NewReflection, add_message
from bot.store.outbox import Planned

START = datetime(2027, 4, 1, 8, tzinfo=UTC)
RENDER = Renderer()


def programme_text(sets: int) -> str:
    body = """
[programme]
key = "prop"
title = "Property"
language = "en"
timezone = "Europe/Amsterdam"

[[modules]]
key = "m1"
title = "One"
starts = 2027-03-01
ends = 2027-06-30
"""
    for i in range(sets):
        body += f'\n[[sets]]\nkey = "s{i}"\nname = "Set {i}"\n'
    return body


entry = st.tuples(
    st.integers(min_value=0, max_value=5),  # author
    st.sampled_from(["private", "shared", "takeaway"]),
    st.integers(min_value=0, max_value=2),  # set the author shares to (own set normally)
    st.booleans(),  # written before the first digest
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sets=st.integers(min_value=1, max_value=3), entries=st.lists(entry, min_size=0, max_size=14))
def test_a_digest_never_holds_private_or_foreign_text(sets: int, entries: list[tuple[int, str, int, bool]]) -> None:
    asyncio.run(check(sets, entries))


async def check(sets: int, entries: list[tuple[int, str, int, bool]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = await open_database(Path(folder) / "p.db")
        try:
            source = programme_text(sets)
            result = await programmes.save_programme(db, parse_programme(source), source, START)
            set_rows = await programmes.list_sets(db, result.programme_id)
            people = {}
            for author in range(6):
                learning_set = set_rows[author % sets]
                cur = await db.conn.execute(
                    "INSERT INTO person (telegram_id, chat_id, name, status, created_at, updated_at)"
                    " VALUES (?, ?, ?, 'active', ?, ?)",
                    (100 + author, 100 + author, f"Member {author}", START.isoformat(), START.isoformat()),
                )
                person_id = cur.lastrowid
                await db.conn.execute(
                    "INSERT INTO membership (person_id, programme_id, learning_set_id, role, joined_at)"
                    " VALUES (?, ?, ?, 'participant', ?)",
                    (person_id, result.programme_id, learning_set.id, START.isoformat()),
                )
                people[author] = (person_id, learning_set.id)

            texts: dict[int, tuple[str, str, int | None, bool]] = {}
            digests = {}
            async with db.transaction() as conn:
                for s in set_rows:
                    first = await sharing.ensure_digest(conn, s.id, "first", START + timedelta(days=1), None, "", START)
                    second = await sharing.ensure_digest(conn, s.id, "second", START + timedelta(days=3), None, "", START)
                    digests[s.id] = (first, second)
            for number, (author, visibility, target, early) in enumerate(entries):
                person_id, own_set = people[author]
                # Members share to their own set; a forged target set must never leak elsewhere.
                share_set = set_rows[target % sets].id if target == 2 else own_set
                when = START + timedelta(hours=1 if early else 30, minutes=number)
                text = f"secret-{number}-{visibility}"
                stored = await add_message(
                    db, NewReflection(person_id, None, None, result.programme_id, "m1", "between", "", False, None),
                    None, 100 + author, 1000 + number, "text", text, None, when,
                )
                assert stored is not None
                # Every entry went one step deeper: that answer is private whatever the entry's visibility.
                step = await deepening.ask(db, stored[0], person_id, 1, "essential", when)
                assert step is not None
                await deepening.answer(db, step.id, person_id, f"deeper-{number}-answer", 100 + author, 5000 + number, when, None)
                takeaway = f"takeaway-{number}" if visibility == "takeaway" else None
                if visibility != "private":
                    await sharing.set_visibility(db, stored[0], person_id, visibility, share_set, when, takeaway=takeaway)
                texts[stored[0]] = (text, visibility, share_set if visibility != "private" else None, early)

            for s in set_rows:
                first, second = digests[s.id]
                for digest_id, moment in ((first, START + timedelta(days=1)), (second, START + timedelta(days=3))):
                    row_id = await plan_row(db, digest_id, moment)
                    row = await outbox.get(db, row_id)
                    assert row is not None
                    texts_out, _, _ = await compose_digest(db, RENDER, row, moment)
                    rendered = "\n".join(texts_out)
                    carried = await sharing.digest_entries(db, digest_id, s.id)
                    for reflection_id, (text, visibility, share_set, early) in texts.items():
                        expected = share_set == s.id and visibility != "private" and (early == (digest_id == first))
                        assert (text in rendered) == (expected and visibility == "shared"), (text, s.id, digest_id)
                        assert "deeper-" not in rendered
                        assert any(e.reflection_id == reflection_id for e in carried) == expected
                    for e in carried:
                        assert visible_in_digest(e, s.id, digest_id)
                        assert shown_text(e) in rendered
        finally:
            await db.close()


async def plan_row(db, digest_id: int, moment: datetime) -> int:  # type: ignore[no-untyped-def]
    """Plans a digest row to a group chat and gives its id."""
    await outbox.plan(db, [Planned("digest", -999, moment, f"digest:{digest_id}:test", payload={"digest_id": digest_id})], moment)
    return int(await db.scalar("SELECT id FROM outbox WHERE dedupe_key = ?", (f"digest:{digest_id}:test",)))
