"""The domain's vocabularies: roles, ticket states, service-sheet choices."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a person does in the helpdesk."""

    STAFF = "staff"
    ENGINEER = "engineer"
    DISPATCHER = "dispatcher"
    MANAGER = "manager"
    ADMIN = "admin"


class TicketStatus(StrEnum):
    """Where a ticket is in its life; moves only through core.lifecycle."""

    REPORTED = "reported"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    PAUSED = "paused"
    RESTORED = "restored"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset(
    {
        TicketStatus.REPORTED,
        TicketStatus.ASSIGNED,
        TicketStatus.ACKNOWLEDGED,
        TicketStatus.EN_ROUTE,
        TicketStatus.ON_SITE,
        TicketStatus.PAUSED,
        TicketStatus.RESTORED,
        TicketStatus.REOPENED,
    }
)
# An engineer is on their way to the ticket (dispatched, accepted or travelling): their
# own word on when they will be there counts.
COMING_STATUSES = frozenset(
    {TicketStatus.ASSIGNED, TicketStatus.ACKNOWLEDGED, TicketStatus.EN_ROUTE}
)


class Impact(StrEnum):
    """How the fault hurts the reporter's work; maps to severity (003 §2.1.1, 004 §1.2.5)."""

    BUSINESS_STOPPED = "business_stopped"  # level 1: service interrupted, key data lost
    CANNOT_WORK = "cannot_work"  # level 2: directly affects work, or risk of level 1
    DEGRADED = "degraded"  # level 3: function/performance hurt, key work goes on
    INTERMITTENT = "intermittent"  # level 4: intermittent or indirect effect


IMPACT_SEVERITY: dict[Impact, int] = {
    Impact.BUSINESS_STOPPED: 1,
    Impact.CANNOT_WORK: 2,
    Impact.DEGRADED: 3,
    Impact.INTERMITTENT: 4,
}


class ServiceType(StrEnum):
    """Service content boxes of the service sheet (001 附表一 服务内容)."""

    HARDWARE_FAULT = "hardware_fault"
    SOFTWARE_FAULT = "software_fault"
    HARDWARE_INSTALL = "hardware_install"
    NETWORK = "network"
    NO_FAULT = "no_fault"
    OTHER = "other"


class ServiceResult(StrEnum):
    """Result boxes of the service sheet (001 附表一 维修结果)."""

    FIXED_ON_SITE = "fixed_on_site"
    TAKEN_BACK = "taken_back"
    SECOND_VISIT = "second_visit"
    FIXED_REMOTELY = "fixed_remotely"


class AssetKind(StrEnum):
    """Equipment on the asset register (000 §2.2.1-1, 004)."""

    PC = "pc"
    LAPTOP = "laptop"
    PRINTER = "printer"
    SCANNER = "scanner"
    PROJECTOR = "projector"
    TV = "tv"
    MICROPHONE = "microphone"
    CONFERENCE_TERMINAL = "conference_terminal"
    AMPLIFIER = "amplifier"
    CENTRAL_CONTROL = "central_control"
    OTHER = "other"


DESKTOP_KINDS = frozenset({AssetKind.PC, AssetKind.LAPTOP, AssetKind.PRINTER, AssetKind.SCANNER})
MEETING_ROOM_KINDS = frozenset(
    {
        AssetKind.PROJECTOR,
        AssetKind.TV,
        AssetKind.MICROPHONE,
        AssetKind.CONFERENCE_TERMINAL,
        AssetKind.AMPLIFIER,
        AssetKind.CENTRAL_CONTROL,
    }
)


# 001 附表一 回访记录: four dimensions, each 很满意/满意/一般/不满意 (4..1).
FOLLOW_UP_DIMENSIONS = ("quality", "standard", "progress", "attitude")
FOLLOW_UP_LABELS: dict[int, str] = {
    4: "very_satisfied",
    3: "satisfied",
    2: "average",
    1: "dissatisfied",
}


class ComplaintStatus(StrEnum):
    """Complaint handling (004 §1.3.4): recorded, confirmed, answered."""

    RECEIVED = "received"
    CONFIRMED = "confirmed"
    ANSWERED = "answered"


class WorkStatus(StrEnum):
    """State of a due-work row."""

    PENDING = "pending"
    DONE = "done"
    CANCELLED = "cancelled"


class OutboxStatus(StrEnum):
    """Delivery state of an outbox row."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    # Never sent: a later step of the same clock went out first (an 80 % reminder whose
    # deadline has passed), so it would only arrive late and out of order.
    DROPPED = "dropped"


class ArrivalCheck(StrEnum):
    """What the engineer's shared location says about an arrival (000 §4: arrival is evidence)."""

    VERIFIED = "verified"  # shared, within the site's radius
    OUTSIDE = "outside"  # shared, farther than the radius (the distance is kept)
    NOT_GIVEN = "not_given"  # the site has coordinates, but no location was shared
