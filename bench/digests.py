"""digests: planning and rendering the digests of 500 learning sets (issue benchmark 5).

One fresh SQLite file (real migrations, WAL, synchronous=FULL, as the product opens it) holds one
programme with 500 learning sets, each with one meeting in the next two weeks and a linked group,
8 active members per set, about 6 journal entries per member (1 to 3 messages each) of which about
half are shared with the set or shared as a takeaway, and a case for the meeting from some members.

Timed, on a fresh copy of that file each run:

(a) `bot.jobs.sets.plan_sets(db, now)`: plans the 500 digests (a `digest` row to MEMBERS each) and
    the case rounds (one row per member);
(b) every digest the way the dispatcher handles it when it falls due: for each moment digests fall
    due (the sets' `send_at`, ten moments of about 50 digests), with `now` = that moment,
    `bot.jobs.sets.expand_due_digests` -- what `Dispatcher.run_once` calls -- claims their rows to
    MEMBERS in batches (`DIGEST_BATCH`, one digest per set), runs `compose_digest` on each (which
    chooses what the digest carries and renders it) and commits each batch's seals, copies' rows
    and ends of the MEMBERS rows in one commit (a write unit per digest); then each copy for a
    set's group is read (`outbox.get`, as a sender's claim gives it) and `compose_digest` renders
    what it carries with a `bot.render.Renderer()` (one for the whole run, as the app has one).
    Commits are counted (`Database.commits`).

Each run is a process of its own that only does (a) and (b) on its copy, so that seeding does not
inflate its peak memory (VmHWM); one more run under tracemalloc, made only while the runs are
quick, gives the peak of Python's allocations. Times are taken in the bench around each moment's
`expand_due_digests` and each copy's `compose_digest`; nothing in the product is patched.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.common import (
    REPO,
    Stopwatch,
    aim,
    figure,
    header,
    load_programme,
    median,
    percentile,
    programme_toml,
    rss_now_kb,
    rss_peak_kb,
    scratch,
    seed_participants_sync,
)
from bot.domain.digest import TELEGRAM_LIMIT
from bot.jobs.sets import DIGEST_BATCH
from bot.loop import run_loop  # the loop `pitstop run` runs on

NAME = "digests"
SETS = 500
MEMBERS_PER_SET = 8
REFLECTIONS_PER_MEMBER = 6
# Of each member's entries: about 35 % shared in full, 15 % as a takeaway line, the rest private.
SHARED_SHARE, TAKEAWAY_SHARE = 0.35, 0.15
CASE_SHARE = 0.25  # members who bring a case to the meeting
# Plain runs: up to MAX_RUNS, but none is started (nor the tracemalloc run) once RUN_BUDGET seconds
# have gone: a run takes 60 to 90 s on 2 cores with the schema as it is, a few seconds with indexes.
MAX_RUNS = 3
RUN_BUDGET = 60.0
SEED = 5
# A Wednesday 10:00 in Amsterdam, in the second module. Meetings fall on the weekdays of the next
# two weeks, so every set's digest (two days before its meeting, 09:00) is within plan_sets' horizon.
NOW = datetime(2027, 3, 24, 10, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
PROGRAMME_START = date(2027, 1, 4)
MEETING_DAYS = (5, 6, 7, 8, 9, 12, 13, 14, 15, 16)  # days after NOW: Mon 29 Mar .. Fri 9 Apr
MEETING_HOURS = ("10:00", "14:00", "16:30")
FIRST_GROUP_CHAT = -1_001_000_000_000
WORD_TEXT = (
    "team meeting asked listened plan decision colleague feedback project deadline trust budget"
    " stakeholder conversation noticed tried again tension director citizens policy pilot choice"
    " learned surprised afterwards energy priorities silence question responsibility network"
    " council proposal draft hesitant clearer morning together boundary mandate patience"
)
WORDS = tuple(WORD_TEXT.split())


def programme_source(sets: int = SETS) -> str:
    """Gives a programme file: the bench's three modules and `sets` sets with one meeting each."""
    lines = [programme_toml(PROGRAMME_START, key="bench-digests", sets=0)]
    for number in range(sets):
        day = (NOW + timedelta(days=MEETING_DAYS[number % len(MEETING_DAYS)])).date()
        hour = MEETING_HOURS[number % len(MEETING_HOURS)]
        lines += [
            "[[sets]]",
            f'key = "set-{number + 1:03d}"',
            f'name = "Learning set {number + 1}"',
            "",
            "[[sets.meetings]]",
            f"at = {day.isoformat()}T{hour}:00",
            f'place = "Room {number % 40 + 1}, Utrecht"',
            "",
        ]
    return "\n".join(lines)


