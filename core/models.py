"""Database tables. Time columns hold aware UTC datetimes on every backend."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.clock import DEFAULT_TIMEZONE
from core.enums import (
    ArrivalCheck,
    AssetKind,
    ComplaintStatus,
    Impact,
    OutboxStatus,
    Role,
    ServiceResult,
    ServiceType,
    TicketStatus,
    WorkStatus,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; SQLite keeps them naive, PostgreSQL as timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Reject naive values; normalise to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; core time must be aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Give back aware UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum(kind: type[StrEnum], length: int = 24) -> Enum:
    """A portable enum column: VARCHAR of the values, no database enum type."""
    return Enum(
        kind,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (Alembic needs them)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - read by SQLAlchemy at class creation
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
        date: Date(),
    }


# --- places and people -------------------------------------------------------------------


class Site(Base):
    """An office or branch; its region and service hours select the SLA targets."""

    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(32))
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    service_hours: Mapped[str] = mapped_column(String(32), default="5x8")
    address: Mapped[str] = mapped_column(String(500), default="")
    # Where the site is, for the map on dispatch cards and to check arrivals; optional.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    arrival_radius_m: Mapped[int | None] = mapped_column(Integer)  # None: the default
    # A Telegram group where the site's escalation alerts are also posted (set by an admin).
    alert_chat_id: Mapped[int | None] = mapped_column(BigInteger)


class Department(Base):
    """A department at a site (处室)."""

    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    name: Mapped[str] = mapped_column(String(200))


class Person(Base):
    """Anyone who uses the helpdesk: staff, engineers, dispatchers, managers, admins."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_enum(Role))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    phone: Mapped[str | None] = mapped_column(String(32))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    language: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))
    backup_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    site: Mapped[Site | None] = relationship(lazy="raise")


class Invite(Base):
    """A deep-link invitation that registers a person with a role at a site/department."""

    __tablename__ = "invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    uses: Mapped[int] = mapped_column(Integer, default=0)


class Asset(Base):
    """A registered device (000 §2.2.1-1 资产巡检维修设备登记表); the tag is on its sticker."""

    __tablename__ = "asset"

    id: Mapped[int] = mapped_column(primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[AssetKind] = mapped_column(_enum(AssetKind))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    location: Mapped[str] = mapped_column(String(200), default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    user_name: Mapped[str] = mapped_column(
        String(200), default=""
    )  # 使用人, as the register names them
    brand: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str] = mapped_column(String(100), default="")
    serial: Mapped[str] = mapped_column(String(100), default="")
    monitor_serial: Mapped[str] = mapped_column(String(100), default="")
    warranty_until: Mapped[date | None]
    manufactured_on: Mapped[date | None]
    health: Mapped[str] = mapped_column(String(100), default="")
    hardware_config: Mapped[str] = mapped_column(Text, default="")
    ip_address: Mapped[str] = mapped_column(String(64), default="")
    subnet_mask: Mapped[str] = mapped_column(String(64), default="")
    os: Mapped[str] = mapped_column(String(100), default="")
    antivirus: Mapped[str] = mapped_column(String(100), default="")
    office_software: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


# --- tickets ---------------------------------------------------------------------------------


class Ticket(Base):
    """A fault report and everything that happens to it; state moves via core.lifecycle."""

    __tablename__ = "ticket"
    __table_args__ = (
        Index("ix_ticket_status_site", "status", "site_id"),
        # The trailing columns let the monthly report count repeats from the index alone.
        Index("ix_ticket_asset_reported", "asset_id", "reported_at", "category", "remote"),
        Index("ix_ticket_assignee_status", "assignee_id", "status"),
        Index("ix_ticket_reporter_status", "reporter_id", "status"),
        Index("ix_ticket_reported_at", "reported_at", "category", "remote", "asset_id"),
        Index("ix_ticket_request_key", "request_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id"))
    asset_kind: Mapped[AssetKind | None] = mapped_column(_enum(AssetKind))
    location: Mapped[str] = mapped_column(String(200), default="")
    # What made the report (the chat update that confirmed it): the same request
    # handled twice, after a crash, finds its ticket instead of opening another.
    request_key: Mapped[str | None] = mapped_column(String(64))
    symptom: Mapped[str] = mapped_column(Text)
    impact: Mapped[Impact] = mapped_column(_enum(Impact))
    severity: Mapped[int] = mapped_column(Integer)
    initial_severity: Mapped[int] = mapped_column(Integer)
    category: Mapped[ServiceType | None] = mapped_column(_enum(ServiceType))
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus))
    paused_from: Mapped[TicketStatus | None] = mapped_column(_enum(TicketStatus))
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    dispatcher_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    remote: Mapped[bool] = mapped_column(Boolean, default=False)
    # Snapshots of the site's SLA coordinates at report time, so later edits of the
    # site do not silently move this ticket's deadlines.
    region: Mapped[str] = mapped_column(String(32))
    service_hours: Mapped[str] = mapped_column(String(32))
    timezone: Mapped[str] = mapped_column(String(64))
    reported_at: Mapped[datetime]
    assigned_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    departed_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    promised_arrival_at: Mapped[datetime | None]
    # The engineer's own word on when they will be there, once the promise will not hold.
    expected_arrival_at: Mapped[datetime | None]
    restored_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    second_visit_at: Mapped[datetime | None]
    cycle: Mapped[int] = mapped_column(Integer, default=0)  # +1 on each reopen
    repeat_of_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    fix_confirmed: Mapped[bool | None] = mapped_column(Boolean)
    # The arrival's evidence: the location the engineer shared and what it showed
    # (None: the site has no coordinates, or nobody has arrived in this cycle).
    arrival_check: Mapped[ArrivalCheck | None] = mapped_column(_enum(ArrivalCheck, 16))
    arrival_distance_m: Mapped[int | None] = mapped_column(Integer)
    arrival_latitude: Mapped[float | None] = mapped_column(Float)
    arrival_longitude: Mapped[float | None] = mapped_column(Float)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own contract


