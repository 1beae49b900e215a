"""What every benchmark shares: the conditions header, a programme file, bulk seeding, figures.

Seeding writes rows with plain SQL (executemany) because the point is to measure the product
with many participants, not to measure onboarding them one by one.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Self

import aiosqlite

REPO = Path(__file__).resolve().parent.parent
# Temp files go here (default: the system temp folder); the folder is removed afterwards.
TMP_ENV = "PITSTOP_BENCH_TMP"
# Time zones of seeded participants: most in the programme's zone, a few elsewhere.
ZONES = ("Europe/Amsterdam",) * 8 + ("Europe/London", "America/New_York")
FIRST_TELEGRAM_ID = 10_000_000


def python_version() -> str:
    """Gives e.g. "3.11.7 (CPython)"."""
    return f"{platform.python_version()} ({platform.python_implementation()})"


def cpu_count() -> str:
    """Gives the CPUs the machine has and the ones this process may use."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{os.cpu_count()} (usable {usable})"


def memory_total() -> str:
    """Gives the machine's memory, e.g. "23.5 GB"."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
    except OSError:
        pass
    return "?"


def load_average() -> str:
    """Gives the 1-minute load average now: other work on the machine skews every figure."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def filesystem(path: Path) -> str:
    """Gives the filesystem type of a folder (fsync costs differ a lot between ext4 and tmpfs)."""
    try:
        out = subprocess.run(
            ["df", "--output=fstype", str(path)],
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        ).stdout.split()
        return out[-1] if out else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def header(title: str, what: str, **conditions: object) -> None:
    """Prints a benchmark's name, what it measures and the conditions it ran under."""
    import telegram

    print()
    print(f"== {title} ==")
    print(f"   {what}")
    tmp = Path(os.environ.get(TMP_ENV) or tempfile.gettempdir())
    base = {
        "python": python_version(),
        "cpus": cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "python-telegram-bot": telegram.__version__,
        "temp dir": f"{tmp} ({filesystem(tmp)})",
        "load average (1 min)": load_average(),
    }
    for name, value in {**conditions, **base}.items():
        print(f"   {name:<22} {value}")
    sys.stdout.flush()


def figure(name: str, value: str, note: str = "") -> None:
    """Prints one result line."""
    print(f"   -> {name:<44} {value}{'   ' + note if note else ''}", flush=True)


def aim(ok: bool, text: str) -> str:
    """Gives the aim with whether it was met (a figure, never an assertion)."""
    return f"[aim {text}: {'met' if ok else 'NOT met'}]"


