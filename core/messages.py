"""What people are told: one frozen dataclass per kind of outbox message.

Core decides that someone must be told something and says exactly what, as one of
these classes, in the same transaction as the change that causes it (Cosmic Python's
domain events). The chat layer words each class in the reader's language with one
renderer per class (`bot.notifications`), from what the message carries: a renderer
does not read the database again for what the message could hold.

A message is stored in its outbox row as its `kind` (a stable name, kept when classes
are renamed) and its fields as JSON (`encode`); the sender turns the row back into the
object (`decode`). Field names follow what the rows held before messages were typed, so
rows written by an older version still read back. Datetimes are aware, in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Final

from pydantic import TypeAdapter, ValidationError

from core.enums import AssetKind, ComplaintStatus, Role, TicketStatus
from core.views import TicketCard

if TYPE_CHECKING:
    from core.models import Ticket

# Outbox priorities: lower goes first. Replies to a person waiting in chat (0) go
# ahead of all of these; they never pass through the outbox.
PRIORITY_PAGE: Final = 1
PRIORITY_NOTICE: Final = 5
PRIORITY_REPORT: Final = 8

KINDS: dict[str, type[Message]] = {}


class MessageError(ValueError):
    """A stored message cannot be read back (unknown kind, or fields that do not fit)."""


@dataclass(frozen=True, kw_only=True)
class Message:
    """Something a person must be told. Concrete classes set `kind`; bases do not."""

    kind: ClassVar[str]
    priority: ClassVar[int] = PRIORITY_NOTICE
    # Non-urgent: held outside the recipient's site's service hours, sent when the day
    # starts (`core.outbox.enqueue`). Pages and answers to what a person just did never are.
    quiet: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind is None:
            return
        if kind in KINDS:
            raise TypeError(f"message kind {kind!r} defined twice")
        KINDS[kind] = cls

    def about_ticket(self) -> int | None:
        """The ticket this message is about, if any (kept on the outbox row)."""
        return None

    def zone(self) -> str | None:
        """The time zone to show times in when the reader has none of their own."""
        return None


_ADAPTERS: dict[str, TypeAdapter[Any]] = {}


def _adapter(cls: type[Message]) -> TypeAdapter[Any]:
    """The class's pydantic adapter, built on first use (building one takes milliseconds)."""
    adapter = _ADAPTERS.get(cls.kind)
    if adapter is None:
        adapter = _ADAPTERS[cls.kind] = TypeAdapter(cls)
    return adapter


def encode(message: Message) -> dict[str, Any]:
    """The message's fields as JSON-ready data for its outbox row."""
    data: dict[str, Any] = _adapter(type(message)).dump_python(message, mode="json")
    return data


def decode(kind: str, data: Mapping[str, Any]) -> Message:
    """The message an outbox row holds; MessageError when it cannot be read."""
    cls = KINDS.get(kind)
    if cls is None:
        raise MessageError(f"unknown message kind {kind!r}")
    try:
        message: Message = _adapter(cls).validate_python(dict(data))
    except ValidationError as error:
        raise MessageError(f"{kind}: {error.error_count()} field(s) do not fit: {error}") from error
    return message


# --- what many messages share ----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TicketMessage(Message):
    """About one ticket: what every such message can show without looking it up."""

    ticket_id: int
    symptom: str
    severity: int
    status: TicketStatus
    location: str
    tz: str

    def about_ticket(self) -> int | None:
        """The ticket."""
        return self.ticket_id

    def zone(self) -> str | None:
        """The ticket's site zone."""
        return self.tz


def ticket_facts(ticket: Ticket) -> dict[str, Any]:
    """The fields every `TicketMessage` about this ticket carries, as it stands now."""
    return {
        "ticket_id": ticket.id,
        "symptom": ticket.symptom[:200],
        "severity": ticket.severity,
        "status": ticket.status,
        "location": ticket.location,
        "tz": ticket.timezone,
    }


@dataclass(frozen=True, kw_only=True)
class CardMessage(Message):
    """About one ticket, with the whole card (device, place, reporter, deadlines)."""

    card: TicketCard

    def about_ticket(self) -> int | None:
        """The ticket."""
        return self.card.id

    def zone(self) -> str | None:
        """The ticket's site zone."""
        return self.card.timezone


@dataclass(frozen=True, kw_only=True)
class Acknowledgement:
    """Someone who acknowledged a page about the same deadline, and when."""

    name: str
    at: datetime


