"""Read models: tickets and complaints as people see them, detached from the database.

Services build them (`TicketService.card`, `ComplaintService.get`); the outbox messages
carry them, so a message renders from what it holds without reading the database again.
Nothing here imports a service, which keeps `core.messages` free of import cycles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from core.enums import (
    ArrivalCheck,
    AssetKind,
    ComplaintStatus,
    Impact,
    Role,
    ServiceResult,
    TicketStatus,
)


@dataclass(frozen=True)
class ClockView:
    """One deadline as people see it."""

    kind: str
    due_at: datetime | None
    stopped_at: datetime | None
    met: bool | None
    paused: bool
    cancelled: bool
    breached: bool


@dataclass(frozen=True)
class ConsentView:
    """A data-backup request and its answer, as people see it."""

    operation: str
    requested_at: datetime
    answered_at: datetime | None
    confirmed: bool | None


@dataclass(frozen=True)
class RepairView:
    """An earlier ticket of the same device, as the engineer sees it on the card."""

    ticket_id: int
    reported_at: datetime
    symptom: str
    status: TicketStatus
    result: ServiceResult | None  # from its service sheet, if filed


@dataclass(frozen=True)
class TicketCard:
    """A ticket with what a chat message about it needs."""

    id: int
    status: TicketStatus
    severity: int
    symptom: str
    impact: Impact
    reported_at: datetime
    site_name: str
    location: str
    asset_tag: str | None
    asset_kind: AssetKind | None
    reporter_id: int
    reporter_name: str
    contact_phone: str
    assignee_id: int | None
    assignee_name: str | None
    promised_arrival_at: datetime | None
    timezone: str
    cycle: int
    repeat_of_id: int | None
    remote: bool
    clocks: tuple[ClockView, ...] = field(default_factory=tuple)
    site_address: str = ""
    brand_model: str = ""
    spare_due_back_at: datetime | None = None  # the open spare-device loan, if any
    consent: ConsentView | None = None  # the latest data-backup request
    photo_ids: tuple[str, ...] = ()  # Telegram file ids, oldest first
    site_latitude: float | None = None
    site_longitude: float | None = None
    warranty_until: date | None = None  # from the asset register
    repairs: tuple[RepairView, ...] = ()  # the device's latest earlier tickets, newest first
    arrived_at: datetime | None = None
    arrival_check: ArrivalCheck | None = None  # None: not arrived, or no site coordinates
    arrival_distance_m: int | None = None

    @property
    def site_located(self) -> bool:
        """The site has coordinates (a map on the card; arrival asks for a location)."""
        return self.site_latitude is not None and self.site_longitude is not None

    @property
    def under_warranty(self) -> bool | None:
        """Under warranty on the day it was reported, per the register (None: not recorded)."""
        if self.warranty_until is None:
            return None
        return self.reported_at.date() <= self.warranty_until

    site_id: int | None = None  # None only in messages queued before cards carried it
    expected_arrival_at: datetime | None = None  # the engineer's new time, once given

    def clock(self, kind: str) -> ClockView | None:
        """The view of one clock, if started."""
        return next((c for c in self.clocks if c.kind == kind), None)

    @property
    def next_due(self) -> datetime | None:
        """The nearest deadline still running."""
        running = [c.due_at for c in self.clocks if c.stopped_at is None and c.due_at is not None]
        return min(running) if running else None


@dataclass(frozen=True)
class ComplaintView:
    """A complaint as people see it."""

    id: int
    reporter_id: int
    reporter_name: str
    ticket_id: int | None
    site_id: int | None
    timezone: str
    text: str
    status: ComplaintStatus
    received_at: datetime
    due_at: datetime
    confirmed_at: datetime | None
    answered_at: datetime | None
    answer: str
    accepted: bool | None

    @property
    def answered(self) -> bool:
        """An answer has been given."""
        return self.status is ComplaintStatus.ANSWERED


@dataclass(frozen=True)
class TimelineEntry:
    """One event of a ticket's history (from the audit log)."""

    at: datetime
    action: str  # the audit action, e.g. "ticket.arrived"
    actor: str | None  # the person's name; None for the system
    actor_role: Role | None
    data: dict[str, Any]


@dataclass(frozen=True)
class TicketHistory:
    """A ticket as one of its parties sees it: the card and everything that happened."""

    card: TicketCard
    entries: tuple[TimelineEntry, ...]
