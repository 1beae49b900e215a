"""The words of a prompt: the values a library prompt reads, and a prompt read back as the plain text
it was when it was sent.

One place for both, so that the prompt a participant got (bot.jobs.compose), the question their
/export shows beside each answer, and the question my story prints above it read the same.
"""

from __future__ import annotations

import html
import re
from zoneinfo import ZoneInfo

from bot.domain.programme import Event, Module
from bot.render import Renderer, day_text

TAG = re.compile(r"<[^>]+>")


def event_values(render: Renderer, language: str, event: Event | None, zone: object) -> dict[str, str]:
    """Gives the template values that describe an event, all text, empty when there is none."""
    if event is None:
        return {"event_title": "", "event_place": "", "event_date": ""}
    title = event.title or render.button(language, "kind", kind=event.kind)
    return {"event_title": title, "event_place": event.place, "event_date": day_text(event.starts, language, zone)}


def prompt_values(
    render: Renderer, language: str, name: str, module: Module | None, event: Event | None, zone: ZoneInfo,
    learning_question: str,
) -> dict[str, str]:
    """Gives every value a library prompt may read: the person's name, the module, the event at hand and
    the learning question (empty where there is none)."""
    return {
        "name": name,
        "module_title": module.title if module else "",
        "module_theme": module.theme if module else "",
        "module_short_theme": module.short_theme(language) if module else "",
        "learning_question": learning_question,
        **event_values(render, language, event, zone),
    }


def prompt_as_sent(
    render: Renderer, language: str, prompt_key: str | None, module: Module | None, values: dict[str, str]
) -> str | None:
    """Gives a prompt as plain text, read with the values of the moment it was sent: a module's focus
    question as its facilitator wrote it, a library prompt in `language`; None for a key that is neither."""
    if prompt_key is None:
        return None
    own = module.focus_question(prompt_key) if module else None
    if own is not None:
        return own.text
    if not any(p.key == prompt_key for p in render.library):
        return None
    return html.unescape(TAG.sub("", render.prompt(language, prompt_key, **values)))
