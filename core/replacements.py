"""Engineer replacement requests: "卖方未按买方要求撤换工程师的,每次扣20分" (000 §4).

A manager (or an admin) asks for an engineer to be replaced, naming the engineer and
the reason. 002 (人员要求) gives the contractor ten working days ("在十个工作日内予以更
换"): the deadline is the end of the tenth working day after the request, in the
official working-day calendar (5x8 with China's public holidays and adjusted working
weekends) of the engineer's site zone, whatever hours the site is served in.

The request is *met* when, by its deadline, the replacement is recorded: the engineer
leaves the helpdesk (deactivated) and everything open in their name is handed over in
the same transaction:

* open tickets: to the successor the manager names (the engineer who takes the place:
  the work follows the new person), or, when none is named, each to the least-loaded
  active engineer of the ticket's site, the rule that dispatches new reports, so that
  no work waits for a newcomer who is not registered yet. A ticket in a state the
  dispatch table assigns from is dispatched anew (the successor accepts it); one on
  site, paused or restored is handed over where it stands.
* inspection plans and their rounds not yet completed: the same way, per site.

A request still open when its deadline passes is *missed*: the due-work row at the
deadline records it (`missed_at`), tells the managers and admins, and the quarter the
deadline falls in loses 20 points of its "other" part (`missed_between`). Recording the
replacement later still hands the work over, but the request stays missed. A request
can be withdrawn before its deadline (then it costs nothing); not after.

Every step leaves an audit event: replacement.requested, replacement.done (with the
handover), replacement.withdrawn, replacement.missed; each ticket handed over leaves
its own ticket.assigned (by "handover") and each plan and round an engineer change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import and_, or_, select

from core import outbox, scheduling
from core.clock import DEFAULT_TIMEZONE
from core.enums import OPEN_STATUSES, Role
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.messages import (
    Message,
    ReplacementDone,
    ReplacementOverdue,
    ReplacementRequested,
    ReplacementWithdrawn,
)
from core.models import (
    AuditEvent,
    DueWork,
    Inspection,
    InspectionPlan,
    Person,
    ReplacementRequest,
    Site,
    Ticket,
)
from core.people import deactivate_in, get_person, least_loaded_engineer, people_with_role
from core.reminders import working_days_calendar
from core.reports.periods import quarter_label
from core.tickets import hand_over
from core.unit_of_work import Core, Tx

OPEN: Final = "open"
DONE: Final = "done"
WITHDRAWN: Final = "withdrawn"
DEADLINE: Final = "replacement_deadline"  # the due-work kind fired at the deadline
FILERS: Final = frozenset({Role.MANAGER, Role.ADMIN})
MAX_REASON: Final = 1000
INSPECTION_COMPLETED: Final = "completed"  # core.inspections' status of a finished round


@dataclass(frozen=True)
class ReplacementView:
    """A replacement request as people see it."""

    id: int
    engineer_id: int
    engineer: str
    site_id: int | None
    site: str | None
    timezone: str
    reason: str
    status: str
    requested_by: str | None
    requested_at: datetime
    due_at: datetime
    successor: str | None
    done_at: datetime | None
    withdrawn_at: datetime | None
    missed_at: datetime | None
    tickets_handed_over: int
    plans_handed_over: int

    @property
    def met(self) -> bool:
        """Replaced and handed over by the deadline."""
        return self.done_at is not None and self.done_at <= self.due_at

    def missed(self, as_of: datetime) -> bool:
        """Not replaced by the deadline (as judged at `as_of`): it costs 20 points."""
        if self.status == WITHDRAWN:
            return False
        if self.done_at is not None:
            return self.done_at > self.due_at
        return as_of >= self.due_at

    @property
    def quarter(self) -> str:
        """The quarter whose score a miss costs: the one the deadline falls in."""
        return quarter_label(self.due_at, self.timezone)


@dataclass(frozen=True)
class Workload:
    """What an engineer has open: what a replacement hands over."""

    tickets: int
    plans: int
    rounds: int


async def _view(session: Any, request: ReplacementRequest) -> ReplacementView:
    engineer = await session.get(Person, request.engineer_id)
    site = await session.get(Site, request.site_id) if request.site_id is not None else None
    by = await session.get(Person, request.requested_by_id) if request.requested_by_id else None
    successor = await session.get(Person, request.successor_id) if request.successor_id else None
    return ReplacementView(
        id=request.id,
        engineer_id=request.engineer_id,
        engineer=engineer.name if engineer else str(request.engineer_id),
        site_id=request.site_id,
        site=site.name if site else None,
        timezone=site.timezone if site else DEFAULT_TIMEZONE,
        reason=request.reason,
        status=request.status,
        requested_by=by.name if by else None,
        requested_at=request.requested_at,
        due_at=request.due_at,
        successor=successor.name if successor else None,
        done_at=request.done_at,
        withdrawn_at=request.withdrawn_at,
        missed_at=request.missed_at,
        tickets_handed_over=request.tickets_handed_over,
        plans_handed_over=request.plans_handed_over,
    )


def _facts(view: ReplacementView) -> dict[str, Any]:
    """The fields every `ReplacementMessage` carries."""
    return {
        "request_id": view.id,
        "engineer": view.engineer,
        "site": view.site,
        "reason": view.reason[:500],
        "requested_by": view.requested_by,
        "requested_at": view.requested_at,
        "due_at": view.due_at,
        "tz": view.timezone,
    }


async def _tell(
    tx: Tx, event: AuditEvent, site_id: int | None, roles: Sequence[Role], message: Message
) -> int:
    """Queue `message` once to every active person of `roles` serving the site, except the
    person who acted (they see the outcome in their own answer)."""
    told: set[int] = {tx.actor_id} if tx.actor_id is not None else set()
    for role in roles:
        for person in await people_with_role(tx, role, site_id):
            if person.id in told:
                continue
            told.add(person.id)
            await outbox.enqueue(
                tx, message, key=f"ev{event.id}:{message.kind}:{person.id}", recipient_id=person.id
            )
    return len(told - {tx.actor_id})


async def _workload(tx_or_session: Any, engineer_id: int) -> Workload:
    session = getattr(tx_or_session, "session", tx_or_session)
    tickets = (
        await session.scalars(
            select(Ticket.id).where(
                Ticket.assignee_id == engineer_id, Ticket.status.in_(OPEN_STATUSES)
            )
        )
    ).all()
    plans = (
        await session.scalars(
            select(InspectionPlan.id).where(
                InspectionPlan.engineer_id == engineer_id, InspectionPlan.active.is_(True)
            )
        )
    ).all()
    rounds = (
        await session.scalars(
            select(Inspection.id).where(
                Inspection.engineer_id == engineer_id, Inspection.status != INSPECTION_COMPLETED
            )
        )
    ).all()
    return Workload(len(tickets), len(plans), len(rounds))


def _may_file(actor: Person, site_id: int | None) -> bool:
    """A manager of the engineer's site (or of every site), or an admin."""
    if not actor.active or actor.role not in FILERS:
        return False
    return actor.role is Role.ADMIN or actor.site_id in (None, site_id)


