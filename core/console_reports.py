"""Figures the console's dashboard shows beside the monthly KPIs: the site a viewer's
reports are scoped to, and escalations per week.

The quarterly score and payment come from `core.reports.quarterly` unchanged (the chat's
/scorecard code); this module only adds the weekly escalation count, which no report has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core.models import AuditEvent, Site, Ticket
from core.reports.sites import SiteRef
from core.unit_of_work import Core


@dataclass(frozen=True)
class WeekCount:
    """Escalation steps fired in one week (Monday to Sunday, local time)."""

    week_of: date  # the Monday
    fired: int  # steps carried out (reminders, pages, manager alerts)
    paged: int  # of which paged people (the 100 % and 150 % steps)


async def site_ref(core: Core, site_id: int) -> SiteRef | None:
    """The site as the report code names it."""
    async with core.reading() as session:
        site = await session.get(Site, site_id)
        if site is None:
            return None
        return SiteRef(site.id, site.code, site.name, site.timezone)


async def escalations_per_week(
    core: Core, *, weeks: int, tz: str, site_id: int | None = None
) -> list[WeekCount]:
    """The last `weeks` weeks (this one included), oldest first."""
    zone = ZoneInfo(tz)
    today = core.clock.now().astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    first = monday - timedelta(weeks=weeks - 1)
    start = datetime.combine(first, time(), zone)
    query = select(AuditEvent.at, AuditEvent.data).where(
        AuditEvent.action == "sla.escalated", AuditEvent.at >= start
    )
    if site_id is not None:
        query = query.join(Ticket, Ticket.id == AuditEvent.entity_id).where(
            AuditEvent.entity == "ticket", Ticket.site_id == site_id
        )
    fired = [0] * weeks
    paged = [0] * weeks
    async with core.reading() as session:
        for at, data in await session.execute(query):
            local = at.astimezone(zone).date()  # stored times come back in UTC, aware
            index = (local - first).days // 7
            if 0 <= index < weeks:
                fired[index] += 1
                if int((data or {}).get("percent", 0)) >= 100:
                    paged[index] += 1
    return [WeekCount(first + timedelta(weeks=n), fired[n], paged[n]) for n in range(weeks)]
