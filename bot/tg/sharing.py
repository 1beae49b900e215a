"""Sharing with the learning set: the share choice, takeaways, case rounds, /digest, and linking a group with /link.

Nothing people write in a group is stored: the bot reads only /link there.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest

from bot.buttons import CaseButton, CaseStopButton, ConfirmButton, FacilitatorButton, ShareButton
from bot.domain import plans
from bot.domain.digest import CASE_LIMIT, TAKEAWAY_LIMIT, split_message
from bot.jobs.sets import members_for_template, tell_facilitators_group_lost
from bot.render import day_text
from bot.store import audit, drafts, journal, learning_question, outbox, people, programmes, sharing
from bot.store.people import Person
from bot.tg import for_facilitators, reflections
from bot.tg.common import (
    Question,
    answer_button,
    awaiting,
    language_of,
    open_question,
    remove_buttons,
    reply,
    stale_button,
)
from bot.tg.context import PitstopContext
from bot.tg.reflections import share_keyboard

log = logging.getLogger(__name__)


async def press_share(update: Update, context: PitstopContext, person: Person, pressed: ShareButton) -> None:
    """Handles a share choice on a reflection, checked against the presser and the digest."""
    query = update.callback_query
    assert query is not None
    choice = pressed.choice
    entry = await journal.get(context.db, pressed.reflection_id)
    set_id = await sharing.set_of(context.db, person.id)
    if entry is None or entry.person_id != person.id:
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
        question = open_question(person, now)
        if question is not None and question.kind == "takeaway":
            await people.update_person(context.db, person.id, now, awaiting=None)
        await answer_button(update, context, person.language, "cancelled")
        await remove_buttons(update)
        return
    if choice == "takeaway":
        await ask_takeaway(update, context, person, entry.id, query.message.message_id if query.message else None)
        return
    await sharing.set_visibility(context.db, entry.id, person.id, choice, set_id, now)
    log.info("share choice person=%d reflection=%d visibility=%s", person.id, entry.id, choice)
    await answer_button(update, context, person.language, "shared" if choice == "shared" else "private")
    await _redraw_share_buttons(context, person, query.message.chat.id if query.message else person.chat_id,
                                query.message.message_id if query.message else None, entry.id, choice)


async def ask_takeaway(update: Update, context: PitstopContext, person: Person, entry_id: int, origin: int | None) -> None:
    """Asks for the takeaway line; only once the question has reached the person does the bot wait for it."""
    assert update.effective_chat is not None
    now = context.clock.now()  # the question's age counts from when it was asked
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(
        context.render.button(person.language, "cancel"), callback_data=ShareButton(entry_id, "cancel").data)]])
    await context.bot.send_message(
        update.effective_chat.id,
        context.render.message(person.language, "ask_takeaway", limit=TAKEAWAY_LIMIT),
        reply_markup=keyboard,
    )
    await people.update_person(context.db, person.id, now, awaiting=awaiting("takeaway", entry_id, now, origin))
    await answer_button(update, context, person.language, "chosen")


async def _redraw_share_buttons(
    context: PitstopContext, person: Person, chat_id: int, message_id: int | None, entry_id: int, visibility: str
) -> None:
    """Ticks the current share choice on the message that carries a reflection's share buttons."""
    if message_id is None:
        return
    try:
        await context.bot.edit_message_reply_markup(
            chat_id, message_id, reply_markup=share_keyboard(context.render, person.language, entry_id, visibility)
        )
    except BadRequest:
        pass  # the same choice again, or a message too old to edit: nothing to redraw


async def take_awaited_text(update: Update, context: PitstopContext, person: Person, text: str) -> bool:
    """Takes a typed takeaway or case when the bot asked for one; gives False when it waited for nothing.

    Nothing is shared here: the text becomes a draft that its author sees quoted, with *share* and *keep
    private* buttons. Text too long to share is kept privately in the journal, and the question stays open.
    """
    now = context.clock.now()
    question = open_question(person, now)
    message = update.effective_message
    if question is None or question.kind not in ("takeaway", "case", "facilitator") or message is None:
        return False
    if message.reply_to_message is not None and message.reply_to_message.from_user is not None \
            and message.reply_to_message.from_user.is_bot:
        replied_to = message.reply_to_message.message_id
        if await outbox.by_message(context.db, message.chat.id, replied_to) is not None:
            return False  # an answer to a prompt, not to this question
    kind = question.kind
    line = text.strip() if kind == "case" else " ".join(text.split())  # a takeaway or a line for the facilitator
    limit = CASE_LIMIT if kind == "case" else TAKEAWAY_LIMIT
    if not line:
        await _ask_again(update, context, person, question, f"{kind}_empty")
        return True
    if len(line) > limit:
        # Readable, only too long to share: it is a reflection, kept privately; the question stays open.
        await reflections.keep_privately(context, person, message.chat.id, message.message_id, text)
        await _ask_again(update, context, person, question, f"{kind}_too_long", length=len(line), limit=limit)
        return True
    draft_id = await drafts.create(context.db, person.id, kind, question.target, question.message_id,
                                   message.chat.id, message.message_id, line, now)
    await people.update_person(context.db, person.id, now, awaiting=None)
    render, lang = context.render, person.language
    keyboard = InlineKeyboardMarkup([
        [InlineKeyboardButton(render.button(lang, f"confirm_{kind}"), callback_data=ConfirmButton(draft_id, True).data)],
        [InlineKeyboardButton(render.button(lang, "keep_it_private"), callback_data=ConfirmButton(draft_id, False).data)],
    ])
    await context.bot.send_message(message.chat.id, render.message(lang, f"{kind}_confirm", text=line), reply_markup=keyboard)
    log.info("%s drafted person=%d draft=%d", kind, person.id, draft_id)
    return True


