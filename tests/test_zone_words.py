"""A time zone is shown in words, the way the reader's language writes it, and what is already in
words stays as it is."""

from __future__ import annotations

import pytest

from bot.render import Renderer, zone_text


@pytest.mark.parametrize(
    ("zone", "nl", "en"),
    [
        ("Europe/Lisbon", "Lissabon (Portugal)", "Lisbon (Portugal)"),
        ("Europe/Amsterdam", "Amsterdam (Nederland)", "Amsterdam (Netherlands)"),
        ("Europe/Brussels", "Brussel (België)", "Brussels (Belgium)"),
        ("Europe/Copenhagen", "Kopenhagen (Denemarken)", "Copenhagen (Denmark)"),
        ("UTC", "UTC", "UTC"),
        ("Etc/GMT-2", "UTC+2", "UTC+2"),
        ("Lissabon (Portugal)", "Lissabon (Portugal)", "Lissabon (Portugal)"),
    ],
)
def test_a_zone_is_shown_as_its_city_and_country(zone: str, nl: str, en: str) -> None:
    assert zone_text(zone, "nl") == nl and zone_text(zone, "en") == en


def test_the_zone_filter_speaks_the_language_of_the_message() -> None:
    render = Renderer()
    template = render.env.from_string("{{ timezone|zone }}")
    assert template.render(timezone="Europe/Vienna", lang="nl") == "Wenen (Oostenrijk)"
    assert template.render(timezone="Europe/Vienna", lang="en") == "Vienna (Austria)"
