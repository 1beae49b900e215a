"""Settings: read from the environment and .env; a bad one stops start-up with one sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"


def test_settings_come_from_the_environment() -> None:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": "http://127.0.0.1:8081/",
            "PITSTOP_ADMINS": "11, 22 33",
            "PITSTOP_TIMEZONE": "Europe/Brussels",
            "PITSTOP_LANGUAGE": "NL",
            "PITSTOP_DB": "/tmp/x.db",
        },
        env_file=None,
    )
    assert settings.admins == {11, 22, 33}
    assert settings.api_base() == "http://127.0.0.1:8081/bot"
    assert settings.language == "nl" and settings.timezone == "Europe/Brussels"
    assert str(settings.db_path) == "/tmp/x.db"
    assert TOKEN not in repr(settings)


def test_a_dotenv_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(f'# comment\nexport TELEGRAM_BOT_TOKEN="{TOKEN}"\nPITSTOP_LANGUAGE=nl\n\n')
    settings = load_settings({"PITSTOP_LANGUAGE": "en"}, env_file=env)
    assert settings.token == TOKEN and settings.language == "en"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": "nonsense"}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "PITSTOP_ADMINS": "12,abc"}, "PITSTOP_ADMINS"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "PITSTOP_TIMEZONE": "Mars/Olympus"}, "PITSTOP_TIMEZONE"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "PITSTOP_LANGUAGE": "de"}, "PITSTOP_LANGUAGE"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": "not a url"}, "TELEGRAM_BASE_URL"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "PITSTOP_WEBHOOK_URL": "https://x.org/hook"}, "PITSTOP_WEBHOOK_SECRET"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "PITSTOP_RATE_PER_SECOND": "fast"}, "PITSTOP_RATE_PER_SECOND"),
    ],
)
def test_a_bad_setting_is_named_in_one_sentence(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ, env_file=None)
    message = str(caught.value)
    assert named in message and "\n" not in message


def test_a_malformed_dotenv_line_is_named(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("TELEGRAM_BOT_TOKEN\n")
    with pytest.raises(ConfigError, match="line 1"):
        load_settings({}, env_file=env)


def test_a_comment_after_a_value_in_dotenv_is_not_part_of_it(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        f"TELEGRAM_BOT_TOKEN={TOKEN}\nPITSTOP_ADMINS=11111111          # admins, comma-separated\n"
        "PITSTOP_LANGUAGE=nl  # the default\nPITSTOP_DB=./pitstop.db\t# the SQLite file\n"
        'PITSTOP_TIMEZONE="Europe/Brussels # not a comment inside quotes"\n'
    )
    with pytest.raises(ConfigError, match="PITSTOP_TIMEZONE"):
        load_settings({}, env_file=env)
    env.write_text(env.read_text().replace('"Europe/Brussels # not a comment inside quotes"', "Europe/Brussels"))
    settings = load_settings({}, env_file=env)
    assert settings.admins == {11111111} and settings.language == "nl" and str(settings.db_path) == "pitstop.db"


@pytest.mark.parametrize("token", ["123456:TEST", "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "1:a_b-C"])
def test_a_short_token_of_a_test_server_is_accepted_by_every_command(token: str) -> None:
    for require_token in (True, False):  # `run` needs it; `invite` and `import` use it when set
        assert load_settings({"TELEGRAM_BOT_TOKEN": token}, env_file=None, require_token=require_token).token == token


@pytest.mark.parametrize("token", ["nonsense", "123456:", ":ABCDEF", "12a:ABC", "123456:AB CD", "123456:AB/CD"])
def test_a_malformed_token_is_refused_by_every_command_with_the_real_rule(token: str) -> None:
    for require_token in (True, False):
        with pytest.raises(ConfigError) as caught:
            load_settings({"TELEGRAM_BOT_TOKEN": token}, env_file=None, require_token=require_token)
        message = str(caught.value)
        assert "numeric id, a colon, then its secret of letters, digits, _ or -" in message
        assert token not in message  # a secret is never repeated back


def test_the_research_secret_is_read_and_never_shown() -> None:
    settings = load_settings({"PITSTOP_RESEARCH_SECRET": "  a-long-operator-secret-0123  "}, env_file=None, require_token=False)
    assert settings.research_secret == "a-long-operator-secret-0123"
    assert "a-long-operator-secret" not in repr(settings)
    assert load_settings({}, env_file=None, require_token=False).research_secret is None


@pytest.mark.parametrize(("dsn", "shown"), [
    ("postgresql://pitstop:s3cret@db.example:5433/pitstop", "postgresql://pitstop:***@db.example:5433/pitstop"),
    ("postgresql://db.example/pitstop?sslmode=require&password=s3cret", "postgresql://db.example/pitstop?sslmode=require&password=***"),
    ("postgresql://pitstop@db.example/pitstop?PASSWORD=s3cret", "postgresql://pitstop@db.example/pitstop?PASSWORD=***"),
    ("postgresql://pitstop@db.example/pitstop", "postgresql://pitstop@db.example/pitstop"),
    ("/srv/pitstop/pitstop.db", "/srv/pitstop/pitstop.db"),
])
def test_a_database_address_is_shown_without_its_password(dsn: str, shown: str) -> None:
    from bot.config import redacted

    assert redacted(dsn) == shown