def words(rng: random.Random, low: int, high: int) -> str:
    """Gives text of about `low` to `high` characters made of plain words."""
    target = rng.randint(low, high)
    out: list[str] = []
    size = 0
    while size < target:
        word = rng.choice(WORDS)
        out.append(word)
        size += len(word) + 1
    return " ".join(out).capitalize() + "."


def _ts(moment: datetime) -> str:
    # The product's stored form of a moment (bot.store.outbox.ts).
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


async def prepare(path: Path) -> dict[str, int]:
    """Creates the database file: programme, sets with groups, members, journal entries."""
    from bot.store.db import open_database

    db = await open_database(path)
    try:
        programme_id, set_ids = await load_programme(db, programme_source(), NOW)
    finally:
        await db.close()
    rng = random.Random(SEED)
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.executemany(
                "UPDATE learning_set SET group_chat_id = ? WHERE id = ?",
                [(FIRST_GROUP_CHAT - i, set_id) for i, set_id in enumerate(set_ids)],
            )
            # Participant i joins set i % SETS: 8 members per set.
            seed_participants_sync(conn, programme_id, set_ids, SETS * MEMBERS_PER_SET, NOW)
            people = conn.execute(
                "SELECT person.id, person.chat_id, membership.learning_set_id FROM person"
                " JOIN membership ON membership.person_id = person.id ORDER BY person.id"
            ).fetchall()
            reflections, parts, message_id = [], [], 0
            for person_id, chat_id, set_id in people:
                for k in range(REFLECTIONS_PER_MEMBER):
                    written = (
                        NOW
                        - timedelta(days=14)
                        + timedelta(
                            days=k * 14 / REFLECTIONS_PER_MEMBER, minutes=rng.randint(0, 600)
                        )
                    )
                    roll = rng.random()
                    visibility = (
                        "shared"
                        if roll < SHARED_SHARE
                        else "takeaway"
                        if roll < SHARED_SHARE + TAKEAWAY_SHARE
                        else "private"
                    )
                    shared = visibility != "private"
                    reflections.append(
                        (
                            person_id,
                            programme_id,
                            visibility,
                            words(rng, 60, 240) if visibility == "takeaway" else None,
                            set_id if shared else None,
                            _ts(written + timedelta(hours=2)) if shared else None,
                            _ts(written),
                            _ts(written),
                        )
                    )
                    for p in range(rng.choice((1, 1, 2, 3))):
                        message_id += 1
                        parts.append(
                            (
                                person_id,
                                _ts(written),
                                chat_id,
                                message_id,
                                words(rng, 80, 420),
                                _ts(written + timedelta(minutes=p)),
                            )
                        )
            conn.executemany(
                "INSERT INTO reflection (person_id, programme_id, module_key, phase, visibility, takeaway,"
                " shared_set_id, shared_at, created_at, updated_at) VALUES (?,?,'m2','between',?,?,?,?,?,?)",
                reflections,
            )
            conn.executemany(
                "INSERT INTO reflection_part (reflection_id, chat_id, message_id, text, created_at)"
                " SELECT id, ?, ?, ?, ? FROM reflection WHERE person_id = ? AND created_at = ?",
                [
                    (chat, mid, text, at, pid, written)
                    for pid, written, chat, mid, text, at in parts
                ],
            )
        counts = {
            "people": conn.execute("SELECT count(*) FROM person").fetchone()[0],
            "reflections": conn.execute("SELECT count(*) FROM reflection").fetchone()[0],
            "parts": conn.execute("SELECT count(*) FROM reflection_part").fetchone()[0],
            "shared": conn.execute(
                "SELECT count(*) FROM reflection WHERE visibility = 'shared'"
            ).fetchone()[0],
            "takeaway": conn.execute(
                "SELECT count(*) FROM reflection WHERE visibility = 'takeaway'"
            ).fetchone()[0],
            "bytes": 0,
        }
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    counts["bytes"] = path.stat().st_size
    return counts


