"""The pulse's rules: when a module's pulses come, while they take answers, and a person's trend."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.domain.nudges import NudgeSettings
from bot.domain.programme import Module
from bot.domain.pulse import CAPACITIES, Score, is_open, pulse_times, story_time, trend

AMS = ZoneInfo("Europe/Amsterdam")
WEEKDAYS = NudgeSettings(zone=AMS, hour=9, minute=0, weekdays=frozenset(range(5)))
MODULE = Module("m1", "The Challenges", "", (), date(2027, 3, 27), date(2027, 4, 4))  # Saturday to Sunday


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=AMS)


def test_the_pulses_come_at_the_first_and_last_nudge_moment_of_the_module() -> None:
    times = pulse_times(WEEKDAYS, MODULE, AMS, at("2027-03-20T12:00"))
    assert times == {"start": at("2027-03-29T09:00"), "end": at("2027-04-02T09:00")}  # Monday, Friday


def test_someone_joining_after_the_first_moment_gets_only_the_end_pulse() -> None:
    assert pulse_times(WEEKDAYS, MODULE, AMS, at("2027-03-30T12:00")) == {"end": at("2027-04-02T09:00")}


def test_a_planned_start_is_never_planned_again_and_the_end_never_falls_on_it() -> None:
    times = pulse_times(WEEKDAYS, MODULE, AMS, at("2027-03-29T10:00"), start_planned=at("2027-03-29T09:00"))
    assert times == {"end": at("2027-04-02T09:00")}
    one_day = Module("m2", "Day", "", (), date(2027, 3, 29), date(2027, 3, 29))
    assert pulse_times(WEEKDAYS, one_day, AMS, at("2027-03-20T12:00")) == {"start": at("2027-03-29T09:00")}


def test_a_paused_person_gets_the_pulse_at_their_first_moment_after_the_pause() -> None:
    paused = NudgeSettings(zone=AMS, hour=9, minute=0, weekdays=frozenset(range(5)), paused_until=at("2027-03-31T00:00"))
    assert pulse_times(paused, MODULE, AMS, at("2027-03-20T12:00"))["start"] == at("2027-03-31T09:00")


def test_the_story_comes_on_the_evening_of_the_last_day_after_a_late_hour_too() -> None:
    assert story_time(WEEKDAYS, MODULE) == at("2027-04-04T20:00")
    late = NudgeSettings(zone=AMS, hour=21, minute=30, weekdays=frozenset(range(5)))
    assert story_time(late, MODULE) == at("2027-04-04T22:30")


def test_a_pulse_takes_answers_while_its_module_runs_and_not_after() -> None:
    assert not is_open(MODULE, date(2027, 3, 26))
    assert is_open(MODULE, date(2027, 3, 27)) and is_open(MODULE, date(2027, 4, 4))
    assert not is_open(MODULE, date(2027, 4, 5))


def test_the_trend_orders_moments_by_module_and_reads_first_and_last_answers() -> None:
    answers = [
        Score("m2", "start", "cognitive", 4), Score("m1", "end", "cognitive", 3), Score("m1", "start", "cognitive", 2),
        Score("m1", "start", "relational", None), Score("m2", "start", "relational", 5),
    ]
    found = trend(answers, ["m1", "m2"])
    assert [(p.module_key, p.moment) for p in found.points] == [("m1", "start"), ("m1", "end"), ("m2", "start")]
    assert found.scores["cognitive"] == (2, 3, 4)
    assert found.scores["relational"] == (None, None, 5)
    assert found.first_and_last("cognitive") == (2, 4, 3)
    assert found.first_and_last("relational") == (5, 5, 1)
    assert found.first_and_last("intervention") is None
    assert not found.empty and set(found.scores) == set(CAPACITIES)
    assert trend([Score("m1", "start", "cognitive", None)], ["m1"]).empty
