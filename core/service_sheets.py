"""The service sheet of a resolved ticket (001 附表一 现场服务单), read for its PDF.

Every field the seed's sheet lists: assignment time and who assigned it, the engineer,
department, user, contact, address, phone, symptom, model, serial, report time, the
promised and the actual arrival (and whether it met the deadline), completion, service
type, warranty, charge, result, the data-backup confirmations (who and when), the
solution, the satisfaction and comments, and the follow-up (回访) answers. The
reporter's confirmation of the fix in chat (who, when) stands in for the user's
signature, and the fingerprint of the ticket's last audit event ties the sheet to the
hash-chained log (`core.audit.anchor_text`), so a sheet can be checked against history.

The sheet shows the ticket's latest visit (a second visit files a fresh sheet).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import anchor_text
from core.enums import (
    FOLLOW_UP_DIMENSIONS,
    AssetKind,
    Role,
    ServiceResult,
    ServiceType,
    TicketStatus,
)
from core.errors import Conflict, NotFound, PermissionDenied
from core.models import (
    Asset,
    AuditEvent,
    BackupConsent,
    Department,
    Person,
    Rating,
    Resolution,
    Site,
    SlaClock,
    Ticket,
)
from core.sla.policy import ClockKind
from core.unit_of_work import Core

CHUNK = 500
SHEET_READERS = frozenset({Role.DISPATCHER, Role.MANAGER, Role.ADMIN})
SHEET_FILED = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})


@dataclass(frozen=True)
class BackupConfirmation:
    """A data-backup request and the reporter's answer (000 §2.2.1-3)."""

    operation: str
    requested_at: datetime
    confirmed: bool | None  # None: not answered
    by: str | None
    at: datetime | None


@dataclass(frozen=True)
class ServiceSheetView:
    """One resolved ticket's service sheet (001 附表一)."""

    ticket_id: int
    cycle: int
    reporter_id: int
    timezone: str
    site_code: str
    site_name: str
    assigned_at: datetime | None
    dispatcher: str | None  # None: dispatched automatically by the helpdesk
    engineer: str | None
    department: str | None
    user: str
    contact: str
    address: str
    phone: str
    symptom: str
    asset_kind: AssetKind | None
    model: str
    asset_tag: str
    serial: str
    reported_at: datetime
    promised_arrival_at: datetime | None
    arrived_at: datetime | None
    arrival_met: bool | None  # None: no on-site arrival (fixed remotely)
    completed_at: datetime
    service_type: ServiceType
    under_warranty: bool
    charged: bool
    amount: Decimal | None
    result: ServiceResult
    second_visit_at: datetime | None
    parts_replaced: str
    spare_lent: bool
    solution: str
    backups: tuple[BackupConfirmation, ...]
    score: int | None
    comment: str
    follow_up: dict[str, int | None] = field(default_factory=dict)
    rated_by: str | None = None
    rated_at: datetime | None = None
    confirmed_by: str | None = None  # the reporter's confirmation of the fix in chat
    confirmed_at: datetime | None = None
    audit_event: str = ""  # '1234:5f3a9c0e1b2d4f60' of the ticket's last audit event


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for first in range(0, len(ids), CHUNK):
        yield list(ids[first : first + CHUNK])


