"""/brief <set>: a facilitator (or an admin) asks for a set's brief as it stands now.

The brief itself goes through the outbox like the one planned the day before each meeting
(bot.jobs.briefs); this only checks who asks for which set. A facilitator sees only the sets they
lead: a set of another programme is answered as unknown, the same sentence as a typing mistake.
"""

from __future__ import annotations

import logging

from telegram import Update

from bot.jobs.briefs import asked_brief
from bot.store import briefs, outbox, programmes, sharing
from bot.store.people import Person
from bot.store.programmes import StoredProgramme, StoredSet
from bot.tg import roles
from bot.tg.common import reply
from bot.tg.context import PitstopContext

log = logging.getLogger(__name__)


async def ask_brief(update: Update, context: PitstopContext, person: Person, led: list[StoredProgramme]) -> None:
    """Plans the brief of the set named after /brief, or says which sets the person may ask for."""
    candidates = await _sets_for(context, person, led)
    if not candidates:
        await reply(update, context, person.language, "brief_no_sets")
        return
    keys = [key for _, key, _ in candidates]
    # A set key needs its programme in front only when two programmes use it.
    shown = [key if keys.count(key) == 1 else f"{programme}/{key}" for programme, key, _ in candidates]
    wanted = " ".join(context.args or []).strip()
    if not wanted:
        await reply(update, context, person.language, "brief_which", sets=shown)
        return
    programme_key, _, set_key = wanted.rpartition("/")
    matches = [c for c in candidates if c[1] == set_key and (not programme_key or c[0] == programme_key)]
    if len(matches) != 1:
        await reply(update, context, person.language, "brief_unknown", typed=wanted[:60], sets=shown)
        return
    learning_set = matches[0][2]
    if not await sharing.members(context.db, learning_set.id):
        await reply(update, context, person.language, "brief_no_members", set_name=learning_set.name)
        return
    now = context.clock.now()
    await outbox.plan(context.db, [asked_brief(learning_set.id, person, f"update{update.update_id}", now)], now)
    log.info("brief asked person=%d set=%d", person.id, learning_set.id)


async def _sets_for(context: PitstopContext, person: Person, led: list[StoredProgramme]) -> list[tuple[str, str, StoredSet]]:
    """Gives (programme key, set key, set) of every set the person may see a brief of: those they
    facilitate, or every set of every programme for an admin."""
    admin = roles.is_admin(context, person.telegram_id)
    found = []
    for stored in led:
        for learning_set in await programmes.list_sets(context.db, stored.id):
            if admin or await briefs.leads_set(context.db, person.id, learning_set.id):
                found.append((stored.programme.key, learning_set.key, learning_set))
    return found
