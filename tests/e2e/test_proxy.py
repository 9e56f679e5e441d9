"""Reaching Telegram through a proxy: HTTP and SOCKS5, on both runtimes, set or from the environment.

The bot is given an API address that never resolves, so each request that works has
gone through the local proxy (which forwards to the emulator and counts connections).
"""

from __future__ import annotations

import pytest
from proxies import CountingProxy

pytestmark = pytest.mark.e2e

ALICE = 1001
PHOTO = b"\x89PNG\r\n\x1a\n" + b"a photo someone sent" * 50


@pytest.fixture
def proxy(emulator):
    port = int(emulator.base_url.rsplit(":", 1)[1])
    with CountingProxy(port) as running:
        yield running


@pytest.mark.parametrize("scheme", ["http", "socks5"])
async def test_the_bot_works_only_through_the_configured_proxy(deployment, emulator, proxy, scheme):
    deployment.overrides.update(api_base_url=proxy.api_base_url(), proxy=proxy.url(scheme))
    await deployment.start()
    await deployment.register(ALICE, "Alice", language="en")
    alice = emulator.person(user_id=ALICE, first_name="Alice", language_code="en")

    await alice.send("/help")
    await alice.wait_for("/report")  # getMe, getUpdates and sendMessage all went through

    # A file someone sent, fetched the way any feature would: getFile, then the download.
    stored = emulator.files.add(PHOTO, kind="photo", mime_type="image/png")
    runtime = deployment.running.runtime
    assert runtime is not None
    assert await runtime.download(stored.file_id) == PHOTO
    assert proxy.count(scheme) >= 1
    assert {line.split(" ")[0] for line in proxy.lines} == {scheme}


@pytest.mark.parametrize(("variable", "scheme"), [("http_proxy", "http"), ("ALL_PROXY", "socks5")])
async def test_the_proxy_is_taken_from_the_standard_environment_variables(
    deployment, emulator, proxy, monkeypatch, variable, scheme
):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ALL_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setenv(variable, proxy.url(scheme))
    deployment.overrides.update(api_base_url=proxy.api_base_url())
    await deployment.start()
    await deployment.register(ALICE, "Alice", language="en")
    alice = emulator.person(user_id=ALICE, first_name="Alice", language_code="en")

    await alice.send("/help")
    await alice.wait_for("/report")
    assert proxy.count(scheme) >= 1
