"""Handlers, one module per audience; `build_router` registers them all."""

from __future__ import annotations

from bot.router import Router


def build_router() -> Router:
    """A router with every handler module and dialog registered."""
    from bot.handlers import (
        admin,
        common,
        engineer,
        groups,
        inspections,
        manager,
        replacements,
        reports,
        sheets,
        staff,
        thread,
        web,
    )

    router = Router()
    # `thread` before `staff`: a reply about a ticket is not a new report.
    for module in (
        common,
        thread,
        staff,
        engineer,
        manager,
        admin,
        inspections,
        reports,
        groups,
        replacements,
        sheets,
        web,
    ):
        module.register(router)
    return router
