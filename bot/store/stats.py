"""Participation counts for facilitators: per learning set, per programme, per ISO week. Counts only.

No query here selects the text of a reflection, a takeaway or a case: /stats is built from these
numbers and from the names of the participants who agreed to show their activity (show_activity),
and of nobody else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.store.codec import encode
from bot.store.db import Database

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class PersonActivity:
    """A participant who agreed to show their activity, and their reflections in the last seven days."""

    person_id: int
    name: str
    reflections: int


@dataclass(frozen=True)
class SetStats:
    """The counts of one learning set (set_id None: participants of the programme without a set)."""

    set_id: int | None
    key: str
    name: str
    joined: int = 0  # participants of the set
    active: int = 0  # of whom person.status = 'active'
    reflected: int = 0  # distinct participants with a reflection in the last seven days
    shared: int = 0  # reflections shared (whole or as takeaway) for the set in the current module
    prompts_sent: int = 0  # prompts delivered to participants of the set in the current module
    prompts_answered: int = 0  # … of which answered with a reflection
    activity: tuple[PersonActivity, ...] = ()  # only people with show_activity = 1


@dataclass(frozen=True)
class ProgrammeStats:
    """The counts of a programme's learning sets; the totals add them up (a participant is in one set)."""

    programme_id: int
    module_key: str
    sets: tuple[SetStats, ...] = field(default_factory=tuple)

    @property
    def totals(self) -> SetStats:
        """Gives the programme's counts: the sum over its sets, without per-person activity."""
        return SetStats(
            set_id=None,
            key="",
            name="",
            joined=sum(s.joined for s in self.sets),
            active=sum(s.active for s in self.sets),
            reflected=sum(s.reflected for s in self.sets),
            shared=sum(s.shared for s in self.sets),
            prompts_sent=sum(s.prompts_sent for s in self.sets),
            prompts_answered=sum(s.prompts_answered for s in self.sets),
        )


@dataclass(frozen=True)
class Week:
    """An ISO week in a programme's time zone: [starts, ends) in UTC."""

    year: int
    number: int
    starts: datetime
    ends: datetime


@dataclass(frozen=True)
class WeeklyCounts:
    """Reflections per ISO week, oldest week first, per learning set (None: without a set)."""

    weeks: tuple[Week, ...]
    by_set: dict[int | None, list[int]]


async def programme_stats(
    db: Database, programme_id: int, module_key: str, now: datetime
) -> ProgrammeStats:
    """Gives the counts of every learning set of a programme at a moment, for the module running then.

    Sets come in key order: the active ones (even when empty), retired ones that still have
    participants, and last the participants without a set, when there are any. A reflection counts
    for the programme it was written in.
    """
    since, until = encode(now - WEEK), encode(now)
    members = await _by_set(
        db,
        "SELECT membership.learning_set_id, count(*), sum(person.status = 'active')"
        " FROM membership JOIN person ON person.id = membership.person_id"
        " WHERE membership.programme_id = ? AND membership.role = 'participant'"
        " GROUP BY membership.learning_set_id",
        (programme_id,),
    )
    reflected = await _by_set(
        db,
        "SELECT membership.learning_set_id, count(DISTINCT reflection.person_id)"
        " FROM reflection JOIN membership ON membership.person_id = reflection.person_id"
        " AND membership.role = 'participant'"
        " WHERE membership.programme_id = ? AND reflection.programme_id IS membership.programme_id"
        " AND reflection.created_at > ? AND reflection.created_at <= ?"
        " GROUP BY membership.learning_set_id",
        (programme_id, since, until),
    )
    shared = await _by_set(
        db,
        "SELECT reflection.shared_set_id, count(*)"
        " FROM reflection JOIN learning_set ON learning_set.id = reflection.shared_set_id"
        " WHERE learning_set.programme_id = ? AND reflection.visibility IN ('shared', 'takeaway')"
        " AND reflection.module_key = ? AND reflection.created_at <= ?"
        " GROUP BY reflection.shared_set_id",
        (programme_id, module_key, until),
    )
    prompts = await _by_set(
        db,
        "SELECT membership.learning_set_id, count(*), sum(outbox.response = 'answered')"
        " FROM outbox JOIN membership ON membership.person_id = outbox.person_id"
        " AND membership.role = 'participant'"
        " WHERE membership.programme_id = ? AND outbox.status = 'sent'"
        " AND (outbox.kind = 'prompt' OR (outbox.kind = 'question'"  # a module's end asks about the learning question
        "      AND json_extract(outbox.payload, '$.moment') = 'module_end'))"
        " AND outbox.dedupe_key NOT LIKE 'later:%'"  # a re-ask after *Later* is the same question
        " AND outbox.module_key = ? AND outbox.sent_at <= ?"
        " GROUP BY membership.learning_set_id",
        (programme_id, module_key, until),
    )
    activity = await _activity(db, programme_id, since, until)
    rows = await db.fetchall(
        "SELECT id, key, name, active FROM learning_set WHERE programme_id = ? ORDER BY key, id",
        (programme_id,),
    )
    found = [
        _set_stats(
            row["id"], row["key"], row["name"], members, reflected, shared, prompts, activity
        )
        for row in rows
        if row["active"] or row["id"] in members
    ]
    if None in members:
        found.append(_set_stats(None, "", "", members, reflected, shared, prompts, activity))
    return ProgrammeStats(programme_id, module_key, tuple(found))


