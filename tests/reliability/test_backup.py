"""`pitstop backup PATH` on a live database: the copy is consistent and holds everything committed before the
backup began, even while reflections keep being written by another connection; an operator's mistake (a
path that exists, a folder that does not, a database that is not there) gets one sentence, not a traceback."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from bot.store.db import MIGRATIONS_DIR, open_database

MAIN = Path(__file__).resolve().parents[2]


def pitstop(db_path: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Runs `python -m bot …` with PITSTOP_DB, in the database's folder so that no stray .env is read."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PITSTOP_", "TELEGRAM_"))}
    env.update(PITSTOP_DB=str(db_path), PYTHONPATH=str(MAIN))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=db_path.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class ReflectionWriter(threading.Thread):
    """Writes reflections (each with its message part, in one transaction) as fast as SQLite lets it,
    through a connection of its own, and remembers which ids were committed."""

    def __init__(self, db_path: Path, person_id: int) -> None:
        super().__init__(daemon=True)
        self.db_path = db_path
        self.person_id = person_id
        self.committed: list[int] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        conn = sqlite3.connect(self.db_path, isolation_level=None, timeout=10)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")
            n = 0
            while not self.stop.is_set():
                n += 1
                stamp = f"2027-03-24T09:{n // 600 % 60:02d}:{n // 10 % 60:02d}.{n:06d}+00:00"
                conn.execute("BEGIN IMMEDIATE")
                cur = conn.execute(
                    "INSERT INTO reflection (person_id, module_key, created_at, updated_at) VALUES (?, 'm1', ?, ?)",
                    (self.person_id, stamp, stamp),
                )
                reflection_id = int(cur.lastrowid or 0)
                conn.execute(
                    "INSERT INTO reflection_part (reflection_id, chat_id, message_id, text, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (reflection_id, 4242, n, f"what I tried today, number {n}", stamp),
                )
                conn.execute("COMMIT")
                self.committed.append(reflection_id)
                time.sleep(0.0005)
        except BaseException as exc:  # noqa: BLE001 -- reported by the test
            self.error = exc
        finally:
            conn.close()


async def live_database(path: Path) -> int:
    """Creates a migrated database with one participant and some history; gives the person id."""
    db = await open_database(path)
    try:
        async with db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO person (telegram_id, chat_id, name, status, created_at, updated_at)"
                " VALUES (4242, 4242, 'Anna', 'active', '2027-03-24T09:00:00+00:00', '2027-03-24T09:00:00+00:00')"
            )
            return int(cur.lastrowid or 0)
    finally:
        await db.close()


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-2000:]


async def test_a_backup_taken_during_writes_is_consistent_and_holds_every_earlier_entry(
    tmp_path: Path,
) -> None:
    live = tmp_path / "pitstop.db"
    person_id = await live_database(live)
    writer = ReflectionWriter(live, person_id)
    writer.start()
    try:
        deadline = time.monotonic() + 10
        while len(writer.committed) < 300 and writer.error is None:
            assert time.monotonic() < deadline, "the writer did not get going"
            await asyncio.sleep(0.01)
        before = list(writer.committed)  # committed before the backup began
        copy = tmp_path / "backups" / "pitstop-copy.db"
        copy.parent.mkdir()
        result = await asyncio.to_thread(pitstop, live, "backup", str(copy))
        written_meanwhile = len(writer.committed) - len(before)
    finally:
        writer.stop.set()
        writer.join(timeout=10)
    assert writer.error is None, writer.error
    assert result.returncode == 0, result.stderr
    assert "integrity: ok" in result.stdout
    no_traceback(result)
    assert written_meanwhile > 0, "nothing was written while the backup ran"

    conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        in_copy = {r[0] for r in conn.execute("SELECT id FROM reflection")}
        parts = {r[0] for r in conn.execute("SELECT reflection_id FROM reflection_part")}
        migrations = [
            r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name")
        ]
    finally:
        conn.close()
    missing = set(before) - in_copy
    assert not missing, f"{len(missing)} reflections committed before the backup are not in it"
    assert in_copy == parts  # every transaction is in the copy whole, or not at all
    assert in_copy <= set(writer.committed)
    assert migrations == sorted(p.stem for p in MIGRATIONS_DIR.glob("*.sql"))
    print(
        f"\nbackup under load: {len(before)} reflections committed before it began, {len(in_copy)} in the copy,"
        f" {written_meanwhile} written while it ran"
    )


async def test_a_backup_onto_an_existing_file_is_refused_with_a_sentence(tmp_path: Path) -> None:
    live = tmp_path / "pitstop.db"
    await live_database(live)
    existing = tmp_path / "yesterday.db"
    existing.write_bytes(b"yesterday's backup")
    result = pitstop(live, "backup", str(existing))
    assert result.returncode in (1, 2)
    assert result.stderr.strip().endswith("exists already; choose a new file for the backup.")
    assert str(existing) in result.stderr
    no_traceback(result)
    assert existing.read_bytes() == b"yesterday's backup"
    # Backing up onto the live database itself is the same mistake, refused the same way.
    result = pitstop(live, "backup", str(live))
    assert result.returncode in (1, 2) and "exists already" in result.stderr
    no_traceback(result)


async def test_a_backup_into_a_missing_folder_is_refused_with_a_sentence(tmp_path: Path) -> None:
    live = tmp_path / "pitstop.db"
    await live_database(live)
    result = pitstop(live, "backup", str(tmp_path / "no-such-folder" / "copy.db"))
    assert result.returncode in (1, 2)
    no_traceback(result)
    assert result.stderr.strip().startswith("pitstop: ")


async def test_backing_up_a_database_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    typo = tmp_path / "pitsotp.db"
    result = pitstop(typo, "backup", str(tmp_path / "copy.db"))
    assert not typo.exists(), "the backup command created the database it was asked to copy"
    assert result.returncode in (1, 2)
    no_traceback(result)
