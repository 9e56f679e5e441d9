"""The operator's log of a ticket's life: one line per business event, ids only, on every backend."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.enums import Impact, ServiceResult, ServiceType
from core.errors import DomainError
from core.models import Page
from core.reports.monthly import post_monthly_summary
from core.tickets import ServiceSheet

SHANGHAI = ZoneInfo("Asia/Shanghai")
SYMPTOM = "Printer jams on every page"
SOLUTION = "Replaced the pickup roller"


def local(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=SHANGHAI)


@pytest.fixture
def events(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="core.events")
    return caplog


def lines(caplog: pytest.LogCaptureFixture, action: str) -> list[str]:
    """The messages of the `core.events` lines for `action`."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "core.events" and record.getMessage().split(" ", 1)[0] == action
    ]


async def test_a_ticket_s_life_is_one_line_per_event_with_its_number_and_ids(
    helpdesk, world, clock, events
):
    ticket = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom=SYMPTOM, impact=Impact.CANNOT_WORK, asset_tag=world.asset_tag
    )
    await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    # The arrival deadline (11:00) is missed and the runner only looks 90 s later.
    clock.set(local(3, 2, 11, 1, 30))
    await helpdesk.runner().sweep()
    async with helpdesk.core.reading() as session:
        page = await session.scalar(
            select(Page).where(Page.recipient_id == world.engineer_id).order_by(Page.id)
        )
    assert page is not None
    await helpdesk.tickets.acknowledge_page(page.id, actor_id=world.engineer_id)
    await helpdesk.tickets.arrive(ticket.id, actor_id=world.engineer_id)
    sheet = ServiceSheet(ServiceType.HARDWARE_FAULT, ServiceResult.FIXED_ON_SITE, SOLUTION)
    await helpdesk.tickets.resolve(ticket.id, actor_id=world.engineer_id, sheet=sheet)
    clock.set(local(4, 1, 8))
    await post_monthly_summary(helpdesk.core, clock.now())

    n = ticket.id
    reported = lines(events, "ticket.reported")
    assert len(reported) == 1 and reported[0].startswith(f"ticket.reported ticket={n} actor=")
    assigned = lines(events, "ticket.assigned")
    assert len(assigned) == 1 and f"engineer_id={world.engineer_id}" in assigned[0]
    assert lines(events, "ticket.acknowledged") == [
        f"ticket.acknowledged ticket={n} actor={world.engineer_id} met=acknowledge:True"
    ]
    assert lines(events, "ticket.arrived") == [
        f"ticket.arrived ticket={n} actor={world.engineer_id} met=arrival:False"
    ]
    resolved = lines(events, "ticket.resolved")
    assert len(resolved) == 1 and resolved[0].startswith(
        f"ticket.resolved ticket={n} actor={world.engineer_id}"
    )
    # The 100 % arrival step was due at 11:00 and fired at 11:01:30: 90 s late.
    escalated = lines(events, "sla.escalated")
    missed = [line for line in escalated if "clock=arrival" in line and "percent=100" in line]
    assert len(missed) == 1 and missed[0].startswith(f"sla.escalated ticket={n} ")
    assert "raised_to=1" in missed[0]
    assert missed[0].endswith("late_s=90.0"), missed[0]
    # The 80 % reminder, due at 10:36, is stale once its deadline has passed: the late
    # sweep drops it (a "due soon" after "missed" helps nobody) and says so in one line.
    early = [line for line in escalated if "clock=arrival" in line and "percent=80" in line]
    assert early == []
    skipped = lines(events, "sla.step_skipped")
    assert [line for line in skipped if "clock=arrival" in line and "percent=80" in line] == [
        next(line for line in skipped if line.startswith(f"sla.step_skipped ticket={n} "))
    ]
    assert lines(events, "page.acknowledged") == [
        f"page.acknowledged page={page.id} actor={world.engineer_id} ticket_id={n}"
    ]
    posted = lines(events, "report.posted")
    assert len(posted) == 1 and "key=monthly-summary:2026-03" in posted[0]
    assert "recipients=1" in posted[0]

    everything = "\n".join(r.getMessage() for r in events.records if r.name == "core.events")
    for private in (SYMPTOM, SOLUTION, "Li Na", "Wang"):
        assert private not in everything


async def test_an_event_rolled_back_with_its_transaction_is_not_logged(helpdesk, world, events):
    ticket = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom=SYMPTOM, impact=Impact.CANNOT_WORK, asset_tag=world.asset_tag
    )
    with pytest.raises(DomainError):  # the reporter may not say the engineer arrived
        await helpdesk.tickets.arrive(ticket.id, actor_id=world.reporter_id)
    assert lines(events, "ticket.arrived") == []
