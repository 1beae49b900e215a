"""Every template under prompts/ renders in both languages with StrictUndefined, and they match."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from jinja2 import meta

from bot.render import LANGUAGES, Renderer
from bot.tg.account import render_export

RENDER = Renderer()
AMS = ZoneInfo("Europe/Amsterdam")

# Sample values for every variable a template may use; a template using an unknown one fails.
SAMPLES: dict[str, object] = {
    "name": "Anna <b>&",
    "module_title": "The Challenges",
    "module_theme": "Trust & democracy in the network society. Choosing your own case.",
    "module_short_theme": "trust & democracy",
    "event_title": "Residential week",
    "event_place": "The Hague",
    "event_date": "Monday 30 November",
    "facilitator": True,
    "lang": "en",
    "programme": "Certified Public Manager",
    "role": "facilitator",
    "timezone": "Europe/Amsterdam",
    "hour": "09:00",
    "settings": True,
    "typed": "<script>",
    "first": "Mon 30 Nov 2026, 09:00",
    "saved": True,
    "language_name": "English",
    "days": "Mon, Tue",
    "paused": "2027-01-04",
    "show_activity": False,
    "intention": True,
    "items": [
        {"number": 7, "date": "25 Nov 2026", "text": "A <b>& reflection", "media": ["voice"], "visibility": "shared",
         "intention": True, "follow_up": False, "cut": True, "deeper": 2},
        {"number": 6, "date": "24 Nov 2026", "text": "", "media": ["photo"], "visibility": "private", "intention": False,
         "follow_up": True, "cut": False, "deeper": 0},
    ],
    "page": 1,
    "pages": 2,
    "total": 7,
    "until": "4 Jan 2027",
    "count": 3,
    "quote": "I will <b>& listen first",
    "written_on": "Monday 30 November",
    "can_share": True,
    "limit": 280,
    "length": 301,
    "takeaway": "Ask <first>, decide later",
    "set_name": "Set A & B",
    "meeting_date": "Tuesday 5 January",
    "meeting_time": "14:00",
    "meeting_place": "Utrecht",
    "send_date": "Sunday 3 January",
    "members": [
        {"name": "Anna", "entries": [{"date": "Mon 4 Jan", "text": "I listened <more>.", "takeaway": False},
                                     {"date": "Tue 5 Jan", "text": "One line", "takeaway": True}]},
    ],
    "cases": [{"name": "Bob", "text": "A reorganisation & its politics"}],
    "took_part": 3,
    "sets": ["cpm-2027/set-a", "cpm-2027/set-b"],
    "text": "Bring your case <draft> & notes",
    "sender": "Fiona",
    "sent": 12,
    "delivered": 10,
    "blocked": 1,
    "failed": 1,
    "when": "Mon 4 Jan 2027, 09:00",
    "muted": False,
    "date": "Monday 30 November",
    "time": "14:00",
    "place": "The Hague",
    "title": "Residential week",
    "kind": "residential week",
    "ends": "Friday 4 December",
    "module_starts": datetime(2027, 3, 1, tzinfo=UTC),
    "module_ends": datetime(2027, 5, 30, tzinfo=UTC),
    "module_when": "now",
    "stat_rows": [
        {"name": "Set A <b>&", "hidden": False, "joined": 8, "active": 7, "reflected": 5, "shared": 3, "answered": 12, "sent": 30,
         "people": [{"name": "Anna <b>&", "count": 2}, {"name": "Bob", "count": 0}]},
    ],
    "stat_totals": {"hidden": True, "joined": 9, "active": 8, "reflected": 5, "shared": 3, "answered": 12, "sent": 30},
    "week_number": 12,
    "week_count": 8,
    # calendar helper: links moved, reminders carried
    "previous": "Set C",
    "new_set": "Set D & E",
    "by": "Fiona",
    "chosen": "Set A <b>&",
    "set_meets": True,
    "left_out": True,
    "number": 3,
    "words": "I noticed <that>…",
    "again": True,
    "part": 2,
    "parts": 2,
    "visibility": "shared",
    "follow_up": True,
    "media": ["voice"],
    # the pulse and my story
    "capacity": "cross-boundary",
    "moment": "end",
    "scores": [{"name": "Making sense", "score": 4}, {"name": "Stepping in", "score": None}],
    "score": 3,
    "changed": True,
    "same": False,
    "moments": 3,
    "trend": [{"name": "Making sense", "first": 2, "last": 4, "count": 3},
              {"name": "Across boundaries", "first": None, "last": None, "count": 0}],
    "at": "programme",
    # the facilitator's brief and the share for the facilitator only
    "asked": True,
    "meeting_title": "First set meeting: <choosing>",
    "next_title": "Residential week",
    "next_date": "Monday 18 January",
    "next_place": "The Hague",
    "since_date": "5 Jan 2027",
    "hidden": False,
    "counts": {"members": 6, "reflected": 5, "shared": 3, "went_deeper": 1, "intentions": 2, "followed_up": 1},
    "people": [{"name": "Anna <b>&", "count": 2}],
    "capacities": [{"capacity": "relational", "count": 2}, {"capacity": "cross-boundary", "count": 1}],
    "lines": [{"name": "Anna", "text": "Only for you <b>&", "line": True, "date": "4 Jan 2027"}],
    "pulse": [{"moment": "start", "answered": 5, "shown": True, "averages": [{"capacity": "cognitive", "average": "3.6"}]},
              {"moment": "end", "answered": 4, "shown": False, "averages": []}],
    "readers": ["Fiona <b>&"],
    "already": True,
    "line": "A line <b>& for you",
    # going deeper (bot.tg.deeper)
    "step": 2,
    "steps": 3,
    "stretched": True,
    "thread": [{"phase": "looking_back", "text": "I talked <over> Karel & rushed", "continued": False},
               {"phase": "trial", "text": "Ask first", "continued": True}],
    # the learning question
    "question": "How do I <b>& keep my team on board?",
    "since": "24 Mar 2027",
    "shared": True,
    "earlier": [{"date": "20 Mar 2027", "text": "How do I decide <faster>?"}],
    "older": 2,
    "problem": "too_long",
    "first_version": False,
    "questions": [{"name": "Anna <b>&", "text": "How do I listen <first>?"}],
    "learning_question": "How do I <b>& keep my team on board?",
    # research consent (bot.tg.research) and the cohort view in /stats
    "research_shown": True,
    "research_since": "3 Dec 2026",
    "pulse_modules": [
        {"title": "The Challenges <b>&", "moments": [
            {"moment": "start", "shown": True, "cells": [
                {"name": "Making sense", "shown": True, "answers": 7, "average": "3.4"},
                {"name": "Stepping in", "shown": False, "answers": 4, "average": ""}]},
            {"moment": "end", "shown": False, "cells": []}]},
    ],
    # quiet participants: the check-in, the rhythm, the quiet counts in /stats and the brief
    "every": 7,
    "quiet_after": 21,
    "quiet_rows": [{"name": "Set A <b>&", "hidden": False, "members": 8, "quiet": 2, "names": ["Anna <b>&"]},
                   {"name": "Set B", "hidden": True, "members": 3, "quiet": 1, "names": []}],
    "quiet": {"count": 2, "members": 6, "names": ["Anna <b>&"], "days": 21},
}


def names() -> list[str]:
    found = set()
    for language in LANGUAGES:
        found.update(RENDER.message_names(language))
    return sorted(found)


def rendered(language: str, name: str, **overrides: object) -> str:
    """Renders a message template with the sample values of the variables it uses (and any overrides)."""
    source = RENDER.env.loader.get_source(RENDER.env, f"{language}/{name}.j2")[0]  # type: ignore[union-attr]
    needed = meta.find_undeclared_variables(RENDER.env.parse(source))
    unknown = needed - SAMPLES.keys() - set(EXTRA.get(name, {}))
    assert not unknown, f"{language}/{name}.j2 uses variables without a sample: {unknown}"
    values = {k: v for k, v in SAMPLES.items() if k in needed}
    values.update(EXTRA.get(name, {}))
    values.update(overrides)
    return RENDER.message(language, name, **values)


@pytest.mark.parametrize("name", names())
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_template_renders_in_both_languages(language: str, name: str) -> None:
    text = rendered(language, name)
    assert text.strip()
    assert len(text) <= 4096
    assert "<b>&" not in text  # values are escaped for Telegram's HTML


@pytest.mark.parametrize("spec", RENDER.library, ids=lambda s: s.key)
def test_every_library_prompt_renders_in_both_languages_filled_and_empty(spec: object) -> None:
    keys = ("name", "module_title", "module_theme", "module_short_theme", "event_title", "event_place", "event_date",
            "learning_question")
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


EXPORT_SAMPLE = {
    "exported_at": "2027-04-05T07:30:00+00:00",
    "person": {
        "telegram_id": 8001, "chat_id": 8001, "name": "Anna", "emails": ["anna@example.nl"], "language": "nl",
        "timezone": "Europe/Amsterdam", "nudge_time": "09:00", "nudge_days": [0, 1, 2, 3, 4],
        "paused_until": "9999-12-31T00:00:00+00:00", "status": "onboarding", "onboarding_step": "days",
        "show_activity": True, "waiting_for": {"kind": "correct", "about": 1, "asked": "2027-04-05T07:00:00+00:00"},
        "joined": "2027-04-01T06:00:00+00:00", "updated": "2027-04-01T07:00:00+00:00",
        "research_consent_since": "2027-04-02T07:00:00+00:00",
    },
    "invites": [{"programme": "CPM", "learning_set": "Set A", "role": "participant", "name": "Anna", "language": "nl",
                 "email": "anna@example.nl", "imported": True, "created": "2027-04-01T06:00:00+00:00",
                 "expires": "2027-05-01T06:00:00+00:00"}],
    "memberships": [{"programme_id": 1, "programme": "CPM", "learning_set_id": 1, "learning_set": "Set A",
                     "role": "facilitator", "joined": "2027-04-01T06:00:00+00:00"}],
    "reflections": [{
        "id": 1, "written": "2027-04-01T07:00:00+00:00", "updated": "2027-04-01T07:00:00+00:00", "prompt": "gone-01",
        "question": None, "module": "m2", "module_title": "The Person", "phase": "preparing", "capacity": "relational",
        "intention": True, "follows_up": 3, "visibility": "takeaway", "takeaway": "Ask first.",
        "shared_with": "Set A", "shared_at": "2027-04-01T07:00:00+00:00",
        "digest": {"id": 1, "sent": None, "meeting": "2027-04-06T12:00:00+00:00", "place": "Utrecht", "status": "sealed"},
        "going_deeper": [{"step": 1, "phase": "essential", "question": "What was the heart of it?", "answer": "Being <heard>",
                          "asked": "2027-04-01T07:05:00+00:00", "answered": "2027-04-01T07:06:00+00:00"},
                         {"step": 2, "phase": "alternatives", "question": "How else?", "answer": None,
                          "asked": "2027-04-01T07:06:00+00:00", "answered": None}],
        "messages": [{"kind": "text", "text": "Tom & Jerry <b>", "file_id": None, "message_id": 10,
                      "written": "2027-04-01T07:00:00+00:00", "edited": "2027-04-01T08:00:00+00:00"},
                     {"kind": "voice", "text": "", "file_id": "F1", "message_id": 11,
                      "written": "2027-04-01T07:00:00+00:00", "edited": None}],
    }],
    "cases": [{"written": "2027-04-03T07:00:00+00:00", "text": "A case", "learning_set": "Set A", "digest_id": 1,
               "meeting": "2027-04-06T12:00:00+00:00", "place": "Utrecht", "digest_sent": None}],
    "messages_planned_and_sent": [{"kind": "prompt", "due": "2027-04-01T07:00:00+00:00", "status": "sent",
                                   "sent": "2027-04-01T07:00:00+00:00", "prompt": "p-01", "question": "What?",
                                   "module": "m2", "module_title": "The Person", "response": "answered",
                                   "telegram_message_id": 9, "digest_id": 1, "broadcast_id": 2}],
    "broadcasts_written": [{"programme": "CPM", "learning_set": "Set A", "audience": "set", "text": "Hello",
                            "status": "done", "created": "2027-04-01T07:00:00+00:00", "scheduled": None,
                            "finished": "2027-04-01T07:01:00+00:00"}],
    "actions_recorded": [{"at": "2027-04-01T07:00:00+00:00", "action": "broadcast", "detail": "set=1 count=3"}],
    "pulse_answers": [{"programme": "CPM", "module": "m2", "module_title": "The Person", "moment": "start",
                       "capacity": "relational", "score": 4, "answered": "2027-04-01T07:00:00+00:00",
                       "learning_set": "Set A"},
                      {"programme": "CPM", "module": "m2", "module_title": "The Person", "moment": "end",
                       "capacity": "intervention", "score": None, "answered": "2027-05-30T07:00:00+00:00",
                       "learning_set": None}],
    "learning_question": {"shared_since": "2027-04-02T07:00:00+00:00", "versions": [
        {"text": "How do I <lead>?", "written": "2027-04-02T07:00:00+00:00", "programme": "CPM", "message_id": 12,
         "current": True, "shared": True},
        {"text": "Old one", "written": "2027-04-01T07:00:00+00:00", "programme": None, "message_id": 8,
         "current": False, "shared": False}]},
}


def test_the_export_document_renders_in_both_languages() -> None:
    data = EXPORT_SAMPLE
    for language in LANGUAGES:
        text = render_export(RENDER, language, ZoneInfo("Europe/Amsterdam"), data)
        assert "Tom & Jerry" in text and "\\<b\\>" in text  # escaped for Markdown, not for HTML
        empty = render_export(RENDER, language, ZoneInfo("UTC"), {**data, "reflections": [], "cases": []})
        assert "Tom" not in empty


def test_every_button_label_renders_in_both_languages() -> None:
    for language in LANGUAGES:
        for label, values in {"later": {}, "skip": {}, "kind": {"kind": "residential"}, "zone": {"zone": "Europe/London"},
                              "weekday": {"day": 6}, "done": {}, "understood": {}, "language_name": {"code": "nl"},
                              "set_language": {}, "set_timezone": {}, "set_hour": {}, "set_days": {},
                              "set_activity": {"on": True}, "newer": {}, "older": {}, "forget_yes": {},
                              "forget_no": {}}.items():
            assert RENDER.button(language, label, **values)


def test_both_languages_have_the_same_templates() -> None:
    assert RENDER.message_names("en") == RENDER.message_names("nl")


def test_dates_are_written_the_way_each_language_writes_them() -> None:
    moment = datetime(2027, 1, 18, 8, 0, tzinfo=UTC)
    assert RENDER.env.filters["day"](moment, "en", AMS) == "Monday 18 January"
    assert RENDER.env.filters["day"](moment, "nl", AMS) == "maandag 18 januari"


EXTRA: dict[str, dict[str, object]] = {
    "reminders": {
        "items": [
            {"when": "Mon 23 Nov 2026, 08:30", "reminder": "upcoming", "kind": "residential week", "title": "", "place": "The Hague"},
            {"when": "Sun 29 Nov 2026, 08:30", "reminder": "tomorrow", "kind": "pitstop", "title": "Pitstop 2", "place": ""},
            {"when": "Mon 16 Nov 2026, 08:30", "reminder": "prework", "kind": "pre-work", "title": "Reading", "place": ""},
        ]
    },
}


def test_no_template_line_ends_in_an_inline_block_tag() -> None:
    """With trim_blocks, `text{% endif %}` at a line's end swallows the newline and glues two lines together."""
    import re
    from pathlib import Path

    from bot.render import PROMPTS_DIR

    trap = re.compile(r"\S.*\{%-?\s*(end\w+|else)\s*-?%\}\s*$")
    for path in sorted(Path(PROMPTS_DIR).rglob("*")):
        if path.suffix not in (".j2", ".md") or path.name == "buttons.j2":
            continue
        lines = path.read_text(encoding="utf-8").rstrip("\n").split("\n")
        for number, line in enumerate(lines[:-1], start=1):
            assert not trap.match(line) or line.lstrip().startswith("{%"), f"{path.relative_to(PROMPTS_DIR)}:{number}: {line}"


