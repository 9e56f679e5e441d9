"""The console's dashboard counts "today" and "this month" in the viewer's site's time zone,
with the monthly summary's own period code: at a month boundary they agree."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.enums import Impact, Role
from core.reports.monthly import monthly_summary
from core.reports.sites import find_site
from tests.integration.test_web_dashboard_quarter import client, dashboard

__all__ = ["client"]  # the fixture, used by name

LONDON = ZoneInfo("Europe/London")


async def test_the_month_is_the_sites_own_at_a_month_boundary(helpdesk, world, clock, client):
    people = helpdesk.people
    site = await people.create_site(
        code="LD", name="London office", region="city", timezone="Europe/London"
    )
    reporter = await people.create_person(
        name="Amy Cole", role=Role.STAFF, site_id=site.id, telegram_user_id=1201, language="en"
    )
    await people.create_person(
        name="Ben Hart", role=Role.ENGINEER, site_id=site.id, telegram_user_id=2201, language="en"
    )
    await people.create_person(
        name="Cat Ives", role=Role.MANAGER, site_id=site.id, telegram_user_id=4201, language="en"
    )

    async def visit(arrive_after: timedelta) -> None:
        """A fault reported now; the engineer arrives `arrive_after` later."""
        ticket = await helpdesk.tickets.report_fault(
            reporter.id, symptom="Projector dark", impact=Impact.CANNOT_WORK
        )
        assert ticket.assignee_id is not None
        engineer = ticket.assignee_id
        await helpdesk.tickets.acknowledge(ticket.id, actor_id=engineer)
        clock.advance(arrive_after)
        await helpdesk.runner().sweep()
        await helpdesk.tickets.depart(ticket.id, actor_id=engineer)
        await helpdesk.tickets.arrive(ticket.id, actor_id=engineer)

    # Tuesday 31 March, London: one arrival late in the morning...
    clock.set(datetime(2026, 3, 31, 9, 0, tzinfo=LONDON))
    await visit(timedelta(hours=6))
    # ...and one on time in the evening, which is already 1 April in Shanghai.
    clock.set(datetime(2026, 3, 31, 17, 30, tzinfo=LONDON))
    await visit(timedelta(minutes=10))
    clock.set(datetime(2026, 3, 31, 18, 30, tzinfo=LONDON))  # 01:30 on 1 April in Shanghai
    now = clock.now()

    data = await dashboard(client, 4201)
    assert data["month"] == "2026-03" and data["timezone"] == "Europe/London"
    summary = await monthly_summary(
        helpdesk.core, "2026-03", site=await find_site(helpdesk.core, "LD"), as_of=now
    )
    kpis = summary.kpis
    expected = {
        "arrival": kpis.arrival.as_float(),
        "fix": kpis.fix.as_float(),
        "satisfaction": kpis.satisfaction.as_float(),
        "repeat": kpis.repeat.as_float(),
    }
    assert {k["key"]: k["value"] for k in data["kpis"]} == expected
    assert expected["arrival"] == 0.5  # both arrivals are March's in London
    assert data["score"] == kpis.score and data["deduction"] == kpis.total_deduction
    assert data["trend"][-1] == {"month": "2026-03", **expected}
    assert data["now"]["opened"] == 2  # today is still 31 March in London

    # The head office (Shanghai) is already in April at the same moment.
    head_office = await dashboard(client, 4001)
    assert head_office["month"] == "2026-04" and head_office["timezone"] == "Asia/Shanghai"
