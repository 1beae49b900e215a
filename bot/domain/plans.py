"""Every message the bot plans, made one way: one constructor per kind gives the outbox row to add.

A planned row says what goes, to which chat, when, and the key that makes it happen once: planning
the same message again finds its key and adds nothing. The keys below are stored in every database
the bot ever ran on, so they never change shape (a restart must not send anything a second time).
Whoever plans a message calls the constructor of its kind here and hands the rows to
`bot.store.outbox.plan` (or `plan_many` inside a transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

MEMBERS = 0  # chat id of a digest row not yet expanded to its recipients


class Planned(NamedTuple):
    """A message to plan: what, for whom, when, and the key that makes it happen once.

    A NamedTuple, not a frozen dataclass: a week of nudges for 100,000 people makes 500,000 of them, and the
    dataclass's __init__ (2.2 µs, a `object.__setattr__` a field) was a tenth of planning (bench planning).
    """

    kind: str
    chat_id: int
    due_at: datetime
    dedupe_key: str
    person_id: int | None = None
    payload: dict[str, Any] | None = None
    broadcast_id: int | None = None


class Recipient(Protocol):
    """Someone a message goes to privately (a stored person)."""

    @property
    def id(self) -> int: ...

    @property
    def chat_id(self) -> int: ...


class Row(Protocol):
    """A row planned before (a stored outbox row), to plan again in another form."""

    @property
    def kind(self) -> str: ...

    @property
    def chat_id(self) -> int: ...

    @property
    def dedupe_key(self) -> str: ...

    @property
    def person_id(self) -> int | None: ...

    @property
    def payload(self) -> dict[str, Any]: ...


# --------------------------------------------------------------------------- a participant's day


def prompt(person: Recipient, due: datetime, zone: ZoneInfo) -> Planned:
    """The daily prompt: one a local day."""
    return Planned("prompt", person.chat_id, due, prompt_key(person.id, due, zone), person_id=person.id)


def prompts_at(person: Recipient, moments: Sequence[tuple[datetime, str]]) -> list[Planned]:
    """A person's daily prompts at moments whose local day (ISO) in the person's zone is already known: the
    planner works those out once for everyone with the same settings. The same rows as `prompt` gives."""
    person_id, chat_id = person.id, person.chat_id
    return [Planned("prompt", chat_id, due, f"prompt:{person_id}:{day}", person_id) for due, day in moments]


def prompt_key(person_id: int, moment: datetime, zone: ZoneInfo) -> str:
    """Gives the key of a person's daily prompt on the local day of a moment."""
    return f"prompt:{person_id}:{moment.astimezone(zone).date().isoformat()}"


def prompt_again(person: Recipient, due: datetime, outbox_id: int, prompt_key: str | None) -> Planned:
    """A prompt put off with *Later*: the same question again, once per prompt."""
    return Planned("prompt", person.chat_id, due, f"later:{outbox_id}", person_id=person.id,
                   payload={"prompt_key": prompt_key, "again_of": outbox_id})


def follow_up(person: Recipient, due: datetime, reflection_id: int) -> Planned:
    """The question about what came of an intention: once per intention."""
    return Planned("follow_up", person.chat_id, due, f"follow_up:{reflection_id}", person_id=person.id,
                   payload={"reflection_id": reflection_id})


def reminder(
    person: Recipient, due: datetime, programme_id: int, about: str, kind: str, event_kind: str, starts: datetime,
    set_key: str | None,
) -> Planned:
    """A calendar reminder (`about` is the reminder's own key, the same while its event stays)."""
    return Planned(
        "reminder", person.chat_id, due, f"reminder:{programme_id}:{about}:{person.id}", person_id=person.id,
        payload={"programme_id": programme_id, "reminder": kind, "event_kind": event_kind,
                 "starts": starts.astimezone(UTC).isoformat(), "set_key": set_key},
    )


def in_the_evening(row: Row, due: datetime) -> Planned:
    """A case round moved to the evening of a residential day: once."""
    return _again(row, due, "evening")


def waiting_for_the_question(row: Row, due: datetime) -> Planned:
    """A reminder that waits for the day's question, to go just after it if it goes alone: once."""
    return _again(row, due, "waits")