async def add_cases(db: Any) -> int:
    """Adds a case from about a quarter of the members to their set's digest (after planning)."""
    rng = random.Random(SEED + 1)
    rows = await db.fetchall(
        "SELECT digest.id, digest.learning_set_id, membership.person_id FROM digest"
        " JOIN membership ON membership.learning_set_id = digest.learning_set_id ORDER BY digest.id, membership.person_id"
    )
    chosen = [
        (set_id, person_id, digest_id, words(rng, 150, 700), _ts(NOW))
        for digest_id, set_id, person_id in rows
        if rng.random() < CASE_SHARE
    ]
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO case_proposal (learning_set_id, person_id, digest_id, text, created_at) VALUES (?,?,?,?,?)",
            chosen,
        )
    return len(chosen)


async def run_once(path: Path) -> dict[str, Any]:
    """Plans and renders every digest on a prepared file; gives the figures of the run."""
    from bot.jobs.sets import compose_digest, expand_due_digests, plan_sets
    from bot.render import Renderer
    from bot.store import outbox
    from bot.store.db import open_database

    db = await open_database(path)
    try:
        render = Renderer()
        await db.fetchall("SELECT 1")
        with Stopwatch() as planning:
            planned = await plan_sets(db, NOW)
        case_rounds = int(
            await db.scalar("SELECT count(*) FROM outbox WHERE kind = 'case_round'") or 0
        )
        cases = await add_cases(db)
        moments = await db.fetchall(
            "SELECT digest.send_at, count(*) FROM outbox JOIN digest ON digest.id = json_extract(outbox.payload, '$.digest_id')"
            " WHERE outbox.kind = 'digest' AND outbox.chat_id = 0 GROUP BY digest.send_at ORDER BY digest.send_at"
        )
        # Per moment: (digests due, seconds to expand them, seconds for the whole moment with the copies).
        per_moment: list[tuple[int, float, float]] = []
        composing, characters, messages, split, empty, odd = [], 0, 0, 0, 0, []
        expanded_count = 0
        commits_before = db.commits
        with Stopwatch() as rendering:
            for send_at, due in moments:
                now = datetime.fromisoformat(send_at)  # each digest is composed when it falls due
                before = int(await db.scalar("SELECT coalesce(max(id), 0) FROM outbox") or 0)
                began = time.perf_counter()
                outcomes = await expand_due_digests(db, render, now)
                expanded_at = time.perf_counter()
                odd += [reason for reason in outcomes.elements() if reason != "expanded"]
                expanded_count += outcomes["expanded"]
                copies = await db.fetchall(
                    "SELECT id FROM outbox WHERE kind = 'digest' AND chat_id != 0 AND id > ? ORDER BY id", (before,)
                )
                for (copy_id,) in copies:
                    group_row = await outbox.get(db, int(copy_id))
                    assert group_row is not None
                    started = time.perf_counter()
                    composed = await compose_digest(db, render, group_row, now)
                    composing.append(time.perf_counter() - started)
                    texts, reason = composed.texts, composed.cancel_reason
                    if reason is not None:
                        odd.append(reason)
                        continue
                    characters += sum(len(t) for t in texts)
                    messages += len(texts)
                    split += len(texts) > 1
                    empty += "Nothing was shared" in texts[0]
                per_moment.append((int(due), expanded_at - began, time.perf_counter() - began))
        commits = db.commits - commits_before
        sealed = int(await db.scalar("SELECT count(*) FROM digest WHERE status = 'sealed'") or 0)
        carried = int(
            await db.scalar("SELECT count(*) FROM reflection WHERE digest_id IS NOT NULL") or 0
        )
    finally:
        await db.close()
    return {
        "plan_seconds": planning.seconds,
        "planned": planned,
        "case_rounds": case_rounds,
        "cases": cases,
        "render_seconds": rendering.seconds,
        "per_moment": per_moment,
        "composing": composing,
        "digests": expanded_count,
        "characters": characters,
        "messages": messages,
        "split": split,
        "empty": empty,
        "sealed": sealed,
        "commits": commits,
        "carried": carried,
        "odd": odd,
    }


