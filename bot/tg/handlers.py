"""Routes every update to a handler: parse → check who it is → call → reply from a template.

Strangers get one polite sentence and nothing is stored. Every command and button checks the
person's state on each press; unknown or forged button data changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from types import UnionType
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import buttons
from bot.jobs.planner import replan_person
from bot.store import people
from bot.store.people import Person
from bot.store.programmes import StoredProgramme
from bot.tg import (
    account,
    briefs,
    console,
    deeper,
    facilitators,
    for_facilitators,
    learning_question,
    menus,
    onboarding,
    quiet,
    reflections,
    research,
    roles,
    sharing,
    stats,
)
from bot.tg import pulse as journey
from bot.tg.common import language_of, open_question, reply, stale_button
from bot.tg.context import PitstopContext

log = logging.getLogger(__name__)

PRIVATE = filters.ChatType.PRIVATE


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Adds every handler, the catch-alls last, and the one error handler."""
    app.add_handler(CommandHandler("start", start_bot, filters=PRIVATE))
    app.add_handler(CommandHandler("help", show_help, filters=PRIVATE))
    for name, handler in (
        ("journal", run_journal),
        ("settings", run_settings),
        ("pause", run_pause),
        ("resume", run_resume),
        ("export", run_export),
        ("forget", run_forget),
        ("pulse", run_pulse),
        ("story", run_story),
        ("question", run_question),
    ):
        app.add_handler(CommandHandler(name, handler, filters=PRIVATE))
    app.add_handler(CommandHandler("digest", run_digest, filters=PRIVATE))
    app.add_handler(CommandHandler("link", sharing.link_group))
    app.add_handler(CommandHandler("stats", run_stats, filters=PRIVATE))
    app.add_handler(CommandHandler("broadcast", run_broadcast, filters=PRIVATE))
    app.add_handler(CommandHandler("reminders", run_reminders, filters=PRIVATE))
    app.add_handler(CommandHandler("brief", run_brief, filters=PRIVATE))
    app.add_handler(ChatMemberHandler(sharing.bot_membership_changed, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(CallbackQueryHandler(press_button))  # one parser for every button (bot.buttons)
    app.add_handler(MessageHandler(PRIVATE & filters.UpdateType.EDITED_MESSAGE, take_edit))
    app.add_handler(MessageHandler(PRIVATE & filters.COMMAND, unknown_command))
    app.add_handler(MessageHandler(PRIVATE & filters.TEXT, take_text))
    app.add_handler(MessageHandler(PRIVATE & (filters.VOICE | filters.PHOTO), take_media))
    app.add_handler(MessageHandler(PRIVATE, take_anything_else))
    app.add_error_handler(report_error)


async def _person(update: Update, context: PitstopContext) -> Person | None:
    user = update.effective_user
    return None if user is None else await people.get_person_by_telegram(context.db, user.id)


async def _ready(update: Update, context: PitstopContext, known: Person | None = None) -> Person | None:
    """Gives the person when they finished onboarding; otherwise answers for them and gives None."""
    person = known or await _person(update, context)
    if person is None:
        await reply(update, context, language_of(update, context), "not_invited")
        return None
    if person.status == "onboarding":
        await reply(update, context, person.language, "finish_setup_first")
        await onboarding.show_step(update, context, person)
        return None
    if person.status == "blocked":
        # They wrote again, so they unblocked the bot: take them back.
        person = await people.update_person(context.db, person.id, context.clock.now(), status="active")
        await replan_person(context.db, person.id, context.clock.now())
        log.info("person came back after blocking person=%d", person.id)
    return person


async def _leader(update: Update, context: PitstopContext) -> tuple[Person, list[StoredProgramme]] | None:
    """Gives a facilitator or admin and the programmes they lead; otherwise answers with a refusal and gives None."""
    user, chat = update.effective_user, update.effective_chat
    if user is None:
        return None
    person = await _person(update, context)
    if person is None and chat is not None and roles.is_admin(context, user.id):
        person = await enrol_admin(update, context)
    led = await roles.facilitator(update, context, person)
    return None if person is None or led is None else (person, led)


async def enrol_admin(update: Update, context: PitstopContext) -> Person:
    """Gives an admin by configuration (PITSTOP_ADMINS) who never joined by invite a record and the facilitators' menu."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    person = await people.create_admin(
        context.db, user.id, chat.id, user.first_name or "", language_of(update, context),
        context.services.settings.timezone, context.clock.now(),
    )
    await menus.set_facilitator_menu(context.bot, context.render, person)
    log.info("admin enrolled person=%d", person.id)
    return person


async def start_bot(update: Update, context: PitstopContext) -> None:
    """Joins with an invite code, resumes onboarding, or welcomes back; strangers hear it is invite-only."""
    code = (context.args or [""])[0].strip()
    if code:
        await onboarding.join_with_invite(update, context, code)
        return
    person = await _person(update, context)
    if person is None:
        await reply(update, context, language_of(update, context), "not_invited")
    elif person.status == "onboarding":
        await onboarding.show_step(update, context, person)
    else:
        await reply(update, context, person.language, "welcome_back", name=person.name)


async def show_help(update: Update, context: PitstopContext) -> None:
    """Lists what the bot does, in the person's language."""
    person = await _person(update, context)
    if person is None:
        await reply(update, context, language_of(update, context), "not_invited")
        return
    user_id = update.effective_user.id if update.effective_user else 0
    facilitator = await people.is_facilitator(context.db, person.id) or user_id in context.services.settings.admins
    await reply(update, context, person.language, "help", facilitator=facilitator)


async def run_journal(update: Update, context: PitstopContext) -> None:
    """Shows the journal, newest first, paged."""
    if (person := await _ready(update, context)) is not None:
        await account.show_journal(update, context, person)


async def run_digest(update: Update, context: PitstopContext) -> None:
    """Shows what the set's next digest carries so far."""
    if (person := await _ready(update, context)) is not None:
        await sharing.show_digest_so_far(update, context, person)


async def run_settings(update: Update, context: PitstopContext) -> None:
    """Shows the settings with a button to change each."""
    if (person := await _ready(update, context)) is not None:
        await onboarding.show_settings(update, context, person)


async def run_pause(update: Update, context: PitstopContext) -> None:
    """Pauses nudges, until a date when one is given."""
    if (person := await _ready(update, context)) is not None:
        await account.pause_nudges(update, context, person, list(context.args or []))


async def run_resume(update: Update, context: PitstopContext) -> None:
    """Ends a pause."""
    if (person := await _ready(update, context)) is not None:
        await account.resume_nudges(update, context, person)


async def run_export(update: Update, context: PitstopContext) -> None:
    """Sends the person's data as files."""
    if (person := await _ready(update, context)) is not None:
        await account.export_data(update, context, person)


async def run_forget(update: Update, context: PitstopContext) -> None:
    """Asks to confirm erasing everything (also possible during onboarding)."""
    person = await _person(update, context)
    if person is None:
        await reply(update, context, language_of(update, context), "not_invited")
        return
    await account.ask_forget(update, context, person)


async def run_pulse(update: Update, context: PitstopContext) -> None:
    """Shows the person's own pulse over time, as a chart and in words."""
    if (person := await _ready(update, context)) is not None:
        await journey.show_pulse(update, context, person)


async def run_story(update: Update, context: PitstopContext) -> None:
    """Sends the person their story so far as a PDF."""
    if (person := await _ready(update, context)) is not None:
        await journey.send_story(update, context, person)
async def run_question(update: Update, context: PitstopContext) -> None:
    """Shows the learning question, how it changed, and the buttons to rewrite or share it."""
    if (person := await _ready(update, context)) is not None:
        await learning_question.show_question(update, context, person)


async def run_stats(update: Update, context: PitstopContext) -> None:
    """Shows participation in the programmes the person leads, as counts and a chart."""
    if (found := await _leader(update, context)) is not None:
        await stats.show_stats(update, context, *found)
        await console.offer_console(update, context, found[0], "stats")


async def run_broadcast(update: Update, context: PitstopContext) -> None:
    """Starts a broadcast to a programme, set or the facilitators the person leads."""
    if (found := await _leader(update, context)) is not None:
        await facilitators.start_broadcast(update, context, *found)


async def run_reminders(update: Update, context: PitstopContext) -> None:
    """Lists the calendar's next reminders of the programmes the person leads."""
    if (found := await _leader(update, context)) is not None:
        await facilitators.list_reminders(update, context, *found)


async def run_brief(update: Update, context: PitstopContext) -> None:
    """Sends the brief of a set the person leads, as it stands now."""
    if (found := await _leader(update, context)) is not None:
        await briefs.ask_brief(update, context, *found)


async def unknown_command(update: Update, context: PitstopContext) -> None:
    """Answers a command the bot does not have."""
    person = await _person(update, context)
    if person is None:
        await reply(update, context, language_of(update, context), "not_invited")
        return
    await reply(update, context, person.language, "unknown_command")


async def take_text(update: Update, context: PitstopContext) -> None:
    """Typed text: the answer to a question the bot asked (onboarding, a setting, a takeaway…), or a reflection.

    While a question is open, text the bot cannot read as its answer gets a sentence and the question
    again; it never becomes a journal entry, and nothing is shared without a confirmation.
    """
    user, message = update.effective_user, update.effective_message
    guess = context.services.seen.guess(user.id) if user is not None else None
    read: reflections.JournalReads | None = None
    if guess is not None and message is not None and message.text is not None:
        # Someone seen before: what keeping this in their journal needs is read beside the person (one wait
        # for the database instead of two); left unused when it is not for the journal, or not them.
        person, read = await reflections.journal_reads_beside(context, guess, message, _person(update, context))
    else:
        person = await _person(update, context)
    if person is None or message is None or message.text is None:
        await reply(update, context, language_of(update, context), "not_invited")
        return
    if user is not None:
        context.services.seen.saw(user.id, person.id)
    text, now = message.text, context.clock.now()
    question = open_question(person, now)
    # Straight to the journal, nothing written before: what was read beside the person still holds.
    straight = question is None and person.status == "active" and person.onboarding_step is None
    if question is not None and question.kind in facilitators.QUESTIONS:
        # a facilitator may broadcast before finishing their own onboarding
        await facilitators.take_awaited_text(update, context, person, question, text)
        return
    if person.status == "onboarding":
        await onboarding.type_during_step(update, context, person, text)
        return
    if person.status == "active" and person.onboarding_step is not None:
        if question is not None and question.kind == "setting":
            await onboarding.type_during_step(update, context, person, text)
            return
        # A change of a setting left open too long: it must not swallow today's reflection.
        person = await people.update_person(context.db, person.id, now, onboarding_step=None)
    if (person := await _ready(update, context, person)) is not None:
        if question is not None and await sharing.take_awaited_text(update, context, person, text):
            return
        if question is not None and question.kind == "correct" and await account.take_correction(update, context, person, text):
            return
        if question is not None and question.kind == "deeper" and await deeper.take_answer(update, context, person, text):
            return
        if question is not None and await learning_question.take_awaited_text(update, context, person, text):
            return
        await reflections.take_text(update, context, person, read if straight else None)


async def take_media(update: Update, context: PitstopContext) -> None:
    """A voice note or a photo: kept as a reference in the journal, unless a question waits for typed text."""
    if (person := await _ready(update, context)) is None:
        return
    if open_question(person, context.clock.now()) is not None:
        # It cannot be the answer, and keeping it would look like one: say so; the question stays open.
        await reply(update, context, person.language, "question_needs_text")
        return
    await reflections.take_media(update, context, person)


async def take_edit(update: Update, context: PitstopContext) -> None:
    """An edited message: updates its journal entry."""
    person = await _person(update, context)
    if person is None:
        await reply(update, context, language_of(update, context), "not_invited")
        return
    await reflections.take_edit(update, context, person)


async def take_anything_else(update: Update, context: PitstopContext) -> None:
    """Stickers, locations, files, contacts, polls…: a friendly sentence about what the bot keeps."""
    person = await _person(update, context)
    if update.effective_message is None:
        return  # not a message (e.g. a membership change): nothing to answer
    if person is None:
        await reply(update, context, language_of(update, context), "not_invited")
        return
    await reply(update, context, person.language, "unsupported")


async def press_skip_question(update: Update, context: PitstopContext, person: Person, _: buttons.QuestionSkipButton) -> None:
    """Skips writing a learning question at the end of onboarding (the press carries nothing more)."""
    await onboarding.skip_question(update, context, person)


# Which handler takes a press, by the type `buttons.parse` gave it (the first that matches).
Press = Callable[[Update, PitstopContext, Person, Any], Awaitable[None]]
PRESSES: tuple[tuple[type | UnionType, Press], ...] = (
    (buttons.OnboardingButton, onboarding.press_onboarding),
    (buttons.SettingButton, onboarding.press_settings),
    (buttons.PromptButton, reflections.press_prompt),
    (buttons.JournalButton, account.press_journal),
    (buttons.ForgetButton, account.press_forget),
    (buttons.ShareButton, sharing.press_share),
    (buttons.CaseButton, sharing.press_case),
    (buttons.ConfirmButton, sharing.press_confirm),
    (buttons.BroadcastButton, facilitators.press_broadcast),
    (buttons.RemindersButton, facilitators.press_reminders),
    (buttons.PulseButton, journey.press_pulse),
    (buttons.FacilitatorButton, for_facilitators.press_facilitator),
    (buttons.DeepeningButton, deeper.press_deeper),
    (buttons.QuestionButton, learning_question.press_question),
    (buttons.QuestionSkipButton, press_skip_question),
    (buttons.ResearchConsentButton, research.press_research),
    (buttons.CheckinButton, quiet.press_checkin),
    (buttons.RhythmButton, quiet.press_rhythm),
)


async def press_button(update: Update, context: PitstopContext) -> None:
    """Routes a button press by its parsed data; data the bot did not write, or not the presser's, changes nothing."""
    query = update.callback_query
    if query is None:
        return
    person = await _person(update, context)
    if person is None:
        await stale_button(update, context, language_of(update, context))
        return
    pressed = buttons.parse(query.data)
    press = next((press for kind, press in PRESSES if isinstance(pressed, kind)), None)
    if press is None:  # forged, stale in form, too long or malformed: buttons.parse gave None
        await stale_button(update, context, person.language)
    else:
        await press(update, context, person, pressed)


async def report_error(update: object, context: PitstopContext) -> None:
    """Logs the failure with its trace (never message text), then apologises to the user."""
    log.error("update failed: %s", type(context.error).__name__, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            person = await _person(update, context)
            await reply(update, context, language_of(update, context, person), "error")
            if update.callback_query is not None:
                await update.callback_query.answer()
        except Exception:  # the apology itself failed: the log above already has the cause
            log.warning("could not send the error answer", exc_info=True)