async def _sheets(session: AsyncSession, ticket_ids: Sequence[int]) -> list[ServiceSheetView]:
    """The sheets of these resolved tickets (tickets without a sheet are left out)."""
    views: list[ServiceSheetView] = []
    for chunk in _chunks(ticket_ids):
        rows = (
            await session.execute(
                select(Ticket, Resolution, Site)
                .join(Resolution, Resolution.ticket_id == Ticket.id)
                .join(Site, Site.id == Ticket.site_id)
                .where(Ticket.id.in_(chunk))
                .order_by(Resolution.completed_at, Ticket.id)
            )
        ).all()
        if not rows:
            continue
        people_ids: set[int] = set()
        for ticket, resolution, _ in rows:
            people_ids |= {
                pid
                for pid in (ticket.reporter_id, ticket.dispatcher_id, resolution.engineer_id)
                if pid is not None
            }
        assets = {
            a.id: a
            for a in await session.scalars(
                select(Asset).where(Asset.id.in_({t.asset_id for t, _, _ in rows if t.asset_id}))
            )
        }
        departments = {
            d.id: d.name
            for d in await session.scalars(
                select(Department).where(
                    Department.id.in_({t.department_id for t, _, _ in rows if t.department_id})
                )
            )
        }
        clocks = {
            (c.ticket_id, c.cycle): c
            for c in await session.scalars(
                select(SlaClock).where(
                    SlaClock.ticket_id.in_(chunk), SlaClock.kind == ClockKind.ARRIVAL.value
                )
            )
        }
        ratings = {
            (r.ticket_id, r.cycle): r
            for r in await session.scalars(select(Rating).where(Rating.ticket_id.in_(chunk)))
        }
        consents: dict[int, list[BackupConsent]] = {}
        for consent in await session.scalars(
            select(BackupConsent)
            .where(BackupConsent.ticket_id.in_(chunk))
            .order_by(BackupConsent.id)
        ):
            consents.setdefault(consent.ticket_id, []).append(consent)
            people_ids |= {pid for pid in (consent.answered_by_id,) if pid is not None}
        confirmations = {
            event.entity_id: event
            for event in await session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.entity == "ticket",
                    AuditEvent.entity_id.in_(chunk),
                    AuditEvent.action == "ticket.fix_confirmed",
                )
                .order_by(AuditEvent.id)
            )
        }
        people_ids |= {e.actor_id for e in confirmations.values() if e.actor_id is not None}
        people_ids |= {r.rater_id for r in ratings.values() if r.rater_id is not None}
        names = {
            p.id: p.name
            for p in await session.scalars(select(Person).where(Person.id.in_(people_ids)))
        }
        last_ids = dict(
            (
                await session.execute(
                    select(AuditEvent.entity_id, func.max(AuditEvent.id))
                    .where(AuditEvent.entity == "ticket", AuditEvent.entity_id.in_(chunk))
                    .group_by(AuditEvent.entity_id)
                )
            ).all()
        )
        hashes = dict(
            (
                await session.execute(
                    select(AuditEvent.id, AuditEvent.hash).where(
                        AuditEvent.id.in_(list(last_ids.values()))
                    )
                )
            ).all()
        )
        for ticket, resolution, site in rows:
            asset = assets.get(ticket.asset_id) if ticket.asset_id else None
            # The sheet kept is the latest visit's: this cycle's once resolved, else (reopened
            # for a second visit, or withdrawn since) the cycle before.
            cycle = ticket.cycle if ticket.status in SHEET_FILED else max(0, ticket.cycle - 1)
            clock = clocks.get((ticket.id, cycle))
            rating = ratings.get((ticket.id, cycle))
            confirmed = confirmations.get(ticket.id)
            last = last_ids.get(ticket.id)
            remote = resolution.result is ServiceResult.FIXED_REMOTELY
            address = " · ".join(part for part in (site.address, ticket.location) if part)
            views.append(
                ServiceSheetView(
                    ticket_id=ticket.id,
                    cycle=cycle,
                    reporter_id=ticket.reporter_id,
                    timezone=ticket.timezone,
                    site_code=site.code,
                    site_name=site.name,
                    assigned_at=ticket.assigned_at,
                    dispatcher=names.get(ticket.dispatcher_id) if ticket.dispatcher_id else None,
                    engineer=names.get(resolution.engineer_id) if resolution.engineer_id else None,
                    department=departments.get(ticket.department_id)
                    if ticket.department_id
                    else None,
                    user=names.get(ticket.reporter_id, ""),
                    contact=names.get(ticket.reporter_id, ""),
                    address=address or site.name,
                    phone=ticket.contact_phone,
                    symptom=ticket.symptom,
                    asset_kind=asset.kind if asset else ticket.asset_kind,
                    model=" ".join(p for p in (asset.brand, asset.model) if p) if asset else "",
                    asset_tag=asset.tag if asset else "",
                    serial=asset.serial if asset else "",
                    reported_at=ticket.reported_at,
                    promised_arrival_at=clock.due_at if clock else ticket.promised_arrival_at,
                    arrived_at=None if remote or clock is None else clock.stopped_at,
                    arrival_met=None if remote or clock is None else clock.met,
                    completed_at=resolution.completed_at,
                    service_type=resolution.service_type,
                    under_warranty=resolution.under_warranty,
                    charged=resolution.charged,
                    amount=resolution.amount,
                    result=resolution.result,
                    second_visit_at=resolution.second_visit_at,
                    parts_replaced=resolution.parts_replaced,
                    spare_lent=resolution.spare_lent,
                    solution=resolution.solution,
                    backups=tuple(
                        BackupConfirmation(
                            operation=c.operation,
                            requested_at=c.requested_at,
                            confirmed=c.confirmed,
                            by=names.get(c.answered_by_id) if c.answered_by_id else None,
                            at=c.answered_at,
                        )
                        for c in consents.get(ticket.id, [])
                    ),
                    score=rating.score if rating else None,
                    comment=rating.comment if rating else "",
                    follow_up={
                        name: getattr(rating, name) if rating else None
                        for name in FOLLOW_UP_DIMENSIONS
                    },
                    rated_by=names.get(rating.rater_id) if rating and rating.rater_id else None,
                    rated_at=rating.rated_at if rating else None,
                    confirmed_by=names.get(confirmed.actor_id)
                    if confirmed and confirmed.actor_id
                    else None,
                    confirmed_at=confirmed.at if confirmed else None,
                    audit_event=anchor_text(int(last), hashes[last]) if last else "",
                )
            )
    return views


