"""Participation counts on a hand-built database: each count per set, the totals, the ISO weeks of the
chart, and per-person activity only for those who agreed to show it — never any journal text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.programme import parse_programme
from bot.store import programmes, stats
from bot.store.db import Database
from bot.store.outbox import ts
from tests.factories import learning_set, module, programme

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 3, 24, 10, 0, tzinfo=UTC)  # Wednesday of ISO week 12
SECRET = "My private doubts about the director"


def programme_text(key: str) -> str:
    """Gives "Programme <key>": two modules and the sets A and B."""
    return programme(
        key=key,
        title=f"Programme {key}",
        modules=[
            module("m1", "The Challenges", "2027-01-04", "2027-02-28"),
            module("m2", "The Person", "2027-03-01", "2027-05-30"),
        ],
        sets=[learning_set("set-a", "Set A"), learning_set("set-b", "Set B")],
    )


class Builder:
    """Inserts rows the way the bot would have stored them, with the same time format."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.telegram_id = 100
        self.message_id = 0
        self.dedupe = 0

    async def programme(self, key: str) -> tuple[int, dict[str, int]]:
        source = programme_text(key)
        result = await programmes.save_programme(
            self.db, parse_programme(source), source, NOW - timedelta(days=90)
        )
        sets = {s.key: s.id for s in await programmes.list_sets(self.db, result.programme_id)}
        return result.programme_id, sets

    async def participant(
        self,
        name: str,
        programme_id: int,
        set_id: int | None,
        status: str = "active",
        show: bool = False,
        role: str = "participant",
    ) -> int:
        self.telegram_id += 1
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO person (telegram_id, chat_id, name, status, show_activity, created_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?)",
                (self.telegram_id, self.telegram_id, name, status, int(show), ts(NOW), ts(NOW)),
            )
            person_id = int(cur.lastrowid or 0)
        await self.member(person_id, programme_id, set_id, role)
        return person_id

    async def member(
        self, person_id: int, programme_id: int, set_id: int | None, role: str = "participant"
    ) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO membership (person_id, programme_id, learning_set_id, role, joined_at) VALUES (?,?,?,?,?)",
                (person_id, programme_id, set_id, role, ts(NOW)),
            )

    async def reflection(
        self,
        person_id: int,
        programme_id: int | None,
        at: datetime,
        module: str = "m2",
        visibility: str = "private",
        shared_set: int | None = None,
    ) -> int:
        self.message_id += 1
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO reflection (person_id, programme_id, module_key, visibility, shared_set_id, takeaway,"
                " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
                (
                    person_id,
                    programme_id,
                    module,
                    visibility,
                    shared_set,
                    SECRET if visibility == "takeaway" else None,
                    ts(at),
                    ts(at),
                ),
            )
            reflection_id = int(cur.lastrowid or 0)
            await conn.execute(
                "INSERT INTO reflection_part (reflection_id, chat_id, message_id, text, created_at) VALUES (?,?,?,?,?)",
                (reflection_id, person_id, self.message_id, SECRET, ts(at)),
            )
        return reflection_id

    async def prompt(
        self,
        person_id: int,
        module: str = "m2",
        status: str = "sent",
        response: str | None = None,
        kind: str = "prompt",
    ) -> None:
        self.dedupe += 1
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO outbox (kind, person_id, chat_id, due_at, status, dedupe_key, module_key, response,"
                " sent_at, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    kind,
                    person_id,
                    person_id,
                    ts(NOW - timedelta(days=1)),
                    status,
                    f"k{self.dedupe}",
                    module,
                    response,
                    ts(NOW - timedelta(days=1)) if status == "sent" else None,
                    ts(NOW),
                ),
            )


