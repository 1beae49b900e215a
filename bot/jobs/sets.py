"""Learning sets on time: case rounds before meetings, and digests (both composed when they go)."""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import weakref
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.buttons import CaseRoundButton
from bot.domain import plans
from bot.domain.digest import (
    DIGEST_PARTS,
    ENTRY_LIMIT,
    DigestSlot,
    SharedEntry,
    by_member,
    case_round_time,
    clipped,
    digest_slots,
    shown_text,
    split_message,
    visible_in_digest,
)
from bot.domain.plans import MEMBERS, Planned
from bot.domain.programme import Programme, locate
from bot.jobs.composed import Composed, cancelled
from bot.render import Renderer, day_text, time_text
from bot.store import outbox, people, programmes, sharing
from bot.store.db import Database
from bot.store.outbox import OutboxRow

log = logging.getLogger(__name__)

HORIZON = timedelta(days=14)


async def plan_sets(db: Database, now: datetime) -> int:
    """Plans the digests and case rounds of the next two weeks for every active set; gives how many digests.

    Each set's digests are one write unit, and all of them are queued at once: they share commits (the
    group commit), while a set whose unit fails is rolled back alone.
    """
    units: list[tuple[int, Callable[[sqlite3.Connection], int]]] = []
    for stored in await programmes.list_programmes(db):
        try:
            programme = stored.programme
            members = await sharing.members_by_set(db, stored.id)
            for learning_set in await programmes.list_sets(db, stored.id):
                spec = programme.learning_set(learning_set.key)
                meetings = list(spec.meetings) if spec else []
                slots = digest_slots(meetings, learning_set.digest_days_before, programme.zone, now, HORIZON)
                if slots:
                    units.append((stored.id, partial(
                        _plan_digests, learning_set.id, slots, members.get(learning_set.id, []), programme.zone, now
                    )))
        except Exception:  # one programme's calendar (a year-0001 date) never stops the others' digests
            log.exception("digests not planned programme=%d", stored.id)
    planned = 0
    for (programme_id, _), result in zip(
        units, await asyncio.gather(*(db.write(unit) for _, unit in units), return_exceptions=True), strict=True
    ):
        if isinstance(result, BaseException):
            log.error("digests not planned programme=%d", programme_id, exc_info=result)
        else:
            planned += result
    return planned


def _plan_digests(
    set_id: int, slots: list[DigestSlot], members: list[people.Person], zone: ZoneInfo, now: datetime,
    conn: sqlite3.Connection,
) -> int:
    """A write unit: a set's digests and case rounds; gives how many digests."""
    for slot in slots:
        digest_id = sharing.ensure_digest_row(
            conn, set_id, slot.period_key, slot.send_at,
            slot.meeting.starts if slot.meeting else None, slot.meeting.place if slot.meeting else "", now,
        )
        items = [plans.digest(digest_id, slot.send_at)]
        asked = case_round_time(slot, zone)
        # Asked until the digest goes (its time may have passed while the bot was down).
        if asked is not None and now < slot.send_at:
            items += [plans.case_round(digest_id, m, max(asked, now)) for m in members]
        outbox.plan_rows(conn, items, now)
    return len(slots)


async def compose_digest(db: Database, render: Renderer, row: OutboxRow, now: datetime) -> Composed:
    """Gives the message of a digest row, or the rows to plan instead of it.

    A row to MEMBERS becomes one row for the linked group, or one per member, and seals the digest in
    the same commit (bot.jobs.composed.Composed.writes): what it carries is chosen then, once. A row to
    a chat renders what the sealed digest carries (sealing it first if it is not sealed yet). What either
    needs is read in one trip (sharing.digest_reading); the messages chosen at the seal are kept
    (`DigestDraft.texts`), so that a copy whose digest reads the same is not rendered again.
    """
    reading = await sharing.digest_reading(
        db, _digest_id(row), expanding=row.chat_id == MEMBERS, person_id=row.person_id, now=now
    )
    return await _compose_read(db, render, row, reading, now)


def _digest_id(row: OutboxRow) -> int:
    return int(row.payload.get("digest_id", 0))


