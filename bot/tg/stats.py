"""/stats for facilitators: participation per learning set as numbers and a chart, never journal text.

The counts come from bot.store.stats; names appear only for participants who chose to show their
activity. Admins see every programme, facilitators the programmes they lead.
"""

from __future__ import annotations

import asyncio
import html
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from babel.numbers import format_decimal
from telegram import Update
from telegram.error import TelegramError

from bot.chart import reflections_chart
from bot.domain.digest import split_message
from bot.domain.programme import locate
from bot.domain.pulse import MOMENTS
from bot.domain.research import pulse_trend
from bot.domain.small_groups import SMALLEST_GROUP, singles_out
from bot.jobs.quiet import quiet_by_set
from bot.render import Renderer
from bot.store import research, stats
from bot.store.people import Person
from bot.store.programmes import StoredProgramme
from bot.store.stats import ProgrammeStats, SetStats, WeeklyCounts
from bot.tg.context import PitstopContext

log = logging.getLogger(__name__)

CHART_WEEKS = 8


def hides(row: SetStats) -> bool:
    """Gives whether a row's activity counts must stay hidden: fewer than five people, not all of whom
    chose to show their activity (a count of two or three points at a person)."""
    return singles_out(row.joined, len(row.activity))


def hidden_rows(counts: ProgrammeStats) -> tuple[set[int | None], bool]:
    """Gives the sets whose activity counts are hidden, and whether the totals are hidden too: when the
    hidden sets together are under five, the totals minus the shown sets would give them away."""
    hidden = {s.set_id for s in counts.sets if hides(s)}
    few = sum(s.joined for s in counts.sets if s.set_id in hidden)
    return hidden, hides(counts.totals) or (bool(hidden) and few < SMALLEST_GROUP)


@dataclass(frozen=True)
class Report:
    """What /stats sends for one programme: the text in pieces, the chart and its caption."""

    pieces: list[str]
    chart: bytes
    caption: str


async def show_stats(update: Update, context: PitstopContext, person: Person, led: list[StoredProgramme]) -> None:
    """Sends each programme the person leads as counts per set and a chart."""
    chat = update.effective_chat
    if chat is None:
        return
    now = context.clock.now()
    for stored in led:
        report = await programme_report(context, person.language, stored, now)
        for piece in report.pieces:
            await context.bot.send_message(chat.id, piece)
        try:
            await context.bot.send_photo(chat.id, photo=report.chart, caption=report.caption)
        except TelegramError as exc:
            # The counts are out already; a refused picture must not end the command.
            log.warning("stats chart refused person=%d programme=%d error=%s", person.id, stored.id, type(exc).__name__)
            await context.bot.send_message(
                chat.id, context.render.message(person.language, "stats_chart_failed", programme=stored.programme.title)
            )
    log.info("stats shown person=%d programmes=%d", person.id, len(led))


async def programme_report(
    context: PitstopContext, language: str, stored: StoredProgramme, now: datetime
) -> Report:
    """Gives the text, chart and caption of one programme at a moment."""
    programme = stored.programme
    module = locate(programme, now).module
    counts = await stats.programme_stats(context.db, stored.id, module.key if module else "", now)
    counts = members_only(counts)
    weekly = await stats.weekly_reflections(context.db, stored.id, now, programme.zone, CHART_WEEKS)
    names = set_names(context.render, language, counts)
    hidden, totals_hidden = hidden_rows(counts)
    today = now.astimezone(programme.zone).date()
    when = (
        "now"
        if module is None or module.starts <= today <= module.ends
        else ("next" if today < module.starts else "last")
    )
    text = context.render.message(
        language,
        "stats",
        programme=programme.title,
        module_title=module.title if module else "",
        module_starts=module.starts if module else today,
        module_ends=module.ends if module else today,
        module_when=when,
        stat_rows=[row_values(s, names[s.set_id], s.set_id in hidden) for s in counts.sets],
        stat_totals=row_values(counts.totals, "", totals_hidden) if len(counts.sets) > 1 else None,
    )
    quiet = await quiet_block(context, language, stored, counts, names, now)
    text += "\n\n" + quiet if quiet else ""
    # Drawing takes a tenth of a second: off the event loop, so that other chats are not kept waiting.
    shown = ProgrammeStats(counts.programme_id, counts.module_key, tuple(s for s in counts.sets if s.set_id not in hidden))
    chart = await asyncio.to_thread(
        chart_png, context.render, language, programme.title, shown, weekly, names
    )
    caption = context.render.message(
        language, "stats_caption", programme=programme.title, week_count=CHART_WEEKS, left_out=bool(hidden)
    )
    pieces = split_message(text)
    pieces += await pulse_pieces(context, language, stored)
    return Report(pieces, chart, caption)


