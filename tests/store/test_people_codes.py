"""Invite codes: unguessable, deep-link safe, and never read as a formula by a spreadsheet."""

from __future__ import annotations

import re

from bot.store import people


def test_an_invite_code_never_begins_with_a_dash(monkeypatch) -> None:
    # token_urlsafe begins with "-" once in 64 codes: the CSV export would have had to quote it.
    draws = iter(["-abcdefghijklmnop", "-qrstuvwxyzABCDEF", "Gabcdefghijklmnop"])
    monkeypatch.setattr(people.secrets, "token_urlsafe", lambda n: next(draws))
    assert people.new_code() == "Gabcdefghijklmnop"
    monkeypatch.undo()
    for _ in range(2000):
        code = people.new_code()
        assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{15}", code)
