"""Reminders and deadline escalations outside the tickets' SLA clocks.

- **Satisfaction survey**: a resolved ticket not rated within `policy.survey_reminder_after`
  (a day) reminds its reporter once per resolution cycle (000 §4: every dispatch is rated).
- **Spare-device loans**: the original is due back in 7 working days (000 §2.1); the
  engineer is reminded at the start of the due day, and a manager is told one working day
  after if it is still out.
- **Complaints**: answered within 3 working days (004 §1.3.6); an unanswered complaint is
  escalated level by level (002 "按规定程序逐级反映"): the site's managers at the due time,
  the administrators one working day later.

Each is due work with a deterministic key, scheduled in the transaction that causes it
(`schedule_*`, called by TicketService and ComplaintService) and fired once by the runner;
each handler re-reads the state at its time, so a rated ticket, a returned loan or an
answered complaint is left alone.

Working days are counted here as in core.inspections: in the policy's "5x8" calendar
(official working days, China's holidays) in the relevant time zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import select

from core import outbox, scheduling
from core.clock import DEFAULT_TIMEZONE
from core.enums import ComplaintStatus, Role, TicketStatus
from core.errors import Conflict, NotFound, PermissionDenied
from core.messages import (
    ComplaintOverdue,
    SpareDueBack,
    SpareOverdue,
    SurveyReminder,
    ticket_facts,
)
from core.models import (
    Complaint,
    DueWork,
    Person,
    Rating,
    Resolution,
    Site,
    SpareLoan,
    Ticket,
)
from core.people import get_person, people_with_role
from core.sla.calendar import BusinessCalendar
from core.unit_of_work import Core, Tx

# Due-work kinds (registered in core.services).
SURVEY_REMINDER: Final = "survey.reminder"
LOAN_DUE: Final = "loan.due"
LOAN_OVERDUE: Final = "loan.overdue"
COMPLAINT_OVERDUE: Final = "complaint.overdue"

WORKING_DAYS_CALENDAR: Final = "5x8"
# 002: complaints go up level by level; level 1 the site's managers, level 2 the admins.
COMPLAINT_LEVELS: Final[Mapping[int, Role]] = {1: Role.MANAGER, 2: Role.ADMIN}
LOAN_HANDLERS: Final = frozenset({Role.ENGINEER, Role.DISPATCHER, Role.MANAGER, Role.ADMIN})


# --- working days ---------------------------------------------------------------------------


def working_days_calendar(
    tx: Tx, tz: str, service_hours: str = WORKING_DAYS_CALENDAR
) -> BusinessCalendar:
    """The calendar official working days (工作日) are counted in, in zone `tz`."""
    name = WORKING_DAYS_CALENDAR if WORKING_DAYS_CALENDAR in tx.policy.calendars else service_hours
    return tx.calendar(name, tz)


def working_days_before(cal: BusinessCalendar, moment: datetime, days: int) -> datetime:
    """Start (UTC) of the `days`-th working day before the local date of `moment`."""
    if days < 1:
        raise ValueError(f"need at least one working day, got {days}")
    day = moment.astimezone(cal.tz).date()
    counted = 0
    for _ in range(3 * 366):
        day -= timedelta(days=1)
        segments = cal.segments_on(day)
        if segments:
            counted += 1
            if counted == days:
                return segments[0][0]
    raise ValueError(f"calendar {cal.name!r} has no working days before {moment.isoformat()}")


def start_of_working_day(cal: BusinessCalendar, moment: datetime) -> datetime:
    """The first working moment of `moment`'s local date, else the next working moment."""
    segments = cal.segments_on(moment.astimezone(cal.tz).date())
    if segments:
        return segments[0][0]
    return cal.next_working_moment(moment)


# --- satisfaction survey ----------------------------------------------------------------------


async def schedule_survey_reminder(tx: Tx, ticket: Ticket) -> None:
    """At resolution: remind the reporter to rate if they have not after a day.

    The reminder waits for the next working moment, so nobody is asked to rate a fix on
    a Sunday night.
    """
    resolved = ticket.resolved_at or tx.now
    cal = working_days_calendar(tx, ticket.timezone, ticket.service_hours)
    await scheduling.schedule(
        tx,
        key=f"survey-reminder:{ticket.id}:{ticket.cycle}",
        kind=SURVEY_REMINDER,
        due_at=cal.next_working_moment(resolved + tx.policy.survey_reminder_after),
        ticket_id=ticket.id,
        payload={"cycle": ticket.cycle},
    )


