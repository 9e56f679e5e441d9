"""`faultdesk report` speaks FAULTDESK_DEFAULT_LANGUAGE unless --lang says otherwise."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from bot.cli import app
from core.enums import Impact


async def test_a_report_speaks_the_default_language_and_refuses_an_unknown_one(
    database_url, helpdesk, world
):
    await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="No network", impact=Impact.DEGRADED, asset_tag=world.asset_tag
    )
    runner = CliRunner()

    async def run(*args: str, language: str | None = None):
        env = {"FAULTDESK_DEFAULT_LANGUAGE": language} if language else {}
        command = ["report", "monthly", "--period", "2026-03", *args, "-d", database_url]
        return await asyncio.to_thread(runner.invoke, app, command, env=env)

    russian = await run(language="ru")
    assert russian.exit_code == 0, russian.output
    assert "Подано заявок: 1 (отменено 0, ещё открыто 1)" in russian.output
    chinese = await run(language="zh_CN")
    assert chinese.exit_code == 0 and "Tickets reported" not in chinese.output
    english = await run("--lang", "en", language="ru")  # --lang wins
    assert "Tickets reported: 1 (0 cancelled, 1 still open)" in english.output

    unknown = await run("--lang", "fr", language="en")
    assert unknown.exit_code == 2
    assert "fr is not a language faultdesk speaks; use zh_CN, en, or ru." in unknown.output


async def test_a_bad_setting_is_named_without_a_traceback(database_url):
    from bot_process import run_cli

    language = await run_cli(
        "report",
        "monthly",
        "--period",
        "2026-03",
        "-d",
        database_url,
        settings={"FAULTDESK_DEFAULT_LANGUAGE": "fr"},
    )
    assert language.code == 2
    # Said in the default language (the setting that names another cannot be used).
    assert "FAULTDESK_DEFAULT_LANGUAGE" in language.stderr
    assert "use one of zh_CN, en, ru" in language.stderr
    fmt = await run_cli(
        "db", "current", "-d", database_url, settings={"FAULTDESK_LOG_FORMAT": "xml"}
    )
    assert fmt.code == 2 and "FAULTDESK_LOG_FORMAT" in fmt.stderr
    assert "use text or json" in fmt.stderr
    for result in (language, fmt):
        assert "Traceback" not in result.output
