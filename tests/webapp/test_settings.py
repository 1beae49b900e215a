"""The console's settings: off unless PITSTOP_WEBAPP_URL names a public https address; each mistake one sentence."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings

TOKEN = {"TELEGRAM_BOT_TOKEN": "123456:TEST"}


def test_the_console_is_off_unless_its_address_is_set() -> None:
    settings = load_settings(TOKEN, env_file=None)
    assert settings.webapp_url is None and settings.webapp_max_age == 3600


def test_the_console_settings_are_read() -> None:
    settings = load_settings({**TOKEN, "PITSTOP_WEBAPP_URL": "https://pitstop.example.org/console/",
                              "PITSTOP_WEBAPP_PORT": "9001", "PITSTOP_WEBAPP_LISTEN": "0.0.0.0",
                              "PITSTOP_WEBAPP_MAX_AGE": "600"}, env_file=None)
    assert settings.webapp_url == "https://pitstop.example.org/console"
    assert (settings.webapp_port, settings.webapp_listen, settings.webapp_max_age) == (9001, "0.0.0.0", 600)


@pytest.mark.parametrize("name, value, says", [
    ("PITSTOP_WEBAPP_URL", "http://pitstop.example.org", "https"),
    ("PITSTOP_WEBAPP_URL", "pitstop.example.org", "https"),
    ("PITSTOP_WEBAPP_PORT", "eighty", "PITSTOP_WEBAPP_PORT must be a number"),
    ("PITSTOP_WEBAPP_PORT", "70000", "PITSTOP_WEBAPP_PORT must be a port number"),
    ("PITSTOP_WEBAPP_MAX_AGE", "5", "at least 60 seconds"),
])
def test_a_wrong_console_setting_is_one_sentence_naming_it(name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({**TOKEN, name: value}, env_file=None)
    assert says in str(refused.value) and name in str(refused.value)