async def _compose_read(
    db: Database, render: Renderer, row: OutboxRow, reading: sharing.DigestReading | None, now: datetime
) -> Composed:
    """`compose_digest` with what it read (sharing.digest_reading) in hand."""
    expanding = row.chat_id == MEMBERS
    if reading is None:
        return cancelled("digest gone")
    digest, learning_set = reading.context.digest, reading.learning_set
    if learning_set is None or not learning_set.active:
        return cancelled("set retired")
    stored = None if reading.programme_version is None else await programmes.get_programme_version(
        db, learning_set.programme_id, reading.programme_version
    )
    assert stored is not None
    if digest.status == "planned" and not still_in_calendar(stored.programme, learning_set.key, digest):
        return cancelled("meeting no longer in the calendar", writes=sharing.skipping(digest.id))
    if digest.status == "planned" and digest.meeting_starts is not None and digest.meeting_starts <= now:
        # Due while the bot was down, and the meeting it prepares has begun: too late to be of use.
        return cancelled("meeting passed", writes=sharing.skipping(digest.id))
    if expanding:
        members = reading.members
        rows = tuple(recipients(digest.id, learning_set.group_chat_id, members, now))
        if digest.status != "planned" or not rows:  # nobody to carry it to: what was shared waits
            return cancelled("expanded", expand=rows)
        # Chosen in the language of the first copy, as the first copy to go would have chosen it.
        language = stored.programme.language if learning_set.group_chat_id is not None else members[0].language
        draft = DigestDraft.of(db, render, reading, learning_set, stored.programme, language)
        assert reading.took_part is not None  # read with the pending entries of a planned digest
        only = await draft.choose(now, (reading.pending, reading.took_part))
        return cancelled("expanded", expand=rows, writes=sharing.sealing(digest.id, learning_set.id, now, only))
    language = stored.programme.language
    if row.person_id is not None:
        person = reading.person
        if person is None or person.status != "active":
            return cancelled("person not active")
        language = person.language
    draft = DigestDraft.of(db, render, reading, learning_set, stored.programme, language)
    since = draft.previous.sealed_at if draft.previous else None
    if digest.status == "planned":  # planned straight to a chat: sealed here, in one commit with the read back
        only = await draft.choose(now)
        sealed = await sharing.seal_and_carry(db, digest.id, learning_set.id, now, only=only, since=since)
    else:
        sealed = reading.carried
    if sealed is None:
        return cancelled("digest skipped")
    draft.counted[sealed.sealed_at] = sealed.took_part
    entries = [e for e in sealed.entries if visible_in_digest(e, learning_set.id, digest.id)]
    if not entries and not draft.cases and learning_set.empty_digest == "skip":
        return cancelled("empty period")
    parts = (await draft.texts(entries, sealed.sealed_at, sealed.waiting))[:DIGEST_PARTS]
    if not parts:
        return cancelled("empty")
    return Composed(parts[0], more=tuple(parts[1:]))


# Rows to MEMBERS expanded in one commit at most: digests due at the same moment (sets that meet on the same
# day) share the commit, and a batch is short enough for the copies of the first to go soon.
DIGEST_BATCH = 32


async def expand_due_digests(
    db: Database, render: Renderer, now: datetime, *, holder: str | None = None, limit: int = DIGEST_BATCH
) -> Counter[str]:
    """Expands the digests due by `now` (their rows to MEMBERS) into their copies, up to `limit` in one commit;
    gives counts by outcome, as the dispatcher counts its rows. The dispatcher's one way to expand a digest.

    Each digest is sealed, its copies planned and its row ended in one write unit (`compose_digest`'s writes
    with `outbox.mark`), and the units of a batch are queued together, so that they share the group commit
    while each keeps a SAVEPOINT of its own: a digest whose unit fails is rolled back alone and its row marked
    failed, the others are committed. A batch holds one digest per set at most (`outbox.claim_expansions`),
    so each is chosen after the set's digest before it was sealed. A hard kill before the commit leaves the
    rows claimed and nothing sealed: at the restart they are back in line (`outbox.recover_in_flight`).
    """
    results: Counter[str] = Counter()
    rows = await outbox.claim_expansions(db, now, limit, holder)
    while rows:
        # A full batch: more may be due, claimed in the commit that records this one (one commit fewer a batch).
        outcomes, rows = await _expand(db, render, rows, now, (limit, holder) if len(rows) == limit else None)
        results.update(outcomes)
    return results


