"""Digests of a learning set: when they go, what they hold, and how a long one is split.

Pure. The sharing rule lives here: a digest holds only entries shared for its own set, not yet
carried by an earlier digest; the store selects by those rules and this module checks them again.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from bot.domain.nudges import local_moment
from bot.domain.programme import Event

TELEGRAM_LIMIT = 4096
CASE_ROUND_EXTRA_DAYS = 1  # the case round comes a day before the digest
DIGEST_HOUR = 9
WEEKLY_DIGEST_WEEKDAY = 4  # Friday, for sets without meetings
TAKEAWAY_LIMIT = 280
CASE_LIMIT = 1000
# What one digest may carry: a group gets one message per 3 s, and a digest is read before a meeting.
DIGEST_PARTS = 4  # messages; shared entries past them wait for the next digest (and show in /digest)
ENTRY_LIMIT = TELEGRAM_LIMIT  # of one entry's text in a digest: what one message holds (an entry may merge many)


@dataclass(frozen=True)
class DigestSlot:
    """One digest to plan: when it goes and the meeting it prepares (None for a weekly one)."""

    send_at: datetime  # UTC
    meeting: Event | None
    period_key: str  # unique per set: the meeting's start, or the ISO week


class SharedEntry(NamedTuple):
    """An entry as a digest may show it: text only when shared, a line when a takeaway.

    A NamedTuple, not a frozen dataclass like the other values here: a digest reads two dozen of them twice
    (when it is sealed and for each copy), and a frozen dataclass's __init__ took about 3 µs each, most of
    what turning a read row into an entry cost. Immutable and compared by value all the same."""

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
    """Gives the digests due in [now, now + horizon): some days before each meeting, else weekly.

    A meeting planned (or moved) to less than `days_before` ahead still gets its digest, at once:
    it is of use until the meeting begins.
    """
    slots = []
    if meetings:
        for meeting in meetings:
            day = meeting.starts.astimezone(zone).date() - timedelta(days=days_before)
            send_at = local_moment(day, DIGEST_HOUR, 0, zone).astimezone(UTC)
            if send_at >= meeting.starts:
                send_at = meeting.starts - timedelta(hours=2)
            if send_at < now < meeting.starts:
                send_at = now  # planned late: a digest now is better than none before the meeting
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


def clipped(text: str, limit: int = ENTRY_LIMIT) -> str:
    """Gives a text cut to at most `limit` characters (UTF-16 units, as Telegram counts), at a word, with "…"."""
    if _units(text) <= limit:
        return text
    cut = text[: limit - 1]
    while _units(cut) > limit - 1:
        cut = cut[:-1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def by_member(entries: list[SharedEntry]) -> list[tuple[str, list[SharedEntry]]]:
    """Groups entries by author in the order of their first entry, each author's entries by date."""
    groups: dict[int, list[SharedEntry]] = {}
    names: dict[int, str] = {}
    for entry in sorted(entries, key=lambda e: (e.written_at, e.reflection_id)):
        groups.setdefault(entry.person_id, []).append(entry)
        names[entry.person_id] = entry.author
    return [(names[pid], items) for pid, items in groups.items()]


# A tag, an escaped character (Telegram knows &lt; &gt; &amp; &quot; and numeric ones), or one character.
_TOKEN = re.compile(r"<[^>]*>|&(?:lt|gt|amp|quot|#[0-9]+|#[xX][0-9a-fA-F]+);|.", re.DOTALL)


