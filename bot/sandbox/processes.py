"""Pitstop as several webhook processes on one PostgreSQL database, for the tests and the benchmarks.

`start_webhook_bot` starts one `python -m bot run` in webhook mode against a (fake) Bot API,
`stop_bots` stops them without blocking the fake's event loop (bot.store.schemas gives each run an empty
schema of its own). tests/reliability/test_several_processes.py and bench/postgres.py use them; neither
the bot nor the demo does.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """Gives a port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