async def _expand(
    db: Database, render: Renderer, rows: list[OutboxRow], now: datetime, then: tuple[int, str | None] | None
) -> tuple[list[str], list[OutboxRow]]:
    """Composes a batch of claimed rows to MEMBERS, then records them all in one commit; gives each outcome, and
    with `then` (limit, holder) the rows claimed next, in the same commit after the records (so that a set whose
    digest was just sealed may have its next one claimed).

    What they need is read in one trip first (sharing.digest_readings: the threads do not take turns at every
    statement), then each is chosen and rendered (each has its own draft)."""
    claimed: list[OutboxRow] = []
    try:
        try:
            readings = await sharing.digest_readings(db, [(_digest_id(row), True, row.person_id) for row in rows], now)
        except Exception as exc:  # noqa: BLE001 -- the trip failed (the database?): each row fails with it, as alone
            readings = [exc] * len(rows)
        composed = await asyncio.gather(*(
            _expanding(db, render, row, reading, now) for row, reading in zip(rows, readings, strict=True)
        ))
        # Queued together, so that they share the group commit: the records first, then the next claim.
        recording = [
            outbox.mark(db, row.id, c.cancel_status, c.cancel_reason, expand=c.expand, now=now, also=c.writes)
            for row, c in zip(rows, composed, strict=True)
        ]
        claiming = [] if then is None else [outbox.claim_expansions(db, now, *then)]
        done = await asyncio.gather(*recording, *claiming, return_exceptions=True)
        recorded = done[:len(rows)]
        if then is not None:
            next_claim = done[-1]
            if isinstance(next_claim, BaseException) and not isinstance(next_claim, Exception):
                raise next_claim  # cancelled, or the process is stopping
            # Should the claim fail beside the records, it is tried alone (the records are kept all the same).
            claimed = next_claim if isinstance(next_claim, list) else await outbox.claim_expansions(db, now, *then)
    except asyncio.CancelledError:  # stopped before they were recorded: back in line (those not recorded)
        await asyncio.shield(outbox.release(db, [row.id for row in [*rows, *claimed]], "stopped before expanding"))
        raise
    failed = [(row, error) for row, error in zip(rows, recorded, strict=True) if isinstance(error, BaseException)]
    for row, error in failed:
        log.error("digest not expanded outbox=%d", row.id, exc_info=error)
    marked = await asyncio.gather(*(
        outbox.mark(db, row.id, "failed", f"error: {type(error).__name__}"[:200]) for row, error in failed
    ), return_exceptions=True)
    for (row, _), mark_error in zip(failed, marked, strict=True):
        if isinstance(mark_error, BaseException):  # the database? the claim is recovered once it is stale
            log.error("digest row not recorded outbox=%d", row.id, exc_info=mark_error)
    outcomes = [
        "failed" if isinstance(error, BaseException) else "expanded" if c.expand else c.cancel_status
        for c, error in zip(composed, recorded, strict=True)
    ]
    return outcomes, claimed


async def _expanding(
    db: Database, render: Renderer, row: OutboxRow, reading: sharing.DigestReading | None | Exception, now: datetime
) -> Composed:
    """Gives what a claimed row to MEMBERS becomes (its copies, or why none), or why it failed, from its reading."""
    try:
        if isinstance(reading, Exception):
            raise reading
        composed = await _compose_read(db, render, row, reading, now)
    except Exception as exc:  # noqa: BLE001 -- as in the dispatcher: every row ends in a state, not retried
        log.exception("digest not expanded outbox=%d", row.id)
        return cancelled(f"error: {type(exc).__name__}", status="failed")
    return cancelled("not a digest to expand", status="failed") if composed.goes else composed


# Digests' messages kept after they were made, by everything they are made of (`DigestDraft._key`), per
# renderer: a copy of a digest composed after its seal reads what the seal chose, and rendering and
# splitting a long digest is most of what composing it costs. A key holds every value the text is made of,
# so a copy whose entries, counts or names changed meanwhile (an entry erased, say) is made anew. The
# dispatcher expands every digest due at a moment, DIGEST_BATCH to a commit, before their copies go, and a
# copy is composed again for each part it sends: four batches are kept (the messages of a digest are 16 KB
# of text at most), the latest seals first. A copy made anew is kept only while there is room, so that
# when more digests are due together than are kept, those made anew do not push out the next copies'.
KEPT_DIGESTS = 4 * DIGEST_BATCH
_kept: weakref.WeakKeyDictionary[Renderer, OrderedDict[tuple[Any, ...], tuple[str, ...]]] = weakref.WeakKeyDictionary()


