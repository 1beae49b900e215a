"""The console speaks both languages from templates: every word is a macro of prompts/<lang>/console_words.html,
the same macros in both, each renders; the page layouts (prompts/console/) and the script hold no words."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from jinja2.runtime import Macro

from bot.render import LANGUAGES, PROMPTS_DIR, Renderer
from bot.webapp.pages import Pages

RENDER = Renderer()
PAGES = Pages(RENDER)
LAYOUTS = sorted((PROMPTS_DIR / "console").glob("*.html"))
SCRIPT = Path(__file__).resolve().parents[2] / "bot" / "webapp" / "static" / "console.js"
AMS = ZoneInfo("Europe/Amsterdam")
PROBLEMS = [
    {"code": "past", "now": datetime(2027, 3, 24, 9, tzinfo=UTC)},
    {"code": "was_past", "starts": datetime(2027, 3, 2, 13, tzinfo=UTC)},
    {"code": "ends_before_starts"},
    {"code": "outside_module", "title": "The <Challenges>", "starts": date(2027, 3, 1), "ends": date(2027, 4, 30)},
    {"code": "outside_programme", "starts": date(2027, 3, 1), "ends": date(2027, 6, 30)},
    {"code": "overlap", "kind": "residential week", "title": "Week & more", "starts": datetime(2027, 4, 12, tzinfo=UTC)},
    {"code": "bad_date", "field": "starts"},
    {"code": "bad_time", "field": "ends"},
    {"code": "too_long", "limit": 200},
    {"code": "no_event"},
    {"code": "check", "problem": "sets[0].meetings[0].at: <b>&"},
]
SAMPLE = {"count": 2, "status": 403, "number": 7, "date": "25 Nov 2026", "name": "Anna <b>&", "found": 1, "total": 3,
          "narrowed": True, "page": 1, "pages": 2, "limit": 280, "length": 301, "visibility": "shared",
          "choice": "takeaway", "kind": "voice", "phase": "essential", "since": "Monday 1 March", "current": True,
          "moments": 2, "first": 2, "last": 4, "title": "The Challenges & <more>", "starts": "1 Mar 2027",
          "ends": "30 Apr 2027", "timezone": "Europe/Amsterdam", "done": "moved", "meeting": True, "weeks": 8,
          "when": "Mon 5 Apr 2027, 09:00", "pzone": AMS, "problems": PROBLEMS, "p": PROBLEMS[5]}


def macros(language: str) -> dict[str, Macro]:
    module = PAGES.words(language)
    return {name: value for name, value in vars(module).items() if isinstance(value, Macro)}


def test_both_languages_have_the_same_words() -> None:
    assert set(macros("en")) == set(macros("nl")) and len(macros("en")) > 40


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_word_renders_escaped(language: str) -> None:
    for name, macro in macros(language).items():
        values = {}
        for argument in macro.arguments:
            assert argument in SAMPLE, f"{language}/console_words.html {name}({argument}) has no sample"
            values[argument] = SAMPLE[argument]
        text = str(macro(**values))
        assert text.strip(), f"{language} {name} is empty"
        assert "{{" not in text and "{%" not in text
        assert "<b>&" not in text, f"{language} {name} does not escape"


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda p: p.name)
def test_the_page_layouts_hold_no_words(layout: Path) -> None:
    text = layout.read_text(encoding="utf-8")
    text = re.sub(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", " ", text, flags=re.DOTALL)
    text = re.sub(r"<!doctype html>|<[^>]+>", " ", text, flags=re.IGNORECASE)
    assert re.findall(r"[^\W\d_]{2,}", text) == [], f"{layout.name} holds words outside the words file"


def test_the_script_holds_no_words() -> None:
    code = SCRIPT.read_text(encoding="utf-8")
    code = re.sub(r"/\*.*?\*/|(^|\s)//[^\n]*", " ", code, flags=re.DOTALL)  # comments may speak
    literals = [s for s in re.findall(r"'([^'\\\n]*)'", code) if s != "use strict"]
    assert literals and not [s for s in literals if re.search(r"[A-Za-z]{2,} [A-Za-z]{2,}", s)]


def test_the_shell_says_what_it_must_in_both_languages() -> None:
    shell = PAGES.shell("nl")
    assert '<html lang="nl">' in shell and "Je console wordt geopend" in shell
    assert "cannot reach the bot" in shell and "kan de bot nu niet bereiken" in shell


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_calendar_problem_has_its_own_words(language: str) -> None:
    words = macros(language)["calendar_refused"](problems=PROBLEMS, pzone=AMS)
    items = re.findall(r"<li>(.*?)</li>", str(words))
    assert len(items) == len(PROBLEMS) and len(set(items)) == len(items)
    assert "&lt;b&gt;&amp;" in str(words) and "&lt;Challenges&gt;" in str(words)


def test_a_zone_is_named_in_the_language_of_the_page() -> None:
    # The words' module is made with the page's language, so `|zone` names the zone in it.
    assert "Amsterdam (Nederland)" in str(PAGES.words("nl").calendar_hint("Europe/Amsterdam"))
    assert "Amsterdam (Netherlands)" in str(PAGES.words("en").calendar_hint("Europe/Amsterdam"))
