"""Handlers, one module per audience; `build_router` registers them all."""

from __future__ import annotations

from bot.router import Router


def build_router() -> Router:
    """A router with every handler module and dialog registered."""
    from bot.handlers import (
        admin,
        common,
        engineer,
        inspections,
        manager,
        replacements,
        reports,
        sheets,
        staff,
    )

    router = Router()
    for module in (
        common,
        staff,
        engineer,
        manager,
        admin,
        inspections,
        reports,
        replacements,
        sheets,
    ):
        module.register(router)
    return router