def _may_read(reader: Person, ticket: Ticket) -> bool:
    """The reporter; an admin; a dispatcher or manager of the ticket's site (or every site)."""
    if not reader.active:
        return False
    if reader.id == ticket.reporter_id or reader.role is Role.ADMIN:
        return True
    return reader.role in SHEET_READERS and reader.site_id in (None, ticket.site_id)


class ServiceSheets:
    """Service sheets for the reporter (their own) and for dispatchers and managers."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def for_ticket(self, ticket_id: int, *, reader_id: int) -> ServiceSheetView:
        """One ticket's sheet, for its reporter or a dispatcher, manager or admin."""
        async with self.core.reading() as session:
            ticket = await session.get(Ticket, ticket_id)
            reader = await session.get(Person, reader_id)
            if ticket is None:
                raise NotFound(entity="ticket", id=ticket_id)
            if reader is None or not _may_read(reader, ticket):
                raise PermissionDenied(action="service_sheet", ticket_id=ticket_id)
            sheets = await _sheets(session, [ticket_id])
            if not sheets:
                raise Conflict("sheet.not_resolved", ticket_id=ticket_id)
            return sheets[0]

    async def resolved_between(
        self, start: datetime, end: datetime, *, site_id: int | None = None
    ) -> list[ServiceSheetView]:
        """The sheets of the tickets whose (latest) sheet was filed in [start, end)."""
        async with self.core.reading() as session:
            query = (
                select(Resolution.ticket_id)
                .join(Ticket, Ticket.id == Resolution.ticket_id)
                .where(Resolution.completed_at >= start, Resolution.completed_at < end)
                .order_by(Resolution.completed_at, Resolution.ticket_id)
            )
            if site_id is not None:
                query = query.where(Ticket.site_id == site_id)
            ids = list((await session.scalars(query)).all())
            return await _sheets(session, ids)

    async def recent_for_reporter(self, reporter_id: int, *, limit: int = 8) -> list[int]:
        """The reporter's latest tickets that have a sheet, newest first."""
        async with self.core.reading() as session:
            return list(
                (
                    await session.scalars(
                        select(Ticket.id)
                        .join(Resolution, Resolution.ticket_id == Ticket.id)
                        .where(Ticket.reporter_id == reporter_id)
                        .order_by(Ticket.id.desc())
                        .limit(limit)
                    )
                ).all()
            )
