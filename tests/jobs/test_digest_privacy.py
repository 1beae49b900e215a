"""The digest a set's job composes (bot.jobs.sets), tried on random sets, entries and choices: it
never holds the text of a private entry, of another set's entry, or of an entry an earlier digest
carried; nor anything shared for the facilitators only (a whole reflection or one line of it)."""

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
from bot.store import briefs, deepening, outbox, programmes, sharing
from bot.store.db import open_database
from bot.store.journal import NewReflection, add_message
from bot.store.outbox import Planned
from tests.factories import learning_set, module, programme

START = datetime(2027, 4, 1, 8, tzinfo=UTC)
RENDER = Renderer()


def programme_text(sets: int) -> str:
    return programme(
        key="prop",
        title="Property",
        modules=[module("m1", "One", "2027-03-01", "2027-06-30")],
        sets=[learning_set(f"s{i}", f"Set {i}") for i in range(sets)],
    )


entry = st.tuples(
    st.integers(min_value=0, max_value=5),  # author
    st.sampled_from(["private", "shared", "takeaway"]),
    st.integers(min_value=0, max_value=2),  # set the author shares to (own set normally)
    st.booleans(),  # written before the first digest
    st.sampled_from(["none", "whole", "line"]),  # also shared for the set's facilitators only?
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sets=st.integers(min_value=1, max_value=3), entries=st.lists(entry, min_size=0, max_size=14))
def test_a_digest_never_holds_private_or_foreign_text(sets: int, entries: list[tuple[int, str, int, bool, str]]) -> None:
    asyncio.run(check(sets, entries))


async def check(sets: int, entries: list[tuple[int, str, int, bool, str]]) -> None:
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
            for_facilitators: list[str] = []  # lines shared for the facilitators only
            for number, (author, visibility, target, early, for_facilitator) in enumerate(entries):
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
                if for_facilitator != "none":
                    line = f"for-facilitator-{number}" if for_facilitator == "line" else None
                    assert await briefs.share(db, stored[0], person_id, own_set, line, when)
                    for_facilitators.append(line or "")
                texts[stored[0]] = (text, visibility, share_set if visibility != "private" else None, early)

            for s in set_rows:
                first, second = digests[s.id]
                for digest_id, moment in ((first, START + timedelta(days=1)), (second, START + timedelta(days=3))):
                    row_id = await plan_row(db, digest_id, moment)
                    row = await outbox.get(db, row_id)
                    assert row is not None
                    rendered = "\n".join((await compose_digest(db, RENDER, row, moment)).texts)
                    carried = await sharing.digest_entries(db, digest_id, s.id)
                    for reflection_id, (text, visibility, share_set, early) in texts.items():
                        expected = share_set == s.id and visibility != "private" and (early == (digest_id == first))
                        assert (text in rendered) == (expected and visibility == "shared"), (text, s.id, digest_id)
                        assert "deeper-" not in rendered
                        assert any(e.reflection_id == reflection_id for e in carried) == expected
                    assert not any(line and line in rendered for line in for_facilitators)
                    for e in carried:
                        assert visible_in_digest(e, s.id, digest_id)
                        assert shown_text(e) in rendered
        finally:
            await db.close()


async def plan_row(db, digest_id: int, moment: datetime) -> int:  # type: ignore[no-untyped-def]
    """Plans a digest row to a group chat and gives its id."""
    await outbox.plan(db, [Planned("digest", -999, moment, f"digest:{digest_id}:test", payload={"digest_id": digest_id})], moment)
    return int(await db.scalar("SELECT id FROM outbox WHERE dedupe_key = ?", (f"digest:{digest_id}:test",)))
