"""The learning question's rules: what can be kept as one (never cut), when it is asked about again
(the intake's day and a module's last prompt day, at the person's hour), and its buttons' data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import buttons
from bot.buttons import QuestionButton, QuestionSkipButton
from bot.domain.learning_question import (
    INTAKE,
    MODULE_END,
    QUESTION_LIMIT,
    module_end_day,
    question_moments,
    read_question,
)
from bot.domain.nudges import NudgeSettings
from bot.domain.programme import parse_programme
from tests.factories import event, module, programme

AMS = ZoneInfo("Europe/Amsterdam")
WEEKDAYS = frozenset(range(5))

PROGRAMME = parse_programme(programme(key="p", title="P", language="nl", modules=[
    module("m1", "Een", "2027-03-01", "2027-04-04", events=[event("intake", "2027-03-30T13:00:00")]),
    module("m2", "Twee", "2027-04-05", "2027-06-30"),
]))


@pytest.mark.parametrize(("typed", "problem"), [
    ("", "empty"), ("   \n\t ", "empty"), ("🙂🙂🎉", "no_words"), ("?!… — 🙂", "no_words"),
    ("x" * (QUESTION_LIMIT + 1), "too_long"), ("x" * 5000, "too_long"),
    ("Hoe luister ik eerst?", None), ("x" * QUESTION_LIMIT, None), ("2027?", None), ("¿Cómo escucho?", None),
])
def test_a_question_needs_words_and_at_most_the_limit(typed: str, problem: str | None) -> None:
    kept, found = read_question(typed)
    assert found == problem
    if problem == "too_long":
        assert kept == typed  # reported whole, never cut


def test_spaces_are_tidied_and_lines_kept() -> None:
    assert read_question("  Hoe  luister\tik\n\n\n eerst? ")[0] == "Hoe luister ik\neerst?"


def test_a_module_end_is_asked_about_on_the_prompt_day_before_the_end_pulse() -> None:
    # The last prompt day belongs to the end pulse, so the question comes on the prompt day before it.
    assert module_end_day(date(2027, 3, 1), date(2027, 4, 4), WEEKDAYS) == date(2027, 4, 1)  # Sunday → Thursday
    assert module_end_day(date(2027, 3, 1), date(2027, 4, 2), WEEKDAYS) == date(2027, 4, 1)
    assert module_end_day(date(2027, 3, 29), date(2027, 3, 29), WEEKDAYS) == date(2027, 3, 29)  # one prompt day
    assert module_end_day(date(2027, 4, 3), date(2027, 4, 4), WEEKDAYS) == date(2027, 4, 4)  # no weekday in it
    assert module_end_day(date(2027, 3, 1), date(2027, 4, 4), frozenset({6})) == date(2027, 4, 4)


def settings(hour: int = 9, paused_until: datetime | None = None) -> NudgeSettings:
    return NudgeSettings(zone=AMS, hour=hour, minute=0, weekdays=WEEKDAYS, paused_until=paused_until)


def test_the_intake_and_the_module_end_come_at_the_persons_hour() -> None:
    now = datetime(2027, 3, 28, 12, 0, tzinfo=AMS)
    found = question_moments(PROGRAMME, settings(hour=8), now, timedelta(days=7), intake=True, module_end=True)
    assert [(m.moment, m.module_key, m.due) for m in found] == [
        (INTAKE, "m1", datetime(2027, 3, 30, 8, 0, tzinfo=AMS).astimezone(UTC)),
        (MODULE_END, "m1", datetime(2027, 4, 1, 8, 0, tzinfo=AMS).astimezone(UTC)),
    ]
    without = question_moments(PROGRAMME, settings(), now, timedelta(days=7), intake=True, module_end=False)
    assert [m.moment for m in without] == [INTAKE]


def test_planning_again_gives_the_same_moments_and_a_missed_one_only_on_its_day() -> None:
    late = datetime(2027, 3, 30, 15, 0, tzinfo=AMS)  # the bot was down at 09:00
    first = question_moments(PROGRAMME, settings(), late, timedelta(days=7), intake=True, module_end=True)
    again = question_moments(PROGRAMME, settings(), late + timedelta(minutes=5), timedelta(days=7), True, True)
    assert first == again and first[0].moment == INTAKE and first[0].due < late
    next_day = question_moments(PROGRAMME, settings(), late + timedelta(days=1), timedelta(days=7), True, True)
    assert [m.moment for m in next_day] == [MODULE_END]


def test_no_question_is_planned_in_a_pause() -> None:
    now = datetime(2027, 3, 28, 12, 0, tzinfo=AMS)
    paused = settings(paused_until=datetime(2027, 4, 1, tzinfo=AMS))
    assert [m.moment for m in question_moments(PROGRAMME, paused, now, timedelta(days=7), True, True)] == [MODULE_END]


@pytest.mark.parametrize(("button", "data"), [
    (QuestionButton("rw", 0), "lq:rw:0"), (QuestionButton("sh", 12), "lq:sh:12"), (QuestionButton("pv", 12), "lq:pv:12"),
    (QuestionButton("ok", 3), "lq:ok:3"), (QuestionButton("x", 3), "lq:x:3"), (QuestionSkipButton(), "lq:skip"),
])
def test_question_buttons_write_their_data_and_read_it_back(button: buttons.Button, data: str) -> None:
    assert button.data == data and buttons.parse(data) == button


@pytest.mark.parametrize("forged", ["lq:sh", "lq:sh:-1", "lq:sh:01", "lq:zz:1", "lq:skip:1", "lq:sh:1:2", "lq:rw:²"])
def test_malformed_question_buttons_parse_to_nothing(forged: str) -> None:
    assert buttons.parse(forged) is None