def _units(text: str) -> int:
    # ASCII (most of a digest) is one unit a character; only characters past U+FFFF count two.
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def telegram_length(text: str) -> int:
    """Gives an HTML text's length the way Telegram limits it: the text after parsing (tags count
    nothing, an escaped character one), in UTF-16 code units (an emoji counts two)."""
    total = 0
    for m in _TOKEN.finditer(text):
        token = m.group(0)
        if token.startswith("<") and len(token) > 1:
            continue
        total += 1 if token.startswith("&") and len(token) > 1 else _units(token)
    return total


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Gives an HTML text in pieces Telegram accepts: each at most `limit` long as Telegram counts
    (telegram_length) and as written, cut at a paragraph's end when possible, else a line's end,
    else a space, preferring a cut that leaves the piece at least half full.

    A cut never falls inside a tag or an escaped character (`&amp;` stays whole), and a tag open
    at a cut is closed at the end of one piece and opened again at the start of the next.

    What a piece costs is the more of its length as Telegram counts it and as written, token by token
    (an emoji counts two, a tag its characters); since no character is shorter in UTF-16 units than
    as written, that is simply the piece's length in UTF-16 units (`_units`).
    """
    text = text.strip()
    pieces: list[str] = []
    while text:
        if len(text) <= limit and _units(text) <= limit:  # a text longer than the limit in characters is in units
            pieces.append(text)
            break
        cut, still_open = _cut(text, limit)
        head, rest = text[:cut].rstrip(), text[cut:].lstrip()
        pieces.append(head + _closing(still_open))
        text = "".join(still_open) + rest
    return pieces


def _closing(opened: list[str]) -> str:
    """Gives the end tags of open start tags, innermost first."""
    return "".join(f"</{_tag_name(tag)}>" for tag in reversed(opened))


@functools.lru_cache(maxsize=256)
def _tag_name(tag: str) -> str:
    return re.split(r"[\s>/]", tag[1:].lstrip("/"), maxsplit=1)[0].lower()


@functools.lru_cache(maxsize=256)
def _tag_info(tag: str) -> tuple[str, str, int]:
    """Gives what a tag does to the tags open: ("end", its name, 0), ("start", its name, what its end tag
    costs) or ("alone", its name, 0) for a tag that closes itself."""
    if tag.startswith("</"):
        return "end", _tag_name(tag), 0
    if tag.endswith("/>"):
        return "alone", _tag_name(tag), 0
    return "start", _tag_name(tag), _closing_units(tag)


@functools.lru_cache(maxsize=256)
def _closing_units(tag: str) -> int:
    """Gives what the end tag of a start tag costs: _closing's length is the sum of these."""
    return _units(f"</{_tag_name(tag)}>")


# A tag, an escaped character, a run of characters that are neither (none can start a tag or an escape,
# so each of them is a token of its own in _TOKEN's terms), or a lone "<" or "&".
_PIECE = re.compile(r"<[^>]*>|&(?:lt|gt|amp|quot|#[0-9]+|#[xX][0-9a-fA-F]+);|[^<&]+|.", re.DOTALL)


class _Cutter:
    """Walks a text token by token (as _TOKEN splits it) to find where to cut it; runs of plain text are
    walked in one step, with the same outcome as character by character."""

    def __init__(self, text: str, limit: int) -> None:
        self.text, self.limit = text, limit
        self.open_tags: list[str] = []
        self.closing = 0  # what the end tags of open_tags would cost
        self.best: dict[str, tuple[int, list[str]]] = {}
        self.length = self.visible = 0

    def token(self, token: str, start: int) -> bool:
        """Takes one token at `start`; gives True when the cut is found before it."""
        if self.visible and self.length + self.closing <= self.limit:
            cut = (start, list(self.open_tags))
            self.best["any"] = cut
            if token == " ":
                self.best["space"] = cut
            elif token == "\n":
                self.best["line"] = cut
                if self.text[start - 1] == "\n":
                    self.best["paragraph"] = (start - 1, cut[1])
        size = _units(token)
        if self.length + size + self.closing > self.limit and "any" in self.best:
            return True
        self.length += size
        if token.startswith("<") and len(token) > 1:
            if token.startswith("</"):
                name = _tag_name(token)
                for i in range(len(self.open_tags) - 1, -1, -1):
                    if _tag_name(self.open_tags[i]) == name:
                        del self.open_tags[i]
                        break
            elif not token.endswith("/>"):
                self.open_tags.append(token)
            self.closing = sum(_closing_units(tag) for tag in self.open_tags)
        else:
            self.visible += 1
        return False

    def run(self, run: str, start: int) -> bool:
        """Takes a run of plain characters (each one unit long) at `start`; gives True when the cut falls in it."""
        text, count = self.text, len(run)
        room = self.limit - self.closing - self.length  # characters of the run that keep a cut before them in the limit
        first = 0 if self.visible else 1  # a cut needs some visible text before it
        last = min(count - 1, room)
        if last >= first:
            low, high = start + first, start + last + 1  # the run's positions where a cut may fall
            tags = list(self.open_tags)
            self.best["any"] = (high - 1, tags)
            if (at := text.rfind(" ", low, high)) >= 0:
                self.best["space"] = (at, tags)
            if (at := text.rfind("\n", low, high)) >= 0:
                self.best["line"] = (at, tags)
            if (at := text.rfind("\n\n", max(low - 1, 0), high)) >= 0:
                self.best["paragraph"] = (at, tags)
        if max(room, 0) < count and "any" in self.best:
            return True
        self.length += count
        self.visible += count
        return False


def _cut(text: str, limit: int) -> tuple[int, list[str]]:
    """Gives where to cut a text longer than `limit` (after some visible text, at a token's start),
    and the tags open there."""
    if _units(text) == len(text):  # most texts: every character one unit, so no walk token by token is needed
        return _cut_one_unit_each(text, limit)
    return _cut_walking(text, limit)


