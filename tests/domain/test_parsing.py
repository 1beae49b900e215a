"""Reading what people type: time zones (names, cities, Dutch place names), hours and dates;
anything unreadable gives None and nothing typed makes a parser raise."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.parsing import parse_day, parse_hour, parse_zone

TODAY = date(2027, 3, 24)  # a Wednesday


# --------------------------------------------------------------------------- time zones


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Europe/Amsterdam", "Europe/Amsterdam"),
        ("europe/amsterdam", "Europe/Amsterdam"),
        ("EUROPE/AMSTERDAM", "Europe/Amsterdam"),
        ("  Europe/Vilnius\n", "Europe/Vilnius"),
        ("America/New_York", "America/New_York"),
        ("america/new york", "America/New_York"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
    ],
)
def test_an_iana_name_is_read_in_any_case(typed: str, zone: str) -> None:
    assert parse_zone(typed) == zone


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Amsterdam", "Europe/Amsterdam"),
        ("london", "Europe/London"),
        ("New York", "America/New_York"),
        ("new_york", "America/New_York"),
        ("São Paulo", "America/Sao_Paulo"),
        ("Zürich", "Europe/Zurich"),
        ("Manchester", "Europe/London"),
        ("Kaunas", "Europe/Vilnius"),
        ("The Hague", "Europe/Amsterdam"),
    ],
)
def test_a_city_gives_its_zone(typed: str, zone: str) -> None:
    assert parse_zone(typed) == zone


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Den Haag", "Europe/Amsterdam"),
        ("den haag", "Europe/Amsterdam"),
        ("'s-Gravenhage", "Europe/Amsterdam"),
        ("Rotterdam", "Europe/Amsterdam"),
        ("Nederland", "Europe/Amsterdam"),
        ("Brussel", "Europe/Brussels"),
        ("België", "Europe/Brussels"),
        ("Londen", "Europe/London"),
        ("Gent", "Europe/Brussels"),
    ],
)
def test_dutch_place_names_give_their_zone(typed: str, zone: str) -> None:
    assert parse_zone(typed) == zone


def test_s_gravenhage_typed_on_a_phone_gives_amsterdam() -> None:
    assert parse_zone("\u2019s-Gravenhage") == "Europe/Amsterdam"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "Atlantis",
        "Europe/Atlantis",
        "Europe/",
        "/",
        "GMT+25",
        "Europe/Amsterdam" + "x" * 5000,
        "a" * 100_000,
        "Москва-на-Марсе",
        "東京都",
        "☕🚲",
        "Europe/Amsterdam; DROP TABLE person",
        "../../etc/passwd",
    ],
)
def test_anything_else_is_not_a_zone(typed: str) -> None:
    assert parse_zone(typed) is None


# --------------------------------------------------------------------------- hours


@pytest.mark.parametrize(
    ("typed", "hour"),
    [
        ("9", (9, 0)),
        ("09", (9, 0)),
        ("09:30", (9, 30)),
        ("9.30", (9, 30)),
        ("9h30", (9, 30)),
        ("21u", (21, 0)),
        ("21 uur", (21, 0)),
        ("7 am", (7, 0)),
        ("7pm", (19, 0)),
        ("12pm", (12, 0)),
        ("0", (0, 0)),
        ("23:59", (23, 59)),
        (" 8:05 ", (8, 5)),
        ("\uff19:\uff13\uff10", (9, 30)),  # full-width digits
    ],
)
def test_an_hour_is_read_in_the_usual_ways(typed: str, hour: tuple[int, int]) -> None:
    assert parse_hour(typed) == hour


def test_twelve_am_is_midnight() -> None:
    assert parse_hour("12am") == (0, 0)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "24",
        "24:00",
        "9:60",
        "9:5",
        "-1",
        "nine",
        "9:30:00",
        "999",
        "9 in the morning",
        "1" * 10_000,
        "٩:٣٠ ☕",
        "pm",
    ],
)
def test_an_unreadable_hour_gives_none(typed: str) -> None:
    assert parse_hour(typed) is None


# --------------------------------------------------------------------------- days


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("2027-05-04", date(2027, 5, 4)),
        ("4-5-2027", date(2027, 5, 4)),
        ("4/5/2027", date(2027, 5, 4)),
        ("4.5.2027", date(2027, 5, 4)),
        ("04-05-27", date(2027, 5, 4)),
        ("4 mei", date(2027, 5, 4)),
        ("4 May", date(2027, 5, 4)),
        ("4 mei 2028", date(2028, 5, 4)),
        ("4 okt.", date(2027, 10, 4)),
        ("4 augustus", date(2027, 8, 4)),
        ("4 September", date(2027, 9, 4)),
        ("  4 MRT 2028 ", date(2028, 3, 4)),
    ],
)
def test_a_day_is_read_in_dutch_and_english_formats(typed: str, day: date) -> None:
    assert parse_day(typed, TODAY) == day


@pytest.mark.parametrize("prefix", ["until", "Until", "till", "to", "tot", "t/m"])
def test_a_day_may_start_with_until(prefix: str) -> None:
    assert parse_day(f"{prefix} 4 mei", TODAY) == date(2027, 5, 4)
    assert parse_day(f"{prefix} 2027-05-04", TODAY) == date(2027, 5, 4)


def test_tot_en_met_is_read_as_until() -> None:
    assert parse_day("tot en met 4 mei", TODAY) == date(2027, 5, 4)


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("1 apr", date(2027, 4, 1)),  # later this year
        ("24 mrt", date(2027, 3, 24)),  # today is the next occurrence of today
        ("23 mrt", date(2028, 3, 23)),  # yesterday's date comes next year
        ("4/1", date(2028, 1, 4)),
        ("31-12", date(2027, 12, 31)),
    ],
)
def test_a_day_without_a_year_is_its_next_occurrence(typed: str, day: date) -> None:
    assert parse_day(typed, TODAY) == day


def test_29_february_without_a_year_is_the_next_leap_day() -> None:
    assert parse_day("29 feb", TODAY) == date(2028, 2, 29)


@pytest.mark.parametrize(
    "typed",
    [
        "31-02-2027",
        "2027-02-31",
        "30 feb",
        "29 feb 2027",
        "0-1-2027",
        "1-13-2027",
        "32 jan",
        "4 smarch",
        "forever",
        "until forever",
        "tomorrow",
        "",
        "until",
        "2027-05-04T10:00",
        "4-5-2027" + " " * 3 + "and more",
        "9" * 10_000,
    ],
)
def test_an_impossible_or_unreadable_day_gives_none(typed: str) -> None:
    assert parse_day(typed, TODAY) is None


# --------------------------------------------------------------------------- nothing raises


@settings(max_examples=500, deadline=None)
@given(
    typed=st.text(max_size=300),
    today=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
)
def test_no_parser_raises_on_anything_typed(typed: str, today: date) -> None:
    zone = parse_zone(typed)
    hour = parse_hour(typed)
    day = parse_day(typed, today)

    assert zone is None or isinstance(zone, str)
    assert hour is None or (0 <= hour[0] <= 23 and 0 <= hour[1] <= 59)
    assert day is None or isinstance(day, date)


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from(["", "until ", "tot ", "t/m "]),
    day=st.dates(min_value=date(2026, 1, 1), max_value=date(2030, 12, 31)),
    style=st.sampled_from(["{d}-{m}-{y}", "{d}/{m}/{y}", "{y}-{m:02d}-{d:02d}", "{d} {name} {y}"]),
)
def test_every_real_date_written_with_a_year_reads_back(prefix: str, day: date, style: str) -> None:
    names = ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]
    typed = prefix + style.format(d=day.day, m=day.month, y=day.year, name=names[day.month - 1])

    assert parse_day(typed, TODAY) == day


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        # Babel's exemplar cities, as Dutch and English write them: the example onboarding gives works.
        ("Lissabon", "Europe/Lisbon"),
        ("lissabon", "Europe/Lisbon"),
        ("Parijs", "Europe/Paris"),
        ("Berlijn", "Europe/Berlin"),
        ("Kopenhagen", "Europe/Copenhagen"),
        ("Wenen", "Europe/Vienna"),
        ("Athene", "Europe/Athens"),
        ("ATHENE", "Europe/Athens"),
        ("Lisbon", "Europe/Lisbon"),
        ("Vienna", "Europe/Vienna"),
        ("Mexico-Stad", "America/Mexico_City"),
        # Dutch and Belgian municipalities: all one clock.
        ("Groningen", "Europe/Amsterdam"),
        ("Eindhoven", "Europe/Amsterdam"),
        ("'s-Hertogenbosch", "Europe/Amsterdam"),
        ("Den Bosch", "Europe/Amsterdam"),
        ("Leeuwarden", "Europe/Amsterdam"),
        ("Maastricht", "Europe/Amsterdam"),
        ("Luik", "Europe/Brussels"),
        ("Liège", "Europe/Brussels"),
        ("Antwerp", "Europe/Brussels"),
        # Zone names as people say them, in both languages.
        ("CET", "Europe/Amsterdam"),
        ("cest", "Europe/Amsterdam"),
        ("Midden-Europese tijd", "Europe/Amsterdam"),
        ("Central European Time", "Europe/Amsterdam"),
        ("midden-europese tijd", "Europe/Amsterdam"),
        ("GMT", "UTC"),
        ("UTC+2", "Etc/GMT-2"),
        ("gmt-5", "Etc/GMT+5"),
        # Countries that keep one clock.
        ("Portugal", None),  # the Azores keep another
        ("Denemarken", "Europe/Copenhagen"),
        ("Duitsland", "Europe/Berlin"),
        ("Griekenland", "Europe/Athens"),
        ("Finland", "Europe/Helsinki"),
        ("Lithuania", "Europe/Vilnius"),
        # What the bot shows back can be typed back.
        ("Lissabon (Portugal)", "Europe/Lisbon"),
        ("Groningen, Nederland", "Europe/Amsterdam"),
    ],
)
def test_a_city_zone_or_country_in_dutch_or_english_gives_its_zone(typed: str, zone: str | None) -> None:
    assert parse_zone(typed) == zone


def test_every_zone_typed_gives_a_zone_python_can_use() -> None:
    from zoneinfo import ZoneInfo

    for typed in ("Lissabon", "CET", "UTC+14", "UTC-12", "Eindhoven", "Midden-Europese zomertijd", "Oost-Europese tijd"):
        found = parse_zone(typed)
        assert found is not None, typed
        ZoneInfo(found)


@pytest.mark.parametrize("typed", ["UTC+15", "GMT-13", "UTC+2:30", "Lissabon (Atlantis)x", "Portugal"])
def test_an_offset_or_mix_that_is_not_one_clock_is_not_a_zone(typed: str) -> None:
    assert parse_zone(typed) is None
