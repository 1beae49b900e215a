"""People, their settings and roles, and the invites that let them in."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

import aiosqlite

from bot.store.codec import decode, encode
from bot.store.db import Database


@dataclass(frozen=True)
class Person:
    """Someone the bot knows, with the settings that shape their nudges."""

    id: int
    telegram_id: int
    chat_id: int
    name: str
    language: str
    timezone: str
    nudge_hour: int
    nudge_minute: int
    nudge_days: tuple[int, ...]
    paused_until: datetime | None
    status: str
    onboarding_step: str | None
    show_activity: bool
    created_at: datetime
    awaiting: str | None = None
    prompt_every: int = 1  # days between prompts: 1 daily, 2 every other day, 7 weekly
    quiet_asked_at: datetime | None = None  # when the check-in for falling quiet was planned


@dataclass(frozen=True)
class Membership:
    """A person's role in a programme, and their learning set there."""

    programme_id: int
    learning_set_id: int | None
    role: str


@dataclass(frozen=True)
class Invite:
    """An invite code's row."""

    id: int
    code: str
    programme_id: int
    learning_set_id: int | None
    role: str
    max_uses: int
    uses: int
    expires_at: datetime
    name: str
    language: str | None


class Redeemed(StrEnum):
    """What happened to a `/start <code>`."""

    JOINED = "joined"
    ALREADY = "already"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED_UP = "used_up"


@lru_cache(maxsize=256)
def _weekdays(text: str) -> tuple[int, ...]:
    """Gives the weekdays a stored `nudge_days` names ("0,1,2,3,4"); few people choose differently, and
    the planner reads everyone every hour."""
    return tuple(int(d) for d in text.split(",") if d != "")


def person_of(row: aiosqlite.Row) -> Person:
    """Gives the Person a row read with `person.*` holds (other columns beside it are left alone);
    the one mapper of the person table, for the store modules that join it."""
    names = row.keys()
    return Person(
        id=row["id"],
        telegram_id=row["telegram_id"],
        chat_id=row["chat_id"],
        name=row["name"],
        language=row["language"],
        timezone=row["timezone"],
        nudge_hour=row["nudge_hour"],
        nudge_minute=row["nudge_minute"],
        nudge_days=_weekdays(row["nudge_days"]),
        paused_until=decode(row["paused_until"]),
        status=row["status"],
        onboarding_step=row["onboarding_step"],
        show_activity=bool(row["show_activity"]),
        created_at=decode(row["created_at"]),
        awaiting=row["awaiting"],
        # Read only where migration 0010 ran (a store on an older schema, as the upgrade tests keep, has neither).
        prompt_every=row["prompt_every"] if "prompt_every" in names else 1,
        quiet_asked_at=decode(row["quiet_asked_at"]) if "quiet_asked_at" in names else None,
    )


async def get_person(db: Database, person_id: int) -> Person | None:
    """Gives a person by row id."""
    row = await db.fetchone(_PERSON_SQL, (person_id,))
    return None if row is None else person_of(row)


_PERSON_SQL = "SELECT * FROM person WHERE id = ?"


def read_person(conn: sqlite3.Connection, person_id: int) -> Person | None:
    """The same as `get_person`, on the database thread (inside a function given to `Database.run`)."""
    row = conn.execute(_PERSON_SQL, (person_id,)).fetchone()
    return None if row is None else person_of(row)


async def get_people(db: Database, person_ids: Sequence[int]) -> dict[int, Person]:
    """Gives people by row id (those that exist), a few hundred to a read."""
    found: dict[int, Person] = {}
    for start in range(0, len(person_ids), 500):
        chunk = list(person_ids[start : start + 500])
        marks = ",".join("?" for _ in chunk)
        for row in await db.fetchall(f"SELECT * FROM person WHERE id IN ({marks})", chunk):
            person = person_of(row)
            found[person.id] = person
    return found


async def get_person_by_telegram(db: Database, telegram_id: int) -> Person | None:
    """Gives the person behind a Telegram user id, or None for a stranger."""
    row = await db.fetchone("SELECT * FROM person WHERE telegram_id = ?", (telegram_id,))
    return None if row is None else person_of(row)


