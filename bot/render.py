"""The one Jinja2 environment over prompts/: every text a user reads comes from a template."""

from __future__ import annotations

import functools
import html
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from babel import Locale
from babel.core import get_global
from babel.dates import format_date, format_datetime, format_time, get_timezone_location
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
LANGUAGES = ("en", "nl")


@dataclass(frozen=True)
class PromptSpec:
    """One reflection prompt of the library, as the index tags it."""

    key: str
    phases: tuple[str, ...]
    capacity: str
    intention: bool
    modules: tuple[str, ...] = ()
    question: bool = False  # quotes the participant's learning question: only for those who have one


def day_text(value: date | datetime, language: str, zone: Any = None) -> str:
    """Gives a date the way the language writes it: "Monday 18 January" / "maandag 18 januari"."""
    if isinstance(value, datetime) and zone is not None:
        value = value.astimezone(zone)
    return _day_text(value.date() if isinstance(value, datetime) else value, language)


@functools.lru_cache(maxsize=4096)
def _day_text(day: date, language: str) -> str:
    # Babel takes ~0.1 ms a date; a digest or a journal page writes the same few days again and again.
    return format_date(day, format="EEEE d MMMM", locale=language)


def short_day_text(value: date | datetime, language: str, zone: Any = None) -> str:
    """Gives a short date: "18 Jan 2027" / "18 jan 2027".

    The pattern is spelled out, not Babel's "medium": English medium is American ("Jan 18, 2027"), which
    sat badly beside the day-first "Monday 18 January" of day_text.
    """
    if isinstance(value, datetime) and zone is not None:
        value = value.astimezone(zone)
    return format_date(value, format="d MMM y", locale=language)


def time_text(value: datetime, language: str, zone: Any = None) -> str:
    """Gives a time of day: "14:00"."""
    if zone is not None:
        value = value.astimezone(zone)
    return _time_text(value.hour, value.minute, language)


@functools.lru_cache(maxsize=4096)
def _time_text(hour: int, minute: int, language: str) -> str:
    # As _day_text: Babel takes ~0.05 ms, and every digest of a set writes its meeting's time again.
    return format_time(time(hour, minute), format="HH:mm", locale=language)


def moment_text(value: datetime, language: str, zone: Any = None) -> str:
    """Gives a date and time: "Mon 18 Jan 2027, 14:00"."""
    if zone is not None:
        value = value.astimezone(zone)
    return format_datetime(value, format="EEE d MMM y, HH:mm", locale=language)


def zone_text(zone: str, language: str) -> str:
    """Gives a time zone in words: "Lissabon (Portugal)", "Amsterdam (Nederland)", "UTC+2".

    Anything that is not a zone name comes back as it was, so text already in words stays so.
    """
    if zone in ("UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Zulu", "Zulu"):
        return "UTC"
    if zone.startswith("Etc/GMT") and zone[7:8] in "+-" and zone[8:].isdigit():
        return f"UTC{'+' if zone[7] == '-' else '-'}{zone[8:]}"  # POSIX signs: Etc/GMT-2 is UTC+2
    if "/" not in zone:
        return zone
    try:
        city = get_timezone_location(zone, locale=_lang(language), return_city=True)
    except LookupError:
        return zone
    code = get_global("zone_territories").get(get_global("zone_aliases").get(zone, zone))
    country = Locale(_lang(language)).territories.get(code, "") if code and code != "001" else ""
    return f"{city} ({country})" if country and country != city else city


class Renderer:
    """Renders message templates (prompts/<lang>/<name>.j2) and library prompts."""

    def __init__(self, folder: Path = PROMPTS_DIR) -> None:
        self.folder = folder
        self.env = Environment(
            loader=FileSystemLoader(str(folder)),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("j2", "html"), disabled_extensions=("md", "txt"), default=True),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            # The templates change with a release, which restarts the bot: no look at each file's time
            # on every message (a stat per render).
            auto_reload=False,
        )
        self.env.filters["day"] = day_text
        self.env.filters["short_day"] = short_day_text
        self.env.filters["time"] = time_text
        self.env.filters["moment"] = moment_text
        self.env.filters["zone"] = _zone_filter
        self.library = self._read_library()

    def message(self, language: str, template: str, /, **values: Any) -> str:
        """Gives the text of a message template in a language, trimmed."""
        found = self.env.get_template(f"{_lang(language)}/{template}.j2")
        return found.render(lang=_lang(language), **values).strip()

    def prompt(self, language: str, key: str, /, **values: Any) -> str:
        """Gives the text of a library prompt in a language."""
        template = self.env.get_template(f"{_lang(language)}/library/{key}.j2")
        return template.render(**values).strip()

    def button(self, language: str, label: str, /, **values: Any) -> str:
        """Gives a button label: a macro of prompts/<lang>/buttons.j2."""
        module = self.env.get_template(f"{_lang(language)}/buttons.j2").make_module()
        # Labels are plain text for Telegram, not HTML: undo the escaping of names like "R&D".
        return html.unescape(str(getattr(module, label)(**values)).strip())

    def message_names(self, language: str) -> list[str]:
        """Gives every message template name of a language (for tests that render them all)."""
        base = self.folder / _lang(language)
        return sorted(p.stem for p in base.glob("*.j2") if p.stem != "buttons")

    def _read_library(self) -> list[PromptSpec]:
        index = self.folder / "library.toml"
        if not index.is_file():
            return []
        raw = tomllib.loads(index.read_text(encoding="utf-8"))
        return [
            PromptSpec(
                key=p["key"],
                phases=tuple(p["phases"]),
                capacity=p["capacity"],
                intention=bool(p.get("intention", False)),
                modules=tuple(p.get("modules", ())),
                question=bool(p.get("question", False)),
            )
            for p in raw.get("prompt", [])
        ]


@pass_context
def _zone_filter(context: Context, zone: str) -> str:
    """`{{ timezone|zone }}`: the zone in words, in the language the message is rendered in."""
    return zone_text(zone, context.get("lang", "en"))


def _lang(language: str) -> str:
    return language if language in LANGUAGES else "en"