@dataclass(frozen=True)
class MissedDeadline:
    """Another deadline of the ticket found already missed when its level was raised."""

    clock: str
    due_at: datetime
    overdue_seconds: int


@dataclass(frozen=True)
class NextDeadline:
    """The ticket's next deadline still ahead."""

    clock: str
    due_at: datetime


@dataclass(frozen=True, kw_only=True)
class DeadlineMessage(TicketMessage):
    """A step of the escalation ladder of one clock (80 %, 100 %, 150 % of its target).

    Besides the deadline it says who holds the ticket and since when (accepted but never
    left, on the way since...), how to reach them, and who has acknowledged the pages
    about this deadline so far; rows queued before these were carried read back with
    the defaults.
    """

    clock: str
    percent: int
    due_at: datetime
    overdue_seconds: int
    assignee: str | None
    raised_to: int | None = None
    page_id: int | None = None
    site: str = ""
    site_id: int | None = None
    since: datetime | None = None  # when the ticket entered `status`
    assignee_id: int | None = None
    assignee_phone: str = ""
    acknowledged: tuple[Acknowledgement, ...] = ()
    expected_at: datetime | None = None  # the engineer's new arrival time, still to come
    # After a raise, the new level's steps already past come as this one message: the
    # other deadlines missed, and what is due next.
    also_missed: tuple[MissedDeadline, ...] = ()
    next_due: NextDeadline | None = None


@dataclass(frozen=True, kw_only=True)
class EscalationPage(DeadlineMessage):
    """A page: sent again every repeat interval until the person acknowledges it."""

    priority: ClassVar[int] = PRIORITY_PAGE
    repeat: int | None = None  # None: the first sending; n: the n-th repeat


@dataclass(frozen=True, kw_only=True)
class ComplaintMessage(Message):
    """About one complaint (004 §1.3.4)."""

    complaint_id: int
    ticket_id: int | None
    reporter: str
    text: str
    due_at: datetime
    tz: str

    def about_ticket(self) -> int | None:
        """The ticket complained about, if any."""
        return self.ticket_id

    def zone(self) -> str | None:
        """The complaint's site zone."""
        return self.tz


@dataclass(frozen=True, kw_only=True)
class LoanMessage(Message):
    """About a spare device lent while the original is repaired (000 §2.1)."""

    loan_id: int
    ticket_id: int
    description: str
    symptom: str
    location: str
    lent_at: datetime
    due_back_at: datetime
    tz: str

    def about_ticket(self) -> int | None:
        """The ticket the spare was lent for."""
        return self.ticket_id

    def zone(self) -> str | None:
        """The ticket's site zone."""
        return self.tz


@dataclass(frozen=True, kw_only=True)
class RoundMessage(Message):
    """About one inspection round (002, 003 §2.4, 004)."""

    inspection_id: int
    plan: str
    cadence: str
    period: str
    site: str
    engineer: str | None
    starts_on: datetime
    due_at: datetime
    devices: int
    checked: int
    tz: str

    def zone(self) -> str | None:
        """The round's site zone."""
        return self.tz


@dataclass(frozen=True, kw_only=True)
class ConsumableDue:
    """A consumable over its limit or running low (a projector lamp, remote batteries)."""

    tag: str
    kind: AssetKind
    location: str
    item: str
    value: int | float | str | None
    limit: float | None


@dataclass(frozen=True, kw_only=True)
class ConsumableReplaced:
    """A consumable replaced during the round."""

    tag: str
    kind: AssetKind
    location: str
    item: str


@dataclass(frozen=True, kw_only=True)
class RoundTicket:
    """A ticket opened for a fault found during the round."""

    tag: str
    kind: AssetKind
    location: str
    ticket_id: int


@dataclass(frozen=True, kw_only=True)
class SkippedDevice:
    """A device the round could not check, and why."""

    tag: str
    kind: AssetKind
    location: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RoundReportMessage(RoundMessage):
    """The inspection report's figures (counts, consumables, tickets, skipped devices)."""

    ok: int
    fault: int
    skipped: int
    consumables_due: tuple[ConsumableDue, ...] = ()
    consumables_replaced: tuple[ConsumableReplaced, ...] = ()
    tickets: tuple[RoundTicket, ...] = ()
    skipped_devices: tuple[SkippedDevice, ...] = ()
    completed_at: datetime | None
    on_time: bool
    report_due_at: datetime | None


