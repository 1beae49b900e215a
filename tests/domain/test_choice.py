"""Prompt choice: fits the phase, the same for the same participant and day, no repeat within a
module while fitting prompts are left, the module's capacity focus first — on toy and real libraries."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest

from bot.domain.choice import PHASE_FOR_PROMPTS, choose_prompt
from bot.domain.programme import Phase
from bot.render import Renderer


@dataclass(frozen=True)
class Prompt:
    key: str
    phases: tuple[str, ...]
    capacity: str
    modules: tuple[str, ...] = ()


LIBRARY = [
    Prompt("prep-cog-1", ("preparing",), "cognitive"),
    Prompt("prep-cog-2", ("preparing",), "cognitive"),
    Prompt("prep-rel-1", ("preparing",), "relational"),
    Prompt("prep-int-1", ("preparing",), "intervention"),
    Prompt("prep-cb-1", ("preparing",), "cross-boundary"),
    Prompt("between-cog-1", ("between",), "cognitive"),
    Prompt("between-rel-1", ("between", "before_meeting"), "relational"),
    Prompt("between-rel-2", ("between",), "relational"),
    Prompt("meeting-int-1", ("before_meeting",), "intervention"),
    Prompt("event-cog-1", ("at_event",), "cognitive"),
    Prompt("after-rel-1", ("just_after",), "relational"),
    Prompt("m3-only", ("between",), "cognitive", modules=("m3",)),
]

REAL_LIBRARY = Renderer().library


def fitting(library: list, phase: Phase, module_key: str = "m1") -> set[str]:
    wanted = PHASE_FOR_PROMPTS[phase]
    return {
        p.key for p in library if wanted in p.phases and (not p.modules or module_key in p.modules)
    }


def test_the_same_participant_and_day_get_the_same_prompt() -> None:
    picks = {
        choose_prompt(LIBRARY, Phase.PREPARING, "m1", (), {"prep-cog-1"}, "person-7:2027-01-05").key
        for _ in range(5)
    }
    shuffled = list(reversed(LIBRARY))

    assert len(picks) == 1
    assert (
        choose_prompt(
            shuffled, Phase.PREPARING, "m1", (), {"prep-cog-1"}, "person-7:2027-01-05"
        ).key
        in picks
    )


@pytest.mark.parametrize("phase", list(Phase))
def test_the_prompt_fits_the_phase(phase: Phase) -> None:
    for day in range(20):
        chosen = choose_prompt(LIBRARY, phase, "m1", (), (), f"p1:{day}")
        assert chosen is not None
        assert chosen.key in fitting(LIBRARY, phase)


def test_a_prompt_limited_to_another_module_is_never_chosen() -> None:
    chosen = {choose_prompt(LIBRARY, Phase.BETWEEN, "m1", (), (), f"p:{d}").key for d in range(200)}

    assert "m3-only" not in chosen
    assert "m3-only" in {
        choose_prompt(LIBRARY, Phase.BETWEEN, "m3", (), (), f"p:{d}").key for d in range(200)
    }


def test_a_used_prompt_is_not_repeated_while_an_unused_fitting_one_remains() -> None:
    preparing = fitting(LIBRARY, Phase.PREPARING)
    for left in sorted(preparing):
        used = preparing - {left}
        for day in range(10):
            assert choose_prompt(LIBRARY, Phase.PREPARING, "m1", (), used, f"p:{day}").key == left


def test_when_every_fitting_prompt_was_used_one_is_still_given() -> None:
    preparing = fitting(LIBRARY, Phase.PREPARING)

    chosen = choose_prompt(LIBRARY, Phase.PREPARING, "m1", (), preparing, "p:1")

    assert chosen is not None and chosen.key in preparing


def test_an_empty_library_gives_nothing() -> None:
    assert choose_prompt([], Phase.BETWEEN, "m1", ("cognitive",), (), "p:1") is None


def test_the_modules_capacity_focus_is_preferred_while_focused_prompts_remain() -> None:
    for day in range(30):
        chosen = choose_prompt(LIBRARY, Phase.PREPARING, "m1", ("relational",), (), f"p:{day}")
        assert chosen.key == "prep-rel-1"
    # Once the only relational one is used, the others come.
    after = choose_prompt(LIBRARY, Phase.PREPARING, "m1", ("relational",), {"prep-rel-1"}, "p:1")
    assert after.capacity != "relational"
    # A focus of two capacities draws from both.
    both = {
        choose_prompt(
            LIBRARY, Phase.PREPARING, "m1", ("cognitive", "cross-boundary"), (), f"p:{d}"
        ).capacity
        for d in range(60)
    }
    assert both == {"cognitive", "cross-boundary"}


def test_a_used_focused_prompt_is_not_preferred_over_an_unused_one_outside_the_focus() -> None:
    used = {"prep-cog-1", "prep-cog-2"}

    chosen = choose_prompt(LIBRARY, Phase.PREPARING, "m1", ("cognitive",), used, "p:1")

    assert chosen.key not in used


def test_different_participants_and_days_spread_over_the_fitting_prompts() -> None:
    counts = Counter(
        choose_prompt(REAL_LIBRARY, Phase.BETWEEN, "m1", (), (), f"person-{p}:day-{d}").key
        for p in range(20)
        for d in range(10)
    )
    between = fitting(REAL_LIBRARY, Phase.BETWEEN)

    assert set(counts) == between
    assert max(counts.values()) < 0.3 * sum(counts.values())


@pytest.mark.parametrize("phase", list(Phase))
def test_the_real_library_has_a_prompt_for_every_phase(phase: Phase) -> None:
    assert fitting(REAL_LIBRARY, phase), (
        f"no prompt in prompts/library.toml for {PHASE_FOR_PROMPTS[phase]}"
    )
    chosen = choose_prompt(REAL_LIBRARY, phase, "m1", ("relational",), (), "p:1")
    assert chosen is not None and chosen.key in fitting(REAL_LIBRARY, phase)


@pytest.mark.parametrize(
    "phase",
    [Phase.PREPARING, Phase.AT_EVENT, Phase.JUST_AFTER, Phase.BETWEEN, Phase.BEFORE_MEETING],
)
def test_a_participant_sees_every_fitting_prompt_once_before_any_comes_again(phase: Phase) -> None:
    """Thirty days in one phase of a module, the used keys fed back the way the bot stores them."""
    used: list[str] = []
    for day in range(30):
        chosen = choose_prompt(
            REAL_LIBRARY,
            phase,
            "m2",
            ("cognitive", "relational"),
            used,
            f"42:2027-03-{day + 1:02d}",
        )
        assert chosen is not None
        used.append(chosen.key)

    whole = fitting(REAL_LIBRARY, phase)
    assert set(used[: len(whole)]) == whole
    assert len(set(used[: len(whole)])) == len(whole)
    assert set(used) <= whole


def test_over_a_module_a_prompt_repeats_only_once_its_phase_was_exhausted() -> None:
    """A module's 30 days move through its phases; a repeat is allowed only when nothing fitting is left."""
    days = (
        [Phase.PREPARING] * 8
        + [Phase.AT_EVENT] * 5
        + [Phase.JUST_AFTER] * 3
        + [Phase.BETWEEN] * 10
        + [Phase.BEFORE_MEETING] * 4
    )
    used: list[str] = []
    for day, phase in enumerate(days):
        chosen = choose_prompt(REAL_LIBRARY, phase, "m2", ("relational",), used, f"42:{day}")
        assert chosen is not None and chosen.key in fitting(REAL_LIBRARY, phase)
        if chosen.key in used:
            assert fitting(REAL_LIBRARY, phase) <= set(used), f"{chosen.key} repeated on day {day}"
        used.append(chosen.key)
    assert len(set(used)) == len(used)  # 30 days never exhaust any phase of the real library