async def build(db: Database) -> dict[str, int]:
    """Two programmes; in the first, set A, set B, one participant without a set and a facilitator."""
    b = Builder(db)
    p, sets = await b.programme("p")
    q, q_sets = await b.programme("q")
    a, bset = sets["set-a"], sets["set-b"]

    anna = await b.participant("Anna", p, a, show=True)
    bob = await b.participant("Bob", p, a)
    await b.participant("Cara", p, a, status="onboarding", show=True)
    dan = await b.participant("Dan", p, bset, status="blocked", show=True)
    finn = await b.participant("Finn", p, bset)
    await b.member(finn, q, q_sets["set-a"])
    eve = await b.participant("Eve", p, None)
    gus = await b.participant("Gus", p, None, role="facilitator")

    # Anna: two this week (one shared in m2), one shared in m2 ten days ago, one shared in m1.
    await b.reflection(anna, p, NOW - timedelta(days=1), visibility="shared", shared_set=a)
    await b.reflection(anna, p, NOW - timedelta(hours=2))
    await b.reflection(anna, p, NOW - timedelta(days=10), visibility="shared", shared_set=a)
    await b.reflection(
        anna, p, NOW - timedelta(days=40), module="m1", visibility="shared", shared_set=a
    )
    # Bob: a takeaway written Monday 22 March 00:30 in Amsterdam (Sunday 23:30 UTC), the first minute of week 12.
    await b.reflection(
        bob, p, datetime(2027, 3, 21, 23, 30, tzinfo=UTC), visibility="takeaway", shared_set=a
    )
    # Dan: eight days ago, outside the last seven days.
    await b.reflection(dan, p, NOW - timedelta(days=8))
    # Finn wrote in programme q: it does not count for p.
    await b.reflection(
        finn, q, NOW - timedelta(days=1), visibility="shared", shared_set=q_sets["set-a"]
    )
    # Eve, without a set.
    await b.reflection(eve, p, NOW - timedelta(days=1))
    # The facilitator's own note never counts as a participant's.
    await b.reflection(gus, p, NOW - timedelta(days=1))
    # A reflection "from the future" of the report is not counted yet.
    await b.reflection(anna, p, NOW + timedelta(hours=1))

    # Prompts in m2: Anna 3 sent (2 answered, 1 skipped) and 1 pending; Bob 1 sent, unanswered; Dan 1 answered.
    for response in ("answered", "answered", "skipped"):
        await b.prompt(anna, response=response)
    await b.prompt(anna, status="pending")
    await b.prompt(anna, module="m1", response="answered")  # another module
    await b.prompt(anna, kind="follow_up", response="answered")  # not a prompt
    await b.prompt(bob)
    await b.prompt(dan, response="answered")
    await b.prompt(eve, status="failed")
    return {"p": p, "q": q, "a": a, "b": bset, "anna": anna, "dan": dan}


async def test_each_count_of_each_set_is_right(db: Database) -> None:
    ids = await build(db)
    report = await stats.programme_stats(db, ids["p"], "m2", NOW)
    set_a, set_b, no_set = report.sets
    assert (set_a.set_id, set_a.name, set_b.set_id, no_set.set_id) == (
        ids["a"],
        "Set A",
        ids["b"],
        None,
    )

    assert (set_a.joined, set_a.active, set_a.reflected, set_a.shared) == (3, 2, 2, 3)
    assert (set_a.prompts_answered, set_a.prompts_sent) == (2, 4)
    assert (set_b.joined, set_b.active, set_b.reflected, set_b.shared) == (2, 1, 0, 0)
    assert (set_b.prompts_answered, set_b.prompts_sent) == (1, 1)
    assert (no_set.joined, no_set.active, no_set.reflected, no_set.shared) == (1, 1, 1, 0)
    assert (no_set.prompts_answered, no_set.prompts_sent) == (0, 0)


async def test_totals_add_up_the_sets(db: Database) -> None:
    ids = await build(db)
    totals = (await stats.programme_stats(db, ids["p"], "m2", NOW)).totals
    assert (totals.joined, totals.active, totals.reflected, totals.shared) == (6, 4, 3, 3)
    assert (totals.prompts_answered, totals.prompts_sent) == (3, 5)
    assert totals.activity == ()


async def test_the_module_decides_what_shared_and_prompts_count(db: Database) -> None:
    ids = await build(db)
    set_a = (await stats.programme_stats(db, ids["p"], "m1", NOW)).sets[0]
    assert (set_a.shared, set_a.prompts_answered, set_a.prompts_sent) == (1, 1, 1)
    assert set_a.reflected == 2  # the last seven days do not depend on the module