async def memberships(db: Database, person_id: int) -> list[Membership]:
    """Gives a person's roles in programmes."""
    rows = await db.fetchall(
        "SELECT programme_id, learning_set_id, role FROM membership WHERE person_id = ? ORDER BY id", (person_id,)
    )
    return [Membership(r[0], r[1], r[2]) for r in rows]


async def participation(db: Database, person_id: int) -> Membership | None:
    """Gives the programme (and set) a person takes part in as a participant, the latest joined."""
    row = await db.fetchone(
        "SELECT programme_id, learning_set_id, role FROM membership"
        " WHERE person_id = ? AND role = 'participant' ORDER BY id DESC LIMIT 1",
        (person_id,),
    )
    return None if row is None else Membership(row[0], row[1], row[2])


async def is_facilitator(db: Database, person_id: int, programme_id: int | None = None) -> bool:
    """Gives whether a person facilitates a programme (any programme when none is given)."""
    if programme_id is None:
        sql, params = "SELECT 1 FROM membership WHERE person_id = ? AND role = 'facilitator'", (person_id,)
    else:
        sql = "SELECT 1 FROM membership WHERE person_id = ? AND role = 'facilitator' AND programme_id = ?"
        params = (person_id, programme_id)  # type: ignore[assignment]
    return await db.fetchone(sql, params) is not None


@dataclass(frozen=True)
class Participant:
    """A participant of a programme, with the learning set they belong to there."""

    person: Person
    programme_id: int
    set_key: str | None


async def participants_to_remind(db: Database, programme_id: int | None = None) -> list[Participant]:
    """Gives every active participant of a programme whose calendar reminders are not muted (of every
    such programme when none is given), once per membership."""
    rows = await db.fetchall(
        "SELECT person.*, membership.programme_id AS member_of, learning_set.key AS set_key FROM membership"
        " JOIN person ON person.id = membership.person_id"
        " JOIN programme ON programme.id = membership.programme_id"
        " LEFT JOIN learning_set ON learning_set.id = membership.learning_set_id"
        " WHERE membership.role = 'participant' AND person.status = 'active' AND programme.reminders_muted = 0"
        + (" AND membership.programme_id = ?" if programme_id is not None else ""),
        (programme_id,) if programme_id is not None else (),
    )
    return [Participant(person_of(r), r["member_of"], r["set_key"]) for r in rows]


async def participations(db: Database) -> list[tuple[int, int]]:
    """Gives (person id, programme id) of every participant membership, in the order they were made."""
    rows = await db.fetchall("SELECT person_id, programme_id FROM membership WHERE role = 'participant' ORDER BY id")
    return [(r[0], r[1]) for r in rows]


async def active_ids(db: Database) -> list[int]:
    """Gives the ids of everyone active, in order."""
    return [r[0] for r in await db.fetchall("SELECT id FROM person WHERE status = 'active' ORDER BY id")]


@dataclass(frozen=True, slots=True)
class Rhythm:
    """Who an active participant is to the planner and when their nudges may come: the few columns of a
    Person that planning a week reads, for everyone, every hour (reading a whole Person costs five times more)."""

    id: int
    chat_id: int
    timezone: str
    nudge_hour: int
    nudge_minute: int
    nudge_days: tuple[int, ...]
    paused_until: datetime | None
    prompt_every: int


async def active_rhythms_among(conn: aiosqlite.Connection, person_ids: Sequence[int]) -> list[Rhythm]:
    """Gives the rhythms of those of some people who are active, in the order of their ids, read inside the
    caller's transaction."""
    marks = ",".join("?" for _ in person_ids)
    rows = await conn.execute_fetchall(
        "SELECT id, chat_id, timezone, nudge_hour, nudge_minute, nudge_days, paused_until, prompt_every FROM person"
        f" WHERE status = 'active' AND id IN ({marks}) ORDER BY id",
        tuple(person_ids),
    )
    return [Rhythm(r[0], r[1], r[2], r[3], r[4], _weekdays(r[5]), decode(r[6]), r[7]) for r in rows]


async def count(db: Database) -> int:
    """Gives how many people the bot knows."""
    return int(await db.scalar("SELECT count(*) FROM person") or 0)


