"""What a facilitator's brief is made of, and the share *for the facilitators only* it carries.

Counts of a set's participation, the capacities its shared material touched, the cases brought to a
meeting, the set's pulse, and the reflections (or lines) members shared with the set's facilitators
only. The one query here that selects reflection text reads only entries shared for the facilitators
of that very set; everything else is a count, a capacity tag, or a case its author brought to the set.

Like a digest, a brief seals what it carries: the first facilitator's brief for a meeting fixes the
for-facilitator shares it holds (`reflection.facilitator_brief`), and from then on they cannot be undone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.brief import PulseAnswer
from bot.store.db import Database
from bot.store.outbox import ts
from bot.store.people import Person, person_of


@dataclass(frozen=True)
class ForFacilitator:
    """A reflection, or one line of it, that a member shared with the set's facilitators only."""

    reflection_id: int
    person_id: int
    author: str
    text: str  # the line when one was chosen, else the whole reflection
    line: bool
    shared_at: datetime


@dataclass(frozen=True)
class Participation:
    """How many members of a set did what in a period (counts of distinct members)."""

    members: int
    reflected: int
    shared: int
    went_deeper: int
    intentions: int
    followed_up: int
    showing: tuple[tuple[str, int], ...]  # (name, reflections) of members who chose to show their activity


@dataclass(frozen=True)
class BroughtCase:
    """A case a member brings to the meeting (shared with the set by its author)."""

    author: str
    text: str


def brief_key(set_id: int, meeting_starts: datetime) -> str:
    """Gives the key of a set's brief for one meeting (what a carried share records)."""
    return f"{set_id}:{ts(meeting_starts)}"


# --------------------------------------------------------------------------- sharing for the facilitators


async def share(db: Database, reflection_id: int, person_id: int, set_id: int, line: str | None, now: datetime) -> bool:
    """Shares a reflection (or one line of it) with a set's facilitators only; gives False when it is not
    the person's, or a brief carries it already (then it stays as it was)."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE reflection SET for_facilitators_at = ?, facilitator_line = ?, facilitator_set_id = ?"
            " WHERE id = ? AND person_id = ? AND facilitator_brief IS NULL",
            (ts(now), line, set_id, reflection_id, person_id),
        )
        return cur.rowcount == 1


async def undo(db: Database, reflection_id: int, person_id: int) -> bool:
    """Takes a share for the facilitators back; gives False when it is not the person's or a brief carried it."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE reflection SET for_facilitators_at = NULL, facilitator_line = NULL, facilitator_set_id = NULL"
            " WHERE id = ? AND person_id = ? AND facilitator_brief IS NULL AND for_facilitators_at IS NOT NULL",
            (reflection_id, person_id),
        )
        return cur.rowcount == 1


@dataclass(frozen=True)
class ShareState:
    """Whether a reflection is shared for the facilitators, with a line or whole, and whether a brief carried it."""

    shared: bool
    line: str | None
    carried: bool


async def state(db: Database, reflection_id: int) -> ShareState:
    """Gives a reflection's share for the facilitators (not shared for a reflection that does not exist)."""
    row = await db.fetchone(
        "SELECT for_facilitators_at, facilitator_line, facilitator_brief FROM reflection WHERE id = ?", (reflection_id,)
    )
    if row is None:
        return ShareState(False, None, False)
    return ShareState(row[0] is not None, row[1], row[2] is not None)


async def seal(db: Database, set_id: int, key: str, now: datetime) -> int:
    """Fixes the for-facilitator shares of a set that no brief carried yet as carried by this brief; gives how many."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE reflection SET facilitator_brief = ? WHERE facilitator_set_id = ? AND for_facilitators_at IS NOT NULL"
            " AND for_facilitators_at <= ? AND facilitator_brief IS NULL",
            (key, set_id, ts(now)),
        )
        return cur.rowcount


async def for_facilitators(db: Database, set_id: int, keys: tuple[str | None, ...]) -> list[ForFacilitator]:
    """Gives the shares for a set's facilitators carried by one of these briefs (None: by none yet), oldest first."""
    carried = [k for k in keys if k is not None]
    marks = ",".join("?" for _ in carried)
    which = " OR ".join(
        (["reflection.facilitator_brief IS NULL"] if None in keys else [])
        + ([f"reflection.facilitator_brief IN ({marks})"] if carried else [])
    ) or "0"
    rows = await db.fetchall(
        "SELECT reflection.id, reflection.person_id, person.name, reflection.facilitator_line, reflection.for_facilitators_at,"
        " (SELECT group_concat(text, char(10)) FROM (SELECT text FROM reflection_part"
        "   WHERE reflection_id = reflection.id AND text != '' ORDER BY created_at, message_id)) AS text"
        " FROM reflection JOIN person ON person.id = reflection.person_id"
        f" WHERE reflection.facilitator_set_id = ? AND reflection.for_facilitators_at IS NOT NULL AND ({which})"
        " ORDER BY reflection.for_facilitators_at, reflection.id",
        (set_id, *carried),
    )
    return [
        ForFacilitator(r[0], r[1], r[2], r[3] if r[3] is not None else (r[5] or ""), r[3] is not None,
                       datetime.fromisoformat(r[4]))
        for r in rows
    ]


# --------------------------------------------------------------------------- who reads a set's brief


