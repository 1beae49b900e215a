"""The trend study and the cohort view: pseudonyms, small-cell suppression and pulse averages. Pure.

- A consenting participant appears in a research export under a pseudonym: HMAC-SHA256 of the programme's
  key and their person id, keyed with the operator's secret (PITSTOP_RESEARCH_SECRET). The same person
  has the same pseudonym in every export of a programme and another one in another programme; without the
  secret nobody can go back from a pseudonym to a person, nor recompute one from an id.
- No group of fewer than MIN_GROUP people reaches a researcher: a learning set with fewer consenting
  people is left out whole, and so is any set × module cell with fewer (small-cell suppression).
- A pulse average is shown only over at least MIN_PULSE_ANSWERS answers; in the cohort view also only
  when the sets whose own average a facilitator's brief shows cannot be subtracted from it to give the
  average of fewer than MIN_PULSE_ANSWERS others.
- An export holds counts, dates, keys and pulse scores: never a word anyone wrote.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.domain.brief import MIN_PULSE_ANSWERS, MOMENTS
from bot.domain.enrolment import as_cell
from bot.domain.programme import CAPACITIES, Programme
from bot.domain.pulse import module_window
from bot.domain.small_groups import SMALLEST_GROUP

MIN_GROUP = SMALLEST_GROUP  # people: a smaller set, or set × module cell, is left out of an export
MIN_SECRET = 16  # characters: a shorter secret could be guessed by trying, and every pseudonym with it
PSEUDONYM_HEX = 32  # characters of the HMAC kept (128 bits): no two people share one

# What a row counts for one person in one module, in the export's column order.
COUNT_COLUMNS = (
    "prompts_sent",
    "prompts_answered",
    "reflections",
    "shared_with_set",
    "takeaways",
    "for_facilitators",
    "intentions",
    "follow_ups",
    "went_deeper",
    "deepening_answers",
    "cases",
    "learning_question_versions",
)
PULSE_COLUMNS = tuple(f"pulse_{moment}_{capacity}" for moment in MOMENTS for capacity in CAPACITIES)
HEADER = ("pseudonym", "set", "module", "module_starts", "module_ends", "joined_on", *PULSE_COLUMNS, *COUNT_COLUMNS)


def pseudonym(secret: str, programme_key: str, person_id: int) -> str:
    """Gives a person's pseudonym in a programme: stable for the same secret, programme and person."""
    message = f"{programme_key}\n{person_id}".encode()
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]


def secret_problem(secret: str | None) -> str | None:
    """Gives why a research secret cannot be used (one sentence), or None when it can."""
    if not secret:
        return ("PITSTOP_RESEARCH_SECRET is not set: choose a long random secret (at least 16 characters), keep it"
                " with the operator and never give it to researchers; pseudonyms stay the same only with the same secret.")
    if len(secret) < MIN_SECRET:
        return (f"PITSTOP_RESEARCH_SECRET is {len(secret)} characters; it must be at least {MIN_SECRET},"
                " or the pseudonyms could be traced back by guessing it.")
    return None


@dataclass(frozen=True)
class ResearchRow:
    """One consenting participant in one module: what the export may say about them, and nothing else."""

    person_id: int
    set_key: str  # "" without a set
    module_key: str
    module_starts: date
    module_ends: date
    joined_on: date
    pulse: Mapping[tuple[str, str], int | None] = field(default_factory=dict)  # (moment, capacity) → score
    counts: Mapping[str, int] = field(default_factory=dict)  # COUNT_COLUMNS → count


def csv_values(row: ResearchRow, secret: str, programme_key: str) -> list[str]:
    """Gives a row's cells in HEADER order; a pulse question not answered (or skipped) is empty."""
    pulse = [row.pulse.get((moment, capacity)) for moment in MOMENTS for capacity in CAPACITIES]
    return [
        pseudonym(secret, programme_key, row.person_id), as_cell(row.set_key), as_cell(row.module_key),
        row.module_starts.isoformat(), row.module_ends.isoformat(), row.joined_on.isoformat(),
        *("" if score is None else str(score) for score in pulse),
        *(str(int(row.counts.get(name, 0))) for name in COUNT_COLUMNS),
    ]


@dataclass(frozen=True)
class ModuleAnswer:
    """One person's pulse answer in a module (score None: skipped), with the set it was given in."""

    person_id: int
    set_id: int | None
    module_key: str
    moment: str  # start | end
    capacity: str
    score: int | None


@dataclass(frozen=True)
class Member:
    """A consenting participant of a programme: their set's key ("" without one) and when they joined."""

    person_id: int
    set_key: str
    joined_at: datetime


@dataclass(frozen=True)
class StudyData:
    """What the store holds about a programme's consenting participants that an export may use: counts
    per (person id, module key) of COUNT_COLUMNS that are kept per module, moments of cases and
    learning-question versions (placed in a module here), and pulse answers. No text."""

    members: tuple[Member, ...] = ()
    counts: Mapping[tuple[int, str], Mapping[str, int]] = field(default_factory=dict)
    cases: tuple[tuple[int, datetime], ...] = ()  # (person id, when proposed)
    questions: tuple[tuple[int, datetime], ...] = ()  # (person id, when a version was written)
    pulse: tuple[ModuleAnswer, ...] = ()
    prompts: tuple[tuple[int, str, datetime, bool], ...] = ()  # (person id, module key, when sent, answered)


