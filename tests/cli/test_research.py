"""`pitstop research export|chart` as an operator runs it: the export holds only consenting participants
under pseudonyms, none of the texts planted in reflections, takeaways, lines for the facilitator, going
deeper, cases and learning questions, no set or set × module cell under five, the same pseudonym for the
same person in two exports and another one in another programme; the chart shows averages of five or more.
Bad input — an unknown programme, a file that exists, a folder that does not, no secret — is one sentence,
exit code 2 and nothing written."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from bot.domain.research import HEADER, pseudonym
from bot.store.db import open_database
from tests.store.test_research import Cohort
from tests.test_cli import pitstop, test_every_command_explains_itself_and_each_argument

SECRET = "the-operators-research-secret-2026"


class Built:
    """The database of these tests and who is in it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ids: dict[str, int] = {}
        self.telegram_ids: list[int] = []
        self.planted: list[str] = []


async def _build(path: Path) -> Built:
    built = Built(path)
    db = await open_database(path)
    try:
        cohort = Cohort(db)
        p, sets = await cohort.programme("rs-cli", ("set-a", "set-b", "set-c"))
        two, two_sets = await cohort.programme("rs-two", ("set-a",))

        async def join(tag: str, programme_id: int, set_id: int, consent: bool = True, joined: str = "2025-12-20T10:00",
                       module_key: str = "m1", day: str = "2026-02-02") -> int:
            person = built.ids.get(tag) or await cohort.person(tag, consent)
            built.ids[tag] = person
            await cohort.member(person, programme_id, set_id, joined)
            await cohort.everything(person, programme_id, set_id, f"{tag}-{programme_id}", module_key, day)
            return person

        for i in range(1, 7):  # set A: six who consent…
            await join(f"a{i}", p, sets["set-a"])
        await join("a7", p, sets["set-a"], consent=False)  # …and one who does not
        for i in range(1, 4):  # set B: three who consent, too few
            await join(f"b{i}", p, sets["set-b"])
        for i in range(1, 4):  # set C: five who consent, two of whom joined after module 1 ended
            await join(f"c{i}", p, sets["set-c"])
        for i in range(4, 6):
            await join(f"c{i}", p, sets["set-c"], joined="2026-04-10T10:00", module_key="m2", day="2026-04-20")
        fiona = await cohort.person("fiona")  # a facilitator who pressed consent is still no participant
        await cohort.member(fiona, p, None, role="facilitator")
        built.ids["fiona"] = fiona
        # Anna (a1) joins another programme too, later, with four others who consent.
        await join("a1", two, two_sets["set-a"], joined="2026-04-01T10:00", module_key="m2", day="2026-04-20")
        for i in range(1, 5):
            await join(f"t{i}", two, two_sets["set-a"], module_key="m2", day="2026-04-20")
        built.planted = cohort.planted
        built.telegram_ids = list(range(5001, cohort.telegram_id + 1))
    finally:
        await db.close()
    return built


@pytest.fixture
def built(tmp_path: Path) -> Built:
    return asyncio.run(_build(tmp_path / "pitstop.db"))


def env(built: Built, secret: str | None = SECRET) -> dict[str, str]:
    return {"PITSTOP_DB": str(built.path), **({"PITSTOP_RESEARCH_SECRET": secret} if secret is not None else {})}


def read(path: Path) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert tuple(rows[0]) == HEADER
    return [dict(zip(HEADER, r)) for r in rows[1:]]


