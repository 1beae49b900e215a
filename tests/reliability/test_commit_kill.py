"""A hard kill (SIGKILL) of a process while it queues write units for the group commit: every unit whose
caller was answered is in the database afterwards. The process prints "queued" before each write and
"acked" once its caller is answered; it is killed with many units queued and not yet answered."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

MAIN = Path(__file__).resolve().parents[2]
WRITERS = 20
KILL_AFTER = 400  # acknowledged units before the kill

CHILD = """
import asyncio, sqlite3, sys
from bot.store.db import open_database

async def main(path):
    db = await open_database(path)
    await db.write(lambda conn: conn.execute("CREATE TABLE note (text TEXT PRIMARY KEY)").close())
    print("ready", flush=True)

    async def writer(w):
        for i in range(1_000_000):
            text = f"{w}:{i}"
            print("queued", text, flush=True)
            await db.write(lambda conn, text=text: conn.execute("INSERT INTO note VALUES (?)", (text,)).close())
            print("acked", text, flush=True)

    await asyncio.gather(*(writer(w) for w in range(int(sys.argv[2]))))

asyncio.run(main(sys.argv[1]))
"""


def test_a_hard_kill_loses_no_acknowledged_write(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    env = {**os.environ, "PYTHONPATH": str(MAIN), "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(WRITERS)], stdout=subprocess.PIPE, env=env, cwd=tmp_path
    )
    assert child.stdout is not None
    queued: set[str] = set()
    acked: set[str] = set()
    deadline = time.monotonic() + 60
    try:
        for line in child.stdout:
            word, _, text = line.decode().strip().partition(" ")
            if word == "queued":
                queued.add(text)
            elif word == "acked":
                acked.add(text)
            if len(acked) >= KILL_AFTER or time.monotonic() > deadline:
                child.send_signal(signal.SIGKILL)
                break
        rest = child.stdout.read().decode().split("\n")[:-1]  # the whole lines it printed before it died
    finally:
        child.kill()
        child.wait()
    for line in rest:
        word, _, text = line.strip().partition(" ")
        if word == "queued":
            queued.add(text)
        elif word == "acked":
            acked.add(text)
    assert len(acked) >= KILL_AFTER, "the child did not get going"
    assert queued - acked, "the kill should land while units wait for their commit"

    stored = {row[0] for row in sqlite3.connect(path).execute("SELECT text FROM note")}
    assert acked <= stored, f"acknowledged but lost: {sorted(acked - stored)[:5]}"
    assert stored <= queued  # and nothing appeared that was never asked for