# --- to the reporter -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class EngineerAssigned(TicketMessage):
    """An engineer is dispatched to the reporter's fault."""

    kind: ClassVar[str] = "ticket.assigned"
    engineer: str
    promised_arrival_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class DispatchAccepted(TicketMessage):
    """The engineer accepted the job."""

    kind: ClassVar[str] = "ticket.acknowledged"
    engineer: str


@dataclass(frozen=True, kw_only=True)
class EngineerOnTheWay(TicketMessage):
    """The engineer is travelling to the site."""

    kind: ClassVar[str] = "ticket.en_route"
    engineer: str
    promised_arrival_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class ArrivalExpected(TicketMessage):
    """The engineer gave a new time they expect to be there (late: after the promised time)."""

    kind: ClassVar[str] = "ticket.arrival_expected"
    engineer: str
    expected_at: datetime
    promised_arrival_at: datetime | None
    late: bool


@dataclass(frozen=True, kw_only=True)
class EngineerArrived(TicketMessage):
    """The engineer is on site."""

    kind: ClassVar[str] = "ticket.arrived"
    engineer: str


@dataclass(frozen=True, kw_only=True)
class WorkPaused(TicketMessage):
    """Work waits for the reporter, parts or a vendor."""

    kind: ClassVar[str] = "ticket.paused"
    reason: str
    note: str


@dataclass(frozen=True, kw_only=True)
class WorkResumed(TicketMessage):
    """Work goes on after a pause."""

    kind: ClassVar[str] = "ticket.resumed"


@dataclass(frozen=True, kw_only=True)
class ServiceRestored(TicketMessage):
    """Service is back (a workaround or a spare device); the full fix follows (003 §2.1.5)."""

    kind: ClassVar[str] = "ticket.restored"
    spare_lent: bool


@dataclass(frozen=True, kw_only=True)
class FaultResolved(TicketMessage):
    """The engineer filed the service sheet: is it fixed?"""

    kind: ClassVar[str] = "ticket.resolved"
    engineer: str
    solution: str
    remote: bool
    cycle: int


@dataclass(frozen=True, kw_only=True)
class ProgressUpdate(CardMessage):
    """The hourly word on an open ticket (002 热线服务规范)."""

    kind: ClassVar[str] = "ticket.progress"
    quiet: ClassVar[bool] = True
    hours_open: float
    n: int


@dataclass(frozen=True, kw_only=True)
class SecondVisitScheduled(TicketMessage):
    """Reopened for a second visit after a rejected fix or a low score (001 流程说明)."""

    kind: ClassVar[str] = "ticket.second_visit"
    reason: str
    promised_arrival_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class TicketCancelled(TicketMessage):
    """A dispatcher cancelled the reporter's ticket, with the reason."""

    kind: ClassVar[str] = "ticket.cancelled"
    reason: str
    cancelled_by: str


@dataclass(frozen=True, kw_only=True)
class BackupConsentRequested(TicketMessage):
    """The engineer asks the reporter to back up before risky work (000 §2.2.1-3)."""

    kind: ClassVar[str] = "consent.requested"
    consent_id: int
    operation: str


@dataclass(frozen=True, kw_only=True)
class ReporterDeadlineNotice(DeadlineMessage):
    """A deadline of the reporter's own ticket is near or was missed."""

    kind: ClassVar[str] = "sla.reporter_notice"


@dataclass(frozen=True, kw_only=True)
class SurveyReminder(TicketMessage):
    """A day after the fix, still unrated: the verdict or the score, once more."""

    kind: ClassVar[str] = "survey.reminder"
    quiet: ClassVar[bool] = True
    cycle: int
    resolved_at: datetime | None
    fix_confirmed: bool | None


@dataclass(frozen=True, kw_only=True)
class ComplaintReceived(ComplaintMessage):
    """The reporter's complaint is recorded, with the date it will be answered by."""

    kind: ClassVar[str] = "complaint.received"


@dataclass(frozen=True, kw_only=True)
class ComplaintConfirmed(ComplaintMessage):
    """A manager is looking into the complaint."""

    kind: ClassVar[str] = "complaint.confirmed"


@dataclass(frozen=True, kw_only=True)
class ComplaintAnswered(ComplaintMessage):
    """The manager's answer to the complaint."""

    kind: ClassVar[str] = "complaint.answered"
    answer: str
    accepted: bool


@dataclass(frozen=True, kw_only=True)
class InspectionAnnounced(RoundMessage):
    """To a site's staff and managers: engineers will come to check the equipment."""

    kind: ClassVar[str] = "inspection.announced"
    quiet: ClassVar[bool] = True


