"""A participant's own data: /journal (paged), /pause and /resume, /export, /forget."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest

from bot.buttons import ForgetButton, JournalButton, JournalEntryButton, JournalPageButton
from bot.domain.nudges import local_moment
from bot.domain.parsing import parse_day
from bot.jobs.compose import where_is
from bot.jobs.planner import replan_person
from bot.jobs.wording import prompt_as_sent, prompt_values
from bot.render import Renderer, moment_text, short_day_text
from bot.store import briefs, deepening, export, journal, learning_question, outbox, people, programmes, sharing
from bot.store.people import Person
from bot.tg.common import (
    acknowledge,
    answer_button,
    awaiting,
    open_question,
    read_awaiting,
    remove_buttons,
    reply,
    stale_button,
)
from bot.tg.console import console_button
from bot.tg.context import PitstopContext
from bot.tg.deeper import question_text
from bot.tg.for_facilitators import journal_buttons

log = logging.getLogger(__name__)

PAGE = 5
EXCERPT = 400
PAUSE_FOREVER = datetime(9999, 12, 31, tzinfo=UTC)


# --------------------------------------------------------------------------- /journal


async def journal_page(context: PitstopContext, person: Person, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    """Gives the text and buttons of one page of a person's journal, newest first, each entry numbered.

    Each entry has a button that opens it whole (to read, correct or delete it); a shared entry not yet in
    a digest also has one that makes it private again. Both name the entry by its number and first words.
    """
    total = await journal.count(context.db, person.id)
    pages = max(1, -(-total // PAGE))
    page = min(max(page, 0), pages - 1)
    entries = await journal.for_person(context.db, person.id, PAGE, page * PAGE)
    zone = ZoneInfo(person.timezone)
    numbers = [total - page * PAGE - i for i in range(len(entries))]
    deeper = await deepening.answered_counts(context.db, [e.id for e in entries])
    items = []
    for number, entry in zip(numbers, entries):
        text = entry.text
        items.append({
            "number": number,
            "date": short_day_text(entry.created_at, person.language, zone),
            "text": text if len(text) <= EXCERPT else text[:EXCERPT].rstrip() + "…",
            "cut": len(text) > EXCERPT,
            "media": [p.kind for p in entry.parts if p.kind != "text"],
            "visibility": entry.visibility,
            "intention": entry.is_intention,
            "follow_up": entry.follows_up_id is not None,
            "deeper": deeper.get(entry.id, 0),
        })
    body = context.render.message(person.language, "journal", items=items, page=page + 1, pages=pages, total=total)
    render = context.render
    rows = []
    for number, e in zip(numbers, entries):
        words = first_words(e, person.language, zone)
        rows.append([InlineKeyboardButton(render.button(person.language, "open_entry", number=number, words=words),
                                          callback_data=JournalEntryButton(page, "o", e.id).data)])
        if e.visibility != "private" and e.digest_id is None:
            rows.append([InlineKeyboardButton(
                render.button(person.language, "unshare_entry", number=number, words=words),
                callback_data=JournalEntryButton(page, "u", e.id).data,
            )])
    buttons = []
    if page > 0:
        buttons.append(InlineKeyboardButton(render.button(person.language, "newer"), callback_data=JournalPageButton(page - 1).data))
    if page < pages - 1:
        buttons.append(InlineKeyboardButton(render.button(person.language, "older"), callback_data=JournalPageButton(page + 1).data))
    rows += [buttons] if buttons else []
    console = console_button(context, person.language, "journal")
    rows += [[console]] if console is not None else []
    return body, InlineKeyboardMarkup(rows) if rows else None


WORDS = 24


def first_words(entry: journal.Reflection, language: str, zone: ZoneInfo) -> str:
    """Gives the first words of an entry for a button (its date when it has no text)."""
    text = " ".join(entry.text.split())
    if not text:
        return short_day_text(entry.created_at, language, zone)
    if len(text) <= WORDS:
        return text
    cut = text[:WORDS].rsplit(" ", 1)[0] if " " in text[:WORDS] else text[:WORDS]
    return cut.rstrip(" ,.;:") + "…"


CHUNK = 3500  # characters of entry text per message: the header and HTML escaping stay under Telegram's 4096


def chunks(text: str, limit: int = CHUNK) -> list[str]:
    """Gives a text in pieces of at most `limit` characters, cut at a paragraph, a line or a word where possible."""
    pieces = []
    while len(text) > limit:
        cut = max(text.rfind("\n\n", 0, limit), text.rfind("\n", 0, limit), text.rfind(" ", 0, limit))
        cut = cut if cut > limit // 2 else limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return pieces + [text] if text or not pieces else pieces


async def show_journal(update: Update, context: PitstopContext, person: Person) -> None:
    """Shows the first page of the journal."""
    text, keyboard = await journal_page(context, person, 0)
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=keyboard)


async def entry_view(
    context: PitstopContext, person: Person, entry: journal.Reflection, page: int
) -> tuple[list[str], InlineKeyboardMarkup]:
    """Gives one entry whole, split over as many messages as it needs, and the buttons for its last message."""
    render, language = context.render, person.language
    zone = ZoneInfo(person.timezone)
    number = await journal.number_of(context.db, entry)
    pieces = chunks(entry.text)
    texts = [
        render.message(
            language, "journal_entry", number=number, date=moment_text(entry.created_at, language, zone),
            text=piece, part=i + 1, parts=len(pieces), visibility=entry.visibility, intention=entry.is_intention,
            follow_up=entry.follows_up_id is not None, takeaway=entry.takeaway or "",
            media=[p.kind for p in entry.parts if p.kind != "text"] if i == len(pieces) - 1 else [],
        )
        for i, piece in enumerate(pieces)
    ]
    texts += thread_texts(render, language, number, await deepening.thread(context.db, entry.id))
    rows = [[
        InlineKeyboardButton(render.button(language, "correct_entry"),
                             callback_data=JournalEntryButton(page, "c", entry.id).data),
        InlineKeyboardButton(render.button(language, "delete_entry"),
                             callback_data=JournalEntryButton(page, "d", entry.id).data),
    ]]
    if entry.visibility != "private" and entry.digest_id is None:
        words = first_words(entry, language, zone)
        rows.append([InlineKeyboardButton(render.button(language, "unshare_entry", number=number, words=words),
                                          callback_data=JournalEntryButton(page, "u", entry.id).data)])
    if await sharing.set_of(context.db, person.id) is not None:  # for the set's facilitators only, or undo that
        rows += journal_buttons(context, language, entry.id, await briefs.state(context.db, entry.id))
    rows.append([InlineKeyboardButton(render.button(language, "back_to_journal"), callback_data=JournalPageButton(page).data)])
    return texts, InlineKeyboardMarkup(rows)


def thread_texts(render: Renderer, language: str, number: int, steps: list[deepening.Step]) -> list[str]:
    """Gives the answers of going deeper into an entry as messages after it: one when they fit, else as many as
    they need, a long answer cut at a paragraph, a line or a word and marked as continued."""
    pieces: list[dict[str, Any]] = [
        {"phase": s.phase, "text": piece, "continued": i > 0}
        for s in steps if s.answer for i, piece in enumerate(chunks(s.answer))
    ]
    messages: list[list[dict[str, Any]]] = []
    for piece in pieces:
        if not messages or sum(len(p["text"]) for p in messages[-1]) + len(piece["text"]) > CHUNK:
            messages.append([])
        messages[-1].append(piece)
    return [
        render.message(language, "journal_thread", number=number, thread=thread, part=i + 1, parts=len(messages))
        for i, thread in enumerate(messages)
    ]


async def press_journal(update: Update, context: PitstopContext, person: Person, pressed: JournalButton) -> None:
    """Turns to a page, or acts on one of the presser's entries: u make private again, o open whole,
    c correct, x stop correcting, d ask to delete, y delete, n keep."""
    page = pressed.page
    if isinstance(pressed, JournalPageButton):
        await acknowledge(update)
        await redraw_page(update, context, person, page)
        return
    action = pressed.action
    entry = await journal.get(context.db, pressed.reflection_id)
    if entry is None or entry.person_id != person.id:
        await stale_button(update, context, person.language)
        return
    now = context.clock.now()
    if action == "u":
        if not await sharing.set_visibility(context.db, entry.id, person.id, "private", None, now):
            await answer_button(update, context, person.language, "digest_gone", alert=True)
            return
        await answer_button(update, context, person.language, "private")
        await redraw_page(update, context, person, page)
    elif action == "o":
        await acknowledge(update)
        await send_entry(update, context, person, entry, page)
    elif action == "c":
        await acknowledge(update)
        await ask_correction(update, context, person, entry, page)  # asked first: only then is typed text an answer
        await people.update_person(context.db, person.id, now, awaiting=awaiting("correct", entry.id, now))
    elif action == "x":
        await acknowledge(update)
        question = open_question(person, now)
        if question is not None and question.kind == "correct" and question.target == entry.id:
            await people.update_person(context.db, person.id, now, awaiting=None)
        await remove_buttons(update)
        await reply(update, context, person.language, "journal_not_corrected", number=await journal.number_of(context.db, entry))
    elif action == "d":
        await acknowledge(update)
        number = await journal.number_of(context.db, entry)
        keyboard = InlineKeyboardMarkup([[
            InlineKeyboardButton(context.render.button(person.language, "delete_yes"),
                                 callback_data=JournalEntryButton(page, "y", entry.id).data),
            InlineKeyboardButton(context.render.button(person.language, "forget_no"),
                                 callback_data=JournalEntryButton(page, "n", entry.id).data),
        ]])
        text = context.render.message(
            person.language, "journal_delete_confirm", number=number,
            words=first_words(entry, person.language, ZoneInfo(person.timezone)),
        )
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=keyboard)
    elif action == "y":
        number = await journal.number_of(context.db, entry)
        await journal.delete(context.db, entry.id, person.id)
        log.info("entry deleted person=%d reflection=%d", person.id, entry.id)
        await acknowledge(update)
        await remove_buttons(update)
        await reply(update, context, person.language, "journal_deleted", number=number)
        await show_journal(update, context, person)
    else:  # "n": keep it
        await answer_button(update, context, person.language, "entry_kept")
        await remove_buttons(update)


async def redraw_page(update: Update, context: PitstopContext, person: Person, page: int) -> None:
    """Redraws the message a journal button was pressed on as a page of the journal."""
    query = update.callback_query
    assert query is not None
    text, keyboard = await journal_page(context, person, page)
    try:
        await query.edit_message_text(text, reply_markup=keyboard)
    except BadRequest:
        pass  # the same page again: nothing changed


async def send_entry(update: Update, context: PitstopContext, person: Person, entry: journal.Reflection, page: int) -> None:
    """Sends one entry whole, over several messages when it is long; its buttons on the last."""
    texts, keyboard = await entry_view(context, person, entry, page)
    assert update.effective_chat is not None
    for i, text in enumerate(texts):
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=keyboard if i == len(texts) - 1 else None)


async def ask_correction(
    update: Update, context: PitstopContext, person: Person, entry: journal.Reflection, page: int, again: bool = False
) -> None:
    """Asks for the corrected text of an entry, with a button to stop correcting."""
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(
        context.render.button(person.language, "cancel"), callback_data=JournalEntryButton(page, "x", entry.id).data
    )]])
    text = context.render.message(
        person.language, "journal_correct_ask", number=await journal.number_of(context.db, entry),
        words=first_words(entry, person.language, ZoneInfo(person.timezone)), again=again,
    )
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=keyboard)


async def take_correction(update: Update, context: PitstopContext, person: Person, text: str) -> bool:
    """Takes typed text as the correction of a journal entry when the bot asked for one; gives True when it took it.

    Empty text cannot be meant as the new entry: a sentence and the question again (the entry stays as it was).
    """
    now = context.clock.now()
    waited = read_awaiting(person, now)
    if waited is None or waited[0] != "correct":
        return False
    entry = await journal.get(context.db, waited[1])
    message = update.effective_message
    if entry is None or entry.person_id != person.id or message is None:
        await people.update_person(context.db, person.id, now, awaiting=None)
        return False
    if not text.strip():
        await ask_correction(update, context, person, entry, 0, again=True)
        return True
    await journal.correct(context.db, entry.id, person.id, message.chat_id, message.message_id, text.strip(), now)
    await people.update_person(context.db, person.id, now, awaiting=None)
    log.info("entry corrected person=%d reflection=%d", person.id, entry.id)
    await reply(update, context, person.language, "journal_corrected", number=await journal.number_of(context.db, entry))
    return True


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
    """Sends everything the database holds about a person: a readable Markdown document and a JSON file."""
    data = await export_payload(context, person)
    zone = ZoneInfo(person.timezone)
    markdown = render_export(context.render, person.language, zone, data)
    stamp = context.clock.now().astimezone(zone).date().isoformat()
    chat_id = update.effective_chat.id if update.effective_chat else person.chat_id
    count = len(data["reflections"])
    caption = context.render.message(person.language, "export_caption", count=count)
    await context.bot.send_document(chat_id, InputFile(io.BytesIO(markdown.encode("utf-8")), f"pitstop-journal-{stamp}.md"), caption=caption)
    payload = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    await context.bot.send_document(chat_id, InputFile(io.BytesIO(payload), f"pitstop-data-{stamp}.json"))
    log.info("export sent person=%d reflections=%d", person.id, count)


def render_export(render: Renderer, language: str, zone: ZoneInfo, data: dict[str, Any]) -> str:
    """Gives the export's Markdown document: every field of the JSON, in words of the language, text escaped."""

    def when(value: str | None) -> str:
        return moment_text(datetime.fromisoformat(value), language, zone) if value else ""

    return render.env.get_template(f"{language}/export.md").render(
        data=data, md=md_escape, when=when,
        zone_name=lambda z: render.button(language, "zone", zone=z),
        weekday=lambda d: render.button(language, "weekday", day=d),
    )


