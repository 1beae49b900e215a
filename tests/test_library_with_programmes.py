"""Every library prompt, rendered with the modules and events of every shipped programme in both
languages, reads as a sentence: no doubled punctuation, no capital in the middle of a sentence, and
a module theme (a paragraph) never pasted mid-sentence. Old programme files without short_theme too."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from bot.domain.programme import Module, parse_programme
from bot.render import LANGUAGES, Renderer, day_text

RENDER = Renderer()
PROGRAMMES = sorted((Path(__file__).resolve().parents[1] / "programmes").glob("*.toml"))
DOUBLED = re.compile(r"[.,;:!?]\s*[.,;:!?]")
# A capital after a lowercase word or a comma, other than English "I".
STRAY_CAPITAL = re.compile(r"[a-z,;] (?!I\b)[A-Z]")


def without_short_themes(text: str) -> str:
    """Gives a programme file as it was written before short_theme existed."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("short_theme"))


def renderings(module: Module, language: str) -> list[tuple[str, set[str]]]:
    """Gives each library prompt rendered for a module (with each of its events, and none), with the
    values it was given that are names or the author's own paragraph (they may hold capitals)."""
    found = []
    events = [None, *module.events]
    for spec in RENDER.library:
        for event in events:
            title = (event.title or RENDER.button(language, "kind", kind=event.kind)) if event else ""
            values = {
                "name": "Anna",
                "module_title": module.title,
                "module_theme": module.theme,
                "module_short_theme": module.short_theme(language),
                "event_title": title,
                "event_place": event.place if event else "",
                "event_date": day_text(event.starts, language) if event else "",
            }
            text = RENDER.prompt(language, spec.key, **values)
            names = {values[k] for k in ("name", "module_title", "module_theme", "event_title", "event_place", "event_date")}
            found.append((f"{language}/{spec.key} with {module.key}/{event.kind if event else '-'}", text, names))
    return found  # type: ignore[return-value]


def plain(text: str, names: set[str], short_theme: str) -> str:
    """Gives the text without tags, names replaced by "x", and quotations the template itself makes in
    italics ("starts with <i>How can I…</i>") left out; the short theme stays in, to be checked."""
    text = re.sub(r"<i>([^<]*)</i>", lambda m: m.group(0) if m.group(1) == html.escape(short_theme) else "x", text)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    for name in sorted((n for n in names if n), key=len, reverse=True):
        text = text.replace(name, "x")
    return text


@pytest.mark.parametrize("old_file", [False, True], ids=["with short_theme", "written before short_theme"])
@pytest.mark.parametrize("path", PROGRAMMES, ids=lambda p: p.stem)
def test_every_library_prompt_reads_as_a_sentence_with_every_shipped_module(path: Path, old_file: bool) -> None:
    text = path.read_text(encoding="utf-8")
    programme = parse_programme(without_short_themes(text) if old_file else text)
    garbled = []
    for module in programme.modules:
        for language in LANGUAGES:
            for where, rendered, names in renderings(module, language):  # type: ignore[misc]
                if module.theme and module.theme in rendered and f"\n<i>{module.theme}</i>\n" not in rendered:
                    garbled.append(f"{where}: the theme paragraph stands mid-sentence")
                for line in plain(rendered, names, module.short_theme(language)).splitlines():
                    for sentence in re.split(r"(?<=[.!?…])\s+", line):
                        if DOUBLED.search(sentence) or STRAY_CAPITAL.search(sentence):
                            garbled.append(f"{where}: {sentence}")
                if "coming module" in rendered or "komende module" in rendered:
                    garbled.append(f"{where}: the module a participant is in is not 'coming'")
    assert not garbled, "\n".join(garbled[:20])


@pytest.mark.parametrize("path", PROGRAMMES, ids=lambda p: p.stem)
def test_every_shipped_module_has_a_short_theme_in_both_languages(path: Path) -> None:
    for module in parse_programme(path.read_bytes()).modules:
        for language in LANGUAGES:
            phrase = module.short_theme(language)
            assert phrase and phrase[0].islower(), (module.key, language, phrase)
