"""The quiet rule and the rhythm of prompts (bot.domain.quiet): who is quiet, who gets the one check-in,
and which prompt days a participant who chose fewer prompts keeps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.programme import ProgrammeError, parse_programme
from bot.domain.quiet import Quietness, is_quiet, needs_checkin, on_rhythm
from tests.factories import programme

JOINED = datetime(2027, 3, 1, 9, tzinfo=UTC)
WEEKDAYS = frozenset(range(5))


def person(last: datetime | None = None, paused: datetime | None = None, asked: datetime | None = None) -> Quietness:
    return Quietness(JOINED, last, paused, asked)


def test_someone_who_never_answered_is_quiet_21_days_after_joining_not_a_day_sooner() -> None:
    assert not is_quiet(person(), JOINED + timedelta(days=21) - timedelta(seconds=1))
    assert is_quiet(person(), JOINED + timedelta(days=21))
    assert needs_checkin(person(), JOINED + timedelta(days=21))


def test_the_silence_counts_from_the_last_answer() -> None:
    last = JOINED + timedelta(days=15)
    assert not is_quiet(person(last), JOINED + timedelta(days=30))
    assert is_quiet(person(last), last + timedelta(days=21))


def test_the_programme_chooses_the_threshold() -> None:
    assert is_quiet(person(), JOINED + timedelta(days=10), after_days=10)
    assert not is_quiet(person(), JOINED + timedelta(days=9), after_days=10)


def test_someone_paused_is_not_quiet_and_gets_no_check_in() -> None:
    now = JOINED + timedelta(days=40)
    assert not is_quiet(person(paused=now + timedelta(days=1)), now)
    assert not needs_checkin(person(paused=now + timedelta(days=1)), now)
    assert is_quiet(person(paused=now - timedelta(days=1)), now)  # a pause that ended


def test_the_check_in_comes_once_until_they_answer_and_fall_quiet_again() -> None:
    asked = JOINED + timedelta(days=21)
    assert not needs_checkin(person(asked=asked), JOINED + timedelta(days=60))
    assert is_quiet(person(asked=asked), JOINED + timedelta(days=60))  # still counted as quiet
    answered = asked + timedelta(days=2)
    assert not needs_checkin(person(answered, asked=asked), answered + timedelta(days=20))
    assert needs_checkin(person(answered, asked=asked), answered + timedelta(days=21))


def days(start: date, count: int, weekdays: frozenset[int], every: int) -> list[date]:
    found = [start + timedelta(days=i) for i in range(count)]
    return [d for d in found if d.weekday() in weekdays and on_rhythm(d, weekdays, every)]


def test_daily_keeps_every_prompt_day() -> None:
    assert len(days(date(2027, 4, 5), 14, WEEKDAYS, 1)) == 10


def test_weekly_keeps_the_first_prompt_day_of_each_week() -> None:
    kept = days(date(2027, 4, 5), 28, WEEKDAYS, 7)
    assert kept == [date(2027, 4, 5), date(2027, 4, 12), date(2027, 4, 19), date(2027, 4, 26)]
    assert days(date(2027, 4, 5), 14, frozenset({2, 4}), 7) == [date(2027, 4, 7), date(2027, 4, 14)]


def test_every_other_day_alternates_the_prompt_days_across_weeks() -> None:
    kept = days(date(2027, 4, 5), 14, WEEKDAYS, 2)
    assert len(kept) == 5
    assert all((b - a).days >= 2 for a, b in zip(kept, kept[1:]))
    every_day = days(date(2027, 4, 5), 14, frozenset(range(7)), 2)
    assert all((b - a).days == 2 for a, b in zip(every_day, every_day[1:]))


def test_the_rhythm_gives_the_same_answer_whenever_it_is_asked() -> None:
    assert days(date(2027, 4, 1), 40, WEEKDAYS, 2)[-5:] == days(date(2027, 4, 20), 21, WEEKDAYS, 2)[-5:]


def test_a_programme_file_sets_the_quiet_threshold_or_gets_a_clear_error() -> None:
    assert parse_programme(programme()).quiet_after_days == 21
    assert parse_programme(programme(quiet_after_days=10)).quiet_after_days == 10
    for bad in (0, 3, 365):
        with pytest.raises(ProgrammeError) as caught:
            parse_programme(programme(quiet_after_days=bad))
        assert any("programme.quiet_after_days" in str(p) and "from 7 to 90" in str(p) for p in caught.value.problems)
    with pytest.raises(ProgrammeError):
        parse_programme(programme().replace('timezone = "Europe/Amsterdam"', 'timezone = "Europe/Amsterdam"\nquiet_after_days = "often"'))
