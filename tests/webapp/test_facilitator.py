"""A facilitator's console: the calendar of the programmes they lead as a timeline; a meeting moved or an event
added, checked like `programme check`, audited and planned from at once, as `programme load` does, and written
back by `pitstop programme export` as a file `programme check` accepts; participation in numbers, never text."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.domain.programme import parse_programme
from bot.jobs.sets import plan_sets
from bot.store import audit, console, people, programmes
from tests.e2e.world import local
from tests.factories import event, learning_set, meeting, module, programme
from tests.webapp.conftest import Site

FIONA, GEERT, ANNA = 4301, 4302, 4303
PROGRAMME = programme(
    key="cpm",
    modules=[module("m1", "The Challenges", "2027-03-01", "2027-04-30",
                    events=[event("residential", "2027-04-12", "2027-04-16", place="The Hague")]),
             module("m2", "The Person", "2027-05-01", "2027-06-30")],
    sets=[learning_set("set-a", "Set A", [meeting("2027-04-06T14:00:00", "Utrecht"), meeting("2027-05-18T14:00:00")]),
          learning_set("set-b", "Set B")],
)
OTHER = programme(key="other", title="Another Programme")


async def cast(site: Site) -> None:
    await site.load(PROGRAMME)
    await site.load(OTHER)
    await site.facilitator(FIONA, "Fiona", "cpm")
    await site.facilitator(GEERT, "Geert", "other", language="nl")
    await site.participant(ANNA, "Anna", "cpm", "set-a")


async def digest_due(site: Site, set_key: str = "set-a") -> list[str]:
    """Gives when the set's planned digests are due, as the outbox holds them."""
    rows = await site.db.fetchall(
        "SELECT outbox.due_at FROM outbox JOIN digest ON digest.id = json_extract(outbox.payload, '$.digest_id')"
        " JOIN learning_set ON learning_set.id = digest.learning_set_id"
        " WHERE outbox.kind = 'digest' AND outbox.status = 'pending' AND learning_set.key = ? ORDER BY outbox.due_at",
        (set_key,),
    )
    return [r[0] for r in rows]


async def stored(site: Site) -> programmes.StoredProgramme:
    found = await programmes.get_programme(site.db, "cpm")
    assert found is not None
    return found


def move_body(version: str, ref: str, day: str, hour: str, place: str = "Utrecht", **more: str) -> dict[str, str]:
    return {"programme": "1", "version": version, "ref": ref, "starts_day": day, "starts_time": hour, "place": place,
            "title": "", **more}


async def test_the_calendar_is_a_timeline_of_the_programmes_a_facilitator_leads(site: Site) -> None:
    await cast(site)
    page = await site.get("/api/view/calendar", as_user=FIONA)
    assert page.status == 200
    text = page.text
    assert text.index("The Challenges") < text.index("Set A") < text.index("residential week") < text.index("The Person")
    assert 'data-move="s:set-a:0"' in text and 'data-move="m:m1:0"' in text and "Another Programme" not in text
    other_id = site.programme_ids["other"]
    assert (await site.get(f"/api/view/calendar?programme={other_id}", as_user=FIONA)).status == 403
    assert (await site.get("/api/view/calendar", as_user=ANNA)).status == 403
    form = await site.get("/api/view/event?programme=1&ref=s:set-a:0", as_user=FIONA)
    assert form.status == 200 and 'value="2027-04-06"' in form.text and 'value="14:00"' in form.text
    assert (await site.get("/api/view/event?programme=1&ref=s:set-a:9", as_user=FIONA)).status == 404
    geert = await site.get("/api/view/calendar", as_user=GEERT)
    assert "Another Programme" in geert.text and "The Challenges" not in geert.text and "Kalender" in geert.text


async def test_moving_a_meeting_stores_audits_and_moves_its_digest_at_once(site: Site) -> None:
    await cast(site)
    await plan_sets(site.db, site.clock.now())
    before = await digest_due(site)
    assert before and before[0].startswith("2027-04-04")  # two days before 6 April
    version = (await stored(site)).loaded_at
    site.clock.advance(timedelta(seconds=1))
    moved = await site.post("/api/calendar", move_body(version, "s:set-a:0", "2027-04-09", "15:30", "Zwolle"),
                            as_user=FIONA)
    assert moved.status == 200 and "Moved." in moved.text and "Zwolle" in moved.text
    changed = (await stored(site)).programme
    assert changed.learning_set("set-a").meetings[0].starts == local("2027-04-09T15:30")  # type: ignore[union-attr]
    after = await digest_due(site)
    assert after[0].startswith("2027-04-07") and not any(d.startswith("2027-04-04") for d in after)
    entry = (await audit.entries(site.db))[-1]
    assert entry.action == "calendar.move" and entry.actor == str(FIONA) and "s:set-a:0" in entry.detail

    # The same form again is stale now: the calendar changed since it was read.
    stale = await site.post("/api/calendar", move_body(version, "s:set-a:0", "2027-04-10", "15:30"), as_user=FIONA)
    assert stale.status == 409 and "changed this programme" in stale.text


