"""Which ALACT steps going deeper asks: three at most, the trial last, looking back left out when it is done."""

from __future__ import annotations

from bot.domain.deepening import MAX_QUESTIONS, PHASES, next_phase, route


def test_a_reflection_of_ones_own_is_looked_back_on_then_made_essential_then_tried() -> None:
    assert route(follows_up=False, intention=False) == ("looking_back", "essential", "trial")


def test_after_a_follow_up_or_an_intention_looking_back_is_left_out() -> None:
    assert route(follows_up=True, intention=False) == ("essential", "alternatives", "trial")
    assert route(follows_up=False, intention=True) == ("essential", "alternatives", "trial")


def test_every_route_asks_at_most_three_steps_in_cycle_order_ending_in_the_trial() -> None:
    for follows_up in (True, False):
        for intention in (True, False):
            steps = route(follows_up, intention)
            assert len(steps) <= MAX_QUESTIONS and steps[-1] == "trial"
            assert list(steps) == sorted(steps, key=PHASES.index)


def test_the_next_step_follows_the_answers_and_ends_after_the_last() -> None:
    steps = route(False, False)
    assert [next_phase(steps, n) for n in range(4)] == ["looking_back", "essential", "trial", None]
    assert next_phase(steps, -1) is None
