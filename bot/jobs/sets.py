"""Learning sets on time: case rounds before meetings, and digests (both composed when they go)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.buttons import CaseRoundButton
from bot.domain import plans
from bot.domain.digest import (
    DIGEST_PARTS,
    ENTRY_LIMIT,
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
from bot.store import learning_question, outbox, people, programmes, sharing
from bot.store.db import Database
from bot.store.outbox import OutboxRow

log = logging.getLogger(__name__)

HORIZON = timedelta(days=14)


async def plan_sets(db: Database, now: datetime) -> int:
    """Plans the digests and case rounds of the next two weeks for every active set; gives how many digests."""
    planned = 0
    for stored in await programmes.list_programmes(db):
        try:
            programme = stored.programme
            for learning_set in await programmes.list_sets(db, stored.id):
                spec = programme.learning_set(learning_set.key)
                meetings = list(spec.meetings) if spec else []
                slots = digest_slots(meetings, learning_set.digest_days_before, programme.zone, now, HORIZON)
                if not slots:
                    continue
                members = await sharing.members(db, learning_set.id)
                async with db.transaction() as conn:
                    for slot in slots:
                        digest_id = await sharing.ensure_digest(
                            conn, learning_set.id, slot.period_key, slot.send_at,
                            slot.meeting.starts if slot.meeting else None, slot.meeting.place if slot.meeting else "", now,
                        )
                        items = [plans.digest(digest_id, slot.send_at)]
                        asked = case_round_time(slot, programme.zone)
                        # Asked until the digest goes (its time may have passed while the bot was down).
                        if asked is not None and now < slot.send_at:
                            items += [plans.case_round(digest_id, m, max(asked, now)) for m in members]
                        await outbox.plan_many(conn, items, now)
                        planned += 1
        except Exception:  # one programme's calendar (a year-0001 date) never stops the others' digests
            log.exception("digests not planned programme=%d", stored.id)
    return planned


async def compose_digest(db: Database, render: Renderer, row: OutboxRow, now: datetime) -> Composed:
    """Gives the message of a digest row, or the rows to plan instead of it.

    A row to MEMBERS becomes one row for the linked group, or one per member. A row to a chat
    seals the digest (once) and renders what it carries.
    """
    digest = await sharing.get_digest(db, int(row.payload.get("digest_id", 0)))
    if digest is None:
        return cancelled("digest gone")
    learning_set = await programmes.get_set_by_id(db, digest.learning_set_id)
    if learning_set is None or not learning_set.active:
        return cancelled("set retired")
    if row.chat_id == MEMBERS:
        members = await sharing.members(db, learning_set.id)
        return cancelled("expanded", expand=tuple(recipients(digest.id, learning_set.group_chat_id, members, now)))
    stored = await programmes.get_programme_by_id(db, learning_set.programme_id)
    assert stored is not None
    if digest.status == "planned" and not still_in_calendar(stored.programme, learning_set.key, digest):
        await sharing.skip_digest(db, digest.id)
        return cancelled("meeting no longer in the calendar")
    if digest.status == "planned" and digest.meeting_starts is not None and digest.meeting_starts <= now:
        # Due while the bot was down, and the meeting it prepares has begun: too late to be of use.
        await sharing.skip_digest(db, digest.id)
        return cancelled("meeting passed")
    language = stored.programme.language
    if row.person_id is not None:
        person = await people.get_person(db, row.person_id)
        if person is None or person.status != "active":
            return cancelled("person not active")
        language = person.language
    zone = stored.programme.zone
    previous = await sharing.previous_sealed(db, learning_set.id, digest.id)
    module = None
    if digest.meeting_starts is not None:
        module = locate(stored.programme, digest.meeting_starts, learning_set.key).module
    cases = await sharing.cases(db, digest.id)
    questions = [{"name": q.name, "text": q.text} for q in await learning_question.shared_in_set(db, learning_set.id)]
    starts, place = digest.meeting_starts, digest.meeting_place

    async def texts(entries: list[SharedEntry], until: datetime, waiting: int) -> list[str]:
        active, total = await sharing.took_part(db, learning_set.id, previous.sealed_at if previous else None, until)
        text = render.message(
            language, "digest",
            set_name=learning_set.name,
            meeting_date=day_text(starts, language, zone) if starts else "",
            meeting_time=time_text(starts, language, zone) if starts else "",
            meeting_place=place,
            module_title=module.title if module else "",
            members=members_for_template(entries, language, zone, clip=ENTRY_LIMIT),
            cases=[{"name": c.author, "text": c.text} for c in cases],
            questions=questions,
            took_part=active,
            total=total,
        )
        if waiting:
            text += "\n\n" + render.message(language, "digest_more", count=waiting)
        return split_message(text)

    if digest.status == "planned":
        # What it carries is chosen once, oldest first, as much as fits in DIGEST_PARTS messages.
        candidates = sorted(
            (e for e in await sharing.pending_shared(db, learning_set.id) if e.written_at <= now),
            key=lambda e: (e.written_at, e.reflection_id),
        )
        carried = len(candidates)
        if len(await texts(candidates, now, 0)) > DIGEST_PARTS:
            low, high = 0, len(candidates) - 1  # the most entries that fit, with the line that says the rest wait
            while low < high:
                middle = (low + high + 1) // 2
                if len(await texts(candidates[:middle], now, len(candidates) - middle)) <= DIGEST_PARTS:
                    low = middle
                else:
                    high = middle - 1
            carried = low
        if carried < len(candidates):
            log.info("digest capped digest=%d carried=%d waiting=%d", digest.id, carried, len(candidates) - carried)
        await sharing.seal_digest(db, digest.id, learning_set.id, now, only=[e.reflection_id for e in candidates[:carried]])
    digest = await sharing.get_digest(db, digest.id)
    assert digest is not None and digest.sealed_at is not None
    entries = [e for e in await sharing.digest_entries(db, digest.id, learning_set.id) if visible_in_digest(e, learning_set.id, digest.id)]
    if not entries and not cases and learning_set.empty_digest == "skip":
        return cancelled("empty period")
    waiting = await sharing.waiting_since(db, learning_set.id, digest.sealed_at)
    parts = (await texts(entries, digest.sealed_at, waiting))[:DIGEST_PARTS]
    if not parts:
        return cancelled("empty")
    return Composed(parts[0], more=tuple(parts[1:]))


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


def members_for_template(
    entries: list[SharedEntry], language: str, zone: Any, clip: int | None = None
) -> list[dict[str, Any]]:
    """Gives the digest templates' view of shared entries: by member, each dated in the reader's language,
    each text cut to `clip` characters when given."""
    return [
        {"name": name, "entries": [
            {"date": day_text(e.written_at, language, zone),
             "text": clipped(shown_text(e), clip) if clip else shown_text(e), "takeaway": e.visibility == "takeaway"}
            for e in items
        ]}
        for name, items in by_member(entries)
    ]


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
