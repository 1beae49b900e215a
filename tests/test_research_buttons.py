"""The research consent buttons' callback data (bot/buttons.py): `rs:info` and `rs:<give|withdraw>:<person id>`
read back to the same values, stay within Telegram's 64 bytes, and nothing else of the form parses."""

from __future__ import annotations

import pytest

from bot import buttons
from bot.buttons import ResearchButton, ResearchInfoButton


@pytest.mark.parametrize(("button", "data"), [
    (ResearchInfoButton(), "rs:info"),
    (ResearchButton("give", 12), "rs:give:12"),
    (ResearchButton("withdraw", 12), "rs:withdraw:12"),
    (ResearchButton("withdraw", 99999999999), "rs:withdraw:99999999999"),
])
def test_each_consent_button_reads_back_to_itself(button: buttons.Button, data: str) -> None:
    assert button.data == data and len(data.encode()) <= buttons.MAX_BYTES
    assert buttons.parse(data) == button


@pytest.mark.parametrize("data", [
    "rs:", "rs:info:1", "rs:give", "rs:give:", "rs:give:x", "rs:give:-1", "rs:give:007", "rs:give:1:2",
    "rs:maybe:1", "rs:give:²", "rs:withdraw: 1", "rs:GIVE:1", "rs:give:999999999999",
])
def test_forged_or_malformed_consent_data_parses_to_none(data: str) -> None:
    assert buttons.parse(data) is None