SETTING_COLUMNS = {
    "name",
    "language",
    "timezone",
    "nudge_hour",
    "nudge_minute",
    "nudge_days",
    "paused_until",
    "status",
    "onboarding_step",
    "show_activity",
    "chat_id",
    "awaiting",
    "prompt_every",
    "quiet_asked_at",
}


async def update_person(db: Database, person_id: int, now: datetime, **changes: object) -> Person:
    """Changes some of a person's settings and gives the person as now stored."""
    unknown = set(changes) - SETTING_COLUMNS
    if unknown:
        raise ValueError(f"not a person setting: {', '.join(sorted(unknown))}")
    values = {}
    for name, value in changes.items():
        if name == "nudge_days" and isinstance(value, (tuple, list)):
            value = ",".join(str(d) for d in sorted(set(value)))
        elif name in ("paused_until", "quiet_asked_at") and isinstance(value, datetime):
            value = encode(value)
        elif name == "show_activity":
            value = int(bool(value))
        values[name] = value
    assignments = ", ".join(f"{name} = ?" for name in values)
    async with db.transaction() as conn:
        await conn.execute(
            f"UPDATE person SET {assignments}, updated_at = ? WHERE id = ?",
            (*values.values(), encode(now), person_id),
        )
    person = await get_person(db, person_id)
    assert person is not None
    return person


async def erase_person(db: Database, person_id: int) -> None:
    """Erases a person and everything of theirs: reflections, memberships, planned messages."""
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM outbox WHERE person_id = ?", (person_id,))
        # The personal invite they used carries their name (and e-mail, from an import): blank it.
        await conn.execute(
            "UPDATE invite SET name = '', language = NULL, import_ref = NULL WHERE used_by = ?", (person_id,)
        )
        await conn.execute("DELETE FROM person WHERE id = ?", (person_id,))
    await db.scrub()  # erased means erased on disk: out of the WAL too


# --------------------------------------------------------------------------- invites


def new_code() -> str:
    """Gives an unguessable invite code (96 random bits, deep-link safe) that does not begin with "-": a
    spreadsheet would read such a code as a formula, and the CSV export would have to change it."""
    while True:
        code = secrets.token_urlsafe(12)
        if not code.startswith("-"):
            return code


async def create_invite(
    db: Database,
    programme_id: int,
    learning_set_id: int | None,
    role: str,
    max_uses: int,
    expires_at: datetime,
    now: datetime,
    created_by: str = "cli",
    name: str = "",
    language: str | None = None,
    import_ref: str | None = None,
) -> Invite:
    """Creates an invite and gives it."""
    code = new_code()
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO invite (code, programme_id, learning_set_id, role, max_uses, expires_at, name, language,"
            " import_ref, created_by, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (code, programme_id, learning_set_id, role, max_uses, encode(expires_at), name, language, import_ref,
             created_by, encode(now)),
        )
    invite = await get_invite(db, code)
    assert invite is not None
    return invite


async def get_invite(db: Database, code: str) -> Invite | None:
    """Gives an invite by its code."""
    row = await db.fetchone("SELECT * FROM invite WHERE code = ?", (code,))
    if row is None:
        return None
    return Invite(
        row["id"], row["code"], row["programme_id"], row["learning_set_id"], row["role"], row["max_uses"],
        row["uses"], decode(row["expires_at"]), row["name"], row["language"],
    )


