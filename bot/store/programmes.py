"""Programmes, their modules, events and learning sets."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from bot.domain.programme import Programme, parse_programme
from bot.store.codec import encode
from bot.store.db import Database


@dataclass(frozen=True)
class StoredProgramme:
    """A loaded programme: its row id, the parsed calendar, and when it was loaded."""

    id: int
    programme: Programme
    loaded_at: str


@dataclass(frozen=True)
class StoredSet:
    """A learning set's row."""

    id: int
    programme_id: int
    key: str
    name: str
    group_chat_id: int | None
    digest_days_before: int
    empty_digest: str
    active: bool


@dataclass(frozen=True)
class LoadResult:
    """What `programme load` did."""

    programme_id: int
    created: bool
    sets_added: int
    sets_retired: int


# Parsed calendars by the text they came from: a file's text always parses to the same programme.
_parsed: dict[str, Programme] = {}
# Loaded programmes by database file, row id and load time: a reload changes loaded_at.
_by_version: dict[tuple[str, int, str], "StoredProgramme"] = {}


async def save_programme(db: Database, programme: Programme, source: str, now: datetime) -> LoadResult:
    """Stores a programme, or updates it in place when its key exists, all in one transaction.

    Learning sets keep their ids (members stay members); sets no longer in the file are retired.
    """
    async with db.transaction() as conn:
        row = next(iter(await conn.execute_fetchall("SELECT id FROM programme WHERE key = ?", (programme.key,))), None)
        created = row is None
        if created:
            cur = await conn.execute(
                "INSERT INTO programme (key, title, language, timezone, source, loaded_at) VALUES (?,?,?,?,?,?)",
                (programme.key, programme.title, programme.language, programme.timezone, source, encode(now)),
            )
            programme_id = int(cur.lastrowid or 0)
        else:
            assert row is not None
            programme_id = int(row[0])
            await conn.execute(
                "UPDATE programme SET title=?, language=?, timezone=?, source=?, loaded_at=? WHERE id=?",
                (programme.title, programme.language, programme.timezone, source, encode(now), programme_id),
            )
        await conn.execute("DELETE FROM module WHERE programme_id = ?", (programme_id,))
        await conn.execute("DELETE FROM event WHERE programme_id = ?", (programme_id,))
        for position, module in enumerate(programme.modules):
            await conn.execute(
                "INSERT INTO module (programme_id, key, position, title, theme, capacities, starts_on, ends_on)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (
                    programme_id,
                    module.key,
                    position,
                    module.title,
                    module.theme,
                    ",".join(module.capacities),
                    module.starts.isoformat(),
                    module.ends.isoformat(),
                ),
            )
            for event in module.events:
                await conn.execute(
                    "INSERT INTO event (programme_id, module_key, kind, title, place, starts_at, ends_at)"
                    " VALUES (?,?,?,?,?,?,?)",
                    (programme_id, module.key, event.kind, event.title, event.place, encode(event.starts), encode(event.ends)),
                )
        existing = {r[0] for r in await conn.execute_fetchall("SELECT key FROM learning_set WHERE programme_id = ?", (programme_id,))}
        wanted = {s.key for s in programme.sets}
        for s in programme.sets:
            await conn.execute(
                "INSERT INTO learning_set (programme_id, key, name, digest_days_before, empty_digest, active)"
                " VALUES (?,?,?,?,?,1)"
                " ON CONFLICT (programme_id, key) DO UPDATE SET name=excluded.name,"
                " digest_days_before=excluded.digest_days_before, empty_digest=excluded.empty_digest, active=1",
                (programme_id, s.key, s.name, s.digest_days_before, s.empty_digest),
            )
            found = await conn.execute_fetchall(
                "SELECT id FROM learning_set WHERE programme_id = ? AND key = ?", (programme_id, s.key)
            )
            set_id = list(found)[0][0]  # upserted just above
            for meeting in s.meetings:
                await conn.execute(
                    "INSERT INTO event (programme_id, learning_set_id, kind, title, place, starts_at, ends_at)"
                    " VALUES (?,?,?,?,?,?,?)",
                    (programme_id, set_id, meeting.kind, meeting.title, meeting.place, encode(meeting.starts), encode(meeting.ends)),
                )
        retired = existing - wanted
        for key in retired:
            await conn.execute(
                "UPDATE learning_set SET active = 0 WHERE programme_id = ? AND key = ?", (programme_id, key)
            )
    return LoadResult(programme_id, created, len(wanted - existing), len(retired))


async def get_programme(db: Database, key: str) -> StoredProgramme | None:
    """Gives a loaded programme by its key."""
    row = await db.fetchone("SELECT id, source, loaded_at FROM programme WHERE key = ?", (key,))
    return None if row is None else _stored(row)


async def get_programme_by_id(db: Database, programme_id: int) -> StoredProgramme | None:
    """Gives a loaded programme by its row id (its source is read and parsed once per version)."""
    row = await db.fetchone(_VERSION_SQL, (programme_id,))
    if row is None:
        return None
    return await get_programme_version(db, programme_id, row[0])


_VERSION_SQL = "SELECT loaded_at FROM programme WHERE id = ?"


def read_programme_version(conn: sqlite3.Connection, programme_id: int) -> str | None:
    """Gives a programme's load time (the version `get_programme_version` takes), on the database thread."""
    row = conn.execute(_VERSION_SQL, (programme_id,)).fetchone()
    return None if row is None else row[0]  # as stored, the same value get_programme_by_id passes on


