"""Telling a database that is away (expected, passes by itself) from a bug, for retries and logs.

During an outage or a restart every worker fails the same way a few times a second: one
line each with the error says what is happening; the traceback, the same each time, is
kept for DEBUG. Anything else (a bug, a constraint) is logged with its traceback.
"""

from __future__ import annotations

import logging
from typing import Final

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# PostgreSQL error classes that pass by themselves: connection exceptions (08), the
# server starting or shutting down (57P), too many connections (53), and a database
# not created yet (3D000).
TRANSIENT_SQLSTATES: Final = ("08", "57P", "53", "3D000")


def connection_lost(error: BaseException) -> bool:
    """True for a database failure worth waiting out (unreachable, restarting, not created yet)."""
    if isinstance(error, OSError | TimeoutError | PoolTimeout):  # refused, unreachable, DNS
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        state = str(getattr(error.orig, "sqlstate", "") or "")
        if state:
            return state.startswith(TRANSIENT_SQLSTATES)
        return isinstance(error, OperationalError | InterfaceError)
    return False


def describe(error: BaseException) -> str:
    """The error on one line: the driver's own exception and its first line, no SQL."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0]}" if text else type(cause).__name__


def log_failure(
    logger: logging.Logger,
    message: str,
    *args: object,
    error: BaseException,
    level: int = logging.WARNING,
) -> None:
    """Log `message` for `error`: one WARNING line when the database is away (the
    traceback at DEBUG), else at `level` with the traceback."""
    if connection_lost(error):
        logger.warning(message + ": %s", *args, describe(error))
        logger.debug(message, *args, exc_info=error)
    else:
        logger.log(level, message, *args, exc_info=error)