@pytest.mark.parametrize("day, hour, says", [
    ("2027-03-20", "14:00", "that moment has passed"),
    ("2027-09-01", "14:00", "outside the programme"),
    ("2027-05-18", "15:00", "overlap the learning-set meeting"),
    ("not a day", "14:00", "is not a date"),
])
async def test_a_move_the_rules_refuse_says_why_and_stores_nothing(site: Site, day: str, hour: str, says: str) -> None:
    await cast(site)
    source = await console.programme_source(site.db, "cpm")
    version = (await stored(site)).loaded_at
    refused = await site.post("/api/calendar", move_body(version, "s:set-a:0", day, hour), as_user=FIONA)
    assert refused.status == 422 and "Nothing was changed" in refused.text and says in refused.text
    assert await console.programme_source(site.db, "cpm") == source and (await stored(site)).loaded_at == version
    assert not [e for e in await audit.entries(site.db) if e.action.startswith("calendar.")]


async def test_only_a_facilitator_of_the_programme_may_change_it(site: Site) -> None:
    await cast(site)
    version = (await stored(site)).loaded_at
    for user in (GEERT, ANNA):
        refused = await site.post("/api/calendar", move_body(version, "s:set-a:0", "2027-04-09", "15:30"), as_user=user)
        assert refused.status == 403
    assert (await stored(site)).loaded_at == version


async def test_an_added_event_and_meeting_join_the_calendar_and_export_writes_a_file_check_accepts(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    await cast(site)
    version = (await stored(site)).loaded_at
    added = await site.post("/api/calendar", {
        "programme": "1", "version": version, "add": "m:m2", "kind": "theme-day", "starts_day": "2027-06-10",
        "starts_time": "", "ends_day": "", "ends_time": "", "place": "Grote Kerk", "title": "Theme day: the city",
    }, as_user=FIONA)
    assert added.status == 200 and "Added." in added.text and "Theme day: the city" in added.text
    version = (await stored(site)).loaded_at
    added = await site.post("/api/calendar", {
        "programme": "1", "version": version, "add": "s:set-b", "starts_day": "2027-05-25", "starts_time": "10:00",
        "place": "", "title": "",
    }, as_user=FIONA)
    assert added.status == 200
    now_stored = (await stored(site)).programme
    assert len(now_stored.learning_set("set-b").meetings) == 1  # type: ignore[union-attr]

    monkeypatch.setenv("PITSTOP_DB", str(site.db.path))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "cpm.toml"

    async def pitstop(*argv: str) -> int:  # the command line runs its own event loop: in a thread of its own
        return await asyncio.to_thread(main, list(argv))

    assert await pitstop("programme", "export", "cpm", "--output", str(out)) == 0
    assert parse_programme(out.read_bytes()) == now_stored
    assert await pitstop("programme", "check", str(out)) == 0
    assert "OK" in capsys.readouterr().out
    assert await pitstop("programme", "export", "cpm", "--output", str(out)) == 2  # never over an existing file
    assert await pitstop("programme", "export", "nope") == 2
    assert os.environ["PITSTOP_DB"] == str(site.db.path)


async def test_participation_shows_counts_and_never_a_reflections_text(site: Site) -> None:
    await cast(site)
    anna = await site.db.scalar("SELECT id FROM person WHERE telegram_id = ?", (ANNA,))
    person = await people.get_person(site.db, anna)
    assert person is not None
    await site.reflect(person, "PRIVATE-PLANTED-TEXT about my manager", "cpm")
    page = await site.get("/api/view/stats", as_user=FIONA)
    assert page.status == 200 and "Set A" in page.text and 'src="data:image/png;base64,' in page.text
    assert "too few to show" in page.text  # one participant: no counts that point at her
    assert "PRIVATE-PLANTED-TEXT" not in page.text
    assert (await site.get("/api/view/stats", as_user=ANNA)).status == 403
