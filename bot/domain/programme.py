"""Programme files: parse and validate the TOML a facilitator writes, and answer where a moment falls.

Pure: no Telegram, no database, no clock. Every function takes the moment it reasons about.

The format (all dates and times are local to the programme's time zone)::

    [programme]
    key = "cpm-2027"                 # [a-z0-9-], unique per installation
    title = "Certified Public Manager 2027"
    language = "en"                  # en | nl
    timezone = "Europe/Amsterdam"
    daily_messages = 1               # optional: bot-initiated messages a day (1-5), digests and broadcasts aside
    residential_prompt = "evening"   # optional: during a residential week one short evening prompt, or "none"
    quiet_after_days = 21            # optional: days without an answer before one friendly check-in (7-90)

    [[modules]]
    key = "m1"
    title = "The Challenges"
    theme = "Current and future challenges of public management"   # a paragraph, shown on its own
    short_theme = "the challenges of public management"       # optional: a phrase prompts quote mid-sentence
    # or per language: short_theme = { en = "trust in government", nl = "vertrouwen in de overheid" }
    capacities = ["cognitive", "cross-boundary"]
    # optional: the facilitator's own prompts for this module, in the programme's language; each a text,
    # or a table with a capacity: { text = "…", capacity = "relational" }
    focus_questions = ["Where did you see trust grow or shrink this week?"]
    starts = 2027-01-04
    ends = 2027-02-28

    [[modules.events]]
    kind = "residential"             # see EVENT_KINDS
    title = "Residential week"       # optional
    starts = 2027-01-18              # a date, or a local date-time
    ends = 2027-01-22                # optional, defaults to starts
    place = "The Hague"              # optional

    [[sets]]
    key = "set-a"
    name = "Action learning set A"
    digest_days_before = 2           # optional
    empty_digest = "note"            # note | skip, optional

    [[sets.meetings]]
    at = 2027-02-10T14:00:00         # a local date-time (or a date)
    place = "Utrecht"                # optional
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CAPACITIES = ("cognitive", "relational", "intervention", "cross-boundary")
LANGUAGES = ("en", "nl")
EVENT_KINDS = (
    "intake",
    "pre-work",
    "residential",
    "online",
    "pitstop",
    "theme-day",
    "bootcamp",
    "set-meeting",
)
# Windows are stretches of work at a distance; the others are moments people meet.
WINDOW_KINDS = ("pre-work", "online")
MAX_FILE_BYTES = 1_000_000
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
SHORT_THEME_MAX = 80
# Dates outside these years are typing mistakes (0001, 2207), and far enough from the edges of
# Python's datetime that planning "a week before" never overflows.
FIRST_YEAR, LAST_YEAR = 2000, 2100

PREPARING_DAYS = 7
JUST_AFTER_DAYS = 3
BEFORE_MEETING_DAYS = 4
DEFAULT_TIMED_HOURS = 3


class Phase(StrEnum):
    """Where a participant stands relative to the programme's events."""

    BEFORE_START = "before_start"
    PREPARING = "preparing"
    AT_EVENT = "at_event"
    JUST_AFTER = "just_after"
    BETWEEN = "between"
    BEFORE_MEETING = "before_meeting"
    FINISHED = "finished"


@dataclass(frozen=True)
class Event:
    """A dated moment or window of a module: a residential, a pitstop, a set meeting…"""

    kind: str
    title: str
    starts: datetime  # aware, programme zone
    ends: datetime  # aware, programme zone, inclusive end of the last day
    place: str = ""
    module_key: str = ""
    set_key: str = ""

    @property
    def is_window(self) -> bool:
        """Gives whether this is work at a distance rather than a meeting."""
        return self.kind in WINDOW_KINDS


# A focus question fits its module in every phase: the facilitator wrote it for the module, not for a moment.
FOCUS_PHASES = ("preparing", "at_event", "just_after", "between", "before_meeting")
FOCUS_MAX = 20  # focus questions per module
FOCUS_TEXT_MAX = 500