class TicketPhoto(Base):
    """A photo attached to a report or sent in its thread later (Telegram file id)."""

    __tablename__ = "ticket_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    file_id: Mapped[str] = mapped_column(String(256))
    added_at: Mapped[datetime]
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))


class TicketNote(Base):
    """A message in a ticket's thread between reporter, engineer and dispatcher, relayed by the bot."""

    __tablename__ = "ticket_note"
    __table_args__ = (Index("ix_ticket_note_request_key", "request_key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    text: Mapped[str] = mapped_column(Text, default="")
    photo_file_id: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime]
    # The chat update that posted it (as on Ticket): handled twice, it is posted once.
    request_key: Mapped[str | None] = mapped_column(String(64))


class Pause(Base):
    """A period a ticket waited for the reporter, parts or a vendor."""

    __tablename__ = "pause"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime]
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))


class SlaClock(Base):
    """One deadline of one ticket (acknowledge, arrival, restore, resolve) in one cycle."""

    __tablename__ = "sla_clock"
    __table_args__ = (
        UniqueConstraint("ticket_id", "kind", "cycle"),
        # Covers the on-time arrival count of a period (monthly summary over 1 M tickets).
        Index(
            "ix_sla_clock_kind_started",
            "kind",
            "started_at",
            "cancelled",
            "stopped_at",
            "met",
            "breached_at",
            "due_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    kind: Mapped[str] = mapped_column(String(16))
    cycle: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime]
    target_seconds: Mapped[int] = mapped_column(Integer)
    calendar: Mapped[str] = mapped_column(String(32))  # the calendar business time is counted in
    paused_seconds: Mapped[float] = mapped_column(Float, default=0.0)  # business seconds
    paused_since: Mapped[datetime | None]
    due_at: Mapped[datetime | None]  # None while paused
    stopped_at: Mapped[datetime | None]
    met: Mapped[bool | None] = mapped_column(Boolean)  # set when stopped; None = running
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)  # e.g. arrival after remote fix
    breached_at: Mapped[datetime | None]


