"""Every planned message is made by one constructor per kind, with the very key the bot stored before.

The keys are in every database the bot ran on: a key that changed shape would let a restart plan,
and send, the same message a second time. So each is written out here as it was before
bot.domain.plans gathered them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain import plans
from bot.domain.plans import MEMBERS, Planned

NOW = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)  # already the 26th in Amsterdam
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@dataclass(frozen=True)
class Someone:
    id: int = 7
    chat_id: int = 7007


@dataclass(frozen=True)
class Row:
    kind: str = "case_round"
    chat_id: int = -100
    dedupe_key: str = "case_round:3:7"
    person_id: int | None = 7
    payload: dict[str, Any] = field(default_factory=lambda: {"digest_id": 3})


P = Someone()


def test_the_keys_of_a_participants_day_are_the_ones_stored_before() -> None:
    assert plans.prompt(P, NOW, AMSTERDAM) == Planned("prompt", 7007, NOW, "prompt:7:2026-11-26", person_id=7)
    assert plans.prompt(P, NOW, ZoneInfo("UTC")).dedupe_key == "prompt:7:2026-11-25"
    assert plans.prompt_again(P, NOW, 41, "p-key") == Planned(
        "prompt", 7007, NOW, "later:41", person_id=7, payload={"prompt_key": "p-key", "again_of": 41})
    assert plans.follow_up(P, NOW, 12) == Planned(
        "follow_up", 7007, NOW, "follow_up:12", person_id=7, payload={"reflection_id": 12})
    starts = datetime(2026, 12, 1, 9, tzinfo=AMSTERDAM)
    assert plans.reminder(P, NOW, 2, "tomorrow:pitstop:2026-12-01T08:00:00+00:00", "tomorrow", "pitstop", starts,
                          "s1") == Planned(
        "reminder", 7007, NOW, "reminder:2:tomorrow:pitstop:2026-12-01T08:00:00+00:00:7", person_id=7,
        payload={"programme_id": 2, "reminder": "tomorrow", "event_kind": "pitstop",
                 "starts": "2026-12-01T08:00:00+00:00", "set_key": "s1"})


def test_a_row_planned_again_keeps_its_key_with_a_suffix() -> None:
    row = Row()
    assert plans.in_the_evening(row, NOW) == Planned(
        "case_round", -100, NOW, "case_round:3:7:evening", person_id=7, payload={"digest_id": 3})
    reminder = Row(kind="reminder", chat_id=7007, dedupe_key="reminder:2:x:7", payload={"a": 1})
    assert plans.waiting_for_the_question(reminder, NOW) == Planned(
        "reminder", 7007, NOW, "reminder:2:x:7:waits", person_id=7, payload={"a": 1})
    assert plans.to_migrated_group(row, -200, NOW) == Planned(
        "case_round", -200, NOW, "case_round:3:7:to:-200", person_id=7, payload={"digest_id": 3})
    follow_up = Row(kind="follow_up", chat_id=7007, dedupe_key="follow_up:12", payload={"reflection_id": 12})
    assert plans.next_day(follow_up, NOW) == Planned(
        "follow_up", 7007, NOW, "follow_up:12:next", person_id=7, payload={"reflection_id": 12})


def test_the_keys_of_a_learning_set_are_the_ones_stored_before() -> None:
    assert plans.digest(3, NOW) == Planned("digest", MEMBERS, NOW, "digest:3", payload={"digest_id": 3})
    assert MEMBERS == 0
    assert plans.digest_to_group(3, -100, NOW) == Planned("digest", -100, NOW, "digest:3:group:-100",
                                                          payload={"digest_id": 3})
    assert plans.digest_to_member(3, P, NOW) == Planned("digest", 7007, NOW, "digest:3:member:7", person_id=7,
                                                        payload={"digest_id": 3})
    assert plans.case_round(3, P, NOW) == Planned("case_round", 7007, NOW, "case_round:3:7", person_id=7,
                                                  payload={"digest_id": 3})
    assert plans.group_lost(P, 4, "Set A", -100, "row9", NOW) == Planned(
        "notice", 7007, NOW, "group_lost:4:-100:row9:7", person_id=7,
        payload={"template": "group_lost", "values": {"set_name": "Set A"}})
    assert plans.group_moved(P, 4, "Set A", "Set B", "Femke", -100, "update5", NOW) == Planned(
        "notice", 7007, NOW, "group_moved:4:-100:update5:7", person_id=7,
        payload={"template": "group_moved", "values": {"set_name": "Set A", "new_set": "Set B", "by": "Femke"}})
    assert plans.group_unlinked(4, "Set A", -300, "nl", "update5", NOW) == Planned(
        "notice", -300, NOW, "group_unlinked:4:-300:update5",
        payload={"template": "group_unlinked", "language": "nl", "values": {"set_name": "Set A"}})


def test_a_broadcast_copy_keeps_its_key() -> None:
    assert plans.broadcast_copy(9, P, NOW) == Planned("broadcast", 7007, NOW, "broadcast:9:7", person_id=7,
                                                      broadcast_id=9)