async def redeem_invite(
    db: Database,
    code: str,
    telegram_id: int,
    chat_id: int,
    name: str,
    language: str,
    timezone: str,
    now: datetime,
) -> tuple[Redeemed, Person | None, Invite | None]:
    """Enrols a Telegram user with an invite code, in one transaction.

    Nothing is stored for an unknown, expired or used-up code. Using a code again for a
    programme one already belongs to changes nothing and counts no use.
    """
    invite = await get_invite(db, code)
    if invite is None:
        return Redeemed.UNKNOWN, None, None
    existing = await get_person_by_telegram(db, telegram_id)
    if existing is not None:
        for m in await memberships(db, existing.id):
            if m.programme_id == invite.programme_id and m.role == invite.role:
                return Redeemed.ALREADY, existing, invite
    if invite.expires_at <= now:
        return Redeemed.EXPIRED, None, invite
    if invite.uses >= invite.max_uses:
        return Redeemed.USED_UP, None, invite
    async with db.transaction() as conn:
        # Re-check the count inside the transaction: two people may race for the last use.
        cur = await conn.execute(
            "UPDATE invite SET uses = uses + 1 WHERE id = ? AND uses < max_uses", (invite.id,)
        )
        if cur.rowcount != 1:
            return Redeemed.USED_UP, None, invite
        if existing is None:
            cur = await conn.execute(
                "INSERT INTO person (telegram_id, chat_id, name, language, timezone, status, onboarding_step,"
                " created_at, updated_at) VALUES (?,?,?,?,?,'onboarding','language',?,?)",
                (telegram_id, chat_id, invite.name or name, invite.language or language, timezone, encode(now), encode(now)),
            )
            person_id = int(cur.lastrowid or 0)
        else:
            person_id = existing.id
        await conn.execute("UPDATE invite SET used_by = ? WHERE id = ? AND max_uses = 1", (person_id, invite.id))
        await conn.execute(
            "INSERT INTO membership (person_id, programme_id, learning_set_id, role, joined_at) VALUES (?,?,?,?,?)"
            " ON CONFLICT (person_id, programme_id, role) DO UPDATE SET learning_set_id ="
            " COALESCE(excluded.learning_set_id, membership.learning_set_id)",
            (person_id, invite.programme_id, invite.learning_set_id, invite.role, encode(now)),
        )
    person = await get_person(db, person_id)
    return Redeemed.JOINED, person, invite


async def create_admin(
    db: Database, telegram_id: int, chat_id: int, name: str, language: str, timezone: str, now: datetime
) -> Person:
    """Gives the person record of a configured admin who never joined by invite (created once)."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO person (telegram_id, chat_id, name, language, timezone, status, created_at, updated_at)"
            " VALUES (?,?,?,?,?,'active',?,?) ON CONFLICT (telegram_id) DO NOTHING",
            (telegram_id, chat_id, name, language, timezone, encode(now), encode(now)),
        )
    person = await get_person_by_telegram(db, telegram_id)
    assert person is not None
    return person


async def grant(
    db: Database, telegram_id: int, programme_id: int, role: str, name: str, language: str, timezone: str, now: datetime
) -> tuple[Person, bool]:
    """Gives a Telegram user a role in a programme (creating their record if needed); gives (person, changed)."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO person (telegram_id, chat_id, name, language, timezone, status, onboarding_step,"
            " created_at, updated_at) VALUES (?,?,?,?,?,'onboarding','language',?,?)"
            " ON CONFLICT (telegram_id) DO NOTHING",
            (telegram_id, telegram_id, name, language, timezone, encode(now), encode(now)),
        )
        found = await conn.execute_fetchall("SELECT id FROM person WHERE telegram_id = ?", (telegram_id,))
        person_id = list(found)[0][0]  # inserted just above when it was missing
        cur = await conn.execute(
            "INSERT INTO membership (person_id, programme_id, role, joined_at) VALUES (?,?,?,?)"
            " ON CONFLICT (person_id, programme_id, role) DO NOTHING",
            (person_id, programme_id, role, encode(now)),
        )
        changed = cur.rowcount == 1
    person = await get_person(db, person_id)
    assert person is not None
    return person, changed


async def leaders(db: Database, admins: frozenset[int]) -> list[Person]:
    """Gives everyone who gets the facilitators' menu: each facilitator of any programme and each known admin
    (by Telegram id), leaving out those who blocked the bot."""
    marks = ",".join("?" * len(admins))
    by_admin = f" OR person.telegram_id IN ({marks})" if admins else ""
    rows = await db.fetchall(
        "SELECT DISTINCT person.* FROM person LEFT JOIN membership ON membership.person_id = person.id"
        f" WHERE person.status != 'blocked' AND (membership.role = 'facilitator'{by_admin}) ORDER BY person.id",
        tuple(admins),
    )
    return [person_of(r) for r in rows]
