"""Small-cell suppression: counts of so few people that they would point at someone stay hidden.

One rule for every facilitator's view (/stats and the brief before a meeting): a group of fewer than
five, not all of whom chose to show their activity, shows no activity counts.
"""

from __future__ import annotations

SMALLEST_GROUP = 5  # activity counts of fewer people than this could single someone out


def singles_out(people: int, showing: int) -> bool:
    """Gives whether activity counts of a group of `people`, `showing` of whom chose to show their
    activity, must stay hidden: fewer than five, and not all of them agreed to be seen."""
    return people < SMALLEST_GROUP and showing < people
