"""Complaints (004 §1.3.4, §1.3.6): recorded, confirmed, answered within 3 working days.

A complaint belongs to the site of the ticket it is about, or to the reporter's site
for a general one; that site's managers handle it and its calendar sets the due date.
An accepted complaint costs 20 points in the quarterly score (000 §4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox, reminders
from core.clock import DEFAULT_TIMEZONE
from core.enums import ComplaintStatus, Role, TicketStatus
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.messages import (
    ComplaintAnswered,
    ComplaintConfirmed,
    ComplaintFiled,
    ComplaintReceived,
    Message,
)
from core.models import AuditEvent, Complaint, Person, Site, Ticket
from core.people import get_person, people_with_role
from core.unit_of_work import Core, Tx
from core.views import ComplaintView

MAX_COMPLAINT = 2000
MAX_ANSWER = 2000
RECENT_TICKETS = 6
HANDLERS = frozenset({Role.MANAGER, Role.ADMIN})


@dataclass(frozen=True)
class TicketChoice:
    """One of the reporter's recent tickets a complaint may be about."""

    id: int
    symptom: str
    status: TicketStatus
    reported_at: datetime


def _site_expression() -> Any:
    """The complaint's site: its ticket's, else its reporter's."""
    return func.coalesce(Ticket.site_id, Person.site_id)


def _view_query() -> Select[Any]:
    return (
        select(Complaint, Person.name, _site_expression(), Site.timezone)
        .join(Person, Person.id == Complaint.reporter_id)
        .outerjoin(Ticket, Ticket.id == Complaint.ticket_id)
        .outerjoin(Site, Site.id == _site_expression())
    )


def _view(
    complaint: Complaint, reporter_name: str, site_id: int | None, tz: str | None
) -> ComplaintView:
    return ComplaintView(
        id=complaint.id,
        reporter_id=complaint.reporter_id,
        reporter_name=reporter_name,
        ticket_id=complaint.ticket_id,
        site_id=site_id,
        timezone=tz or DEFAULT_TIMEZONE,
        text=complaint.text,
        status=complaint.status,
        received_at=complaint.received_at,
        due_at=complaint.due_at,
        confirmed_at=complaint.confirmed_at,
        answered_at=complaint.answered_at,
        answer=complaint.answer,
        accepted=complaint.accepted,
    )


async def _load_view(session: AsyncSession, complaint_id: int) -> ComplaintView:
    row = (await session.execute(_view_query().where(Complaint.id == complaint_id))).first()
    if row is None:
        raise NotFound(entity="complaint", id=complaint_id)
    return _view(*row)


def _facts(view: ComplaintView) -> dict[str, Any]:
    """The fields every `ComplaintMessage` about this complaint carries."""
    return {
        "complaint_id": view.id,
        "ticket_id": view.ticket_id,
        "reporter": view.reporter_name,
        "text": view.text[:500],
        "due_at": view.due_at,
        "tz": view.timezone,
    }


async def _notify(tx: Tx, event: AuditEvent, recipient_id: int, message: Message) -> None:
    """Queue a message caused by `event`, once."""
    await outbox.enqueue(
        tx, message, key=f"ev{event.id}:{message.kind}:{recipient_id}", recipient_id=recipient_id
    )


