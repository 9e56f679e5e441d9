"""How the bot reaches the Bot API: the proxy, and URLs shown without their secrets.

From a network where Telegram is blocked the bot needs a proxy. `resolve_proxy` picks
one for the Bot API URL: `FAULTDESK_PROXY` when set ("direct" for none at all), else the
standard environment variables (`https_proxy`, `http_proxy`, `all_proxy`, upper or lower
case, and `no_proxy`), read by the standard library the way curl and pip read them.
Both runtimes get the same answer, so aiogram (which ignores the environment by
itself) and python-telegram-bot (which would read it its own way) behave alike, for
API calls and file downloads.
"""

from __future__ import annotations

import urllib.request
from typing import Final
from urllib.parse import quote, urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

TELEGRAM_API: Final = "https://api.telegram.org"
PROXY_SCHEMES: Final = ("http", "https", "socks5", "socks5h")
DIRECT: Final = ("direct", "none")


class ProxyError(ValueError):
    """A proxy setting that cannot be used."""


def check_proxy(url: str) -> str:
    """The proxy URL as given, or ProxyError naming what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in PROXY_SCHEMES:
        raise ProxyError(
            f"proxy {hide_password(url)!r}: use a URL starting with "
            + ", ".join(f"{scheme}://" for scheme in PROXY_SCHEMES)
        )
    try:
        port = parts.port
    except ValueError as error:
        raise ProxyError(f"proxy {hide_password(url)!r}: the port is not a number") from error
    if not parts.hostname or port is None:
        raise ProxyError(f"proxy {hide_password(url)!r}: give a host and a port (host:port)")
    return url


def resolve_proxy(setting: str | None, api_base_url: str | None) -> str | None:
    """The proxy for requests to the Bot API, or None to connect directly."""
    if setting is not None and setting.strip():
        value = setting.strip()
        return None if value.lower() in DIRECT else check_proxy(value)
    api = urlsplit(api_base_url or TELEGRAM_API)
    proxies = urllib.request.getproxies_environment()
    host = api.hostname or ""
    if proxies and urllib.request.proxy_bypass(host):  # no_proxy
        return None
    chosen = proxies.get(api.scheme) or proxies.get("all")
    return check_proxy(chosen) if chosen else None


def url_password(url: str) -> str | None:
    """The password in a URL (database or proxy), if it has one."""
    if not url:
        return None
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):  # not a URL SQLAlchemy reads (a bad port...)
        try:
            password = urlsplit(url).password
        except ValueError:
            return None
    return str(password) if password else None


def password_forms(password: str) -> list[str]:
    """A password as typed and as it appears percent-encoded in a URL."""
    return sorted({password, quote(password, safe="")}, key=len, reverse=True)


def hide_password(url: str) -> str:
    """The URL with its password replaced by ***, for log lines and messages."""
    password = url_password(url)
    if not password:
        return url
    for form in password_forms(password):
        url = url.replace(f":{form}@", ":***@")
    return url