async def fire_survey_reminder(tx: Tx, work: DueWork) -> None:
    """Remind the reporter once, unless this resolution was rated or the ticket moved on."""
    assert work.ticket_id is not None
    ticket = await tx.session.get(Ticket, work.ticket_id)
    cycle = int(work.payload.get("cycle") or 0)
    if ticket is None or ticket.cycle != cycle:
        return
    if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return
    rated = await tx.session.scalar(
        select(Rating.id).where(Rating.ticket_id == ticket.id, Rating.cycle == cycle)
    )
    if rated is not None:
        return
    await tx.audit("ticket", ticket.id, "survey.reminded", cycle=cycle)
    reminder = SurveyReminder(
        **ticket_facts(ticket),
        cycle=cycle,
        resolved_at=ticket.resolved_at,
        fix_confirmed=ticket.fix_confirmed,
    )
    await outbox.enqueue(
        tx, reminder, key=f"{work.key}:{ticket.reporter_id}", recipient_id=ticket.reporter_id
    )


# --- spare-device loans -----------------------------------------------------------------------


def _loan_keys(loan_id: int) -> list[str]:
    return [f"loan-due:{loan_id}", f"loan-overdue:{loan_id}"]


async def schedule_loan_reminders(tx: Tx, loan: SpareLoan) -> None:
    """When a spare is lent: remind the engineer on the due day, tell a manager a day after."""
    ticket = await tx.session.get(Ticket, loan.ticket_id)
    if ticket is None:
        raise NotFound(entity="ticket", id=loan.ticket_id)
    cal = working_days_calendar(tx, ticket.timezone, ticket.service_hours)
    due_key, overdue_key = _loan_keys(loan.id)
    payload = {"loan_id": loan.id}
    await scheduling.schedule(
        tx,
        key=due_key,
        kind=LOAN_DUE,
        due_at=start_of_working_day(cal, loan.due_back_at),
        ticket_id=ticket.id,
        payload=payload,
    )
    await scheduling.schedule(
        tx,
        key=overdue_key,
        kind=LOAN_OVERDUE,
        due_at=cal.working_days_after(loan.due_back_at, 1),
        ticket_id=ticket.id,
        payload=payload,
    )


async def _loan_engineer(tx: Tx, ticket: Ticket) -> int | None:
    """Who lent the spare: the ticket's engineer, else whoever filed the service sheet."""
    if ticket.assignee_id is not None:
        return ticket.assignee_id
    return await tx.session.scalar(
        select(Resolution.engineer_id).where(Resolution.ticket_id == ticket.id)
    )


def _loan_facts(loan: SpareLoan, ticket: Ticket) -> dict[str, Any]:
    """The fields every `LoanMessage` about this loan carries."""
    return {
        "loan_id": loan.id,
        "ticket_id": ticket.id,
        "description": loan.description,
        "symptom": ticket.symptom[:200],
        "location": ticket.location,
        "lent_at": loan.lent_at,
        "due_back_at": loan.due_back_at,
        "tz": ticket.timezone,
    }


async def _open_loan(tx: Tx, work: DueWork) -> tuple[SpareLoan, Ticket] | None:
    loan = await tx.session.get(SpareLoan, int(work.payload["loan_id"]))
    if loan is None or loan.returned_at is not None:
        return None
    ticket = await tx.session.get(Ticket, loan.ticket_id)
    return (loan, ticket) if ticket is not None else None


async def fire_loan_due(tx: Tx, work: DueWork) -> None:
    """The due day has come and the spare is still out: remind the engineer."""
    found = await _open_loan(tx, work)
    if found is None:
        return
    loan, ticket = found
    engineer_id = await _loan_engineer(tx, ticket)
    if engineer_id is None:
        return
    await outbox.enqueue(
        tx,
        SpareDueBack(**_loan_facts(loan, ticket)),
        key=f"{work.key}:{engineer_id}",
        recipient_id=engineer_id,
    )


async def fire_loan_overdue(tx: Tx, work: DueWork) -> None:
    """A working day past due and still out: the site's managers are told."""
    found = await _open_loan(tx, work)
    if found is None:
        return
    loan, ticket = found
    engineer_id = await _loan_engineer(tx, ticket)
    engineer = await tx.session.get(Person, engineer_id) if engineer_id else None
    await tx.audit("spare_loan", loan.id, "spare.overdue", ticket_id=ticket.id)
    overdue = SpareOverdue(
        **_loan_facts(loan, ticket), engineer=engineer.name if engineer else None
    )
    for manager in await people_with_role(tx, Role.MANAGER, ticket.site_id):
        await outbox.enqueue(tx, overdue, key=f"{work.key}:{manager.id}", recipient_id=manager.id)


@dataclass(frozen=True)
class LoanView:
    """A spare-device loan as people see it."""

    id: int
    ticket_id: int
    description: str
    lent_at: datetime
    due_back_at: datetime
    returned_at: datetime | None
    timezone: str


def _loan_view(loan: SpareLoan, tz: str) -> LoanView:
    return LoanView(
        id=loan.id,
        ticket_id=loan.ticket_id,
        description=loan.description,
        lent_at=loan.lent_at,
        due_back_at=loan.due_back_at,
        returned_at=loan.returned_at,
        timezone=tz,
    )