def every_label(language: str) -> list[str]:
    """Gives every button label of a language, each macro called with a sample argument."""
    module = RENDER.env.get_template(f"{language}/buttons.j2").make_module()
    samples = {"kind": "residential", "zone": "Europe/London", "day": 2, "code": "nl", "on": True, "date": "2 Dec 2026",
               "title": "CPM", "name": "Set A", "count": 3, "number": 3, "words": "I noticed…",
               "capacity": "relational", "module": "The Person", "moment": "start"}
    samples |= {"choice": "e7", "every": 7, "current": 7}  # quiet participants: the check-in and the rhythm
    labels = []
    for name in dir(module):
        macro = getattr(module, name)
        if name.startswith("_") or not hasattr(macro, "arguments"):
            continue
        labels.append(str(macro(**{arg: samples[arg] for arg in macro.arguments})))
    return labels


def test_dutch_texts_say_overzicht_not_digest_and_never_nudge() -> None:
    """"digest" is English; only the command /digest keeps the word. "nudge" never reaches a user."""
    texts = [rendered("nl", name) for name in RENDER.message_names("nl")]
    texts += [rendered("nl", "help", facilitator=False), rendered("nl", "digest", took_part=0)]
    texts += every_label("nl")
    texts.append(render_export(RENDER, "nl", ZoneInfo("Europe/Amsterdam"), EXPORT_SAMPLE))
    for text in texts:
        assert "digest" not in text.lower().replace("/digest", ""), text
        assert "nudge" not in text.lower(), text
    assert "overzicht" in rendered("nl", "digest") and "overzicht" in rendered("nl", "command_digest")


