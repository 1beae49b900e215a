"""The command line: programme check/load, and bad settings or files stopping with one sentence."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.domain.test_programme import GOOD

ROOT = Path(__file__).resolve().parents[1]


def pitstop(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Runs `python -m bot …` in a clean environment and gives what it printed."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "PITSTOP_"))}
    base["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=cwd or ROOT,
        timeout=60,
    )


def test_check_summarises_a_good_file(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(GOOD)
    result = pitstop("programme", "check", str(path))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout and "2 modules" in result.stdout and "2 learning sets" in result.stdout
    assert "next event" in result.stdout


def test_check_lists_every_problem_and_load_stores_nothing(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(GOOD.replace("starts = 2027-01-18", "starts = \"2027-01-99\"").replace('kind = "online"', 'kind = "picnic"'))
    result = pitstop("programme", "check", str(path))
    assert result.returncode == 1
    assert "2 problems" in result.stdout and "picnic" in result.stdout and "2027-01-99" in result.stdout
    db = tmp_path / "p.db"
    loaded = pitstop("programme", "load", str(path), env={"PITSTOP_DB": str(db)})
    assert loaded.returncode == 1 and "Nothing was loaded" in loaded.stdout
    assert not db.exists() or sqlite3.connect(db).execute("SELECT count(*) FROM programme").fetchone()[0] == 0


def test_load_stores_then_updates_and_audits(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(GOOD)
    env = {"PITSTOP_DB": str(tmp_path / "p.db")}
    first = pitstop("programme", "load", str(path), env=env)
    assert first.returncode == 0 and "loaded" in first.stdout
    second = pitstop("programme", "load", str(path), env=env)
    assert second.returncode == 0 and "updated" in second.stdout
    audit = pitstop("audit", env=env)
    assert audit.stdout.count("programme.load") == 2


@pytest.mark.parametrize(
    ("args", "env", "sentence"),
    [
        (["run"], {}, "TELEGRAM_BOT_TOKEN is not set"),
        (["run"], {"TELEGRAM_BOT_TOKEN": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ", "PITSTOP_ADMINS": "x"}, "PITSTOP_ADMINS"),
        (["run"], {"TELEGRAM_BOT_TOKEN": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ", "PITSTOP_TIMEZONE": "Nowhere/Town"}, "PITSTOP_TIMEZONE"),
        (["programme", "check", "/no/such/file.toml"], {}, "does not exist"),
        (["programme", "check", "/"], {}, "is a folder"),
        (["migrate"], {"PITSTOP_LOG_LEVEL": "chatty"}, "PITSTOP_LOG_LEVEL"),
        (["invite", "--programme", "p"], {"TELEGRAM_BOT_TOKEN": "not-a-token"}, "numeric id, a colon, then its secret"),
        (["run"], {"TELEGRAM_BOT_TOKEN": "123456:AB/CD"}, "numeric id, a colon, then its secret"),
    ],
)
def test_a_bad_setting_or_file_stops_with_exit_code_2(args: list[str], env: dict[str, str], sentence: str, tmp_path: Path) -> None:
    result = pitstop(*args, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert sentence in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_that_is_not_sqlite_stops_with_exit_code_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"\x00garbage" * 200)
    result = pitstop("migrate", env={"PITSTOP_DB": str(bad)})
    assert result.returncode == 2 and "not a Pitstop database" in result.stderr
    assert "Traceback" not in result.stderr


def test_python_dash_m_and_the_console_script_are_the_same_cli() -> None:
    script = Path(sys.executable).parent / "pitstop"
    if not script.exists():
        pytest.skip("the console script is installed by `make test`")
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "programme" in out.stdout
    assert "programme" in pitstop("--help").stdout


def test_debug_logging_keeps_the_libraries_quiet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """At DEBUG, python-telegram-bot would log message texts and the token, aiosqlite the journal text."""
    import logging

    from bot.cli import main

    path = tmp_path / "p.toml"
    path.write_text(GOOD)
    monkeypatch.setenv("PITSTOP_LOG_LEVEL", "DEBUG")
    assert main(["programme", "check", str(path)]) == 0
    assert logging.getLogger("bot").level == logging.DEBUG
    for library in ("telegram", "httpx", "httpcore", "aiosqlite"):
        assert logging.getLogger(library).getEffectiveLevel() >= logging.WARNING


def _help_of(command: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    from bot.cli import main

    with pytest.raises(SystemExit):
        main([*command, "--help"])
    return capsys.readouterr().out


@pytest.mark.parametrize(
    "command",
    [["run"], ["migrate"], ["backup"], ["audit"], ["invite"], ["grant"], ["demo"], ["import"],
     ["programme"], ["programme", "check"], ["programme", "load"], ["programme", "list"]],
    ids=" ".join,
)
def test_every_command_explains_itself_and_each_argument(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    text = _help_of(command, capsys)
    usage, _, rest = text.partition("\n\n")
    description = rest.split("\n\n")[0]
    assert description.strip() and not description.startswith(("options:", "positional arguments:")), text
    lines = text.splitlines()
    for i, line in enumerate(lines):
        # An argument line ("  path", "  --limit LIMIT") needs a sentence after it or on the next line.
        if not line.startswith("  ") or line.startswith("   ") or line.strip().startswith(("-h,", "{")):
            continue
        after = line.strip().split("  ", 1)
        following = lines[i + 1] if i + 1 < len(lines) else ""
        assert len(after) == 2 or following.startswith("     "), f"{line.strip()!r} has no help in:\n{text}"


def test_audit_prints_a_header_and_programme_keys(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(GOOD)
    env = {"PITSTOP_DB": str(tmp_path / "p.db")}
    assert pitstop("programme", "load", str(path), env=env).returncode == 0
    lines = pitstop("audit", env=env).stdout.splitlines()
    assert lines[0].split("\t") == ["when (UTC)", "who", "action", "programme", "detail"]
    fields = lines[1].split("\t")
    assert fields[2] == "programme.load" and fields[3] == "cpm-test"


def test_an_invite_works_through_the_day_the_operator_typed(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(GOOD)
    db = tmp_path / "p.db"
    # The server's default zone differs from the programme's: the programme's calendar decides, as for import.
    env = {"PITSTOP_DB": str(db), "PITSTOP_TIMEZONE": "America/New_York"}
    assert pitstop("programme", "load", str(path), env=env).returncode == 0
    result = pitstop("invite", "--programme", "cpm-test", "--expires", "2099-01-31", env=env)
    assert result.returncode == 0, result.stderr
    assert "works through 2099-01-31" in result.stdout
    assert "2099-02-01" not in result.stdout and "CET" not in result.stdout
    stored = sqlite3.connect(db).execute("SELECT expires_at FROM invite").fetchone()[0]
    assert stored.startswith("2099-01-31T23:00:00")  # midnight after the last day, Amsterdam time


def test_an_invite_without_expires_prints_its_last_day_in_the_same_style(tmp_path: Path) -> None:
    import re

    path = tmp_path / "p.toml"
    path.write_text(GOOD)
    env = {"PITSTOP_DB": str(tmp_path / "p.db")}
    assert pitstop("programme", "load", str(path), env=env).returncode == 0
    result = pitstop("invite", "--programme", "cpm-test", env=env)
    assert re.search(r"works through \d{4}-\d{2}-\d{2}  uses: 1", result.stdout), result.stdout
    assert ":00" not in result.stdout.split("works through")[1]


def test_check_refuses_a_programme_dated_in_year_one_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(GOOD.replace("starts = 2027-01-04\nends = 2027-02-28", "starts = 0001-01-04\nends = 2027-02-28"))
    result = pitstop("programme", "check", str(path))
    assert result.returncode == 1 and "modules[0].starts: 0001-01-04 lies outside the years 2000 to 2100" in result.stdout
