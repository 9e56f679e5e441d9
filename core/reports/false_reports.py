"""False reports (虚报): recorded by a manager on a ticket, counted per quarter and in total.

Each one found costs 10 % of the quarter's payment; three in total let the customer end
the contract (`core.reports.scorecard`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select

from core.clock import DEFAULT_TIMEZONE
from core.enums import Role
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.models import FalseReport, Person, Ticket
from core.reports.periods import quarter_label, quarter_period
from core.unit_of_work import Core

FALSE_REPORT_KINDS = ("part_not_replaced", "late_reported_on_time", "other")
FALSE_REPORT_RECORDED = "false_report.recorded"
FALSE_REPORT_ROLES = frozenset({Role.MANAGER, Role.ADMIN})


@dataclass(frozen=True)
class FalseReportView:
    """A recorded false report and what it brings the total to."""

    id: int
    ticket_id: int | None
    kind: str
    quarter: str
    in_quarter: int
    total: int


async def record_false_report(
    core: Core, *, ticket_id: int, kind: str, note: str = "", actor_id: int
) -> FalseReportView:
    """Record a false report found on a ticket (each costs 10 % of the quarter's payment)."""
    if kind not in FALSE_REPORT_KINDS:
        raise InvalidInput("false_report.bad_kind", kind=kind[:40])
    async with core.transaction(actor_id) as tx:
        actor = await tx.session.get(Person, actor_id)
        if actor is None or actor.role not in FALSE_REPORT_ROLES:
            raise PermissionDenied(action="false_report")
        ticket = await tx.session.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound(entity="ticket", id=ticket_id)
        row = FalseReport(
            ticket_id=ticket.id,
            kind=kind,
            note=note[:1000],
            found_at=tx.now,
            found_by_id=actor_id,
        )
        tx.session.add(row)
        await tx.session.flush()
        await tx.audit(
            "false_report",
            row.id,
            FALSE_REPORT_RECORDED,
            ticket_id=ticket.id,
            kind=kind,
            note=note[:1000],
        )
        bounds = quarter_period(quarter_label(tx.now, DEFAULT_TIMEZONE), DEFAULT_TIMEZONE)
        in_quarter = await tx.session.scalar(
            select(func.count(FalseReport.id)).where(
                FalseReport.found_at >= bounds.start, FalseReport.found_at < bounds.end
            )
        )
        total = await tx.session.scalar(select(func.count(FalseReport.id)))
        return FalseReportView(
            row.id, ticket.id, kind, bounds.label, int(in_quarter or 0), int(total or 0)
        )


def _false_report_scope(query: Select[Any], site_id: int | None) -> Select[Any]:
    """A site's false reports: those on its tickets, and those on no ticket (contract-wide)."""
    if site_id is None:
        return query
    return query.outerjoin(Ticket, Ticket.id == FalseReport.ticket_id).where(
        or_(FalseReport.ticket_id.is_(None), Ticket.site_id == site_id)
    )


async def false_report_counts(
    core: Core, start: datetime, end: datetime, *, site_id: int | None = None
) -> tuple[int, int]:
    """False reports found in [start, end), and in total before `end`."""
    async with core.reading() as session:
        in_period = await session.scalar(
            _false_report_scope(select(func.count(FalseReport.id)), site_id).where(
                FalseReport.found_at >= start, FalseReport.found_at < end
            )
        )
        total = await session.scalar(
            _false_report_scope(select(func.count(FalseReport.id)), site_id).where(
                FalseReport.found_at < end
            )
        )
    return int(in_period or 0), int(total or 0)
