"""The console's pages for a facilitator (their programmes only; an admin's are all): the calendar as a
timeline, moving or adding an event or a set meeting, participation in numbers and a chart, a broadcast.

A calendar change is checked as `programme check` checks a file, and by the console's own rules
(bot.domain.calendar_edits), then stored the way `programme load` stores a file (bot.jobs.calendar): in one
transaction, audited, with reminders, digests and case rounds planned anew at once. A broadcast takes the
chat's steps: a preview exactly as recipients will read it, then *Send now* or a time, through the chat's own
launch. No page reads a reflection's text: the counts are the ones of /stats.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from markupsafe import Markup

from bot.domain.calendar_edits import MODULE_KINDS, Change, EditError, EventRef, add, move, read_when, refs
from bot.domain.nudges import local_moment
from bot.domain.programme import Event, Programme, locate
from bot.jobs.broadcasts import broadcast_text, launch
from bot.jobs.calendar import store_programme
from bot.store import broadcasts, programmes, stats
from bot.store.programmes import StoredProgramme
from bot.store.stats import ProgrammeStats
from bot.tg.facilitators import BROADCAST_LIMIT
from bot.tg.stats import CHART_WEEKS, chart_png, hidden_rows, row_values, set_names
from bot.webapp.context import Action, Console, View
from bot.webapp.pages import ConsoleError
from bot.webapp.participant import data_url
from bot.webapp.viewer import Viewer

log = logging.getLogger(__name__)


def chosen(viewer: Viewer, raw: object) -> StoredProgramme:
    """Gives the programme a request names (the first one led when it names none), or refuses one not led."""
    if not viewer.led:
        raise ConsoleError(403, "not_a_leader")
    text = str(raw or "")
    if not text:
        return viewer.led[0]
    if not text.isdigit() or len(text) > 12:
        raise ConsoleError(404, "not_found")
    return viewer.programme(int(text))


# --------------------------------------------------------------------------- the calendar


def timeline(programme: Programme, set_names_by_key: dict[str, str], now: datetime) -> list[dict[str, Any]]:
    """Gives the calendar as the page shows it: each module with its events and the sets' meetings of its days,
    in time order; a meeting between modules goes with the module before it."""
    blocks: list[dict[str, Any]] = [{"module": m, "items": []} for m in sorted(programme.modules, key=lambda m: m.starts)]
    for ref, event in refs(programme):
        day = event.starts.astimezone(programme.zone).date()
        block = next((b for b in reversed(blocks) if b["module"].starts <= day), blocks[0] if blocks else None)
        if block is None:
            continue
        block["items"].append({
            "ref": str(ref), "event": event, "meeting": ref.where == "s", "past": event.starts <= now,
            "set_name": set_names_by_key.get(ref.owner, ref.owner) if ref.where == "s" else "",
            "whole_days": _whole_days(event, programme),
        })
    for block in blocks:
        block["items"].sort(key=lambda item: (item["event"].starts, item["ref"]))
    return blocks


def _whole_days(event: Event, programme: Programme) -> bool:
    starts, ends = event.starts.astimezone(programme.zone), event.ends.astimezone(programme.zone)
    return (starts.hour, starts.minute) == (0, 0) and (ends.hour, ends.minute, ends.second) == (23, 59, 59)


async def calendar_page(
    console: Console, viewer: Viewer, stored: StoredProgramme, done: str = "", problems: list[dict[str, Any]] | None = None,
    form: Mapping[str, Any] | None = None,
) -> str:
    """Gives the calendar of one programme, with the forms that move or add an event."""
    programme = stored.programme
    active = {s.key: s.name for s in await programmes.list_sets(console.services.db, stored.id)}
    names = {s.key: active.get(s.key, s.name) for s in programme.sets}
    return console.page(
        viewer, "calendar", stored=stored, programme=programme, blocks=timeline(programme, names, console.services.clock.now()),
        sets=[(s.key, names[s.key]) for s in programme.sets], modules=programme.modules, kinds=MODULE_KINDS,
        done=done, problems=problems or [], form=form or {}, pzone=programme.zone,
    )


async def view_calendar(console: Console, viewer: Viewer, query: Mapping[str, str]) -> str:
    """Gives a programme's calendar as a timeline of modules, events and set meetings."""
    return await calendar_page(console, viewer, chosen(viewer, query.get("programme")))


async def view_event(console: Console, viewer: Viewer, query: Mapping[str, str]) -> str:
    """Gives the form that moves one event or meeting, filled in with where it stands now."""
    stored = chosen(viewer, query.get("programme"))
    ref = EventRef.parse(query.get("ref", ""))
    event = next((e for r, e in refs(stored.programme) if r == ref), None) if ref is not None else None
    if ref is None or event is None:
        raise ConsoleError(404, "not_found")
    return console.page(
        viewer, "event", stored=stored, programme=stored.programme, ref=str(ref), event=event,
        meeting=ref.where == "s", whole_days=_whole_days(event, stored.programme), kinds=MODULE_KINDS,
        pzone=stored.programme.zone, problems=[], set_name=next(
            (s.name for s in stored.programme.sets if s.key == ref.owner), ""),
    )


