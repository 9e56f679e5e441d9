"""Who may act on a ticket: the one rule the core enforces and the chat shows as buttons.

The chat layer asks these before offering a button or opening a dialog, so a person
never starts what the core would refuse at its end; the core asks them again inside
the transaction, where the answer counts.

Dispatchers act on the tickets of their own site; a dispatcher with no site serves
every site, and administrators act everywhere.
"""

from __future__ import annotations

from typing import Final

from core.enums import Role

# Dispatchers and admins assign, set levels and may do anything an engineer may.
DISPATCHING_ROLES: Final = frozenset({Role.DISPATCHER, Role.ADMIN})


def dispatches(role: Role | None) -> bool:
    """True for the roles that assign engineers and set levels (at some site)."""
    return role in DISPATCHING_ROLES


def dispatches_at(role: Role | None, home_site_id: int | None, ticket_site_id: int | None) -> bool:
    """True if this person dispatches the tickets of `ticket_site_id`."""
    if role is Role.ADMIN:
        return True
    return role is Role.DISPATCHER and (home_site_id is None or home_site_id == ticket_site_id)


def may_work(
    person_id: int | None,
    role: Role | None,
    assignee_id: int | None,
    *,
    home_site_id: int | None,
    ticket_site_id: int | None,
) -> bool:
    """The assignee, or a dispatcher of the ticket's site, may work a ticket (accept, resolve...)."""
    if dispatches_at(role, home_site_id, ticket_site_id):
        return True
    return person_id is not None and person_id == assignee_id


def may_speak_for_reporter(
    person_id: int,
    role: Role | None,
    reporter_id: int,
    *,
    home_site_id: int | None,
    ticket_site_id: int | None,
) -> bool:
    """The reporter, or a dispatcher of the ticket's site on their behalf, confirms, rates or withdraws."""
    return person_id == reporter_id or dispatches_at(role, home_site_id, ticket_site_id)