@dataclass(frozen=True)
class FocusQuestion:
    """A facilitator's own prompt for one module (`focus_questions`), which joins the prompt library there.

    It is written in the programme's language and asked only to participants who use that language. Its
    capacity is the one its author gave, else none (""): it is not counted as touching a capacity it was not
    written for, but prompt choice prefers it like a prompt on the module's focus (bot.domain.choice).
    """

    key: str  # "focus:<module>:<hash of the text>": stable when questions are reordered, new when one is rewritten
    text: str
    capacity: str = ""
    modules: tuple[str, ...] = ()
    phases: tuple[str, ...] = FOCUS_PHASES
    intention: bool = False


@dataclass(frozen=True)
class Module:
    """One module of a programme with its own events."""

    key: str
    title: str
    theme: str
    capacities: tuple[str, ...]
    starts: date
    ends: date
    events: tuple[Event, ...] = ()
    # (language, phrase) pairs; language "" is a phrase for every language.
    short_themes: tuple[tuple[str, str], ...] = ()
    focus_questions: tuple[FocusQuestion, ...] = ()

    def focus_question(self, key: str) -> FocusQuestion | None:
        """Gives this module's focus question with that key, if any."""
        return next((q for q in self.focus_questions if q.key == key), None)

    def short_theme(self, language: str) -> str:
        """Gives the phrase a prompt may quote mid-sentence ("trust in government"), in the language
        asked or the one written for all; empty when there is none (a prompt then leaves it out)."""
        found = dict(self.short_themes)
        return found.get(language) or found.get("", "")


@dataclass(frozen=True)
class LearningSet:
    """A learning set (action learning set, leergroep, intervisiegroep) and its meetings."""

    key: str
    name: str
    meetings: tuple[Event, ...] = ()
    digest_days_before: int = 2
    empty_digest: str = "note"