async def export_payload(context: PitstopContext, person: Person) -> dict[str, Any]:
    """Gives everything the database holds about a person as plain JSON values (the export's one source)."""
    held = await export.holdings(context.db, person.id)
    assert held is not None
    entries = list(reversed(await journal.for_person(context.db, person.id)))
    me = held.person
    titles: dict[tuple[int, str], str] = {}
    programme_ids = {e.programme_id for e in entries if e.programme_id is not None}
    programme_ids |= {m["programme_id"] for m in held.memberships}
    for programme_id in programme_ids:
        stored = await programmes.get_programme_by_id(context.db, programme_id)
        for module in stored.programme.modules if stored else ():
            titles[(programme_id, module.key)] = module.title
    by_key = {key: title for (_, key), title in titles.items()}
    threads = await deepening.for_person(context.db, person.id)
    reflections = []
    for e in entries:
        share = held.shares.get(e.id, {})
        digest = None
        if share.get("digest_id") is not None:
            digest = {"id": share["digest_id"], "sent": share["digest_sent_at"], "meeting": share["digest_meeting"],
                      "place": share["digest_place"], "status": share["digest_status"]}
        reflections.append({
            "id": e.id, "written": e.created_at.isoformat(), "updated": e.updated_at.isoformat(),
            "prompt": e.prompt_key, "question": await asked(context, person, e.prompt_key, await sent_at(context, e)),
            "module": e.module_key, "module_title": titles.get((e.programme_id or 0, e.module_key), ""),
            "phase": e.phase, "capacity": e.capacity, "intention": e.is_intention, "follows_up": e.follows_up_id,
            "visibility": e.visibility, "takeaway": e.takeaway, "shared_with": share.get("set_name"),
            "shared_at": share.get("shared_at"), "digest": digest,
            "going_deeper": [{"step": s.step, "phase": s.phase, "question": question_text(context, person.language, e, s, False),
                              "answer": s.answer, "asked": s.asked_at.isoformat(),
                              "answered": s.answered_at.isoformat() if s.answered_at else None}
                             for s in threads.get(e.id, [])],
            "messages": [{"kind": p.kind, "text": p.text, "file_id": p.file_id, "message_id": p.message_id,
                          "written": p.created_at.isoformat(), "edited": p.edited_at.isoformat() if p.edited_at else None}
                         for p in e.parts],
        })
    return {
        "exported_at": context.clock.now().isoformat(),
        "person": {
            "telegram_id": me["telegram_id"], "chat_id": me["chat_id"], "name": me["name"],
            "emails": sorted({i["email"] for i in held.invites if i["email"]}),
            "language": me["language"], "timezone": me["timezone"],
            "nudge_time": f"{person.nudge_hour:02d}:{person.nudge_minute:02d}", "nudge_days": list(person.nudge_days),
            "paused_until": me["paused_until"], "status": me["status"], "onboarding_step": me["onboarding_step"],
            "show_activity": bool(me["show_activity"]), "waiting_for": waiting_for(me["awaiting"]),
            "joined": me["created_at"], "updated": me["updated_at"],
            "research_consent_since": me["research_consent_at"],  # the trend study: None unless given
        },
        "invites": [{"programme": i["programme_title"], "learning_set": i["set_name"], "role": i["role"],
                     "name": i["name"], "language": i["language"], "email": i["email"], "imported": i["imported"],
                     "created": i["created_at"], "expires": i["expires_at"]} for i in held.invites],
        "memberships": [{"programme_id": m["programme_id"], "programme": m["programme_title"],
                         "learning_set_id": m["set_id"], "learning_set": m["set_name"], "role": m["role"],
                         "joined": m["joined_at"]} for m in held.memberships],
        "reflections": reflections,
        "cases": [{"written": c["created_at"], "text": c["text"], "learning_set": c["set_name"],
                   "digest_id": c["digest_id"], "meeting": c["meeting"], "place": c["place"],
                   "digest_sent": c["digest_sent_at"]} for c in held.cases],
        "messages_planned_and_sent": [
            {"kind": r["kind"], "due": r["due_at"], "status": r["status"], "sent": r["sent_at"],
             "prompt": r["prompt_key"],
             "question": await asked(context, person, r["prompt_key"], datetime.fromisoformat(r["sent_at"] or r["due_at"])),
             "module": r["module_key"], "module_title": by_key.get(r["module_key"] or "", ""), "response": r["response"],
             "telegram_message_id": r["telegram_message_id"], "digest_id": r["digest_id"],
             "broadcast_id": r["broadcast_id"]}
            for r in held.messages
        ],
        "broadcasts_written": [
            {"programme": b["programme_title"], "learning_set": b["set_name"], "audience": b["audience"],
             "text": b["text"], "status": b["status"], "created": b["created_at"], "scheduled": b["scheduled_at"],
             "finished": b["finished_at"]}
            for b in held.broadcasts
        ],
        "actions_recorded": [{"at": a["at"], "action": a["action"], "detail": a["detail"]} for a in held.actions],
        "pulse_answers": [{"programme": p["programme_title"], "module": p["module_key"],
                           "module_title": by_key.get(p["module_key"], ""), "moment": p["moment"],
                           "capacity": p["capacity"], "score": p["score"], "answered": p["answered_at"],
                           "learning_set": p["set_name"]} for p in held.pulse],
        "learning_question": learning_question_export(held.questions, me["question_shared_at"]),
    }