def _set_stats(
    set_id: int | None,
    key: str,
    name: str,
    members: dict[int | None, tuple[int, ...]],
    reflected: dict[int | None, tuple[int, ...]],
    shared: dict[int | None, tuple[int, ...]],
    prompts: dict[int | None, tuple[int, ...]],
    activity: dict[int | None, list[PersonActivity]],
) -> SetStats:
    joined, active = members.get(set_id, (0, 0))
    sent, answered = prompts.get(set_id, (0, 0))
    return SetStats(
        set_id=set_id,
        key=key,
        name=name,
        joined=joined,
        active=active,
        reflected=reflected.get(set_id, (0,))[0],
        shared=shared.get(set_id, (0,))[0] if set_id is not None else 0,
        prompts_sent=sent,
        prompts_answered=answered,
        activity=tuple(activity.get(set_id, [])),
    )


async def _by_set(
    db: Database, sql: str, params: Sequence[object]
) -> dict[int | None, tuple[int, ...]]:
    """Gives the counts of a query grouped by set (its first column), keyed by the set's id."""
    return {
        row[0]: tuple(int(v or 0) for v in tuple(row)[1:]) for row in await db.fetchall(sql, params)
    }


async def _activity(
    db: Database, programme_id: int, since: str, until: str
) -> dict[int | None, list[PersonActivity]]:
    """Gives, per set, the participants who agreed to show their activity and their reflections this week."""
    rows = await db.fetchall(
        "SELECT membership.learning_set_id, person.id, person.name,"
        " (SELECT count(*) FROM reflection WHERE reflection.person_id = person.id"
        "   AND reflection.programme_id IS membership.programme_id"
        "   AND reflection.created_at > ? AND reflection.created_at <= ?)"
        " FROM membership JOIN person ON person.id = membership.person_id"
        " WHERE membership.programme_id = ? AND membership.role = 'participant' AND person.show_activity = 1"
        " ORDER BY person.name COLLATE NOCASE, person.id",
        (since, until, programme_id),
    )
    found: dict[int | None, list[PersonActivity]] = {}
    for row in rows:
        found.setdefault(row[0], []).append(PersonActivity(row[1], row[2], int(row[3])))
    return found


def recent_weeks(now: datetime, zone: ZoneInfo, count: int) -> tuple[Week, ...]:
    """Gives the `count` ISO weeks up to and including the one `now` falls in, oldest first.

    Weeks start on Monday at midnight in the programme's zone, so a week keeps its days across a
    daylight-saving change.
    """
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    weeks = []
    for back in range(count - 1, -1, -1):
        first: date = monday - timedelta(weeks=back)
        year, number, _ = first.isocalendar()
        starts = datetime.combine(first, time(0), tzinfo=zone)
        ends = datetime.combine(first + timedelta(days=7), time(0), tzinfo=zone)
        weeks.append(Week(year, number, starts, ends))
    return tuple(weeks)


async def weekly_reflections(
    db: Database, programme_id: int, now: datetime, zone: ZoneInfo, count: int = 8
) -> WeeklyCounts:
    """Gives the reflections of a programme's participants per ISO week and per set, the last `count` weeks.

    Only sets with a reflection in those weeks appear in `by_set`; the others count zero.
    """
    weeks = recent_weeks(now, zone, count)
    if not weeks:
        return WeeklyCounts(weeks, {})
    bounds = ", ".join("(?, ?, ?)" for _ in weeks)
    params: list[object] = []
    for index, week in enumerate(weeks):
        params += [index, encode(week.starts), encode(min(week.ends, now + timedelta(microseconds=1)))]
    rows = await db.fetchall(
        f"WITH week (position, starts, ends) AS (VALUES {bounds})"
        " SELECT membership.learning_set_id, week.position, count(*)"
        " FROM reflection JOIN membership ON membership.person_id = reflection.person_id"
        " AND membership.programme_id = ? AND membership.role = 'participant'"
        " JOIN week ON reflection.created_at >= week.starts AND reflection.created_at < week.ends"
        " WHERE reflection.programme_id IS membership.programme_id"
        " GROUP BY membership.learning_set_id, week.position",
        [*params, programme_id],
    )
    by_set: dict[int | None, list[int]] = {}
    for set_id, position, number in rows:
        by_set.setdefault(set_id, [0] * len(weeks))[position] = int(number)
    return WeeklyCounts(weeks, by_set)
