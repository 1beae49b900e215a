"""Programme files: parsing, validation with every problem at once, and where a moment falls."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.programme import Phase, ProgrammeError, locate, next_event, parse_programme
from tests.factories import LearningSet, Module, event, learning_set, meeting, module, programme

AMS = ZoneInfo("Europe/Amsterdam")
PROGRAMMES = Path(__file__).resolve().parents[2] / "programmes"

CHALLENGES = module(
    "m1", "The Challenges", "2027-01-04", "2027-02-28",
    theme="Challenges of public management", capacities=["cognitive", "cross-boundary"],
    events=[
        event("pre-work", "2027-01-04", "2027-01-17"),
        event("residential", "2027-01-18", "2027-01-22", place="The Hague"),
        event("online", "2027-01-25", "2027-02-07"),
    ],
)
PERSON = module("m2", "The Person", "2027-03-01", "2027-04-25", events=[
    event("residential", "2027-03-15", "2027-03-19", place="Brussels"),
])
SET_A = learning_set("set-a", "Set A", [meeting("2027-02-10T14:00:00", place="Utrecht")])
SET_B = learning_set("set-b", "Set B", [meeting("2027-02-12T10:00:00")])


def cpm_test(modules: Sequence[Module] = (CHALLENGES, PERSON), sets: Sequence[LearningSet] = (SET_A, SET_B)) -> str:
    """Gives the test programme "cpm-test": two modules, two sets; other tests load it too."""
    return programme(key="cpm-test", title="Certified Public Manager (test)", modules=modules, sets=sets)


GOOD = cpm_test()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=AMS)


def problems_of(text: str) -> list[str]:
    with pytest.raises(ProgrammeError) as caught:
        parse_programme(text)
    return [str(p) for p in caught.value.problems]


def test_a_good_file_becomes_modules_events_and_sets() -> None:
    programme = parse_programme(GOOD)
    assert [m.key for m in programme.modules] == ["m1", "m2"]
    assert [e.kind for e in programme.modules[0].events] == ["pre-work", "residential", "online"]
    assert programme.modules[0].events[1].place == "The Hague"
    assert programme.learning_set("set-a").meetings[0].starts == at("2027-02-10T14:00")
    # a timed meeting without an end lasts a few hours, not zero seconds
    meeting = programme.learning_set("set-a").meetings[0]
    assert meeting.ends > meeting.starts


@pytest.mark.parametrize(
    ("moment", "phase", "module", "event_kind"),
    [
        ("2026-12-01T12:00", Phase.BEFORE_START, "m1", "residential"),
        ("2027-01-05T12:00", Phase.PREPARING, "m1", "residential"),
        ("2027-01-19T12:00", Phase.AT_EVENT, "m1", "residential"),
        ("2027-01-24T12:00", Phase.JUST_AFTER, "m1", "residential"),
        ("2027-01-31T12:00", Phase.BETWEEN, "m1", None),
        ("2027-02-08T12:00", Phase.BEFORE_MEETING, "m1", "set-meeting"),
        ("2027-02-10T15:00", Phase.AT_EVENT, "m1", "set-meeting"),
        ("2027-03-10T12:00", Phase.PREPARING, "m2", "residential"),
        ("2027-05-10T12:00", Phase.FINISHED, "m2", None),
    ],
)
def test_a_moment_falls_in_one_module_and_phase(moment: str, phase: Phase, module: str, event_kind: str | None) -> None:
    position = locate(parse_programme(GOOD), at(moment), "set-a")
    assert position.phase == phase
    assert position.module is not None and position.module.key == module
    assert (position.event.kind if position.event else None) == event_kind


def test_another_sets_meeting_does_not_shape_my_phase() -> None:
    programme = parse_programme(GOOD)
    assert locate(programme, at("2027-02-12T11:00"), "set-b").phase == Phase.AT_EVENT
    assert locate(programme, at("2027-02-12T11:00"), "set-a").phase != Phase.AT_EVENT


def test_the_next_event_skips_windows_and_other_sets() -> None:
    programme = parse_programme(GOOD)
    upcoming = next_event(programme, at("2027-01-26T09:00"), "set-b")
    assert upcoming is not None and upcoming.kind == "set-meeting" and upcoming.set_key == "set-b"


def test_locate_refuses_a_naive_moment() -> None:
    with pytest.raises(ValueError):
        locate(parse_programme(GOOD), datetime(2027, 1, 5), "set-a")


def test_every_problem_is_listed_with_its_place() -> None:
    broken = """
