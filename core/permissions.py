"""Who may act on a ticket: the one rule the core enforces and the chat shows as buttons.

The chat layer asks these before offering a button or opening a dialog, so a person
never starts what the core would refuse at its end; the core asks them again inside
the transaction, where the answer counts.
"""

from __future__ import annotations

from typing import Final

from core.enums import Role

# Dispatchers and admins assign, set levels and may do anything an engineer may.
DISPATCHING_ROLES: Final = frozenset({Role.DISPATCHER, Role.ADMIN})


def dispatches(role: Role | None) -> bool:
    """True for the roles that assign engineers and set levels."""
    return role in DISPATCHING_ROLES


def may_work(person_id: int | None, role: Role | None, assignee_id: int | None) -> bool:
    """The assignee, or a dispatcher, may work a ticket (accept, travel, pause, resolve...)."""
    return dispatches(role) or (person_id is not None and person_id == assignee_id)


def may_speak_for_reporter(person_id: int, role: Role | None, reporter_id: int) -> bool:
    """The reporter, or a dispatcher on their behalf, confirms the fix, rates or withdraws."""
    return person_id == reporter_id or dispatches(role)
