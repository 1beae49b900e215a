"""What `pitstop run` does once the Application has started: what start-up left alive is frozen out of later
garbage collections, so that a full collection does not hold every handler up (bot.runtime.spare_the_collector)."""

from __future__ import annotations

import gc

from bot.runtime import spare_the_collector


class StartUpThing:
    """Something alive since start-up, in a reference cycle as templates and handlers are."""

    def __init__(self) -> None:
        self.me = self


def test_what_start_up_left_alive_is_out_of_the_collectors_sight_and_what_comes_later_is_not() -> None:
    alive = [StartUpThing() for _ in range(500)]
    try:
        spare_the_collector()
        later = StartUpThing()
        looked_at = {id(thing) for generation in range(3) for thing in gc.get_objects(generation)}
        assert gc.get_freeze_count() >= len(alive)
        assert not any(id(thing) in looked_at for thing in alive)
        assert id(later) in looked_at  # traffic's objects are still collected
        del later
    finally:
        gc.unfreeze()  # the test process starts many Applications: it must not keep their cycles
