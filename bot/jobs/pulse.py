"""The pulse and my story, through the outbox: planning their rows, composing them when they go, and
building a person's story (PDF) and pulse chart (PNG) for /story, /pulse and the module's end.

- A **pulse** row (kind 'pulse') comes at the person's first and last nudge moment of each module
  (bot.domain.pulse). It is the day's question: within the daily budget (bot.jobs.daily) it goes
  before a case round, a follow-up or a prompt, so on a pulse day it replaces the prompt; a start
  pulse not planned yet when the module's first prompt goes (someone who joined that morning) takes
  that prompt's place (`start_pulse_owed`). It is one message that moves to the next question in
  place as it is answered; nothing rides along in it.
- A **story** row (kind 'story') comes on the evening of each module's last day, after the end
  pulse; the last module's story is the programme's. A document, like a digest it is not counted in
  the daily budget. It goes only to the person's own chat: private text goes only to its author.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import story as paper
from bot.buttons import PulseButton
from bot.domain.nudges import nudge_times
from bot.domain.programme import locate
from bot.domain.pulse import (
    CAPACITIES,
    CODES,
    SCORES,
    Score,
    Trend,
    is_open,
    module_window,
    pulse_times,
    story_time,
    trend,
)
from bot.jobs.planner import nudge_settings
from bot.jobs.wording import prompt_as_sent, prompt_values
from bot.render import Renderer, short_day_text
from bot.store import journal, outbox, people, programmes, pulse, story
from bot.store.db import Database
from bot.store.outbox import Planned
from bot.store.people import Person
from bot.store.programmes import StoredProgramme

log = logging.getLogger(__name__)

HORIZON = timedelta(days=7)  # like the daily prompts: a week ahead, at the settings of the moment
STORY_LATE = timedelta(days=1)  # a story whose evening passed while the bot was down is still planned


@dataclass(frozen=True)
class Sending:
    """A pulse or story ready to go (text, buttons, a document), or the reason it must not."""

    text: str = ""
    keyboard: InlineKeyboardMarkup | None = None
    document: tuple[str, bytes] | None = None  # file name, content
    cancel_reason: str | None = None


# --------------------------------------------------------------------------- planning


def pulse_key(person_id: int, programme_id: int, module_key: str, moment: str) -> str:
    """Gives the outbox key of one pulse: one per person, module and moment."""
    return f"pulse:{person_id}:{programme_id}:{module_key}:{moment}"


def story_key(person_id: int, programme_id: int, module_key: str) -> str:
    """Gives the outbox key of a module's story for a person."""
    return f"story:{person_id}:{programme_id}:{module_key}"


async def plan_journey(db: Database, now: datetime) -> int:
    """Plans the pulses and stories of the next week for every active participant; gives how many rows
    it added or moved. Planning again adds nothing (the keys), so the hourly run is cheap; a row still
    to come moves when the person's settings (hour, days, a pause) put it at another moment."""
    latest = await pulse.active_participations(db)  # the programme joined last, as the daily planner does
    rows = await pulse.journey_rows(db)
    planned = {key: due for key, due, _, _ in rows}
    # Rows still to come are planned again as if new, so that they follow the settings of the moment.
    coming = {key: row_id for key, due, status, row_id in rows if status == "pending" and due > now}
    found: dict[int, StoredProgramme | None] = {}
    known = {key: due for key, due in planned.items() if key not in coming}
    everyone = await people.get_people(db, list(latest))
    wanted: list[Planned] = []
    seen: _Times = {}
    for person_id, programme_id in latest.items():
        if programme_id not in found:
            found[programme_id] = await programmes.get_programme_by_id(db, programme_id)
        stored = found[programme_id]
        person = everyone.get(person_id)
        if stored is None or person is None or not stored.programme.modules:
            continue
        wanted += _wanted(person, stored, known, now, seen)
    fresh = [p for p in wanted if p.dedupe_key not in planned]
    moved = [(outbox.ts(p.due_at), coming[p.dedupe_key]) for p in wanted
             if p.dedupe_key in coming and p.due_at != planned[p.dedupe_key] and p.due_at > now]
    if fresh:
        await outbox.plan(db, fresh, now)
    if moved:
        await pulse.move_pending(db, moved)
        log.info("journey rows moved to new settings count=%d", len(moved))
    return len(fresh) + len(moved)


_Times = dict[tuple[Any, ...], dict[str, datetime]]