async def get_programme_version(db: Database, programme_id: int, loaded_at: str) -> StoredProgramme | None:
    """Gives a programme whose load time the caller already read (no query when it is cached)."""
    cached = _by_version.get((db.path, programme_id, loaded_at))
    if cached is not None:
        return cached
    row = await db.fetchone("SELECT id, source, loaded_at FROM programme WHERE id = ?", (programme_id,))
    if row is None:
        return None
    stored = _stored(row)
    if len(_by_version) > 256:
        _by_version.clear()
    _by_version[(db.path, programme_id, stored.loaded_at)] = stored
    return stored


async def list_programmes(db: Database) -> list[StoredProgramme]:
    """Gives every loaded programme."""
    rows = await db.fetchall("SELECT id, source, loaded_at FROM programme ORDER BY key")
    return [_stored(r) for r in rows]


def _stored(row: object) -> StoredProgramme:
    # The stored source was valid when loaded; parse each text once and keep it.
    programme_id, source, loaded_at = row[0], row[1], row[2]  # type: ignore[index]
    cache_key = hashlib.sha256(source.encode("utf-8")).hexdigest()
    programme = _parsed.get(cache_key)
    if programme is None:
        if len(_parsed) > 64:
            _parsed.clear()
        programme = parse_programme(source, stored=True)
        _parsed[cache_key] = programme
    return StoredProgramme(programme_id, programme, loaded_at)


@dataclass(frozen=True)
class Place:
    """Where a participant belongs: their programme (as loaded now) and their learning set's key."""

    stored: StoredProgramme
    set_key: str | None


async def place_of(db: Database, person_id: int) -> Place | None:
    """Gives the programme (the latest joined) and set a person takes part in, or None without one."""
    # One query for the programme, its version and the set: this runs for every journal message.
    row = await db.fetchone(
        "SELECT membership.programme_id, programme.loaded_at, learning_set.key FROM membership"
        " JOIN programme ON programme.id = membership.programme_id"
        " LEFT JOIN learning_set ON learning_set.id = membership.learning_set_id"
        " WHERE membership.person_id = ? AND membership.role = 'participant' ORDER BY membership.id DESC LIMIT 1",
        (person_id,),
    )
    if row is None:
        return None
    stored = await get_programme_version(db, row[0], row[1])
    return None if stored is None else Place(stored, row[2])


async def get_set(db: Database, programme_id: int, key: str) -> StoredSet | None:
    """Gives a learning set of a programme by its key."""
    row = await db.fetchone(
        "SELECT * FROM learning_set WHERE programme_id = ? AND key = ?", (programme_id, key)
    )
    return None if row is None else _set(row)


async def get_set_by_id(db: Database, set_id: int) -> StoredSet | None:
    """Gives a learning set by its row id."""
    row = await db.fetchone(_SET_BY_ID_SQL, (set_id,))
    return None if row is None else _set(row)


_SET_BY_ID_SQL = "SELECT * FROM learning_set WHERE id = ?"


def read_set_by_id(conn: sqlite3.Connection, set_id: int) -> StoredSet | None:
    """The same as `get_set_by_id`, on the database thread (inside a function given to `Database.run`)."""
    row = conn.execute(_SET_BY_ID_SQL, (set_id,)).fetchone()
    return None if row is None else _set(row)


async def get_set_by_group(db: Database, chat_id: int) -> StoredSet | None:
    """Gives the learning set a Telegram group is linked to, if any (a group serves one set)."""
    row = await db.fetchone("SELECT * FROM learning_set WHERE group_chat_id = ? ORDER BY id LIMIT 1", (chat_id,))
    return None if row is None else _set(row)


async def sets_of_person(db: Database, person_id: int) -> list[StoredSet]:
    """Gives the learning sets a person belongs to as participant, in the order they joined them."""
    rows = await db.fetchall(
        "SELECT learning_set.* FROM membership JOIN learning_set ON learning_set.id = membership.learning_set_id"
        " WHERE membership.person_id = ? AND membership.role = 'participant' AND learning_set.active = 1"
        " ORDER BY membership.id",
        (person_id,),
    )
    return [_set(r) for r in rows]


async def list_sets(db: Database, programme_id: int) -> list[StoredSet]:
    """Gives the active learning sets of a programme."""
    rows = await db.fetchall(
        "SELECT * FROM learning_set WHERE programme_id = ? AND active = 1 ORDER BY key", (programme_id,)
    )
    return [_set(r) for r in rows]


def _set(row: object) -> StoredSet:
    r = row  # sqlite3.Row
    return StoredSet(
        r["id"], r["programme_id"], r["key"], r["name"], r["group_chat_id"],  # type: ignore[index]
        r["digest_days_before"], r["empty_digest"], bool(r["active"]),  # type: ignore[index]
    )


async def reminders_muted(db: Database, programme_id: int) -> bool:
    """Gives whether a facilitator muted the programme's calendar reminders (/reminders)."""
    return bool(await db.scalar("SELECT reminders_muted FROM programme WHERE id = ?", (programme_id,)))


async def mute_reminders(db: Database, programme_id: int, muted: bool) -> None:
    """Mutes (or unmutes) the programme's calendar reminders."""
    async with db.transaction() as conn:
        await conn.execute("UPDATE programme SET reminders_muted = ? WHERE id = ?", (int(muted), programme_id))