async def test_names_appear_only_for_people_who_show_their_activity(db: Database) -> None:
    ids = await build(db)
    report = await stats.programme_stats(db, ids["p"], "m2", NOW)
    set_a, set_b, no_set = report.sets
    assert [(p.name, p.reflections) for p in set_a.activity] == [("Anna", 2), ("Cara", 0)]
    assert [(p.person_id, p.name, p.reflections) for p in set_b.activity] == [
        (ids["dan"], "Dan", 0)
    ]
    assert no_set.activity == ()
    everything = repr(report)
    for hidden in ("Bob", "Finn", "Eve", "Gus"):
        assert hidden not in everything


async def test_no_journal_text_is_ever_in_the_counts(db: Database) -> None:
    ids = await build(db)
    report = await stats.programme_stats(db, ids["p"], "m2", NOW)
    weekly = await stats.weekly_reflections(db, ids["p"], NOW, AMS)
    assert SECRET not in repr(report) and SECRET not in repr(weekly)


async def test_another_programme_counts_only_its_own(db: Database) -> None:
    ids = await build(db)
    report = await stats.programme_stats(db, ids["q"], "m2", NOW)
    set_a, set_b = report.sets
    assert (set_a.joined, set_a.active, set_a.reflected, set_a.shared) == (1, 1, 1, 1)
    assert (set_a.prompts_answered, set_a.prompts_sent) == (0, 0)
    assert (set_b.joined, set_b.reflected) == (0, 0)


async def test_an_empty_programme_lists_its_sets_with_zeros(db: Database) -> None:
    p, sets = await Builder(db).programme("empty")
    report = await stats.programme_stats(db, p, "m2", NOW)
    assert [s.set_id for s in report.sets] == [sets["set-a"], sets["set-b"]]
    assert all(
        (s.joined, s.reflected, s.shared, s.prompts_sent) == (0, 0, 0, 0) for s in report.sets
    )
    weekly = await stats.weekly_reflections(db, p, NOW, AMS)
    assert weekly.by_set == {} and len(weekly.weeks) == 8


async def test_a_retired_set_shows_while_it_has_participants(db: Database) -> None:
    b = Builder(db)
    p, sets = await b.programme("retire")
    await b.participant("Anna", p, sets["set-b"])
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE learning_set SET active = 0 WHERE id IN (?, ?)", (sets["set-a"], sets["set-b"])
        )
    report = await stats.programme_stats(db, p, "m2", NOW)
    assert [s.set_id for s in report.sets] == [sets["set-b"]]


async def test_reflections_per_iso_week_and_set(db: Database) -> None:
    ids = await build(db)
    weekly = await stats.weekly_reflections(db, ids["p"], NOW, AMS, count=8)
    assert [(w.year, w.number) for w in weekly.weeks] == [(2027, n) for n in range(5, 13)]
    # Set A: Anna 40 days ago (week 6), 10 days ago (week 10), two this week plus Bob's at Monday 00:30.
    assert weekly.by_set[ids["a"]] == [0, 1, 0, 0, 0, 1, 0, 3]
    assert weekly.by_set[ids["b"]] == [0, 0, 0, 0, 0, 0, 1, 0]
    assert weekly.by_set[None] == [0, 0, 0, 0, 0, 0, 0, 1]


def test_recent_weeks_run_monday_to_monday_local_across_a_year_and_a_clock_change() -> None:
    new_year = stats.recent_weeks(datetime(2027, 1, 5, 12, tzinfo=UTC), AMS, 3)
    assert [(w.year, w.number) for w in new_year] == [(2026, 52), (2026, 53), (2027, 1)]
    assert new_year[-1].starts == datetime(2027, 1, 4, tzinfo=AMS)
    summer = stats.recent_weeks(datetime(2027, 3, 29, 12, tzinfo=UTC), AMS, 2)
    changed = summer[0]  # 22–29 March 2027: the clocks go forward on Sunday 28 March
    assert changed.starts.astimezone(UTC) == datetime(2027, 3, 21, 23, tzinfo=UTC)
    assert changed.ends.astimezone(UTC) == datetime(2027, 3, 28, 22, tzinfo=UTC)
    assert changed.ends == summer[1].starts
    assert stats.recent_weeks(NOW, AMS, 0) == ()
