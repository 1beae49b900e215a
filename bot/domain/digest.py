"""Digests of a learning set: when they go, what they hold, and how a long one is split.

Pure. The sharing rule lives here: a digest holds only entries shared for its own set, not yet
carried by an earlier digest; the store selects by those rules and this module checks them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.nudges import local_moment
from bot.domain.programme import Event

TELEGRAM_LIMIT = 4096
CASE_ROUND_EXTRA_DAYS = 1  # the case round comes a day before the digest
DIGEST_HOUR = 9
WEEKLY_DIGEST_WEEKDAY = 4  # Friday, for sets without meetings
TAKEAWAY_LIMIT = 280
CASE_LIMIT = 1000


@dataclass(frozen=True)
class DigestSlot:
    """One digest to plan: when it goes and the meeting it prepares (None for a weekly one)."""

    send_at: datetime  # UTC
    meeting: Event | None
    period_key: str  # unique per set: the meeting's start, or the ISO week


@dataclass(frozen=True)
class SharedEntry:
    """An entry as a digest may show it: text only when shared, a line when a takeaway."""

    reflection_id: int
    person_id: int
    author: str
    set_id: int | None
    visibility: str
    text: str
    takeaway: str | None
    written_at: datetime
    digest_id: int | None


def digest_slots(
    meetings: list[Event], days_before: int, zone: ZoneInfo, now: datetime, horizon: timedelta
) -> list[DigestSlot]:
    """Gives the digests due in [now, now + horizon): some days before each meeting, else weekly."""
    slots = []
    if meetings:
        for meeting in meetings:
            day = meeting.starts.astimezone(zone).date() - timedelta(days=days_before)
            send_at = local_moment(day, DIGEST_HOUR, 0, zone).astimezone(UTC)
            if send_at >= meeting.starts:
                send_at = meeting.starts - timedelta(hours=2)
            if now <= send_at < now + horizon:
                slots.append(DigestSlot(send_at, meeting, meeting.starts.astimezone(UTC).isoformat()))
        return slots
    day = now.astimezone(zone).date()
    last = (now + horizon).astimezone(zone).date()
    while day <= last:
        if day.weekday() == WEEKLY_DIGEST_WEEKDAY:
            send_at = local_moment(day, DIGEST_HOUR, 0, zone).astimezone(UTC)
            if now <= send_at < now + horizon:
                year, week, _ = day.isocalendar()
                slots.append(DigestSlot(send_at, None, f"{year}-W{week:02d}"))
        day += timedelta(days=1)
    return slots


def case_round_time(slot: DigestSlot, zone: ZoneInfo) -> datetime | None:
    """Gives when members are asked whether they bring a case: a day before the digest (meetings only)."""
    if slot.meeting is None:
        return None
    day: date = slot.send_at.astimezone(zone).date() - timedelta(days=CASE_ROUND_EXTRA_DAYS)
    return local_moment(day, DIGEST_HOUR, 0, zone).astimezone(UTC)


def visible_in_digest(entry: SharedEntry, set_id: int, digest_id: int) -> bool:
    """Gives whether an entry may appear in this set's digest: shared, for this set, carried by this digest."""
    return entry.visibility in ("shared", "takeaway") and entry.set_id == set_id and entry.digest_id == digest_id


def shown_text(entry: SharedEntry) -> str:
    """Gives what a digest shows of an entry: the whole text, or only the takeaway line."""
    if entry.visibility == "takeaway":
        return entry.takeaway or ""
    if entry.visibility == "shared":
        return entry.text
    return ""


def by_member(entries: list[SharedEntry]) -> list[tuple[str, list[SharedEntry]]]:
    """Groups entries by author in the order of their first entry, each author's entries by date."""
    groups: dict[int, list[SharedEntry]] = {}
    names: dict[int, str] = {}
    for entry in sorted(entries, key=lambda e: (e.written_at, e.reflection_id)):
        groups.setdefault(entry.person_id, []).append(entry)
        names[entry.person_id] = entry.author
    return [(names[pid], items) for pid, items in groups.items()]


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Gives the text in pieces of at most `limit` characters, cut at paragraph boundaries when possible.

    A paragraph longer than the limit is cut at line ends, then at spaces, then hard. HTML tags
    are opened and closed within a paragraph in our templates, so paragraph cuts keep them whole.
    """
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    current = ""
    for paragraph in text.split("\n\n"):
        for chunk in _fit(paragraph, limit):
            candidate = f"{current}\n\n{chunk}" if current else chunk
            if len(candidate) <= limit:
                current = candidate
            else:
                pieces.append(current)
                current = chunk
    if current:
        pieces.append(current)
    return [p for p in pieces if p.strip()]


def _fit(paragraph: str, limit: int) -> list[str]:
    if len(paragraph) <= limit:
        return [paragraph]
    out: list[str] = []
    current = ""
    for line in paragraph.split("\n"):
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            out.append((current + "\n" + line[:cut]).strip("\n") if current else line[:cut])
            current = ""
            line = line[cut:].lstrip()
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
        else:
            out.append(current)
            current = line
    if current:
        out.append(current)
    return out
