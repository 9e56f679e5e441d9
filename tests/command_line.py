"""Running `faultdesk` as an admin does: a child process of this worktree's code.

`PYTHONPATH` names this checkout, so the child imports the code under test; the
environment is the test's own less every FAULTDESK_* variable, plus what a test gives.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Output a person must never see: a Python traceback or one of the core's error codes.
TRACEBACK_MARKS = ("Traceback (most recent call last)", "╭─", 'File "/')


@dataclass(frozen=True)
class Ran:
    """What a command printed and its exit status."""

    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Both streams."""
        return self.stdout + self.stderr


def environment(
    extra: Mapping[str, str] | None = None, *, lang: str | None = "en"
) -> dict[str, str]:
    """The child's environment: no FAULTDESK_* of the test run, this checkout first."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FAULTDESK_")}
    env["PYTHONPATH"] = str(ROOT)
    if lang is not None:
        env["FAULTDESK_DEFAULT_LANGUAGE"] = lang
    env.update(extra or {})
    return env


def faultdesk(
    *args: str,
    env: Mapping[str, str] | None = None,
    lang: str | None = "en",
    cwd: Path | None = None,
    timeout: float = 120,
) -> Ran:
    """Run `faultdesk ARGS` to completion."""
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        env=environment(env, lang=lang),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)
