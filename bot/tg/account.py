"""A participant's own data: /journal (paged), /pause and /resume, /export, /forget."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest

from bot.domain.nudges import local_moment
from bot.domain.parsing import parse_day
from bot.jobs.planner import replan_person
from bot.render import short_day_text
from bot.store import journal, outbox, people, sharing
from bot.store.people import Person
from bot.tg.common import answer_button, is_id, remove_buttons, reply, stale_button
from bot.tg.context import PitstopContext

log = logging.getLogger(__name__)

PAGE = 5
EXCERPT = 400
PAUSE_FOREVER = datetime(9999, 12, 31, tzinfo=UTC)


# --------------------------------------------------------------------------- /journal


async def journal_page(context: PitstopContext, person: Person, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    """Gives the text and paging buttons of one page of a person's journal, newest first."""
    total = await journal.count(context.db, person.id)
    pages = max(1, -(-total // PAGE))
    page = min(max(page, 0), pages - 1)
    entries = await journal.for_person(context.db, person.id, PAGE, page * PAGE)
    zone = ZoneInfo(person.timezone)
    items = []
    for entry in entries:
        text = entry.text
        media = [p.kind for p in entry.parts if p.kind != "text"]
        items.append({
            "date": short_day_text(entry.created_at, person.language, zone),
            "text": text if len(text) <= EXCERPT else text[:EXCERPT].rstrip() + "…",
            "media": media,
            "visibility": entry.visibility,
            "intention": entry.is_intention,
            "follow_up": entry.follows_up_id is not None,
        })
    body = context.render.message(person.language, "journal", items=items, page=page + 1, pages=pages, total=total)
    undo = [
        InlineKeyboardButton(
            context.render.button(person.language, "unshare", date=short_day_text(e.created_at, person.language, zone)),
            callback_data=f"jr:{page}:u:{e.id}",
        )
        for e in entries
        if e.visibility != "private" and e.digest_id is None
    ]
    buttons = []
    if page > 0:
        buttons.append(InlineKeyboardButton(context.render.button(person.language, "newer"), callback_data=f"jr:{page - 1}"))
    if page < pages - 1:
        buttons.append(InlineKeyboardButton(context.render.button(person.language, "older"), callback_data=f"jr:{page + 1}"))
    rows = [[b] for b in undo] + ([buttons] if buttons else [])
    return body, InlineKeyboardMarkup(rows) if rows else None


async def show_journal(update: Update, context: PitstopContext, person: Person) -> None:
    """Shows the first page of the journal."""
    text, keyboard = await journal_page(context, person, 0)
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=keyboard)


async def press_journal(update: Update, context: PitstopContext, person: Person, parts: list[str]) -> None:
    """Turns a journal page in place (`jr:<page>`), or makes one entry private again and redraws it (`jr:<page>:u:<id>`)."""
    query = update.callback_query
    assert query is not None
    raw = parts[1] if len(parts) > 1 else ""
    if not is_id(raw) or len(raw) > 6 or len(parts) not in (2, 4) or (len(parts) == 4 and (parts[2] != "u" or not is_id(parts[3]))):
        await stale_button(update, context, person.language)
        return
    if len(parts) == 4:
        entry = await journal.get(context.db, int(parts[3]))
        if entry is None or entry.person_id != person.id:
            await stale_button(update, context, person.language)
            return
        if not await sharing.set_visibility(context.db, entry.id, person.id, "private", None, context.clock.now()):
            await answer_button(update, context, person.language, "digest_gone", alert=True)
            return
        await answer_button(update, context, person.language, "private")
    else:
        await query.answer()
    text, keyboard = await journal_page(context, person, int(raw))
    try:
        await query.edit_message_text(text, reply_markup=keyboard)
    except BadRequest:
        pass  # the same page again: nothing changed


# --------------------------------------------------------------------------- /pause and /resume


async def pause_nudges(update: Update, context: PitstopContext, person: Person, args: list[str]) -> None:
    """Pauses nudges until a date (`/pause until 2027-01-04`) or until /resume."""
    now = context.clock.now()
    zone = ZoneInfo(person.timezone)
    typed = " ".join(args).strip()
    if typed:
        day = parse_day(typed, now.astimezone(zone).date())
        if day is None or day <= now.astimezone(zone).date():
            await reply(update, context, person.language, "pause_bad_date", typed=typed[:60])
            return
        if (day - now.astimezone(zone).date()).days > 366:
            await reply(update, context, person.language, "pause_bad_date", typed=typed[:60])
            return
        if typed.lower().startswith(("t/m", "tot en met", "through")):
            day += timedelta(days=1)  # "up to and including" that day
        until = local_moment(day, 0, 0, zone).astimezone(UTC)
    else:
        until = PAUSE_FOREVER
    await people.update_person(context.db, person.id, now, paused_until=until)
    await replan_person(context.db, person.id, now)
    when = "" if until == PAUSE_FOREVER else short_day_text(until, person.language, zone)
    log.info("nudges paused person=%d", person.id)
    await reply(update, context, person.language, "paused", until=when)


async def resume_nudges(update: Update, context: PitstopContext, person: Person) -> None:
    """Ends a pause and plans the next nudges at once."""
    now = context.clock.now()
    if person.paused_until is None or person.paused_until <= now:
        await reply(update, context, person.language, "not_paused")
        return
    await people.update_person(context.db, person.id, now, paused_until=None)
    await replan_person(context.db, person.id, now)
    await reply(update, context, person.language, "resumed")


# --------------------------------------------------------------------------- /export


async def export_data(update: Update, context: PitstopContext, person: Person) -> None:
    """Sends all of a person's data as a Markdown document and a JSON file."""
    entries = list(reversed(await journal.for_person(context.db, person.id)))
    memberships = await people.memberships(context.db, person.id)
    planned = await outbox.for_person(context.db, person.id)
    cases = await context.db.fetchall(
        "SELECT created_at, text FROM case_proposal WHERE person_id = ? ORDER BY created_at", (person.id,)
    )
    zone = ZoneInfo(person.timezone)
    data = {
        "exported_at": context.clock.now().isoformat(),
        "person": {
            "name": person.name, "language": person.language, "timezone": person.timezone,
            "nudge_time": f"{person.nudge_hour:02d}:{person.nudge_minute:02d}", "nudge_days": list(person.nudge_days),
            "paused_until": person.paused_until.isoformat() if person.paused_until else None,
            "joined": person.created_at.isoformat(), "show_activity": person.show_activity,
        },
        "memberships": [{"programme_id": m.programme_id, "learning_set_id": m.learning_set_id, "role": m.role} for m in memberships],
        "reflections": [
            {
                "id": e.id, "written": e.created_at.isoformat(), "updated": e.updated_at.isoformat(),
                "prompt": e.prompt_key, "module": e.module_key, "phase": e.phase, "capacity": e.capacity,
                "intention": e.is_intention, "follows_up": e.follows_up_id, "visibility": e.visibility,
                "takeaway": e.takeaway,
                "messages": [{"kind": p.kind, "text": p.text, "file_id": p.file_id, "written": p.created_at.isoformat(),
                              "edited": p.edited_at.isoformat() if p.edited_at else None} for p in e.parts],
            }
            for e in entries
        ],
        "cases": [{"written": c[0], "text": c[1]} for c in cases],
        "messages_planned_and_sent": [
            {"kind": r.kind, "due": r.due_at.isoformat(), "status": r.status, "prompt": r.prompt_key, "response": r.response}
            for r in planned
        ],
    }
    markdown = context.render.env.get_template(f"{person.language}/export.md").render(
        person=data["person"],
        entries=[
            {**item, "date": short_day_text(e.created_at, person.language, zone)}
            for item, e in zip(data["reflections"], entries)
        ],
    )
    stamp = context.clock.now().astimezone(zone).date().isoformat()
    chat_id = update.effective_chat.id if update.effective_chat else person.chat_id
    caption = context.render.message(person.language, "export_caption", count=len(entries))
    await context.bot.send_document(chat_id, InputFile(io.BytesIO(markdown.encode("utf-8")), f"pitstop-journal-{stamp}.md"), caption=caption)
    payload = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    await context.bot.send_document(chat_id, InputFile(io.BytesIO(payload), f"pitstop-data-{stamp}.json"))
    log.info("export sent person=%d reflections=%d", person.id, len(entries))


# --------------------------------------------------------------------------- /forget


async def ask_forget(update: Update, context: PitstopContext, person: Person) -> None:
    """Asks for a confirmation before erasing everything."""
    render = context.render
    keyboard = InlineKeyboardMarkup([[
        InlineKeyboardButton(render.button(person.language, "forget_yes"), callback_data="fg:yes"),
        InlineKeyboardButton(render.button(person.language, "forget_no"), callback_data="fg:no"),
    ]])
    count = await journal.count(context.db, person.id)
    assert update.effective_chat is not None
    await context.bot.send_message(
        update.effective_chat.id, render.message(person.language, "forget_confirm", count=count), reply_markup=keyboard
    )


async def press_forget(update: Update, context: PitstopContext, person: Person, parts: list[str]) -> None:
    """Erases the person after *yes* (`fg:yes`), or keeps everything (`fg:no`)."""
    query = update.callback_query
    assert query is not None
    choice = parts[1] if len(parts) > 1 else ""
    if choice == "yes":
        language = person.language
        await people.erase_person(context.db, person.id)
        log.info("person erased person=%d", person.id)
        await query.answer()
        await remove_buttons(update)
        await reply(update, context, language, "forgotten")
    elif choice == "no":
        await answer_button(update, context, person.language, "kept")
        await remove_buttons(update)
    else:
        await stale_button(update, context, person.language)
