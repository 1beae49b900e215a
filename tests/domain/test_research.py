"""The trend study's rules: pseudonyms stable per programme and keyed by the secret, small-cell suppression
of sets and set × module cells, rows per module begun, and pulse averages only over five answers that no
set's own average can be subtracted from."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.programme import parse_programme
from bot.domain.research import (
    HEADER,
    Member,
    ModuleAnswer,
    ResearchRow,
    StudyData,
    csv_values,
    pseudonym,
    pulse_trend,
    secret_problem,
    study_rows,
    suppress,
)
from tests.factories import learning_set, module, programme

SECRET = "a-long-operator-secret-0123456789"


def test_a_pseudonym_is_stable_per_programme_and_secret_and_says_nothing_of_the_id() -> None:
    first = pseudonym(SECRET, "cpm-2027", 12)
    assert first == pseudonym(SECRET, "cpm-2027", 12)
    assert first != pseudonym(SECRET, "lpw-2027", 12)  # another programme: not linkable
    assert first != pseudonym(SECRET, "cpm-2027", 13)
    assert first != pseudonym("another-long-secret-9876543210", "cpm-2027", 12)  # without the secret: not recomputable
    assert len(first) == 32 and int(first, 16) >= 0
    # No two of many people share one.
    assert len({pseudonym(SECRET, "cpm-2027", i) for i in range(5000)}) == 5000


def test_the_secret_must_be_set_and_long() -> None:
    assert "PITSTOP_RESEARCH_SECRET is not set" in (secret_problem(None) or "")
    assert "PITSTOP_RESEARCH_SECRET is not set" in (secret_problem("") or "")
    assert "at least 16" in (secret_problem("short") or "")
    assert secret_problem(SECRET) is None


def row(person_id: int, set_key: str, module_key: str = "m1") -> ResearchRow:
    return ResearchRow(person_id, set_key, module_key, date(2026, 1, 5), date(2026, 3, 29), date(2026, 1, 2))


def test_a_set_under_five_is_left_out_whole_and_then_each_small_set_module_cell() -> None:
    rows = [row(i, "set-a") for i in range(1, 7)] + [row(i, "set-a", "m2") for i in range(1, 5)]  # m2: four people
    rows += [row(i, "set-b") for i in range(10, 14)] + [row(i, "set-b", "m2") for i in range(10, 16)]  # six in all
    rows += [row(i, "") for i in range(20, 22)]  # two without a set
    result = suppress(rows)
    assert {(r.set_key, r.module_key) for r in result.kept} == {("set-a", "m1"), ("set-b", "m2")}
    assert result.sets_left_out == (("", 2),)
    assert result.cells_left_out == (("set-a", "m2", 4), ("set-b", "m1", 4))
    assert result.people == 12
    assert suppress([row(i, "set-a") for i in range(4)]).kept == ()
    assert len(suppress([row(i, "set-a") for i in range(5)]).kept) == 5  # five is enough


def test_a_row_has_every_column_and_no_text_column() -> None:
    assert len(HEADER) == len(set(HEADER))
    assert not {"text", "name", "takeaway", "answer", "case", "question"} & set(HEADER)
    values = csv_values(ResearchRow(3, "-set", "m1", date(2026, 1, 5), date(2026, 3, 29), date(2026, 1, 2),
                                    {("start", "cognitive"): 4, ("start", "relational"): None}, {"reflections": 2}),
                        SECRET, "cpm")
    assert len(values) == len(HEADER)
    cells = dict(zip(HEADER, values))
    assert cells["pseudonym"] == pseudonym(SECRET, "cpm", 3) and cells["set"] == "'-set"  # never a formula
    assert cells["pulse_start_cognitive"] == "4" and cells["pulse_start_relational"] == "" and cells["pulse_end_cognitive"] == ""
    assert cells["reflections"] == "2" and cells["cases"] == "0" and cells["module_starts"] == "2026-01-05"


PROGRAMME = parse_programme(programme(
    key="rs-domain",
    modules=[module("m1", "One", "2026-01-05", "2026-03-29"), module("m2", "Two", "2026-03-30", "2026-06-28"),
             module("m3", "Three", "2027-01-04", "2027-03-28")],
    sets=[learning_set("set-a", "Set A")],
))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_rows_come_for_each_module_begun_since_joining_with_cases_and_questions_placed_in_their_module() -> None:
    data = StudyData(
        members=(Member(1, "set-a", at("2025-12-20T10:00")), Member(2, "set-a", at("2026-04-10T10:00"))),
        counts={(1, "m1"): {"reflections": 3, "intentions": 1}, (2, "m2"): {"reflections": 1}},
        cases=((1, at("2026-02-01T10:00")), (1, at("2026-05-01T10:00"))),
        questions=((1, at("2025-12-20T10:05")), (1, at("2026-12-01T10:00"))),  # at onboarding, and after m2 ended
        pulse=(ModuleAnswer(1, None, "m1", "start", "cognitive", 2), ModuleAnswer(1, None, "m1", "end", "cognitive", 4)),
        prompts=((1, "m1", at("2026-01-06T08:00"), True), (1, "m1", at("2026-01-07T08:00"), False),
                 (1, "m1", at("2026-09-01T08:00"), True),  # outside m1's dates (a calendar since changed): not counted
                 (1, "m9", at("2026-01-06T08:00"), True)),
    )
    rows = study_rows(PROGRAMME, data, date(2026, 12, 2))
    assert [(r.person_id, r.module_key) for r in rows] == [(1, "m1"), (1, "m2"), (2, "m2")]  # m3 has not begun
    first, second, late = rows
    assert first.counts["reflections"] == 3 and first.counts["intentions"] == 1 and first.counts["cases"] == 1
    assert first.counts["prompts_sent"] == 2 and first.counts["prompts_answered"] == 1 and second.counts["prompts_sent"] == 0
    assert first.counts["learning_question_versions"] == 1 and second.counts["learning_question_versions"] == 1
    assert second.counts["cases"] == 1 and second.counts["reflections"] == 0
    assert first.pulse == {("start", "cognitive"): 2, ("end", "cognitive"): 4} and second.pulse == {}
    assert late.joined_on == date(2026, 4, 10) and late.counts["reflections"] == 1
    assert first.module_starts == date(2026, 1, 5) and first.module_ends == date(2026, 3, 29)
    assert study_rows(PROGRAMME, data, date(2025, 12, 31)) == []  # nothing has begun


def answers(module_key: str, moment: str, capacity: str, scores: list[int | None], set_id: int | None = 1,
            first_person: int = 1) -> list[ModuleAnswer]:
    return [ModuleAnswer(first_person + i, set_id, module_key, moment, capacity, s) for i, s in enumerate(scores)]


def test_an_average_needs_five_scores_and_skips_do_not_count() -> None:
    given = answers("m1", "start", "cognitive", [4, 4, 3, 5, 2]) + answers("m1", "start", "relational", [3, 3, 3, 3, None])
    given += answers("m2", "end", "intervention", [1, 2])
    cells = {(c.module_key, c.moment, c.capacity): c for c in pulse_trend(given, ["m1", "m2", "m3"])}
    assert cells[("m1", "start", "cognitive")].average == 3.6 and cells[("m1", "start", "cognitive")].answers == 5
    assert cells[("m1", "start", "relational")].average is None and cells[("m1", "start", "relational")].answers == 4
    assert cells[("m1", "start", "intervention")].answers == 0 and not cells[("m1", "start", "intervention")].shown
    assert cells[("m2", "end", "intervention")].average is None
    assert ("m1", "end", "cognitive") not in cells and ("m3", "start", "cognitive") not in cells  # no answers there
    order = [(c.module_key, c.moment) for c in pulse_trend(given, ["m1", "m2"])]
    assert order == sorted(order, key=lambda k: (["m1", "m2"].index(k[0]), ["start", "end"].index(k[1])))


def test_a_programme_average_that_would_give_away_a_small_set_is_held_back() -> None:
    # Set 1 has five scores (the brief shows their average); set 2 has three: all eight minus set 1 gives set 2.
    given = answers("m1", "start", "cognitive", [5, 5, 5, 5, 5]) + answers("m1", "start", "cognitive", [1, 1, 1], set_id=2,
                                                                            first_person=10)
    cell = pulse_trend(given, ["m1"])[0]
    assert cell.answers == 8 and cell.average is None
    assert pulse_trend(given, ["m1"], by_set=False)[0].average == 3.5  # the research chart: consenting people's rows are known
    # Two small sets together are five or more: nothing can be subtracted to single them out.
    given += answers("m1", "start", "cognitive", [2, 2], set_id=3, first_person=20)
    assert pulse_trend(given, ["m1"])[0].average == 3.2
    # Sets each under five, however many: shown when together they are five or more.
    spread = answers("m1", "end", "relational", [2, 3], set_id=1) + answers("m1", "end", "relational", [4, 4, 4], set_id=2,
                                                                           first_person=10)
    assert next(c for c in pulse_trend(spread, ["m1"]) if c.capacity == "relational").average == 3.4


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 40), st.sampled_from(["", "set-a", "set-b", "set-c"]),
                          st.sampled_from(["m1", "m2", "m3"])), max_size=120))
def test_no_group_of_fewer_than_five_ever_survives_suppression(triples: list[tuple[int, str, str]]) -> None:
    # A person is in one set: the first one drawn for them.
    set_of: dict[int, str] = {}
    rows = [row(p, set_of.setdefault(p, s), m) for p, s, m in dict.fromkeys(triples)]
    kept = suppress(rows).kept
    for key in {r.set_key for r in kept}:
        assert len({r.person_id for r in kept if r.set_key == key}) >= 5
    for cell in {(r.set_key, r.module_key) for r in kept}:
        assert len({r.person_id for r in kept if (r.set_key, r.module_key) == cell}) >= 5
    result = suppress(rows)
    left = {r.person_id for r in rows} - {r.person_id for r in kept}
    assert all(any(r.set_key == s for s, _ in result.sets_left_out) or
               any((r.set_key, r.module_key) == (s, m) for s, m, _ in result.cells_left_out)
               for r in rows if r.person_id in left)