# --- to anyone taking part in a ticket -------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TicketNotePosted(TicketMessage):
    """A message in the ticket's thread, relayed from another party (never their account)."""

    kind: ClassVar[str] = "ticket.note"
    note_id: int
    author: str
    author_role: Role
    text: str
    photo_file_id: str | None = None


# --- to engineers ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class NewDispatch(CardMessage):
    """The dispatch card: the engineer's control panel for a ticket."""

    kind: ClassVar[str] = "dispatch.new"
    priority: ClassVar[int] = PRIORITY_PAGE


@dataclass(frozen=True, kw_only=True)
class DispatchTakenAway(TicketMessage):
    """Another engineer has the ticket now; this one need not go."""

    kind: ClassVar[str] = "dispatch.taken_away"


@dataclass(frozen=True, kw_only=True)
class DispatchCancelled(TicketMessage):
    """The report was withdrawn (or a dispatcher cancelled it); the engineer need not go."""

    kind: ClassVar[str] = "dispatch.cancelled"
    reason: str = ""
    cancelled_by: str = ""  # who: the reporter's or the dispatcher's name
    by_reporter: bool = True


@dataclass(frozen=True, kw_only=True)
class DeadlineReminder(DeadlineMessage):
    """80 % of a deadline has passed."""

    kind: ClassVar[str] = "sla.reminder"


@dataclass(frozen=True, kw_only=True)
class DeadlinePage(EscalationPage):
    """100 %: the deadline passed; assignee, backup and dispatchers are paged."""

    kind: ClassVar[str] = "sla.page"


@dataclass(frozen=True, kw_only=True)
class BackupConsentAnswered(TicketMessage):
    """The reporter confirmed (or refused) the data backup."""

    kind: ClassVar[str] = "consent.answered"
    consent_id: int
    confirmed: bool


@dataclass(frozen=True, kw_only=True)
class InspectionReminder(RoundMessage):
    """To the engineer: the round's window opened, or its due date is near."""

    kind: ClassVar[str] = "inspection.reminder"
    quiet: ClassVar[bool] = True
    which: str = "start"  # "start" or "due"


@dataclass(frozen=True, kw_only=True)
class InspectionOverdue(RoundMessage):
    """Not completed by the due time: the engineer and the managers are paged."""

    kind: ClassVar[str] = "inspection.overdue"
    priority: ClassVar[int] = PRIORITY_PAGE
    remaining: int


@dataclass(frozen=True, kw_only=True)
class SpareDueBack(LoanMessage):
    """The due day has come and the spare device is still out."""

    kind: ClassVar[str] = "loan.due"


# --- to dispatchers ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class NeedsEngineer(CardMessage):
    """A ticket nobody has: choose an engineer."""

    kind: ClassVar[str] = "dispatch.unassigned"


@dataclass(frozen=True, kw_only=True)
class DispatchDeclined(CardMessage):
    """The engineer declined, with their reason; choose another."""

    kind: ClassVar[str] = "dispatch.declined"
    declined_by: str
    reason: str


# --- to groups -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SiteGroupAlert(DeadlineMessage):
    """A page or manager alert, also posted in the site's alert group (nothing to press there)."""

    kind: ClassVar[str] = "sla.group_alert"
    priority: ClassVar[int] = PRIORITY_PAGE
    level: str  # "page" (100 %) or "manager" (150 %)


# --- to managers ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ManagerAlert(EscalationPage):
    """150 %: the managers are paged about a deadline long missed."""

    kind: ClassVar[str] = "sla.manager_alert"


@dataclass(frozen=True, kw_only=True)
class RepeatFailure(CardMessage):
    """The same device dispatched again within 30 days (000 §4)."""

    kind: ClassVar[str] = "manager.repeat_failure"


@dataclass(frozen=True, kw_only=True)
class SecondVisitAlert(CardMessage):
    """The reporter rejected the fix or rated it 1-2 (001 流程说明)."""

    kind: ClassVar[str] = "manager.second_visit"
    reason: str
    score: int | None = None


@dataclass(frozen=True, kw_only=True)
class ComplaintFiled(ComplaintMessage):
    """A new complaint, to the site's managers, to confirm and answer."""

    kind: ClassVar[str] = "complaint.new"
    status: ComplaintStatus


@dataclass(frozen=True, kw_only=True)
class ComplaintOverdue(ComplaintMessage):
    """Unanswered at its deadline: managers first, administrators a working day later (002)."""

    kind: ClassVar[str] = "complaint.overdue"
    priority: ClassVar[int] = PRIORITY_PAGE
    level: int
    received_at: datetime
    status: ComplaintStatus


