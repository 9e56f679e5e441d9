"""README's "Running for real" works as written, on a fresh folder.

The section's commands are taken from the README itself and run in order as child
processes, in a scratch folder holding the repository's `examples/` (the admin's
register), with the sandbox emulator standing in for Telegram: the token line gets the
emulator's token and `FAULTDESK_API_BASE_URL`. The admin link the README prints is
opened on a simulated phone; `faultdesk run` runs in the background while the admin makes
an invitation in the chat, then stops on SIGTERM as a service manager stops it.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from command_line import ROOT, environment

from sandbox import BotApiEmulator

pytestmark = pytest.mark.e2e

TOKEN = "123456789:AAE2eTokenForFaultdeskRuntimes-0123"


def running_for_real() -> list[str]:
    """The shell lines of the section's first code block, comments stripped."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Running for real", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"\n\n((?:    .*\n)+)", section)
    assert block is not None, "no code block in Running for real"
    lines = []
    for raw in block.group(1).splitlines():
        line = raw.strip()
        if not line:
            continue
        # A comment starts at " #" outside quotes; shlex keeps quoted text whole.
        words = shlex.split(line, comments=True)
        lines.append(shlex.join(words))
    return lines


def test_the_section_is_only_commands_the_test_can_run():
    lines = running_for_real()
    assert lines[0].startswith("export FAULTDESK_BOT_TOKEN=")
    assert all(line.startswith(("export ", "faultdesk ")) for line in lines), lines
    assert lines[-1] == "faultdesk run"
    for needed in ("site add", "department add", "asset import", "asset labels", "invite create"):
        assert any(needed in line for line in lines), needed


async def test_running_for_real_works_as_written(tmp_path: Path):
    folder = tmp_path / "fresh"
    folder.mkdir()
    shutil.copytree(ROOT / "examples", folder / "examples")
    async with BotApiEmulator() as emulator:
        emulator.register_bot(TOKEN, username="hq_helpdesk_bot", first_name="HQ helpdesk")
        env = environment(lang=None)
        admin_link = ""
        server: subprocess.Popen[str] | None = None
        try:
            for line in running_for_real():
                words = shlex.split(line)
                if words[0] == "export":
                    name, _, value = words[1].partition("=")
                    if name == "FAULTDESK_BOT_TOKEN":
                        value = TOKEN
                        env["FAULTDESK_API_BASE_URL"] = emulator.base_url
                    env[name] = value
                    continue
                command = [sys.executable, "-m", "bot.cli", *words[1:]]
                if words[1] == "run":
                    server = subprocess.Popen(
                        command,
                        cwd=folder,
                        env=env,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        text=True,
                    )
                    break
                done = await asyncio.to_thread(
                    subprocess.run,
                    command,
                    cwd=folder,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=180,
                )
                assert done.returncode == 0, (line, done.stdout, done.stderr)
                assert "Traceback" not in done.stderr
                if "invite create" in line:
                    admin_link = done.stdout.strip()
            assert (folder / "faultdesk.sqlite3").exists() and (folder / "labels.pdf").exists()
            assert admin_link.startswith("https://t.me/hq_helpdesk_bot?start=inv_")

            assert server is not None and server.stdout is not None
            started = await asyncio.to_thread(_wait_for_line, server, "running on aiogram")
            assert "@hq_helpdesk_bot" in started
            me = emulator.person(user_id=8080, first_name="Zhang", language_code="en")
            await me.open_link(admin_link)
            await me.wait_for("You are registered as administrator.", timeout=30)
            await me.send("/invite")
            await me.wait_for("Which role?", timeout=30)
            # Each press edits the panel; the next button is there once its question is.
            for choice, question in (
                ("Staff", "Which site?"),
                ("Head office", "Which department?"),
                ("Finance", "For how many people?"),
                ("50 people", "Valid for how long?"),
            ):
                await me.press(choice)
                await me.wait_for(question, timeout=30)
            await me.press("30 days")
            made = await me.wait_for("Invitation: staff at Head office, Finance", timeout=30)
            assert "https://t.me/hq_helpdesk_bot?start=inv_" in made.text
            # A sticker from the sheet the README made opens the report on a phone.
            await me.open_link("https://t.me/hq_helpdesk_bot?start=asset_PJ-501")
            report = await me.wait_for("What is wrong?", timeout=30)
            assert "Device: Projector 爱普生 CB-2247U · PJ-501 · 501 会议室" in report.text
        finally:
            if server is not None and server.poll() is None:
                server.send_signal(signal.SIGTERM)
                output, _ = await asyncio.to_thread(server.communicate, timeout=60)
                assert server.returncode == 0, output
        emulator.assert_no_violations()


def _wait_for_line(process: subprocess.Popen[str], text: str) -> str:
    """Read the process's output until a line holds `text` (it exits: the test fails)."""
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if text in line:
            return line
    raise AssertionError("".join(seen) or f"exited {process.wait()}")
