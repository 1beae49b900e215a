"""`pitstop import`: bulk enrolment from a CSV file (being written)."""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds `import` (not yet)."""