async def return_loan(core: Core, loan_id: int, *, actor_id: int) -> LoanView:
    """Record the spare back and the original returned; its reminders stop."""
    async with core.transaction(actor_id) as tx:
        loan = await tx.session.get(SpareLoan, loan_id, with_for_update=True)
        if loan is None:
            raise NotFound(entity="spare_loan", id=loan_id)
        actor = await get_person(tx, actor_id)
        if actor.role not in LOAN_HANDLERS or not actor.active:
            raise PermissionDenied(action="return_loan")
        ticket = await tx.session.get(Ticket, loan.ticket_id)
        tz = ticket.timezone if ticket else DEFAULT_TIMEZONE
        if loan.returned_at is not None:
            raise Conflict("loan.already_returned", loan_id=loan_id)
        loan.returned_at = tx.now
        await tx.audit(
            "spare_loan",
            loan.id,
            "spare.returned",
            ticket_id=loan.ticket_id,
            late=tx.now > loan.due_back_at,
        )
        await scheduling.cancel_where(tx, DueWork.key.in_(_loan_keys(loan.id)))
        return _loan_view(loan, tz)


async def get_loan(core: Core, loan_id: int) -> LoanView:
    """One loan (read-only)."""
    async with core.reading() as session:
        loan = await session.get(SpareLoan, loan_id)
        if loan is None:
            raise NotFound(entity="spare_loan", id=loan_id)
        ticket = await session.get(Ticket, loan.ticket_id)
        return _loan_view(loan, ticket.timezone if ticket else DEFAULT_TIMEZONE)


# --- complaints --------------------------------------------------------------------------------


def _complaint_key(complaint_id: int, level: int) -> str:
    return f"complaint-overdue:{complaint_id}:{level}"


async def schedule_complaint_deadline(tx: Tx, complaint: Complaint) -> None:
    """When a complaint is filed: escalate at its due time if it is still unanswered."""
    await scheduling.schedule(
        tx,
        key=_complaint_key(complaint.id, 1),
        kind=COMPLAINT_OVERDUE,
        due_at=complaint.due_at,
        payload={"complaint_id": complaint.id, "level": 1},
    )


async def _complaint_site(tx: Tx, complaint: Complaint) -> Site | None:
    """The site of the complaint's ticket, else of its reporter (as ComplaintService does)."""
    site_id: int | None = None
    if complaint.ticket_id is not None:
        site_id = await tx.session.scalar(
            select(Ticket.site_id).where(Ticket.id == complaint.ticket_id)
        )
    if site_id is None:
        site_id = await tx.session.scalar(
            select(Person.site_id).where(Person.id == complaint.reporter_id)
        )
    return await tx.session.get(Site, site_id) if site_id is not None else None


async def fire_complaint_overdue(tx: Tx, work: DueWork) -> None:
    """Unanswered at its deadline: page this level, and plan the next level a working day on."""
    complaint = await tx.session.get(
        Complaint, int(work.payload["complaint_id"]), with_for_update=True
    )
    if complaint is None or complaint.status is ComplaintStatus.ANSWERED:
        return
    level = int(work.payload.get("level") or 1)
    site = await _complaint_site(tx, complaint)
    site_id = site.id if site else None
    recipients = list(await people_with_role(tx, COMPLAINT_LEVELS[level], site_id))
    if not recipients and level > 1:
        # Nobody at this level: the level below must still hear it went further.
        recipients = list(await people_with_role(tx, COMPLAINT_LEVELS[level - 1], site_id))
    reporter = await tx.session.get(Person, complaint.reporter_id)
    await tx.audit("complaint", complaint.id, "complaint.overdue", level=level)
    overdue = ComplaintOverdue(
        complaint_id=complaint.id,
        ticket_id=complaint.ticket_id,
        level=level,
        reporter=reporter.name if reporter else "",
        text=complaint.text[:500],
        received_at=complaint.received_at,
        due_at=complaint.due_at,
        tz=site.timezone if site else DEFAULT_TIMEZONE,
        status=complaint.status,
    )
    for person in recipients:
        await outbox.enqueue(tx, overdue, key=f"{work.key}:{person.id}", recipient_id=person.id)
    if level + 1 in COMPLAINT_LEVELS:
        cal = (
            tx.calendar(site.service_hours, site.timezone)
            if site
            else working_days_calendar(tx, DEFAULT_TIMEZONE)
        )
        await scheduling.schedule(
            tx,
            key=_complaint_key(complaint.id, level + 1),
            kind=COMPLAINT_OVERDUE,
            # From the due time, not from now: a runner that was down does not push it back.
            due_at=cal.working_days_after(work.due_at or tx.now, 1),
            payload={"complaint_id": complaint.id, "level": level + 1},
        )


HANDLERS: Final[Mapping[str, scheduling.Handler]] = {
    SURVEY_REMINDER: fire_survey_reminder,
    LOAN_DUE: fire_loan_due,
    LOAN_OVERDUE: fire_loan_overdue,
    COMPLAINT_OVERDUE: fire_complaint_overdue,
}