def test_the_english_menu_and_help_say_prompts_not_nudges() -> None:
    menu = [rendered("en", name) for name in RENDER.message_names("en") if name.startswith("command_")]
    helps = [rendered("en", "help", facilitator=True), rendered("en", "help", facilitator=False)]
    for text in menu + helps + every_label("en"):
        assert "nudge" not in text.lower(), text
    for name in ("command_pause", "command_resume", "command_settings"):
        assert "prompts" in rendered("en", name)


@pytest.mark.parametrize("language", LANGUAGES)
def test_zero_counts_and_plurals_read_naturally(language: str) -> None:
    """No "0 failed" or "your 0 reflections": a count of nought is left out or said in words; 1 is singular."""
    zero = re.compile(r"(?<![\d:])0 ")
    all_fine = rendered(language, "broadcast_done", delivered=3, blocked=0, failed=0, total=3)
    assert not zero.search(all_fine) and "3" in all_fine
    some_lost = rendered(language, "broadcast_done", delivered=1, blocked=1, failed=0, total=2)
    assert not zero.search(some_lost) and "1" in some_lost
    assert not zero.search(rendered(language, "broadcast_done", delivered=0, blocked=0, failed=0, total=0))
    assert not zero.search(rendered(language, "digest", took_part=0))
    for name in ("forget_confirm", "export_caption"):
        assert not zero.search(rendered(language, name, count=0)), name
        one = rendered(language, name, count=1)
        assert "reflections" not in one and "reflecties" not in one, name
    assert "reflecties" in rendered("nl", "forget_confirm", count=2)
    assert "heeft 1 van de 3 leden" in rendered("nl", "digest", took_part=1, total=3)


