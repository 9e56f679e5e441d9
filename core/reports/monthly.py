"""The monthly summary: a month's tickets and KPIs, computed by SQL aggregation and posted once."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import anchor_text, chain_head
from core.clock import DEFAULT_TIMEZONE
from core.enums import ArrivalCheck, ServiceType
from core.messages import MonthlySummaryPosted
from core.models import AuditEvent, Site, Ticket
from core.reports.counts import kpi_counts_by_site, ticket_counts
from core.reports.kpi import (
    KpiCounts,
    KpiReport,
    counts_from_json,
    counts_json,
    counts_of,
    report_from_counts,
)
from core.reports.periods import month_period, previous_month_label
from core.reports.runs import PostedRun, PostResult, find_run, post_run, run_key, service_start
from core.reports.sites import SiteRef, report_timezone
from core.unit_of_work import Core

MONTHLY_KIND = "monthly-summary"
UNCLASSIFIED = "unclassified"  # tickets with no service sheet yet
CATEGORIES: tuple[str, ...] = (*(kind.value for kind in ServiceType), UNCLASSIFIED)
SEVERITIES = (1, 2, 3, 4)
# How each arrival of the month was evidenced (core.enums.ArrivalCheck, and "unchecked" for
# sites without coordinates), counted per dispatch from the audit log.
ARRIVAL_CHECKS: tuple[str, ...] = (*(check.value for check in ArrivalCheck), "unchecked")


@dataclass(frozen=True)
class SiteLine:
    """One site's tickets in a period, and its KPI counts (None in runs frozen before sites'
    KPIs were kept)."""

    site_id: int
    code: str
    name: str
    tickets: int
    kpis: KpiCounts | None = None


@dataclass(frozen=True)
class MonthlySummary:
    """A month's tickets by service type, site and level, and the four KPIs with deductions.

    Tickets are those reported in the month; their service type is the one on their
    latest service sheet (`unclassified` until a sheet is filed) and their level the
    current one (after any automatic upgrade). KPIs follow the readings of `core.reports.kpi`.
    """

    period: str
    timezone: str
    site_code: str | None  # None: every site
    site_name: str | None
    as_of: datetime
    tickets: int
    cancelled: int
    still_open: int  # of the month's tickets, open at `as_of`
    by_category: dict[str, int]
    by_severity: dict[int, int]
    sites: tuple[SiteLine, ...]
    kpis: KpiReport
    # The audit chain's head when the summary was posted ('1234:5f3a...'; see core.audit).
    audit_anchor: str | None = None
    arrival_checks: dict[str, int] = field(default_factory=dict)  # ARRIVAL_CHECKS -> arrivals

    def to_json(self) -> dict[str, Any]:
        """The figures as JSON (frozen in ReportRun.figures)."""
        return {
            "period": self.period,
            "timezone": self.timezone,
            "site_code": self.site_code,
            "site_name": self.site_name,
            "start": self.kpis.start.isoformat(),
            "end": self.kpis.end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "tickets": self.tickets,
            "cancelled": self.cancelled,
            "still_open": self.still_open,
            "by_category": dict(self.by_category),
            "by_severity": {str(level): n for level, n in self.by_severity.items()},
            "sites": [
                {
                    "id": line.site_id,
                    "code": line.code,
                    "name": line.name,
                    "tickets": line.tickets,
                    "kpis": counts_json(line.kpis) if line.kpis is not None else None,
                }
                for line in self.sites
            ],
            "kpis": counts_json(counts_of(self.kpis)),
            "audit_anchor": self.audit_anchor,
            "arrival_checks": dict(self.arrival_checks),
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> MonthlySummary:
        """Back from `to_json`; deductions are recomputed by the same rules."""
        start = datetime.fromisoformat(data["start"])
        end = datetime.fromisoformat(data["end"])
        as_of = datetime.fromisoformat(data["as_of"])
        return MonthlySummary(
            period=data["period"],
            timezone=data["timezone"],
            site_code=data.get("site_code"),
            site_name=data.get("site_name"),
            as_of=as_of,
            tickets=int(data["tickets"]),
            cancelled=int(data["cancelled"]),
            still_open=int(data["still_open"]),
            by_category={key: int(n) for key, n in data["by_category"].items()},
            by_severity={int(level): int(n) for level, n in data["by_severity"].items()},
            sites=tuple(
                SiteLine(
                    int(line["id"]),
                    line["code"],
                    line["name"],
                    int(line["tickets"]),
                    counts_from_json(line["kpis"]) if line.get("kpis") else None,
                )
                for line in data["sites"]
            ),
            kpis=report_from_counts(counts_from_json(data["kpis"]), start, end, as_of=as_of),
            audit_anchor=data.get("audit_anchor"),
            # Summaries posted before arrivals were checked have none.
            arrival_checks={k: int(n) for k, n in (data.get("arrival_checks") or {}).items()},
        )


async def monthly_summary(
    core: Core, period: str, *, site: SiteRef | None = None, as_of: datetime | None = None
) -> MonthlySummary:
    """Compute month `period` ('2026-11') for every site or one, in SQL aggregates."""
    tz = report_timezone(site)
    bounds = month_period(period, tz)
    moment = as_of or core.clock.now()
    site_id = site.id if site else None
    async with core.reading() as session:
        groups = await ticket_counts(session, bounds.start, bounds.end, site_id)
        by_site = await kpi_counts_by_site(
            session, core.db.dialect, bounds.start, bounds.end, as_of=moment, site_id=site_id
        )
        site_rows = (await session.execute(select(Site.id, Site.code, Site.name))).all()
        arrivals = await arrival_check_counts(session, bounds.start, bounds.end, site_id)
    names = {row.id: (row.code, row.name) for row in site_rows}
    by_category = dict.fromkeys(CATEGORIES, 0)
    by_severity = dict.fromkeys(SEVERITIES, 0)
    tickets_at: dict[int, int] = {}
    tickets = cancelled_total = open_total = 0
    for site_key, category, severity, count, cancelled, still_open in groups:
        key = category.value if isinstance(category, ServiceType) else (category or UNCLASSIFIED)
        by_category[key] = by_category.get(key, 0) + int(count)
        by_severity[int(severity)] = by_severity.get(int(severity), 0) + int(count)
        tickets_at[site_key] = tickets_at.get(site_key, 0) + int(count)
        tickets += int(count)
        cancelled_total += int(cancelled)
        open_total += int(still_open)
    counts = sum(by_site.values(), KpiCounts())
    lines = tuple(
        SiteLine(
            key,
            names.get(key, (str(key), str(key)))[0],
            names.get(key, (str(key), str(key)))[1],
            tickets_at.get(key, 0),
            by_site.get(key, KpiCounts()),
        )
        for key in sorted(set(tickets_at) | set(by_site), key=lambda k: names.get(k, ("", ""))[0])
    )
    return MonthlySummary(
        period=bounds.label,
        timezone=tz,
        site_code=site.code if site else None,
        site_name=site.name if site else None,
        as_of=moment,
        tickets=tickets,
        cancelled=cancelled_total,
        still_open=open_total,
        by_category=by_category,
        by_severity=by_severity,
        sites=lines,
        kpis=report_from_counts(counts, bounds.start, bounds.end, as_of=moment),
        arrival_checks=arrivals,
    )


async def arrival_check_counts(
    session: AsyncSession, start: datetime, end: datetime, site_id: int | None
) -> dict[str, int]:
    """Arrivals recorded in [start, end) by how they were evidenced (one per dispatch)."""
    check = AuditEvent.data["check"].as_string()
    query = (
        select(check, func.count())
        .where(AuditEvent.action == "ticket.arrived", AuditEvent.at >= start, AuditEvent.at < end)
        .group_by(check)
    )
    if site_id is not None:
        query = query.join(Ticket, Ticket.id == AuditEvent.entity_id).where(
            AuditEvent.entity == "ticket", Ticket.site_id == site_id
        )
    counts = dict.fromkeys(ARRIVAL_CHECKS, 0)
    for value, n in (await session.execute(query)).all():
        key = value if value in counts else "unchecked"
        counts[key] += int(n)
    return counts


def site_report(summary: MonthlySummary, line: SiteLine) -> KpiReport | None:
    """One site's KPI report of the month (None when the run did not keep sites' KPIs)."""
    if line.kpis is None:
        return None
    kpis = summary.kpis
    return report_from_counts(line.kpis, kpis.start, kpis.end, as_of=kpis.as_of)


async def post_monthly_summary(
    core: Core, now: datetime, *, tz: str = DEFAULT_TIMEZONE
) -> PostResult:
    """Post last month's summary to the managers once (the job; safe to run again anywhere)."""
    period = previous_month_label(now, tz)
    key = run_key(MONTHLY_KIND, period)
    if await find_run(core, key) is not None:
        return PostResult(key, posted=False, reason="already_posted")
    started = await service_start(core)
    if started is None or started >= month_period(period, tz).end:
        return PostResult(key, posted=False, reason="before_service")
    summary = await monthly_summary(core, period, as_of=now)
    # Publish the audit chain's head with the figures: the managers' copy lives outside
    # the database, so a wholesale rewrite of history would no longer match it.
    async with core.reading() as session:
        summary = replace(summary, audit_anchor=anchor_text(*await chain_head(session)))
    return await post_run(
        core,
        kind=MONTHLY_KIND,
        period=period,
        key=key,
        message_class=MonthlySummaryPosted,
        figures=summary.to_json(),
    )


async def monthly_figures(
    core: Core,
    period: str,
    *,
    site: SiteRef | None = None,
    live: bool = False,
    as_of: datetime | None = None,
) -> tuple[MonthlySummary, PostedRun | None]:
    """The month as posted to the managers (frozen), else computed now.

    Only the every-site summary is posted; a site's figures, or `live`, are computed.
    """
    label = month_period(period, DEFAULT_TIMEZONE).label
    if site is None and not live:
        run = await find_run(core, run_key(MONTHLY_KIND, label))
        if run is not None:
            return MonthlySummary.from_json(run.figures), run
    return await monthly_summary(core, label, site=site, as_of=as_of), None
