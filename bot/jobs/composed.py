"""The one shape every composer gives: the message a claimed outbox row becomes, or why it does not go."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from telegram import InlineKeyboardMarkup

from bot.domain.plans import Planned


@dataclass(frozen=True)
class Composed:
    """A message ready to send, or the reason it must not be sent."""

    text: str = ""
    keyboard: InlineKeyboardMarkup | None = None  # under the first part
    cancel_reason: str | None = None
    prompt_key: str | None = None
    module_key: str | None = None
    more: tuple[str, ...] = ()  # further messages of a long text, sent after the first
    cancel_status: str = "cancelled"  # the status a row gets when it is not sent
    expand: tuple[Planned, ...] = ()  # rows to plan instead of this one
    document: tuple[str, bytes] | None = None  # a file (name, content) sent with the text as its caption
    photo: bytes | None = None  # a picture sent after the text (a brief's chart), with its caption
    caption: str = ""
    # A write of the composer's own (a store write unit) that must commit with the row's end when it is not
    # sent: sealing a digest as it expands into its copies, say (bot.store.db.Database.write).
    writes: Callable[[sqlite3.Connection], object] | None = None

    @property
    def texts(self) -> tuple[str, ...]:
        """Gives every message of the text, the first and the further parts."""
        return (self.text, *self.more)

    @property
    def goes(self) -> bool:
        """Gives whether the row is sent (no reason to cancel it)."""
        return self.cancel_reason is None


def cancelled(
    reason: str, status: str = "cancelled", expand: tuple[Planned, ...] = (),
    writes: Callable[[sqlite3.Connection], object] | None = None,
) -> Composed:
    """Gives the answer for a row that must not be sent: why, the status it gets, rows to plan instead, and a
    write to commit with it."""
    return Composed(cancel_reason=reason, cancel_status=status, expand=expand, writes=writes)