DATE_STYLES = {
    "en": {
        "day": r"[A-Z][a-z]+day \d{1,2} [A-Z][a-z]+",
        "short_day": r"\d{1,2} [A-Z][a-z]{2} \d{4}",
        "moment": r"[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d",
    },
    "nl": {
        "day": r"[a-z]+dag \d{1,2} [a-z]+",
        "short_day": r"\d{1,2} [a-z]{3}\.? \d{4}",
        "moment": r"[a-z]{2}\.? \d{1,2} [a-z]{3}\.? \d{4}, \d\d:\d\d",
    },
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_dates_render_in_one_day_first_style_per_language(language: str) -> None:
    """Every date filter writes the day before the month, with the same month names: never "Dec 2, 2026"."""
    for month in range(1, 13):
        moment = datetime(2026, month, 2, 8, 0, tzinfo=UTC)
        written = {name: RENDER.env.filters[name](moment, language, AMS) for name in DATE_STYLES[language]}
        for name, style in DATE_STYLES[language].items():
            assert re.fullmatch(style, written[name]), (name, written[name])
        long_month = written["day"].split()[-1]
        short_month = written["short_day"].split()[1].rstrip(".")
        assert long_month.startswith(short_month[:3]) or (long_month, short_month) == ("maart", "mrt"), written
    december = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    expected = {"en": ("Wednesday 2 December", "2 Dec 2026", "Wed 2 Dec 2026, 09:00"),
                "nl": ("woensdag 2 december", "2 dec 2026", "wo 2 dec 2026, 09:00")}[language]
    assert tuple(RENDER.env.filters[name](december, language, AMS) for name in ("day", "short_day", "moment")) == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_going_deeper_questions_read_whole_numbered_or_not(language: str) -> None:
    """Each ALACT question is short; in the chat it says which of how many it is, in an export it stands alone."""
    for phase in ("looking_back", "essential", "alternatives", "trial"):
        for stretched in (True, False):
            numbered = rendered(language, f"deeper_{phase}", step=1, steps=3, stretched=stretched)
            alone = rendered(language, f"deeper_{phase}", step=0, steps=3, stretched=stretched)
            assert numbered.endswith(alone) and ("1" in numbered) and not alone[0].isdigit()
            assert "<b>" not in alone and len(alone) < 200 and alone.rstrip()[-1] in ".?"
    assert rendered(language, "deeper_trial", stretched=True) != rendered(language, "deeper_trial", stretched=False)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_export_document_carries_each_going_deeper_thread_with_its_questions(language: str) -> None:
    text = render_export(RENDER, language, ZoneInfo("Europe/Amsterdam"), EXPORT_SAMPLE)
    assert "What was the heart of it?" in text and "Being \\<heard\\>" in text
    assert ("(not answered)" if language == "en" else "(niet beantwoord)") in text
    assert ("**Going deeper**" if language == "en" else "**Dieper**") in text
