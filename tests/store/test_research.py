"""Research consent and what the trend study reads, on a hand-built database: consent is given and
withdrawn once, only consenting participants are read, each count per module is right, and no text
planted anywhere (reflections, takeaways, lines for the facilitator, going deeper, cases, learning
questions) is in what the store gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.programme import parse_programme
from bot.store import programmes, research
from bot.store.codec import encode
from bot.store.db import Database
from tests.factories import learning_set, module, programme

# Two modules that have begun by now (the CLI reads the real clock) and one that has not.
MODULES = [module("m1", "The Challenges", "2026-01-05", "2026-03-29"),
           module("m2", "The Person", "2026-03-30", "2026-06-28"),
           module("m3", "Later", "2030-01-07", "2030-03-31")]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def texts(tag: str) -> dict[str, str]:
    """Gives the private texts planted for one person, each unique (so that each can be looked for)."""
    return {kind: f"PLANTED-{kind}-{tag} my director must never read this" for kind in
            ("reflection", "takeaway", "facilitator", "deepening", "case", "question", "name")}


class Cohort:
    """Inserts rows the way the bot stores them, with a private text in every place one can be."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.telegram_id = 5000
        self.message_id = 0
        self.planted: list[str] = []

    async def programme(self, key: str, sets: tuple[str, ...] = ("set-a", "set-b")) -> tuple[int, dict[str, int]]:
        source = programme(key=key, title=f"Programme {key}", modules=MODULES,
                           sets=[learning_set(s, f"Set {s}") for s in sets])
        result = await programmes.save_programme(self.db, parse_programme(source), source, at("2025-12-01T10:00"))
        return result.programme_id, {s.key: s.id for s in await programmes.list_sets(self.db, result.programme_id)}

    async def person(self, tag: str, consent: bool = True) -> int:
        self.telegram_id += 1
        name = texts(tag)["name"]
        self.planted.append(name)
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO person (telegram_id, chat_id, name, status, research_consent_at, created_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?)",
                (self.telegram_id, self.telegram_id, name, "active", encode(at("2026-01-02T09:00")) if consent else None,
                 encode(at("2025-12-20T10:00")), encode(at("2025-12-20T10:00"))),
            )
            return int(cur.lastrowid or 0)

    async def member(self, person_id: int, programme_id: int, set_id: int | None, joined: str = "2025-12-20T10:00",
                     role: str = "participant") -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO membership (person_id, programme_id, learning_set_id, role, joined_at) VALUES (?,?,?,?,?)",
                (person_id, programme_id, set_id, role, encode(at(joined))),
            )

    async def everything(self, person_id: int, programme_id: int, set_id: int, tag: str, module_key: str = "m1",
                         day: str = "2026-02-02") -> None:
        """Gives a person, in one module, each kind of activity once, with a planted text in each; and a pulse."""
        planted = texts(tag)
        self.planted += [v for k, v in planted.items() if k != "name"]
        when = at(f"{day}T10:00")
        async with self.db.transaction() as conn:
            ids = []
            for visibility, extra in (("shared", {}), ("takeaway", {"takeaway": planted["takeaway"]}),
                                      ("private", {"facilitator_line": planted["facilitator"], "is_intention": 1})):
                self.message_id += 1
                cur = await conn.execute(
                    "INSERT INTO reflection (person_id, programme_id, module_key, visibility, shared_set_id, takeaway,"
                    " is_intention, for_facilitators_at, facilitator_line, created_at, updated_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (person_id, programme_id, module_key, visibility, set_id if visibility != "private" else None,
                     extra.get("takeaway"), extra.get("is_intention", 0),
                     encode(when) if "facilitator_line" in extra else None, extra.get("facilitator_line"),
                     encode(when), encode(when)),
                )
                reflection_id = int(cur.lastrowid or 0)
                ids.append(reflection_id)
                await conn.execute(
                    "INSERT INTO reflection_part (reflection_id, chat_id, message_id, text, created_at) VALUES (?,?,?,?,?)",
                    (reflection_id, person_id, self.message_id, planted["reflection"], encode(when)),
                )
            await conn.execute(  # a look back on the intention
                "INSERT INTO reflection (person_id, programme_id, module_key, follows_up_id, created_at, updated_at)"
                " VALUES (?,?,?,?,?,?)", (person_id, programme_id, module_key, ids[2], encode(when), encode(when)),
            )
            for step, phase in ((1, "looking_back"), (2, "essential")):
                await conn.execute(
                    "INSERT INTO deepening (reflection_id, person_id, step, phase, answer, asked_at, answered_at)"
                    " VALUES (?,?,?,?,?,?,?)", (ids[0], person_id, step, phase, planted["deepening"], encode(when), encode(when)),
                )
            cur = await conn.execute(
                "INSERT INTO digest (learning_set_id, period_key, send_at, created_at) VALUES (?,?,?,?)",
                (set_id, f"{person_id}-{day}", encode(when), encode(when)),
            )
            await conn.execute(
                "INSERT INTO case_proposal (learning_set_id, person_id, digest_id, text, created_at) VALUES (?,?,?,?,?)",
                (set_id, person_id, int(cur.lastrowid or 0), planted["case"], encode(when)),
            )
            await conn.execute(
                "INSERT INTO learning_question (person_id, programme_id, text, created_at) VALUES (?,?,?,?)",
                (person_id, programme_id, planted["question"], encode(when)),
            )
            for n, response in enumerate(("answered", "skipped", None)):
                await conn.execute(
                    "INSERT INTO outbox (kind, person_id, chat_id, due_at, status, dedupe_key, module_key, response,"
                    " sent_at, created_at) VALUES ('prompt',?,?,?,'sent',?,?,?,?,?)",
                    (person_id, person_id, encode(when), f"prompt:{person_id}:{programme_id}:{day}:{n}", module_key,
                     response, encode(when), encode(when)),
                )
            for capacity, score in (("cognitive", 3), ("relational", 4), ("intervention", None)):
                await conn.execute(
                    "INSERT INTO pulse_answer (person_id, programme_id, learning_set_id, module_key, moment, capacity,"
                    " score, answered_at) VALUES (?,?,?,?,'start',?,?,?)",
                    (person_id, programme_id, set_id, module_key, capacity, score, encode(when)),
                )