def _wanted(
    person: Person, stored: StoredProgramme, planned: dict[str, datetime], now: datetime, seen: _Times | None = None,
) -> list[Planned]:
    """Gives a participant's pulse and story rows of the next week. `seen` keeps the pulse times worked
    out for one setting (zone, hour, days, pause…) and module, so that people who share a setting share
    the work: a module's nudge times are worked out once for all of them, not once per person."""
    programme = stored.programme
    settings = nudge_settings(person, programme)
    last = programme.modules[-1].key
    items = []
    for module in programme.modules:
        start_planned = planned.get(pulse_key(person.id, stored.id, module.key, "start"))
        key = (settings, stored.id, module.key, start_planned)
        times = seen.get(key) if seen is not None else None
        if times is None:
            times = pulse_times(settings, module, programme.zone, now, start_planned)
            if seen is not None:
                seen[key] = times
        for moment, due in times.items():
            if due < now + HORIZON:
                items.append(_pulse_row(person, stored.id, module.key, moment, due))
        due = story_time(settings, module)
        if now - STORY_LATE <= due < now + HORIZON:
            items.append(Planned(
                "story", person.chat_id, due, story_key(person.id, stored.id, module.key), person_id=person.id,
                payload={"programme_id": stored.id, "module_key": module.key, "programme_end": module.key == last},
            ))
    return items


def _pulse_row(person: Person, programme_id: int, module_key: str, moment: str, due: datetime) -> Planned:
    return Planned(
        "pulse", person.chat_id, due, pulse_key(person.id, programme_id, module_key, moment), person_id=person.id,
        payload={"programme_id": programme_id, "module_key": module_key, "moment": moment},
    )


async def start_pulse_owed(db: Database, person: Person, stored: StoredProgramme, now: datetime) -> Planned | None:
    """Gives the start pulse a person is owed today and that was never planned, to go now; else None.

    Today is their first nudge day of a module, and no row for that pulse exists: they finished
    onboarding (or changed their hour) after the hourly planning, so their prompt was planned at
    once and the pulse not yet. The day's prompt then gives way to it (bot.jobs.compose), as the
    daily budget lets a planned pulse go first; without this the start pulse would be lost, since
    the planner plans none whose moment has passed.
    """
    programme = stored.programme
    settings = nudge_settings(person, programme)
    today = now.astimezone(settings.zone).date()
    for module in programme.modules:
        if not module.starts <= today <= module.ends:
            continue
        begin, finish = module_window(module, programme.zone)
        first = next(iter(nudge_times(settings, begin, finish)), None)
        if first is None or first.astimezone(settings.zone).date() != today or first > now:
            continue
        key = pulse_key(person.id, stored.id, module.key, "start")
        if await pulse.is_planned(db, key):
            return None
        return _pulse_row(person, stored.id, module.key, "start", now)
    return None


# --------------------------------------------------------------------------- the pulse message