def set_names(render: Renderer, language: str, counts: ProgrammeStats) -> dict[int | None, str]:
    """Gives each row's display name: the set's name (with its key when two sets share a name)."""
    seen = [s.name for s in counts.sets]
    names: dict[int | None, str] = {}
    for s in counts.sets:
        if s.set_id is None:
            names[None] = html.unescape(render.message(language, "stats_no_set"))
        else:
            names[s.set_id] = f"{s.name} ({s.key})" if seen.count(s.name) > 1 else s.name
    return names


def row_values(row: SetStats, name: str, hidden: bool = False) -> dict[str, Any]:
    """Gives a row's counts as the stats template reads them (activity counts left out when hidden)."""
    return {
        "name": name,
        "hidden": hidden,
        "joined": row.joined,
        "active": row.active,
        "reflected": row.reflected,
        "shared": row.shared,
        "answered": row.prompts_answered,
        "sent": row.prompts_sent,
        "people": [{"name": p.name, "count": p.reflections} for p in row.activity],
    }


def chart_png(
    render: Renderer,
    language: str,
    title: str,
    counts: ProgrammeStats,
    weekly: WeeklyCounts,
    names: dict[int | None, str],
) -> bytes:
    """Gives the chart of reflections per ISO week, one line per set, in the stats' row order."""
    width = len(weekly.weeks)
    series = {names[s.set_id]: weekly.by_set.get(s.set_id, [0] * width) for s in counts.sets}
    labels = [
        html.unescape(render.message(language, "stats_week", week_number=w.number))
        for w in weekly.weeks
    ]
    chart_title = html.unescape(render.message(language, "stats_chart_title", programme=title))
    return reflections_chart(series, labels, chart_title)


# --------------------------------------------------------------------------- the cohort view


def members_only(counts: ProgrammeStats) -> ProgrammeStats:
    """Gives the counts without the sets nobody has joined: a row of zeros tells a programme owner nothing."""
    return ProgrammeStats(counts.programme_id, counts.module_key, tuple(s for s in counts.sets if s.joined))


async def pulse_pieces(context: PitstopContext, language: str, stored: StoredProgramme) -> list[str]:
    """Gives the programme's pulse trend as a message (or more, when long): per module and moment, each capacity's average with
    its number of answers, or "too few answers" (bot.domain.research.pulse_trend says which may be shown)."""
    programme = stored.programme
    cells = pulse_trend(await research.pulse_answers(context.db, stored.id), [m.key for m in programme.modules])
    shown = []
    for module in programme.modules:
        moments = []
        for moment in MOMENTS:
            here = [c for c in cells if c.module_key == module.key and c.moment == moment]
            if not here:
                continue
            moments.append({"moment": moment, "shown": any(c.shown for c in here), "cells": [
                {"name": context.render.button(language, "capacity_name", capacity=c.capacity), "shown": c.shown,
                 "answers": c.answers,
                 "average": format_decimal(c.average, format="0.0", locale=language) if c.average is not None else ""}
                for c in here
            ]})
        if moments:
            shown.append({"title": module.title, "moments": moments})
    text = context.render.message(language, "stats_pulse", programme=programme.title, pulse_modules=shown)
    return split_message(text)


# --------------------------------------------------------------------------- quiet participants


async def quiet_block(
    context: PitstopContext, language: str, stored: StoredProgramme, counts: ProgrammeStats,
    names: dict[int | None, str], now: datetime,
) -> str:
    """Gives the /stats block of quiet participants: per set how many are quiet (names only of those who
    show their activity; nothing for a small set not all of whom do)."""
    found = await quiet_by_set(context.db, stored.id, stored.programme, now)
    rows = []
    for s in counts.sets:
        count = found.get(s.set_id)
        if count is None or count.members == 0:
            continue
        rows.append({"name": names[s.set_id], "hidden": count.hidden, "members": count.members,
                     "quiet": count.quiet, "names": list(count.names)})
    if not rows:
        return ""
    return context.render.message(language, "stats_quiet", quiet_rows=rows,
                                  quiet_after=stored.programme.quiet_after_days)
