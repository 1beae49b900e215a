"""Log records without payloads: no journal text and no token, whichever logger writes them.

python-telegram-bot logs whole update batches (CRITICAL when one cannot be parsed, DEBUG for every
call), its webhook server the request body, aiosqlite the SQL parameters, httpx the URL with the
token. The filter is put on every handler, so every record is cleaned before anything writes it.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import PurePath
from typing import Any

import httpx

TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
# The start of a dict or list literal with a quoted key or item: JSON, or a Python repr of one.
PAYLOAD = re.compile(r"""[\[{(]\s*(?:b?['"]|\{|\[)""")
KEPT = (int, float, bool, type(None), enum.Enum)
AS_TEXT = (httpx.URL, datetime, date, timedelta, PurePath)


SECRETS: set[str] = set()


def mask(text: str) -> str:
    """Gives a text with the bot token (the configured one, and anything shaped like one) masked."""
    for secret in SECRETS:
        text = text.replace(secret, "<token>")
    return TOKEN.sub("<token>", text)


def scrub(text: str) -> str:
    """Gives a text with the token masked and anything from a dict or list literal on cut off."""
    text = mask(text)
    found = PAYLOAD.search(text)
    if found is not None:
        text = text[: found.start()] + "<payload redacted>"
    return text


def scrub_trace(trace: str) -> str:
    """Gives a traceback with the token masked and payloads cut from its messages (not its source lines)."""
    lines = mask(trace).split("\n")
    return "\n".join(line if line.startswith((" ", "Traceback")) else scrub(line) for line in lines)


def summary(value: Any) -> str:
    """Gives what a payload is without what it says: its type, and update ids when there are any."""
    if isinstance(value, Mapping) and isinstance(value.get("update_id"), int):
        return f"<update {value['update_id']}>"
    if isinstance(value, (list, tuple)):
        ids: list[Any] = [v.get("update_id") for v in value if isinstance(v, Mapping)]
        ids += [getattr(v, "update_id", None) for v in value if not isinstance(v, Mapping)]
        ids = [i for i in ids if isinstance(i, int)]
        if ids:
            return f"<{len(value)} updates {min(ids)}..{max(ids)}>"
        return f"<{type(value).__name__} of {len(value)}>"
    update_id = getattr(value, "update_id", None)
    if isinstance(update_id, int):
        return f"<update {update_id}>"
    return f"<{type(value).__name__}>"


def clean(value: Any) -> Any:
    """Gives a log argument as it may be written: numbers as they are, texts scrubbed, payloads summarised."""
    if isinstance(value, KEPT):
        return value
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, AS_TEXT):
        return scrub(str(value))
    if isinstance(value, BaseException):
        return scrub(f"{type(value).__name__}: {value}")
    return summary(value)


class RedactPayloads(logging.Filter):
    """Rewrites every record's message, arguments and traceback before a handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Cleans the record in place (handlers share it) and lets it through."""
        if getattr(record, "_pitstop_clean", False):
            return True
        record.msg = scrub(record.msg) if isinstance(record.msg, str) else summary(record.msg)
        if isinstance(record.args, Mapping):
            if "%(" in record.msg:
                record.args = {key: clean(value) for key, value in record.args.items()}
            else:  # `log.debug("%s", a_dict)`: logging unpacks a lone mapping into args
                record.args = (summary(record.args),)
        elif record.args:
            record.args = tuple(clean(value) for value in record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub_trace(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = scrub_trace(record.exc_text)
        record._pitstop_clean = True
        return True


REDACT = RedactPayloads()


def install_redaction(*secrets: str) -> None:
    """Puts the filter on every handler there is (the root's and any logger's); calling it again adds none.

    `secrets` (the bot token) are masked wherever they appear, whatever their shape.
    """
    SECRETS.update(s for s in secrets if len(s) >= 6)
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [x for x in logging.root.manager.loggerDict.values() if isinstance(x, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            if REDACT not in handler.filters:
                handler.addFilter(REDACT)