def _texts(body: Mapping[str, Any], *names: str) -> dict[str, str]:
    return {name: str(body.get(name, "") or "")[:400] for name in names}


async def change_calendar(console: Console, viewer: Viewer, body: dict[str, Any]) -> str:
    """Moves an event (`ref`) or adds one (`add`: "m:<module>" or "s:<set>"), checked like `programme check`, and
    stores the programme the way `programme load` does; gives the calendar as it now stands."""
    stored = chosen(viewer, body.get("programme"))
    programme = stored.programme
    if str(body.get("version", "")) != stored.loaded_at:
        raise ConsoleError(409, "calendar_changed")
    fields = _texts(body, "ref", "add", "kind", "starts_day", "starts_time", "ends_day", "ends_time", "place", "title")
    ref = EventRef.parse(fields["ref"]) if fields["ref"] else None
    target = EventRef.parse(fields["add"] + ":0") if fields["add"] else None
    if (ref is None) == (target is None):
        raise ConsoleError(400, "bad_request")
    meeting = (ref or target).where == "s"  # type: ignore[union-attr]
    now = console.services.clock.now()
    try:
        starts, ends = read_when(programme, fields["starts_day"], fields["starts_time"], fields["ends_day"],
                                 fields["ends_time"], meeting)
        change = Change(starts, ends, " ".join(fields["place"].split()), " ".join(fields["title"].split()),
                        "set-meeting" if meeting else fields["kind"])
        if ref is not None:
            before = next((e for r, e in refs(programme) if r == ref), None)
            edited, source = move(programme, ref, change, now)
            detail = f"{programme.key} {ref} {_when(before)} -> {_when(change)}"
        else:
            assert target is not None
            edited, source = add(programme, target.where, target.owner, change, now)
            detail = f"{programme.key} {target.where}:{target.owner} + {change.kind} {_when(change)}"
    except EditError as refused:
        render = console.services.render
        problems = [
            {"code": p.code, **p.value(), **({"kind": render.button(viewer.language, "kind", kind=p.value()["kind"])}
                                            if "kind" in p.value() else {})}
            for p in refused.problems
        ]
        log.info("calendar change refused programme=%d problems=%s", stored.id, ",".join(p.code for p in refused.problems))
        raise ConsoleError(422, "calendar_refused", problems=problems, pzone=programme.zone) from None
    action = "calendar.move" if ref is not None else "calendar.add"
    await store_programme(console.services.db, edited, source, now, str(viewer.person.telegram_id), action, detail)
    log.info("calendar changed programme=%d action=%s", stored.id, action)
    changed = await programmes.get_programme_by_id(console.services.db, stored.id)
    assert changed is not None
    return await calendar_page(console, viewer, changed, done="moved" if ref is not None else "added")


def _when(event: Event | Change | None) -> str:
    return "?" if event is None else event.starts.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


# --------------------------------------------------------------------------- participation


async def view_stats(console: Console, viewer: Viewer, query: Mapping[str, str]) -> str:
    """Gives a programme's participation per set as /stats counts it, and its chart: counts only, never text."""
    stored = chosen(viewer, query.get("programme"))
    db, render, now = console.services.db, console.services.render, console.services.clock.now()
    programme, language = stored.programme, viewer.language
    module = locate(programme, now).module
    counts = await stats.programme_stats(db, stored.id, module.key if module else "", now)
    weekly = await stats.weekly_reflections(db, stored.id, now, programme.zone, CHART_WEEKS)
    names = set_names(render, language, counts)
    hidden, totals_hidden = hidden_rows(counts)
    shown = ProgrammeStats(counts.programme_id, counts.module_key, tuple(s for s in counts.sets if s.set_id not in hidden))
    chart = await asyncio.to_thread(chart_png, render, language, programme.title, shown, weekly, names)
    return console.page(
        viewer, "stats", stored=stored, module=module,
        rows=[row_values(s, names[s.set_id], s.set_id in hidden) for s in counts.sets],
        totals=row_values(counts.totals, "", totals_hidden) if len(counts.sets) > 1 else None,
        chart=data_url(chart), weeks=CHART_WEEKS, left_out=bool(hidden),
    )


# --------------------------------------------------------------------------- a broadcast


async def audiences(console: Console, viewer: Viewer) -> list[dict[str, Any]]:
    """Gives every audience the viewer may write to: each programme led, each of its sets, its facilitators."""
    found = []
    for stored in viewer.led:
        found.append({"value": f"p:{stored.id}", "kind": "programme", "title": stored.programme.title})
        for learning_set in await programmes.list_sets(console.services.db, stored.id):
            found.append({"value": f"s:{learning_set.id}", "kind": "set", "title": learning_set.name})
        found.append({"value": f"f:{stored.id}", "kind": "facilitators", "title": stored.programme.title})
    return found


