"""story: building a year's story (a PDF with the pulse chart) for one participant and for a whole programme.

A programme of five modules over a year; each participant has 200 reflections (each the answer to a
library prompt that was sent, whose words the story reads again; one in ten an intention, most
followed up, some with two going-deeper answers), 40 pulse answers (four capacities
at the start and end of five modules) and three versions of their learning question, seeded with
SQL. Timed: `bot.jobs.pulse.build_story` (gathering from the store, the template, the chart with
matplotlib and the PDF with fpdf2) for one participant, and for all 200 participants the way the
dispatcher would at a module's end (four at a time). Side by side, in the same run and on the same
data: the existing Markdown export (`bot.tg.account.export_payload` + `render_export`), the
document a participant already gets with /export.

Memory: the peak of Python allocations during one story (tracemalloc, in a pass of its own, since
tracing slows everything down), and the process's resident peak (VmHWM) before and after the 200.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bench.common import (
    Stopwatch,
    aim,
    figure,
    header,
    load_programme,
    median,
    rss_peak_kb,
    scratch,
    seed_participants,
)
from bot.clock import ManualClock
from bot.jobs.pulse import build_story
from bot.loop import run_loop  # the loop `pitstop run` runs on
from bot.render import Renderer
from bot.store import people
from bot.store.db import Database, open_database
from bot.tg.account import export_payload, render_export

NAME = "story"
PARTICIPANTS = 200
REFLECTIONS = 200
MODULES = 5
CONCURRENCY = 4  # as the dispatcher sends
RUNS = 3
START = date(2027, 1, 11)
TEXT = (
    "Today I let the team decide on the planning themselves and noticed how hard it is for me to stay quiet; "
    "the director asked why I did not step in. Next time I will say out loud what I am doing — café, 5 €. ({n})"
)
CAPACITIES = ("cognitive", "relational", "intervention", "cross-boundary")


def programme_source() -> str:
    """Gives a year's programme: five modules of ten weeks, one set."""
    lines = ['[programme]', 'key = "bench-story"', 'title = "Certified Public Manager"', 'language = "en"',
             'timezone = "Europe/Amsterdam"', ""]
    for number in range(MODULES):
        first = START + timedelta(weeks=10 * number)
        lines += ["[[modules]]", f'key = "m{number + 1}"', f'title = "Module {number + 1}: Leading across boundaries"',
                  f'capacities = ["{CAPACITIES[number % 4]}"]', f"starts = {first.isoformat()}",
                  f"ends = {(first + timedelta(weeks=10, days=-1)).isoformat()}", ""]
    lines += ["[[sets]]", 'key = "set-1"', 'name = "Learning set 1"', ""]
    return "\n".join(lines)


def ts(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


async def seed(db: Database, now: datetime) -> tuple[int, list[int]]:
    """Seeds the programme and its participants with a year of journal, pulse and question; gives the ids."""
    programme_id, set_ids = await load_programme(db, programme_source(), now)
    async with db.transaction() as conn:
        await seed_participants(conn, programme_id, set_ids, PARTICIPANTS, now)
    ids = [r[0] for r in await db.fetchall("SELECT id FROM person ORDER BY id")]
    keys = [p.key for p in Renderer().library]
    async with db.transaction() as conn:
        for person_id in ids:
            for n in range(REFLECTIONS):
                day = n * MODULES * 70 // REFLECTIONS  # spread over the year
                written = datetime.combine(START, datetime.min.time(), UTC) + timedelta(days=day, hours=8)
                module = f"m{min(MODULES, 1 + day // 70)}"
                intention = n % 10 == 0
                key = keys[(person_id + n) % len(keys)]
                sent = written - timedelta(minutes=30)
                cur = await conn.execute(
                    "INSERT INTO outbox (kind, person_id, chat_id, due_at, status, dedupe_key, prompt_key, module_key,"
                    " response, sent_at, created_at) SELECT 'prompt', id, chat_id, ?, 'sent', ?, ?, ?, 'answered', ?, ?"
                    " FROM person WHERE id = ?",
                    (ts(sent), f"prompt:{person_id}:bench-{n}", key, module, ts(sent), ts(sent), person_id),
                )
                cur = await conn.execute(
                    "INSERT INTO reflection (person_id, outbox_id, prompt_key, programme_id, module_key, phase, capacity,"
                    " is_intention, follows_up_id, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (person_id, cur.lastrowid, key, programme_id, module, "between", CAPACITIES[n % 4], int(intention),
                     None, ts(written), ts(written)),
                )
                reflection_id = cur.lastrowid
                await conn.execute(
                    "INSERT INTO reflection_part (reflection_id, chat_id, message_id, text, created_at)"
                    " VALUES (?,?,?,?,?)",
                    (reflection_id, person_id, 100_000 * person_id + n, TEXT.format(n=n), ts(written)),
                )
                if n % 10 == 1:  # the reflection after an intention says what came of it
                    await conn.execute("UPDATE reflection SET follows_up_id = ? WHERE id = ?",
                                       (reflection_id - 1, reflection_id))
                if n % 20 == 5:
                    for step, phase in ((1, "looking_back"), (2, "essential")):
                        await conn.execute(
                            "INSERT INTO deepening (reflection_id, person_id, step, phase, answer, asked_at, answered_at)"
                            " VALUES (?,?,?,?,?,?,?)",
                            (reflection_id, person_id, step, phase, "What mattered was that they felt heard.",
                             ts(written), ts(written)),
                        )
            for number in range(MODULES):
                for moment in ("start", "end"):
                    for c, capacity in enumerate(CAPACITIES):
                        await conn.execute(
                            "INSERT INTO pulse_answer (person_id, programme_id, learning_set_id, module_key, moment,"
                            " capacity, score, answered_at) VALUES (?,?,?,?,?,?,?,?)",
                            (person_id, programme_id, set_ids[0], f"m{number + 1}", moment, capacity,
                             1 + (number + c + (moment == "end")) % 5, ts(now)),
                        )
            for version in range(3):
                await conn.execute(
                    "INSERT INTO learning_question (person_id, programme_id, text, created_at) VALUES (?,?,?,?)",
                    (person_id, programme_id, f"How do I give my team room to decide? (version {version + 1})",
                     ts(now - timedelta(days=300 - 100 * version))),
                )
    return programme_id, ids


