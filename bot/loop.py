"""The event loop the bot runs on: uvloop's where it is installed, else asyncio's own.

A module of its own, importing nothing but asyncio (and uvloop), so that a command or a benchmark that only
wants the loop does not load the whole bot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def new_loop() -> asyncio.AbstractEventLoop:
    """Gives the event loop the bot runs on: uvloop's where it is installed (every platform but Windows,
    see pyproject.toml), else asyncio's own.

    Why: one person's message waits for the event loop again and again (the update, each trip to the
    database thread, the reply), and uvloop's callbacks, tasks and sockets cost it less CPU than asyncio's;
    about 0.5 to 1 ms of a message for one user (`python -m bench reflections`, bench/RESULTS.md 8 December).
    """
    try:
        import uvloop
    except ImportError:  # Windows, or installed without it: asyncio's loop does the same, a little slower
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Runs `main` to its end on a new loop of `new_loop`'s kind (as `asyncio.run` does), and gives its result."""
    with asyncio.Runner(loop_factory=new_loop) as runner:
        return runner.run(main)