def learning_question_export(versions: list[dict[str, Any]], shared_at: str | None) -> dict[str, Any]:
    """Gives every version of the learning question with its date, newest first, and whether it is shared
    (only the newest, the current one, ever is)."""
    newest = versions[-1]["id"] if versions else None
    return {
        "shared_since": shared_at,
        "versions": [{"text": v["text"], "written": v["created_at"], "programme": v["programme_title"],
                      "message_id": v["message_id"], "current": v["id"] == newest,
                      "shared": v["id"] == newest and shared_at is not None}
                     for v in reversed(versions)],
    }


def waiting_for(raw: str | None) -> dict[str, Any] | None:
    """Gives the stored "the bot waits for a typed …" (`kind:target@stamp`) as its parts, or None."""
    kind, _, rest = (raw or "").partition(":")
    target, _, stamp = rest.partition("@")
    if not kind or not stamp.isdigit():
        return None
    return {"kind": kind, "about": int(target) if target.isdigit() else target,
            "asked": datetime.fromtimestamp(int(stamp), UTC).isoformat()}


async def sent_at(context: PitstopContext, entry: journal.Reflection) -> datetime:
    """Gives when the prompt an entry answers was sent (else when the entry was written)."""
    row = await outbox.get(context.db, entry.outbox_id) if entry.outbox_id is not None else None
    return (row.sent_at if row is not None and row.sent_at else None) or entry.created_at


