"""Pitstop as several webhook processes on one PostgreSQL database, for the tests and the benchmarks.

`fresh_schema` gives an empty schema of its own on a server (dropped after), `start_webhook_bot` one
`python -m bot run` in webhook mode against a (fake) Bot API, `stop_bots` stops them without blocking
the fake's event loop. tests/reliability/test_several_processes.py and bench/postgres.py use them;
neither the bot nor the demo does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[2]
DROP_WAIT = "20s"  # how long dropping a schema waits for a connection still inside a transaction


def free_port() -> int:
    """Gives a port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def in_schema(dsn: str, schema: str) -> str:
    """Gives a DSN whose connections work in `schema` (libpq's options, so every process sees the same)."""
    joiner = "&" if "?" in dsn else "?"
    return f"{dsn}{joiner}options={quote(f'-csearch_path={schema}')}"


@contextlib.contextmanager
def fresh_schema(base: str, prefix: str) -> Iterator[str]:
    """Gives the DSN of a new, empty schema on the server `base`, dropped with all in it afterwards."""
    import psycopg

    schema = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield in_schema(base, schema)
    finally:
        drop_schema(base, schema)


def drop_schema(base: str, schema: str) -> None:
    """Drops a schema. A connection left inside a transaction (which would hold the drop for ever) is
    ended, and then AssertionError names what it did last: a leak to find, not to wait for."""
    import psycopg

    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"SET lock_timeout = '{DROP_WAIT}'")
        try:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        except psycopg.errors.LockNotAvailable:
            stuck = admin.execute(
                "SELECT pid, state, left(query, 200) FROM pg_stat_activity"
                " WHERE state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
            ).fetchall()
            for pid, _, _ in stuck:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            admin.execute("SET lock_timeout = 0")
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            raise AssertionError(f"a connection was left inside a transaction: {stuck}") from None


@dataclass
class BotProcess:
    """One `python -m bot run` in webhook mode, the port it listens on and its log."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def cpu_seconds(self) -> float:
        """Gives the user + system CPU the process has used so far (/proc/<pid>/stat)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_webhook_bot(
    target: str, base_url: str, folder: Path, token: str, secret: str, settings: Mapping[str, str] = {},  # noqa: B006
) -> BotProcess:
    """Starts `python -m bot run` in webhook mode on a free port, in a folder of its own (no stray .env),
    with PITSTOP_DB=`target` and any further `settings`, logging to bot.log there."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PITSTOP_", "TELEGRAM_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_BASE_URL=base_url,
        PITSTOP_DB=target,
        PITSTOP_WEBHOOK_URL="https://pitstop.example/hook",
        PITSTOP_WEBHOOK_SECRET=secret,
        PITSTOP_WEBHOOK_PORT=str(port),
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
    )
    env.update(settings)
    log = folder / "bot.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return BotProcess(proc, port, log)


async def stop_bots(bots: list[BotProcess], patience: float = 20.0) -> list[int | None]:
    """Stops the bots that still run (SIGTERM, SIGKILL after `patience` seconds) without blocking the
    event loop; gives their exit codes."""
    for bot in bots:
        if bot.proc.poll() is None:
            bot.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + patience
    while any(b.proc.poll() is None for b in bots) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for bot in bots:
        if bot.proc.poll() is None:
            bot.proc.kill()
            bot.proc.wait()
    return [b.proc.returncode for b in bots]
