"""Every template under prompts/ renders in both languages with StrictUndefined, and they match."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from jinja2 import meta

from bot.render import LANGUAGES, Renderer

RENDER = Renderer()
AMS = ZoneInfo("Europe/Amsterdam")

# Sample values for every variable a template may use; a template using an unknown one fails.
SAMPLES: dict[str, object] = {
    "name": "Anna <b>&",
    "module_title": "The Challenges",
    "module_theme": "Trust & democracy",
    "event_title": "Residential week",
    "event_place": "The Hague",
    "event_date": "Monday 30 November",
    "facilitator": True,
    "lang": "en",
}


def names() -> list[str]:
    found = set()
    for language in LANGUAGES:
        found.update(RENDER.message_names(language))
    return sorted(found)


@pytest.mark.parametrize("name", names())
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_template_renders_in_both_languages(language: str, name: str) -> None:
    source = RENDER.env.loader.get_source(RENDER.env, f"{language}/{name}.j2")[0]  # type: ignore[union-attr]
    needed = meta.find_undeclared_variables(RENDER.env.parse(source))
    unknown = needed - SAMPLES.keys() - set(EXTRA.get(name, {}))
    assert not unknown, f"{language}/{name}.j2 uses variables without a sample: {unknown}"
    values = {k: v for k, v in SAMPLES.items() if k in needed}
    values.update(EXTRA.get(name, {}))
    text = RENDER.message(language, name, **values)
    assert text.strip()
    assert len(text) <= 4096
    assert "<b>&" not in text  # values are escaped for Telegram's HTML


@pytest.mark.parametrize("spec", RENDER.library, ids=lambda s: s.key)
def test_every_library_prompt_renders_in_both_languages_filled_and_empty(spec: object) -> None:
    keys = ("name", "module_title", "module_theme", "event_title", "event_place", "event_date")
    for language in LANGUAGES:
        full = RENDER.prompt(language, spec.key, **{k: str(SAMPLES[k]) for k in keys})  # type: ignore[attr-defined]
        empty = RENDER.prompt(language, spec.key, **{k: "" for k in keys})  # type: ignore[attr-defined]
        assert full and empty and len(full) < 1000


def test_the_library_is_large_and_covers_every_phase_and_capacity() -> None:
    phases = {"preparing", "at_event", "just_after", "between", "before_meeting"}
    capacities = {"cognitive", "relational", "intervention", "cross-boundary"}
    assert len(RENDER.library) >= 40
    for phase in phases:
        fitting = [p for p in RENDER.library if phase in p.phases]
        assert {p.capacity for p in fitting} == capacities, phase
    assert sum(p.intention for p in RENDER.library) >= 8


def test_both_languages_have_the_same_templates() -> None:
    assert RENDER.message_names("en") == RENDER.message_names("nl")


def test_dates_are_written_the_way_each_language_writes_them() -> None:
    moment = datetime(2027, 1, 18, 8, 0, tzinfo=UTC)
    assert RENDER.env.filters["day"](moment, "en", AMS) == "Monday 18 January"
    assert RENDER.env.filters["day"](moment, "nl", AMS) == "maandag 18 januari"


EXTRA: dict[str, dict[str, object]] = {}
