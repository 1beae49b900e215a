"""Invites for a bulk import: one personal invite per row not imported before, in one transaction.

The reading and checking of the CSV file is pure and lives in bot/domain/enrolment.py; this is its SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.enrolment import ALREADY, NEW, Enrolee, Invited, normalised_name
from bot.store import people
from bot.store.codec import decode, encode
from bot.store.db import Database


@dataclass
class _Existing:
    code: str
    set_key: str
    role: str
    name: str
    language: str
    expires_at: datetime
    used: bool
    claimed: bool = field(default=False)


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def differences(enrolee: Enrolee, existing: _Existing) -> tuple[str, ...]:
    """Gives, in words, how an existing invite differs from a row of the file."""
    found = []
    if existing.set_key != enrolee.set_key:
        found.append(f"set {existing.set_key or '-'} (file: {enrolee.set_key or '-'})")
    if existing.role != enrolee.role:
        found.append(f"role {existing.role} (file: {enrolee.role})")
    if existing.language != enrolee.language:
        found.append(f"language {existing.language or '-'} (file: {enrolee.language})")
    if normalised_name(existing.name) != normalised_name(enrolee.name):
        found.append(f"name {existing.name!r} (file: {enrolee.name!r})")
    return tuple(found)


async def invite_all(
    db: Database,
    programme_id: int,
    programme_key: str,
    enrolees: Sequence[Enrolee],
    expires_at: datetime,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = 100,
) -> list[Invited]:
    """Creates one personal invite per row not imported before, all in one transaction, and gives every row's invite.

    A row whose person has an invite from an earlier import keeps that invite. A row with an e-mail
    address is also recognised by set and name, for a file whose addresses were added after an import.
    """
    refs = [e.import_ref(programme_key) for e in enrolees]
    name_refs = [f"{programme_key}:{e.name_key()}" for e in enrolees]
    results: list[Invited] = []
    async with db.transaction() as conn:
        set_keys = {row[0]: row[1] for row in await conn.execute_fetchall(
            "SELECT id, key FROM learning_set WHERE programme_id = ?", (programme_id,)
        )}
        set_ids = {key: set_id for set_id, key in set_keys.items()}
        existing: dict[str, _Existing] = {}
        for part in _chunks(sorted(set(refs) | set(name_refs)), 500):
            marks = ",".join("?" * len(part))
            for r in await conn.execute_fetchall(
                "SELECT import_ref, code, learning_set_id, role, name, language, expires_at, uses, max_uses"
                f" FROM invite WHERE programme_id = ? AND import_ref IN ({marks})",
                (programme_id, *part),
            ):
                existing[r[0]] = _Existing(
                    r[1],
                    set_keys.get(r[2], "") if r[2] is not None else "",
                    r[3],
                    r[4],
                    r[5] or "",
                    decode(r[6]),
                    r[7] >= r[8],
                )
        # An invite found by set and name serves one row only: two people may share a name.
        for ref in refs:
            if ref in existing:
                existing[ref].claimed = True

        pending: list[tuple[object, ...]] = []
        expires_text = encode(expires_at)
        created_text = encode(now)
        for done, (enrolee, ref, name_ref) in enumerate(
            zip(enrolees, refs, name_refs, strict=True), start=1
        ):
            found = existing.get(ref)
            if (
                found is None
                and enrolee.email
                and name_ref in existing
                and not existing[name_ref].claimed
            ):
                found = existing[name_ref]
                found.claimed = True
            if found is not None:
                results.append(
                    Invited(
                        enrolee,
                        found.code,
                        found.expires_at,
                        ALREADY,
                        differences(enrolee, found),
                        found.used,
                        found.set_key,
                        found.language,
                        found.role,
                        found.name,
                    )
                )
            else:
                code = people.new_code()
                pending.append(
                    (
                        code,
                        programme_id,
                        set_ids.get(enrolee.set_key) if enrolee.set_key else None,
                        enrolee.role,
                        1,
                        expires_text,
                        enrolee.name,
                        enrolee.language,
                        ref,
                        "cli:import",
                        created_text,
                    )
                )
                results.append(
                    Invited(
                        enrolee,
                        code,
                        expires_at,
                        NEW,
                        (),
                        False,
                        enrolee.set_key,
                        enrolee.language,
                        enrolee.role,
                        enrolee.name,
                    )
                )
            if done % chunk == 0 or done == len(enrolees):
                if pending:
                    await conn.executemany(
                        "INSERT INTO invite (code, programme_id, learning_set_id, role, max_uses, expires_at, name,"
                        " language, import_ref, created_by, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        pending,
                    )
                    pending = []
                if progress is not None:
                    progress(done, len(enrolees))
    return results
