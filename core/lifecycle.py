"""The ticket state machine: one table of legal moves, nothing else changes a status."""

from __future__ import annotations

from enum import StrEnum

from core.enums import TicketStatus as S
from core.errors import IllegalTransition


class Action(StrEnum):
    """Things that move a ticket."""

    ASSIGN = "assign"
    DECLINE = "decline"
    ACKNOWLEDGE = "acknowledge"
    DEPART = "depart"
    ARRIVE = "arrive"
    PAUSE = "pause"
    RESUME = "resume"
    RESTORE = "restore"
    RESOLVE = "resolve"
    RESOLVE_REMOTELY = "resolve_remotely"
    CLOSE = "close"
    REOPEN = "reopen"
    CANCEL = "cancel"


_WORKING = (S.ASSIGNED, S.ACKNOWLEDGED, S.EN_ROUTE, S.ON_SITE, S.RESTORED)

# action -> (states it may start from, state it leads to). RESUME leads back to the
# state the ticket was paused from, so its target is decided by the caller.
TRANSITIONS: dict[Action, tuple[frozenset[S], S | None]] = {
    Action.ASSIGN: (
        frozenset({S.REPORTED, S.REOPENED, S.ASSIGNED, S.ACKNOWLEDGED, S.EN_ROUTE}),
        S.ASSIGNED,
    ),
    Action.DECLINE: (frozenset({S.ASSIGNED}), S.REPORTED),
    Action.ACKNOWLEDGE: (frozenset({S.ASSIGNED}), S.ACKNOWLEDGED),
    Action.DEPART: (frozenset({S.ACKNOWLEDGED}), S.EN_ROUTE),
    Action.ARRIVE: (frozenset({S.ACKNOWLEDGED, S.EN_ROUTE}), S.ON_SITE),
    Action.PAUSE: (frozenset(_WORKING), S.PAUSED),
    Action.RESUME: (frozenset({S.PAUSED}), None),
    Action.RESTORE: (frozenset({S.ON_SITE, S.ACKNOWLEDGED}), S.RESTORED),
    Action.RESOLVE: (frozenset({S.ON_SITE, S.RESTORED}), S.RESOLVED),
    Action.RESOLVE_REMOTELY: (
        frozenset({S.REPORTED, S.ASSIGNED, S.ACKNOWLEDGED, S.REOPENED}),
        S.RESOLVED,
    ),
    Action.CLOSE: (frozenset({S.RESOLVED}), S.CLOSED),
    Action.REOPEN: (frozenset({S.RESOLVED, S.CLOSED}), S.REOPENED),
    # Reporters may withdraw only before the engineer arrives (core.tickets checks that);
    # dispatchers may cancel any open ticket.
    Action.CANCEL: (
        frozenset(
            {
                S.REPORTED,
                S.ASSIGNED,
                S.ACKNOWLEDGED,
                S.EN_ROUTE,
                S.ON_SITE,
                S.PAUSED,
                S.RESTORED,
                S.REOPENED,
            }
        ),
        S.CANCELLED,
    ),
}


def next_status(current: S, action: Action, *, paused_from: S | None = None) -> S:
    """The state `action` leads to from `current`, or IllegalTransition."""
    sources, target = TRANSITIONS[action]
    if current not in sources:
        raise IllegalTransition(action=action.value, status=current.value)
    if action is Action.RESUME:
        if paused_from is None:
            raise IllegalTransition(action=action.value, status=current.value)
        return paused_from
    assert target is not None  # only RESUME has a caller-decided target
    return target


def allowed_actions(current: S) -> frozenset[Action]:
    """Every action legal from `current` (the chat layer offers buttons for these)."""
    return frozenset(action for action, (sources, _) in TRANSITIONS.items() if current in sources)