def pulse_message(
    render: Renderer, language: str, outbox_id: int, module_title: str, moment: str, answered: dict[str, int | None]
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Gives the pulse message as it stands: the first capacity not answered yet with its 1–5 and *skip*
    buttons, or, when all four are answered, the thanks with the scores and no buttons."""
    left = [c for c in CAPACITIES if c not in answered]
    if not left:
        scores = [{"name": render.button(language, "capacity_name", capacity=c), "score": answered[c]} for c in CAPACITIES]
        return render.message(language, "pulse_done", module_title=module_title, moment=moment, scores=scores), None
    capacity = left[0]
    code = CODES[capacity]
    keyboard = InlineKeyboardMarkup([
        [InlineKeyboardButton(str(s), callback_data=PulseButton(outbox_id, code, s).data) for s in SCORES],  # type: ignore[arg-type]
        [InlineKeyboardButton(render.button(language, "skip"), callback_data=PulseButton(outbox_id, code, None).data)],  # type: ignore[arg-type]
    ])
    text = render.message(
        language, "pulse_question", module_title=module_title, moment=moment, capacity=capacity,
        number=CAPACITIES.index(capacity) + 1,
    )
    return text, keyboard


async def compose(db: Database, render: Renderer, row: outbox.OutboxRow, now: datetime) -> Sending:
    """Gives the message of a claimed pulse or story row."""
    person = await people.get_person(db, row.person_id) if row.person_id is not None else None
    if person is None or person.status != "active":
        return Sending(cancel_reason="person not active")
    if person.paused_until is not None and person.paused_until > now:
        return Sending(cancel_reason="paused")
    stored = await programmes.get_programme_by_id(db, int(row.payload.get("programme_id", 0)))
    module = stored.programme.module(str(row.payload.get("module_key", ""))) if stored else None
    if stored is None or module is None:
        return Sending(cancel_reason="module no longer in the calendar")
    if row.kind == "story":
        at = "programme" if row.payload.get("programme_end") else "module"
        built = await build_story(db, render, person, now, at, module.title)
        if built is None:
            return Sending(cancel_reason="no reflections yet")
        return Sending(built.caption, document=(built.filename, built.pdf))
    if not is_open(module, now.astimezone(stored.programme.zone).date()):
        return Sending(cancel_reason="module ended")
    moment = str(row.payload.get("moment", "start"))
    answered = await pulse.answered(db, person.id, stored.id, module.key, moment)
    if len(answered) == len(CAPACITIES):
        return Sending(cancel_reason="answered already")
    text, keyboard = pulse_message(render, person.language, row.id, module.title, moment, answered)
    return Sending(text, keyboard)


# --------------------------------------------------------------------------- the trend and the chart


@dataclass(frozen=True)
class Pulse:
    """A person's pulse in one programme: the trend, and the words of its chart's axis."""

    stored: StoredProgramme
    trend: Trend
    labels: tuple[str, ...]


async def pulse_of(db: Database, render: Renderer, person: Person) -> Pulse | None:
    """Gives the pulse of the programme a person takes part in, or None without a programme."""
    membership = await people.participation(db, person.id)
    stored = await programmes.get_programme_by_id(db, membership.programme_id) if membership else None
    if stored is None:
        return None
    answers = await pulse.answers_of(db, person.id, stored.id)
    order = [m.key for m in stored.programme.modules]
    found = trend([Score(a.module_key, a.moment, a.capacity, a.score) for a in answers], order)
    titles = {m.key: m.title for m in stored.programme.modules}
    labels = tuple(
        render.button(person.language, "pulse_moment", module=titles.get(p.module_key, p.module_key), moment=p.moment)
        for p in found.points
    )
    return Pulse(stored, found, labels)


def trend_lines(render: Renderer, language: str, found: Trend) -> list[dict[str, object]]:
    """Gives the trend per capacity as the templates read it: its name, first and last score, answers."""
    lines: list[dict[str, object]] = []
    for capacity in CAPACITIES:
        span = found.first_and_last(capacity)
        first, last, count = span if span is not None else (None, None, 0)
        lines.append({"name": render.button(language, "capacity_name", capacity=capacity), "first": first,
                      "last": last, "count": count})
    return lines


def chart_png(render: Renderer, language: str, found: Pulse) -> bytes:
    """Gives the pulse chart (blocking: call it off the event loop)."""
    series = {render.button(language, "capacity_name", capacity=c): found.trend.scores[c] for c in CAPACITIES}
    return paper.pulse_chart(
        render.button(language, "pulse_chart_title"), found.labels, series, render.button(language, "pulse_axis")
    )


# --------------------------------------------------------------------------- my story


@dataclass(frozen=True)
class Story:
    """A person's story as sent: the PDF, its file name and caption, how many reflections it holds."""

    pdf: bytes
    filename: str
    caption: str
    reflections: int


async def build_story(
    db: Database, render: Renderer, person: Person, now: datetime, at: str = "asked", module_title: str = ""
) -> Story | None:
    """Gives a person's story so far (at a module's end, the programme's end, or asked for), or None when
    their journal is empty."""
    values = await story_values(db, render, person, now, at, module_title)
    if values is None:
        return None
    found: Pulse | None = values.pop("_pulse")  # type: ignore[assignment]
    language = person.language
    chart = await asyncio.to_thread(chart_png, render, language, found) if found and not found.trend.empty else None
    markup = render.env.get_template(f"{language}/story.txt").render(lit=paper.literal, **values)
    title = f"{values['programme']} · {person.name}".strip(" ·")
    pdf = await asyncio.to_thread(paper.story_pdf, markup, chart, title, person.name, language)
    zone = ZoneInfo(person.timezone)
    filename = render.button(language, "story_file", date=now.astimezone(zone).date().isoformat())
    caption = render.message(language, "story_caption", at=at, programme=values["programme"], module_title=module_title)
    log.info("story built person=%d reflections=%d bytes=%d", person.id, values["count"], len(pdf))
    return Story(pdf, filename, caption, int(values["count"]))  # type: ignore[call-overload]


async def story_values(
    db: Database, render: Renderer, person: Person, now: datetime, at: str, module_title: str
) -> dict[str, object] | None:
    """Gives what the story template reads (and the pulse, under `_pulse`), or None without reflections."""
    entries = list(reversed(await journal.for_person(db, person.id)))
    if not entries:
        return None
    language, zone = person.language, ZoneInfo(person.timezone)
    found = await pulse_of(db, render, person)
    modules = found.stored.programme.modules if found else ()

    def day(moment: datetime) -> str:
        return short_day_text(moment, language, zone)

    names: dict[str, str] = {}  # a label is a template macro: render each capacity's once, not per reflection

    def capacity(name: str) -> str:
        if name not in names:
            names[name] = render.button(language, "capacity_name", capacity=name) if name else ""
        return names[name]

    deeper = await story.deeper_steps(db, person.id)
    questions = await story.question_versions(db, person.id)
    asked = await _prompts_asked(db, render, person, entries, questions)
    ids = {e.id for e in entries}
    outcomes: dict[int, list[journal.Reflection]] = defaultdict(list)
    for e in entries:
        if e.follows_up_id is not None and e.follows_up_id in ids:
            outcomes[e.follows_up_id].append(e)
    # What they meant to try: an intention, or what they named at the end of going deeper (its follow-up
    # quotes that answer, and so does the story).
    trials = {rid: s.answer for rid, steps in deeper.items() for s in steps if s.phase == "trial"}
    intentions = [e for e in entries if e.is_intention or e.id in trials]
    by_module: dict[str, list[dict[str, object]]] = defaultdict(list)
    for e in entries:
        if e.follows_up_id in ids:
            continue  # told under the intention it answers
        prompt, module_end = asked.get(e.id, ("", ""))
        by_module[e.module_key].append({
            "date": day(e.created_at), "capacity": capacity(e.capacity), "text": e.text, "intention": e.is_intention,
            "prompt": prompt, "module_end": module_end,
            "deeper": [{"phase": s.phase, "answer": s.answer} for s in deeper.get(e.id, [])],
        })
    known = [m.key for m in modules]
    sections = [
        {"title": m.title, "dates": f"{short_day_text(m.starts, language)} – {short_day_text(m.ends, language)}",
         "reflections": by_module[m.key]}
        for m in modules if by_module.get(m.key)
    ]
    rest = [r for key, items in by_module.items() if key not in known for r in items]
    if rest:
        sections.append({"title": "", "dates": "", "reflections": rest})
    cases = await story.brought_cases(db, person.id)
    return {
        "_pulse": found,
        "count": len(entries),
        "name": person.name,
        "programme": found.stored.programme.title if found else "",
        "at": at,
        "module_title": module_title,
        "made_on": day(now),
        "questions": [{"date": day(q.written_at), "text": q.text} for q in questions],
        "modules": sections,
        "intentions": [
            {"date": day(i.created_at), "text": trials.get(i.id) or i.text,
             "outcomes": [{"date": day(o.created_at), "text": o.text} for o in outcomes.get(i.id, [])]}
            for i in intentions
        ],
        "cases": [{"date": day(c.written_at), "text": c.text, "set_name": c.set_name,
                   "meeting": day(c.meeting) if c.meeting else ""} for c in cases],
        "pulse": {"moments": len(found.trend.points) if found and not found.trend.empty else 0,
                  "trend": trend_lines(render, language, found.trend) if found else []},
    }


async def _prompts_asked(
    db: Database, render: Renderer, person: Person, entries: list[journal.Reflection],
    questions: list[story.QuestionVersion],
) -> dict[int, tuple[str, str]]:
    """Gives, per reflection that answers one, the prompt as it read when it was sent (plain text, in the
    person's language), or for the question at a module's end that module's title. Read in one pass:
    a year's story has hundreds of reflections."""
    answered = await story.prompts_answered(db, person.id)
    place = await programmes.place_of(db, person.id)
    zone = ZoneInfo(person.timezone)
    stored_by_id: dict[int, StoredProgramme | None] = {}
    found: dict[int, tuple[str, str]] = {}
    for e in entries:
        row = answered.get(e.outbox_id) if e.outbox_id is not None else None
        if row is None or e.programme_id is None:
            continue
        if e.programme_id not in stored_by_id:
            stored_by_id[e.programme_id] = await programmes.get_programme_by_id(db, e.programme_id)
        stored = stored_by_id[e.programme_id]
        if stored is None:
            continue
        programme = stored.programme
        if row.kind == "question":
            module = programme.module(row.module_key)
            found[e.id] = ("", module.title if module else "")
        elif row.kind == "prompt":
            set_key = place.set_key if place is not None and place.stored.id == stored.id else None
            position = locate(programme, row.sent_at, set_key)
            question = next((q.text for q in reversed(questions) if q.written_at <= row.sent_at), "")
            values = prompt_values(render, person.language, person.name, position.module, position.event, zone, question)
            text = prompt_as_sent(render, person.language, e.prompt_key, position.module, values)
            if text:
                found[e.id] = (text, "")
    return found
