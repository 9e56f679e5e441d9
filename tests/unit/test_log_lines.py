"""Log lines: text or JSON, secrets masked everywhere, business events with ids only."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.logs import Redactor, configure_logging, describe
from bot.settings import Settings
from core.events import BusinessEvent

TOKEN = "123456:AAAbcdefghijklmnopqrstuvwxyz0123"


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    ours = {name: logging.getLogger(name).level for name in ("bot", "core", "demo")}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    for name, old in ours.items():
        logging.getLogger(name).setLevel(old)
    logging.captureWarnings(False)


def settings(**values) -> Settings:
    return Settings(
        _env_file=None,
        bot_token=TOKEN,
        database_url='postgresql://desk:pa"ss\\word@db/faultdesk',
        **values,
    )


def test_the_redactor_masks_secrets_as_written_and_as_json_escapes_them():
    redact = Redactor(['pa"ss\\word', TOKEN])
    assert redact(f"GET /bot{TOKEN}/getMe") == "GET /bot***/getMe"
    assert redact(json.dumps({"url": 'x:pa"ss\\word@db'})) == '{"url": "x:***@db"}'


def test_text_lines_mask_secrets_even_inside_tracebacks(restore_logging):
    stream = io.StringIO()
    configure_logging(settings(log_format="text"), stream=stream)
    log = logging.getLogger("bot.test")
    try:
        raise RuntimeError(f"cannot reach https://api.telegram.org/bot{TOKEN}/getMe")
    except RuntimeError:
        log.exception("failed with token %s", TOKEN)
    written = stream.getvalue()
    assert TOKEN not in written and TOKEN.split(":")[1] not in written
    assert "failed with token ***" in written and "/bot***/getMe" in written
    assert " ERROR bot.test: " in written


def test_json_lines_are_objects_with_the_event_fields(restore_logging):
    stream = io.StringIO()
    configure_logging(settings(log_format="json"), stream=stream)
    event = BusinessEvent(
        "ticket.reported",
        "ticket",
        12,
        5,
        {"severity": 2, "site_id": 1, "symptom": "PC dead, call me at 13800138000"},
        late_seconds=None,
    )
    from core.events import emit

    emit(event.action, event.fields())
    logging.getLogger("bot.test").warning("database %s", 'postgresql://desk:pa"ss\\word@db')
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["event"] == "ticket.reported"
    assert (lines[0]["ticket"], lines[0]["actor"], lines[0]["severity"]) == (12, 5, 2)
    assert lines[0]["message"] == "ticket.reported ticket=12 actor=5 severity=2 site_id=1"
    assert "symptom" not in lines[0] and "13800138000" not in stream.getvalue()
    assert lines[1]["message"] == "database postgresql://desk:***@db"
    assert {"time", "level", "logger"} <= set(lines[1])


def test_libraries_stay_at_warning_unless_asked(restore_logging):
    stream = io.StringIO()
    configure_logging(settings(), stream=stream)
    logging.getLogger("apscheduler.scheduler").info("Added job")
    logging.getLogger("core.events").info("ticket.reported ticket=1")
    assert "Added job" not in stream.getvalue() and "ticket.reported" in stream.getvalue()
    configure_logging(settings(log_library_level="info", log_level="warning"), stream=stream)
    logging.getLogger("apscheduler.scheduler").info("Added job")
    logging.getLogger("core.events").info("ticket.assigned ticket=1")
    assert "Added job" in stream.getvalue() and "ticket.assigned" not in stream.getvalue()


def test_an_event_caused_by_due_work_says_how_late_it_fired():
    event = BusinessEvent(
        "sla.escalated", "ticket", 3, None, {"percent": 100, "recipients": [4, 5]}, 1.2345
    )
    assert event.fields() == {"ticket": 3, "percent": 100, "recipients": [4, 5], "late_s": 1.234}


def test_job_results_are_described_without_reprs():
    from core.retention import Pruned

    assert describe(Pruned(journal=3, outbox=5, due_work=7)) == "journal=3 outbox=5 due_work=7"
    assert describe([1, 2]) == "2 item(s)"
    assert describe(None) == "nothing to do"
