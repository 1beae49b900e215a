"""The console believes only initData Telegram signed for this bot, recently: checked as the Mini Apps
documentation says, with data signed by a test token."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.webapp.initdata import InitDataError, check, data_check_string, secret_key, sign, signed_for

TOKEN = "123456:TEST-token_for-the-console"
NOW = datetime(2027, 3, 24, 9, 0, tzinfo=UTC)
HOUR = 3600


def fields(raw: str) -> dict[str, str]:
    return dict(parse_qsl(raw, keep_blank_values=True))


def reason(raw: str, token: str = TOKEN, now: datetime = NOW, max_age: int = HOUR) -> str:
    with pytest.raises(InitDataError) as refused:
        check(raw, token, now, max_age)
    return refused.value.reason


def test_data_signed_for_this_bot_names_its_user() -> None:
    raw = signed_for(4242, "Anna", "nl", TOKEN, NOW - timedelta(minutes=5))
    user = check(raw, TOKEN, NOW, HOUR)
    assert (user.id, user.first_name, user.language_code) == (4242, "Anna", "nl")
    assert user.auth_date == int((NOW - timedelta(minutes=5)).timestamp())


def test_the_signature_is_the_one_the_documentation_describes() -> None:
    """Computed here from the documentation's words, not with the module's own helpers."""
    user = json.dumps({"id": 7, "first_name": "Bob"})
    values = {"query_id": "AAH", "user": user, "auth_date": str(int(NOW.timestamp()))}
    checked = "\n".join(f"{k}={values[k]}" for k in sorted(values))
    key = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    digest = hmac.new(key, checked.encode(), hashlib.sha256).hexdigest()
    raw = urlencode({**values, "hash": digest})
    assert check(raw, TOKEN, NOW, HOUR).id == 7
    assert data_check_string({**values, "hash": digest}) == checked and secret_key(TOKEN) == key


def test_a_changed_field_is_refused() -> None:
    raw = signed_for(4242, "Anna", "nl", TOKEN, NOW)
    forged = fields(raw)
    forged["user"] = forged["user"].replace("4242", "4243")  # someone else's id under Anna's hash
    assert reason(urlencode(forged)) == "hash does not match"
    later = fields(raw)
    later["auth_date"] = str(int(NOW.timestamp()) + 1)  # a fresher date to outlive the hour
    assert reason(urlencode(later)) == "hash does not match"


def test_data_signed_with_another_bots_token_is_refused() -> None:
    raw = signed_for(4242, "Anna", "nl", "999999:ANOTHER-bot", NOW)
    assert reason(raw) == "hash does not match"


def test_data_older_than_the_allowed_age_is_refused_and_the_age_is_configurable() -> None:
    raw = signed_for(4242, "Anna", "nl", TOKEN, NOW - timedelta(hours=1, seconds=1))
    assert reason(raw) == "expired"
    assert check(raw, TOKEN, NOW, 2 * HOUR).id == 4242
    assert reason(signed_for(4242, "Anna", "nl", TOKEN, NOW + timedelta(minutes=5))) == "from the future"


def test_data_without_a_hash_or_with_an_empty_one_is_refused() -> None:
    raw = fields(signed_for(4242, "Anna", "nl", TOKEN, NOW))
    del raw["hash"]
    assert reason(urlencode(raw)) == "no hash"
    assert reason(urlencode({**raw, "hash": ""})) == "no hash"


@pytest.mark.parametrize("raw, why", [
    ("", "missing"),
    ("x" * 5000, "too long"),
    ("no-equals-sign", "malformed"),
    ("auth_date=1&auth_date=2&hash=00", "a field given twice"),
])
def test_malformed_data_is_refused_before_any_field_is_believed(raw: str, why: str) -> None:
    assert reason(raw) == why


def test_signed_data_without_a_user_or_a_date_is_refused() -> None:
    assert reason(sign({"auth_date": str(int(NOW.timestamp()))}, TOKEN)) == "no user"
    assert reason(sign({"auth_date": str(int(NOW.timestamp())), "user": '{"id": "7"}'}, TOKEN)) == "no user"
    assert reason(sign({"user": '{"id": 7}'}, TOKEN)) == "no auth_date"