async def view_broadcast(console: Console, viewer: Viewer, query: Mapping[str, str]) -> str:
    """Gives the form that starts a broadcast: its audience and its text."""
    if not viewer.led:
        raise ConsoleError(403, "not_a_leader")
    return console.page(viewer, "broadcast", audiences=await audiences(console, viewer), limit=BROADCAST_LIMIT,
                        text="", audience=query.get("audience", ""), cancelled=False)


async def preview_broadcast(console: Console, viewer: Viewer, body: dict[str, Any]) -> str:
    """Makes a draft for a chosen audience and gives its preview, exactly as recipients will read it."""
    if not viewer.led:
        raise ConsoleError(403, "not_a_leader")
    db, now = console.services.db, console.services.clock.now()
    kind, _, target = str(body.get("audience", "")).partition(":")
    if kind not in ("p", "s", "f") or not target.isdigit() or len(target) > 12:
        raise ConsoleError(422, "broadcast_no_audience")
    set_id = None
    if kind == "s":
        learning_set = await programmes.get_set_by_id(db, int(target))
        if learning_set is None:
            raise ConsoleError(404, "not_found")
        programme_id, set_id = learning_set.programme_id, learning_set.id
    else:
        programme_id = int(target)
    viewer.programme(programme_id)
    text = str(body.get("text", "")).strip()
    if not text:
        raise ConsoleError(422, "broadcast_empty")
    if len(text) > BROADCAST_LIMIT:
        raise ConsoleError(422, "broadcast_too_long", length=len(text), limit=BROADCAST_LIMIT)
    audience = {"p": "programme", "s": "set", "f": "facilitators"}[kind]
    draft_id = await broadcasts.create_draft(db, programme_id, audience, set_id, viewer.person.id, now)
    await broadcasts.set_text(db, draft_id, text)
    return await preview_page(console, viewer, draft_id)


async def preview_page(console: Console, viewer: Viewer, draft_id: int) -> str:
    """Gives a draft's preview with *Send now*, a time to send it and *Cancel*."""
    db = console.services.db
    draft = await broadcasts.get(db, draft_id)
    assert draft is not None
    count = len(await broadcasts.recipients(db, draft))
    # The chat's own template, escaped for Telegram's HTML (bold, italics), which a page shows the same way.
    shown = Markup(await broadcast_text(db, console.services.render, draft, viewer.language))
    return console.page(viewer, "broadcast_preview", draft=draft, count=count, shown=shown,
                        today=console.services.clock.now().astimezone(viewer.zone).date())


async def own_draft(console: Console, viewer: Viewer, raw: object) -> broadcasts.Broadcast:
    """Gives one of the viewer's own drafts of a programme they lead, or refuses."""
    text = str(raw or "")
    draft = await broadcasts.get(console.services.db, int(text)) if text.isdigit() and len(text) < 12 else None
    if draft is None or draft.created_by != viewer.person.id:
        raise ConsoleError(404, "not_found")
    viewer.programme(draft.programme_id)
    return draft


async def send_broadcast(console: Console, viewer: Viewer, body: dict[str, Any]) -> str:
    """Sends a draft now, or at the day and time given (in the viewer's zone), through the chat's own launch."""
    draft = await own_draft(console, viewer, body.get("draft"))
    if draft.status != "draft" or not draft.text:
        raise ConsoleError(409, "broadcast_already")
    now = console.services.clock.now()
    when = now
    day_text, time_text = str(body.get("when_day", "")).strip(), str(body.get("when_time", "")).strip()
    if body.get("schedule") == "yes" or day_text or time_text:
        when = _moment(day_text, time_text, viewer) or now
        if when <= now:
            raise ConsoleError(422, "broadcast_bad_when")
    if console.bot is None:
        raise ConsoleError(503, "failed")
    sent = await launch(console.bot, console.services.db, console.services.render, viewer.person, draft, when, now,
                        viewer.person.chat_id, via="console")
    if sent is None:
        raise ConsoleError(409, "broadcast_already")
    return console.page(viewer, "broadcast_sent", count=sent, when=when if when > now else None)


def _moment(day_text: str, time_text: str, viewer: Viewer) -> datetime | None:
    try:
        day = date.fromisoformat(day_text)
        hour, _, minute = time_text.partition(":")
        return local_moment(day, int(hour), int(minute), viewer.zone).astimezone(UTC)
    except ValueError:
        return None


async def cancel_broadcast(console: Console, viewer: Viewer, body: dict[str, Any]) -> str:
    """Cancels a draft of the viewer's; gives a fresh form."""
    draft = await own_draft(console, viewer, body.get("draft"))
    await broadcasts.cancel(console.services.db, draft.id)
    return console.page(viewer, "broadcast", audiences=await audiences(console, viewer), limit=BROADCAST_LIMIT,
                        text=draft.text, audience="", cancelled=True)


VIEWS: dict[str, View] = {
    "calendar": view_calendar,
    "event": view_event,
    "stats": view_stats,
    "broadcast": view_broadcast,
}
ACTIONS: dict[str, Action] = {
    "calendar": change_calendar,
    "broadcast_preview": preview_broadcast,
    "broadcast_send": send_broadcast,
    "broadcast_cancel": cancel_broadcast,
}
