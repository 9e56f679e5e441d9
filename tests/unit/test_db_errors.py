"""Which database failures pass by themselves, and how failures are logged."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from core.db_errors import connection_lost, describe, log_failure


class SqlState(Exception):
    """A driver error carrying a PostgreSQL SQLSTATE, as asyncpg's do."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError("refused"),
        TimeoutError(),
        OperationalError("SELECT 1", {}, SqlState("terminating connection", "57P01")),
        OperationalError("SELECT 1", {}, SqlState("connection does not exist", "08003")),
        OperationalError("BEGIN", {}, ConnectionRefusedError("refused")),
    ],
)
def test_an_unreachable_or_restarting_server_is_a_lost_connection(error):
    assert connection_lost(error)


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("a bug"),
        IntegrityError("INSERT", {}, SqlState("duplicate key", "23505")),
        OperationalError("SELECT", {}, SqlState("deadlock detected", "40P01")),
    ],
)
def test_bugs_and_conflicts_are_not_a_lost_connection(error):
    assert not connection_lost(error)


def test_a_wrapped_error_is_described_by_the_drivers_exception_on_one_line():
    error = OperationalError("SELECT 1", {}, SqlState("the server\nis gone", "08006"))
    assert describe(error) == "SqlState: the server"


def test_a_lost_connection_logs_one_line_and_the_traceback_at_debug_only(caplog):
    log = logging.getLogger("test.db_errors")
    try:
        raise OperationalError("BEGIN", {}, ConnectionRefusedError("database is down"))
    except OperationalError as error:
        with caplog.at_level(logging.DEBUG, logger="test.db_errors"):
            log_failure(log, "sweep of %s failed", "rows", error=error, level=logging.ERROR)
    warning, debug = caplog.records
    assert (warning.levelno, warning.exc_info) == (logging.WARNING, None)
    assert warning.getMessage() == "sweep of rows failed: ConnectionRefusedError: database is down"
    assert debug.levelno == logging.DEBUG and debug.exc_info is not None


def test_an_unexpected_error_keeps_its_traceback_at_its_level(caplog):
    log = logging.getLogger("test.db_errors")
    try:
        raise RuntimeError("a bug")
    except RuntimeError as error:
        with caplog.at_level(logging.DEBUG, logger="test.db_errors"):
            log_failure(log, "sweep failed", error=error, level=logging.ERROR)
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is not None
