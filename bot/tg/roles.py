"""Who may do what: facilitators of a programme, and admins (PITSTOP_ADMINS) of every programme.

Checked on every facilitator command and button press, not once per conversation. These functions only
check and refuse; an admin's record is made by `handlers.enrol_admin` on their first facilitator command.
"""

from __future__ import annotations

from telegram import Update

from bot.store import people, programmes
from bot.store.people import Person
from bot.store.programmes import StoredProgramme
from bot.tg.common import language_of, reply
from bot.tg.context import PitstopContext


def is_admin(context: PitstopContext, telegram_id: int) -> bool:
    """Gives whether a Telegram user is an admin by configuration."""
    return telegram_id in context.services.settings.admins


async def led_programmes(context: PitstopContext, person: Person) -> list[StoredProgramme]:
    """Gives the programmes a person may act on as facilitator: all for an admin."""
    everything = await programmes.list_programmes(context.db)
    if is_admin(context, person.telegram_id):
        return everything
    return [p for p in everything if await people.is_facilitator(context.db, person.id, p.id)]


async def may_lead(context: PitstopContext, person: Person, programme_id: int) -> bool:
    """Gives whether a person may act on this programme as facilitator."""
    return is_admin(context, person.telegram_id) or await people.is_facilitator(context.db, person.id, programme_id)


async def facilitator(update: Update, context: PitstopContext, person: Person | None) -> list[StoredProgramme] | None:
    """Gives the programmes a person leads, or answers with a refusal and gives None."""
    if person is None:
        await reply(update, context, language_of(update, context), "not_invited")
        return None
    led = await led_programmes(context, person)
    if not led:
        await reply(update, context, person.language, "not_facilitator")
        return None
    return led
