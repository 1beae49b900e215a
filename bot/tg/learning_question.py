"""The learning question in the chat: written at the end of onboarding, /question to see how it changed,
rewrite it or share it with one's set, and the buttons of the intake's question.

Every version is kept; a button names the presser's version, so one pressed for someone else's
question (forged) changes nothing. The question's text never reaches a log.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.buttons import QuestionButton
from bot.domain.digest import clipped
from bot.domain.learning_question import QUESTION_LIMIT, read_question
from bot.jobs.learning_question import plan_person_questions
from bot.render import short_day_text
from bot.store import learning_question, outbox, people, sharing
from bot.store.people import Person
from bot.tg.common import answer_button, awaiting, open_question, remove_buttons, reply, stale_button
from bot.tg.context import PitstopContext

log = logging.getLogger(__name__)

EARLIER = 160  # characters of an earlier version in /question: the history stays short on a phone
EARLIER_SHOWN = 15  # earlier versions /question lists; all of them are in /export


async def question_view(context: PitstopContext, person: Person) -> tuple[str, InlineKeyboardMarkup]:
    """Gives /question: the current question with its date and whether it is shared, then every earlier
    version with its date, newest first; and the buttons to rewrite it and to share it or keep it private."""
    render, lang = context.render, person.language
    zone = ZoneInfo(person.timezone)
    found = await learning_question.versions(context.db, person.id)
    shared = await learning_question.shared_since(context.db, person.id) is not None
    has_set = await sharing.set_of(context.db, person.id) is not None
    if not found:
        text = render.message(lang, "question_view", question="", since="", shared=False, earlier=[], older=0)
        return text, InlineKeyboardMarkup([[InlineKeyboardButton(
            render.button(lang, "question_write"), callback_data=QuestionButton("rw", 0).data)]])
    current, earlier = found[0], found[1:]
    text = render.message(
        lang, "question_view", question=current.text, since=short_day_text(current.created_at, lang, zone),
        shared=shared and has_set,
        earlier=[{"date": short_day_text(v.created_at, lang, zone), "text": clipped(v.text, EARLIER)}
                 for v in earlier[:EARLIER_SHOWN]],
        older=max(len(earlier) - EARLIER_SHOWN, 0),
    )
    rows = [[InlineKeyboardButton(render.button(lang, "question_rewrite"), callback_data=QuestionButton("rw", current.id).data)]]
    if has_set:
        rows.append([
            InlineKeyboardButton(("" if shared else "✓ ") + render.button(lang, "keep_private"),
                                 callback_data=QuestionButton("pv", current.id).data),
            InlineKeyboardButton(("✓ " if shared else "") + render.button(lang, "share_set"),
                                 callback_data=QuestionButton("sh", current.id).data),
        ])
    return text, InlineKeyboardMarkup(rows)


async def show_question(update: Update, context: PitstopContext, person: Person) -> None:
    """/question: shows the learning question and how it changed."""
    text, keyboard = await question_view(context, person)
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=keyboard)


async def ask_question(update: Update, context: PitstopContext, person: Person, version_id: int) -> None:
    """Asks for a (new) learning question, with a way out; only once it reached the person does the bot wait."""
    current = await learning_question.current(context.db, person.id)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(
        context.render.button(person.language, "cancel"), callback_data=QuestionButton("x", version_id).data)]])
    assert update.effective_chat is not None
    now = context.clock.now()
    await context.bot.send_message(
        update.effective_chat.id,
        context.render.message(person.language, "question_ask", question=current.text if current else "",
                               limit=QUESTION_LIMIT),
        reply_markup=keyboard,
    )
    await people.update_person(context.db, person.id, now, awaiting=awaiting("question", version_id, now))


async def keep_typed(update: Update, context: PitstopContext, person: Person, text: str) -> bool | None:
    """Keeps a typed text as the newest version of the person's question and says so; gives True.

    Text that cannot be a question (empty, only emoji or punctuation, over QUESTION_LIMIT characters) gets
    a sentence saying why and False: nothing is kept, nothing is cut. None: that message was kept before.
    """
    message = update.effective_message
    assert message is not None
    question, problem = read_question(text)
    if problem is not None:
        await reply(update, context, person.language, "question_unreadable", problem=problem, length=len(question),
                    limit=QUESTION_LIMIT)
        return False
    now = context.clock.now()
    membership = await people.participation(context.db, person.id)
    first = await learning_question.current(context.db, person.id) is None
    version_id = await learning_question.add_version(
        context.db, person.id, membership.programme_id if membership else None, question, message.chat_id,
        message.message_id, now,
    )
    if version_id is None:
        return None
    if person.status == "active":
        await plan_person_questions(context.db, person.id, now)  # a module's end now asks about it
    shared = await learning_question.shared_since(context.db, person.id) is not None
    log.info("learning question kept person=%d version=%d first=%s", person.id, version_id, first)
    await reply(update, context, person.language, "question_kept", question=question, first_version=first, shared=shared)
    return True


async def take_awaited_text(update: Update, context: PitstopContext, person: Person, text: str) -> bool:
    """Takes typed text as the new learning question when the bot asked for one; gives False when it did not.

    An answer to a prompt (a reply to it) stays a reflection. Text that cannot be a question gets a
    sentence and the question again, and the question stays open.
    """
    now = context.clock.now()
    question = open_question(person, now)
    message = update.effective_message
    if question is None or question.kind != "question" or message is None:
        return False
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.is_bot \
            and await outbox.by_message(context.db, message.chat.id, replied.message_id) is not None:
        return False  # an answer to a prompt, not to this question
    kept = await keep_typed(update, context, person, text)
    if kept is False:
        await ask_question(update, context, person, question.target)
        return True
    await people.update_person(context.db, person.id, now, awaiting=None)
    return True


async def press_question(update: Update, context: PitstopContext, person: Person, pressed: QuestionButton) -> None:
    """Rewrite, share, keep private, keep as it is, or stop rewriting: only for the presser's own question."""
    if pressed.version_id:
        version = await learning_question.get(context.db, pressed.version_id)
        if version is None or version.person_id != person.id:
            await stale_button(update, context, person.language)
            return
    elif pressed.action in ("sh", "pv"):
        await stale_button(update, context, person.language)
        return
    if person.status != "active":
        await stale_button(update, context, person.language)
        return
    now = context.clock.now()
    action = pressed.action
    if action == "rw":
        await answer_button(update, context, person.language, "chosen")
        await ask_question(update, context, person, pressed.version_id)
    elif action == "x":
        question = open_question(person, now)
        if question is None or question.kind != "question":
            await stale_button(update, context, person.language)
            return
        await people.update_person(context.db, person.id, now, awaiting=None)
        await answer_button(update, context, person.language, "cancelled")
        await remove_buttons(update)
    elif action == "ok":
        await answer_button(update, context, person.language, "question_kept")
        await remove_buttons(update)
    else:  # "sh" / "pv"
        if action == "sh" and await sharing.set_of(context.db, person.id) is None:
            await answer_button(update, context, person.language, "no_set", alert=True)
            return
        await learning_question.set_shared(context.db, person.id, action == "sh", now)
        log.info("learning question share choice person=%d shared=%s", person.id, action == "sh")
        await answer_button(update, context, person.language, "question_shared" if action == "sh" else "question_private")
        await _redraw(update, context, person)


async def _redraw(update: Update, context: PitstopContext, person: Person) -> None:
    """Shows the /question message a button was pressed on as it reads now."""
    query = update.callback_query
    if query is None:
        return
    text, keyboard = await question_view(context, person)
    try:
        await query.edit_message_text(text, reply_markup=keyboard)
    except BadRequest:
        pass  # the same choice again, or too old to edit: nothing to redraw
