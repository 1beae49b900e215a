"""The console's pages for a participant: their own journal (search, filters, going-deeper threads), their
learning question's history and their pulse; sharing and making private again, by the chat's rules.

Every page reads the viewer's own rows only (`journal.for_person` of their id); an entry id in a request
that is not theirs is "not found" (404), as if it did not exist. Sharing asks first, showing exactly what
the set will read, and goes through `sharing.set_visibility`, the chat's own function: nothing is shared
without a set, nothing is changed once a digest has carried it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bot.domain.digest import TAKEAWAY_LIMIT
from bot.domain.programme import CAPACITIES
from bot.jobs import pulse as journey
from bot.store import deepening, journal, learning_question, programmes, sharing
from bot.store.deepening import Step
from bot.store.journal import Reflection
from bot.webapp.context import Action, Console, View
from bot.webapp.pages import ConsoleError
from bot.webapp.viewer import Viewer

log = logging.getLogger(__name__)

PAGE = 20  # entries a page of the journal shows
EXCERPT = 300  # characters of an entry shown in the list; the entry's own page shows it whole
SEARCH_MAX = 100  # characters of a search
VISIBILITIES = ("private", "shared")  # the journal's filter: kept private, or shared (whole or as a takeaway)


@dataclass(frozen=True)
class Filters:
    """What the journal is narrowed to; empty values narrow nothing."""

    words: str = ""
    module: str = ""
    capacity: str = ""
    visibility: str = ""
    page: int = 0

    @classmethod
    def of(cls, query: Mapping[str, str]) -> Filters:
        """Reads the filters of a request, ignoring values that are not one of the choices."""
        capacity = query.get("capacity", "")
        visibility = query.get("visibility", "")
        page = query.get("page", "0")
        return cls(
            words=" ".join(query.get("q", "").split())[:SEARCH_MAX],
            module=query.get("module", "")[:40],
            capacity=capacity if capacity in CAPACITIES else "",
            visibility=visibility if visibility in VISIBILITIES else "",
            page=int(page) if page.isdigit() and len(page) < 6 else 0,
        )

    def keeps(self, entry: Reflection, thread: list[Step]) -> bool:
        """Gives whether an entry passes every filter; the words are looked for in its text, its takeaway and
        the answers of its going-deeper thread, whatever their case."""
        if self.module and entry.module_key != self.module:
            return False
        if self.capacity and entry.capacity != self.capacity:
            return False
        if self.visibility == "private" and entry.visibility != "private":
            return False
        if self.visibility == "shared" and entry.visibility == "private":
            return False
        if self.words:
            haystack = "\n".join([entry.text, entry.takeaway or "", *(s.answer or "" for s in thread)]).casefold()
            return all(word in haystack for word in self.words.casefold().split())
        return True

    def query(self, page: int) -> str:
        """Gives the query string of these filters on another page."""
        values = {"q": self.words, "module": self.module, "capacity": self.capacity, "visibility": self.visibility}
        return urlencode({**{k: v for k, v in values.items() if v}, "page": page})


async def module_titles(console: Console, entries: list[Reflection], viewer: Viewer) -> dict[str, str]:
    """Gives the title of each module the entries (and the viewer's programme) name, by key."""
    ids = {e.programme_id for e in entries if e.programme_id is not None}
    membership = viewer.participant()
    ids.add(membership.programme_id)
    titles: dict[str, str] = {}
    for programme_id in sorted(ids):
        stored = await programmes.get_programme_by_id(console.services.db, programme_id)
        if stored is not None:
            titles.update({m.key: m.title for m in stored.programme.modules if m.key not in titles})
    return titles


def entry_values(entry: Reflection, number: int, thread: list[Step], cut: int | None = None) -> dict[str, Any]:
    """Gives what a page shows of one entry."""
    text = entry.text
    return {
        "id": entry.id,
        "number": number,
        "created_at": entry.created_at,
        "text": text if cut is None or len(text) <= cut else text[:cut].rstrip() + "…",
        "cut": cut is not None and len(text) > cut,
        "media": [p.kind for p in entry.parts if p.kind != "text"],
        "visibility": entry.visibility,
        "takeaway": entry.takeaway or "",
        "module_key": entry.module_key,
        "capacity": entry.capacity,
        "intention": entry.is_intention,
        "follow_up": entry.follows_up_id is not None,
        "thread": [{"phase": s.phase, "answer": s.answer} for s in thread if s.answer],
        "in_digest": entry.digest_id is not None,
    }


async def view_journal(console: Console, viewer: Viewer, query: Mapping[str, str]) -> str:
    """Gives the viewer's journal, newest first, narrowed by the filters, a page at a time."""
    viewer.participant()
    db = console.services.db
    filters = Filters.of(query)
    entries = await journal.for_person(db, viewer.person.id)
    threads = await deepening.for_person(db, viewer.person.id)
    numbered = [(len(entries) - i, e) for i, e in enumerate(entries)]
    kept = [(n, e) for n, e in numbered if filters.keeps(e, threads.get(e.id, []))]
    pages = max(1, -(-len(kept) // PAGE))
    page = min(filters.page, pages - 1)
    shown = kept[page * PAGE: (page + 1) * PAGE]
    titles = await module_titles(console, entries, viewer)
    modules = [(key, titles.get(key, key)) for key in dict.fromkeys([*titles, *(e.module_key for e in entries)]) if key]
    return console.page(
        viewer, "journal",
        entries=[entry_values(e, n, threads.get(e.id, []), EXCERPT) for n, e in shown],
        total=len(entries), found=len(kept), filters=filters, modules=modules, titles=titles,
        capacities=CAPACITIES, page=page, pages=pages,
        newer=filters.query(page - 1) if page > 0 else "", older=filters.query(page + 1) if page < pages - 1 else "",
    )


async def own_entry(console: Console, viewer: Viewer, raw: object) -> tuple[Reflection, int]:
    """Gives one of the viewer's entries by its id and its number in their journal; anyone else's is not found."""
    viewer.participant()
    text = str(raw)
    if not text.isdigit() or len(text) > 12:
        raise ConsoleError(404, "not_found")
    entry = await journal.get(console.services.db, int(text))
    if entry is None or entry.person_id != viewer.person.id:
        raise ConsoleError(404, "not_found")
    return entry, await journal.number_of(console.services.db, entry)


async def entry_page(
    console: Console, viewer: Viewer, entry: Reflection, number: int, done: str = "", confirm: str = "", line: str = "",
) -> str:
    """Gives the page of one entry: whole, with its thread and what may be done with its sharing now."""
    db = console.services.db
    thread = await deepening.thread(db, entry.id)
    titles = await module_titles(console, [entry], viewer)
    digest = await sharing.get_digest(db, entry.digest_id) if entry.digest_id is not None else None
    return console.page(
        viewer, "entry", entry=entry_values(entry, number, thread), titles=titles, done=done,
        has_set=await sharing.set_of(db, viewer.person.id) is not None,
        carried_at=digest.sealed_at if digest is not None else None, limit=TAKEAWAY_LIMIT, confirm=confirm, line=line,
    )


async def view_entry(console: Console, viewer: Viewer, query: Mapping[str, str]) -> str:
    """Gives one of the viewer's entries whole."""
    entry, number = await own_entry(console, viewer, query.get("id", ""))
    return await entry_page(console, viewer, entry, number)


async def share_entry(console: Console, viewer: Viewer, body: dict[str, Any]) -> str:
    """Shares an entry with the viewer's set (whole, or one line as a takeaway) once they confirmed what the set
    will read, or makes it private again, by the chat's rules; gives the entry's page as it now stands."""
    entry, number = await own_entry(console, viewer, body.get("entry", ""))
    choice = str(body.get("choice", ""))
    if choice not in ("shared", "takeaway", "private"):
        raise ConsoleError(400, "bad_request")
    db, now = console.services.db, console.services.clock.now()
    set_id = await sharing.set_of(db, viewer.person.id)
    if set_id is None and choice != "private":
        raise ConsoleError(409, "no_set")
    if entry.digest_id is not None:
        raise ConsoleError(409, "digest_gone")
    line = " ".join(str(body.get("takeaway", "")).split()) if choice == "takeaway" else ""
    if choice == "takeaway" and not line:
        raise ConsoleError(422, "takeaway_empty")
    if choice == "takeaway" and len(line) > TAKEAWAY_LIMIT:
        raise ConsoleError(422, "takeaway_too_long", length=len(line), limit=TAKEAWAY_LIMIT)
    if choice != "private" and body.get("confirmed") != "yes":
        # Nothing is shared before its author has seen what the set will read.
        return await entry_page(console, viewer, entry, number, confirm=choice, line=line)
    if not await sharing.set_visibility(db, entry.id, viewer.person.id, choice, set_id, now,
                                        takeaway=line if choice == "takeaway" else None):
        raise ConsoleError(409, "digest_gone")
    log.info("share choice in the console person=%d reflection=%d visibility=%s", viewer.person.id, entry.id, choice)
    changed = await journal.get(db, entry.id)
    assert changed is not None
    return await entry_page(console, viewer, changed, number, done=choice)


async def view_question(console: Console, viewer: Viewer, query: Mapping[str, str]) -> str:
    """Gives every version of the viewer's learning question, the newest first."""
    viewer.participant()
    db = console.services.db
    versions = await learning_question.versions(db, viewer.person.id)  # the newest first
    return console.page(
        viewer, "question", versions=versions, shared_since=await learning_question.shared_since(db, viewer.person.id),
    )


async def view_pulse(console: Console, viewer: Viewer, query: Mapping[str, str]) -> str:
    """Gives the viewer's own pulse: the trend per capacity in words, and the chart the chat sends."""
    viewer.participant()
    render = console.services.render
    found = await journey.pulse_of(console.services.db, render, viewer.person)
    if found is None or found.trend.empty:
        return console.page(viewer, "pulse", lines=[], chart="")
    png = await asyncio.to_thread(journey.chart_png, render, viewer.language, found)
    return console.page(
        viewer, "pulse", lines=journey.trend_lines(render, viewer.language, found.trend),
        moments=len(found.trend.points), chart=data_url(png),
    )


def data_url(png: bytes) -> str:
    """Gives a PNG as a data: URL, so that a chart comes with the page that asked for it (no second request
    that would need initData of its own)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


VIEWS: dict[str, View] = {
    "journal": view_journal,
    "entry": view_entry,
    "question": view_question,
    "pulse": view_pulse,
}
ACTIONS: dict[str, Action] = {"share": share_entry}