# The titles of the modules meetings fall in, per programme as loaded (a programme loaded again is another
# object; its titles go with it): the seal and each copy of a digest ask, and `locate` walks every event.
_module_titles: dict[int, dict[tuple[str, datetime], str]] = {}


def module_title_at(programme: Programme, set_key: str, starts: datetime) -> str:
    """Gives the title of the module a set's meeting falls in ("" without one), worked out once."""
    titles = _module_titles.get(id(programme))
    if titles is None:
        titles = _module_titles[id(programme)] = {}
        weakref.finalize(programme, _module_titles.pop, id(programme), None)
    title = titles.get((set_key, starts))
    if title is None:
        module = locate(programme, starts, set_key).module
        title = titles[(set_key, starts)] = module.title if module else ""
    return title


def _kept_texts(render: Renderer) -> OrderedDict[tuple[Any, ...], tuple[str, ...]]:
    found = _kept.get(render)
    if found is None:
        found = _kept[render] = OrderedDict()
    return found


@dataclass
class DigestDraft:
    """A digest's text as it would read in one language, from what is read once: its cases, the set's
    learning questions, the previous digest; counts and entry views made once however often it is tried."""

    db: Database
    render: Renderer
    digest: sharing.Digest
    learning_set: programmes.StoredSet
    programme: Programme
    language: str
    previous: sharing.Digest | None
    cases: list[sharing.Case]
    questions: list[Named]
    counted: dict[datetime, tuple[int, int]] = field(default_factory=dict)
    shown: dict[SharedEntry, EntryView] = field(default_factory=dict)
    made: dict[tuple[Any, ...], tuple[str, ...]] = field(default_factory=dict)  # every text tried, by its key

    @classmethod
    def of(
        cls, db: Database, render: Renderer, reading: sharing.DigestReading, learning_set: programmes.StoredSet,
        programme: Programme, language: str,
    ) -> DigestDraft:
        """Gives a draft with what every try of the text needs, from what was read of the digest."""
        questions = [Named(q.name, q.text) for q in reading.questions]
        context = reading.context
        return cls(db, render, context.digest, learning_set, programme, language, context.previous, context.cases, questions)

    @functools.cached_property
    def module_title(self) -> str:
        """Gives the title of the module the digest's meeting falls in ("" without one)."""
        starts = self.digest.meeting_starts
        return "" if starts is None else module_title_at(self.programme, self.learning_set.key, starts)

    def _key(self, entries: list[SharedEntry], counted: tuple[int, int], waiting: int) -> tuple[Any, ...]:
        """Gives every value the text is made of (the template's and the entries' views'), whatever the
        entries' order: two drafts with equal keys give equal messages."""
        shown = tuple(
            (e.written_at, e.reflection_id, e.person_id, e.author, e.visibility, shown_text(e))
            for e in sorted(entries, key=lambda e: (e.written_at, e.reflection_id))
        )
        return (
            self.language, self.programme.zone, self.learning_set.name, self.digest.meeting_starts,
            self.digest.meeting_place, self.module_title, tuple(self.questions),
            tuple((c.author, c.text) for c in self.cases), shown, counted, waiting,
        )

    async def texts(
        self, entries: list[SharedEntry], until: datetime, waiting: int, keep: bool = True, sealing: bool = False
    ) -> list[str]:
        """Gives the digest's messages with these entries, counting who took part until `until`; made once for
        equal inputs, and kept for the copies to come unless `keep` is False (a try while choosing): in place
        of the oldest kept when `sealing` (the messages a seal chose), else while there is room."""
        if until not in self.counted:
            since = self.previous.sealed_at if self.previous else None
            self.counted[until] = await sharing.took_part(self.db, self.learning_set.id, since, until)
        key = self._key(entries, self.counted[until], waiting)
        kept = _kept_texts(self.render)
        pieces = self.made.get(key) or kept.get(key)
        if pieces is None:
            pieces = self.made[key] = tuple(self._make(entries, until, waiting))
        if keep and (sealing or key in kept or len(kept) < KEPT_DIGESTS):
            kept[key] = pieces
            kept.move_to_end(key)
            while len(kept) > KEPT_DIGESTS:
                kept.popitem(last=False)
        return list(pieces)

    def _make(self, entries: list[SharedEntry], until: datetime, waiting: int) -> list[str]:
        active, total = self.counted[until]
        language, zone, starts = self.language, self.programme.zone, self.digest.meeting_starts
        text = self.render.message(
            language, "digest",
            set_name=self.learning_set.name,
            meeting_date=day_text(starts, language, zone) if starts else "",
            meeting_time=time_text(starts, language, zone) if starts else "",
            meeting_place=self.digest.meeting_place,
            module_title=self.module_title,
            members=members_for_template(entries, language, zone, clip=ENTRY_LIMIT, shown=self.shown),
            cases=[Named(c.author, c.text) for c in self.cases],
            questions=self.questions,
            took_part=active,
            total=total,
        )
        if waiting:
            text += "\n\n" + self.render.message(language, "digest_more", count=waiting)
        return split_message(text)

    async def choose(
        self, now: datetime, found: tuple[list[SharedEntry], tuple[int, int]] | None = None
    ) -> list[int]:
        """Gives the entries the digest carries: those shared for the set and not yet carried, oldest first,
        as many as fit in DIGEST_PARTS messages (with the line that says the rest wait). `found` is what
        `sharing.digest_candidates` gives until `now`, when the caller read it already. The messages with
        the entries chosen are kept for the copies to come."""
        since = self.previous.sealed_at if self.previous else None
        pending, self.counted[now] = found if found is not None else await sharing.digest_candidates(
            self.db, self.learning_set.id, since, now
        )
        candidates = sorted((e for e in pending if e.written_at <= now), key=lambda e: (e.written_at, e.reflection_id))
        carried = len(candidates)
        if len(await self.texts(candidates, now, 0, keep=False)) > DIGEST_PARTS:
            low, high = 0, len(candidates) - 1
            while low < high:
                middle = (low + high + 1) // 2
                if len(await self.texts(candidates[:middle], now, len(candidates) - middle, keep=False)) <= DIGEST_PARTS:
                    low = middle
                else:
                    high = middle - 1
            carried = low
        if carried < len(candidates):
            log.info("digest capped digest=%d carried=%d waiting=%d", self.digest.id, carried, len(candidates) - carried)
        await self.texts(candidates[:carried], now, len(candidates) - carried, sealing=True)  # made above (but for none carried)
        return [e.reflection_id for e in candidates[:carried]]