@dataclass(frozen=True, kw_only=True)
class InspectionReport(RoundReportMessage):
    """A completed round's report, to the site's managers (004: to the project lead)."""

    kind: ClassVar[str] = "inspection.report"
    priority: ClassVar[int] = PRIORITY_REPORT


@dataclass(frozen=True, kw_only=True)
class SpareOverdue(LoanMessage):
    """A working day past due and the spare device is still out."""

    kind: ClassVar[str] = "loan.overdue"
    priority: ClassVar[int] = PRIORITY_PAGE
    engineer: str | None


# --- to administrators ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DeliveryFailed(Message):
    """A message Telegram will never take (blocked, never started, chat gone)."""

    kind: ClassVar[str] = "admin.delivery_failed"
    failed_id: int
    code: str  # the kind of the message that failed
    recipient_id: int | None
    recipient_name: str | None
    chat_id: int | None
    ticket_id: int | None
    error: str

    def about_ticket(self) -> int | None:
        """The ticket the failed message was about."""
        return self.ticket_id


@dataclass(frozen=True, kw_only=True)
class InspectionReportOverdue(RoundReportMessage):
    """The round's report reached no manager by its due date (003): here it is."""

    kind: ClassVar[str] = "inspection.report_overdue"
    priority: ClassVar[int] = PRIORITY_PAGE


# --- engineer replacement requests (000 §4, 002) -------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReplacementMessage(Message):
    """About one request to replace an engineer: who, why, by when."""

    request_id: int
    engineer: str
    site: str | None
    reason: str
    requested_by: str | None
    requested_at: datetime
    due_at: datetime
    tz: str

    def zone(self) -> str | None:
        """The engineer's site zone."""
        return self.tz


@dataclass(frozen=True, kw_only=True)
class ReplacementRequested(ReplacementMessage):
    """A manager asked for the engineer to be replaced; the work to hand over."""

    kind: ClassVar[str] = "replacement.requested"
    open_tickets: int
    plans: int


@dataclass(frozen=True, kw_only=True)
class ReplacementDone(ReplacementMessage):
    """The engineer is replaced and the work handed over, in time or late."""

    kind: ClassVar[str] = "replacement.done"
    successor: str | None
    tickets: int
    plans: int
    done_at: datetime
    on_time: bool


@dataclass(frozen=True, kw_only=True)
class ReplacementWithdrawn(ReplacementMessage):
    """The request was withdrawn before its deadline."""

    kind: ClassVar[str] = "replacement.withdrawn"


@dataclass(frozen=True, kw_only=True)
class ReplacementOverdue(ReplacementMessage):
    """The deadline passed without the replacement: 20 points off the quarter."""

    kind: ClassVar[str] = "replacement.overdue"
    priority: ClassVar[int] = PRIORITY_PAGE
    quarter: str


# --- the audit log's anchor ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AuditAnchorPosted(Message):
    """The audit chain's head, published daily to a read-only channel off the host."""

    kind: ClassVar[str] = "audit.anchor"
    priority: ClassVar[int] = PRIORITY_REPORT
    anchor: str  # '1234:5f3a9c0e1b2d4f60' (core.audit.anchor_text)
    events: int  # the head event's id: how many events the chain holds
    at: datetime
    tz: str

    def zone(self) -> str | None:
        """The zone the posting time is shown in."""
        return self.tz


# --- reports and the survey ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MonthlySummaryPosted(Message):
    """Last month's summary, frozen when posted (000 §2.2.1-9, 003: by the 15th)."""

    kind: ClassVar[str] = "report.monthly"
    priority: ClassVar[int] = PRIORITY_REPORT
    key: str
    period: str
    figures: dict[str, Any]  # `MonthlySummary.to_json()`


@dataclass(frozen=True, kw_only=True)
class QuarterlyScorecardPosted(Message):
    """The quarter's score and payment percentage (000 §4), frozen when posted."""

    kind: ClassVar[str] = "report.quarterly"
    priority: ClassVar[int] = PRIORITY_REPORT
    key: str
    period: str
    figures: dict[str, Any]  # `Scorecard.to_json()`


@dataclass(frozen=True, kw_only=True)
class SurveyQuestion(Message):
    """The semiannual satisfaction question (000 §4), one per staff member and round."""

    kind: ClassVar[str] = "survey.question"
    quiet: ClassVar[bool] = True
    priority: ClassVar[int] = PRIORITY_REPORT
    round_id: int
    period: str
    closes_at: datetime
