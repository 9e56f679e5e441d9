"""The tickets behind a period's KPIs and deductions, for the workbooks' detail sheets.

`kpi_details` reads the same records the pure formulas of `core.reports.kpi` count
(`kpi_inputs`), the tickets they name, the complaints accepted and the replacement
requests due in the period, so every deducted point can be traced to tickets and the
detail sheets add up to the figures computed from them (`KpiDetails.report`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from core.enums import ArrivalCheck
from core.models import Asset, AuditEvent, Complaint, Person, Site, Ticket
from core.replacements import ReplacementView, requests_between
from core.reports.counts import kpi_inputs
from core.reports.kpi import KpiInputs, KpiReport, compute_kpis
from core.unit_of_work import Core

CHUNK = 900  # ids per IN (...) list: under SQLite's bound-parameter limit
SAME_MOMENT = timedelta(seconds=1)  # an arrival's audit event and its clock stop share tx.now


@dataclass(frozen=True)
class ArrivalEvidence:
    """How one arrival is known: the shared location's check (None: site not located)."""

    at: datetime
    check: ArrivalCheck | None
    distance_m: int | None


@dataclass(frozen=True)
class TicketLine:
    """What a detail row shows of a ticket."""

    id: int
    site_code: str
    asset_tag: str
    symptom: str
    reported_at: datetime


@dataclass(frozen=True)
class ComplaintLine:
    """A complaint answered as accepted in the period (20 points)."""

    id: int
    ticket_id: int | None
    reporter: str
    site_code: str
    received_at: datetime
    answered_at: datetime
    text: str
    answer: str


@dataclass(frozen=True)
class KpiDetails:
    """The records of a period's KPIs and the tickets, complaints and requests behind them."""

    start: datetime
    end: datetime
    as_of: datetime
    inputs: KpiInputs
    tickets: dict[int, TicketLine]
    complaints: tuple[ComplaintLine, ...]
    replacements: tuple[ReplacementView, ...]
    # Each ticket's recorded arrivals (ticket.arrived), oldest first.
    arrivals: Mapping[int, tuple[ArrivalEvidence, ...]] = field(default_factory=dict)

    def evidence(self, ticket_id: int, stopped_at: datetime) -> ArrivalEvidence | None:
        """The arrival recorded when this arrival clock stopped (None: none recorded)."""
        for found in self.arrivals.get(ticket_id, ()):
            if abs(found.at - stopped_at) <= SAME_MOMENT:
                return found
        return None

    @property
    def report(self) -> KpiReport:
        """The KPIs these records give (what the detail sheets add up to)."""
        return compute_kpis(self.inputs, self.start, self.end, as_of=self.as_of)


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(set(ids))
    for first in range(0, len(ordered), CHUNK):
        yield ordered[first : first + CHUNK]


async def kpi_details(
    core: Core,
    start: datetime,
    end: datetime,
    *,
    site_id: int | None = None,
    as_of: datetime | None = None,
) -> KpiDetails:
    """Everything behind the KPIs of [start, end), every site or one."""
    moment = as_of or core.clock.now()
    async with core.reading() as session:
        inputs = await kpi_inputs(session, start, end, site_id=site_id)
        wanted = {r.ticket_id for r in inputs.arrivals}
        wanted |= {r.ticket_id for r in inputs.resolutions}
        wanted |= {r.ticket_id for r in inputs.repairs}
        tickets: dict[int, TicketLine] = {}
        arrivals: dict[int, list[ArrivalEvidence]] = {}
        for chunk in _chunks(r.ticket_id for r in inputs.arrivals if r.stopped_at):
            events = await session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.entity == "ticket",
                    AuditEvent.action == "ticket.arrived",
                    AuditEvent.entity_id.in_(chunk),
                )
                .order_by(AuditEvent.id)
            )
            for event in events:
                check = event.data.get("check")
                distance = event.data.get("distance_m")
                arrivals.setdefault(event.entity_id or 0, []).append(
                    ArrivalEvidence(
                        event.at,
                        ArrivalCheck(check) if check in set(ArrivalCheck) else None,
                        int(distance) if isinstance(distance, int) else None,
                    )
                )
        for chunk in _chunks(wanted):
            rows = await session.execute(
                select(Ticket.id, Site.code, Asset.tag, Ticket.symptom, Ticket.reported_at)
                .join(Site, Site.id == Ticket.site_id)
                .outerjoin(Asset, Asset.id == Ticket.asset_id)
                .where(Ticket.id.in_(chunk))
            )
            for row in rows:
                symptom = " ".join(row.symptom.split())
                tickets[row.id] = TicketLine(
                    row.id, row.code, row.tag or "", symptom[:120], row.reported_at
                )
        # A complaint's site: its ticket's, else its reporter's (as core.complaints reads it).
        complaint_site = func.coalesce(Ticket.site_id, Person.site_id)
        query = (
            select(Complaint, Person.name, Site.code)
            .join(Person, Person.id == Complaint.reporter_id)
            .outerjoin(Ticket, Ticket.id == Complaint.ticket_id)
            .outerjoin(Site, Site.id == complaint_site)
            .where(
                Complaint.accepted.is_(True),
                Complaint.answered_at >= start,
                Complaint.answered_at < end,
            )
            .order_by(Complaint.answered_at, Complaint.id)
        )
        if site_id is not None:
            query = query.where(complaint_site == site_id)
        complaints = []
        for complaint, reporter, code in await session.execute(query):
            answered = complaint.answered_at
            assert answered is not None  # filtered on it
            complaints.append(
                ComplaintLine(
                    complaint.id,
                    complaint.ticket_id,
                    reporter,
                    code or "",
                    complaint.received_at,
                    answered,
                    complaint.text[:500],
                    complaint.answer[:500],
                )
            )
    replacements = await requests_between(core, start, end, site_id=site_id)
    return KpiDetails(
        start=start,
        end=end,
        as_of=moment,
        inputs=inputs,
        tickets=tickets,
        complaints=tuple(complaints),
        replacements=tuple(replacements),
        arrivals={ticket: tuple(found) for ticket, found in arrivals.items()},
    )
