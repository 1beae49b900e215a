"""Callback data: every button's data is the string earlier releases wrote, parses back to the same
value, and nothing else parses (forged, stale in form, too long, malformed)."""

from __future__ import annotations

import pytest

from bot import buttons
from bot.buttons import (
    AudienceButton,
    CaseRoundButton,
    CaseStopButton,
    ConfirmButton,
    DayButton,
    DaysDoneButton,
    DeeperButton,
    DeeperStopButton,
    DraftButton,
    FacilitatorButton,
    ForgetButton,
    HourButton,
    JournalEntryButton,
    JournalPageButton,
    LanguageButton,
    PrivacyButton,
    PromptButton,
    RemindersButton,
    SettingButton,
    ShareButton,
    ZoneButton,
)

# The data of every kind of button, as the bot has written it since the first release.
WRITTEN = [
    (PromptButton("later", 12), "pr:later:12"),
    (PromptButton("skip", 7), "pr:skip:7"),
    (CaseRoundButton(True, 40), "cs:yes:40"),
    (CaseRoundButton(False, 40), "cs:no:40"),
    (CaseStopButton(3), "cs:stop:3"),
    (ShareButton(5, "private"), "sh:5:private"),
    (ShareButton(5, "shared"), "sh:5:shared"),
    (ShareButton(5, "takeaway"), "sh:5:takeaway"),
    (ShareButton(5, "cancel"), "sh:5:cancel"),
    (ConfirmButton(9, True), "cf:9:yes"),
    (ConfirmButton(9, False), "cf:9:no"),
    (JournalPageButton(0), "jr:0"),
    (JournalPageButton(12), "jr:12"),
    *[(JournalEntryButton(1, a, 88), f"jr:1:{a}:88") for a in ("u", "o", "c", "d", "y", "n", "x")],
    (ForgetButton(True), "fg:yes"),
    (ForgetButton(False), "fg:no"),
    (LanguageButton("nl"), "ob:lang:nl"),
    (LanguageButton("en"), "ob:lang:en"),
    *[(ZoneButton(z), f"ob:tz:{z}") for z in buttons.ZONE_BUTTONS],
    *[(HourButton(h), f"ob:hour:{h}") for h in buttons.HOUR_BUTTONS],
    *[(DayButton(d), f"ob:day:{d}") for d in range(7)],
    (DaysDoneButton(), "ob:days:ok"),
    (PrivacyButton(), "ob:ok"),
    *[(SettingButton(s), f"st:{s}") for s in ("language", "timezone", "hour", "days", "activity", "cancel")],
    (AudienceButton("p", 1), "bc:aud:p:1"),
    (AudienceButton("s", 2), "bc:aud:s:2"),
    (AudienceButton("f", 1), "bc:aud:f:1"),
    (DraftButton("send", 4), "bc:send:4"),
    (DraftButton("when", 4), "bc:when:4"),
    (DraftButton("cancel", 4), "bc:cancel:4"),
    (RemindersButton(True, 6), "rm:mute:6"),
    (RemindersButton(False, 6), "rm:unmute:6"),
    *[(FacilitatorButton(5, a), f"fc:5:{a}") for a in ("ask", "whole", "line", "undo", "cancel")],
    (DeeperButton(31), "dp:31"),
    (DeeperStopButton(4), "dp:stop:4"),
]


@pytest.mark.parametrize(("button", "data"), WRITTEN, ids=[d for _, d in WRITTEN])
def test_every_button_writes_the_data_of_earlier_releases_and_reads_it_back(button: buttons.Button, data: str) -> None:
    assert button.data == data
    assert buttons.parse(data) == button


def test_ids_and_pages_are_read_as_ints() -> None:
    pressed = buttons.parse("jr:3:o:12345678901")
    assert pressed == JournalEntryButton(3, "o", 12345678901)
    assert isinstance(pressed, JournalEntryButton) and isinstance(pressed.reflection_id, int)


@pytest.mark.parametrize(
    "data",
    [
        None, "", ":", "pr", "pr:", "pr:later:", "pr:snooze:1", "pr:skip:-1", "pr:skip:+1", "pr:skip: 1",
        "pr:skip:1_0", "pr:skip:²", "pr:later:①", "pr:skip:007", "pr:skip:99999999999999999999",
        "pr:skip:1:extra", "pr:skip:1\n", "sh::shared", "sh:1:", "sh:1:public", "cf:abc:no", "cf:1:maybe",
        "cs:maybe:1", "cs:stop:", "jr:-1", "jr:abc", "jr:1e9", "jr:9999999", "jr:1:z:1", "jr:1:o", "jr:²",
        "jr:" + "1" * 200, "fg:", "fg:maybe", "fg:yes:", "ob:lang:de", "ob:lang:", "ob:tz:Mars/Olympus",
        "ob:hour:99", "ob:hour:09", "ob:hour:10", "ob:day:9", "ob:days:no", "st:nonsense", "st:", "bc:aud:x:1",
        "bc:aud:p:", "bc:aud:p:²", "bc:publish:1", "rm:mute:", "rm:mute:²", "rm:silence:1", "dp:", "dp:-3", "dp:stop:", "dp:stop:x", "dp:go:1", "zz:1", "0" * 64,
        "".join(chr(c) for c in range(1, 33)) + "é" * 16, "pr:skip:\ud800",
    ],
)
def test_anything_the_bot_did_not_write_parses_to_none(data: str | None) -> None:
    assert buttons.parse(data) is None


def test_data_longer_than_telegram_allows_is_refused_both_ways() -> None:
    assert buttons.parse("st:" + "a" * 62) is None
    with pytest.raises(ValueError):
        _ = ZoneButton("Europe/" + "x" * 60).data
