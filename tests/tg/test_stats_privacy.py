"""/stats never lets a count single someone out: activity counts of fewer than five people are
hidden unless all of them chose to show their activity, and so are totals that would give them away."""

from __future__ import annotations

from bot.store.stats import PersonActivity, ProgrammeStats, SetStats
from bot.tg.stats import hidden_rows, hides


def a_set(set_id: int, joined: int, showing: int = 0) -> SetStats:
    people = tuple(PersonActivity(set_id * 100 + i, f"P{i}", 1) for i in range(showing))
    return SetStats(set_id, f"s{set_id}", f"Set {set_id}", joined, joined, 1, 1, 1, 1, people)


def test_a_set_of_five_shows_its_counts() -> None:
    assert not hides(a_set(1, 5))


def test_a_set_of_three_hides_its_counts() -> None:
    assert hides(a_set(1, 3)) and hides(a_set(1, 3, showing=2))


def test_a_small_set_whose_members_all_show_their_activity_hides_nothing() -> None:
    assert not hides(a_set(1, 3, showing=3))


def test_totals_are_hidden_when_they_would_give_one_small_set_away() -> None:
    hidden, totals = hidden_rows(ProgrammeStats(1, "m1", (a_set(1, 8), a_set(2, 3))))
    assert hidden == {2} and totals


def test_totals_stay_when_the_small_sets_together_are_five_or_more() -> None:
    hidden, totals = hidden_rows(ProgrammeStats(1, "m1", (a_set(1, 8), a_set(2, 3), a_set(3, 2))))
    assert hidden == {2, 3} and not totals
    assert hidden_rows(ProgrammeStats(1, "m1", (a_set(1, 8), a_set(2, 6)))) == (set(), False)
