"""The log filter: payloads and the token never reach a handler, ids and counts do."""

from __future__ import annotations

import logging

import pytest

from bot.logs import REDACT, install_redaction


def record(msg: object, *args: object) -> logging.LogRecord:
    made = logging.LogRecord("telegram.ext.Updater", logging.CRITICAL, __file__, 1, msg, args, None)
    REDACT.filter(made)
    return made


def test_a_batch_of_updates_becomes_its_ids_and_the_token_is_masked() -> None:
    batch = [{"update_id": 5, "message": {"text": "secret one"}}, {"update_id": 7, "poll": {"question": "q"}}]
    line = record("Error while parsing updates! Received data was %r", batch).getMessage()
    assert "secret" not in line and "<2 updates 5..7>" in line
    install_redaction("123456:TEST")
    assert "TEST" not in record("HTTP Request: POST %s", "http://x/bot123456:TEST/getUpdates").getMessage()


def test_a_lone_mapping_a_json_text_and_an_object_are_summarised() -> None:
    assert "secret" not in record("Webhook received data: %s", {"update_id": 3, "text": "secret"}).getMessage()
    assert "secret" not in record("Webhook received data: %s", '{"update_id": 3, "text": "secret"}').getMessage()
    assert "secret" not in record("executing %s", lambda: "secret").getMessage()
    assert record("%(count)d sent to %(who)s", {"count": 3, "who": "set 4"}).getMessage() == "3 sent to set 4"


def test_every_handler_gets_the_filter_once(caplog: pytest.LogCaptureFixture) -> None:
    install_redaction()
    install_redaction()
    assert caplog.handler.filters.count(REDACT) == 1
    logging.getLogger("telegram.ext.Updater").critical("data %r", {"update_id": 1, "message": {"text": "secret"}})
    assert "secret" not in caplog.text