[programme]
key = "Bad Key"
title = "x"
timezone = "Mars/Olympus"
colour = "blue"

[[modules]]
key = "m1"
title = "One"
starts = 2027-01-04
ends = 2027-01-31

[[modules.events]]
kind = "residential"
starts = "2027-02-30"

[[modules.events]]
kind = "party"
starts = 2027-03-01

[[sets]]
key = "a"
name = "A"
[[sets.meetings]]
place = "nowhere"
"""
    found = problems_of(broken)
    joined = "\n".join(found)
    assert "programme.key" in joined
    assert "programme.timezone" in joined and "Mars/Olympus" in joined
    assert "programme.colour: is not a known key" in joined
    assert "modules[0].events[0].starts" in joined and "2027-02-30" in joined
    assert "modules[0].events[1].kind" in joined and "party" in joined
    assert "sets[0].meetings[0].at: is missing" in joined
    assert len(found) >= 6


def test_an_event_outside_its_module_is_named() -> None:
    text = GOOD.replace('starts = 2027-03-15\nends = 2027-03-19', 'starts = 2027-05-15\nends = 2027-05-19')
    assert any("lies outside its module" in p and "modules[1].events[0]" in p for p in problems_of(text))


def test_overlapping_residentials_are_refused() -> None:
    text = GOOD.replace(
        'starts = 2027-03-01\nends = 2027-04-25', 'starts = 2027-01-04\nends = 2027-04-25'
    ).replace('key = "m2"', 'key = "m2"')
    found = problems_of(text.replace('starts = 2027-03-15\nends = 2027-03-19', 'starts = 2027-01-20\nends = 2027-01-21'))
    assert any("overlaps" in p for p in found)
    assert any("before module m1 ends" in p for p in found)


def test_a_set_meeting_outside_the_programme_is_refused() -> None:
    assert any("outside the programme" in p for p in problems_of(GOOD.replace("2027-02-12T10:00:00", "2028-02-12T10:00:00")))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "is empty"),
        ("   \n\n", "is empty"),
        ("[programme\nkey=", "is not valid TOML"),
        ("programme = 3\nmodules = 'x'", "must be a table"),
        ("[programme]\nkey='k'\ntitle='t'\n[[modules]]\nkey=1\ntitle=[]\nstarts=true\nends=2027-01-01", "must be text"),
        ("x" * 1_000_001, "at most"),
    ],
)
def test_broken_files_get_a_sentence(text: str, expected: str) -> None:
    assert any(expected in p for p in problems_of(text))


def test_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(ProgrammeError) as caught:
        parse_programme(b"\xff\xfe[programme]")
    assert "not UTF-8" in str(caught.value)


@pytest.mark.parametrize("path", sorted(PROGRAMMES.glob("*.toml")), ids=lambda p: p.name)
def test_the_example_programmes_are_valid_and_live(path: Path) -> None:
    programme = parse_programme(path.read_bytes())
    assert len(programme.modules) >= 3 and programme.sets
    now = at("2026-11-25T12:00")
    position = locate(programme, now, programme.sets[0].key)
    assert position.phase not in (Phase.BEFORE_START, Phase.FINISHED)


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("at = 2027-02-10T14:00:00", 'at = "tomorrow"', "sets[0].meetings[0].at"),
        ("at = 2027-02-10T14:00:00", "at = 2027-02-10T14:00:00+01:00", "sets[0].meetings[0].at"),
        ("at = 2027-02-10T14:00:00", "at = 2027-02-10T14:00:00\nkind = \"pitstop\"", "sets[0].meetings[0].kind"),
        ('place = "Utrecht"', "place = 3", "sets[0].meetings[0].place"),
        ('key = "set-b"', 'key = "set-a"', "sets[1].key"),
        ('key = "m2"', 'key = "m1"', "modules[1].key"),
        ("starts = 2027-03-01\nends = 2027-04-25", "starts = 2027-02-20\nends = 2027-04-25", "modules[1].starts"),
        ("2027-02-12T10:00:00", "2028-02-12T10:00:00", "sets[1].meetings[0].at"),
        ("starts = 2027-03-15\nends = 2027-03-19", "starts = 2027-05-15\nends = 2027-05-19", "modules[1].events[0].ends"),
        ("starts = 2027-03-15\nends = 2027-03-19", "starts = 2027-02-15\nends = 2027-03-19", "modules[1].events[0].starts"),
        ("starts = 2027-01-25\nends = 2027-02-07", "starts = 2027-01-25\nends = 2027-01-20", "modules[0].events[2].ends"),
    ],
)
def test_every_problem_names_the_key_the_author_wrote(old: str, new: str, path: str) -> None:
    assert old in GOOD
    found = problems_of(GOOD.replace(old, new, 1))
    assert any(p.startswith(f"{path}: ") for p in found), found


def test_residentials_that_overlap_name_the_later_ones_start() -> None:
    text = GOOD.replace("starts = 2027-03-01\nends = 2027-04-25", "starts = 2027-03-01\nends = 2027-04-25")
    text = text.replace("starts = 2027-01-18\nends = 2027-01-22", "starts = 2027-01-18\nends = 2027-02-20")
    text = text.replace('kind = "online"\nstarts = 2027-01-25\nends = 2027-02-07', 'kind = "bootcamp"\nstarts = 2027-01-25\nends = 2027-01-26')
    found = problems_of(text)
    assert any(p.startswith("modules[0].events[2].starts: ") and "overlaps" in p for p in found), found


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("starts = 2027-01-04\nends = 2027-02-28", "starts = 0001-01-04\nends = 2027-02-28", "modules[0].starts"),
        ("ends = 2027-04-25", "ends = 9999-04-25", "modules[1].ends"),
        ("at = 2027-02-10T14:00:00", "at = 0001-02-10T14:00:00", "sets[0].meetings[0].at"),
        ("starts = 2027-01-04\nends = 2027-01-17", "starts = 2027-01-04\nends = 2207-01-17", "modules[0].events[0].ends"),
    ],
)
def test_a_date_outside_2000_to_2100_is_refused_with_its_key(old: str, new: str, path: str) -> None:
    assert old in GOOD
    found = problems_of(GOOD.replace(old, new, 1))
    assert any(p.startswith(f"{path}: ") and "2000" in p and "2100" in p for p in found), found


def test_a_short_theme_is_a_phrase_for_every_language_or_one_per_language() -> None:
    plain = parse_programme(GOOD.replace('theme = "Challenges of public management"', 'theme = "Challenges."\nshort_theme = "trust in government"'))
    assert plain.modules[0].short_theme("en") == plain.modules[0].short_theme("nl") == "trust in government"
    both = parse_programme(GOOD.replace(
        'theme = "Challenges of public management"',
        'short_theme = { en = "trust in government", nl = "vertrouwen in de overheid" }',
    ))
    assert both.modules[0].short_theme("nl") == "vertrouwen in de overheid"
    assert both.modules[0].short_theme("en") == "trust in government"
    # A file written before short_theme existed still reads, and prompts leave the phrase out.
    assert parse_programme(GOOD).modules[0].short_theme("en") == ""


@pytest.mark.parametrize(
    ("written", "path", "said"),
    [
        ('short_theme = "Trust in government."', "modules[0].short_theme", "without a full stop"),
        (f'short_theme = "{"trust " * 20}"', "modules[0].short_theme", "at most 80"),
        ('short_theme = { de = "Vertrauen" }', "modules[0].short_theme.de", "is not a language"),
        ('short_theme = { nl = 3 }', "modules[0].short_theme.nl", "must be text"),
        ("short_theme = 3", "modules[0].short_theme", "must be text"),
        ('short_theme = "  "', "modules[0].short_theme", "is empty"),
    ],
)
def test_a_short_theme_that_cannot_stand_mid_sentence_is_refused(written: str, path: str, said: str) -> None:
    found = problems_of(GOOD.replace('theme = "Challenges of public management"', written))
    assert any(p.startswith(f"{path}: ") and said in p for p in found), found
