"""initData and the session cookie, checked as Telegram documents them."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from bot.web.auth import (
    AuthFailed,
    make_session,
    read_session,
    sign_init_data,
    validate_init_data,
)

TOKEN = "123456:TEST-token-for-the-web-console-abcdef"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def raw_by_hand(auth_date: int, user: str) -> str:
    """initData signed step by step from Telegram's description, not by our helper."""
    secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    check = f"auth_date={auth_date}\nquery_id=AAHdF6IQ\nuser={user}"
    digest = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return f"query_id=AAHdF6IQ&user={quote(user)}&auth_date={auth_date}&hash={digest}"


def test_genuine_init_data_names_its_user():
    user = json.dumps({"id": 42, "first_name": "Чэнь 陈", "language_code": "ru"})
    found = validate_init_data(
        raw_by_hand(int(NOW.timestamp()) - 60, user), TOKEN, now=NOW, max_age=HOUR
    )
    assert (found.id, found.language_code) == (42, "ru")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda raw: raw.replace("%2242%22", "%2243%22").replace("42", "43"),  # another user
        lambda raw: raw.replace("auth_date=", "auth_date=1"),  # a changed date
        lambda raw: raw[:-1] + ("0" if raw[-1] != "0" else "1"),  # a changed hash
        lambda raw: raw.split("&hash=")[0],  # no hash
        lambda raw: raw + "&hash=00",  # two hashes
        lambda raw: raw + "&extra=1",  # a field added after signing
        lambda raw: "",
        lambda raw: "x" * 9000,
        lambda raw: "%%%",
    ],
)
def test_any_change_to_init_data_is_refused(mutate):
    user = json.dumps({"id": 42, "first_name": "A"})
    raw = raw_by_hand(int(NOW.timestamp()), user)
    with pytest.raises(AuthFailed):
        validate_init_data(mutate(raw), TOKEN, now=NOW, max_age=HOUR)


def test_old_and_future_init_data_are_refused():
    user = json.dumps({"id": 42})
    old = sign_init_data({"auth_date": str(int(NOW.timestamp()) - 3601), "user": user}, TOKEN)
    with pytest.raises(AuthFailed, match="old"):
        validate_init_data(old, TOKEN, now=NOW, max_age=HOUR)
    future = sign_init_data({"auth_date": str(int(NOW.timestamp()) + 3600), "user": user}, TOKEN)
    with pytest.raises(AuthFailed, match="future"):
        validate_init_data(future, TOKEN, now=NOW, max_age=HOUR)
    other_bot = sign_init_data(
        {"auth_date": str(int(NOW.timestamp())), "user": user}, "1:" + "z" * 30
    )
    with pytest.raises(AuthFailed, match="signature"):
        validate_init_data(other_bot, TOKEN, now=NOW, max_age=HOUR)


def test_the_session_cookie_names_its_person_until_it_expires():
    cookie = make_session(7, NOW + HOUR, TOKEN)
    assert read_session(cookie, TOKEN, now=NOW) == 7
    with pytest.raises(AuthFailed, match="expired"):
        read_session(cookie, TOKEN, now=NOW + 2 * HOUR)
    person, expires, signature = cookie.split(".")
    for forged in (
        f"8.{expires}.{signature}",
        f"{person}.{int(expires) + 3600}.{signature}",
        f"{person}.{expires}.{signature[:-1]}0",
        f"{person}.{expires}",
        "",
        make_session(7, NOW + HOUR, "1:" + "z" * 30),
    ):
        with pytest.raises(AuthFailed):
            read_session(forged, TOKEN, now=NOW)
