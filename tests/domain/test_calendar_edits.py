"""A programme written back as a file reads back as the same programme, and the console's calendar edits are
checked like `programme check` and by its own rules before anything could be stored."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.calendar_edits import Change, EditError, EventRef, add, find, move, read_when, refs
from bot.domain.programme import parse_programme
from bot.domain.programme_file import write_programme
from tests.factories import event, learning_set, meeting, module, programme

AMS = ZoneInfo("Europe/Amsterdam")
FILES = sorted((Path(__file__).resolve().parents[2] / "programmes").glob("*.toml"))
NOW = datetime(2027, 3, 24, 10, 0, tzinfo=AMS)
PROGRAMME = parse_programme(programme(
    key="cpm",
    modules=[
        module("m1", "The Challenges \"quoted\" \\ back", "2027-03-01", "2027-04-30", short_theme={"en": "trust", "nl": "vertrouwen"},
               capacities=["cognitive"], events=[event("residential", "2027-04-12", "2027-04-16", place="The Hague"),
                                                 event("pitstop", "2027-04-20T13:00:00", title="Pitstop 1")]),
        module("m2", "The Person", "2027-05-01", "2027-06-30", theme="Line one\nline two",
               events=[event("online", "2027-05-03", "2027-05-28"), event("theme-day", "2027-06-10")]),
    ],
    sets=[learning_set("set-a", "Set A", [meeting("2027-04-06T14:00:00", "Utrecht"), meeting("2027-05-20")],
                       digest_days_before=3, empty_digest="skip"),
          learning_set("set-b", "Set B", [meeting("2027-04-06T14:00:00")])],
    daily_messages=2, residential_prompt="none",
))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=AMS)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_example_programme_reads_back_the_same_once_written(path: Path) -> None:
    read = parse_programme(path.read_bytes())
    assert parse_programme(write_programme(read)) == read


def test_every_field_is_written_so_that_it_reads_back() -> None:
    text = write_programme(PROGRAMME)
    assert parse_programme(text) == PROGRAMME
    assert 'short_theme = { en = "trust", nl = "vertrouwen" }' in text and "at = 2027-05-20\n" in text
    assert 'theme = "Line one\\nline two"' in text and "daily_messages = 2" in text


def test_a_meeting_moves_and_the_file_says_so() -> None:
    ref = EventRef("s", "set-a", 0)
    starts, ends = read_when(PROGRAMME, "2027-04-08", "15:30", "", "", meeting=True)
    moved, text = move(PROGRAMME, ref, Change(starts, ends, "Zwolle"), NOW)
    assert parse_programme(text) == moved
    meetings = moved.learning_set("set-a").meetings  # type: ignore[union-attr]
    assert meetings[0].starts == at("2027-04-08T15:30") and meetings[0].ends == at("2027-04-08T18:30")
    assert meetings[0].place == "Zwolle" and "at = 2027-04-08T15:30:00" in text
    assert moved.learning_set("set-b") == PROGRAMME.learning_set("set-b")  # the other set keeps its meeting


def problems(action) -> list[str]:  # type: ignore[no-untyped-def]
    with pytest.raises(EditError) as refused:
        action()
    return [p.code for p in refused.value.problems]


def test_an_edit_into_the_past_out_of_its_module_or_programme_or_onto_another_meeting_is_refused() -> None:
    meeting_ref, pitstop = EventRef("s", "set-a", 0), EventRef("m", "m1", 1)

    def meeting_at(day: str, hour: str = "14:00") -> Change:
        starts, ends = read_when(PROGRAMME, day, hour, "", "", meeting=True)
        return Change(starts, ends)

    assert problems(lambda: move(PROGRAMME, meeting_ref, meeting_at("2027-03-20"), NOW)) == ["past"]
    assert problems(lambda: move(PROGRAMME, meeting_ref, meeting_at("2027-08-01"), NOW)) == ["outside_programme"]
    assert problems(lambda: move(PROGRAMME, meeting_ref, meeting_at("2027-05-20", "10:00"), NOW)) == ["overlap"]
    move(PROGRAMME, EventRef("s", "set-b", 0), meeting_at("2027-05-20", "10:00"), NOW)  # another set's day is free
    starts, ends = read_when(PROGRAMME, "2027-05-04", "13:00", "", "", meeting=False)
    assert problems(lambda: move(PROGRAMME, pitstop, Change(starts, ends, kind="pitstop"), NOW)) == ["outside_module"]
    starts, ends = read_when(PROGRAMME, "2027-04-14", "13:00", "", "", meeting=False)
    assert problems(lambda: move(PROGRAMME, pitstop, Change(starts, ends, kind="pitstop"), NOW)) == ["overlap"]
    later = NOW + timedelta(days=20)  # the meeting of 6 April has taken place by then
    assert problems(lambda: move(PROGRAMME, meeting_ref, meeting_at("2027-04-28"), later)) == ["was_past"]
    assert problems(lambda: read_when(PROGRAMME, "8 april", "14:00", "", "", meeting=True)) == ["bad_date"]
    assert problems(lambda: read_when(PROGRAMME, "2027-04-08", "2 pm", "", "", meeting=True)) == ["bad_time"]
    starts, ends = read_when(PROGRAMME, "2027-04-22", "15:00", "2027-04-22", "13:00", meeting=False)
    assert "ends_before_starts" in problems(lambda: move(PROGRAMME, pitstop, Change(starts, ends, kind="pitstop"), NOW))


def test_events_and_meetings_are_added_where_they_belong() -> None:
    starts, ends = read_when(PROGRAMME, "2027-06-01", "", "2027-06-03", "", meeting=False)
    assert (starts, ends) == (at("2027-06-01T00:00"), at("2027-06-03T23:59:59"))
    added, text = add(PROGRAMME, "m", "m2", Change(starts, ends, "Brussels", "Bootcamp", "bootcamp"), NOW)
    assert parse_programme(text) == added
    assert [e.kind for e in added.module("m2").events] == ["online", "bootcamp", "theme-day"]  # type: ignore[union-attr]
    starts, ends = read_when(PROGRAMME, "2027-04-27", "09:00", "", "", meeting=True)
    added, _ = add(PROGRAMME, "s", "set-b", Change(starts, ends), NOW)
    assert len(added.learning_set("set-b").meetings) == 2  # type: ignore[union-attr]
    assert len(refs(added)) == len(refs(PROGRAMME)) + 1
    assert problems(lambda: add(PROGRAMME, "m", "m9", Change(starts, ends, kind="pitstop"), NOW)) == ["no_event"]
    assert problems(lambda: add(PROGRAMME, "m", "m1", Change(starts, ends, kind="set-meeting"), NOW)) == ["no_event"]


def test_references_name_one_event_and_nothing_else() -> None:
    assert find(PROGRAMME, EventRef("m", "m1", 0)).kind == "residential"  # type: ignore[union-attr]
    assert find(PROGRAMME, EventRef("m", "m1", 9)) is None
    assert EventRef.parse("s:set-a:1") == EventRef("s", "set-a", 1) and str(EventRef("s", "set-a", 1)) == "s:set-a:1"
    for wrong in ("x:set-a:1", "s:Set A:1", "s:set-a:-1", "s:set-a", "s:set-a:1:2"):
        assert EventRef.parse(wrong) is None