@contextlib.contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """Gives a fresh temp folder, removed afterwards whatever happens."""
    parent = os.environ.get(TMP_ENV) or None
    folder = Path(tempfile.mkdtemp(prefix=f"pitstop-bench-{prefix}-", dir=parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def percentile(values: Sequence[float], p: float) -> float:
    """Gives the p-th percentile (nearest rank) of the values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    """Gives the median."""
    return statistics.median(values)


def _status_kb(field: str) -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_now_kb() -> int:
    """Gives this process's resident memory now (VmRSS), in kB; 0 where /proc is missing."""
    return _status_kb("VmRSS")


def rss_peak_kb() -> int:
    """Gives this process's peak resident memory (VmHWM), in kB.

    Unlike ru_maxrss, it starts afresh at exec: Linux keeps ru_maxrss across execve, so a child
    spawned by a big parent (subprocess uses vfork) reports at least the parent's peak.
    """
    return _status_kb("VmHWM")


class Stopwatch:
    """Times a block with perf_counter: `with Stopwatch() as w: ...; w.seconds`."""

    def __enter__(self) -> Self:
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


# --------------------------------------------------------------------------- the programme


def programme_toml(start: date, key: str = "bench-programme", sets: int = 4) -> str:
    """Gives a small valid programme file: three modules of ten weeks from `start`, with sets."""
    lines = [
        "[programme]",
        f'key = "{key}"',
        'title = "Benchmark programme"',
        'language = "en"',
        'timezone = "Europe/Amsterdam"',
        "",
    ]
    capacities = ('"cognitive", "relational"', '"intervention"', '"cross-boundary", "relational"')
    for number in range(3):
        first = start + timedelta(weeks=10 * number)
        last = first + timedelta(weeks=10, days=-1)
        residential = first + timedelta(weeks=3)
        lines += [
            "[[modules]]",
            f'key = "m{number + 1}"',
            f'title = "Module {number + 1}"',
            'theme = "Leading in and close to work"',
            f"capacities = [{capacities[number]}]",
            f"starts = {first.isoformat()}",
            f"ends = {last.isoformat()}",
            "",
            "[[modules.events]]",
            'kind = "pre-work"',
            f"starts = {first.isoformat()}",
            f"ends = {(first + timedelta(days=13)).isoformat()}",
            "",
            "[[modules.events]]",
            'kind = "residential"',
            f"starts = {residential.isoformat()}",
            f"ends = {(residential + timedelta(days=4)).isoformat()}",
            'place = "The Hague"',
            "",
        ]
    for number in range(sets):
        lines += [
            "[[sets]]",
            f'key = "set-{number + 1}"',
            f'name = "Learning set {number + 1}"',
            "",
        ]
        for week in (2, 6, 12, 16, 22, 26):
            meeting = start + timedelta(weeks=week, days=number % 5)
            lines += [
                "[[sets.meetings]]",
                f"at = {meeting.isoformat()}T14:00:00",
                'place = "Utrecht"',
                "",
            ]
    return "\n".join(lines)


async def load_programme(db: Any, source: str, now: datetime) -> tuple[int, list[int]]:
    """Stores the programme through the product's store; gives its id and its sets' ids."""
    from bot.domain.programme import parse_programme
    from bot.store import programmes

    result = await programmes.save_programme(db, parse_programme(source), source, now)
    rows = await db.fetchall(
        "SELECT id FROM learning_set WHERE programme_id = ? ORDER BY id", (result.programme_id,)
    )
    return result.programme_id, [r[0] for r in rows]


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def person_rows(
    count: int,
    now: datetime,
    first_id: int = FIRST_TELEGRAM_ID,
    nudge_days: str = "0,1,2,3,4",
    hours: Sequence[int] = (7, 8, 9, 10),
) -> list[tuple[Any, ...]]:
    """Gives `count` active participants' person rows (telegram id = chat id, ascending)."""
    stamp = _utc(now)
    return [
        (
            first_id + i,
            first_id + i,
            f"Participant {i}",
            "nl" if i % 3 == 0 else "en",
            ZONES[i % len(ZONES)],
            hours[i % len(hours)],
            (i * 15) % 60,
            nudge_days,
            "active",
            stamp,
            stamp,
        )
        for i in range(count)
    ]


PERSON_INSERT = (
    "INSERT INTO person (telegram_id, chat_id, name, language, timezone, nudge_hour, nudge_minute,"
    " nudge_days, status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)
MEMBERSHIP_INSERT = (
    "INSERT INTO membership (person_id, programme_id, learning_set_id, role, joined_at)"
    " SELECT id, ?, ?, 'participant', ? FROM person WHERE telegram_id = ?"
)


async def seed_participants(
    conn: aiosqlite.Connection,
    programme_id: int,
    set_ids: Sequence[int],
    count: int,
    now: datetime,
    first_id: int = FIRST_TELEGRAM_ID,
    nudge_days: str = "0,1,2,3,4",
) -> None:
    """Inserts active participants with memberships, spread over the sets (caller's transaction)."""
    await conn.executemany(PERSON_INSERT, person_rows(count, now, first_id, nudge_days))
    stamp = _utc(now)
    await conn.executemany(
        MEMBERSHIP_INSERT,
        [
            (programme_id, set_ids[i % len(set_ids)] if set_ids else None, stamp, first_id + i)
            for i in range(count)
        ],
    )


def seed_participants_sync(
    conn: sqlite3.Connection,
    programme_id: int,
    set_ids: Sequence[int],
    count: int,
    now: datetime,
    first_id: int = FIRST_TELEGRAM_ID,
    hours: Sequence[int] = (7, 8, 9, 10),
) -> None:
    """The same with the standard sqlite3 module (for large, synchronous seeding)."""
    conn.executemany(PERSON_INSERT, person_rows(count, now, first_id, hours=hours))
    stamp = _utc(now)
    conn.executemany(
        MEMBERSHIP_INSERT,
        [
            (programme_id, set_ids[i % len(set_ids)] if set_ids else None, stamp, first_id + i)
            for i in range(count)
        ],
    )
