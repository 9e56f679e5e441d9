"""`faultdesk run` imports only the runtime it runs on, and no report library until a report.

Checked on the real command in its own process (`PYTHONPROFILEIMPORTTIME` makes Python
list every module it imports): started against the emulator on each runtime, it
answers a person and is stopped; the other framework and the chart and workbook
libraries never appear among its imports.
"""

from __future__ import annotations

import shutil

import pytest
from bot_process import BotProcess

TOKEN = "7700000002:AALazyImportTestToken-abcdefghij0123"
REPORT_LIBRARIES = ("matplotlib", "openpyxl", "PIL")
OTHER_RUNTIME = {"aiogram": "telegram", "ptb": "aiogram"}


def imported_packages(stderr: list[str]) -> set[str]:
    """Top-level packages from Python's import-time lines ("import time: self | cum | name")."""
    packages = set()
    for line in stderr:
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "imported package":
                packages.add(name.split(".")[0])
    return packages


@pytest.mark.parametrize("runtime", ["aiogram", "ptb"])
async def test_a_running_bot_imports_only_its_own_runtime_and_no_report_library(
    tmp_path, sqlite_template, runtime
):
    from sandbox import BotApiEmulator

    path = tmp_path / "faultdesk.sqlite3"
    shutil.copy(sqlite_template, path)
    async with BotApiEmulator() as emulator:
        emulator.register_bot(TOKEN, username="faultdesk_bot", first_name="faultdesk")
        settings = {
            "FAULTDESK_BOT_TOKEN": TOKEN,
            "FAULTDESK_DATABASE_URL": f"sqlite:///{path}",
            "FAULTDESK_API_BASE_URL": emulator.base_url,
            "FAULTDESK_HEALTH_LISTEN": "127.0.0.1:0",
            "FAULTDESK_DEFAULT_LANGUAGE": "en",
            "FAULTDESK_POLLING_TIMEOUT": "5",
            "FAULTDESK_SHUTDOWN_GRACE": "5",
            "PYTHONPROFILEIMPORTTIME": "1",
        }
        bot = await BotProcess(["run", "--runtime", runtime], settings, tmp_path).start()
        try:
            await bot.wait_for("running on", timeout=120)
            stranger = emulator.person(555001, "Stranger", "en")
            await stranger.start()
            answer = await stranger.wait_for(lambda m: "not registered" in m.text, timeout=60)
            assert "Your Telegram id is" in answer.text
        finally:
            code = await bot.stop()
        assert code == 0, bot.text()
    packages = imported_packages(bot.stderr)
    assert {"sqlalchemy", {"aiogram": "aiogram", "ptb": "telegram"}[runtime]} <= packages
    assert OTHER_RUNTIME[runtime] not in packages
    assert not packages & set(REPORT_LIBRARIES)
