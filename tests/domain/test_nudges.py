"""Nudge times: the chosen local hour on the chosen weekdays, steady across daylight-saving changes,
silent while paused, and the follow-up of an intention some days on or before the next set meeting."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.nudges import (
    FOLLOW_UP_DAYS,
    DayMessage,
    NudgeSettings,
    day_winners,
    follow_up_time,
    local_moment,
    nudge_times,
)

AMS = ZoneInfo("Europe/Amsterdam")
NYC = ZoneInfo("America/New_York")
WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))

# Real zones with different rules: whole-hour and half-hour offsets, southern-hemisphere DST,
# a 30-minute DST step (Lord Howe), a change at local midnight (Santiago), none at all (Tokyo, Kolkata).
ZONES = (
    "Europe/Amsterdam",
    "Europe/London",
    "Europe/Vilnius",
    "America/New_York",
    "America/Santiago",
    "America/St_Johns",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Asia/Kolkata",
    "Asia/Tokyo",
)


def at(text: str, zone: ZoneInfo = AMS) -> datetime:
    """Gives a wall-clock moment in a zone."""
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def nudges(
    zone: ZoneInfo = AMS,
    hour: int = 9,
    minute: int = 0,
    days: frozenset[int] = EVERY_DAY,
    paused_until: datetime | None = None,
) -> NudgeSettings:
    return NudgeSettings(
        zone=zone, hour=hour, minute=minute, weekdays=days, paused_until=paused_until
    )


def wall(moment: datetime, zone: ZoneInfo) -> tuple[date, time]:
    local = moment.astimezone(zone)
    return local.date(), local.time()


# --------------------------------------------------------------------------- hour and weekdays


def test_nudges_come_at_the_local_hour_on_the_chosen_weekdays_only() -> None:
    chosen = frozenset({0, 2, 4})  # Monday, Wednesday, Friday
    found = nudge_times(
        nudges(hour=8, minute=30, days=chosen), at("2027-01-04T00:00"), at("2027-01-18T00:00")
    )

    assert [wall(m, AMS) for m in found] == [
        (date(2027, 1, d), time(8, 30)) for d in (4, 6, 8, 11, 13, 15)
    ]
    assert all(m.tzinfo is UTC for m in found)
    assert found[0] == datetime(2027, 1, 4, 7, 30, tzinfo=UTC)  # CET is UTC+1 in January


def test_no_weekday_chosen_means_no_nudges() -> None:
    assert (
        nudge_times(nudges(days=frozenset()), at("2027-01-04T00:00"), at("2027-02-04T00:00")) == []
    )


def test_the_window_includes_its_start_and_excludes_its_end() -> None:
    nine = at("2027-01-05T09:00")
    settings_ = nudges()

    assert nudge_times(settings_, nine, nine + timedelta(minutes=1)) == [nine.astimezone(UTC)]
    assert nudge_times(settings_, nine - timedelta(minutes=1), nine) == []
    assert nudge_times(settings_, nine + timedelta(seconds=1), at("2027-01-06T09:00")) == []


def test_naive_window_bounds_are_refused() -> None:
    with pytest.raises(ValueError):
        nudge_times(nudges(), datetime(2027, 1, 4), at("2027-01-10T00:00"))


# --------------------------------------------------------------------------- daylight saving


@pytest.mark.parametrize(
    ("zone", "first", "last", "before_utc", "after_utc"),
    [
        # Amsterdam springs forward on Sunday 28 March 2027: 09:00 is 08:00 UTC before, 07:00 after.
        (AMS, "2027-03-25", "2027-03-31", 8, 7),
        # … and falls back on Sunday 31 October 2027: 09:00 is 07:00 UTC before, 08:00 after.
        (AMS, "2027-10-28", "2027-11-03", 7, 8),
        # New York springs forward on 14 March 2027 (13:00 → 14:00 UTC) and falls back on 7 November.
        (NYC, "2027-03-11", "2027-03-17", 14, 13),
        (NYC, "2027-11-04", "2027-11-10", 13, 14),
    ],
)
def test_a_nine_oclock_nudge_stays_at_nine_across_a_daylight_saving_change(
    zone: ZoneInfo, first: str, last: str, before_utc: int, after_utc: int
) -> None:
    start, end = at(f"{first}T00:00", zone), at(f"{last}T23:59", zone)

    found = nudge_times(nudges(zone=zone), start, end)

    assert [wall(m, zone)[1] for m in found] == [time(9, 0)] * 7
    assert [wall(m, zone)[0] for m in found] == [
        date.fromisoformat(first) + timedelta(days=i) for i in range(7)
    ]
    assert found[0].hour == before_utc and found[-1].hour == after_utc


def test_a_wall_time_in_the_spring_forward_gap_comes_once_later_that_day() -> None:
    # 02:30 does not exist in Amsterdam on 28 March 2027 (02:00 CET jumps to 03:00 CEST).
    found = nudge_times(nudges(hour=2, minute=30), at("2027-03-27T00:00"), at("2027-03-30T00:00"))

    days = [wall(m, AMS)[0] for m in found]
    assert days == [date(2027, 3, 27), date(2027, 3, 28), date(2027, 3, 29)]
    gap_day = found[1].astimezone(AMS)
    assert gap_day.time() > time(2, 30)
    assert wall(found[0], AMS)[1] == wall(found[2], AMS)[1] == time(2, 30)


@pytest.mark.parametrize(
    ("zone", "day", "hour", "minute", "expected"),
    [
        (AMS, date(2027, 3, 28), 2, 30, time(3, 30)),
        (NYC, date(2027, 3, 14), 2, 30, time(3, 30)),
        (ZoneInfo("Australia/Lord_Howe"), date(2027, 10, 3), 2, 15, time(2, 45)),  # a 30-minute gap
    ],
)
def test_a_wall_time_in_a_gap_is_moved_forward_by_the_length_of_the_gap(
    zone: ZoneInfo, day: date, hour: int, minute: int, expected: time
) -> None:
    moment = local_moment(day, hour, minute, zone)

    assert moment.astimezone(zone).date() == day
    assert moment.astimezone(zone).time() == expected


def test_a_wall_time_that_happens_twice_at_fall_back_gives_one_nudge() -> None:
    # 02:30 happens twice in Amsterdam on 31 October 2027.
    found = nudge_times(nudges(hour=2, minute=30), at("2027-10-30T00:00"), at("2027-11-02T00:00"))

    assert [wall(m, AMS) for m in found] == [
        (date(2027, 10, 30), time(2, 30)),
        (date(2027, 10, 31), time(2, 30)),
        (date(2027, 11, 1), time(2, 30)),
    ]


# --------------------------------------------------------------------------- pause


def test_a_pause_silences_nudges_before_it_ends_and_not_after() -> None:
    paused = nudges(paused_until=at("2027-01-07T00:00"))

    found = nudge_times(paused, at("2027-01-04T00:00"), at("2027-01-10T00:00"))

    assert [wall(m, AMS)[0] for m in found] == [
        date(2027, 1, 7),
        date(2027, 1, 8),
        date(2027, 1, 9),
    ]


def test_a_pause_ending_exactly_at_a_nudge_lets_that_nudge_come() -> None:
    nine = at("2027-01-06T09:00")

    found = nudge_times(nudges(paused_until=nine), at("2027-01-05T00:00"), at("2027-01-07T00:00"))

    assert found == [nine.astimezone(UTC)]


def test_a_pause_in_the_past_changes_nothing() -> None:
    window = (at("2027-01-04T00:00"), at("2027-01-11T00:00"))

    assert nudge_times(nudges(paused_until=at("2026-12-01T00:00")), *window) == nudge_times(
        nudges(), *window
    )


# --------------------------------------------------------------------------- follow-ups


def test_a_follow_up_comes_four_days_later_at_the_nudge_hour() -> None:
    written = at("2027-01-05T21:40")  # Tuesday evening

    assert follow_up_time(nudges(hour=8, minute=15), written, None) == at(
        "2027-01-09T08:15"
    ).astimezone(UTC)


def test_a_follow_up_comes_the_day_before_a_meeting_that_is_sooner() -> None:
    written = at("2027-04-02T09:30")  # Friday; the set meets on Tuesday 6 April

    assert follow_up_time(nudges(), written, at("2027-04-06T14:00")) == at(
        "2027-04-05T09:00"
    ).astimezone(UTC)


def test_a_meeting_after_the_four_days_does_not_change_the_follow_up() -> None:
    written = at("2027-04-02T09:30")

    assert follow_up_time(nudges(), written, at("2027-04-20T14:00")) == at(
        "2027-04-06T09:00"
    ).astimezone(UTC)


def test_a_meeting_tomorrow_never_pulls_the_follow_up_onto_the_same_day() -> None:
    written = at("2027-04-05T07:00")  # before the nudge hour, and the set meets tomorrow

    asked = follow_up_time(nudges(), written, at("2027-04-06T14:00"))

    assert asked.astimezone(AMS).date() > written.date()
    assert asked.astimezone(AMS).time() == time(9, 0)


def test_a_meeting_in_the_past_is_ignored() -> None:
    written = at("2027-04-07T10:00")

    assert follow_up_time(nudges(), written, at("2027-04-06T14:00")) == at(
        "2027-04-11T09:00"
    ).astimezone(UTC)


def test_a_follow_up_keeps_the_nudge_hour_across_a_daylight_saving_change() -> None:
    written = at("2027-03-26T10:00")  # Friday before the change to summer time

    asked = follow_up_time(nudges(), written, None)

    assert asked == datetime(2027, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST


# --------------------------------------------------------------------------- properties

zones = st.sampled_from(ZONES).map(ZoneInfo)
weekday_sets = st.frozensets(st.integers(0, 6), min_size=1)
moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2029, 12, 31), timezones=st.just(UTC)
)


def _existing_wall_times(day: date, hour: int, minute: int, zone: ZoneInfo) -> list[datetime]:
    """Gives the UTC moments at which a wall time happens on a day: none in a gap, two at fall back."""
    found = []
    for fold in (0, 1):
        candidate = (
            datetime.combine(day, time(hour, minute), tzinfo=zone)
            .replace(fold=fold)
            .astimezone(UTC)
        )
        local = candidate.astimezone(zone)
        if (local.date(), local.time()) == (day, time(hour, minute)) and candidate not in found:
            found.append(candidate)
    return found


@settings(max_examples=300, deadline=None)
@given(
    zone=zones,
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    days=weekday_sets,
    start=moments,
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)),
    pause=st.none() | st.timedeltas(min_value=timedelta(days=-5), max_value=timedelta(days=70)),
)
def test_every_nudge_is_aware_in_the_window_on_a_chosen_day_at_the_chosen_time(
    zone: ZoneInfo,
    hour: int,
    minute: int,
    days: frozenset[int],
    start: datetime,
    length: timedelta,
    pause: timedelta | None,
) -> None:
    end = start + length
    paused_until = start + pause if pause is not None else None
    found = nudge_times(nudges(zone, hour, minute, days, paused_until), start, end)

    assert found == sorted(found)
    local_days = [m.astimezone(zone).date() for m in found]
    assert len(local_days) == len(set(local_days)), "two nudges on one local day"
    for moment in found:
        assert moment.tzinfo is UTC
        assert start <= moment < end
        assert paused_until is None or moment >= paused_until
        local = moment.astimezone(zone)
        assert local.weekday() in days
        existing = _existing_wall_times(local.date(), hour, minute, zone)
        if existing:
            assert moment in existing
        else:  # the wall time falls in a DST gap: moved later that day, never dropped
            assert local.time() > time(hour, minute)

    # Nothing is dropped: every chosen day whose wall time exists, in the window and after the pause, is there.
    day = start.astimezone(zone).date()
    while day <= end.astimezone(zone).date():
        existing = _existing_wall_times(day, hour, minute, zone)
        wanted = all(
            start <= m < end and (paused_until is None or m >= paused_until) for m in existing
        )
        if day.weekday() in days and existing and wanted:
            assert day in local_days, f"no nudge on {day}"
        day += timedelta(days=1)


@settings(max_examples=300, deadline=None)
@given(
    zone=zones,
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    written=moments,
    meeting_in=st.none()
    | st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=10)),
)
def test_a_follow_up_comes_within_four_days_at_the_nudge_hour_and_before_a_near_meeting(
    zone: ZoneInfo, hour: int, minute: int, written: datetime, meeting_in: timedelta | None
) -> None:
    meeting = written + meeting_in if meeting_in is not None else None

    asked = follow_up_time(nudges(zone, hour, minute), written, meeting)

    assert asked.tzinfo is UTC
    written_day = written.astimezone(zone).date()
    asked_local = asked.astimezone(zone)
    assert (
        written_day + timedelta(days=1)
        <= asked_local.date()
        <= written_day + timedelta(days=FOLLOW_UP_DAYS)
    )
    if _existing_wall_times(asked_local.date(), hour, minute, zone):
        assert asked_local.time() == time(hour, minute)
    if meeting is not None:
        meeting_day = meeting.astimezone(zone).date()
        if (
            written_day + timedelta(days=2)
            <= meeting_day
            <= written_day + timedelta(days=FOLLOW_UP_DAYS)
        ):
            assert asked_local.date() == meeting_day - timedelta(days=1)


def test_a_prompt_snoozed_late_in_the_evening_comes_back_at_the_next_nudge_not_at_night() -> None:
    from bot.domain.nudges import later_time

    zone = ZoneInfo("Europe/Amsterdam")
    settings = NudgeSettings(zone=zone, hour=9, minute=0, weekdays=frozenset({0, 1, 2, 3, 4}))
    afternoon = datetime(2027, 4, 7, 14, 0, tzinfo=zone)  # Wednesday
    assert later_time(afternoon, settings) == afternoon + timedelta(hours=3)
    evening = datetime(2027, 4, 7, 20, 30, tzinfo=zone)
    assert later_time(evening, settings) == datetime(2027, 4, 8, 9, 0, tzinfo=zone)
    friday_night = datetime(2027, 4, 9, 21, 0, tzinfo=zone)
    assert later_time(friday_night, settings) == datetime(2027, 4, 12, 9, 0, tzinfo=zone)  # Monday


# --------------------------------------------------------------------------- the daily budget


def _m(id: int, kind: str, hour: int, out: bool = False) -> DayMessage:
    return DayMessage(id, kind, datetime(2027, 4, 5, hour, tzinfo=UTC), out)


def test_a_follow_up_wins_the_day_over_a_prompt_whatever_the_order() -> None:
    assert day_winners([_m(1, "prompt", 7), _m(2, "follow_up", 9)], 1) == {2}


def test_a_case_round_wins_over_a_follow_up_and_a_prompt() -> None:
    assert day_winners([_m(1, "prompt", 7), _m(2, "follow_up", 7), _m(3, "case_round", 8)], 1) == {3}


def test_what_went_out_already_uses_the_budget() -> None:
    assert day_winners([_m(1, "prompt", 7, out=True), _m(2, "case_round", 8)], 1) == {1}
    assert day_winners([_m(1, "reminder", 7, out=True), _m(2, "prompt", 9)], 1) == {1}


def test_a_waiting_reminder_is_no_candidate_and_uses_no_budget() -> None:
    assert day_winners([_m(1, "reminder", 7), _m(2, "prompt", 9)], 1) == {2}


def test_a_larger_budget_lets_more_questions_go_in_priority_order() -> None:
    messages = [_m(1, "prompt", 7), _m(2, "follow_up", 9), _m(3, "case_round", 10)]
    assert day_winners(messages, 2) == {2, 3}
    assert day_winners(messages, 3) == {1, 2, 3}


# --------------------------------------------------------------------------- residential weeks

RESIDENTIAL = frozenset(date(2027, 4, d) for d in range(12, 17))  # Monday 12 to Friday 16 April


def test_in_a_residential_week_the_prompt_comes_once_at_the_end_of_the_day() -> None:
    settings = NudgeSettings(AMS, 9, 0, WEEKDAYS, quiet_days=RESIDENTIAL)
    times = nudge_times(settings, datetime(2027, 4, 9, tzinfo=AMS), datetime(2027, 4, 20, tzinfo=AMS))
    local_times = [t.astimezone(AMS).strftime("%a %d %H:%M") for t in times]
    assert local_times == ["Fri 09 09:00", "Mon 12 20:00", "Tue 13 20:00", "Wed 14 20:00", "Thu 15 20:00",
                           "Fri 16 20:00", "Mon 19 09:00"]


def test_an_own_hour_later_than_the_evening_is_kept_in_a_residential_week() -> None:
    settings = NudgeSettings(AMS, 21, 30, WEEKDAYS, quiet_days=RESIDENTIAL)
    moment = nudge_times(settings, datetime(2027, 4, 12, tzinfo=AMS), datetime(2027, 4, 13, tzinfo=AMS))[0]
    assert moment.astimezone(AMS).time() == time(21, 30)


def test_a_programme_that_wants_quiet_gets_no_prompt_in_its_residential_week() -> None:
    settings = NudgeSettings(AMS, 9, 0, WEEKDAYS, quiet_days=RESIDENTIAL, quiet_evening=False)
    times = nudge_times(settings, datetime(2027, 4, 12, tzinfo=AMS), datetime(2027, 4, 17, tzinfo=AMS))
    assert times == []


def test_a_follow_up_waits_until_after_the_residential_week() -> None:
    settings = NudgeSettings(AMS, 9, 0, WEEKDAYS, quiet_days=RESIDENTIAL)
    due = follow_up_time(settings, datetime(2027, 4, 9, 10, tzinfo=AMS), None)  # four days later: Tue 13
    assert due.astimezone(AMS) == datetime(2027, 4, 19, 9, tzinfo=AMS)


def test_a_check_in_gives_way_to_any_other_question_but_takes_the_place_of_a_prompt() -> None:
    # Someone who fell quiet is invited to answer by a module's end question or a follow-up just as well.
    assert day_winners([_m(1, "checkin", 7), _m(2, "question", 9)], 1) == {2}
    assert day_winners([_m(1, "checkin", 9), _m(2, "follow_up", 7)], 1) == {2}
    assert day_winners([_m(1, "prompt", 7), _m(2, "checkin", 9)], 1) == {2}