# --------------------------------------------------------------------------- the child process


async def _child(path: Path, trace: bool) -> dict[str, Any]:
    # Imports first: what the process grows by afterwards is what the work costs.
    import bot.jobs.sets
    import bot.render  # noqa: F401

    before_kb = rss_now_kb()
    if trace:
        tracemalloc.start()
    result = await run_once(path)
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    if trace:
        tracemalloc.stop()
    return {
        **result,
        "rss_before_kb": before_kb,
        "hwm_kb": rss_peak_kb(),
        "tracemalloc_peak_bytes": peak,
    }


def child_main(argv: list[str]) -> int:
    """`python -m bench.digests --child DB [--trace]`: plans and renders once, prints JSON figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.digests")
    parser.add_argument("--child", type=Path, required=True)
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(run_loop(_child(args.child, args.trace))))
    return 0


def run_child(template: Path, folder: Path, name: str, trace: bool) -> dict[str, Any]:
    """Plans and renders on a fresh copy of the template in a fresh interpreter; gives its figures."""
    path = folder / f"{name}.db"
    shutil.copyfile(template, path)
    command = [sys.executable, "-m", "bench.digests", "--child", str(path)] + (
        ["--trace"] if trace else []
    )
    try:
        done = subprocess.run(
            command, cwd=REPO, capture_output=True, text=True, timeout=900, check=False
        )
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    if done.returncode != 0:
        raise RuntimeError(f"digests child failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- the benchmark


def _ms(values: list[float]) -> list[float]:
    return [v * 1000 for v in values]


def report(
    results: list[dict[str, Any]], traced: dict[str, Any] | None, counts: dict[str, int]
) -> None:
    """Prints the figures: medians of the plain runs' totals, per-digest times pooled over them."""
    last = results[-1]
    plan_s = [r["plan_seconds"] for r in results]
    render_s = [r["render_seconds"] for r in results]
    composing = _ms([s for r in results for s in r["composing"]])
    # A digest's share of its moment: the moment's time over the digests due in it.
    expanding = [1000 * expand / due for r in results for due, expand, _ in r["per_moment"]]
    whole = [1000 * total / due for r in results for due, _, total in r["per_moment"]]
    figure(
        f"(a) plan_sets, {SETS} sets",
        f"{median(plan_s):7.3f} s  (runs: {', '.join(f'{s:.2f}' for s in plan_s)}; "
        f"{last['planned']} digests + {last['case_rounds']:,} case rounds planned)",
    )
    figure(
        f"(b) expand + compose {last['digests']} digests, total",
        f"{median(render_s):7.3f} s  (runs: {', '.join(f'{s:.2f}' for s in render_s)})",
        aim(median(render_s) < 1.0, "< 1 s"),
    )
    figure(
        "(b) commits per digest",
        f"{last['commits'] / max(1, last['digests']):.2f}  (Database.commits; {len(last['per_moment'])} moments, "
        f"batches of up to {DIGEST_BATCH})",
    )
    figure(
        "(b) per digest, whole chain: mean/p50/max",
        f"{statistics.fmean(whole):6.2f} / {percentile(whole, 50):6.2f} / {max(whole):6.2f} ms"
        "  (a moment's time over its digests: expand_due_digests + get + compose_digest of each copy)",
    )
    figure(
        "(b) per digest, expand_due_digests",
        f"{statistics.fmean(expanding):6.2f} / {percentile(expanding, 50):6.2f} / {max(expanding):6.2f} ms"
        "  (mean / p50 / max over the moments: claim, choose and render, seal, one commit a batch)",
    )
    figure(
        "(b) per digest, compose_digest of the group's row",
        f"{statistics.fmean(composing):6.2f} / {percentile(composing, 50):6.2f} / "
        f"{percentile(composing, 99):6.2f} ms  (mean / p50 / p99; the share of (b): "
        f"{sum(composing) / 1000 / sum(render_s):.0%})",
    )
    first, final = [r["per_moment"][0] for r in results], [r["per_moment"][-1] for r in results]
    figure(
        "(b) first vs last moment, per digest",
        f"{statistics.fmean(1000 * t / d for d, _, t in first):6.2f} vs "
        f"{statistics.fmean(1000 * t / d for d, _, t in final):6.2f} ms",
        "(equal: no slow-down as digests get sealed)",
    )
    figure(
        "characters rendered",
        f"{last['characters']:,}  ({last['characters'] / max(1, last['digests']):,.0f} a digest; "
        f"{last['carried']:,} entries carried of {counts['shared'] + counts['takeaway']:,} shared)",
    )
    figure(
        "digests split into several messages",
        f"{last['split']} of {last['digests']}  ({last['messages']:,} messages in all, at most "
        f"{TELEGRAM_LIMIT:,} characters each; {last['empty']} 'nothing shared'; {last['cases']:,} cases)",
    )
    odd = [o for r in [*results, *([traced] if traced else [])] for o in r["odd"]]
    if odd:
        figure("digests not rendered", f"{len(odd)}: {sorted(set(map(str, odd)))}")
    hwm_mb = last["hwm_kb"] / 1024
    figure(
        "peak RSS, process doing (a) + (b)",
        f"{hwm_mb:.1f} MB VmHWM  (RSS after imports {last['rss_before_kb'] / 1024:.1f} MB)",
    )
    if traced is None:
        figure(
            "tracemalloc peak during (a) + (b)",
            f"not measured (the plain runs took over {RUN_BUDGET:.0f} s; VmHWM above is the peak)",
        )
        return
    figure(
        "tracemalloc peak during (a) + (b)",
        f"{traced['tracemalloc_peak_bytes'] / 1e6:.1f} MB  (Python allocations only; under tracing "
        f"(a) took {traced['plan_seconds']:.2f} s, (b) {traced['render_seconds']:.2f} s)",
    )


