"""`faultdesk run` in its own process, as an operator starts it, with its output collected.

The process imports this worktree's code (PYTHONPATH is the absolute project root) and
reads settings only from the environment given (no .env: it runs in a scratch folder).
Tests wait for lines of its output (events, not sleeps), send it SIGTERM as systemd
would, and read every line it wrote afterwards.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cli_env(settings: Mapping[str, str]) -> dict[str, str]:
    """The environment without the caller's FAULTDESK_* (and proxies), plus `settings`."""
    cleared = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("FAULTDESK_") and key.lower() not in cleared
    }
    env["PYTHONPATH"] = str(ROOT)
    env.update(settings)
    return env


class BotProcess:
    """A running `python -m bot.cli ARGS` whose stdout and stderr lines are collected."""

    def __init__(self, args: list[str], settings: Mapping[str, str], folder: Path) -> None:
        self.args = args
        self.env = cli_env(settings)
        self.folder = folder
        self.lines: list[str] = []
        self.stderr: list[str] = []  # the log lines (logging writes to stderr)
        self.process: asyncio.subprocess.Process | None = None
        self._changed = asyncio.Condition()
        self._readers: list[asyncio.Task[None]] = []

    async def start(self) -> BotProcess:
        """Start the process."""
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            *self.args,
            cwd=self.folder,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers.append(asyncio.create_task(self._read(self.process.stdout, None)))
        self._readers.append(asyncio.create_task(self._read(self.process.stderr, self.stderr)))
        return self

    async def _read(self, stream: asyncio.StreamReader, also: list[str] | None) -> None:
        while line := await stream.readline():
            decoded = line.decode("utf-8", "replace").rstrip("\n")
            async with self._changed:
                self.lines.append(decoded)
                if also is not None:
                    also.append(decoded)
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    def text(self) -> str:
        """Everything written so far."""
        return "\n".join(self.lines)

    async def wait_for(
        self,
        pattern: str | Callable[[str], bool],
        *,
        count: int = 1,
        timeout: float = 60.0,  # noqa: ASYNC109 - a safety net, like wait_for's
    ) -> re.Match[str] | None:
        """Wait until `count` lines match (a regex or a predicate); the last regex match."""
        matches = (lambda line: re.search(pattern, line)) if isinstance(pattern, str) else pattern

        def enough() -> bool:
            return sum(1 for line in self.lines if matches(line)) >= count or self.exited()

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(enough), timeout)
            except TimeoutError:
                raise AssertionError(
                    f"no line matching {pattern!r} within {timeout} s:\n{self.text()}"
                ) from None
        found = [line for line in self.lines if matches(line)]
        if len(found) < count:
            raise AssertionError(f"the process exited before {pattern!r}:\n{self.text()}")
        if isinstance(pattern, str):
            return re.search(pattern, found[count - 1])
        return None

    def exited(self) -> bool:
        """True once the process has ended."""
        return self.process is not None and self.process.returncode is not None

    async def wait(self, timeout: float = 60.0) -> int:  # noqa: ASYNC109
        """Wait for the process to end by itself; its exit code."""
        assert self.process is not None
        code = await asyncio.wait_for(self.process.wait(), timeout)
        await asyncio.gather(*self._readers)
        return code

    async def stop(self, timeout: float = 60.0) -> int:  # noqa: ASYNC109
        """SIGTERM (as systemd stops a service); the exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await self.wait(timeout)
        except TimeoutError:
            self.process.kill()
            return await self.wait(timeout)


@dataclass(frozen=True)
class Finished:
    """A command that ran to its end."""

    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """stdout and stderr together."""
        return self.stdout + self.stderr


async def run_cli(
    *args: str, settings: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Finished:
    """Run `faultdesk ARGS` to its end in its own process (the event loop keeps running)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        cwd=cwd or tempfile.gettempdir(),  # no .env of the repository is read
        env=cli_env(settings or {}),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return Finished(process.returncode, stdout.decode(), stderr.decode())