def next_day(row: Row, due: datetime) -> Planned:
    """A follow-up that lost its day to another question (the daily budget), on the next day: once."""
    return _again(row, due, "next")


# --------------------------------------------------------------------------- learning sets


def digest(digest_id: int, due: datetime) -> Planned:
    """A set's digest, to MEMBERS: when it falls due it becomes the rows of its recipients."""
    return Planned("digest", MEMBERS, due, f"digest:{digest_id}", payload={"digest_id": digest_id})


def digest_to_group(digest_id: int, group_chat_id: int, due: datetime) -> Planned:
    """A digest's copy for the set's linked group."""
    return Planned("digest", group_chat_id, due, f"digest:{digest_id}:group:{group_chat_id}",
                   payload={"digest_id": digest_id})


def digest_to_member(digest_id: int, member: Recipient, due: datetime) -> Planned:
    """A digest's copy for one member, privately (no group linked, or the group was lost)."""
    return Planned("digest", member.chat_id, due, f"digest:{digest_id}:member:{member.id}", person_id=member.id,
                   payload={"digest_id": digest_id})


def case_round(digest_id: int, member: Recipient, due: datetime) -> Planned:
    """The question whether a member brings a case to the meeting a digest prepares."""
    return Planned("case_round", member.chat_id, due, f"case_round:{digest_id}:{member.id}", person_id=member.id,
                   payload={"digest_id": digest_id})


def group_lost(facilitator: Recipient, set_id: int, set_name: str, chat_id: int, occasion: str, due: datetime) -> Planned:
    """Tells a facilitator the bot left a set's group (once per occasion)."""
    return Planned("notice", facilitator.chat_id, due, f"group_lost:{set_id}:{chat_id}:{occasion}:{facilitator.id}",
                   person_id=facilitator.id, payload={"template": "group_lost", "values": {"set_name": set_name}})


def group_moved(
    facilitator: Recipient, from_set_id: int, set_name: str, new_set: str, by: str, chat_id: int, occasion: str,
    due: datetime,
) -> Planned:
    """Tells a facilitator their set's group now serves another set (once per occasion)."""
    return Planned("notice", facilitator.chat_id, due, f"group_moved:{from_set_id}:{chat_id}:{occasion}:{facilitator.id}",
                   person_id=facilitator.id, payload={"template": "group_moved", "values": {
                       "set_name": set_name, "new_set": new_set, "by": by}})


def group_unlinked(set_id: int, set_name: str, chat_id: int, language: str, occasion: str, due: datetime) -> Planned:
    """Tells a group it no longer serves its set, in the programme's language (once per occasion)."""
    return Planned("notice", chat_id, due, f"group_unlinked:{set_id}:{chat_id}:{occasion}",
                   payload={"template": "group_unlinked", "language": language, "values": {"set_name": set_name}})


def to_migrated_group(row: Row, new_chat_id: int, due: datetime) -> Planned:
    """A message for a group that became a supergroup, to its new chat id: once."""
    return _again(row, due, f"to:{new_chat_id}", chat_id=new_chat_id)


# --------------------------------------------------------------------------- facilitators


def broadcast_copy(broadcast_id: int, person: Recipient, due: datetime) -> Planned:
    """One recipient's copy of a broadcast."""
    return Planned("broadcast", person.chat_id, due, f"broadcast:{broadcast_id}:{person.id}", person_id=person.id,
                   broadcast_id=broadcast_id)


def _again(row: Row, due: datetime, suffix: str, chat_id: int | None = None) -> Planned:
    return Planned(row.kind, row.chat_id if chat_id is None else chat_id, due, f"{row.dedupe_key}:{suffix}",
                   person_id=row.person_id, payload=row.payload)


# --------------------------------------------------------------------------- falling quiet


def checkin(person: Recipient, due: datetime, quiet_since: datetime) -> Planned:
    """The one friendly check-in for someone who fell quiet: once per silence (the moment it counts from)."""
    since = quiet_since.astimezone(UTC).isoformat(timespec="seconds")
    return Planned("checkin", person.chat_id, due, f"checkin:{person.id}:{since}", person_id=person.id,
                   payload={"since": since})
