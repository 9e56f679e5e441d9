"""The transition table, without a database."""

from __future__ import annotations

import pytest

from core.enums import TicketStatus as S
from core.errors import IllegalTransition
from core.lifecycle import TRANSITIONS, Action, allowed_actions, next_status

HAPPY_PATH = [
    (S.REPORTED, Action.ASSIGN, S.ASSIGNED),
    (S.ASSIGNED, Action.ACKNOWLEDGE, S.ACKNOWLEDGED),
    (S.ACKNOWLEDGED, Action.DEPART, S.EN_ROUTE),
    (S.EN_ROUTE, Action.ARRIVE, S.ON_SITE),
    (S.ON_SITE, Action.RESTORE, S.RESTORED),
    (S.RESTORED, Action.RESOLVE, S.RESOLVED),
    (S.RESOLVED, Action.CLOSE, S.CLOSED),
]


@pytest.mark.parametrize(("start", "action", "end"), HAPPY_PATH)
def test_the_happy_path_moves_one_state_at_a_time(start, action, end):
    assert next_status(start, action) is end


def test_a_declined_dispatch_returns_to_dispatch():
    assert next_status(S.ASSIGNED, Action.DECLINE) is S.REPORTED


def test_a_remote_fix_skips_the_visit():
    assert next_status(S.ACKNOWLEDGED, Action.RESOLVE_REMOTELY) is S.RESOLVED


def test_resume_returns_to_where_the_pause_began():
    assert next_status(S.PAUSED, Action.RESUME, paused_from=S.ON_SITE) is S.ON_SITE
    with pytest.raises(IllegalTransition):
        next_status(S.PAUSED, Action.RESUME)


@pytest.mark.parametrize("status", [S.CLOSED, S.CANCELLED])
def test_finished_tickets_only_reopen(status):
    assert allowed_actions(status) <= {Action.REOPEN}


def test_cannot_arrive_before_the_dispatch_is_accepted():
    with pytest.raises(IllegalTransition) as raised:
        next_status(S.ASSIGNED, Action.ARRIVE)
    assert raised.value.code == "ticket.illegal_transition"
    assert raised.value.params == {"action": "arrive", "status": "assigned"}


def test_every_state_but_cancelled_has_a_way_forward():
    for status in S:
        if status is not S.CANCELLED:
            assert allowed_actions(status), status


def test_every_action_has_a_source_state():
    assert all(sources for sources, _ in TRANSITIONS.values())
