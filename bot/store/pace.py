"""Telegram's limits for several processes together (PostgreSQL): a log of sends that every process
reads and writes, taking turns, before it sends (bot.jobs.pacing.SharedPacer).

A send may start when no other send started to the same chat within its spacing (1 s, a group 3.1 s),
when fewer than `limit` sends are in flight or ended within the last second (the rule
bot.jobs.pacing.Pacer keeps in one process: a request reaches Telegram between its start and its end,
so no second at Telegram holds more), and when no process was told to wait by a 429. Times are the
database server's clock, the one clock all processes share.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from bot.store.db import Database

_TURN_SQL = "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ':pace', 0))"
_NOW_SQL = "SELECT extract(epoch FROM clock_timestamp())::float8"
IN_FLIGHT_AT_MOST = 60.0  # seconds: a send not ended by then belongs to a process that died
KEEP = 60.0  # seconds a send stays in the log
MARGIN = 0.005  # as the one-process pacer: rounding room for the one-second window


@dataclass(frozen=True)
class Booking:
    """A send's place in the log (`send_id`), or how long to wait before asking again (`wait`)."""

    send_id: int | None
    wait: float


def _book(chat_id: int, spacing: float, limit: int, conn: sqlite3.Connection) -> Booking:
    conn.execute(_TURN_SQL)
    now = float(conn.execute(_NOW_SQL).fetchone()[0])
    paused = conn.execute("SELECT until FROM send_pause WHERE id = 1").fetchone()
    if paused is not None and paused[0] > now:
        return Booking(None, float(paused[0]) - now)
    if spacing > 0:
        last = conn.execute("SELECT max(started_at) FROM send_log WHERE chat_id = ?", (chat_id,)).fetchone()[0]
        if last is not None and now - float(last) < spacing:
            return Booking(None, float(last) + spacing - now)
    busy = conn.execute(
        "SELECT count(*), min(ended_at) FROM send_log"
        " WHERE (ended_at IS NULL AND started_at > ?) OR ended_at > ?",
        (now - IN_FLIGHT_AT_MOST, now - 1.0 - MARGIN),
    ).fetchone()
    if int(busy[0]) >= limit:
        oldest_end = busy[1]
        return Booking(None, max(float(oldest_end) + 1.0 + MARGIN - now, 0.005) if oldest_end is not None else 0.005)
    send_id = conn.execute(
        "INSERT INTO send_log (chat_id, started_at) VALUES (?, ?)", (chat_id, now)
    ).lastrowid
    return Booking(int(send_id or 0), 0.0)


async def book(db: Database, chat_id: int, spacing: float, limit: int) -> Booking:
    """Books a send to a chat now if the limits allow it, else gives how long to wait."""
    return await db.write(lambda conn: _book(chat_id, spacing, limit, conn))


def _end(send_id: int, conn: sqlite3.Connection) -> None:
    now = float(conn.execute(_NOW_SQL).fetchone()[0])
    conn.execute("UPDATE send_log SET ended_at = ? WHERE id = ?", (now, send_id))


async def end(db: Database, send_id: int) -> None:
    """Records that a booked send has ended (reached Telegram or failed)."""
    await db.write(lambda conn: _end(send_id, conn))


def _pause(seconds: float, conn: sqlite3.Connection) -> None:
    now = float(conn.execute(_NOW_SQL).fetchone()[0])
    conn.execute(
        "INSERT INTO send_pause (id, until) VALUES (1, ?) ON CONFLICT (id) DO UPDATE"
        " SET until = GREATEST(send_pause.until, excluded.until)",
        (now + seconds,),
    )


async def pause(db: Database, seconds: float) -> None:
    """Holds every process's sends for a while (Telegram answered 429 with retry_after)."""
    await db.write(lambda conn: _pause(seconds, conn))


@dataclass(frozen=True)
class PaceState:
    """What the claims need to know: seconds all sends are held for, and the chats still in their spacing."""

    paused_for: float
    waiting_chats: frozenset[int]


def _state(per_chat: float, per_group: float, conn: sqlite3.Connection) -> PaceState:
    now = float(conn.execute(_NOW_SQL).fetchone()[0])
    paused = conn.execute("SELECT until FROM send_pause WHERE id = 1").fetchone()
    rows = conn.execute(
        "SELECT DISTINCT chat_id FROM send_log WHERE started_at > ? AND (chat_id < 0 OR started_at > ?)",
        (now - per_group, now - per_chat),
    ).fetchall()
    conn.execute("DELETE FROM send_log WHERE started_at < ?", (now - KEEP,))
    return PaceState(max(float(paused[0]) - now, 0.0) if paused is not None else 0.0, frozenset(int(r[0]) for r in rows))


async def state(db: Database, per_chat: float, per_group: float) -> PaceState:
    """Gives the pace's state for all processes, and forgets sends older than a minute."""
    return await db.write(lambda conn: _state(per_chat, per_group, conn))