# A tag or an escaped character: the tokens of _PIECE that are not plain text.
_MARK = re.compile(r"<[^>]*>|&(?:lt|gt|amp|quot|#[0-9]+|#[xX][0-9a-fA-F]+);")


def _cut_one_unit_each(text: str, limit: int) -> tuple[int, list[str]]:
    """`_cut_walking` for a text whose characters are one UTF-16 unit each (none past U+FFFF), with the same
    outcome (tests/domain/test_split_message.py compares them). There a token's cost is its length, so what
    was taken before a position is the position itself: only the tags and escapes are walked, and the plain
    text between them is searched only where the last cut of each kind can be (the latest run that has one).

    The marks are found as `_MARK.finditer` finds them, but by looking for the next "<" or "&" (str.find)
    and matching only there: the regular expression tried at every character took a third of the walk."""
    opened: list[str] = []
    names: list[str] = []  # of the tags in `opened`, and what their end tags cost
    costs: list[int] = []
    tags: tuple[str, ...] = ()
    closing = pos = 0
    visible = False
    runs: list[tuple[int, int, tuple[str, ...]]] = []  # ranges of plain text where a cut may fall, in order
    any_cut: tuple[int, tuple[str, ...]] | None = None
    size = len(text)
    find, match = text.find, _MARK.match
    lt, amp = find("<"), find("&")  # the next "<" and "&" at or after where the search is, -1 when none
    while True:
        mark = None
        while lt >= 0 or amp >= 0:  # the next mark: the first "<" or "&" where one matches
            at = lt if amp < 0 or 0 <= lt < amp else amp
            mark = match(text, at)
            if mark is not None:
                break
            if at == lt:
                lt = find("<", at + 1)
            else:
                amp = find("&", at + 1)
        start, end = mark.span() if mark is not None else (size, size)
        if start > pos:  # the plain text up to the mark: a cut may fall before any of its characters that fit
            count, room = start - pos, limit - closing - pos
            last = count - 1 if count <= room else room
            if last >= (0 if visible else 1):
                runs.append((pos if visible else pos + 1, pos + last + 1, tags))
                any_cut = (pos + last, tags)
            if room < count and any_cut is not None:
                break
            pos, visible = start, True
        if mark is None:
            break
        if visible and pos + closing <= limit:
            any_cut = (pos, tags)
        if end + closing > limit and any_cut is not None:
            break
        pos = end
        if 0 <= lt < end:
            lt = find("<", end)
        if 0 <= amp < end:
            amp = find("&", end)
        if text[start] == "<":
            kind, name, units = _tag_info(mark.group())
            if kind == "end":
                for i in range(len(opened) - 1, -1, -1):
                    if names[i] == name:
                        closing -= costs.pop(i)
                        del opened[i], names[i]
                        break
            elif kind == "start":
                opened.append(mark.group())
                names.append(name)
                costs.append(units)
                closing += units
            tags = tuple(opened)
        else:
            visible = True
    best: dict[str, tuple[int, tuple[str, ...]]] = {}
    for kind, needle, back in (("paragraph", "\n\n", 1), ("line", "\n", 0), ("space", " ", 0)):
        for low, high, open_there in reversed(runs):
            if (at := text.rfind(needle, max(low - back, 0), high)) >= 0:
                best[kind] = (at, open_there)
                break
    for at_least in (limit // 2, 1):
        for kind in ("paragraph", "line", "space"):
            found = best.get(kind)
            if found is not None and found[0] >= at_least:
                return found[0], list(found[1])
    return (any_cut[0], list(any_cut[1])) if any_cut is not None else (len(text), [])


def _cut_walking(text: str, limit: int) -> tuple[int, list[str]]:
    """`_cut` for any text: walks it token by token (as _TOKEN splits it)."""
    walk = _Cutter(text, limit)
    for m in _PIECE.finditer(text):
        token, start = m.group(0), m.start()
        if (token[0] in "<&" and len(token) > 1) or _units(token) != len(token):
            # a tag, an escape, or text with characters that count two: token by token
            if token[0] in "<&":
                if walk.token(token, start):
                    break
            elif any(walk.token(t, start + i) for i, t in enumerate(token)):
                break
        elif walk.run(token, start):
            break
    best = walk.best
    # A cut that leaves a piece at least half full, at the best boundary; else the best boundary at all.
    for at_least in (limit // 2, 1):
        for kind in ("paragraph", "line", "space"):
            found = best.get(kind)
            if found is not None and (found[0] >= at_least or _units(text[: found[0]]) >= at_least):
                return found
    return best.get("any", (len(text), []))