def study_rows(programme: Programme, data: StudyData, today: date) -> list[ResearchRow]:
    """Gives a row per consenting participant and module that has begun by `today` (the programme's local
    day) and had not ended when they joined, in person then module order.

    A case or a learning-question version counts for the module it was written in; one written before the
    first module (at onboarding) counts for the first, one after the last module for the last. A prompt
    counts for its module when it was sent within that module's dates.
    """
    zone = programme.zone
    begun = [m for m in programme.modules if m.starts <= today]
    if not begun:
        return []
    starts = [module_window(m, zone)[0] for m in begun]

    def module_at(moment: datetime) -> str:
        placed = begun[0].key
        for module, start in zip(begun, starts):
            if moment >= start:
                placed = module.key
        return placed

    placed: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for column, moments in (("cases", data.cases), ("learning_question_versions", data.questions)):
        for person_id, moment in moments:
            placed[(person_id, module_at(moment))][column] += 1
    windows = {m.key: module_window(m, zone) for m in begun}
    for person_id, module_key, sent, answered in data.prompts:
        # Only a prompt sent within its module's dates counts for it (a stray key from an old calendar does not).
        if module_key in windows and windows[module_key][0] <= sent < windows[module_key][1]:
            placed[(person_id, module_key)]["prompts_sent"] += 1
            placed[(person_id, module_key)]["prompts_answered"] += int(answered)
    pulse: dict[tuple[int, str], dict[tuple[str, str], int | None]] = defaultdict(dict)
    for a in data.pulse:
        pulse[(a.person_id, a.module_key)][(a.moment, a.capacity)] = a.score
    rows = []
    for member in sorted(data.members, key=lambda m: m.person_id):
        joined = member.joined_at.astimezone(zone).date()
        for module in begun:
            if joined > module.ends:
                continue
            key = (member.person_id, module.key)
            counts = {**data.counts.get(key, {}), **placed.get(key, {})}
            rows.append(ResearchRow(member.person_id, member.set_key, module.key, module.starts, module.ends, joined,
                                    dict(pulse.get(key, {})), {c: int(counts.get(c, 0)) for c in COUNT_COLUMNS}))
    return rows


@dataclass(frozen=True)
class Suppressed:
    """What small-cell suppression kept, and what it left out with how many people each group had."""

    kept: tuple[ResearchRow, ...]
    sets_left_out: tuple[tuple[str, int], ...] = ()  # (set key, people)
    cells_left_out: tuple[tuple[str, str, int], ...] = ()  # (set key, module key, people)

    @property
    def people(self) -> int:
        """Gives how many people the kept rows are about."""
        return len({r.person_id for r in self.kept})


def suppress(rows: Iterable[ResearchRow], minimum: int = MIN_GROUP) -> Suppressed:
    """Gives the rows of groups of at least `minimum` people: a set with fewer is left out whole, then each
    set × module cell with fewer; the groups left out come in key order."""
    listed = list(rows)
    per_set: dict[str, set[int]] = defaultdict(set)
    for r in listed:
        per_set[r.set_key].add(r.person_id)
    small_sets = {key for key, people in per_set.items() if len(people) < minimum}
    per_cell: dict[tuple[str, str], set[int]] = defaultdict(set)
    for r in listed:
        if r.set_key not in small_sets:
            per_cell[(r.set_key, r.module_key)].add(r.person_id)
    small_cells = {cell for cell, people in per_cell.items() if len(people) < minimum}
    kept = tuple(r for r in listed if r.set_key not in small_sets and (r.set_key, r.module_key) not in small_cells)
    return Suppressed(
        kept,
        tuple(sorted((key, len(per_set[key])) for key in small_sets)),
        tuple(sorted((s, m, len(per_cell[(s, m)])) for s, m in small_cells)),
    )


# --------------------------------------------------------------------------- the pulse over modules


@dataclass(frozen=True)
class TrendCell:
    """The pulse of a group for one capacity at one module's moment: the number of scores, and their
    average when it may be shown (None: too few answers)."""

    module_key: str
    moment: str
    capacity: str
    answers: int
    average: float | None

    @property
    def shown(self) -> bool:
        return self.average is not None


def pulse_trend(answers: Iterable[ModuleAnswer], modules: Sequence[str], by_set: bool = True) -> tuple[TrendCell, ...]:
    """Gives the pulse per capacity for every module's moment that has a score, in programme order
    (`modules`), then start before end, capacities in CAPACITIES order.

    An average is given over at least MIN_PULSE_ANSWERS scores. With `by_set` it is held back also when
    the scores outside the sets that have MIN_PULSE_ANSWERS of their own (whose averages the brief shows)
    are more than none and fewer than that: the sum minus those sets would give them away.
    """
    scored = [a for a in answers if a.score is not None and a.module_key in modules]
    cells: dict[tuple[str, str, str], list[ModuleAnswer]] = defaultdict(list)
    for a in scored:
        cells[(a.module_key, a.moment, a.capacity)].append(a)
    moments = {(m, t) for m, t, _ in cells}
    found = []
    for module_key in modules:
        for moment in MOMENTS:
            if (module_key, moment) not in moments:
                continue
            for capacity in CAPACITIES:
                here = cells.get((module_key, moment, capacity), [])
                found.append(TrendCell(module_key, moment, capacity, len(here), _average(here, by_set)))
    return tuple(found)


def _average(here: list[ModuleAnswer], by_set: bool) -> float | None:
    if len(here) < MIN_PULSE_ANSWERS:
        return None
    if by_set:
        per_set: dict[int | None, int] = defaultdict(int)
        for a in here:
            per_set[a.set_id] += 1
        shown_elsewhere = sum(n for set_id, n in per_set.items() if set_id is not None and n >= MIN_PULSE_ANSWERS)
        rest = len(here) - shown_elsewhere
        if 0 < rest < MIN_PULSE_ANSWERS:
            return None
    return round(sum(a.score or 0 for a in here) / len(here), 1)
