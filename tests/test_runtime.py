"""What `pitstop run` does around the Application: it runs on uvloop's event loop where that is installed
(bot.loop.run_loop), and what start-up left alive is frozen out of later garbage collections, so that a
full collection does not hold every handler up (bot.runtime.spare_the_collector)."""

from __future__ import annotations

import asyncio
import gc
import sys

import pytest

from bot.loop import new_loop, run_loop
from bot.runtime import spare_the_collector


async def where_am_i(value: int) -> tuple[str, int]:
    """Gives the module of the running loop's class, and the value back."""
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__, value


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not installed on Windows (pyproject.toml)")
def test_the_bot_runs_on_uvloops_loop_and_gets_its_coroutines_result() -> None:
    module, value = run_loop(where_am_i(41))
    assert module.startswith("uvloop") and value == 41


async def test_the_tests_run_on_the_loop_the_bot_runs_on() -> None:
    probe = new_loop()
    try:
        assert type(asyncio.get_running_loop()) is type(probe)
    finally:
        probe.close()


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