async def compose_case_round(db: Database, render: Renderer, row: OutboxRow, now: datetime) -> Composed:
    """Gives the question whether a member brings a case to the meeting a planned digest prepares."""
    person = await people.get_person(db, row.person_id) if row.person_id is not None else None
    if person is None or person.status != "active":
        return cancelled("person not active")
    digest = await sharing.get_digest(db, int(row.payload.get("digest_id", 0)))
    if digest is None or digest.status != "planned" or digest.meeting_starts is None:
        return cancelled("meeting digest gone")
    learning_set = await programmes.get_set_by_id(db, digest.learning_set_id)
    stored = await programmes.get_programme_by_id(db, learning_set.programme_id) if learning_set else None
    if learning_set is None or stored is None or not still_in_calendar(stored.programme, learning_set.key, digest):
        return cancelled("meeting no longer in the calendar")
    if digest.meeting_starts <= now:
        return cancelled("meeting passed")
    zone = ZoneInfo(person.timezone)
    text = render.message(
        person.language, "case_round", name=person.name,
        meeting_date=day_text(digest.meeting_starts, person.language, zone), meeting_place=digest.meeting_place,
    )
    keyboard = InlineKeyboardMarkup([[
        InlineKeyboardButton(render.button(person.language, "case_yes"), callback_data=CaseRoundButton(True, row.id).data),
        InlineKeyboardButton(render.button(person.language, "case_no"), callback_data=CaseRoundButton(False, row.id).data),
    ]])
    return Composed(text, keyboard)


