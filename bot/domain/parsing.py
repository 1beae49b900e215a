"""Reading what people type: time zones, hours, dates. Pure; gives None for what it cannot read."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache
from zoneinfo import available_timezones

from babel import Locale
from babel.core import get_global

LANGUAGES = ("en", "nl")

# What Babel cannot know: its cities are the time zones' exemplar cities only (Lissabon, Parijs,
# Kopenhagen…), not every municipality. Dutch and Belgian ones (in Dutch, French and English) are all
# one clock; plus the cities of the programmes' residentials and a few words people use for a zone.
NETHERLANDS = (
    "nederland", "holland", "the netherlands", "netherlands", "den haag", "the hague", "'s-gravenhage",
    "rotterdam", "utrecht", "eindhoven", "groningen", "tilburg", "almere", "breda", "nijmegen", "apeldoorn",
    "haarlem", "arnhem", "enschede", "amersfoort", "zaanstad", "zaandam", "'s-hertogenbosch", "den bosch",
    "haarlemmermeer", "hoofddorp", "zwolle", "zoetermeer", "leiden", "maastricht", "dordrecht", "ede",
    "alphen aan den rijn", "westland", "alkmaar", "emmen", "delft", "venlo", "deventer", "sittard",
    "geleen", "helmond", "oss", "amstelveen", "hilversum", "heerlen", "leeuwarden", "assen", "lelystad",
    "middelburg", "roermond", "gouda", "purmerend", "schiedam", "vlaardingen", "leidschendam",
    "voorburg", "rijswijk", "nieuwegein", "hoorn", "almelo", "hengelo", "harderwijk", "wageningen",
    "veenendaal", "zeist", "den helder", "vlissingen", "terneuzen", "goes", "bergen op zoom",
    "roosendaal", "kampen", "meppel", "heerenveen", "sneek", "drachten", "katwijk", "noordwijk",
    "wassenaar", "capelle aan den ijssel", "spijkenisse", "barendrecht", "doetinchem", "zutphen",
    "weert", "venray", "waalwijk", "oosterhout", "uden", "veghel", "hardenberg", "steenwijk",
)
BELGIUM = (
    "belgie", "belgium", "belgique", "brussel", "bruxelles", "brussels", "antwerpen", "anvers", "antwerp",
    "gent", "gand", "ghent", "charleroi", "luik", "liege", "brugge", "bruges", "namen", "namur", "leuven",
    "louvain", "louvain-la-neuve", "mechelen", "malines", "aalst", "hasselt", "kortrijk", "courtrai",
    "oostende", "ostende", "ostend", "genk", "sint-niklaas", "roeselare", "turnhout", "eupen", "arlon",
    "aarlen", "waterloo", "wavre", "waver", "ieper", "ypres", "lier", "tongeren", "dendermonde",
    "vilvoorde", "zaventem", "mons",
)
PLACES = {
    **{name: "Europe/Amsterdam" for name in NETHERLANDS},
    **{name: "Europe/Brussels" for name in BELGIUM},
    "manchester": "Europe/London",
    "birmingham": "Europe/London",
    "edinburgh": "Europe/London",
    "kaunas": "Europe/Vilnius",
    "utc": "UTC",
    "gmt": "UTC",
    "z": "UTC",
}
# A zone name (CET, Oost-Europese tijd) holds many cities: these stand for it where they are among them.
PREFERRED = ("Europe/Amsterdam", "Europe/Brussels", "Europe/London", "America/New_York", "America/Chicago",
             "America/Denver", "America/Los_Angeles")
REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")
OFFSET = re.compile(r"(?:utc|gmt) ?([+-]) ?(\d{1,2})(?::?00)?")

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


def _key(text: str) -> str:
    """Gives what matching compares: no accents, case, dashes, underscores, dots or apostrophes."""
    plain = _plain(text).replace("'", "").replace(".", " ")
    return " ".join(re.sub(r"[-_]", " ", plain).split())


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    """Gives every name a zone goes by, in Dutch and English, keyed by _key; built once, when first asked."""
    every = sorted(z for z in available_timezones() if z.split("/", 1)[0] in REGIONS and "/" in z)
    # Short names only for CLDR's current zones, not old links such as Australia/West ("west").
    zones = sorted(set(every) & set(get_global("zone_territories")))
    known = set(zones)
    index: dict[str, str] = {}

    def add(name: str | None, zone: str) -> None:
        key = _key(name or "")
        if key and zone:
            index.setdefault(key, zone)  # the first source wins: the order below is the priority

    for name, zone in PLACES.items():
        add(name, zone)
    for zone in every:
        add(zone, zone)
    for language in LANGUAGES:  # exemplar cities: Lissabon, Parijs, Kopenhagen, Mexico-Stad
        for cldr_zone, names in Locale(language).time_zones.items():
            if cldr_zone in known:
                add(names.get("city"), cldr_zone)
    for zone in zones:
        add(zone.rsplit("/", 1)[-1], zone)
    territory_zones = get_global("territory_zones")
    meta_zones = get_global("meta_zones")
    for language in LANGUAGES:  # countries that keep one clock: Denemarken, Finland, Lithuania
        territories = Locale(language).territories
        for code, found in territory_zones.items():
            metazones = {meta_zones.get(z) for z in found}
            if found[0] in known and code in territories and (len(found) == 1 or metazones == {meta_zones.get(found[0])} and None not in metazones):
                add(territories[code], found[0])
    by_metazone: dict[str, list[str]] = {}
    for zone, metazone in meta_zones.items():
        if zone in known:
            by_metazone.setdefault(metazone, []).append(zone)
    for language in LANGUAGES:  # zone names: CET, Midden-Europese tijd, Eastern European Summer Time
        for metazone, names in Locale(language).meta_zones.items():
            members = sorted(by_metazone.get(metazone, ()))
            if not members:
                continue
            zone = next((z for z in PREFERRED if z in members), None) or next(
                (z for z in members if z.startswith("Europe/")), members[0]
            )
            for form in ("long", "short"):
                for name in dict(names.get(form, {})).values():
                    add(name, zone)
    return index


def _zone_of(typed: str) -> str | None:
    return _index().get(typed)


def _offset_zone(plain: str) -> str | None:
    """Gives the fixed zone for "UTC+2" or "GMT-5"; None for any other text or an offset no zone has."""
    offset = OFFSET.fullmatch(" ".join(plain.split()))
    if offset is None:
        return None
    hours = int(offset.group(2))
    # POSIX signs: Etc/GMT-2 is two hours ahead of UTC.
    name = "UTC" if hours == 0 else f"Etc/GMT{'-' if offset.group(1) == '+' else '+'}{hours}"
    return name if hours == 0 or name in available_timezones() else None


def parse_zone(text: str) -> str | None:
    """Gives the IANA zone for what someone typed: a zone name ("Europe/Lisbon", "CET", "Midden-Europese
    tijd", "UTC+2"), a city in Dutch or English ("Lissabon", "Den Haag", "Eindhoven") or a country that
    keeps one clock ("Denemarken"); also "Lissabon (Portugal)" and "Groningen, Nederland" as the bot
    shows them. None for anything else."""
    plain = _plain(text)[:64]
    typed = _key(plain)
    if not typed:
        return None
    found = _zone_of(typed) or _zone_of(typed.replace(" ", "")) or _offset_zone(plain)
    if found is not None:
        return found
    # "Lissabon (Portugal)", "Groningen, Nederland": the place, then its country or the same zone.
    parts = re.fullmatch(r"(.+?)\s*(?:\((.+)\)|,(.+))", plain)
    if parts is None:
        return None
    place = _zone_of(_key(parts.group(1)))
    country = _key(parts.group(2) or parts.group(3) or "")
    if place is None or not country:
        return None
    return place if country in _countries_of(place) or _zone_of(country) == place else None


def _countries_of(zone: str) -> set[str]:
    """Gives the keys of the names of a zone's country in both languages."""
    code = get_global("zone_territories").get(zone)
    return {_key(Locale(language).territories.get(code, "")) for language in LANGUAGES} - {""} if code else set()


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
