"""Pulse answers in the store: once per capacity and moment, a changed score replaces the old one, and a
set's averages come with their counts (the caller decides whether they are enough to show)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.programme import parse_programme
from bot.store import people, programmes, pulse
from bot.store.db import Database
from tests.factories import learning_set, module, programme

NOW = datetime(2027, 3, 29, 8, tzinfo=UTC)
PROGRAMME = programme(
    key="p", title="P", modules=[module("m1", "One", "2027-03-29", "2027-04-02")], sets=[learning_set("a", "Set A")]
)


async def setup(db: Database, count: int) -> tuple[int, int, list[int]]:
    source = PROGRAMME
    loaded = await programmes.save_programme(db, parse_programme(source), source, NOW)
    found = await programmes.get_set(db, loaded.programme_id, "a")
    assert found is not None
    ids = []
    for n in range(count):
        invite = await people.create_invite(db, loaded.programme_id, found.id, "participant", 1, NOW.replace(year=2028), NOW)
        _, person, _ = await people.redeem_invite(db, invite.code, 500 + n, 500 + n, f"P{n}", "en", "Europe/Amsterdam", NOW)
        assert person is not None
        ids.append(person.id)
    return loaded.programme_id, found.id, ids


async def test_an_answer_is_kept_once_and_another_score_replaces_it(db: Database) -> None:
    programme_id, set_id, (anna,) = await setup(db, 1)
    assert await pulse.record(db, anna, programme_id, set_id, "m1", "start", "cognitive", 3, NOW) == "new"
    assert await pulse.record(db, anna, programme_id, set_id, "m1", "start", "cognitive", 3, NOW) == "same"
    assert await pulse.record(db, anna, programme_id, set_id, "m1", "start", "cognitive", None, NOW) == "changed"
    assert await pulse.answered(db, anna, programme_id, "m1", "start") == {"cognitive": None}
    assert await pulse.answered(db, anna, programme_id, "m1", "end") == {}
    assert len(await pulse.answers_of(db, anna)) == 1


async def test_a_sets_averages_come_with_the_number_of_answers_and_people(db: Database) -> None:
    programme_id, set_id, ids = await setup(db, 6)
    for n, person_id in enumerate(ids):
        await pulse.record(db, person_id, programme_id, set_id, "m1", "start", "cognitive", 1 + n % 5, NOW)
        await pulse.record(db, person_id, programme_id, set_id, "m1", "start", "relational", None if n else 4, NOW)
    averages = await pulse.set_averages(db, set_id, "m1", "start")
    assert averages["cognitive"].answers == 6 and averages["cognitive"].average == (1 + 2 + 3 + 4 + 5 + 1) / 6
    assert (averages["relational"].answers, averages["relational"].skipped, averages["relational"].average) == (1, 5, 4)
    assert averages["intervention"].answers == 0 and averages["intervention"].average is None
    assert {a.people for a in averages.values()} == {6}
    assert (await pulse.set_averages(db, set_id, "m1", "end"))["cognitive"].people == 0
