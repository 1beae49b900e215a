"""Who is asking, once their initData is checked: the person, their language, and what they may see.

A participant sees their own data; a facilitator the programmes they lead; an admin (PITSTOP_ADMINS)
every programme. Someone Telegram vouches for but the bot does not know is refused (403), as in chat.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.config import LANGUAGES
from bot.services import Services
from bot.store import people, programmes
from bot.store.people import Membership, Person
from bot.store.programmes import StoredProgramme
from bot.webapp.initdata import WebAppUser
from bot.webapp.pages import ConsoleError


@dataclass(frozen=True)
class Viewer:
    """A known person with a checked identity, and their roles."""

    person: Person
    admin: bool
    participation: Membership | None
    led: tuple[StoredProgramme, ...]

    @property
    def language(self) -> str:
        """Gives the person's language."""
        return self.person.language

    @property
    def zone(self) -> ZoneInfo:
        """Gives the person's time zone."""
        return ZoneInfo(self.person.timezone)

    @property
    def leads(self) -> bool:
        """Gives whether the person leads any programme (an admin leads them all)."""
        return bool(self.led) or self.admin

    def programme(self, programme_id: int) -> StoredProgramme:
        """Gives a programme the person leads, or refuses (403) one they do not."""
        found = next((p for p in self.led if p.id == programme_id), None)
        if found is None:
            raise ConsoleError(403, "not_your_programme")
        return found

    def participant(self) -> Membership:
        """Gives the person's participation, or refuses (403) someone who only leads."""
        if self.participation is None:
            raise ConsoleError(403, "not_a_participant")
        return self.participation


async def who(services: Services, user: WebAppUser) -> Viewer:
    """Gives the viewer behind a checked Telegram user, or refuses a stranger or someone still onboarding."""
    db, settings = services.db, services.settings
    admin = user.id in settings.admins
    person = await people.get_person_by_telegram(db, user.id)
    if person is None and admin:
        # As on an admin's first facilitator command: a record, so that actions have someone to name.
        language = user.language_code if user.language_code in LANGUAGES else settings.language
        person = await people.create_admin(
            db, user.id, user.id, user.first_name or str(user.id), language, settings.timezone, services.clock.now()
        )
    if person is None:
        raise ConsoleError(403, "not_invited")
    if person.status == "onboarding":
        raise ConsoleError(403, "finish_setup_first")
    everything = await programmes.list_programmes(db)
    led = tuple(everything) if admin else tuple(
        [p for p in everything if await people.is_facilitator(db, person.id, p.id)]
    )
    return Viewer(person, admin, await people.participation(db, person.id), led)
