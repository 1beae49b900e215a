"""Joining with an invite, onboarding (language, time zone, hour, days, privacy) and /settings.

The step a person is at lives in the database (`person.onboarding_step`), so onboarding resumes
after a restart and needs no ConversationHandler state in memory.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.buttons import (
    HOUR_BUTTONS,
    RHYTHMS,
    ZONE_BUTTONS,
    DayButton,
    DaysDoneButton,
    HourButton,
    LanguageButton,
    OnboardingButton,
    PrivacyButton,
    QuestionSkipButton,
    RhythmButton,
    SettingButton,
    ZoneButton,
)
from bot.domain.learning_question import QUESTION_LIMIT
from bot.domain.nudges import next_nudge
from bot.domain.parsing import parse_hour, parse_zone
from bot.jobs.learning_question import plan_person_questions
from bot.jobs.planner import nudge_settings, replan_person
from bot.render import moment_text, short_day_text
from bot.store import people, programmes
from bot.store.people import Person, Redeemed
from bot.tg import learning_question, menus, research
from bot.tg.common import acknowledge, answer_button, awaiting, language_of, remove_buttons, reply, stale_button
from bot.tg.context import PitstopContext

log = logging.getLogger(__name__)

STEPS = ("language", "timezone", "hour", "days", "privacy", "question")
PROMPT_STEPS = ("hour", "days")  # only for people who get reflection prompts
PARTICIPANT_STEPS = ("question",)  # only for participants: their learning question, last


async def join_with_invite(update: Update, context: PitstopContext, code: str) -> None:
    """Enrols the sender with an invite code and starts onboarding; refuses bad codes politely."""
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    known = await people.get_person_by_telegram(context.db, user.id)
    language = language_of(update, context, known)
    if len(code) > 64:
        await reply(update, context, language, "invite_unknown")
        return
    outcome, person, invite = await people.redeem_invite(
        context.db, code, user.id, chat.id, user.first_name or "", language,
        context.services.settings.timezone, context.clock.now(),
    )
    if outcome in (Redeemed.UNKNOWN, Redeemed.EXPIRED, Redeemed.USED_UP):
        await reply(update, context, language, f"invite_{outcome.value}")
        return
    assert person is not None and invite is not None
    if invite.role == "facilitator":
        await menus.set_facilitator_menu(context.bot, context.render, person)
    log.info("invite redeemed person=%d programme=%d outcome=%s", person.id, invite.programme_id, outcome.value)
    if person.status == "onboarding":
        if outcome is Redeemed.JOINED and person.onboarding_step == "language":
            stored = await programmes.get_programme_by_id(context.db, invite.programme_id)
            title = stored.programme.title if stored else ""
            await reply(update, context, person.language, "joined", name=person.name, programme=title, role=invite.role)
        await show_step(update, context, person)
        return
    if outcome is Redeemed.JOINED:
        # Someone already set up joins another programme: say so, and plan for where they are now.
        stored = await programmes.get_programme_by_id(context.db, invite.programme_id)
        learning_set = await programmes.get_set_by_id(context.db, invite.learning_set_id) if invite.learning_set_id else None
        await replan_person(context.db, person.id, context.clock.now())
        await reply(update, context, person.language, "joined_another", name=person.name,
                    programme=stored.programme.title if stored else "", role=invite.role,
                    set_name=learning_set.name if learning_set else "")
        return
    await reply(update, context, person.language, "welcome_back", name=person.name)


def step_keyboard(context: PitstopContext, person: Person, step: str) -> InlineKeyboardMarkup | None:
    """Gives the buttons of an onboarding or settings step; a settings step also has a way out."""
    keyboard = _step_buttons(context, person, step)
    if keyboard is None or person.status != "active" or step == "days":
        return keyboard  # the days step of /settings saves each tap and ends with Done
    cancel = InlineKeyboardButton(context.render.button(person.language, "cancel"), callback_data=SettingButton("cancel").data)
    return InlineKeyboardMarkup([*keyboard.inline_keyboard, [cancel]])


def _step_buttons(context: PitstopContext, person: Person, step: str) -> InlineKeyboardMarkup | None:
    render, lang = context.render, person.language
    if step == "language":
        return InlineKeyboardMarkup([[
            InlineKeyboardButton("Nederlands", callback_data=LanguageButton("nl").data),
            InlineKeyboardButton("English", callback_data=LanguageButton("en").data),
        ]])
    if step == "timezone":
        rows = [[InlineKeyboardButton(render.button(lang, "zone", zone=z), callback_data=ZoneButton(z).data)]
                for z in ZONE_BUTTONS]
        return InlineKeyboardMarkup(rows)
    if step == "hour":
        buttons = [InlineKeyboardButton(f"{h:02d}:00", callback_data=HourButton(h).data) for h in HOUR_BUTTONS]
        return InlineKeyboardMarkup([buttons[:3], buttons[3:]])
    if step == "days":
        chosen = set(person.nudge_days)
        days = [
            InlineKeyboardButton(
                ("✓ " if d in chosen else "") + render.button(lang, "weekday", day=d), callback_data=DayButton(d).data
            )
            for d in range(7)
        ]
        done = InlineKeyboardButton(render.button(lang, "done"), callback_data=DaysDoneButton().data)
        return InlineKeyboardMarkup([days[:4], days[4:], [done]])
    if step == "privacy":
        return InlineKeyboardMarkup([[InlineKeyboardButton(render.button(lang, "understood"), callback_data=PrivacyButton().data)]])
    if step == "question":
        return InlineKeyboardMarkup([[InlineKeyboardButton(render.button(lang, "question_skip"),
                                                           callback_data=QuestionSkipButton().data)]])
    return None


async def show_step(update: Update, context: PitstopContext, person: Person) -> None:
    """Sends the question of the step a person is at."""
    step = person.onboarding_step or "language"
    chat = update.effective_chat
    assert chat is not None
    text = context.render.message(
        person.language, f"step_{step}", name=person.name, timezone=person.timezone,
        hour=f"{person.nudge_hour:02d}:{person.nudge_minute:02d}", settings=person.status == "active",
        limit=QUESTION_LIMIT,
    )
    await context.bot.send_message(chat.id, text, reply_markup=step_keyboard(context, person, step))


async def press_onboarding(update: Update, context: PitstopContext, person: Person, pressed: OnboardingButton) -> None:
    """Handles a button of an onboarding or settings step, when that step is the one the person is at."""
    query = update.callback_query
    assert query is not None
    step = person.onboarding_step
    now = context.clock.now()
    if isinstance(pressed, LanguageButton) and step == "language":
        person = await people.update_person(context.db, person.id, now, language=pressed.language)
        await answer_button(update, context, person.language, "chosen")
        await _advance(update, context, person)
    elif isinstance(pressed, ZoneButton) and step == "timezone":
        person = await people.update_person(context.db, person.id, now, timezone=pressed.zone)
        await answer_button(update, context, person.language, "chosen")
        await _advance(update, context, person)
    elif isinstance(pressed, HourButton) and step == "hour":
        person = await people.update_person(context.db, person.id, now, nudge_hour=pressed.hour, nudge_minute=0)
        await answer_button(update, context, person.language, "chosen")
        await _advance(update, context, person)
    elif isinstance(pressed, DayButton) and step == "days":
        days = set(person.nudge_days) ^ {pressed.day}
        person = await people.update_person(context.db, person.id, now, nudge_days=tuple(sorted(days)))
        if person.status == "active":
            await replan_person(context.db, person.id, now)  # saved at once, so planned at once
        await acknowledge(update)
        try:
            await query.edit_message_reply_markup(step_keyboard(context, person, "days"))
        except BadRequest:
            pass  # the same keyboard twice ("message is not modified"): nothing to show
    elif isinstance(pressed, DaysDoneButton) and step == "days":
        if not person.nudge_days:
            await answer_button(update, context, person.language, "pick_a_day", alert=True)
            return
        await answer_button(update, context, person.language, "chosen")
        await _advance(update, context, person)
    elif isinstance(pressed, PrivacyButton) and step == "privacy":
        await answer_button(update, context, person.language, "chosen")
        await _advance(update, context, person)
    else:
        await stale_button(update, context, person.language)


async def type_during_step(update: Update, context: PitstopContext, person: Person, text: str) -> None:
    """Takes a typed time zone or hour at those steps; elsewhere points back to the buttons."""
    now = context.clock.now()
    step = person.onboarding_step
    if step == "timezone":
        zone = parse_zone(text)
        if zone is None:
            await reply(update, context, person.language, "zone_unknown", typed=text[:60])
            await show_step(update, context, person)
            return
        person = await people.update_person(context.db, person.id, now, timezone=zone)
        await reply(update, context, person.language, "zone_set", timezone=zone)
        await _advance(update, context, person)
    elif step == "hour":
        hour = parse_hour(text)
        if hour is None:
            await reply(update, context, person.language, "hour_unknown", typed=text[:60])
            await show_step(update, context, person)
            return
        person = await people.update_person(context.db, person.id, now, nudge_hour=hour[0], nudge_minute=hour[1])
        # Say back how the typed time was read ("9pm" is 21:00), as for a typed zone.
        await reply(update, context, person.language, "hour_set", hour=f"{hour[0]:02d}:{hour[1]:02d}")
        await _advance(update, context, person)
    elif step == "question":
        kept = await learning_question.keep_typed(update, context, person, text)
        if kept is False:  # it said why; the step asks again
            await show_step(update, context, person)
        elif kept:
            await _advance(update, context, person)
    else:
        await reply(update, context, person.language, "use_the_buttons")
        await show_step(update, context, person)


async def skip_question(update: Update, context: PitstopContext, person: Person) -> None:
    """*Skip for now* at the learning-question step: onboarding ends without one (/question writes it later)."""
    if person.status != "onboarding" or person.onboarding_step != "question":
        await stale_button(update, context, person.language)
        return
    await answer_button(update, context, person.language, "chosen")
    await remove_buttons(update)
    await reply(update, context, person.language, "question_later")
    await _advance(update, context, person)


async def _advance(update: Update, context: PitstopContext, person: Person) -> None:
    """Moves to the next onboarding step, or back to the settings summary when changing a setting."""
    now = context.clock.now()
    if person.status == "active":
        person = await people.update_person(context.db, person.id, now, onboarding_step=None, awaiting=None)
        await replan_person(context.db, person.id, now)
        await show_settings(update, context, person, saved=True)
        return
    step = person.onboarding_step or "language"
    following = STEPS[STEPS.index(step) + 1] if step in STEPS and step != STEPS[-1] else None
    if following in PROMPT_STEPS and await people.participation(context.db, person.id) is None:
        following = "privacy"  # a facilitator gets no reflection prompts: no need to ask when
    if following in PARTICIPANT_STEPS and await people.participation(context.db, person.id) is None:
        following = None
    if following is not None:
        person = await people.update_person(context.db, person.id, now, onboarding_step=following)
        await show_step(update, context, person)
        return
    person = await people.update_person(context.db, person.id, now, onboarding_step=None, status="active")
    planned = await replan_person(context.db, person.id, now)
    await plan_person_questions(context.db, person.id, now)
    participant = await people.participation(context.db, person.id) is not None
    first = next_nudge(nudge_settings(person), now) if participant else None
    log.info("onboarding finished person=%d planned=%d", person.id, planned)
    await reply(
        update, context, person.language, "onboarded", name=person.name,
        first=moment_text(first, person.language, nudge_settings(person).zone) if first else "",
        facilitator=not participant,
    )


async def show_settings(update: Update, context: PitstopContext, person: Person, saved: bool = False) -> None:
    """Shows a person's settings with a button for each."""
    render, lang = context.render, person.language
    chat = update.effective_chat
    assert chat is not None
    paused = ""
    if person.paused_until is not None and person.paused_until > context.clock.now():
        paused = "/resume" if person.paused_until.year >= 9999 else \
            short_day_text(person.paused_until, lang, nudge_settings(person).zone)
    consent = await research.settings_values(context, person)
    text = render.message(
        lang, "settings", saved=saved, language_name=render.button(lang, "language_name", code=lang),
        timezone=person.timezone, hour=f"{person.nudge_hour:02d}:{person.nudge_minute:02d}",
        days=", ".join(render.button(lang, "weekday", day=d) for d in person.nudge_days),
        paused=paused, show_activity=person.show_activity, every=person.prompt_every,
        **consent,
    )
    keyboard = InlineKeyboardMarkup([
        [InlineKeyboardButton(render.button(lang, "set_language"), callback_data=SettingButton("language").data),
         InlineKeyboardButton(render.button(lang, "set_timezone"), callback_data=SettingButton("timezone").data)],
        [InlineKeyboardButton(render.button(lang, "set_hour"), callback_data=SettingButton("hour").data),
         InlineKeyboardButton(render.button(lang, "set_days"), callback_data=SettingButton("days").data)],
        [InlineKeyboardButton(render.button(lang, "set_activity", on=person.show_activity),
                              callback_data=SettingButton("activity").data)],
        [InlineKeyboardButton(render.button(lang, "rhythm", every=every, current=person.prompt_every),
                              callback_data=RhythmButton(every).data) for every in RHYTHMS],
        *([[research.settings_button(context, person)]] if consent["research_shown"] else []),
    ])
    await context.bot.send_message(chat.id, text, reply_markup=keyboard)


async def press_settings(update: Update, context: PitstopContext, person: Person, pressed: SettingButton) -> None:
    """Opens one setting for change, flips the show-activity choice, or leaves the change."""
    what = pressed.setting
    now = context.clock.now()
    if person.status != "active":
        await stale_button(update, context, person.language)
        return
    if what in ("language", "timezone", "hour", "days"):
        # The question is shown first: only once it reached the person does a typed text answer it.
        await show_step(update, context, replace(person, onboarding_step=what))
        person = await people.update_person(context.db, person.id, now, onboarding_step=what,
                                            awaiting=awaiting("setting", 0, now))
        await answer_button(update, context, person.language, "chosen")
    elif what == "cancel":
        person = await people.update_person(context.db, person.id, now, onboarding_step=None, awaiting=None)
        await answer_button(update, context, person.language, "cancelled")
        await remove_buttons(update)
        await show_settings(update, context, person)
    else:  # "activity"
        person = await people.update_person(context.db, person.id, now, show_activity=not person.show_activity)
        await answer_button(update, context, person.language, "chosen")
        await show_settings(update, context, person, saved=True)