async def _ask_again(
    update: Update, context: PitstopContext, person: Person, question: Question, template: str, **values: object
) -> None:
    """Says why an answer cannot be taken, then asks the open question again with its way out."""
    await reply(update, context, person.language, template, **values)
    assert update.effective_chat is not None
    kind = question.kind
    cancel = {"takeaway": ShareButton(question.target, "cancel").data, "case": CaseStopButton(question.target).data,
              "facilitator": FacilitatorButton(question.target, "cancel").data}[kind]
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(context.render.button(person.language, "cancel"),
                                                           callback_data=cancel)]])
    limit = CASE_LIMIT if kind == "case" else TAKEAWAY_LIMIT
    await context.bot.send_message(update.effective_chat.id,
                                   context.render.message(person.language, f"ask_{kind}", limit=limit),
                                   reply_markup=keyboard)


async def press_confirm(update: Update, context: PitstopContext, person: Person, pressed: ConfirmButton) -> None:
    """Shares the quoted takeaway or case, or keeps it privately in the journal."""
    draft = await drafts.take(context.db, pressed.draft_id, person.id)
    if draft is None:
        await stale_button(update, context, person.language)
        return
    now = context.clock.now()
    await remove_buttons(update)
    if not pressed.share:
        await reflections.keep_privately(context, person, draft.chat_id, draft.message_id, draft.text)
        await answer_button(update, context, person.language, "private")
        await reply(update, context, person.language, "draft_kept_private")
        return
    set_id = await sharing.set_of(context.db, person.id)
    if draft.kind == "takeaway":
        entry = await journal.get(context.db, draft.target_id)
        shared = (
            entry is not None and entry.person_id == person.id and set_id is not None
            and await sharing.set_visibility(context.db, entry.id, person.id, "takeaway", set_id, now, takeaway=draft.text)
        )
    elif draft.kind == "facilitator":
        shared = await for_facilitators.share_line(context, person, draft.target_id, draft.text)
    else:
        shared = set_id is not None and await sharing.add_case(context.db, draft.target_id, set_id, person.id, draft.text, now)
    if not shared:
        await reflections.keep_privately(context, person, draft.chat_id, draft.message_id, draft.text)
        gone = "brief_gone" if draft.kind == "facilitator" else "digest_gone"
        await answer_button(update, context, person.language, gone, alert=True)
        await reply(update, context, person.language, f"{draft.kind}_too_late")
        return
    log.info("%s shared person=%d target=%d", draft.kind, person.id, draft.target_id)
    await answer_button(update, context, person.language, "shared")
    if draft.kind == "takeaway":
        await _redraw_share_buttons(context, person, draft.chat_id, draft.origin_message, draft.target_id, "takeaway")
        await reply(update, context, person.language, "takeaway_shared", takeaway=draft.text)
    elif draft.kind == "facilitator":
        await reply(update, context, person.language, "facilitator_shared", line=draft.text)
    else:
        await reply(update, context, person.language, "case_kept")


async def press_case(update: Update, context: PitstopContext, person: Person, pressed: CaseButton) -> None:
    """Handles *yes* / *no* on a case-round question, and the way out of writing a case."""
    if isinstance(pressed, CaseStopButton):
        question = open_question(person, context.clock.now())
        if question is None or question.kind != "case" or pressed.digest_id != question.target:
            await stale_button(update, context, person.language)
            return
        await people.update_person(context.db, person.id, context.clock.now(), awaiting=None)
        await answer_button(update, context, person.language, "cancelled")
        await remove_buttons(update)
        return
    row = await outbox.get(context.db, pressed.outbox_id)
    valid = (
        row is not None and row.kind == "case_round" and row.person_id == person.id
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
    await outbox.set_response(context.db, row.id, "answered" if pressed.bring else "skipped")
    await remove_buttons(update)
    if not pressed.bring:
        await answer_button(update, context, person.language, "no_case")
        return
    assert update.effective_chat is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(context.render.button(person.language, "cancel"),
                                                           callback_data=CaseStopButton(digest.id).data)]])
    await context.bot.send_message(update.effective_chat.id,
                                   context.render.message(person.language, "ask_case", limit=CASE_LIMIT),
                                   reply_markup=keyboard)
    await people.update_person(context.db, person.id, now, awaiting=awaiting("case", digest.id, now))
    await answer_button(update, context, person.language, "chosen")


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
        # The digest opens with the learning questions members share: so does what it holds so far.
        questions = await learning_question.shared_in_set(context.db, learning_set.id)
        text = context.render.message(
            language, "digest_so_far",
            set_name=learning_set.name,
            send_date=day_text(upcoming.send_at, language, zone) if upcoming else "",
            members=members_for_template(entries, language, zone),
            cases=[{"name": c.author, "text": c.text} for c in cases],
            questions=[{"name": q.name, "text": q.text} for q in questions],
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
    notices: list[plans.Planned] = []
    occasion = f"update{update.update_id}"
    if moved_from is not None:
        actor = person.id if person is not None else None
        notices += [
            plans.group_moved(f, moved_from.id, moved_from.name, learning_set.name, user.first_name or "", chat.id,
                              occasion, now)
            for f in await sharing.facilitators(context.db, moved_from.programme_id) if f.id != actor
        ]
    if old_group is not None:
        stored = await programmes.get_programme_by_id(context.db, learning_set.programme_id)
        notices.append(plans.group_unlinked(
            learning_set.id, learning_set.name, old_group, stored.programme.language if stored else language, occasion,
            now,
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