async def test_consent_is_given_once_and_withdrawn_once(db: Database) -> None:
    cohort = Cohort(db)
    person = await cohort.person("a", consent=False)
    now = at("2026-12-02T10:00")
    assert await research.consent_of(db, person) is None
    assert await research.give_consent(db, person, now) is True
    assert await research.give_consent(db, person, now + timedelta(days=1)) is False  # keeps the first date
    assert await research.consent_of(db, person) == now
    assert await research.withdraw_consent(db, person, now) is True
    assert await research.withdraw_consent(db, person, now) is False
    assert await research.consent_of(db, person) is None


async def test_only_consenting_participants_are_read_with_every_count_and_no_text(db: Database) -> None:
    cohort = Cohort(db)
    p, sets = await cohort.programme("rs-store")
    other, other_sets = await cohort.programme("rs-other")
    yes = await cohort.person("yes")
    no = await cohort.person("no", consent=False)
    facilitator = await cohort.person("fac")
    await cohort.member(yes, p, sets["set-a"])
    await cohort.member(no, p, sets["set-a"])
    await cohort.member(facilitator, p, None, role="facilitator")
    await cohort.member(yes, other, other_sets["set-b"], joined="2026-04-01T10:00")  # joins a second programme later
    await cohort.everything(yes, p, sets["set-a"], "yes")
    await cohort.everything(no, p, sets["set-a"], "no")
    await cohort.everything(yes, other, other_sets["set-b"], "yes-elsewhere", module_key="m2", day="2026-04-06")

    data = await research.study_data(db, p)
    assert [(m.person_id, m.set_key) for m in data.members] == [(yes, "set-a")]
    assert dict(data.counts[(yes, "m1")]) == {
        "reflections": 4, "shared_with_set": 1, "takeaways": 1, "for_facilitators": 1, "intentions": 1,
        "follow_ups": 1, "went_deeper": 1, "deepening_answers": 2,
    }
    assert set(data.counts) == {(yes, "m1")}  # nothing of the other programme
    # Prompts name a module, not a programme: those sent once she had joined the other programme are its own.
    assert sorted((p_id, key, answered) for p_id, key, _, answered in data.prompts) == [
        (yes, "m1", False), (yes, "m1", False), (yes, "m1", True)]
    assert [p_id for p_id, _ in data.cases] == [yes] and [p_id for p_id, _ in data.questions] == [yes]
    assert {(a.person_id, a.capacity, a.score) for a in data.pulse} == {
        (yes, "cognitive", 3), (yes, "relational", 4), (yes, "intervention", None)}
    held = repr(data)
    for text in cohort.planted:
        assert text not in held
    assert "PLANTED" not in held

    everyone = await research.pulse_answers(db, p)  # /stats: every participant's answers
    assert {a.person_id for a in everyone} == {yes, no}
    assert {a.person_id for a in await research.pulse_answers(db, p, consenting=True)} == {yes}
