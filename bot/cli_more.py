"""Sub-commands beyond run, migrate and programme: invites, imports, demo, backup, audit."""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds the extra sub-commands to the parser."""
    from bot import cli_audit

    cli_audit.add_commands(sub)