async def facilitators_of_set(db: Database, set_id: int) -> list[Person]:
    """Gives the facilitators of a set: of its programme, for this set or for all its sets, who did not block the bot."""
    rows = await db.fetchall(
        "SELECT DISTINCT person.* FROM person JOIN membership ON membership.person_id = person.id"
        " JOIN learning_set ON learning_set.programme_id = membership.programme_id"
        " WHERE learning_set.id = ? AND membership.role = 'facilitator' AND person.status != 'blocked'"
        " AND (membership.learning_set_id IS NULL OR membership.learning_set_id = learning_set.id)"
        " ORDER BY person.id",
        (set_id,),
    )
    return [person_of(r) for r in rows]


async def leads_set(db: Database, person_id: int, set_id: int) -> bool:
    """Gives whether a person facilitates this set (for its programme's sets, or for this one)."""
    return any(p.id == person_id for p in await facilitators_of_set(db, set_id))


# --------------------------------------------------------------------------- what a brief counts


def _period(since: datetime | None, until: datetime) -> tuple[str, str]:
    return (ts(since) if since else "", ts(until))


async def participation(db: Database, set_id: int, since: datetime | None, until: datetime) -> Participation:
    """Gives how many of a set's members reflected, shared, went deeper, set intentions and followed them
    up in (since, until], and the reflections of those who chose to show their activity."""
    start, end = _period(since, until)
    members_sql = (
        "SELECT person.id FROM membership JOIN person ON person.id = membership.person_id"
        " WHERE membership.learning_set_id = ? AND membership.role = 'participant' AND person.status != 'blocked'"
    )
    members = int(await db.scalar(f"SELECT count(*) FROM ({members_sql})", (set_id,)) or 0)

    async def distinct(condition: str) -> int:
        value = await db.scalar(
            f"SELECT count(DISTINCT reflection.person_id) FROM reflection WHERE reflection.person_id IN ({members_sql})"
            f" AND {condition}",
            (set_id, start, end),
        )
        return int(value or 0)

    written = "reflection.created_at > ? AND reflection.created_at <= ?"
    reflected = await distinct(written)
    intentions = await distinct(f"reflection.is_intention = 1 AND {written}")
    followed_up = await distinct(f"reflection.follows_up_id IS NOT NULL AND {written}")
    shared = int(await db.scalar(
        "SELECT count(DISTINCT person_id) FROM reflection WHERE shared_set_id = ? AND visibility IN ('shared', 'takeaway')"
        " AND shared_at > ? AND shared_at <= ?",
        (set_id, start, end),
    ) or 0)
    deeper = int(await db.scalar(
        f"SELECT count(DISTINCT person_id) FROM deepening WHERE person_id IN ({members_sql})"
        " AND answer IS NOT NULL AND answered_at > ? AND answered_at <= ?",
        (set_id, start, end),
    ) or 0)
    rows = await db.fetchall(
        "SELECT person.name, (SELECT count(*) FROM reflection WHERE reflection.person_id = person.id"
        "   AND reflection.created_at > ? AND reflection.created_at <= ?)"
        " FROM membership JOIN person ON person.id = membership.person_id"
        " WHERE membership.learning_set_id = ? AND membership.role = 'participant' AND person.status != 'blocked'"
        " AND person.show_activity = 1 ORDER BY person.name COLLATE NOCASE, person.id",
        (start, end, set_id),
    )
    showing = tuple((r[0], int(r[1])) for r in rows)
    return Participation(members, reflected, shared, deeper, intentions, followed_up, showing)


async def capacity_tags(db: Database, set_id: int, since: datetime | None, until: datetime) -> list[str]:
    """Gives the capacity tag of each reflection shared in (since, until] with the set or with its facilitators
    (from the prompt it answered; untagged ones give nothing)."""
    start, end = _period(since, until)
    rows = await db.fetchall(
        "SELECT capacity FROM reflection WHERE capacity != '' AND ("
        " (shared_set_id = ? AND visibility IN ('shared', 'takeaway') AND shared_at > ? AND shared_at <= ?)"
        " OR (facilitator_set_id = ? AND for_facilitators_at > ? AND for_facilitators_at <= ?))",
        (set_id, start, end, set_id, start, end),
    )
    return [r[0] for r in rows]


async def cases_for_meeting(db: Database, set_id: int, meeting_starts: datetime) -> list[BroughtCase]:
    """Gives the cases members bring to a meeting of the set (proposed in the case round of its digest)."""
    rows = await db.fetchall(
        "SELECT person.name, case_proposal.text FROM case_proposal"
        " JOIN digest ON digest.id = case_proposal.digest_id JOIN person ON person.id = case_proposal.person_id"
        " WHERE digest.learning_set_id = ? AND case_proposal.learning_set_id = ? AND digest.meeting_starts = ?"
        " ORDER BY case_proposal.created_at, case_proposal.id",
        (set_id, set_id, ts(meeting_starts)),
    )
    return [BroughtCase(r[0], r[1]) for r in rows]


async def pulse_answers(db: Database, set_id: int, module_key: str) -> list[PulseAnswer]:
    """Gives the set's pulse answers for a module (read here until bot/store/pulse.py has its own)."""
    rows = await db.fetchall(
        "SELECT person_id, moment, capacity, score FROM pulse_answer WHERE learning_set_id = ? AND module_key = ?",
        (set_id, module_key),
    )
    return [PulseAnswer(r[0], r[1], r[2], r[3]) for r in rows]