class ReplacementService:
    """Requests to replace an engineer: filed, met (replaced and handed over), withdrawn."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def request(
        self,
        *,
        engineer_id: int,
        reason: str,
        actor_id: int,
        request_key: str | None = None,
    ) -> ReplacementView:
        """File a request; due at the end of the tenth working day; managers and admins told.

        Filed again with the same `request_key` (a press handled twice), it returns the
        request already filed.
        """
        reason = reason.strip()
        if not reason:
            raise InvalidInput("replacement.reason_required")
        if len(reason) > MAX_REASON:
            raise InvalidInput("text.too_long", limit=MAX_REASON)
        async with self.core.transaction(actor_id) as tx:
            if request_key is not None:
                already = await tx.session.scalar(
                    select(ReplacementRequest).where(ReplacementRequest.request_key == request_key)
                )
                if already is not None:
                    return await _view(tx.session, already)
            actor = await get_person(tx, actor_id)
            engineer = await tx.session.get(Person, engineer_id)
            if engineer is None or engineer.role is not Role.ENGINEER or not engineer.active:
                raise InvalidInput("replacement.not_an_engineer", person_id=engineer_id)
            if not _may_file(actor, engineer.site_id):
                raise PermissionDenied(action="replacement")
            pending = await tx.session.scalar(
                select(ReplacementRequest.id).where(
                    ReplacementRequest.engineer_id == engineer.id,
                    ReplacementRequest.status == OPEN,
                )
            )
            if pending is not None:
                raise Conflict("replacement.already_requested", request_id=pending)
            site = await tx.session.get(Site, engineer.site_id) if engineer.site_id else None
            tz = site.timezone if site else DEFAULT_TIMEZONE
            calendar = working_days_calendar(tx, tz, site.service_hours if site else "5x8")
            request = ReplacementRequest(
                engineer_id=engineer.id,
                site_id=engineer.site_id,
                reason=reason,
                status=OPEN,
                requested_by_id=actor.id,
                requested_at=tx.now,
                due_at=calendar.working_days_after(tx.now, tx.policy.replacement_working_days),
                tickets_handed_over=0,
                plans_handed_over=0,
                request_key=request_key[:64] if request_key else None,
            )
            tx.session.add(request)
            await tx.session.flush()
            await scheduling.schedule(
                tx,
                key=f"replacement:{request.id}:deadline",
                kind=DEADLINE,
                due_at=request.due_at,
                payload={"request_id": request.id},
            )
            load = await _workload(tx, engineer.id)
            event = await tx.audit(
                "replacement_request",
                request.id,
                "replacement.requested",
                engineer_id=engineer.id,
                site_id=engineer.site_id,
                reason=reason,
                due_at=request.due_at.isoformat(),
                open_tickets=load.tickets,
                plans=load.plans,
                rounds=load.rounds,
            )
            view = await _view(tx.session, request)
            message = ReplacementRequested(
                **_facts(view), open_tickets=load.tickets, plans=load.plans + load.rounds
            )
            await _tell(
                tx, event, engineer.site_id, (Role.MANAGER, Role.DISPATCHER, Role.ADMIN), message
            )
            return view

    async def complete(
        self, request_id: int, *, actor_id: int, successor_id: int | None = None
    ) -> ReplacementView:
        """Record the replacement: hand everything open over, then deactivate the engineer.

        Met when done by the deadline; done later it is still recorded (and stays missed).
        """
        async with self.core.transaction(actor_id) as tx:
            request = await tx.session.get(ReplacementRequest, request_id, with_for_update=True)
            if request is None:
                raise NotFound(entity="replacement", id=request_id)
            actor = await get_person(tx, actor_id)
            if not _may_file(actor, request.site_id):
                raise PermissionDenied(action="replacement")
            if request.status != OPEN:
                raise Conflict("replacement.not_open", request_id=request_id, status=request.status)
            engineer = await get_person(tx, request.engineer_id)
            successor = None
            if successor_id is not None:
                successor = await tx.session.get(Person, successor_id)
                if (
                    successor is None
                    or successor.role is not Role.ENGINEER
                    or not successor.active
                    or successor.id == engineer.id
                ):
                    raise InvalidInput("replacement.bad_successor", person_id=successor_id)
            tickets, plans = await self._hand_over(tx, engineer, successor)
            if engineer.active:
                await deactivate_in(tx, engineer)
            request.status = DONE
            request.done_at = tx.now
            request.done_by_id = actor.id
            request.successor_id = successor.id if successor else None
            request.tickets_handed_over = tickets
            request.plans_handed_over = plans
            on_time = tx.now <= request.due_at
            event = await tx.audit(
                "replacement_request",
                request.id,
                "replacement.done",
                engineer_id=engineer.id,
                successor_id=request.successor_id,
                tickets=tickets,
                plans=plans,
                on_time=on_time,
            )
            await scheduling.cancel_where(tx, DueWork.key == f"replacement:{request.id}:deadline")
            view = await _view(tx.session, request)
            message = ReplacementDone(
                **_facts(view),
                successor=view.successor,
                tickets=tickets,
                plans=plans,
                done_at=tx.now,
                on_time=on_time,
            )
            await _tell(
                tx, event, request.site_id, (Role.MANAGER, Role.DISPATCHER, Role.ADMIN), message
            )
            return view

    async def _hand_over(
        self, tx: Tx, engineer: Person, successor: Person | None
    ) -> tuple[int, int]:
        """Give the engineer's open tickets, plans and rounds to the successor or the least
        loaded engineer of each one's site; how many tickets, and plans and rounds."""
        exclude = [engineer.id]

        async def taker(site_id: int) -> Person:
            if successor is not None:
                return successor
            chosen = await least_loaded_engineer(tx, site_id, exclude=exclude)
            if chosen is None:
                raise InvalidInput("replacement.no_successor", site_id=site_id)
            return chosen

        tickets = (
            await tx.session.scalars(
                select(Ticket.id)
                .where(Ticket.assignee_id == engineer.id, Ticket.status.in_(OPEN_STATUSES))
                .order_by(Ticket.id)
            )
        ).all()
        for ticket_id in tickets:
            ticket = await tx.ticket_for_update(ticket_id)
            assert ticket is not None  # just selected, and locked now
            await hand_over(tx, ticket, await taker(ticket.site_id))
        handed = 0
        # Inspection plans and unfinished rounds go to the taker of their site.
        plans = await tx.session.scalars(
            select(InspectionPlan).where(
                InspectionPlan.engineer_id == engineer.id, InspectionPlan.active.is_(True)
            )
        )
        rounds = await tx.session.scalars(
            select(Inspection).where(
                Inspection.engineer_id == engineer.id, Inspection.status != INSPECTION_COMPLETED
            )
        )
        held: list[tuple[str, InspectionPlan | Inspection]] = [
            *(("inspection_plan", plan) for plan in plans.all()),
            *(("inspection", inspection) for inspection in rounds.all()),
        ]
        for entity, row in held:
            row.engineer_id = (await taker(row.site_id)).id
            handed += 1
            await tx.audit(
                entity,
                row.id,
                f"{entity}.engineer_changed",
                engineer_id=row.engineer_id,
                previous=engineer.id,
                by="handover",
            )
        return len(tickets), handed

    async def withdraw(self, request_id: int, *, actor_id: int) -> ReplacementView:
        """Withdraw an open request before its deadline (it then costs nothing)."""
        async with self.core.transaction(actor_id) as tx:
            request = await tx.session.get(ReplacementRequest, request_id, with_for_update=True)
            if request is None:
                raise NotFound(entity="replacement", id=request_id)
            actor = await get_person(tx, actor_id)
            if not _may_file(actor, request.site_id):
                raise PermissionDenied(action="replacement")
            if request.status != OPEN:
                raise Conflict("replacement.not_open", request_id=request_id, status=request.status)
            if tx.now >= request.due_at:
                raise Conflict("replacement.overdue", request_id=request_id)
            request.status = WITHDRAWN
            request.withdrawn_at = tx.now
            event = await tx.audit("replacement_request", request.id, "replacement.withdrawn")
            await scheduling.cancel_where(tx, DueWork.key == f"replacement:{request.id}:deadline")
            view = await _view(tx.session, request)
            await _tell(
                tx,
                event,
                request.site_id,
                (Role.MANAGER, Role.DISPATCHER, Role.ADMIN),
                ReplacementWithdrawn(**_facts(view)),
            )
            return view

    # --- reads ------------------------------------------------------------------------------

    async def get(self, request_id: int) -> ReplacementView:
        """One request."""
        async with self.core.reading() as session:
            request = await session.get(ReplacementRequest, request_id)
            if request is None:
                raise NotFound(entity="replacement", id=request_id)
            return await _view(session, request)

    async def listing(
        self, *, site_id: int | None = None, open_only: bool = False, limit: int = 50
    ) -> list[ReplacementView]:
        """Requests (a site's and the engineers' without a site, or every one), newest first."""
        async with self.core.reading() as session:
            query = select(ReplacementRequest).order_by(ReplacementRequest.id.desc()).limit(limit)
            if site_id is not None:
                query = query.where(
                    or_(ReplacementRequest.site_id == site_id, ReplacementRequest.site_id.is_(None))
                )
            if open_only:
                query = query.where(ReplacementRequest.status == OPEN)
            rows = (await session.scalars(query)).all()
            return [await _view(session, row) for row in rows]

    async def workload(self, engineer_id: int) -> Workload:
        """What the engineer has open now (what a replacement would hand over)."""
        async with self.core.reading() as session:
            return await _workload(session, engineer_id)

    async def engineers(self, site_id: int | None) -> list[Person]:
        """Active engineers a manager of `site_id` may name (every site's when None)."""
        async with self.core.reading() as session:
            query = select(Person).where(Person.role == Role.ENGINEER, Person.active.is_(True))
            if site_id is not None:
                query = query.where(or_(Person.site_id == site_id, Person.site_id.is_(None)))
            return list((await session.scalars(query.order_by(Person.name, Person.id))).all())