def still_in_calendar(programme: Programme, set_key: str, digest: sharing.Digest) -> bool:
    """Gives whether a planned digest's meeting is still in the programme (a reload may move or drop it)."""
    if digest.meeting_starts is None:
        return True
    spec = programme.learning_set(set_key)
    return spec is not None and any(m.starts == digest.meeting_starts for m in spec.meetings)


async def replan_programme(db: Database, programme_id: int, now: datetime) -> int:
    """After a programme is loaded again: drops what was planned for moved or removed meetings, plans anew."""
    stored = await programmes.get_programme_by_id(db, programme_id)
    if stored is None:
        return 0
    for learning_set in await programmes.list_sets(db, programme_id):
        for digest in await sharing.planned_digests(db, learning_set.id):
            await outbox.drop_pending_digest(db, digest.id)
            if not still_in_calendar(stored.programme, learning_set.key, digest):
                await sharing.skip_digest(db, digest.id)
    return await plan_sets(db, now)


class EntryView(NamedTuple):
    """An entry as the digest templates show it (attributes, which Jinja reads without a failed lookup first)."""

    date: str
    text: str
    takeaway: bool


class MemberView(NamedTuple):
    """A member and their entries as the digest templates show them."""

    name: str
    entries: list[EntryView]


class Named(NamedTuple):
    """A case or a learning question as the digest templates show it: whose, and its text."""

    name: str
    text: str


def members_for_template(
    entries: list[SharedEntry], language: str, zone: Any, clip: int | None = None,
    shown: dict[SharedEntry, EntryView] | None = None,
) -> list[MemberView]:
    """Gives the digest templates' view of shared entries: by member, each dated in the reader's language,
    each text cut to `clip` characters when given. `shown` keeps each entry's view, made once, for a caller
    that renders the same entries several times (the same language, zone and clip each time); it is keyed
    by the whole entry, so an entry read again with other text or visibility gets a view of its own."""
    views = {} if shown is None else shown

    def view(e: SharedEntry) -> EntryView:
        found = views.get(e)
        if found is None:
            text = shown_text(e)
            found = views[e] = EntryView(
                day_text(e.written_at, language, zone), clipped(text, clip) if clip else text, e.visibility == "takeaway"
            )
        return found

    return [MemberView(name, [view(e) for e in items]) for name, items in by_member(entries)]


def tell_facilitators_group_lost(
    facilitators: list[people.Person], set_id: int, set_name: str, chat_id: int, occasion: str, now: datetime
) -> list[Planned]:
    """Gives the notices that tell a set's facilitators the bot left its group (once per occasion)."""
    return [plans.group_lost(f, set_id, set_name, chat_id, occasion, now) for f in facilitators]


def recipients(digest_id: int, group_chat_id: int | None, members: list[people.Person], now: datetime) -> list[Planned]:
    """Gives the rows that carry a digest: to the linked group, else to each member privately."""
    if group_chat_id is not None:
        return [plans.digest_to_group(digest_id, group_chat_id, now)]
    return [plans.digest_to_member(digest_id, m, now) for m in members]


async def group_lost(db: Database, row: OutboxRow, now: datetime) -> None:
    """The bot was removed from a set's group: unlink it, send the digest to members, tell the facilitators."""
    set_ids = await sharing.unlink_group(db, row.chat_id)
    digest = await sharing.get_digest(db, int(row.payload.get("digest_id", 0))) if row.kind == "digest" else None
    if digest is not None and digest.learning_set_id not in set_ids:
        set_ids.append(digest.learning_set_id)
    for set_id in set_ids:
        learning_set = await programmes.get_set_by_id(db, set_id)
        if learning_set is None:
            continue
        items: list[Planned] = []
        if digest is not None and digest.learning_set_id == set_id:
            items += recipients(digest.id, None, await sharing.members(db, set_id), now)
        items += tell_facilitators_group_lost(
            await sharing.facilitators(db, learning_set.programme_id), set_id, learning_set.name, row.chat_id,
            f"row{row.id}", now,
        )
        await outbox.plan(db, items, now)
        log.warning("group lost set=%d chat=%d; digest goes to members", set_id, row.chat_id)