@dataclass
class Context:
    """What export_payload reads of a handler's context."""

    db: Database
    render: Renderer
    clock: ManualClock


async def markdown_export(context: Context, person: people.Person) -> bytes:
    """Gives the /export Markdown document of a person (the reference)."""
    data = await export_payload(context, person)  # type: ignore[arg-type]
    return render_export(context.render, person.language, ZoneInfo(person.timezone), data).encode()


async def story_bytes(context: Context, person: people.Person) -> bytes:
    built = await build_story(context.db, context.render, person, context.clock.now(), "module", "Module 5")
    assert built is not None
    return built.pdf


async def timed_one(context: Context, person: people.Person, make: Any) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(RUNS):
        with Stopwatch() as watch:
            size = len(await make(context, person))
        times.append(watch.seconds)
    return median(times), size


async def traced(context: Context, person: people.Person, make: Any) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        await make(context, person)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def timed_all(context: Context, everyone: list[people.Person], make: Any) -> tuple[float, int]:
    gate = asyncio.Semaphore(CONCURRENCY)
    total = 0

    async def one(person: people.Person) -> None:
        nonlocal total
        async with gate:
            total += len(await make(context, person))

    with Stopwatch() as watch:
        await asyncio.gather(*(one(p) for p in everyone))
    return watch.seconds, total


async def run() -> None:
    logging.getLogger("bot").setLevel(logging.WARNING)
    now = datetime.combine(START + timedelta(weeks=10 * MODULES, days=-1), datetime.min.time(), UTC) + timedelta(hours=19)
    with scratch(NAME) as folder:
        db = await open_database(folder / "story.db")
        try:
            with Stopwatch() as seeding:
                _, ids = await seed(db, now)
            context = Context(db, Renderer(), ManualClock(now))
            everyone = [p for p in [await people.get_person(db, i) for i in ids] if p is not None]
            english = next(p for p in everyone if p.language == "en")
            header(
                "story", "a year's story (PDF with the pulse chart) beside the Markdown export of the same data",
                participants=PARTICIPANTS, **{"reflections each": REFLECTIONS, "pulse answers each": MODULES * 8,
                                              "question versions each": 3, "runs (one participant)": RUNS,
                                              "concurrency (all)": CONCURRENCY, "seeding": f"{seeding.seconds:.1f} s"},
            )
            await story_bytes(context, english)  # the first story imports matplotlib and fpdf2: not billed
            story_time, story_size = await timed_one(context, english, story_bytes)
            export_time, export_size = await timed_one(context, english, markdown_export)
            figure("one participant: story (PDF)", f"{story_time * 1000:.0f} ms", f"{story_size / 1024:.0f} KiB")
            figure("one participant: Markdown export (reference)", f"{export_time * 1000:.0f} ms",
                   f"{export_size / 1024:.0f} KiB  (story / export {story_time / export_time:.1f}x)")
            story_peak = await traced(context, english, story_bytes)
            export_peak = await traced(context, english, markdown_export)
            figure("one participant: story, peak Python memory", f"{story_peak / 1024 / 1024:.1f} MiB", "tracemalloc")
            figure("one participant: export, peak Python memory", f"{export_peak / 1024 / 1024:.1f} MiB", "tracemalloc")
            before = rss_peak_kb()
            all_story, all_story_bytes = await timed_all(context, everyone, story_bytes)
            after_story = rss_peak_kb()
            all_export, all_export_bytes = await timed_all(context, everyone, markdown_export)
            figure(f"all {PARTICIPANTS}: stories at a module's end", f"{all_story:.1f} s",
                   f"{all_story / len(everyone) * 1000:.0f} ms each, {all_story_bytes / 1024 / 1024:.1f} MiB of PDF  "
                   + aim(all_story < 15 * 60, "under 15 minutes, spread over the evening's dispatch"))
            figure(f"all {PARTICIPANTS}: Markdown exports (reference)", f"{all_export:.1f} s",
                   f"{all_export / len(everyone) * 1000:.0f} ms each  (stories / exports {all_story / all_export:.1f}x)")
            figure("resident peak before / after the stories", f"{before / 1024:.0f} / {after_story / 1024:.0f} MiB",
                   "VmHWM")
        finally:
            await db.close()


def main() -> None:
    """Runs the benchmark and prints its figures."""
    run_loop(run())


if __name__ == "__main__":
    main()
