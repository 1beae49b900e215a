"""Research consent in /settings: read about the trend study, then give or withdraw consent with a button.

Consent is off by default. The *give* and *withdraw* buttons name the person they were shown to; a press
by anyone else, or one that no longer applies (consent already given, or not given to withdraw), gets a
sentence and changes nothing. What an export may hold is in bot.domain.research; the paragraph a
participant reads says the same in words.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.buttons import ResearchAction, ResearchButton, ResearchConsentButton, ResearchInfoButton
from bot.render import short_day_text
from bot.store import people, research
from bot.store.people import Person
from bot.tg.common import acknowledge, answer_button, remove_buttons, reply, stale_button
from bot.tg.context import PitstopContext

log = logging.getLogger(__name__)


async def settings_values(context: PitstopContext, person: Person) -> dict[str, object]:
    """Gives what /settings shows of the consent: whether it applies (participants only) and since when."""
    shown = await people.participation(context.db, person.id) is not None
    since = await research.consent_of(context.db, person.id) if shown else None
    return {"research_shown": shown, "research_since": short_day_text(since, person.language, ZoneInfo(person.timezone)) if since else ""}


def settings_button(context: PitstopContext, person: Person) -> InlineKeyboardButton:
    """Gives the /settings button that opens the trend study's paragraph."""
    return InlineKeyboardButton(context.render.button(person.language, "research_about"), callback_data=ResearchInfoButton().data)


async def press_research(update: Update, context: PitstopContext, person: Person, pressed: ResearchConsentButton) -> None:
    """Shows the paragraph with the one button that applies, or gives or withdraws the presser's own consent."""
    if person.status != "active":  # still onboarding: /settings, and so this button, comes after
        await stale_button(update, context, person.language)
        return
    if await people.participation(context.db, person.id) is None:
        await answer_button(update, context, person.language, "research_participants", alert=True)
        return
    if isinstance(pressed, ResearchInfoButton):
        await acknowledge(update)
        await show_consent(update, context, person)
        return
    if pressed.person_id != person.id:  # forged, or forwarded from someone else's chat
        log.info("research consent press refused person=%d", person.id)
        await answer_button(update, context, person.language, "research_not_yours", alert=True)
        return
    now = context.clock.now()
    if pressed.action == "give":
        if not await research.give_consent(context.db, person.id, now):
            await answer_button(update, context, person.language, "research_already", alert=True)
            return
        log.info("research consent given person=%d", person.id)
        await acknowledge(update)
        await remove_buttons(update)
        await reply(update, context, person.language, "research_given")
    else:
        if not await research.withdraw_consent(context.db, person.id, now):
            await answer_button(update, context, person.language, "research_not_given", alert=True)
            return
        log.info("research consent withdrawn person=%d", person.id)
        await acknowledge(update)
        await remove_buttons(update)
        await reply(update, context, person.language, "research_withdrawn")


async def show_consent(update: Update, context: PitstopContext, person: Person) -> None:
    """Sends the plain paragraph on the trend study, the person's consent, and the button to change it."""
    since = await research.consent_of(context.db, person.id)
    action: ResearchAction = "withdraw" if since else "give"
    label = context.render.button(person.language, f"research_{action}")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=ResearchButton(action, person.id).data)]])
    text = context.render.message(
        person.language, "research_consent", since=short_day_text(since, person.language, ZoneInfo(person.timezone)) if since else ""
    )
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=keyboard)