class Resolution(Base):
    """The service sheet (001 附表一) filled when a ticket is resolved."""

    __tablename__ = "resolution"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), unique=True)
    engineer_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    service_type: Mapped[ServiceType] = mapped_column(_enum(ServiceType))
    under_warranty: Mapped[bool] = mapped_column(Boolean, default=False)
    charged: Mapped[bool] = mapped_column(Boolean, default=False)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    result: Mapped[ServiceResult] = mapped_column(_enum(ServiceResult))
    second_visit_at: Mapped[datetime | None]
    parts_replaced: Mapped[str] = mapped_column(Text, default="")
    spare_lent: Mapped[bool] = mapped_column(Boolean, default=False)
    solution: Mapped[str] = mapped_column(Text, default="")
    completed_at: Mapped[datetime]


class SpareLoan(Base):
    """A spare device lent while the original is repaired; due back in 7 working days (000 §2.1)."""

    __tablename__ = "spare_loan"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    description: Mapped[str] = mapped_column(String(300), default="")
    lent_at: Mapped[datetime]
    due_back_at: Mapped[datetime]
    returned_at: Mapped[datetime | None]


class BackupConsent(Base):
    """The reporter's confirmation that data is backed up before risky work (000 §2.2.1-3)."""

    __tablename__ = "backup_consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    operation: Mapped[str] = mapped_column(String(64), default="")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    requested_at: Mapped[datetime]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    answered_at: Mapped[datetime | None]
    confirmed: Mapped[bool | None] = mapped_column(Boolean)


class Rating(Base):
    """The reporter's verdict: fix confirmed or not, 1-5 score, follow-up dimensions."""

    __tablename__ = "rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    cycle: Mapped[int] = mapped_column(Integer, default=0)
    rater_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    score: Mapped[int | None] = mapped_column(Integer)
    quality: Mapped[int | None] = mapped_column(Integer)
    standard: Mapped[int | None] = mapped_column(Integer)
    progress: Mapped[int | None] = mapped_column(Integer)
    attitude: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("ticket_id", "cycle"),
        Index("ix_rating_rated_at", "rated_at", "score"),
    )


