"""Reading what people type: time zones, hours, dates. Pure; gives None for what it cannot read."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache
from zoneinfo import available_timezones

# Places participants type that are not the last part of an IANA name.
CITY_ALIASES = {
    "den haag": "Europe/Amsterdam",
    "the hague": "Europe/Amsterdam",
    "s-gravenhage": "Europe/Amsterdam",
    "'s-gravenhage": "Europe/Amsterdam",
    "rotterdam": "Europe/Amsterdam",
    "utrecht": "Europe/Amsterdam",
    "leiden": "Europe/Amsterdam",
    "nederland": "Europe/Amsterdam",
    "netherlands": "Europe/Amsterdam",
    "brussel": "Europe/Brussels",
    "bruxelles": "Europe/Brussels",
    "antwerpen": "Europe/Brussels",
    "gent": "Europe/Brussels",
    "belgie": "Europe/Brussels",
    "belgium": "Europe/Brussels",
    "manchester": "Europe/London",
    "londen": "Europe/London",
    "kaunas": "Europe/Vilnius",
    "lithuania": "Europe/Vilnius",
    "new york": "America/New_York",
    "utc": "UTC",
}

MONTHS = {
    "jan": 1, "januari": 1, "january": 1, "feb": 2, "februari": 2, "february": 2, "mrt": 3, "mar": 3,
    "maart": 3, "march": 3, "apr": 4, "april": 4, "mei": 5, "may": 5, "jun": 6, "juni": 6, "june": 6,
    "jul": 7, "juli": 7, "july": 7, "aug": 8, "augustus": 8, "august": 8, "sep": 9, "sept": 9,
    "september": 9, "okt": 10, "oct": 10, "oktober": 10, "october": 10, "nov": 11, "november": 11,
    "dec": 12, "december": 12,
}


def _plain(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'")  # phone keyboards type curly apostrophes
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip().lower()


@lru_cache(maxsize=1)
def _zones() -> dict[str, str]:
    names = {}
    for name in available_timezones():
        if name.startswith(("Etc/", "SystemV/", "posix/", "right/")) or "/" not in name:
            continue
        names[name.lower()] = name
        city = name.rsplit("/", 1)[-1].replace("_", " ").lower()
        names.setdefault(city, name)
    names["utc"] = "UTC"
    return names


def parse_zone(text: str) -> str | None:
    """Gives the IANA zone for a typed zone name or city ("Europe/Amsterdam", "amsterdam", "Den Haag")."""
    typed = _plain(text)[:64]
    if not typed:
        return None
    if typed in CITY_ALIASES:
        return CITY_ALIASES[typed]
    zones = _zones()
    return zones.get(typed) or zones.get(typed.replace("_", " ")) or zones.get(typed.replace(" ", "_"))


def parse_hour(text: str) -> tuple[int, int] | None:
    """Gives (hour, minute) for "9", "09:30", "9.30", "21u" — or None."""
    match = re.fullmatch(r"\s*(\d{1,2})(?:[:.h](\d{2}))?\s*(?:u|uur|h|am|pm)?\s*", _plain(text))
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if "pm" in text.lower() and hour < 12:
        hour += 12
    elif "am" in text.lower() and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    return hour, minute


def parse_day(text: str, today: date) -> date | None:
    """Gives the date in "2027-01-04", "4-1-2027", "4/1", "4 jan", "until 4 January" — or None.

    A day without a year is the next such day from today on.
    """
    typed = re.sub(r"^(tot en met|t/m|until|till|tot|to)\s+", "", _plain(text))[:40]
    try:
        return date.fromisoformat(typed)
    except ValueError:
        pass
    numeric = re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})(?:[-/.](\d{2,4}))?", typed)
    named = re.fullmatch(r"(\d{1,2})\s+([a-z]+)\.?(?:\s+(\d{4}))?", typed)
    if numeric:
        day, month, year = int(numeric.group(1)), int(numeric.group(2)), numeric.group(3)
    elif named and named.group(2) in MONTHS:
        day, month, year = int(named.group(1)), MONTHS[named.group(2)], named.group(3)
    else:
        return None
    try:
        if year is not None:
            full = int(year) + (2000 if len(year) == 2 else 0)
            return date(full, month, day)
    except ValueError:
        return None
    for candidate in range(today.year, today.year + 9):  # 29 February waits for a leap year
        try:
            found = date(candidate, month, day)
        except ValueError:
            continue
        if found >= today:
            return found
    return None
