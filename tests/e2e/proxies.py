"""A local HTTP + SOCKS5 proxy (pproxy) in front of the emulator, counting what passes.

The proxy runs on its own thread and event loop, as a separate proxy server would, and
forwards every connection it accepts to the emulator whatever host was asked for. The
bot is given an API address under `.invalid` (a name that never resolves, RFC 6761), so
it can only reach the emulator through the proxy: a request that bypassed it would fail.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any, Final

import pproxy

UNRESOLVABLE_HOST: Final = "api.telegram.invalid"


async def _cancel_the_rest() -> None:
    """Cancel the tunnels still open on this loop and wait for them to end."""
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


class CountingProxy:
    """pproxy listening for HTTP and SOCKS5 on one loopback port, tunnelling to `target`."""

    def __init__(self, target_port: int, *, user: str | None = None) -> None:
        self.target_port = target_port
        self.user = user  # "name:password" the proxy demands, or None
        self.port = 0
        self.connections: Counter[str] = Counter()  # by protocol: "http", "socks5"
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-proxy", daemon=True)

    def url(self, scheme: str) -> str:
        """The proxy's URL for `scheme` ("http" or "socks5"), with the credentials if any."""
        credentials = f"{self.user}@" if self.user else ""
        return f"{scheme}://{credentials}127.0.0.1:{self.port}"

    def api_base_url(self) -> str:
        """The Bot API address to give the bot: reachable only through this proxy."""
        return f"http://{UNRESOLVABLE_HOST}:{self.target_port}"

    def _seen(self, line: str) -> None:
        with self._lock:
            self.lines.append(line)
            protocol = line.split(" ", 1)[0]
            if UNRESOLVABLE_HOST in line:
                self.connections[protocol] += 1

    def count(self, protocol: str) -> int:
        """Connections to the emulator made through the proxy with `protocol`."""
        with self._lock:
            return self.connections[protocol]

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        auth = f"#{self.user}" if self.user else ""
        server = pproxy.Server(f"http+socks5://127.0.0.1:0{auth}")
        remote = pproxy.Connection(f"tunnel://127.0.0.1:{self.target_port}")
        self._server = loop.run_until_complete(
            server.start_server({"rserver": [remote], "verbose": self._seen})
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._ready.set()
        loop.run_forever()
        # Stopped: close the listener and the tunnels still open, then the loop.
        self._server.close()
        loop.run_until_complete(self._server.wait_closed())
        loop.run_until_complete(_cancel_the_rest())
        loop.close()

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the test proxy did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
