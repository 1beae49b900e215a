"""Sharing with the learning set: the share choice, takeaways, case rounds, /digest, and linking a group with /link.

Nothing people write in a group is stored: the bot reads only /link there.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest

from bot.domain.digest import CASE_LIMIT, TAKEAWAY_LIMIT, split_message
from bot.jobs.sets import members_for_template, tell_facilitators_group_lost
from bot.render import Renderer, day_text
from bot.store import audit, journal, outbox, people, programmes, sharing
from bot.store.people import Person
from bot.tg.common import (
    answer_button,
    awaiting,
    is_id,
    language_of,
    read_awaiting,
    remove_buttons,
    reply,
    stale_button,
)
from bot.tg.context import PitstopContext

log = logging.getLogger(__name__)


def share_keyboard(render: Renderer, language: str, reflection_id: int, visibility: str) -> InlineKeyboardMarkup:
    """Gives the three share choices for a reflection, the current one ticked."""
    def label(name: str, value: str) -> str:
        return ("✓ " if visibility == value else "") + render.button(language, name)

    return InlineKeyboardMarkup([
        [InlineKeyboardButton(label("keep_private", "private"), callback_data=f"sh:{reflection_id}:private")],
        [InlineKeyboardButton(label("share_set", "shared"), callback_data=f"sh:{reflection_id}:shared")],
        [InlineKeyboardButton(label("share_takeaway", "takeaway"), callback_data=f"sh:{reflection_id}:takeaway")],
    ])


async def press_share(update: Update, context: PitstopContext, person: Person, parts: list[str]) -> None:
    """Handles `sh:<reflection>:<private|shared|takeaway|cancel>`, checked against the presser and the digest."""
    query = update.callback_query
    assert query is not None
    raw_id = parts[1] if len(parts) > 1 else ""
    choice = parts[2] if len(parts) > 2 else ""
    entry = await journal.get(context.db, int(raw_id)) if is_id(raw_id) and len(raw_id) < 12 else None
    set_id = await sharing.set_of(context.db, person.id)
    if entry is None or entry.person_id != person.id or choice not in ("private", "shared", "takeaway", "cancel"):
        await stale_button(update, context, person.language)
        return
    if set_id is None and choice != "private":
        await answer_button(update, context, person.language, "no_set", alert=True)
        return
    if entry.digest_id is not None:
        await answer_button(update, context, person.language, "digest_gone", alert=True)
        return
    now = context.clock.now()
    if choice == "cancel":
        await people.update_person(context.db, person.id, now, awaiting=None)
        await answer_button(update, context, person.language, "chosen")
        await remove_buttons(update)
        return
    if choice == "takeaway":
        await people.update_person(context.db, person.id, now, awaiting=awaiting("takeaway", entry.id, now))
        await answer_button(update, context, person.language, "chosen")
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(
            context.render.button(person.language, "cancel"), callback_data=f"sh:{entry.id}:cancel")]])
        assert update.effective_chat is not None
        await context.bot.send_message(
            update.effective_chat.id,
            context.render.message(person.language, "ask_takeaway", limit=TAKEAWAY_LIMIT),
            reply_markup=keyboard,
        )
        return
    await sharing.set_visibility(context.db, entry.id, person.id, choice, set_id, now)
    log.info("share choice person=%d reflection=%d visibility=%s", person.id, entry.id, choice)
    await answer_button(update, context, person.language, "shared" if choice == "shared" else "private")
    try:
        await query.edit_message_reply_markup(share_keyboard(context.render, person.language, entry.id, choice))
    except BadRequest:
        pass  # the same choice again: nothing to redraw


async def take_awaited_text(update: Update, context: PitstopContext, person: Person, text: str) -> bool:
    """Takes a typed takeaway or case when the bot asked for one; gives False when it waited for nothing."""
    waited = read_awaiting(person, context.clock.now())
    if waited is None or waited[0] not in ("takeaway", "case"):
        return False
    kind, raw_id = waited[0], str(waited[1])
    line = " ".join(text.split())
    limit = TAKEAWAY_LIMIT if kind == "takeaway" else CASE_LIMIT
    if not line:
        await reply(update, context, person.language, f"{kind}_empty")
        return True
    if len(line) > limit:
        await reply(update, context, person.language, f"{kind}_too_long", length=len(line), limit=limit)
        return True
    now = context.clock.now()
    set_id = await sharing.set_of(context.db, person.id)
    await people.update_person(context.db, person.id, now, awaiting=None)
    if kind == "takeaway":
        entry = await journal.get(context.db, int(raw_id))
        if entry is None or entry.person_id != person.id or set_id is None or entry.digest_id is not None:
            await reply(update, context, person.language, "takeaway_too_late")
            return True
        await sharing.set_visibility(context.db, entry.id, person.id, "takeaway", set_id, now, takeaway=line)
        log.info("takeaway shared person=%d reflection=%d", person.id, entry.id)
        await reply(update, context, person.language, "takeaway_shared", takeaway=line)
        return True
    digest_id = int(raw_id)
    if set_id is None or not await sharing.add_case(context.db, digest_id, set_id, person.id, text.strip()[:limit], now):
        await reply(update, context, person.language, "case_too_late")
        return True
    log.info("case proposed person=%d digest=%d", person.id, digest_id)
    await reply(update, context, person.language, "case_kept")
    return True


async def press_case(update: Update, context: PitstopContext, person: Person, parts: list[str]) -> None:
    """Handles `cs:<yes|no>:<outbox id>` on a case-round question."""
    choice = parts[1] if len(parts) > 1 else ""
    raw_id = parts[2] if len(parts) > 2 else ""
    row = await outbox.get(context.db, int(raw_id)) if is_id(raw_id) and len(raw_id) < 12 else None
    valid = (
        choice in ("yes", "no") and row is not None and row.kind == "case_round" and row.person_id == person.id
        and row.status in ("sent", "sending") and row.response is None
    )
    if not valid or row is None:
        await stale_button(update, context, person.language)
        return
    digest = await sharing.get_digest(context.db, int(row.payload.get("digest_id", 0)))
    if digest is None or digest.status != "planned":
        await answer_button(update, context, person.language, "digest_gone", alert=True)
        return
    now = context.clock.now()
    await outbox.set_response(context.db, row.id, "answered" if choice == "yes" else "skipped")
    await remove_buttons(update)
    if choice == "no":
        await answer_button(update, context, person.language, "no_case")
        return
    await people.update_person(context.db, person.id, now, awaiting=awaiting("case", digest.id, now))
    await answer_button(update, context, person.language, "chosen")
    await reply(update, context, person.language, "ask_case", limit=CASE_LIMIT)


async def show_digest_so_far(update: Update, context: PitstopContext, person: Person) -> None:
    """/digest: what each of the person's sets' next digest would carry now (shared entries and proposed cases)."""
    sets = await programmes.sets_of_person(context.db, person.id)
    if not sets:
        await reply(update, context, person.language, "no_set")
        return
    assert update.effective_chat is not None
    language = person.language
    for learning_set in sets:  # someone in two programmes sees both sets, not only the newest
        stored = await programmes.get_programme_by_id(context.db, learning_set.programme_id)
        zone = stored.programme.zone if stored else None
        entries = await sharing.pending_shared(context.db, learning_set.id)
        upcoming = await sharing.next_open_digest(context.db, learning_set.id)
        cases = await sharing.cases(context.db, upcoming.id) if upcoming else []
        text = context.render.message(
            language, "digest_so_far",
            set_name=learning_set.name,
            send_date=day_text(upcoming.send_at, language, zone) if upcoming else "",
            members=members_for_template(entries, language, zone),
            cases=[{"name": c.author, "text": c.text} for c in cases],
        )
        for piece in split_message(text):  # shared reflections can add up past Telegram's 4096 characters
            await context.bot.send_message(update.effective_chat.id, piece)


async def link_group(update: Update, context: PitstopContext) -> None:
    """/link <set> in a group: a facilitator of the set's programme links the group; others get a sentence.

    A group held by a set of a programme the sender does not lead stays where it is. Moving a group
    to another set, or a set to another group, is said in the group and told to whoever loses it.
    """
    chat = update.effective_chat
    user = update.effective_user
    if chat is None or user is None:
        return
    person = await people.get_person_by_telegram(context.db, user.id)
    language = language_of(update, context, person)
    if chat.type == "private":
        await reply(update, context, language, "link_in_group")
        return
    is_admin = user.id in context.services.settings.admins
    if person is None and not is_admin:
        await reply(update, context, language, "link_not_facilitator")
        return
    wanted = " ".join(context.args or []).strip()
    candidates = await _sets_for(context, person, is_admin)
    if not candidates:
        await reply(update, context, language, "link_not_facilitator")
        return
    keys = [s for _, s, _ in candidates]
    # A set key needs its programme in front only when two programmes use it.
    shown = [s if keys.count(s) == 1 else f"{p}/{s}" for p, s, _ in candidates]
    if not wanted:
        await reply(update, context, language, "link_which", sets=shown)
        return
    programme_key, _, set_key = wanted.rpartition("/")
    matches = [c for c in candidates if c[1] == set_key and (not programme_key or c[0] == programme_key)]
    if len(matches) != 1:
        template = "link_ambiguous" if len(matches) > 1 else "link_unknown"
        await reply(update, context, language, template, typed=wanted[:60], sets=shown)
        return
    learning_set = matches[0][2]
    holder = await programmes.get_set_by_group(context.db, chat.id)
    if holder is not None and holder.programme_id != learning_set.programme_id and not is_admin \
            and not (person is not None and await people.is_facilitator(context.db, person.id, holder.programme_id)):
        # Another programme's set holds this group: its facilitators decide, not this one.
        owner = await programmes.get_programme_by_id(context.db, holder.programme_id)
        await reply(update, context, language, "link_taken", set_name=holder.name,
                    programme=owner.programme.title if owner else "")
        log.info("link refused set=%d chat=%d held_by=%d", learning_set.id, chat.id, holder.id)
        return
    now = context.clock.now()
    moved_from = holder if holder is not None and holder.id != learning_set.id else None
    old_group = learning_set.group_chat_id if learning_set.group_chat_id not in (None, chat.id) else None
    await sharing.link_group(context.db, learning_set.id, chat.id)
    await audit.record(context.db, now, str(user.id), "set.link", learning_set.programme_id,
                       f"set={learning_set.key} chat={chat.id}" + (f" from_set={moved_from.key}" if moved_from else ""))
    log.info("group linked set=%d chat=%d moved_from=%s", learning_set.id, chat.id, moved_from.id if moved_from else "-")
    notices: list[outbox.Planned] = []
    occasion = f"update{update.update_id}"
    if moved_from is not None:
        actor = person.id if person is not None else None
        notices += [
            outbox.Planned("notice", f.chat_id, now, f"group_moved:{moved_from.id}:{chat.id}:{occasion}:{f.id}",
                           person_id=f.id, payload={"template": "group_moved", "values": {
                               "set_name": moved_from.name, "new_set": learning_set.name, "by": user.first_name or ""}})
            for f in await sharing.facilitators(context.db, moved_from.programme_id) if f.id != actor
        ]
    if old_group is not None:
        stored = await programmes.get_programme_by_id(context.db, learning_set.programme_id)
        notices.append(outbox.Planned(
            "notice", old_group, now, f"group_unlinked:{learning_set.id}:{old_group}:{occasion}",
            payload={"template": "group_unlinked", "language": stored.programme.language if stored else language,
                     "values": {"set_name": learning_set.name}},
        ))
    await outbox.plan(context.db, notices, now)
    await reply(update, context, language, "linked", set_name=learning_set.name,
                previous=moved_from.name if moved_from else "")


async def _sets_for(context: PitstopContext, person: Person | None, is_admin: bool) -> list[tuple[str, str, programmes.StoredSet]]:
    """Gives (programme key, set key, set) of every set the person may link: as facilitator, or all as admin."""
    found = []
    for stored in await programmes.list_programmes(context.db):
        allowed = is_admin or (person is not None and await people.is_facilitator(context.db, person.id, stored.id))
        if allowed:
            found += [(stored.programme.key, s.key, s) for s in await programmes.list_sets(context.db, stored.id)]
    return found


async def bot_membership_changed(update: Update, context: PitstopContext) -> None:
    """The bot was removed from a group: unlink it from its set and tell the facilitators."""
    change = update.my_chat_member
    if change is None or change.chat.type == "private":
        return
    if change.new_chat_member.status not in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        return
    now = context.clock.now()
    set_ids = await sharing.unlink_group(context.db, change.chat.id)
    for set_id in set_ids:
        learning_set = await programmes.get_set_by_id(context.db, set_id)
        if learning_set is None:
            continue
        notices = tell_facilitators_group_lost(
            await sharing.facilitators(context.db, learning_set.programme_id), set_id, learning_set.name,
            change.chat.id, f"update{update.update_id}", now,
        )
        await outbox.plan(context.db, notices, now)
        log.warning("bot removed from group chat=%d set=%d", change.chat.id, set_id)