class Complaint(Base):
    """A complaint about the service, answered within 3 working days (004 §1.3.6)."""

    __tablename__ = "complaint"
    __table_args__ = (Index("ix_complaint_request_key", "request_key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[ComplaintStatus] = mapped_column(_enum(ComplaintStatus))
    received_at: Mapped[datetime]
    due_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    answer: Mapped[str] = mapped_column(Text, default="")
    accepted: Mapped[bool | None] = mapped_column(Boolean)  # accepted complaints cost 20 points
    request_key: Mapped[str | None] = mapped_column(String(64))  # as on Ticket


# --- inspections, surveys, reports -----------------------------------------------------------


class InspectionPlan(Base):
    """Planned maintenance: e.g. semiannual desktop health checks (002, 003 §2.4) or monthly
    meeting-room rounds done before the 10th (004)."""

    __tablename__ = "inspection_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    cadence: Mapped[str] = mapped_column(String(16))  # "semiannual" | "monthly"
    due_day: Mapped[int | None] = mapped_column(Integer)  # monthly: done before this day
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    engineer_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    asset_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    notice_working_days: Mapped[int] = mapped_column(Integer, default=15)
    report_working_days: Mapped[int] = mapped_column(Integer, default=3)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class Inspection(Base):
    """One round of a plan in one period ("2026-H1", "2026-03")."""

    __tablename__ = "inspection"
    __table_args__ = (UniqueConstraint("plan_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("inspection_plan.id"))
    period: Mapped[str] = mapped_column(String(16))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    engineer_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    starts_on: Mapped[datetime]  # the window opens
    due_at: Mapped[datetime]  # done by
    status: Mapped[str] = mapped_column(String(16), default="planned")
    announced_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    report_due_at: Mapped[datetime | None]
    reported_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]


class InspectionItem(Base):
    """The checklist result for one device in one inspection."""

    __tablename__ = "inspection_item"
    __table_args__ = (UniqueConstraint("inspection_id", "asset_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id"))
    outcome: Mapped[str] = mapped_column(String(16))  # "ok" | "fault" | "skipped"
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    consumables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    checked_at: Mapped[datetime]
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))


class SurveyRound(Base):
    """The semiannual satisfaction survey of all departments (000 §4: 30 % of the score)."""

    __tablename__ = "survey_round"
    __table_args__ = (UniqueConstraint("period", "site_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(16))  # "2026-H2"
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    opened_at: Mapped[datetime]
    closes_at: Mapped[datetime]


class SurveyResponse(Base):
    """One department member's answer to a survey round."""

    __tablename__ = "survey_response"
    __table_args__ = (UniqueConstraint("round_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_round.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime]


class ReportRun(Base):
    """A periodic report as posted, with its figures frozen (key e.g. monthly-summary:2026-11)."""

    __tablename__ = "report_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(16))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    created_at: Mapped[datetime]
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class FalseReport(Base):
    """A finding that a record was false (a part claimed replaced but not, a late repair
    reported on time): each costs 10 % of the quarter's payment (000 §4)."""

    __tablename__ = "false_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    kind: Mapped[str] = mapped_column(
        String(32)
    )  # "part_not_replaced" | "late_reported_on_time" | "other"
    note: Mapped[str] = mapped_column(Text, default="")
    found_at: Mapped[datetime]
    found_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))


class ReplacementRequest(Base):
    """The customer's request to replace an engineer (000 §4); the contractor has ten working
    days (002). Not met by its deadline, it costs 20 points in that quarter."""

    __tablename__ = "replacement_request"
    __table_args__ = (
        Index("ix_replacement_request_due_at", "due_at"),
        Index("ix_replacement_request_key", "request_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    engineer_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # "open" | "done" | "withdrawn"
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    requested_at: Mapped[datetime]
    due_at: Mapped[datetime]
    successor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    withdrawn_at: Mapped[datetime | None]
    missed_at: Mapped[datetime | None]  # set when the deadline passed with the request open
    tickets_handed_over: Mapped[int] = mapped_column(Integer, default=0)
    plans_handed_over: Mapped[int] = mapped_column(Integer, default=0)
    request_key: Mapped[str | None] = mapped_column(String(64))  # as on Ticket


class KpiSnapshot(Base):
    """A closed quarter's KPI counts per site, kept so the scorecard need not count them again.

    Valid while no audit event after `audit_head` touches a ticket the quarter's KPIs
    depend on, and until `stale_after` (the first deadline of an arrival clock still
    running when counted, after which that clock counts as missed).
    """

    __tablename__ = "kpi_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    computed_at: Mapped[datetime]
    as_of: Mapped[datetime]
    audit_head: Mapped[int] = mapped_column(BigInteger)
    stale_after: Mapped[datetime | None]
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# --- timers, pages, outbox, audit ----------------------------------------------------------


class DueWork(Base):
    """Something that must happen at a time: an escalation step, a progress update, a reminder.

    Claimed with a lease before it is acted on; firing and marking done share one
    transaction, so each row takes effect exactly once however many runners sweep.
    """

    __tablename__ = "due_work"
    __table_args__ = (Index("ix_due_work_pending", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    due_at: Mapped[datetime | None]  # None while suspended (ticket paused)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[WorkStatus] = mapped_column(_enum(WorkStatus), default=WorkStatus.PENDING)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class Page(Base):
    """An escalation page to one person; repeats until acknowledged."""

    __tablename__ = "page"
    __table_args__ = (Index("ix_page_open", "acknowledged_at", "recipient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    clock: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))  # "page" or "manager"
    step_key: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    repeats: Mapped[int] = mapped_column(Integer, default=0)


class OutboxMessage(Base):
    """A message to a person, written in the same transaction as its cause; sent later."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "available_at"),
        # Which ticket a message is about, when a person replies to it.
        Index("ix_outbox_recipient_message", "recipient_id", "message_id"),
        Index("ix_outbox_sent", "status", "sent_at"),  # retention prunes sent rows by age
        # A step of an escalation ladder waits for the earlier steps of its clock.
        Index("ix_outbox_chain", "chain", "rank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    page_id: Mapped[int | None] = mapped_column(ForeignKey("page.id"))
    priority: Mapped[int] = mapped_column(Integer, default=5)  # lower goes first
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus), default=OutboxStatus.PENDING)
    created_at: Mapped[datetime]
    available_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    # The fencing token: raised by every claim, and an outcome is recorded only under the
    # token it was claimed with, so a sender whose claim was superseded records nothing.
    claim_token: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sent_at: Mapped[datetime | None]
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Rows of one chain go out in `rank` order: none is delivered while a row of a lower
    # rank is pending (a manager's alert never before the page it escalates).
    chain: Mapped[str | None] = mapped_column(String(80))
    rank: Mapped[int | None] = mapped_column(Integer)
    # Moot from then on (a reminder of a deadline that has passed): dropped, never sent.
    expires_at: Mapped[datetime | None]


class OutboxLane(Base):
    """Which sender writes to a chat now: a chat's messages go through one sender at a time.

    Taken with the chat's rows and renewed with their leases; after the chat's last send
    it is kept for one per-chat interval, so the next sender does not write to the chat
    sooner than the last one's pace allows.
    """

    __tablename__ = "outbox_lane"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    owner: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime]


class AuditEvent(Base):
    """One entry of the append-only, hash-chained event log."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_entity", "entity", "entity_id"),
        # The on-site fix rate counts resolutions by their audit action.
        Index("ix_audit_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(Integer)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row naming the chain's last event; locked while appending."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


# --- chat infrastructure (shared by all bot instances) --------------------------------------


class ChatState(Base):
    """Where a person is in a multi-step dialog; in the database so restarts lose nothing."""

    __tablename__ = "chat_state"
    __table_args__ = (UniqueConstraint("chat_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    dialog: Mapped[str] = mapped_column(String(48))
    step: Mapped[str] = mapped_column(String(48))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message_id: Mapped[int | None] = mapped_column(BigInteger)  # the dialog's keyboard message
    updated_at: Mapped[datetime]
    # Grows with every save; a save names the version it read, so a stale writer is refused.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class ProcessedUpdate(Base):
    """Telegram update ids already handled; a redelivered update is processed once.

    Update ids are numbered per bot, so the journal is keyed by bot and update id: a
    database that served a test bot serves the production token without mistaking its
    updates for ones already handled. Rows journaled before bots were told apart have
    bot 0.
    """

    __tablename__ = "processed_update"
    # Retention prunes by age among handled updates; a chat's lane takes its updates in order.
    __table_args__ = (
        Index("ix_processed_update_done_at", "done_at"),
        Index("ix_processed_update_chat", "bot_id", "chat_id", "update_id"),
    )

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]  # set while a handler works on it
    done_at: Mapped[datetime | None]
    # The update itself (bot.chat.Incoming as JSON), kept from receipt until it is
    # handled, so that an update whose handler died is handled again (cleared when done).
    payload: Mapped[dict[str, Any] | None]
    # The chat it came from: updates of one chat are handled one at a time, in update order.
    chat_id: Mapped[int | None] = mapped_column(BigInteger)


class ChatLane(Base):
    """Which instance handles one chat's updates now: a lease, renewed while it works.

    Whichever instance received an update, only the lane's holder handles the chat's
    journaled updates, oldest first. `token` grows with every acquisition (a fencing
    token): a holder whose lease ran out cannot renew, finish or release what it lost.
    """

    __tablename__ = "chat_lane"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    holder: Mapped[str | None] = mapped_column(String(96))
    token: Mapped[int] = mapped_column(BigInteger, default=0)
    lease_until: Mapped[datetime | None]


class Instance(Base):
    """A running bot process and its last heartbeat (wall time, not domain time).

    `faultdesk restore` refuses a database with a fresh heartbeat: a process is still
    using it. A process that stops cleanly removes its row; one that died leaves a row
    whose heartbeat goes stale.
    """

    __tablename__ = "instance"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    beat_at: Mapped[datetime]


class WebLogin(Base):
    """A one-time link into the web console, given by /web in chat (issue 15).

    Only the token's SHA-256 is kept: a copy of the database opens no console. Redeeming
    sets `used_at` in the same transaction that checks it, so a link works once on any
    number of instances.
    """

    __tablename__ = "web_login"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class MenuButton(Base):
    """The menu button the bot last set in a private chat (issue 15), so that start-up and
    later passes call Telegram only for chats whose button must change.

    Keyed by bot like the update journal: a database that served another token holds
    nothing this bot set. `shown` is a digest of what was set (type, label, address);
    `failed` marks a refusal (the person never started the bot), tried again later.
    """

    __tablename__ = "menu_button"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    shown: Mapped[str] = mapped_column(String(64))
    failed: Mapped[bool] = mapped_column(Boolean, default=False)
    set_at: Mapped[datetime]