async def asked(context: PitstopContext, person: Person, prompt_key: str | None, moment: datetime) -> str | None:
    """Gives a library prompt as it read when it was sent at `moment` (plain text), or None when there is none."""
    if prompt_key is None:
        return None
    where = await where_is(context.db, person, moment)
    module = where.position.module if where else None
    question = await learning_question.as_of(context.db, person.id, moment)
    values = prompt_values(context.render, person.language, person.name, module, where.position.event if where else None,
                           ZoneInfo(person.timezone), question.text if question else "")
    return prompt_as_sent(context.render, person.language, prompt_key, module, values)


MD_ANYWHERE = re.compile(r"([\\`*_\[\]<>|~]|&(?=#?\w+;))")
MD_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])", re.MULTILINE)


def md_escape(text: str | None) -> str:
    """Gives a person's text as Markdown that shows exactly that text: `<b>mijn</b>` stays literal, lines stay lines."""
    escaped = MD_ANYWHERE.sub(r"\\\1", text or "")
    escaped = MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), escaped)
    return "\\\n".join(escaped.splitlines()) if "\n" in escaped else escaped


# --------------------------------------------------------------------------- /forget


async def ask_forget(update: Update, context: PitstopContext, person: Person) -> None:
    """Asks for a confirmation before erasing everything."""
    render = context.render
    keyboard = InlineKeyboardMarkup([[
        InlineKeyboardButton(render.button(person.language, "forget_yes"), callback_data=ForgetButton(True).data),
        InlineKeyboardButton(render.button(person.language, "forget_no"), callback_data=ForgetButton(False).data),
    ]])
    count = await journal.count(context.db, person.id)
    assert update.effective_chat is not None
    await context.bot.send_message(
        update.effective_chat.id, render.message(person.language, "forget_confirm", count=count), reply_markup=keyboard
    )


async def press_forget(update: Update, context: PitstopContext, person: Person, pressed: ForgetButton) -> None:
    """Erases the person after *yes*, or keeps everything after *no*."""
    if pressed.erase:
        language = person.language
        await people.erase_person(context.db, person.id)
        log.info("person erased person=%d", person.id)
        await acknowledge(update)
        await remove_buttons(update)
        await reply(update, context, language, "forgotten")
    else:
        await answer_button(update, context, person.language, "kept")
        await remove_buttons(update)