def main() -> None:
    """Prints the digest figures."""
    with scratch("digests") as folder:
        template = folder / "template.db"
        with Stopwatch() as seeding:
            counts = run_loop(prepare(template))
        header(
            "digests",
            "seconds for plan_sets, then expanding (sealing) every set's digest as the dispatcher does, and composing its copy",
            sets=f"{SETS} in one programme, one meeting each (in the next 2 weeks), a linked group each",
            members=f"{MEMBERS_PER_SET} per set = {counts['people']:,} active participants",
            reflections=(
                f"{counts['reflections']:,} ({REFLECTIONS_PER_MEMBER} per member, {counts['parts']:,} messages);"
                f" {counts['shared']:,} shared, {counts['takeaway']:,} takeaway, rest private"
            ),
            cases=f"from about {CASE_SHARE:.0%} of members",
            database=f"{counts['bytes'] / 1e6:.0f} MB, seeded in {seeding.seconds:.1f} s; a fresh copy per run",
            runs=(
                f"up to {MAX_RUNS} plain, none started after {RUN_BUDGET:.0f} s (median of totals, "
                "per-digest times pooled), then 1 under tracemalloc if still within that time; "
                "each in a process of its own"
            ),
        )
        results: list[dict[str, Any]] = []
        with Stopwatch() as spent:
            while len(results) < MAX_RUNS and time.perf_counter() - spent.start < RUN_BUDGET:
                results.append(run_child(template, folder, f"run{len(results)}", trace=False))
        print(
            f"   plain runs             {len(results)} (in {time.perf_counter() - spent.start:.0f} s)"
        )
        # The tracemalloc run only while it is cheap: the VmHWM of the plain run is the peak anyway.
        traced = None
        if time.perf_counter() - spent.start < RUN_BUDGET:
            traced = run_child(template, folder, "traced", trace=True)
        report(results, traced, counts)


if __name__ == "__main__":
    if "--child" in sys.argv:
        sys.exit(child_main(sys.argv[1:]))
    main()