async def missed_between(
    core: Core,
    start: datetime,
    end: datetime,
    *,
    as_of: datetime,
    site_id: int | None = None,
) -> list[ReplacementView]:
    """Requests whose deadline falls in [start, end) and was missed as judged at `as_of`."""
    async with core.reading() as session:
        query = select(ReplacementRequest).where(
            ReplacementRequest.due_at >= start,
            ReplacementRequest.due_at < end,
            ReplacementRequest.status != WITHDRAWN,
            or_(
                and_(
                    ReplacementRequest.done_at.is_not(None),
                    ReplacementRequest.done_at > ReplacementRequest.due_at,
                ),
                and_(ReplacementRequest.done_at.is_(None), ReplacementRequest.due_at <= as_of),
            ),
        )
        if site_id is not None:
            query = query.where(ReplacementRequest.site_id == site_id)
        rows = (await session.scalars(query.order_by(ReplacementRequest.due_at))).all()
        return [await _view(session, row) for row in rows]


async def requests_between(
    core: Core, start: datetime, end: datetime, *, site_id: int | None = None
) -> list[ReplacementView]:
    """Every request filed, or due, in [start, end) (the quarter workbook lists them)."""
    async with core.reading() as session:
        query = select(ReplacementRequest).where(
            or_(
                and_(ReplacementRequest.due_at >= start, ReplacementRequest.due_at < end),
                and_(
                    ReplacementRequest.requested_at >= start, ReplacementRequest.requested_at < end
                ),
            )
        )
        if site_id is not None:
            query = query.where(ReplacementRequest.site_id == site_id)
        rows = (await session.scalars(query.order_by(ReplacementRequest.due_at))).all()
        return [await _view(session, row) for row in rows]


async def fire_deadline(tx: Tx, work: DueWork) -> None:
    """The deadline came: a request still open is missed (20 points); managers and admins told."""
    request = await tx.session.get(
        ReplacementRequest, int(work.payload["request_id"]), with_for_update=True
    )
    if request is None or request.status != OPEN or request.missed_at is not None:
        return
    request.missed_at = tx.now
    view = await _view(tx.session, request)
    event = await tx.audit(
        "replacement_request",
        request.id,
        "replacement.missed",
        due_at=request.due_at.isoformat(),
        quarter=view.quarter,
    )
    await _tell(
        tx,
        event,
        request.site_id,
        (Role.MANAGER, Role.ADMIN),
        ReplacementOverdue(**_facts(view), quarter=view.quarter),
    )


HANDLERS: Final = {DEADLINE: fire_deadline}
