"""Who is asking: Telegram Mini App initData, and the console's session cookie.

initData is checked as Telegram documents it
(https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app):
the raw query string exactly as received, every field but `hash` sorted and joined with
newlines, signed with HMAC-SHA256 under the key HMAC-SHA256("WebAppData", bot token);
compared in constant time; `auth_date` younger than a bound. Nothing is decoded before
the signature holds.

The cookie a one-time `/web` link sets is `person.expires.signature`, signed with a key
derived from the bot token: every instance of one bot accepts it, and a changed person
or expiry breaks the signature. Whether the person is still registered and active is
asked of the database on every request, so deactivating someone closes their console.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import parse_qsl

MAX_INIT_DATA: Final = 8192  # bytes; Telegram's are well under 2 KB


class AuthFailed(Exception):
    """The request does not prove who sent it; `reason` is for the log, never shown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TelegramUser:
    """The Telegram account initData vouches for."""

    id: int
    language_code: str | None
    auth_date: datetime


def webapp_secret(bot_token: str) -> bytes:
    """The key initData is signed with: HMAC-SHA256 of the token under "WebAppData"."""
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def sign_init_data(fields: dict[str, str], bot_token: str) -> str:
    """initData as Telegram would send it (for tests, the sandbox and the demo)."""
    from urllib.parse import urlencode

    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    digest = hmac.new(webapp_secret(bot_token), check.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})


def validate_init_data(
    raw: str, bot_token: str, *, now: datetime, max_age: timedelta
) -> TelegramUser:
    """The user a genuine, fresh initData names; AuthFailed otherwise."""
    if not raw or len(raw) > MAX_INIT_DATA:
        raise AuthFailed("initData missing or too long")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError as error:
        raise AuthFailed("initData is not a query string") from error
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise AuthFailed(f"initData repeats {key}")
        fields[key] = value
    received = fields.pop("hash", "")
    if not received:
        raise AuthFailed("initData has no hash")
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    expected = hmac.new(webapp_secret(bot_token), check.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, received.lower()):
        raise AuthFailed("initData signature does not match")
    try:
        signed_at = int(fields["auth_date"])
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError) as error:
        raise AuthFailed("initData lacks auth_date or user") from error
    auth_date = datetime.fromtimestamp(signed_at, tz=now.tzinfo)
    age = now - auth_date
    if age > max_age:
        raise AuthFailed(f"initData is {age.total_seconds():.0f} s old")
    if age < -timedelta(minutes=5):  # signed in the future: a clock far off, or forged
        raise AuthFailed("initData is dated in the future")
    language = user.get("language_code")
    return TelegramUser(
        id=user_id,
        language_code=language if isinstance(language, str) else None,
        auth_date=auth_date,
    )


def cookie_key(bot_token: str) -> bytes:
    """The session cookie's signing key, alike on every instance of one bot."""
    return hmac.new(b"faultdesk-web-session", bot_token.encode(), hashlib.sha256).digest()


def make_session(person_id: int, expires: datetime, bot_token: str) -> str:
    """A signed cookie value naming the person until `expires`."""
    body = f"{person_id}.{int(expires.timestamp())}"
    signature = hmac.new(cookie_key(bot_token), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{signature}"


def read_session(value: str, bot_token: str, *, now: datetime) -> int:
    """The person id of a genuine, unexpired cookie; AuthFailed otherwise."""
    parts = value.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise AuthFailed("session cookie malformed")
    body = f"{parts[0]}.{parts[1]}"
    expected = hmac.new(cookie_key(bot_token), body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, parts[2]):
        raise AuthFailed("session cookie signature does not match")
    if int(parts[1]) <= now.timestamp():
        raise AuthFailed("session cookie expired")
    return int(parts[0])
