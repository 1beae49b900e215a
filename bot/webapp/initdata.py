"""Who opened the console: Telegram's signed `initData`, checked exactly as the Mini Apps documentation says.

https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app — the data is a query
string of field=value pairs; its `hash` is the hex HMAC-SHA256 of the *data-check-string* (every other
field, sorted by name, as `name=value` joined by line feeds) under the secret key HMAC-SHA256("WebAppData",
bot token). The hashes are compared in constant time, and `auth_date` (when Telegram made the data) must
be recent: the data is a bearer token for as long as it is accepted.

Pure: the moment and the token are passed in. `sign` makes such data for the tests and the demo.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

MAX_INIT_DATA = 4096  # Telegram's initData is well under 1 KB; anything this long is not from Telegram
FUTURE_SKEW = 60  # seconds an auth_date may lie ahead of our clock (clocks drift a little)


class InitDataError(Exception):
    """initData that proves nothing: missing, malformed, forged or too old. `reason` names which, for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WebAppUser:
    """The Telegram user the signed data names."""

    id: int
    first_name: str
    language_code: str
    auth_date: int


def secret_key(token: str) -> bytes:
    """Gives the key the data is signed with: HMAC-SHA256 of the bot token under the key "WebAppData"."""
    return hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()


def data_check_string(fields: dict[str, str]) -> str:
    """Gives every field but `hash`, sorted by name, as `name=value` lines joined by line feeds."""
    return "\n".join(f"{name}={fields[name]}" for name in sorted(fields) if name != "hash")


def check(raw: str, token: str, now: datetime, max_age: int) -> WebAppUser:
    """Gives the user of a console request's initData, or raises InitDataError.

    Refused: empty or oversized data, a field given twice, no hash, a hash that does not match (a field
    changed, another bot's token), no or a malformed auth_date, one older than `max_age` seconds or from
    the future, and a user that is not a JSON object with a numeric id.
    """
    if not raw:
        raise InitDataError("missing")
    if len(raw) > MAX_INIT_DATA:
        raise InitDataError("too long")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise InitDataError("malformed") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InitDataError("a field given twice")
    given = fields.get("hash", "")
    if not given:
        raise InitDataError("no hash")
    expected = hmac.new(secret_key(token), data_check_string(fields).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise InitDataError("hash does not match")
    # Only signed data is read from here on.
    auth_date = fields.get("auth_date", "")
    if not auth_date.isdigit():
        raise InitDataError("no auth_date")
    age = now.timestamp() - int(auth_date)
    if age > max_age:
        raise InitDataError("expired")
    if age < -FUTURE_SKEW:
        raise InitDataError("from the future")
    try:
        user = json.loads(fields.get("user", ""))
    except ValueError:
        raise InitDataError("no user") from None
    if not isinstance(user, dict) or not isinstance(user.get("id"), int) or isinstance(user.get("id"), bool):
        raise InitDataError("no user")
    return WebAppUser(
        id=int(user["id"]),
        first_name=str(user.get("first_name") or "")[:64],
        language_code=str(user.get("language_code") or "")[:8],
        auth_date=int(auth_date),
    )


def sign(fields: dict[str, str], token: str) -> str:
    """Gives initData as Telegram would make it for these fields (for the tests and the demo's links)."""
    digest = hmac.new(secret_key(token), data_check_string(fields).encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})


def signed_for(user_id: int, first_name: str, language_code: str, token: str, at: datetime) -> str:
    """Gives signed initData naming one user at a moment, the fields a Telegram client sends."""
    user = json.dumps({"id": user_id, "first_name": first_name, "language_code": language_code}, separators=(",", ":"))
    return sign({"auth_date": str(int(at.timestamp())), "query_id": f"demo{user_id}", "user": user}, token)