def test_the_export_holds_only_consenting_people_no_text_and_no_group_under_five(built: Built, tmp_path: Path) -> None:
    out = tmp_path / "study.csv"
    result = pitstop("research", "export", "--programme", "rs-cli", "--out", str(out), env=env(built), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Left out: learning set set-b, 3 consenting people (fewer than 5)." in result.stdout
    assert "Left out: learning set set-c in module m1, 3 consenting people (fewer than 5)." in result.stdout
    assert f"{out}: 17 rows, 11 consenting participants, 2 modules of rs-cli; no text." in result.stdout

    raw = out.read_bytes().decode("utf-8")
    for text in built.planted:  # every private text planted, and every name
        assert text not in raw, text
    assert "PLANTED" not in raw and "director" not in raw
    rows = read(out)
    cells = {cell for r in rows for cell in r.values()}
    assert not cells & {str(t) for t in built.telegram_ids}

    ids = built.ids
    expected = {pseudonym(SECRET, "rs-cli", ids[t]) for t in ("a1", "a2", "a3", "a4", "a5", "a6", "c1", "c2", "c3", "c4", "c5")}
    assert {r["pseudonym"] for r in rows} == expected
    for left_out in ("a7", "b1", "b2", "b3", "fiona"):  # no consent, a set of three, a facilitator
        assert pseudonym(SECRET, "rs-cli", ids[left_out]) not in raw
    groups: dict[tuple[str, str], set[str]] = {}
    for r in rows:
        groups.setdefault((r["set"], r["module"]), set()).add(r["pseudonym"])
        groups.setdefault((r["set"], ""), set()).add(r["pseudonym"])
    assert {k: len(v) for k, v in groups.items()} == {
        ("set-a", "m1"): 6, ("set-a", "m2"): 6, ("set-a", ""): 6, ("set-c", "m2"): 5, ("set-c", ""): 5}

    anna = next(r for r in rows if r["pseudonym"] == pseudonym(SECRET, "rs-cli", ids["a1"]) and r["module"] == "m1")
    assert {k: anna[k] for k in ("set", "module_starts", "module_ends", "joined_on", "pulse_start_cognitive",
                                 "pulse_start_relational", "pulse_start_intervention", "pulse_end_cognitive")} == {
        "set": "set-a", "module_starts": "2026-01-05", "module_ends": "2026-03-29", "joined_on": "2025-12-20",
        "pulse_start_cognitive": "3", "pulse_start_relational": "4", "pulse_start_intervention": "", "pulse_end_cognitive": ""}
    assert {k: anna[k] for k in ("prompts_sent", "prompts_answered", "reflections", "shared_with_set", "takeaways",
                                 "for_facilitators", "intentions", "follow_ups", "went_deeper", "deepening_answers",
                                 "cases", "learning_question_versions")} == {
        "prompts_sent": "3", "prompts_answered": "1", "reflections": "4", "shared_with_set": "1", "takeaways": "1",
        "for_facilitators": "1", "intentions": "1", "follow_ups": "1", "went_deeper": "1", "deepening_answers": "2",
        "cases": "1", "learning_question_versions": "1"}
    assert out.stat().st_mode & 0o077 == 0  # for the operator's eyes only

    audit = pitstop("audit", env=env(built), cwd=tmp_path).stdout
    assert "research.export\trs-cli\trows=17 people=11 sets_left_out=1 cells_left_out=1" in audit


def test_the_same_person_has_the_same_pseudonym_in_two_exports_and_another_in_another_programme(
    built: Built, tmp_path: Path
) -> None:
    first, second, elsewhere = tmp_path / "first.csv", tmp_path / "second.csv", tmp_path / "two.csv"
    assert pitstop("research", "export", "--programme", "rs-cli", "--out", str(first), env=env(built), cwd=tmp_path).returncode == 0
    anna = built.ids["a1"]
    with sqlite3.connect(built.path) as conn:  # Anna writes once more between the two exports
        conn.execute("INSERT INTO reflection (person_id, programme_id, module_key, created_at, updated_at)"
                     " VALUES (?, (SELECT id FROM programme WHERE key = 'rs-cli'), 'm1', ?, ?)",
                     (anna, "2026-02-03T10:00:00.000000+00:00", "2026-02-03T10:00:00.000000+00:00"))
    assert pitstop("research", "export", "--programme", "rs-cli", "--out", str(second), env=env(built), cwd=tmp_path).returncode == 0
    assert pitstop("research", "export", "--programme", "rs-two", "--out", str(elsewhere), env=env(built), cwd=tmp_path).returncode == 0

    def annas(path: Path) -> list[dict[str, str]]:
        return [r for r in read(path) if r["pseudonym"] in {pseudonym(SECRET, k, anna) for k in ("rs-cli", "rs-two")}]

    before, after, other = annas(first), annas(second), annas(elsewhere)
    assert {r["pseudonym"] for r in before} == {r["pseudonym"] for r in after} == {pseudonym(SECRET, "rs-cli", anna)}
    assert [r["reflections"] for r in before if r["module"] == "m1"] == ["4"]
    assert [r["reflections"] for r in after if r["module"] == "m1"] == ["5"]
    assert {r["pseudonym"] for r in other} == {pseudonym(SECRET, "rs-two", anna)}
    assert pseudonym(SECRET, "rs-two", anna) not in first.read_text() and pseudonym(SECRET, "rs-cli", anna) not in elsewhere.read_text()
    # Everyone keeps their pseudonym from one export to the next.
    assert {r["pseudonym"] for r in read(first)} == {r["pseudonym"] for r in read(second)}
    # Another secret gives other pseudonyms: without the operator's secret nobody can recompute them.
    third = tmp_path / "third.csv"
    assert pitstop("research", "export", "--programme", "rs-cli", "--out", str(third),
                   env=env(built, "quite-another-secret-for-a-test"), cwd=tmp_path).returncode == 0
    assert not {r["pseudonym"] for r in read(third)} & {r["pseudonym"] for r in read(first)}


@pytest.mark.parametrize(
    ("case", "sentence"),
    [
        ("unknown programme", "There is no programme 'nope' (programmes: rs-cli, rs-two); nothing was written."),
        ("existing file", "exists already; choose another name or add --force to replace it. Nothing was written."),
        ("missing folder", "does not exist; create it first. Nothing was written."),
        ("a folder", "is a folder; give a file name. Nothing was written."),
        ("no secret", "PITSTOP_RESEARCH_SECRET is not set"),
        ("short secret", "PITSTOP_RESEARCH_SECRET is 5 characters; it must be at least 16"),
        ("no database", "does not exist; check PITSTOP_DB. Nothing was written."),
    ],
)
def test_bad_input_is_one_sentence_exit_code_2_and_nothing_written(case: str, sentence: str, built: Built, tmp_path: Path) -> None:
    out, programme, settings = tmp_path / "study.csv", "rs-cli", env(built)
    if case == "unknown programme":
        programme = "nope"
    elif case == "existing file":
        out.write_text("the researchers' earlier file\n")
    elif case == "missing folder":
        out = tmp_path / "no" / "such" / "folder" / "study.csv"
    elif case == "a folder":
        out = tmp_path
    elif case == "no secret":
        settings = env(built, None)
    elif case == "short secret":
        settings = env(built, "short")
    elif case == "no database":
        settings["PITSTOP_DB"] = str(tmp_path / "missing.db")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = pitstop("research", "export", "--programme", programme, "--out", str(out), env=settings, cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert sentence in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no file, no leftover part file, no new database
    if case == "existing file":
        assert out.read_text() == "the researchers' earlier file\n"
        again = pitstop("research", "export", "--programme", programme, "--out", str(out), "--force", env=settings, cwd=tmp_path)
        assert again.returncode == 0 and out.read_text().startswith("pseudonym,set,module,")


def test_a_programme_without_five_consenting_people_writes_nothing(tmp_path: Path) -> None:
    async def few() -> None:
        db = await open_database(tmp_path / "pitstop.db")
        cohort = Cohort(db)
        p, sets = await cohort.programme("rs-few")
        for i in range(4):
            person = await cohort.person(f"f{i}")
            await cohort.member(person, p, sets["set-a"])
        await db.close()

    asyncio.run(few())
    settings = {"PITSTOP_DB": str(tmp_path / "pitstop.db"), "PITSTOP_RESEARCH_SECRET": SECRET}
    result = pitstop("research", "export", "--programme", "rs-few", "--out", str(tmp_path / "s.csv"), env=settings, cwd=tmp_path)
    assert result.returncode == 1
    assert "Left out: learning set set-a, 4 consenting people (fewer than 5)." in result.stdout
    assert "Nothing was written: no group has 5 or more consenting people." in result.stdout
    assert not (tmp_path / "s.csv").exists()
    chart = pitstop("research", "chart", "--programme", "rs-few", "--out", str(tmp_path / "c.png"), env=settings, cwd=tmp_path)
    assert chart.returncode == 1 and "Nothing was written" in chart.stdout and not (tmp_path / "c.png").exists()


def test_the_chart_draws_the_consenting_peoples_pulse_with_five_answers_or_more(built: Built, tmp_path: Path) -> None:
    out = tmp_path / "pulse.png"
    result = pitstop("research", "chart", "--programme", "rs-cli", "--out", str(out), env=env(built, None), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "consenting participants only" in result.stdout
    assert Image.open(out).size == (1000, 600)
    again = pitstop("research", "chart", "--programme", "rs-cli", "--out", str(out), env=env(built, None), cwd=tmp_path)
    assert again.returncode == 2 and "exists already" in again.stderr
    unknown = pitstop("research", "chart", "--programme", "nope", "--out", str(tmp_path / "x.png"), env=env(built, None), cwd=tmp_path)
    assert unknown.returncode == 2 and "There is no programme 'nope'" in unknown.stderr and not (tmp_path / "x.png").exists()


def test_the_chart_is_in_the_programmes_language_and_leaves_out_cells_under_five(built: Built) -> None:
    from bot.cli.research import chart_png
    from bot.domain.research import ModuleAnswer
    from bot.render import Renderer

    async def stored() -> object:
        db = await open_database(built.path)
        try:
            from bot.store import programmes
            return await programmes.get_programme(db, "rs-cli")
        finally:
            await db.close()

    programme = asyncio.run(stored())
    few = [ModuleAnswer(i, None, "m1", "start", "cognitive", 3) for i in range(4)]
    assert chart_png(Renderer(), programme, few) is None  # type: ignore[arg-type]
    enough = few + [ModuleAnswer(9, None, "m1", "start", "cognitive", 5)]
    png = chart_png(Renderer(), programme, enough)  # type: ignore[arg-type]
    assert png is not None and png.startswith(b"\x89PNG")


@pytest.mark.parametrize("command", [["research"], ["research", "export"], ["research", "chart"]], ids=" ".join)
def test_the_research_commands_explain_themselves(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    test_every_command_explains_itself_and_each_argument(command, capsys)