class ComplaintService:
    """Filing complaints (staff) and confirming and answering them (managers)."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def file(
        self,
        reporter_id: int,
        *,
        text: str,
        ticket_id: int | None = None,
        request_key: str | None = None,
    ) -> Complaint:
        """Record a complaint, due in N working days; tell the site's managers and the reporter.

        Filed again with the same `request_key` (a press handled again after a crash),
        it returns the complaint already recorded.
        """
        text = text.strip()
        if not text:
            raise InvalidInput("complaint.text_required")
        if len(text) > MAX_COMPLAINT:
            raise InvalidInput("text.too_long", limit=MAX_COMPLAINT)
        async with self.core.transaction(reporter_id) as tx:
            if request_key is not None:
                already = await tx.session.scalar(
                    select(Complaint).where(Complaint.request_key == request_key)
                )
                if already is not None:
                    return already
            reporter = await get_person(tx, reporter_id)
            site_id = reporter.site_id
            if ticket_id is not None:
                ticket = await tx.session.get(Ticket, ticket_id)
                if ticket is None:
                    raise NotFound(entity="ticket", id=ticket_id)
                if ticket.reporter_id != reporter.id:
                    raise PermissionDenied(action="complain_about_ticket", ticket_id=ticket_id)
                site_id = ticket.site_id
            if site_id is None:
                raise InvalidInput("report.site_required")
            site = await tx.session.get(Site, site_id)
            if site is None:
                raise NotFound(entity="site", id=site_id)
            calendar = tx.calendar(site.service_hours, site.timezone)
            complaint = Complaint(
                reporter_id=reporter.id,
                ticket_id=ticket_id,
                text=text,
                status=ComplaintStatus.RECEIVED,
                received_at=tx.now,
                due_at=calendar.working_days_after(tx.now, tx.policy.complaint_working_days),
                answer="",
                request_key=request_key[:64] if request_key else None,
            )
            tx.session.add(complaint)
            await tx.session.flush()
            await reminders.schedule_complaint_deadline(tx, complaint)
            event = await tx.audit(
                "complaint",
                complaint.id,
                "complaint.filed",
                ticket_id=ticket_id,
                site_id=site.id,
                text=text,
                due_at=complaint.due_at.isoformat(),
            )
            view = _view(complaint, reporter.name, site.id, site.timezone)
            for manager in await people_with_role(tx, Role.MANAGER, site.id):
                await _notify(
                    tx,
                    event,
                    manager.id,
                    ComplaintFiled(
                        **{**_facts(view), "text": view.text[:1500]}, status=view.status
                    ),
                )
            await _notify(tx, event, reporter.id, ComplaintReceived(**_facts(view)))
            return complaint

    async def confirm(self, complaint_id: int, *, actor_id: int) -> ComplaintView:
        """A manager confirms the complaint is received and being looked into."""
        async with self.core.transaction(actor_id) as tx:
            complaint, view = await self._for_handler(tx, complaint_id, actor_id)
            if complaint.status is not ComplaintStatus.RECEIVED:
                raise Conflict(
                    "complaint.already_confirmed",
                    complaint_id=complaint_id,
                    status=complaint.status.value,
                )
            complaint.status = ComplaintStatus.CONFIRMED
            complaint.confirmed_at = tx.now
            event = await tx.audit("complaint", complaint.id, "complaint.confirmed")
            await _notify(tx, event, complaint.reporter_id, ComplaintConfirmed(**_facts(view)))
            return _view(complaint, view.reporter_name, view.site_id, view.timezone)

    async def answer(
        self, complaint_id: int, *, actor_id: int, answer: str, accepted: bool
    ) -> ComplaintView:
        """A manager answers; `accepted` marks the complaint justified (it costs KPI points)."""
        answer = answer.strip()
        if not answer:
            raise InvalidInput("complaint.answer_required")
        if len(answer) > MAX_ANSWER:
            raise InvalidInput("text.too_long", limit=MAX_ANSWER)
        async with self.core.transaction(actor_id) as tx:
            complaint, view = await self._for_handler(tx, complaint_id, actor_id)
            if complaint.status is ComplaintStatus.ANSWERED:
                raise Conflict("complaint.already_answered", complaint_id=complaint_id)
            if complaint.confirmed_at is None:
                complaint.confirmed_at = tx.now  # an answer confirms receipt as well
            complaint.status = ComplaintStatus.ANSWERED
            complaint.answered_at = tx.now
            complaint.answer = answer
            complaint.accepted = accepted
            event = await tx.audit(
                "complaint",
                complaint.id,
                "complaint.answered",
                accepted=accepted,
                answer=answer,
                late=tx.now > complaint.due_at,
            )
            await _notify(
                tx,
                event,
                complaint.reporter_id,
                ComplaintAnswered(**_facts(view), answer=answer[:1500], accepted=accepted),
            )
            return _view(complaint, view.reporter_name, view.site_id, view.timezone)

    async def _for_handler(
        self, tx: Tx, complaint_id: int, actor_id: int
    ) -> tuple[Complaint, ComplaintView]:
        """Lock a complaint and check the actor may handle it (a manager of its site, or an admin)."""
        complaint = await tx.session.get(Complaint, complaint_id, with_for_update=True)
        if complaint is None:
            raise NotFound(entity="complaint", id=complaint_id)
        view = await _load_view(tx.session, complaint_id)
        actor = await get_person(tx, actor_id)
        if actor.role not in HANDLERS or (
            actor.role is Role.MANAGER and actor.site_id not in (None, view.site_id)
        ):
            raise PermissionDenied(action="handle_complaint", complaint_id=complaint_id)
        return complaint, view

    # --- reads ------------------------------------------------------------------------------

    async def get(self, complaint_id: int) -> ComplaintView:
        """One complaint."""
        async with self.core.reading() as session:
            return await _load_view(session, complaint_id)

    async def for_reporter(self, reporter_id: int, *, limit: int = 20) -> list[ComplaintView]:
        """A person's own complaints, newest first."""
        async with self.core.reading() as session:
            rows = await session.execute(
                _view_query()
                .where(Complaint.reporter_id == reporter_id)
                .order_by(Complaint.id.desc())
                .limit(limit)
            )
            return [_view(*row) for row in rows]

    async def for_site(
        self,
        site_id: int | None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        open_only: bool = False,
    ) -> list[ComplaintView]:
        """The complaint log of a site (all sites when None), oldest first."""
        async with self.core.reading() as session:
            rows = await session.execute(
                self._filtered(_view_query(), site_id, since, until, open_only).order_by(
                    Complaint.id
                )
            )
            return [_view(*row) for row in rows]

    async def accepted_count(self, site_id: int | None, *, since: datetime, until: datetime) -> int:
        """Complaints answered as accepted in [since, until): each costs 20 points (000 §4)."""
        async with self.core.reading() as session:
            query = (
                select(func.count(Complaint.id))
                .join(Person, Person.id == Complaint.reporter_id)
                .outerjoin(Ticket, Ticket.id == Complaint.ticket_id)
                .where(
                    Complaint.accepted.is_(True),
                    Complaint.answered_at >= since,
                    Complaint.answered_at < until,
                )
            )
            if site_id is not None:
                query = query.where(_site_expression() == site_id)
            return int(await session.scalar(query) or 0)

    @staticmethod
    def _filtered(
        query: Select[Any],
        site_id: int | None,
        since: datetime | None,
        until: datetime | None,
        open_only: bool,
    ) -> Select[Any]:
        if site_id is not None:
            query = query.where(_site_expression() == site_id)
        if since is not None:
            query = query.where(Complaint.received_at >= since)
        if until is not None:
            query = query.where(Complaint.received_at < until)
        if open_only:
            query = query.where(Complaint.status != ComplaintStatus.ANSWERED)
        return query

    async def recent_tickets(
        self, reporter_id: int, *, limit: int = RECENT_TICKETS
    ) -> Sequence[TicketChoice]:
        """The reporter's latest tickets, any state, for choosing what a complaint is about."""
        async with self.core.reading() as session:
            rows = await session.execute(
                select(Ticket.id, Ticket.symptom, Ticket.status, Ticket.reported_at)
                .where(Ticket.reporter_id == reporter_id)
                .order_by(Ticket.id.desc())
                .limit(limit)
            )
            return [TicketChoice(*row) for row in rows]
