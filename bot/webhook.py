"""The webhook receiver: one aiohttp server in front of whichever runtime is active.

Telegram POSTs each update as JSON with the secret we gave to setWebhook in the
X-Telegram-Bot-Api-Secret-Token header. Requests without the right secret get 401.
A good update is handed to the runtime, which writes it to the update journal and
queues it (handling goes on in the chat's lane); it is answered 200 once written, so
Telegram's delivery never waits on our handlers and a crash after the answer loses
nothing. An update that cannot be written (the database is away) is answered 503:
Telegram posts it again, and holds the chat's later updates back meanwhile.

Several instances may sit behind one load balancer: duplicates, the order of a chat's
updates and dialog state are settled in the database (the chat's lane, `bot.lanes`),
not in this process. Telegram posts a chat's next update once the previous one is
answered, so the journal holds each chat's updates in update order.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final
from urllib.parse import urlsplit

from aiohttp import web

log = logging.getLogger(__name__)

SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH: Final = "/healthz"

Feed = Callable[[dict[str, Any]], Awaitable[None]]


class NotJournaled(Exception):
    """The update could not be written down: answered with an error so Telegram retries."""


def default_secret(token: str) -> str:
    """A secret every instance of one bot derives alike (when none is configured)."""
    return hashlib.sha256(f"faultdesk-webhook:{token}".encode()).hexdigest()


def webhook_path(url: str) -> str:
    """The path of the public webhook URL: where the server listens (a proxy keeps it)."""
    return urlsplit(url).path or "/"


def parse_listen(listen: str) -> tuple[str, int]:
    """'host:port' (or '[::1]:port') -> (host, port)."""
    host, separator, port = listen.rpartition(":")
    if not separator or not port.isdigit():
        raise ValueError(f"webhook_listen must be host:port, not {listen!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


class WebhookServer:
    """Receives Telegram's POSTs on one path and feeds them to the runtime."""

    def __init__(
        self,
        feed: Feed,
        *,
        path: str,
        secret: str,
        listen: str,
        mount: Callable[[web.Application], None] | None = None,
    ) -> None:
        self._feed = feed
        self._mount = mount  # more routes on the same address (the web console)
        self.path = path
        self._secret = secret.encode()
        self.host, self.port = parse_listen(listen)
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        """The aiohttp application (exposed for tests with aiohttp's test client)."""
        application = web.Application()
        application.router.add_post(self.path, self._receive)
        application.router.add_get(HEALTH_PATH, self._health)
        if self._mount is not None:
            self._mount(application)
        return application

    async def start(self) -> None:
        """Listen on host:port (port 0 picks a free one; `port` tells which)."""
        runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        addresses = runner.addresses
        if addresses:
            self.port = int(addresses[0][1])
        log.info("webhook server listening on %s:%s%s", self.host, self.port, self.path)

    async def stop(self) -> None:
        """Stop accepting updates; requests in progress finish first."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("webhook request from %s without the right secret", request.remote)
            return web.Response(status=401, text="unauthorized")
        try:
            data = await request.json()
        except ValueError:  # not UTF-8 (UnicodeDecodeError) or not JSON (JSONDecodeError)
            log.warning("webhook request from %s: the body is not JSON in UTF-8", request.remote)
            return web.Response(status=400, text="the body is not JSON in UTF-8")
        if not isinstance(data, dict) or type(data.get("update_id")) is not int:
            log.warning("webhook request from %s: not an update", request.remote)
            return web.Response(status=400, text="an update is a JSON object with an update_id")
        try:
            await self._feed(data)
        except NotJournaled:
            log.warning("webhook update %s not journaled; Telegram will retry", data["update_id"])
            return web.Response(status=503, text="the update could not be stored; retry")
        except Exception:
            # Answering an error would make Telegram redeliver this update forever and
            # hold back every later one; log it and move on.
            log.exception("webhook update %s could not be read", data.get("update_id"))
        return web.Response(status=200)

    async def _health(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")
