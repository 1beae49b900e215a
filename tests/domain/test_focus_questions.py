"""A programme's focus_questions: read with validation and a key path in every error, and joining the
prompt choice of their own module only, preferred there, with no capacity unless their author gave one."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.choice import choose_prompt
from bot.domain.programme import FOCUS_MAX, FocusQuestion, Phase, ProgrammeError, parse_programme
from bot.render import Renderer
from tests.factories import module, programme


def focus_programme(focus_questions: object = None) -> str:
    """Gives the Dutch programme "focus": module m1 (relational) with these focus questions, then m2."""
    return programme(key="focus", title="Focus", language="nl", modules=[
        module("m1", "Een", "2027-01-04", "2027-02-28", capacities=["relational"], focus_questions=focus_questions),
        module("m2", "Twee", "2027-03-01", "2027-04-30"),
    ])


def read(focus_questions: object) -> tuple[FocusQuestion, ...]:
    return parse_programme(focus_programme(focus_questions)).modules[0].focus_questions


def problems(focus_questions: object) -> list[str]:
    with pytest.raises(ProgrammeError) as caught:
        parse_programme(focus_programme(focus_questions))
    return [str(p) for p in caught.value.problems]


def test_focus_questions_are_texts_or_tables_with_a_capacity() -> None:
    found = read(["Wat  viel je op?", {"text": "Met wie sprak je?", "capacity": "relational"}])
    assert [(q.text, q.capacity, q.modules) for q in found] == [
        ("Wat viel je op?", "", ("m1",)), ("Met wie sprak je?", "relational", ("m1",))]
    assert all(q.key.startswith("focus:m1:") for q in found) and found[0].key != found[1].key
    assert parse_programme(focus_programme()).modules[0].focus_questions == ()  # optional


def test_a_question_keeps_its_key_when_the_list_is_reordered() -> None:
    one = read(["A?", "B?"])
    other = read(["B?", "A?"])
    assert {q.key for q in one} == {q.key for q in other}


@pytest.mark.parametrize(
    ("focus", "where"),
    [
        ("Wat viel je op?", "modules[0].focus_questions: must be a list"),
        (["", "B?"], "modules[0].focus_questions[0]: is empty"),
        ([3], "modules[0].focus_questions[0]: must be the question as text"),
        ([{"text": "A?", "capacity": "kindness"}], "modules[0].focus_questions[0].capacity: 'kindness'"),
        ([{"text": "A?", "phase": "between"}], "modules[0].focus_questions[0].phase: is not a known key"),
        ([{"capacity": "relational"}], "modules[0].focus_questions[0].text: must be the question"),
        (["x" * 501], "modules[0].focus_questions[0]: is 501 characters long"),
        (["A?", "A?"], "modules[0].focus_questions[1]: is the same question"),
        ([f"Q{i}?" for i in range(FOCUS_MAX + 1)], f"has {FOCUS_MAX + 1} questions"),
    ],
)
def test_a_wrong_focus_question_is_reported_at_its_key(focus: object, where: str) -> None:
    assert any(where in p for p in problems(focus)), problems(focus)


def test_focus_questions_join_the_choice_of_their_module_only_and_are_preferred_there() -> None:
    library = Renderer().library
    own = read(["Wat viel je op?", "Met wie sprak je?"])
    candidates = [*library, *own]
    chosen = [choose_prompt(candidates, Phase.BETWEEN, "m1", ("relational",), (), f"p:{d}") for d in range(20)]
    assert {c.key for c in chosen if c is not None} <= {q.key for q in own} | {p.key for p in library if p.capacity == "relational"}
    assert any(isinstance(c, FocusQuestion) for c in chosen)
    elsewhere = [choose_prompt(candidates, Phase.BETWEEN, "m2", (), (), f"p:{d}") for d in range(50)]
    assert not any(isinstance(c, FocusQuestion) for c in elsewhere)
    # Once asked in the module, a focus question waits until the others fitting have been asked.
    used = {q.key for q in own}
    later = choose_prompt(candidates, Phase.BETWEEN, "m1", ("relational",), used, "p:1")
    assert later is not None and not isinstance(later, FocusQuestion)


def test_a_shipped_programme_has_focus_questions_in_its_own_language() -> None:
    path = Path(__file__).resolve().parents[2] / "programmes" / "leergang-publieke-werken.toml"
    programme = parse_programme(path.read_text(encoding="utf-8"))
    questions = [q for m in programme.modules for q in m.focus_questions]
    assert programme.language == "nl" and len(questions) >= 2 and any(q.capacity for q in questions)