@dataclass(frozen=True)
class Programme:
    """A whole programme as read from its file."""

    key: str
    title: str
    language: str
    timezone: str
    modules: tuple[Module, ...]
    sets: tuple[LearningSet, ...] = ()
    daily_messages: int = 1  # bot-initiated messages a participant gets a day, digests and broadcasts aside
    residential_prompt: str = "evening"  # during a residential week: "evening" (one short prompt) or "none"
    quiet_after_days: int = 21  # days without an answer after which a participant is quiet (one check-in)

    @property
    def zone(self) -> ZoneInfo:
        """Gives the programme's time zone."""
        return ZoneInfo(self.timezone)

    def module(self, key: str) -> Module | None:
        """Gives the module with this key, if any."""
        return next((m for m in self.modules if m.key == key), None)

    def learning_set(self, key: str) -> LearningSet | None:
        """Gives the learning set with this key, if any."""
        return next((s for s in self.sets if s.key == key), None)

    def events(self, set_key: str | None = None) -> list[Event]:
        """Gives all events in time order, with the meetings of one set (of every set when none is given)."""
        found = [e for m in self.modules for e in m.events]
        for s in self.sets:
            if set_key is None or s.key == set_key:
                found.extend(s.meetings)
        return sorted(found, key=lambda e: (e.starts, e.ends))


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a programme file: where, and what, in a sentence."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class ProgrammeError(Exception):
    """A programme file that cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Position:
    """Where a moment falls in a programme for one learning set."""

    phase: Phase
    module: Module | None
    event: Event | None  # the event the phase refers to (being prepared, attended, just past)
    next_event: Event | None


# --------------------------------------------------------------------------- parsing


def parse_programme(text: str | bytes, *, stored: bool = False) -> Programme:
    """Gives the programme in a file's text, or raises ProgrammeError listing every problem.

    `stored=True` reads a text that was accepted when it was loaded: the rules added since (the
    years 2000 to 2100) do not apply, so that an upgrade never makes a loaded programme unreadable.
    """
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            raise ProgrammeError([Problem("file", f"is {len(text)} bytes; at most {MAX_FILE_BYTES} are read")])
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProgrammeError([Problem("file", f"is not UTF-8 text (byte {exc.start})")]) from None
    if len(text) > MAX_FILE_BYTES:
        raise ProgrammeError([Problem("file", f"is {len(text)} characters; at most {MAX_FILE_BYTES} are read")])
    if not text.strip():
        raise ProgrammeError([Problem("file", "is empty; it needs a [programme] table and [[modules]]")])
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProgrammeError([Problem("file", f"is not valid TOML: {exc}")]) from None
    return _Reader(raw, check_years=not stored).read()


class _Reader:
    """Walks the raw TOML once, collecting problems instead of stopping at the first."""

    def __init__(self, raw: dict[str, Any], check_years: bool = True) -> None:
        self.raw = raw
        self.check_years = check_years
        self.problems: list[Problem] = []
        self.zone: ZoneInfo | None = None
        # Where each module and event stands in the file ("modules[1].events[0]"), so that checks
        # across the whole calendar name the key the author wrote.
        self.paths: dict[int, str] = {}

    def problem(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))

    def read(self) -> Programme:
        self.unknown(self.raw, "", {"programme", "modules", "sets"})
        head = self.table(self.raw, "programme", "programme")
        key = self.key(head, "key", "programme")
        title = self.text(head, "title", "programme")
        language = self.text(head, "language", "programme", default="en")
        if language and language not in LANGUAGES:
            self.problem("programme.language", f"is {language!r}; use one of {', '.join(LANGUAGES)}")
        zone_name = self.text(head, "timezone", "programme", default="Europe/Amsterdam")
        try:
            self.zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            self.problem("programme.timezone", f"{zone_name!r} is not a known IANA time zone (such as Europe/Amsterdam)")
        daily = head.get("daily_messages", 1)
        if not isinstance(daily, int) or isinstance(daily, bool) or not 1 <= daily <= 5:
            self.problem("programme.daily_messages", f"is {daily!r}; use a whole number from 1 to 5")
            daily = 1
        residential = head.get("residential_prompt", "evening")
        if residential not in ("evening", "none"):
            self.problem("programme.residential_prompt", f"is {residential!r}; use \"evening\" or \"none\"")
            residential = "evening"
        quiet = head.get("quiet_after_days", 21)
        if not isinstance(quiet, int) or isinstance(quiet, bool) or not 7 <= quiet <= 90:
            self.problem("programme.quiet_after_days", f"is {quiet!r}; use a whole number of days from 7 to 90")
            quiet = 21
        self.unknown(head, "programme", {"key", "title", "language", "timezone", "daily_messages", "residential_prompt",
                                         "quiet_after_days"})

        modules = [self.module(m, f"modules[{i}]") for i, m in enumerate(self.array(self.raw, "modules", "", required=True))]
        sets = [self.learning_set(s, f"sets[{i}]") for i, s in enumerate(self.array(self.raw, "sets", ""))]
        good_modules = [m for m in modules if m is not None]
        good_sets = [s for s in sets if s is not None]
        for i, m in enumerate(modules):
            if m is not None:
                self.paths[id(m)] = f"modules[{i}]"
        for i, ls in enumerate(sets):
            if ls is not None:
                self.paths[id(ls)] = f"sets[{i}]"
        if len(good_modules) == len(modules):
            # Cross-checks on a partial calendar would report follow-on problems, not real ones.
            self.cross_checks(good_modules, good_sets)
        if self.problems:
            raise ProgrammeError(self.problems)
        return Programme(key, title, language, zone_name, tuple(good_modules), tuple(good_sets), daily, str(residential),
                         quiet)

    # -- pieces

    def module(self, raw: Any, where: str) -> Module | None:
        if not isinstance(raw, dict):
            self.problem(where, "must be a table with key, title, starts and ends")
            return None
        before = len(self.problems)
        self.unknown(raw, where, {"key", "title", "theme", "short_theme", "capacities", "starts", "ends", "events",
                                  "focus_questions"})
        key = self.key(raw, "key", where)
        title = self.text(raw, "title", where)
        theme = self.text(raw, "theme", where, default="")
        short_themes = self.short_themes(raw, where)
        capacities = self.capacities(raw, where)
        focus_questions = self.focus_questions(raw, where, key)
        starts = self.day(raw, "starts", where)
        ends = self.day(raw, "ends", where)
        if starts and ends and ends < starts:
            self.problem(f"{where}.ends", f"{ends} is before the module starts ({starts})")
        events = []
        for i, e in enumerate(self.array(raw, "events", where)):
            event = self.event(e, f"{where}.events[{i}]", module_key=key)
            if event is None:
                continue
            if starts and ends and (event.starts.date() < starts or event.ends.date() > ends):
                side = "starts" if event.starts.date() < starts else "ends"
                self.problem(
                    f"{where}.events[{i}].{side}",
                    f"the {event.kind} from {event.starts.date()} to {event.ends.date()} lies outside its module ({starts} to {ends})",
                )
            events.append(event)
        if len(self.problems) > before or starts is None or ends is None:
            return None
        return Module(key, title, theme, capacities, starts, ends, tuple(sorted(events, key=lambda e: e.starts)), short_themes,
                      focus_questions)

    def event(self, raw: Any, where: str, module_key: str = "", set_key: str = "") -> Event | None:
        """Reads a module's event ([[modules.events]]: kind, starts, ends) or, with a set_key, a set
        meeting ([[sets.meetings]]: at), naming in each problem the key as the author wrote it."""
        meeting = bool(set_key)
        start_key = "at" if meeting else "starts"
        if not isinstance(raw, dict):
            self.problem(where, "must be a table with at (a local date and time)" if meeting else "must be a table with kind and starts")
            return None
        before = len(self.problems)
        self.unknown(raw, where, {"at", "place", "title"} if meeting else {"kind", "title", "starts", "ends", "place"})
        kind = "set-meeting" if meeting else self.text(raw, "kind", where)
        if kind and kind not in EVENT_KINDS:
            self.problem(f"{where}.kind", f"is {kind!r}; use one of {', '.join(EVENT_KINDS)}")
        title = self.text(raw, "title", where, default="")
        place = self.text(raw, "place", where, default="")
        starts = self.moment(raw, start_key, where, end_of_day=False)
        ends = None if meeting else self.moment(raw, "ends", where, end_of_day=True, required=False)
        if starts is not None and ends is None and (meeting or "ends" not in raw):
            # A dated event lasts the day; a timed one (a meeting, a pitstop) half a day.
            written = raw[start_key]
            if isinstance(written, datetime) or (isinstance(written, str) and ("T" in written or " " in written.strip())):
                ends = starts + timedelta(hours=DEFAULT_TIMED_HOURS)
            else:
                ends = self.moment({start_key: written}, start_key, where, end_of_day=True)
        if starts and ends and ends < starts:
            self.problem(f"{where}.ends", f"{ends.date()} is before the {kind} starts ({starts.date()})")
        if len(self.problems) > before or starts is None or ends is None:
            return None
        event = Event(kind, title, starts, ends, place, module_key, set_key)
        self.paths[id(event)] = where
        return event

    def learning_set(self, raw: Any, where: str) -> LearningSet | None:
        if not isinstance(raw, dict):
            self.problem(where, "must be a table with key and name")
            return None
        before = len(self.problems)
        self.unknown(raw, where, {"key", "name", "meetings", "digest_days_before", "empty_digest"})
        key = self.key(raw, "key", where)
        name = self.text(raw, "name", where)
        days = raw.get("digest_days_before", 2)
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 14:
            self.problem(f"{where}.digest_days_before", f"is {days!r}; use a whole number of days from 0 to 14")
            days = 2
        empty = raw.get("empty_digest", "note")
        if empty not in ("note", "skip"):
            self.problem(f"{where}.empty_digest", f"is {empty!r}; use \"note\" or \"skip\"")
        meetings = []
        for i, m in enumerate(self.array(raw, "meetings", where)):
            event = self.event(m, f"{where}.meetings[{i}]", set_key=key or "?")
            if event is not None:
                meetings.append(event)
        if len(self.problems) > before:
            return None
        return LearningSet(key, name, tuple(sorted(meetings, key=lambda e: e.starts)), days, str(empty))

    def cross_checks(self, modules: list[Module], sets: list[LearningSet]) -> None:
        self.duplicates([(m.key, self.paths[id(m)]) for m in modules], "module key")
        self.duplicates([(s.key, self.paths[id(s)]) for s in sets], "set key")
        ordered = sorted(modules, key=lambda m: m.starts)
        for earlier, later in zip(ordered, ordered[1:]):
            if later.starts <= earlier.ends:
                self.problem(
                    f"{self.paths[id(later)]}.starts",
                    f"module {later.key} starts {later.starts}, before module {earlier.key} ends ({earlier.ends})",
                )
        residentials = sorted(
            (e for m in modules for e in m.events if e.kind in ("residential", "bootcamp")), key=lambda e: e.starts
        )
        for a, b in zip(residentials, residentials[1:]):
            if b.starts <= a.ends:
                self.problem(
                    f"{self.paths[id(b)]}.starts",
                    f"the {b.kind} starting {b.starts.date()} overlaps the {a.kind} of module {a.module_key} ({a.starts.date()} to {a.ends.date()})",
                )
        for s in sets:
            for meeting in s.meetings:
                if modules and not (ordered[0].starts <= meeting.starts.date() <= ordered[-1].ends):
                    self.problem(
                        f"{self.paths[id(meeting)]}.at",
                        f"the meeting on {meeting.starts.date()} lies outside the programme ({ordered[0].starts} to {ordered[-1].ends})",
                    )

    # -- typed fields

    def unknown(self, raw: dict[str, Any], where: str, allowed: set[str]) -> None:
        for name in raw:
            if name not in allowed:
                path = f"{where}.{name}" if where else name
                self.problem(path, f"is not a known key here; known keys: {', '.join(sorted(allowed))}")

    def duplicates(self, keys: list[tuple[str, str]], what: str) -> None:
        seen: dict[str, str] = {}
        for k, where in keys:
            if k in seen:
                self.problem(f"{where}.key", f"the {what} {k!r} is used twice (first at {seen[k]})")
            seen.setdefault(k, where)

    def table(self, raw: dict[str, Any], name: str, where: str) -> dict[str, Any]:
        value = raw.get(name)
        if value is None:
            self.problem(where, f"the [{name}] table is missing")
            return {}
        if not isinstance(value, dict):
            self.problem(where, f"must be a table ([{name}]), not {_kind(value)}")
            return {}
        return value

    def array(self, raw: dict[str, Any], name: str, where: str, required: bool = False) -> list[Any]:
        path = f"{where}.{name}" if where else name
        value = raw.get(name)
        if value is None:
            if required:
                self.problem(path, f"is missing; add at least one [[{name}]] table")
            return []
        if not isinstance(value, list):
            self.problem(path, f"must be a list of tables ([[{name}]]), not {_kind(value)}")
            return []
        if required and not value:
            self.problem(path, "is empty; add at least one")
        return value

    def text(self, raw: dict[str, Any], name: str, where: str, default: str | None = None) -> str:
        value = raw.get(name, default)
        if value is None:
            self.problem(f"{where}.{name}", "is missing")
            return ""
        if not isinstance(value, str):
            self.problem(f"{where}.{name}", f"must be text in quotes, not {_kind(value)}")
            return ""
        if len(value) > 500:
            self.problem(f"{where}.{name}", f"is {len(value)} characters long; keep it under 500")
            return ""
        return value.strip()

    def short_themes(self, raw: dict[str, Any], where: str) -> tuple[tuple[str, str], ...]:
        """Reads `short_theme`: a phrase, or a table of phrases per language."""
        value = raw.get("short_theme")
        path = f"{where}.short_theme"
        if value is None:
            return ()
        if isinstance(value, str):
            written = [("", value, path)]
        elif isinstance(value, dict):
            written = []
            for language, phrase in value.items():
                if language not in LANGUAGES:
                    self.problem(f"{path}.{language}", f"is not a language; use {' or '.join(LANGUAGES)}")
                elif not isinstance(phrase, str):
                    self.problem(f"{path}.{language}", f"must be text in quotes, not {_kind(phrase)}")
                else:
                    written.append((language, phrase, f"{path}.{language}"))
        else:
            self.problem(path, f"must be text in quotes, or a table such as {{ en = \"…\", nl = \"…\" }}, not {_kind(value)}")
            return ()
        found = []
        for language, phrase, at in written:
            phrase = " ".join(phrase.split())
            if not phrase:
                self.problem(at, "is empty; leave short_theme out, or write a few words")
            elif len(phrase) > SHORT_THEME_MAX:
                self.problem(at, f"is {len(phrase)} characters long; a short theme is a phrase of at most {SHORT_THEME_MAX} (the paragraph goes in theme)")
            elif phrase[-1] in ".!?:;,…":
                self.problem(at, f"ends in {phrase[-1]!r}; prompts quote it mid-sentence, so write a phrase without a full stop")
            else:
                found.append((language, phrase))
        return tuple(found)

    def focus_questions(self, raw: dict[str, Any], where: str, module_key: str) -> tuple[FocusQuestion, ...]:
        """Reads `focus_questions`: a list of texts, or of tables { text = "…", capacity = "…" }."""
        value = raw.get("focus_questions")
        path = f"{where}.focus_questions"
        if value is None:
            return ()
        if not isinstance(value, list):
            self.problem(path, f"must be a list of questions, such as [\"What did you notice …?\"], not {_kind(value)}")
            return ()
        if len(value) > FOCUS_MAX:
            self.problem(path, f"has {len(value)} questions; at most {FOCUS_MAX} a module")
            return ()
        found: list[FocusQuestion] = []
        for i, item in enumerate(value):
            at = f"{path}[{i}]"
            capacity = ""
            if isinstance(item, dict):
                self.unknown(item, at, {"text", "capacity"})
                capacity = item.get("capacity", "")
                if not isinstance(capacity, str) or capacity not in CAPACITIES:
                    self.problem(f"{at}.capacity", f"{capacity!r} is not a capacity; use {', '.join(CAPACITIES)}")
                    capacity = ""
                item, at = item.get("text"), f"{at}.text"
            if not isinstance(item, str):
                self.problem(at, f"must be the question as text in quotes, not {_kind(item) if item is not None else 'missing'}")
                continue
            text = " ".join(item.split())
            if not text:
                self.problem(at, "is empty; write the question, or leave it out")
            elif len(text) > FOCUS_TEXT_MAX:
                self.problem(at, f"is {len(text)} characters long; keep a question under {FOCUS_TEXT_MAX}")
            elif any(q.text == text for q in found):
                self.problem(at, "is the same question as one before it")
            else:
                digest = hashlib.sha256(text.encode()).hexdigest()[:10]
                found.append(FocusQuestion(f"focus:{module_key}:{digest}", text, capacity, (module_key,)))
        return tuple(found)

    def key(self, raw: dict[str, Any], name: str, where: str) -> str:
        value = self.text(raw, name, where)
        if value and not KEY_PATTERN.match(value):
            self.problem(f"{where}.{name}", f"{value!r} must be lowercase letters, digits and dashes (at most 40)")
        return value

    def capacities(self, raw: dict[str, Any], where: str) -> tuple[str, ...]:
        value = raw.get("capacities", [])
        if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
            self.problem(f"{where}.capacities", "must be a list of texts, such as [\"cognitive\", \"relational\"]")
            return ()
        for c in value:
            if c not in CAPACITIES:
                self.problem(f"{where}.capacities", f"{c!r} is not a capacity; use {', '.join(CAPACITIES)}")
        return tuple(value)

    def day(self, raw: dict[str, Any], name: str, where: str) -> date | None:
        value = raw.get(name)
        if value is None:
            self.problem(f"{where}.{name}", "is missing; write a date like 2027-01-18")
            return None
        found: date | None = None
        if isinstance(value, datetime):
            found = value.date()
        elif isinstance(value, date):
            found = value
        elif isinstance(value, str):
            try:
                found = date.fromisoformat(value)
            except ValueError:
                pass
        if found is None:
            self.problem(f"{where}.{name}", f"{value!r} is not a date; write it like 2027-01-18 (without quotes)")
            return None
        return found if self.sane_year(found, f"{where}.{name}") else None

    def sane_year(self, value: date, path: str) -> bool:
        if FIRST_YEAR <= value.year <= LAST_YEAR or not self.check_years:
            return True
        self.problem(path, f"{value.isoformat()} lies outside the years {FIRST_YEAR} to {LAST_YEAR}; check the year")
        return False

    def moment(
        self, raw: dict[str, Any], name: str, where: str, end_of_day: bool, required: bool = True
    ) -> datetime | None:
        value = raw.get(name)
        path = f"{where}.{name}"
        if value is None:
            if required:
                self.problem(path, "is missing; write a date like 2027-01-18 or 2027-01-18T14:00:00")
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
            except ValueError:
                self.problem(path, f"{value!r} is not a date; write it like 2027-01-18 or 2027-01-18T14:00:00")
                return None
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                self.problem(path, "has a UTC offset; write local time, the programme's time zone applies")
                return None
            local = value
        elif isinstance(value, date):
            local = datetime.combine(value, time(23, 59, 59) if end_of_day else time(0, 0))
        else:
            self.problem(path, f"must be a date, not {_kind(value)}")
            return None
        if not self.sane_year(local.date(), path):
            return None
        if self.zone is None:
            return local.replace(tzinfo=ZoneInfo("UTC"))
        return local.replace(tzinfo=self.zone)


def _kind(value: Any) -> str:
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


# --------------------------------------------------------------------------- where a moment falls


def locate(programme: Programme, at: datetime, set_key: str | None = None) -> Position:
    """Gives the module, phase and relevant events at a moment, for one learning set.

    Meetings of other sets are ignored. The phase prefers, in order: being at an event, the
    days just before a set meeting, the days just after an event, preparing for one (inside a
    pre-work window or in the week before), and otherwise working in between.
    """
    if at.tzinfo is None:
        raise ValueError("locate needs an aware datetime")
    events = programme.events(set_key)
    meetings_of_set = [e for e in events if e.kind == "set-meeting"]
    moments = [e for e in events if not e.is_window]
    upcoming = [e for e in moments if e.starts > at]
    next_event = upcoming[0] if upcoming else None
    module = _module_at(programme, at)

    first = programme.modules[0] if programme.modules else None
    last = max(programme.modules, key=lambda m: m.ends) if programme.modules else None
    local_day = at.astimezone(programme.zone).date()
    if first is not None and local_day < min(m.starts for m in programme.modules):
        return Position(Phase.BEFORE_START, first, next_event, next_event)
    if last is not None and local_day > last.ends:
        return Position(Phase.FINISHED, last, None, None)

    current = [e for e in moments if e.starts <= at <= e.ends]
    if current:
        return Position(Phase.AT_EVENT, module, current[0], next_event)
    soon_meeting = [e for e in meetings_of_set if at < e.starts <= at + timedelta(days=BEFORE_MEETING_DAYS)]
    if soon_meeting:
        return Position(Phase.BEFORE_MEETING, module, soon_meeting[0], next_event)
    past = [e for e in moments if e.ends < at <= e.ends + timedelta(days=JUST_AFTER_DAYS)]
    if past:
        return Position(Phase.JUST_AFTER, module, past[-1], next_event)
    in_prework = [e for e in events if e.kind == "pre-work" and e.starts <= at <= e.ends]
    if in_prework or (next_event and next_event.starts - at <= timedelta(days=PREPARING_DAYS)):
        return Position(Phase.PREPARING, module, next_event, next_event)
    return Position(Phase.BETWEEN, module, None, next_event)


def next_event(programme: Programme, at: datetime, set_key: str | None = None) -> Event | None:
    """Gives the next meeting-type event after a moment (windows excluded), for one set."""
    return locate(programme, at, set_key).next_event


def _module_at(programme: Programme, at: datetime) -> Module | None:
    """Gives the module running on that local day, else the last one started, else the first."""
    day = at.astimezone(programme.zone).date()
    started = [m for m in programme.modules if m.starts <= day]
    for m in programme.modules:
        if m.starts <= day <= m.ends:
            return m
    if started:
        return max(started, key=lambda m: m.starts)
    return programme.modules[0] if programme.modules else None


@dataclass(frozen=True)
class Summary:
    """What `programme check` prints about a good file."""

    modules: int
    events: int
    sets: int
    meetings: int
    next_event: Event | None = None


def summarise(programme: Programme, at: datetime) -> Summary:
    """Gives counts and the next event of a programme, for a facilitator's check."""
    events = sum(len(m.events) for m in programme.modules)
    meetings = sum(len(s.meetings) for s in programme.sets)
    upcoming = [e for e in programme.events() if e.starts > at]
    return Summary(len(programme.modules), events, len(programme.sets), meetings, upcoming[0] if upcoming else None)
