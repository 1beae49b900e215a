"""The check-in's choices (pause, fewer prompts, still here) and the rhythm buttons of /settings.

Every choice re-plans at once. A check-in button names its outbox row: only the person it was sent to,
pressing it on a check-in that went, changes anything; anything else gets the stale notice.
"""

from __future__ import annotations

import logging
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from telegram import Update

from bot.buttons import CheckinButton, RhythmButton
from bot.domain.nudges import local_moment
from bot.jobs.planner import replan_person
from bot.render import short_day_text
from bot.store import outbox, people
from bot.store.people import Person
from bot.tg.common import acknowledge, answer_button, remove_buttons, reply, stale_button
from bot.tg.context import PitstopContext
from bot.tg.onboarding import show_settings

log = logging.getLogger(__name__)

PAUSES = {"p14": 14, "p30": 30}  # days a pause from the check-in lasts
RHYTHM_OF = {"e2": 2, "e7": 7}


async def press_checkin(update: Update, context: PitstopContext, person: Person, pressed: CheckinButton) -> None:
    """Takes a choice under the check-in: pause for a while, fewer prompts, or still here."""
    row = await outbox.get(context.db, pressed.outbox_id)
    if row is None or row.kind != "checkin" or row.person_id != person.id or row.status not in outbox.DELIVERED \
            or person.status != "active":
        await stale_button(update, context, person.language)
        return
    now = context.clock.now()
    await acknowledge(update)
    await remove_buttons(update)
    if pressed.choice in PAUSES:
        zone = ZoneInfo(person.timezone)
        day = now.astimezone(zone).date() + timedelta(days=PAUSES[pressed.choice])
        until = local_moment(day, 0, 0, zone).astimezone(UTC)
        await people.update_person(context.db, person.id, now, paused_until=until)
        await replan_person(context.db, person.id, now)
        log.info("check-in: paused person=%d days=%d", person.id, PAUSES[pressed.choice])
        await reply(update, context, person.language, "checkin_paused", until=short_day_text(until, person.language, zone))
    elif pressed.choice in RHYTHM_OF:
        await _set_rhythm(context, person, RHYTHM_OF[pressed.choice])
        await reply(update, context, person.language, "checkin_rhythm", every=RHYTHM_OF[pressed.choice])
    else:  # "here"
        log.info("check-in: still here person=%d", person.id)
        await reply(update, context, person.language, "checkin_here", name=person.name)


async def press_rhythm(update: Update, context: PitstopContext, person: Person, pressed: RhythmButton) -> None:
    """Sets how often prompts come, from /settings, and shows the settings again."""
    if person.status != "active":
        await stale_button(update, context, person.language)
        return
    person = await _set_rhythm(context, person, pressed.every)
    await answer_button(update, context, person.language, "chosen")
    await show_settings(update, context, person, saved=True)


async def _set_rhythm(context: PitstopContext, person: Person, every: int) -> Person:
    now = context.clock.now()
    person = await people.update_person(context.db, person.id, now, prompt_every=every)
    planned = await replan_person(context.db, person.id, now)
    log.info("rhythm set person=%d every=%d planned=%d", person.id, every, planned)
    return person
