"""Which proxy the bot uses, and URLs shown without their passwords."""

from __future__ import annotations

import pytest

from bot.network import ProxyError, hide_password, resolve_proxy, url_password
from bot.settings import Settings
from bot.webhook import default_secret

PROXY_VARIABLES = (
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_without_any_setting_the_bot_connects_directly():
    assert resolve_proxy(None, None) is None
    assert resolve_proxy("", "http://127.0.0.1:8081") is None


def test_the_setting_wins_over_the_environment_and_direct_means_none(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy:3128")
    assert resolve_proxy("socks5://127.0.0.1:1080", None) == "socks5://127.0.0.1:1080"
    assert resolve_proxy("direct", None) is None
    assert resolve_proxy("NONE", None) is None


def test_the_environment_is_read_for_the_api_s_scheme(monkeypatch):
    monkeypatch.setenv("https_proxy", "http://for-https:3128")
    monkeypatch.setenv("http_proxy", "http://for-http:3128")
    assert resolve_proxy(None, None) == "http://for-https:3128"  # api.telegram.org is https
    assert resolve_proxy(None, "http://127.0.0.1:8081") == "http://for-http:3128"


def test_all_proxy_is_the_fallback_and_no_proxy_is_honoured(monkeypatch):
    monkeypatch.setenv("ALL_PROXY", "socks5h://user:pw@gateway:1080")
    assert resolve_proxy(None, None) == "socks5h://user:pw@gateway:1080"
    monkeypatch.setenv("NO_PROXY", "localhost,api.telegram.org")
    assert resolve_proxy(None, None) is None
    assert resolve_proxy(None, "http://bot-api.internal:8081") == "socks5h://user:pw@gateway:1080"


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("ftp://proxy:21", "use a URL starting with http://, https://, socks5://, socks5h://"),
        ("proxy.example:3128", "use a URL starting with"),
        ("http://proxy", "give a host and a port"),
        ("socks5://proxy:port", "the port is not a number"),
    ],
)
def test_a_proxy_that_cannot_work_is_refused_with_the_reason(value, said):
    with pytest.raises(ProxyError, match=said):
        resolve_proxy(value, None)


def test_a_bad_proxy_from_the_environment_is_refused_too(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "gopher://old:70")
    with pytest.raises(ProxyError):
        resolve_proxy(None, None)


def test_passwords_are_hidden_in_urls_and_known_as_secrets():
    url = "postgresql://desk:S3cret%40Pw@db.internal:5432/faultdesk"
    assert url_password(url) == "S3cret@Pw"
    assert hide_password(url) == "postgresql://desk:***@db.internal:5432/faultdesk"
    assert hide_password("socks5://u:p4ss@gw:1080") == "socks5://u:***@gw:1080"
    assert hide_password("sqlite:///faultdesk.sqlite3") == "sqlite:///faultdesk.sqlite3"
    settings = Settings(
        _env_file=None,
        bot_token="123456:AAAbcdefghijklmnopqrstuvwxyz0123",
        database_url=url,
        proxy="http://ops:Pr0xy@gw:3128",
        webhook_secret="hook-secret",
    )
    secrets = settings.secrets()
    for secret in (
        "123456:AAAbcdefghijklmnopqrstuvwxyz0123",
        "AAAbcdefghijklmnopqrstuvwxyz0123",
        "S3cret@Pw",
        "S3cret%40Pw",
        "Pr0xy",
        "hook-secret",
    ):
        assert secret in secrets
    assert default_secret("123456:AAAbcdefghijklmnopqrstuvwxyz0123") in secrets
    # Longest first: a token is masked whole, not around its secret part.
    assert secrets == sorted(secrets, key=len, reverse=True)


def test_the_bot_id_is_the_number_the_token_starts_with():
    assert Settings(_env_file=None, bot_token="7700000001:AAx").bot_id() == 7700000001
    assert Settings(_env_file=None).bot_id() == 0
    well = Settings(_env_file=None, bot_token="123456:AAAbcdefghijklmnopqrstuvwxyz0123")
    assert well.token_is_well_formed()
    for bad in (
        "123456",
        "abc:AAAbcdefghijklmnopqrstuvwxyz0123",
        "123:short",
        "1:has space in it here",
    ):
        assert not Settings(_env_file=None, bot_token=bad).token_is_well_formed()
