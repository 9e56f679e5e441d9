"""Ticket services: report, dispatch, work, resolve, rate. Each public call is one transaction.

Every change writes the new state, its audit event, the SLA clock changes and the
outbox messages it causes in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, NotRequired, TypedDict, Unpack

from sqlalchemy import insert, select

from core import deferred, geo, outbox, reminders, scheduling
from core.enums import (
    COMING_STATUSES,
    FOLLOW_UP_DIMENSIONS,
    IMPACT_SEVERITY,
    OPEN_STATUSES,
    ArrivalCheck,
    AssetKind,
    Impact,
    Role,
    ServiceResult,
    ServiceType,
    TicketStatus,
)
from core.errors import Conflict, IllegalTransition, InvalidInput, NotFound, PermissionDenied
from core.lifecycle import TRANSITIONS, Action, next_status
from core.messages import (
    ArrivalExpected,
    BackupConsentAnswered,
    BackupConsentRequested,
    DispatchAccepted,
    DispatchCancelled,
    DispatchDeclined,
    DispatchTakenAway,
    EngineerArrived,
    EngineerAssigned,
    EngineerOnTheWay,
    EscalationPage,
    FaultResolved,
    Message,
    NeedsEngineer,
    NewDispatch,
    ProgressUpdate,
    RepeatFailure,
    SecondVisitAlert,
    SecondVisitScheduled,
    ServiceRestored,
    TicketCancelled,
    TicketNotePosted,
    WorkPaused,
    WorkResumed,
    decode,
    ticket_facts,
)
from core.models import (
    Asset,
    AuditEvent,
    BackupConsent,
    DueWork,
    OutboxMessage,
    Page,
    Pause,
    Person,
    Rating,
    Resolution,
    Site,
    SlaClock,
    SpareLoan,
    Ticket,
    TicketNote,
    TicketPhoto,
)
from core.people import get_person, least_loaded_engineer, people_with_role
from core.permissions import dispatches, dispatches_at, may_speak_for_reporter, may_work
from core.sla import deadlines
from core.sla.policy import ClockKind, PauseReason
from core.unit_of_work import Core, Tx
from core.views import (
    ClockView,
    ConsentView,
    RepairView,
    TicketCard,
    TicketHistory,
    TimelineEntry,
)

PROGRESS = "progress"
REPEAT_WINDOW = timedelta(days=30)  # 000 §4: the 30-day repeat-repair window
MAX_SYMPTOM = 2000
MAX_NOTE = 1000
MAX_THREAD_TEXT = 2000  # one message in a ticket's thread
REPAIRS_SHOWN = 3  # earlier repairs of the device on the dispatch card
MAX_EXPECTED_AHEAD = timedelta(days=7)
# Ids are 32-bit integers on PostgreSQL (and 64-bit on SQLite): a number typed beyond
# that is no ticket, not a database error.
MAX_TICKET_ID = 2**31 - 1


@dataclass(frozen=True)
class ServiceSheet:
    """What the engineer fills in at resolution (001 附表一)."""

    service_type: ServiceType
    result: ServiceResult
    solution: str = ""
    under_warranty: bool = False
    charged: bool = False
    amount: Decimal | None = None
    parts_replaced: str = ""
    spare_lent: bool = False
    second_visit_at: datetime | None = None

    def validate(self) -> None:
        """Check the sheet's internal consistency."""
        if self.charged and (self.amount is None or self.amount <= 0):
            raise InvalidInput("sheet.amount_required")
        if not self.charged and self.amount not in (None, Decimal(0)):
            raise InvalidInput("sheet.amount_without_charge")
        if self.result is ServiceResult.SECOND_VISIT and self.second_visit_at is None:
            raise InvalidInput("sheet.second_visit_time_required")
        if len(self.solution) > MAX_SYMPTOM or len(self.parts_replaced) > MAX_NOTE:
            raise InvalidInput("text.too_long", limit=MAX_SYMPTOM)


def parse_amount(text: str) -> Decimal:
    """A charge in yuan, e.g. '120' or '99.50'."""
    try:
        amount = Decimal(text.strip().replace(",", "."))
    except InvalidOperation as error:
        raise InvalidInput("sheet.amount_invalid", text=text[:40]) from error
    if not amount.is_finite() or amount <= 0 or amount >= Decimal("1000000"):
        raise InvalidInput("sheet.amount_invalid", text=text[:40])
    return amount.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class PageNotice:
    """An escalation page and the message that carried it (to show it again, acknowledged)."""

    page_id: int
    ticket_id: int
    recipient_id: int
    message: EscalationPage | None  # None: the page was never queued
    acknowledged_at: datetime | None


def _check_ticket_id(ticket_id: int) -> None:
    """NotFound for a number no ticket can have (zero, negative, beyond the id column)."""
    if not 0 < ticket_id <= MAX_TICKET_ID:
        raise NotFound(entity="ticket", id=ticket_id)


async def _load_ticket(tx: Tx, ticket_id: int) -> Ticket:
    """Load a ticket for update (row lock on PostgreSQL)."""
    _check_ticket_id(ticket_id)
    ticket = await tx.ticket_for_update(ticket_id)
    if ticket is None:
        raise NotFound(entity="ticket", id=ticket_id)
    return ticket


def _move(ticket: Ticket, action: Action) -> TicketStatus:
    """Apply a transition from the table; returns the previous status."""
    previous = ticket.status
    try:
        ticket.status = next_status(previous, action, paused_from=ticket.paused_from)
    except IllegalTransition as error:
        raise IllegalTransition(
            action=action.value, status=previous.value, ticket_id=ticket.id
        ) from error
    return previous


def _other_site(actor: Person, ticket: Ticket) -> PermissionDenied | None:
    """The refusal for a dispatcher acting on another site's ticket, else None."""
    if dispatches(actor.role) and not dispatches_at(actor.role, actor.site_id, ticket.site_id):
        return PermissionDenied(action="other_site", ticket_id=ticket.id)
    return None


def _ensure_dispatcher(actor: Person, ticket: Ticket, action: str) -> None:
    """Only a dispatcher of the ticket's site (or one with no site, or an admin) may do this."""
    if dispatches_at(actor.role, actor.site_id, ticket.site_id):
        return
    raise _other_site(actor, ticket) or PermissionDenied(action=action, ticket_id=ticket.id)


def _ensure_worker(actor: Person, ticket: Ticket) -> None:
    """Only the assignee, or a dispatcher of the site, may work a ticket."""
    if may_work(
        actor.id,
        actor.role,
        ticket.assignee_id,
        home_site_id=actor.site_id,
        ticket_site_id=ticket.site_id,
    ):
        return
    raise _other_site(actor, ticket) or PermissionDenied(action="work_ticket", ticket_id=ticket.id)


def _ensure_reporter(actor: Person, ticket: Ticket) -> None:
    """Only the reporter (or a dispatcher of the site) speaks for the reporter."""
    if may_speak_for_reporter(
        actor.id,
        actor.role,
        ticket.reporter_id,
        home_site_id=actor.site_id,
        ticket_site_id=ticket.site_id,
    ):
        return
    raise _other_site(actor, ticket) or PermissionDenied(
        action="reporter_only", ticket_id=ticket.id
    )


async def _notify(tx: Tx, event: AuditEvent, recipient_id: int | None, message: Message) -> None:
    """Queue a message caused by `event`; keyed by the event so it is queued once."""
    if recipient_id is None:
        return
    await outbox.enqueue(
        tx, message, key=f"ev{event.id}:{message.kind}:{recipient_id}", recipient_id=recipient_id
    )


async def _notify_role(
    tx: Tx, event: AuditEvent, role: Role, site_id: int, message: Message
) -> int:
    """Queue a message to every active person of a role serving the site."""
    people = await people_with_role(tx, role, site_id)
    for person in people:
        await _notify(tx, event, person.id, message)
    return len(people)


_BUILT_CARDS = "faultdesk.cards"  # Session.info key: the cards built in this transaction
_REPORTED = "faultdesk.reported"  # Session.info key: tickets reported in this transaction


@dataclass(frozen=True)
class _Reported:
    """What a ticket reported in this transaction has, all written here: its card needs
    no query for it (and it can have no spare loan or backup consent yet)."""

    site: Site
    asset: Asset | None
    clocks: list[SlaClock]
    photos: tuple[str, ...]
    repairs: tuple[RepairView, ...]  # its device's earlier tickets, read before it was written


async def card_in(tx: Tx, ticket: Ticket) -> TicketCard:
    """The ticket's card as it stands in this transaction (what a dispatch message shows)."""
    await tx.session.flush()
    reported = tx.session.info.get(_REPORTED, {}).get(ticket.id)
    card = (await _cards(tx.session, [ticket], {ticket.id: reported} if reported else None))[0]
    tx.session.info.setdefault(_BUILT_CARDS, {})[ticket.id] = card
    return card


async def _schedule_progress(tx: Tx, ticket: Ticket, number: int, after: datetime) -> None:
    """Plan the next hourly progress message to the reporter (002)."""
    cal = tx.calendar(ticket.service_hours, ticket.timezone)
    await scheduling.schedule(
        tx,
        key=f"progress:{ticket.id}:{number}",
        kind=PROGRESS,
        due_at=cal.add(after, tx.policy.progress_interval),
        ticket_id=ticket.id,
        payload={"n": number},
    )


async def _assign(
    tx: Tx, ticket: Ticket, engineer: Person, *, by: str, keep_status: bool = False
) -> AuditEvent:
    """Give the ticket to an engineer and send the dispatch message.

    `keep_status` hands a ticket over where it stands (on site, paused, restored: states
    the dispatch table does not assign from), for an engineer who is being replaced.
    """
    if engineer.role is not Role.ENGINEER or not engineer.active:
        raise InvalidInput("assign.not_an_engineer", person_id=engineer.id)
    previous_assignee = ticket.assignee_id
    if not keep_status:
        _move(ticket, Action.ASSIGN)
    ticket.assignee_id = engineer.id
    ticket.assigned_at = tx.now
    if by == "dispatcher":
        ticket.dispatcher_id = tx.actor_id
    event = await tx.audit(
        "ticket",
        ticket.id,
        "ticket.assigned",
        engineer_id=engineer.id,
        previous=previous_assignee,
        by=by,
    )
    await _notify(tx, event, engineer.id, NewDispatch(card=await card_in(tx, ticket)))
    if previous_assignee is not None and previous_assignee != engineer.id:
        await _notify(tx, event, previous_assignee, DispatchTakenAway(**ticket_facts(ticket)))
    await _notify(
        tx,
        event,
        ticket.reporter_id,
        EngineerAssigned(
            **ticket_facts(ticket),
            engineer=engineer.name,
            promised_arrival_at=ticket.promised_arrival_at,
        ),
    )
    return event


async def hand_over(tx: Tx, ticket: Ticket, engineer: Person) -> AuditEvent:
    """Give an open ticket to another engineer, as dispatched anew where the table allows it
    (the engineer starts from accepting), else where it stands."""
    assignable = ticket.status in TRANSITIONS[Action.ASSIGN][0]
    return await _assign(tx, ticket, engineer, by="handover", keep_status=not assignable)


class FaultReport(TypedDict):
    """What a report of a fault says: the keyword arguments of `TicketService.report_fault`."""

    symptom: str
    impact: Impact
    asset_tag: NotRequired[str | None]
    asset_kind: NotRequired[AssetKind | None]
    location: NotRequired[str]
    contact_phone: NotRequired[str]
    photos: NotRequired[Sequence[str]]
    site_id: NotRequired[int | None]
    # names what asked for it (a chat update): asked again with the same key, after a
    # crash cut the first answer short, the ticket already open is returned
    request_key: NotRequired[str | None]


class TicketService:
    """Everything people do to tickets."""

    def __init__(self, core: Core) -> None:
        self.core = core

    # --- intake -----------------------------------------------------------------------

    async def report_fault(self, reporter_id: int, **fault: Unpack[FaultReport]) -> Ticket:
        """Open a ticket, start its clocks and dispatch it to the site's least-loaded engineer.

        `request_key` names what asked for it (a chat update): asked again with the same
        key, after a crash cut the first answer short, it returns the ticket already open.
        """
        async with self.core.transaction(reporter_id) as tx:
            return await self._report_fault(tx, reporter_id, **fault)

    async def report_fault_card(self, reporter_id: int, **fault: Unpack[FaultReport]) -> TicketCard:
        """`report_fault`, answered with the new ticket's card from the same transaction.

        The dispatch already built that card (after the assignment, the last change the
        report makes), so the reporter's answer needs no second read of what was written.
        """
        async with self.core.transaction(reporter_id) as tx:
            ticket = await self._report_fault(tx, reporter_id, **fault)
            built: dict[int, TicketCard] = tx.session.info.get(_BUILT_CARDS, {})
            return built.get(ticket.id) or await card_in(tx, ticket)

    async def _report_fault(
        self,
        tx: Tx,
        reporter_id: int,
        *,
        symptom: str,
        impact: Impact,
        asset_tag: str | None = None,
        asset_kind: AssetKind | None = None,
        location: str = "",
        contact_phone: str = "",
        photos: Sequence[str] = (),
        site_id: int | None = None,
        request_key: str | None = None,
    ) -> Ticket:
        """The body of `report_fault`, in the caller's transaction."""
        symptom = symptom.strip()
        if not symptom:
            raise InvalidInput("report.symptom_required")
        if len(symptom) > MAX_SYMPTOM:
            raise InvalidInput("text.too_long", limit=MAX_SYMPTOM)
        if request_key is not None:
            already = await tx.session.scalar(
                select(Ticket).where(Ticket.request_key == request_key)
            )
            if already is not None:
                return already
        reporter = await get_person(tx, reporter_id)
        asset = None
        if asset_tag:
            asset = await tx.session.scalar(select(Asset).where(Asset.tag == asset_tag.strip()))
            if asset is None or not asset.active:
                raise InvalidInput("asset.unknown_tag", tag=asset_tag[:64])
        site_id = asset.site_id if asset else (site_id or reporter.site_id)
        if site_id is None:
            raise InvalidInput("report.site_required")
        site = await tx.session.get(Site, site_id)
        if site is None:
            raise NotFound(entity="site", id=site_id)
        # Chosen before the ticket exists (it has no assignee to count yet), so no query
        # runs between its writes below, which go out together.
        engineer = await least_loaded_engineer(tx, site.id)
        severity = IMPACT_SEVERITY[impact]
        ticket = Ticket(
            reporter_id=reporter.id,
            site_id=site.id,
            department_id=reporter.department_id,
            asset_id=asset.id if asset else None,
            asset_kind=asset.kind if asset else asset_kind,
            location=(location or (asset.location if asset else ""))[:200],
            symptom=symptom,
            impact=impact,
            severity=severity,
            initial_severity=severity,
            status=TicketStatus.REPORTED,
            contact_phone=(contact_phone or reporter.phone or "")[:32],
            region=site.region,
            service_hours=site.service_hours,
            timezone=site.timezone,
            reported_at=tx.now,
            cycle=0,
            request_key=request_key[:64] if request_key else None,
        )
        repairs: tuple[RepairView, ...] = ()
        if asset is not None:
            # The device's earlier tickets, newest first: the card shows them, and the
            # newest one within the window makes this a repeat failure.
            earlier = (await _earlier_tickets(tx.session, {asset.id})).get(asset.id, [])
            if earlier and earlier[0].reported_at >= tx.now - REPEAT_WINDOW:
                ticket.repeat_of_id = earlier[0].id
            repairs = tuple(_repair_view(row) for row in earlier[:REPAIRS_SHOWN])
        ticket.promised_arrival_at = deadlines.first_deadline(tx, ticket, ClockKind.ARRIVAL, tx.now)
        tx.session.add(ticket)
        await tx.session.flush()
        # The ladder's steps, the progress message, the audit events and the messages
        # are held and sent together: a statement per table, not one per row.
        async with deferred.deferred_inserts(tx):
            file_ids = tuple(file_id[:256] for file_id in photos)
            if file_ids:  # one executemany; nothing reads a photo's id back
                await tx.session.execute(
                    insert(TicketPhoto),
                    [
                        {
                            "ticket_id": ticket.id,
                            "file_id": file_id,
                            "added_at": tx.now,
                            "added_by_id": reporter.id,
                        }
                        for file_id in file_ids
                    ],
                )
            clocks = await deadlines.start_clocks(tx, ticket, deadlines.ALL_CLOCKS, tx.now)
            reported = _Reported(site, asset, clocks, file_ids, repairs)
            tx.session.info.setdefault(_REPORTED, {})[ticket.id] = reported
            arrival = next(c for c in clocks if c.kind == ClockKind.ARRIVAL)
            ticket.promised_arrival_at = arrival.due_at  # as above: no UPDATE unless it moved
            await _schedule_progress(tx, ticket, 1, tx.now)
            event = await tx.audit(
                "ticket",
                ticket.id,
                "ticket.reported",
                severity=severity,
                impact=impact.value,
                asset_id=ticket.asset_id,
                site_id=site.id,
                symptom=symptom,
                photos=len(photos),
                repeat_of=ticket.repeat_of_id,
            )
            if ticket.repeat_of_id is not None:
                card = await card_in(tx, ticket)
                await _notify_role(tx, event, Role.MANAGER, site.id, RepeatFailure(card=card))
            if engineer is not None:
                await _assign(tx, ticket, engineer, by="auto")
            else:
                card = await card_in(tx, ticket)
                await _notify_role(tx, event, Role.DISPATCHER, site.id, NeedsEngineer(card=card))
        return ticket

    # --- dispatch -----------------------------------------------------------------------

    async def assign(self, ticket_id: int, engineer_id: int, *, actor_id: int) -> Ticket:
        """A dispatcher assigns or reassigns a ticket."""
        async with self.core.transaction(actor_id) as tx:
            actor = await get_person(tx, actor_id)
            if not dispatches(actor.role):
                raise PermissionDenied(action="assign")
            ticket = await _load_ticket(tx, ticket_id)
            _ensure_dispatcher(actor, ticket, "assign")
            if ticket.assignee_id == engineer_id and ticket.status is TicketStatus.ASSIGNED:
                raise Conflict("assign.already_assigned", ticket_id=ticket_id)
            await _assign(tx, ticket, await get_person(tx, engineer_id), by="dispatcher")
            return ticket

    async def decline(self, ticket_id: int, *, actor_id: int, reason: str) -> Ticket:
        """The engineer declines; the ticket goes back to dispatch with the reason."""
        reason = reason.strip()
        if not reason:
            raise InvalidInput("decline.reason_required")
        async with self.core.transaction(actor_id) as tx:
            ticket = await _load_ticket(tx, ticket_id)
            actor = await get_person(tx, actor_id)
            if actor.id != ticket.assignee_id:
                raise PermissionDenied(action="decline", ticket_id=ticket_id)
            _move(ticket, Action.DECLINE)
            ticket.assignee_id = None
            event = await tx.audit("ticket", ticket.id, "ticket.declined", reason=reason[:MAX_NOTE])
            card = await card_in(tx, ticket)
            declined = DispatchDeclined(card=card, declined_by=actor.name, reason=reason[:MAX_NOTE])
            told = await _notify_role(tx, event, Role.DISPATCHER, ticket.site_id, declined)
            if told == 0:
                # Nobody dispatches at this site: hand it to another engineer directly.
                decliners = await self._decliners(tx, ticket.id)
                engineer = await least_loaded_engineer(tx, ticket.site_id, exclude=decliners)
                if engineer is not None:
                    await _assign(tx, ticket, engineer, by="auto")
                else:
                    unassigned = NeedsEngineer(card=card)
                    await _notify_role(tx, event, Role.MANAGER, ticket.site_id, unassigned)
            return ticket

    @staticmethod
    async def _decliners(tx: Tx, ticket_id: int) -> list[int]:
        """Engineers who declined this ticket before."""
        rows = await tx.session.scalars(
            select(AuditEvent.actor_id).where(
                AuditEvent.entity == "ticket",
                AuditEvent.entity_id == ticket_id,
                AuditEvent.action == "ticket.declined",
            )
        )
        return [row for row in rows if row is not None]

    async def acknowledge(self, ticket_id: int, *, actor_id: int) -> Ticket:
        """The engineer accepts the dispatch; the acknowledge clock stops."""
        return await self._work_step(
            ticket_id,
            actor_id,
            Action.ACKNOWLEDGE,
            "ticket.acknowledged",
            stop=(ClockKind.ACKNOWLEDGE,),
            notify=lambda ticket, engineer: DispatchAccepted(
                **ticket_facts(ticket), engineer=engineer.name
            ),
        )

    async def depart(self, ticket_id: int, *, actor_id: int) -> Ticket:
        """The engineer is on the way."""
        return await self._work_step(
            ticket_id,
            actor_id,
            Action.DEPART,
            "ticket.en_route",
            notify=lambda ticket, engineer: EngineerOnTheWay(
                **ticket_facts(ticket),
                engineer=engineer.name,
                promised_arrival_at=ticket.promised_arrival_at,
            ),
        )

    async def arrive(
        self, ticket_id: int, *, actor_id: int, location: tuple[float, float] | None = None
    ) -> Ticket:
        """The engineer is on site; the arrival clock stops (实际到达时间), stamped by the clock.

        At a site with coordinates the arrival is checked against the location the engineer
        shared: verified within the site's radius, outside it (with the distance), or not
        given. The check and the shared point are kept on the ticket and in the audit log.
        """
        if location is not None and not geo.valid_point(*location):
            raise InvalidInput("arrival.bad_location")
        async with self.core.transaction(actor_id) as tx:
            ticket = await _load_ticket(tx, ticket_id)
            actor = await get_person(tx, actor_id)
            _ensure_worker(actor, ticket)
            _move(ticket, Action.ARRIVE)
            ticket.arrived_at = tx.now
            site = await tx.session.get(Site, ticket.site_id)
            assert site is not None  # a ticket's site is never deleted
            check: ArrivalCheck | None = None
            distance: int | None = None
            if site.latitude is not None and site.longitude is not None:
                radius = site.arrival_radius_m or geo.DEFAULT_ARRIVAL_RADIUS_M
                check, distance = geo.check_arrival(
                    (site.latitude, site.longitude), radius, location
                )
                ticket.arrival_latitude, ticket.arrival_longitude = location or (None, None)
            ticket.arrival_check, ticket.arrival_distance_m = check, distance
            clock = await deadlines.stop_clock(tx, ticket, ClockKind.ARRIVAL)
            met = {ClockKind.ARRIVAL.value: clock.met} if clock is not None else {}
            event = await tx.audit(
                "ticket",
                ticket.id,
                "ticket.arrived",
                met=met,
                check=check.value if check else None,
                distance_m=distance,
                location=list(location) if location and check else None,
            )
            await _notify(
                tx,
                event,
                ticket.reporter_id,
                EngineerArrived(**ticket_facts(ticket), engineer=actor.name),
            )
            return ticket

    async def expect_arrival(self, ticket_id: int, at: datetime, *, actor_id: int) -> Ticket:
        """The engineer gives the time they now expect to be there; the reporter is told.

        The arrival deadline itself does not move (the promise stays on record); when the
        new time is past it the reporter's notice apologises (002 热线服务规范).
        """
        async with self.core.transaction(actor_id) as tx:
            ticket = await _load_ticket(tx, ticket_id)
            actor = await get_person(tx, actor_id)
            _ensure_worker(actor, ticket)
            if ticket.status not in COMING_STATUSES:
                raise IllegalTransition(
                    action="expect_arrival", status=ticket.status.value, ticket_id=ticket.id
                )
            if at <= tx.now:
                raise InvalidInput("arrival.time_past")
            if at - tx.now > MAX_EXPECTED_AHEAD:
                raise InvalidInput("arrival.time_far", days=MAX_EXPECTED_AHEAD.days)
            arrival = (await deadlines.clocks_of(tx, ticket)).get(ClockKind.ARRIVAL.value)
            deadline = (arrival.due_at if arrival else None) or ticket.promised_arrival_at
            late = deadline is not None and at > deadline
            previous = ticket.expected_arrival_at
            ticket.expected_arrival_at = at
            event = await tx.audit(
                "ticket",
                ticket.id,
                "ticket.arrival_expected",
                at=at.isoformat(),
                previous=previous.isoformat() if previous else None,
                deadline=deadline.isoformat() if deadline else None,
                late=late,
            )
            engineer = (
                await tx.session.get(Person, ticket.assignee_id) if ticket.assignee_id else None
            )
            await _notify(
                tx,
                event,
                ticket.reporter_id,
                ArrivalExpected(
                    **ticket_facts(ticket),
                    engineer=engineer.name if engineer else actor.name,
                    expected_at=at,
                    promised_arrival_at=ticket.promised_arrival_at,
                    late=late,
                ),
            )
            return ticket

    async def _work_step(
        self,
        ticket_id: int,
        actor_id: int,
        action: Action,
        audit_action: str,
        *,
        stop: Sequence[ClockKind] = (),
        notify: Callable[[Ticket, Person], Message] | None = None,
    ) -> Ticket:
        """A simple move by the assignee that may stop clocks and tell the reporter."""
        async with self.core.transaction(actor_id) as tx:
            ticket = await _load_ticket(tx, ticket_id)
            actor = await get_person(tx, actor_id)
            _ensure_worker(actor, ticket)
            _move(ticket, action)
            stamp = {
                Action.ACKNOWLEDGE: "acknowledged_at",
                Action.DEPART: "departed_at",
                Action.ARRIVE: "arrived_at",
            }.get(action)
            if stamp:
                setattr(ticket, stamp, tx.now)
            met = {}
            for kind in stop:
                clock = await deadlines.stop_clock(tx, ticket, kind)
                if clock is not None:
                    met[kind.value] = clock.met
            event = await tx.audit("ticket", ticket.id, audit_action, met=met)
            if notify is not None:
                await _notify(tx, event, ticket.reporter_id, notify(ticket, actor))
            return ticket

    # --- pauses -----------------------------------------------------------------------

    async def pause(
        self, ticket_id: int, *, actor_id: int, reason: PauseReason, note: str = ""
    ) -> Ticket:
        """Stop the clocks the policy says this wait stops, and record the pause."""
        async with self.core.transaction(actor_id) as tx:
            ticket = await _load_ticket(tx, ticket_id)
            _ensure_worker(await get_person(tx, actor_id), ticket)
            previous = _move(ticket, Action.PAUSE)
            ticket.paused_from = previous
            tx.session.add(
                Pause(
                    ticket_id=ticket.id,
                    reason=reason.value,
                    note=note[:MAX_NOTE],
                    started_at=tx.now,
                    started_by_id=actor_id,
                )
            )
            paused = await deadlines.pause_clocks(tx, ticket, reason)
            event = await tx.audit(
                "ticket",
                ticket.id,
                "ticket.paused",
                reason=reason.value,
                clocks=paused,
                note=note[:MAX_NOTE],
            )
            await _notify(
                tx,
                event,
                ticket.reporter_id,
                WorkPaused(**ticket_facts(ticket), reason=reason.value, note=note[:200]),
            )
            return ticket

    async def resume(self, ticket_id: int, *, actor_id: int) -> Ticket:
        """End the pause; paused clocks carry on with their deadlines moved."""
        async with self.core.transaction(actor_id) as tx:
            ticket = await _load_ticket(tx, ticket_id)
            _ensure_worker(await get_person(tx, actor_id), ticket)
            _move(ticket, Action.RESUME)
            ticket.paused_from = None
            pause = await tx.session.scalar(
                select(Pause)
                .where(Pause.ticket_id == ticket.id, Pause.ended_at.is_(None))
                .order_by(Pause.id.desc())
            )
            if pause is not None:
                pause.ended_at = tx.now
                pause.ended_by_id = actor_id
            resumed = await deadlines.resume_clocks(tx, ticket)
            event = await tx.audit("ticket", ticket.id, "ticket.resumed", clocks=resumed)
            await _notify(tx, event, ticket.reporter_id, WorkResumed(**ticket_facts(ticket)))
            return ticket

    # --- restore and resolve --------------------------------------------------------------

    async def restore(
        self,
        ticket_id: int,
        *,
        actor_id: int,
        spare_lent: bool = False,
        spare_description: str = "",
    ) -> Ticket:
        """Service is back (workaround or spare device, 003 §2.1.5); the full fix may follow."""
        async with self.core.transaction(actor_id) as tx:
            ticket = await _load_ticket(tx, ticket_id)
            actor = await get_person(tx, actor_id)
            _ensure_worker(actor, ticket)
            _move(ticket, Action.RESTORE)
            ticket.restored_at = tx.now
            clock = await deadlines.stop_clock(tx, ticket, ClockKind.RESTORE)
            if spare_lent:
                await self._lend_spare(tx, ticket, spare_description)
            event = await tx.audit(
                "ticket",
                ticket.id,
                "ticket.restored",
                spare_lent=spare_lent,
                met=clock.met if clock else None,
            )
            await _notify(
                tx,
                event,
                ticket.reporter_id,
                ServiceRestored(**ticket_facts(ticket), spare_lent=spare_lent),
            )
            return ticket

    async def _lend_spare(self, tx: Tx, ticket: Ticket, description: str) -> SpareLoan:
        """Record a spare device lent; the original is due back in N working days (000 §2.1)."""
        cal = tx.calendar(
            "5x8" if "5x8" in tx.policy.calendars else ticket.service_hours, ticket.timezone
        )
        loan = SpareLoan(
            ticket_id=ticket.id,
            description=description[:300],
            lent_at=tx.now,
            due_back_at=cal.working_days_after(tx.now, tx.policy.loan_return_working_days),
        )
        tx.session.add(loan)
        await tx.session.flush()
        await reminders.schedule_loan_reminders(tx, loan)
        await tx.audit(
            "spare_loan",
            loan.id,
            "spare.lent",
            ticket_id=ticket.id,
            due_back_at=loan.due_back_at.isoformat(),
        )
        return loan

    async def resolve(self, ticket_id: int, *, actor_id: int, sheet: ServiceSheet) -> Ticket:
        """The engineer files the service sheet; restore and resolve clocks stop."""
        return await self._resolve(ticket_id, actor_id, sheet, remote=False)

    async def resolve_remotely(
        self, ticket_id: int, *, actor_id: int, sheet: ServiceSheet
    ) -> Ticket:
        """Fixed by phone or remote help without a visit (001); the arrival clock does not count."""
        return await self._resolve(ticket_id, actor_id, sheet, remote=True)

    async def _resolve(
        self, ticket_id: int, actor_id: int, sheet: ServiceSheet, *, remote: bool
    ) -> Ticket:
        sheet.validate()
        async with self.core.transaction(actor_id) as tx:
            ticket = await _load_ticket(tx, ticket_id)
            actor = await get_person(tx, actor_id)
            _ensure_worker(actor, ticket)
            _move(ticket, Action.RESOLVE_REMOTELY if remote else Action.RESOLVE)
            ticket.resolved_at = tx.now
            ticket.category = sheet.service_type
            ticket.remote = remote
            ticket.second_visit_at = sheet.second_visit_at
            if ticket.assignee_id is None:
                ticket.assignee_id = actor.id
            if remote:
                await deadlines.stop_clock(tx, ticket, ClockKind.ARRIVAL, cancelled=True)
                await deadlines.stop_clock(tx, ticket, ClockKind.ACKNOWLEDGE)
            if ticket.restored_at is None:
                ticket.restored_at = tx.now
            await deadlines.stop_all(tx, ticket, cancelled=False)
            existing = await tx.session.scalar(
                select(Resolution).where(Resolution.ticket_id == ticket.id)
            )
            if existing is not None:
                await tx.session.delete(existing)  # a second visit files a fresh sheet
                await tx.session.flush()
            tx.session.add(
                Resolution(
                    ticket_id=ticket.id,
                    engineer_id=actor.id,
                    service_type=sheet.service_type,
                    under_warranty=sheet.under_warranty,
                    charged=sheet.charged,
                    amount=sheet.amount,
                    result=ServiceResult.FIXED_REMOTELY if remote else sheet.result,
                    second_visit_at=sheet.second_visit_at,
                    parts_replaced=sheet.parts_replaced,
                    spare_lent=sheet.spare_lent,
                    solution=sheet.solution,
                    completed_at=tx.now,
                )
            )
            if sheet.spare_lent and not await tx.session.scalar(
                select(SpareLoan.id).where(SpareLoan.ticket_id == ticket.id)
            ):
                await self._lend_spare(tx, ticket, sheet.parts_replaced)
            await scheduling.cancel_where(
                tx, DueWork.ticket_id == ticket.id, DueWork.kind == PROGRESS
            )
            await reminders.schedule_survey_reminder(tx, ticket)
            event = await tx.audit(
                "ticket",
                ticket.id,
                "ticket.resolved",
                remote=remote,
                service_type=sheet.service_type.value,
                result=sheet.result.value,
                under_warranty=sheet.under_warranty,
                charged=sheet.charged,
                amount=str(sheet.amount) if sheet.amount is not None else None,
                parts_replaced=sheet.parts_replaced,
                spare_lent=sheet.spare_lent,
                solution=sheet.solution,
                # The sheet's actual arrival (实际到达时间) and its evidence, as recorded.
                arrived_at=ticket.arrived_at.isoformat() if ticket.arrived_at else None,
                arrival_check=ticket.arrival_check.value if ticket.arrival_check else None,
                arrival_distance_m=ticket.arrival_distance_m,
            )
            await _notify(
                tx,
                event,
                ticket.reporter_id,
                FaultResolved(
                    **ticket_facts(ticket),
                    engineer=actor.name,
                    solution=sheet.solution[:300],
                    remote=remote,
                    cycle=ticket.cycle,
                ),
            )
            return ticket

    # --- reporter's verdict -----------------------------------------------------------------

    async def confirm_fix(
        self, ticket_id: int, *, actor_id: int, confirmed: bool, comment: str = ""
    ) -> Ticket:
        """The reporter confirms the fix, or rejects it and gets a second visit (001 流程说明)."""
        async with self.core.transaction(actor_id) as tx:
            ticket = await _load_ticket(tx, ticket_id)
            _ensure_reporter(await get_person(tx, actor_id), ticket)
            if ticket.status is not TicketStatus.RESOLVED:
                raise Conflict(
                    "ticket.not_resolved", ticket_id=ticket_id, status=ticket.status.value
                )
            if ticket.fix_confirmed:
                raise Conflict("ticket.fix_already_confirmed", ticket_id=ticket_id)
            if confirmed:
                ticket.fix_confirmed = True
                await tx.audit("ticket", ticket.id, "ticket.fix_confirmed")
                if await self._rating(tx, ticket) is not None:
                    await self._close(tx, ticket)
                return ticket
            ticket.fix_confirmed = False
            event = await tx.audit(
                "ticket", ticket.id, "ticket.fix_rejected", comment=comment[:MAX_NOTE]
            )
            await self._second_visit(tx, ticket, event, reason="fix_rejected")
            return ticket

    async def rate(
        self,
        ticket_id: int,
        *,
        actor_id: int,
        score: int,
        comment: str = "",
        dimensions: dict[str, int] | None = None,
    ) -> Ticket:
        """Record the 1-5 satisfaction (000 §4); 1-2 brings a second visit and a manager alert."""
        if score not in range(1, 6):
            raise InvalidInput("rating.out_of_range", score=score)
        dimensions = dimensions or {}
        for name, value in dimensions.items():
            if name not in FOLLOW_UP_DIMENSIONS or value not in range(1, 5):
                raise InvalidInput("rating.bad_dimension", name=name)
        async with self.core.transaction(actor_id) as tx:
            ticket = await _load_ticket(tx, ticket_id)
            _ensure_reporter(await get_person(tx, actor_id), ticket)
            if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
                raise Conflict(
                    "ticket.not_resolved", ticket_id=ticket_id, status=ticket.status.value
                )
            if await self._rating(tx, ticket) is not None:
                raise Conflict("rating.already_given", ticket_id=ticket_id)
            tx.session.add(
                Rating(
                    ticket_id=ticket.id,
                    cycle=ticket.cycle,
                    rater_id=actor_id,
                    score=score,
                    comment=comment[:MAX_NOTE],
                    rated_at=tx.now,
                    **{name: dimensions.get(name) for name in FOLLOW_UP_DIMENSIONS},
                )
            )
            event = await tx.audit(
                "ticket",
                ticket.id,
                "ticket.rated",
                score=score,
                dimensions=dimensions,
                comment=comment[:MAX_NOTE],
            )
            if score <= 2:
                await self._second_visit(tx, ticket, event, reason="low_score", score=score)
            elif ticket.fix_confirmed and ticket.status is TicketStatus.RESOLVED:
                await self._close(tx, ticket)
            return ticket

    async def set_follow_up(
        self, ticket_id: int, *, actor_id: int, dimensions: dict[str, int]
    ) -> None:
        """The 回访 dimensions (quality, standard, progress, attitude), each 1-4."""
        for name, value in dimensions.items():
            if name not in FOLLOW_UP_DIMENSIONS or value not in range(1, 5):
                raise InvalidInput("rating.bad_dimension", name=name)
        async with self.core.transaction(actor_id) as tx:
            ticket = await _load_ticket(tx, ticket_id)
            _ensure_reporter(await get_person(tx, actor_id), ticket)
            rating = await tx.session.scalar(
                select(Rating)
                .where(Rating.ticket_id == ticket.id)
                .order_by(Rating.cycle.desc())
                .limit(1)
            )
            if rating is None:
                raise Conflict("rating.missing", ticket_id=ticket_id)
            for name, value in dimensions.items():
                setattr(rating, name, value)
            await tx.audit("ticket", ticket.id, "ticket.follow_up", dimensions=dimensions)

    @staticmethod
    async def _rating(tx: Tx, ticket: Ticket) -> Rating | None:
        return await tx.session.scalar(
            select(Rating).where(Rating.ticket_id == ticket.id, Rating.cycle == ticket.cycle)
        )

    async def _close(self, tx: Tx, ticket: Ticket) -> None:
        _move(ticket, Action.CLOSE)
        ticket.closed_at = tx.now
        await tx.audit("ticket", ticket.id, "ticket.closed")

    async def _second_visit(
        self,
        tx: Tx,
        ticket: Ticket,
        event: AuditEvent,
        *,
        reason: str,
        score: int | None = None,
    ) -> None:
        """Reopen for a second visit: new cycle of clocks, same engineer, manager alerted."""
        if ticket.status is TicketStatus.REOPENED:
            return
        _move(ticket, Action.REOPEN)
        ticket.cycle += 1
        ticket.fix_confirmed = None
        ticket.resolved_at = None
        ticket.closed_at = None
        ticket.restored_at = None
        ticket.arrived_at = None
        ticket.arrival_check = None
        ticket.arrival_distance_m = None
        ticket.arrival_latitude = ticket.arrival_longitude = None
        ticket.acknowledged_at = None
        ticket.departed_at = None
        clocks = await deadlines.start_clocks(tx, ticket, deadlines.ALL_CLOCKS, tx.now)
        ticket.promised_arrival_at = next(c.due_at for c in clocks if c.kind == ClockKind.ARRIVAL)
        await _schedule_progress(tx, ticket, 1000 * ticket.cycle + 1, tx.now)
        reopened = await tx.audit(
            "ticket",
            ticket.id,
            "ticket.reopened",
            reason=reason,
            cycle=ticket.cycle,
            **({} if score is None else {"score": score}),
        )
        card = await card_in(tx, ticket)
        alert = SecondVisitAlert(card=card, reason=reason, score=score)
        await _notify_role(tx, reopened, Role.MANAGER, ticket.site_id, alert)
        engineer = await tx.session.get(Person, ticket.assignee_id) if ticket.assignee_id else None
        if engineer is None or not engineer.active:
            engineer = await least_loaded_engineer(tx, ticket.site_id)
        if engineer is not None:
            await _assign(tx, ticket, engineer, by="auto")
        else:
            await _notify_role(
                tx, reopened, Role.DISPATCHER, ticket.site_id, NeedsEngineer(card=card)
            )
        await _notify(
            tx,
            event,
            ticket.reporter_id,
            SecondVisitScheduled(
                **ticket_facts(ticket),
                reason=reason,
                promised_arrival_at=ticket.promised_arrival_at,
            ),
        )

    # --- dispatcher tools ---------------------------------------------------------------

    async def set_severity(self, ticket_id: int, severity: int, *, actor_id: int) -> Ticket:
        """A dispatcher triages the level; deadlines follow."""
        if severity not in range(1, 5):
            raise InvalidInput("severity.out_of_range", severity=severity)
        async with self.core.transaction(actor_id) as tx:
            actor = await get_person(tx, actor_id)
            if not dispatches(actor.role):
                raise PermissionDenied(action="set_severity")
            ticket = await _load_ticket(tx, ticket_id)
            _ensure_dispatcher(actor, ticket, "set_severity")
            if ticket.status not in OPEN_STATUSES:
                raise Conflict("ticket.closed", ticket_id=ticket_id)
            if severity == ticket.severity:
                return ticket
            await deadlines.change_severity(tx, ticket, severity, reason="dispatcher")
            return ticket

    async def cancel(self, ticket_id: int, *, actor_id: int, reason: str) -> Ticket:
        """Withdraw a report (its reporter, before the engineer arrives) or cancel it (a
        dispatcher of its site, at any time while open); clocks stop and do not count."""
        reason = reason.strip()
        if not reason:
            raise InvalidInput("cancel.reason_required")
        async with self.core.transaction(actor_id) as tx:
            ticket = await _load_ticket(tx, ticket_id)
            actor = await get_person(tx, actor_id)
            by_reporter = actor.id == ticket.reporter_id
            if not by_reporter:
                _ensure_dispatcher(actor, ticket, "cancel")
            if by_reporter and not dispatches(actor.role) and ticket.arrived_at is not None:
                raise Conflict("cancel.engineer_arrived", ticket_id=ticket.id)
            _move(ticket, Action.CANCEL)
            ticket.cancelled_at = tx.now
            await deadlines.stop_all(tx, ticket, cancelled=True)
            await scheduling.cancel_where(tx, DueWork.ticket_id == ticket.id)
            event = await tx.audit(
                "ticket",
                ticket.id,
                "ticket.cancelled",
                reason=reason[:MAX_NOTE],
                by_reporter=by_reporter,
            )
            if ticket.assignee_id is not None and ticket.assignee_id != actor.id:
                await _notify(
                    tx,
                    event,
                    ticket.assignee_id,
                    DispatchCancelled(
                        **ticket_facts(ticket),
                        reason=reason[:200],
                        cancelled_by=actor.name,
                        by_reporter=by_reporter,
                    ),
                )
            if not by_reporter:
                await _notify(
                    tx,
                    event,
                    ticket.reporter_id,
                    TicketCancelled(
                        **ticket_facts(ticket), reason=reason[:200], cancelled_by=actor.name
                    ),
                )
            return ticket

    # --- the ticket's thread --------------------------------------------------------------

    async def post_note(
        self,
        ticket_id: int,
        *,
        actor_id: int,
        text: str = "",
        photo_file_id: str | None = None,
        request_key: str | None = None,
    ) -> TicketNote:
        """A message from one party of the ticket to the others, relayed by the bot.

        The reporter, the engineer, the dispatcher who assigned it and anyone who wrote in
        the thread before take part; with nobody else yet, the site's dispatchers hear it.
        A photo is kept with the ticket's photos too. `request_key` (the chat update) makes
        a repeated update find its note instead of posting it twice.
        """
        text = text.strip()
        if not text and not photo_file_id:
            raise InvalidInput("note.empty")
        if len(text) > MAX_THREAD_TEXT:
            raise InvalidInput("text.too_long", limit=MAX_THREAD_TEXT)
        async with self.core.transaction(actor_id) as tx:
            ticket = await _load_ticket(tx, ticket_id)
            actor = await get_person(tx, actor_id)
            if not await _takes_part(tx, actor, ticket):
                raise PermissionDenied(action="note", ticket_id=ticket.id)
            if request_key is not None:
                already = await tx.session.scalar(
                    select(TicketNote).where(TicketNote.request_key == request_key[:64])
                )
                if already is not None:
                    return already
            note = TicketNote(
                ticket_id=ticket.id,
                author_id=actor.id,
                text=text,
                photo_file_id=photo_file_id[:256] if photo_file_id else None,
                created_at=tx.now,
                request_key=request_key[:64] if request_key else None,
            )
            tx.session.add(note)
            if photo_file_id:
                tx.session.add(
                    TicketPhoto(
                        ticket_id=ticket.id,
                        file_id=photo_file_id[:256],
                        added_at=tx.now,
                        added_by_id=actor.id,
                    )
                )
            await tx.session.flush()
            event = await tx.audit(
                "ticket",
                ticket.id,
                "ticket.note",
                note_id=note.id,
                text=text,
                photo=photo_file_id is not None,
            )
            message = TicketNotePosted(
                **ticket_facts(ticket),
                note_id=note.id,
                author=actor.name,
                author_role=actor.role,
                text=text,
                photo_file_id=note.photo_file_id,
            )
            recipients = await _thread_parties(tx, ticket) - {actor.id}
            if not recipients:
                await _notify_role(tx, event, Role.DISPATCHER, ticket.site_id, message)
            for recipient in sorted(recipients):
                await _notify(tx, event, recipient, message)
            return note

    # --- data-backup consent ----------------------------------------------------------------

    async def request_backup_consent(
        self, ticket_id: int, *, actor_id: int, operation: str = ""
    ) -> BackupConsent:
        """Ask the reporter to confirm the data backup before risky work (000 §2.2.1-3)."""
        async with self.core.transaction(actor_id) as tx:
            ticket = await _load_ticket(tx, ticket_id)
            _ensure_worker(await get_person(tx, actor_id), ticket)
            if ticket.status not in OPEN_STATUSES:
                raise Conflict("ticket.closed", ticket_id=ticket_id)
            consent = BackupConsent(
                ticket_id=ticket.id,
                operation=operation[:64],
                requested_by_id=actor_id,
                requested_at=tx.now,
            )
            tx.session.add(consent)
            await tx.session.flush()
            event = await tx.audit(
                "ticket",
                ticket.id,
                "consent.requested",
                consent_id=consent.id,
                operation=operation[:64],
            )
            await _notify(
                tx,
                event,
                ticket.reporter_id,
                BackupConsentRequested(
                    **ticket_facts(ticket), consent_id=consent.id, operation=operation[:64]
                ),
            )
            return consent

    async def answer_backup_consent(
        self, consent_id: int, *, actor_id: int, confirmed: bool
    ) -> BackupConsent:
        """The reporter confirms (or refuses) the backup; who and when are recorded."""
        async with self.core.transaction(actor_id) as tx:
            consent = await tx.session.get(BackupConsent, consent_id, with_for_update=True)
            if consent is None:
                raise NotFound(entity="consent", id=consent_id)
            ticket = await _load_ticket(tx, consent.ticket_id)
            actor = await get_person(tx, actor_id)
            if actor.id != ticket.reporter_id:
                raise PermissionDenied(action="consent", ticket_id=ticket.id)
            if consent.answered_at is not None:
                raise Conflict("consent.already_answered", consent_id=consent_id)
            consent.answered_at = tx.now
            consent.answered_by_id = actor_id
            consent.confirmed = confirmed
            event = await tx.audit(
                "ticket", ticket.id, "consent.answered", consent_id=consent_id, confirmed=confirmed
            )
            await _notify(
                tx,
                event,
                consent.requested_by_id,
                BackupConsentAnswered(
                    **ticket_facts(ticket), consent_id=consent_id, confirmed=confirmed
                ),
            )
            return consent

    # --- pages ------------------------------------------------------------------------------

    async def acknowledge_page(self, page_id: int, *, actor_id: int) -> Page:
        """The paged person says 'seen'; the page stops repeating."""
        async with self.core.transaction(actor_id) as tx:
            page = await tx.session.get(Page, page_id, with_for_update=True)
            if page is None:
                raise NotFound(entity="page", id=page_id)
            if page.recipient_id != actor_id:
                raise PermissionDenied(action="ack_page")
            if page.acknowledged_at is not None:
                raise Conflict("page.already_acknowledged", page_id=page_id)
            page.acknowledged_at = tx.now
            page.acknowledged_by_id = actor_id
            await tx.audit("page", page.id, "page.acknowledged", ticket_id=page.ticket_id)
            await scheduling.cancel_where(tx, DueWork.key.startswith(f"page-repeat:{page.id}:"))
            return page

    # --- reads ------------------------------------------------------------------------------

    async def card(self, ticket_id: int) -> TicketCard:
        """A ticket with names and clocks, for display."""
        _check_ticket_id(ticket_id)
        async with self.core.reading() as session:
            ticket = await session.get(Ticket, ticket_id)
            if ticket is None:
                raise NotFound(entity="ticket", id=ticket_id)
            return (await _cards(session, [ticket]))[0]

    async def history(self, ticket_id: int, *, viewer_id: int) -> TicketHistory:
        """A ticket with its timeline, for a person who takes part in it (or oversees it)."""
        async with self.core.transaction(viewer_id) as tx:
            ticket = await tx.session.get(Ticket, ticket_id)
            viewer = await get_person(tx, viewer_id)
            if ticket is None or not await _may_view(tx, viewer, ticket):
                # Not telling a stranger whether the number exists.
                raise NotFound(entity="ticket", id=ticket_id)
            card = (await _cards(tx.session, [ticket]))[0]
            events = (
                await tx.session.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.entity == "ticket", AuditEvent.entity_id == ticket.id)
                    .order_by(AuditEvent.id)
                )
            ).all()
            named = {e.actor_id for e in events if e.actor_id is not None} | {
                e.data["engineer_id"]
                for e in events
                if isinstance((e.data or {}).get("engineer_id"), int)
            }
            people = {
                p.id: p
                for p in await tx.session.scalars(select(Person).where(Person.id.in_(named)))
            }
            entries = []
            for event in events:
                data = dict(event.data or {})
                engineer = people.get(data.get("engineer_id") or 0)
                if engineer is not None:
                    data["engineer"] = engineer.name  # who was assigned, by name
                actor = people.get(event.actor_id or 0)
                entries.append(
                    TimelineEntry(
                        at=event.at,
                        action=event.action,
                        actor=actor.name if actor else None,
                        actor_role=actor.role if actor else None,
                        data=data,
                    )
                )
            return TicketHistory(card=card, entries=tuple(entries))

    async def closed_for_reporter(self, person_id: int, *, days: int = 30) -> list[TicketCard]:
        """The reporter's tickets closed or cancelled in the last `days` days, newest first."""
        async with self.core.reading() as session:
            since = self.core.clock.now() - timedelta(days=days)
            tickets = (
                await session.scalars(
                    select(Ticket)
                    .where(
                        Ticket.reporter_id == person_id,
                        ((Ticket.status == TicketStatus.CLOSED) & (Ticket.closed_at >= since))
                        | (
                            (Ticket.status == TicketStatus.CANCELLED)
                            & (Ticket.cancelled_at >= since)
                        ),
                    )
                    .order_by(Ticket.id.desc())
                    .limit(200)
                )
            ).all()
            return await _cards(session, list(tickets))

    async def ticket_of_message(self, person_id: int, message_id: int) -> int | None:
        """The ticket a message the bot sent this person is about (None if none or unknown)."""
        async with self.core.reading() as session:
            found: int | None = await session.scalar(
                select(OutboxMessage.ticket_id)
                .where(
                    OutboxMessage.recipient_id == person_id,
                    OutboxMessage.message_id == message_id,
                    OutboxMessage.ticket_id.is_not(None),
                )
                .order_by(OutboxMessage.id.desc())
                .limit(1)
            )
            return found

    async def open_for_reporter(self, person_id: int) -> list[TicketCard]:
        """The reporter's open tickets, newest first."""
        async with self.core.reading() as session:
            tickets = (
                await session.scalars(
                    select(Ticket)
                    .where(
                        Ticket.reporter_id == person_id,
                        Ticket.status.in_(OPEN_STATUSES | {TicketStatus.RESOLVED}),
                    )
                    .order_by(Ticket.id.desc())
                    .limit(200)
                )
            ).all()
            return await _cards(session, list(tickets))

    async def queue_for(self, person_id: int) -> list[TicketCard]:
        """Open tickets by nearest deadline: an engineer's own; a dispatcher's whole site."""
        async with self.core.reading() as session:
            person = await session.get(Person, person_id)
            if person is None:
                raise NotFound(entity="person", id=person_id)
            query = select(Ticket).where(Ticket.status.in_(OPEN_STATUSES))
            if dispatches(person.role) or person.role is Role.MANAGER:
                if person.site_id is not None:
                    query = query.where(Ticket.site_id == person.site_id)
            else:
                query = query.where(Ticket.assignee_id == person.id)
            tickets = (await session.scalars(query.order_by(Ticket.id).limit(500))).all()
            cards = await _cards(session, list(tickets))
            far = datetime.max.replace(tzinfo=cards[0].reported_at.tzinfo) if cards else None
            return sorted(cards, key=lambda c: (c.next_due or far, c.id))

    async def page_notice(self, page_id: int) -> PageNotice:
        """A page with the message that first carried it (to show it again, acknowledged)."""
        async with self.core.reading() as session:
            page = await session.get(Page, page_id)
            if page is None:
                raise NotFound(entity="page", id=page_id)
            row = await session.scalar(
                select(OutboxMessage)
                .where(OutboxMessage.page_id == page_id)
                .order_by(OutboxMessage.id)
                .limit(1)
            )
            message = decode(row.code, row.params) if row is not None else None
            return PageNotice(
                page_id=page.id,
                ticket_id=page.ticket_id,
                recipient_id=page.recipient_id,
                message=message if isinstance(message, EscalationPage) else None,
                acknowledged_at=page.acknowledged_at,
            )

    async def engineers_for(self, ticket_id: int) -> list[Person]:
        """Engineers a dispatcher may choose for a ticket."""
        async with self.core.transaction() as tx:
            ticket = await _load_ticket(tx, ticket_id)
            return list(await people_with_role(tx, Role.ENGINEER, ticket.site_id))


async def _thread_parties(tx: Tx, ticket: Ticket) -> set[int]:
    """Who hears a ticket's thread: reporter, engineer, assigning dispatcher, past writers."""
    parties = {ticket.reporter_id}
    for person_id in (ticket.assignee_id, ticket.dispatcher_id):
        if person_id is not None:
            parties.add(person_id)
    writers = await tx.session.scalars(
        select(TicketNote.author_id).where(TicketNote.ticket_id == ticket.id).distinct()
    )
    parties.update(writers)
    return parties


async def _takes_part(tx: Tx, person: Person, ticket: Ticket) -> bool:
    """May write in the ticket's thread: a party to it, or a dispatcher of its site."""
    if not person.active:
        return False
    return person.id in await _thread_parties(tx, ticket) or dispatches_at(
        person.role, person.site_id, ticket.site_id
    )


async def _may_view(tx: Tx, person: Person, ticket: Ticket) -> bool:
    """May see the ticket and its timeline: its parties, engineers who had it, and the
    dispatchers and managers of its site."""
    if await _takes_part(tx, person, ticket):
        return True
    if person.role is Role.MANAGER and person.site_id in (None, ticket.site_id):
        return True
    if person.role is Role.ENGINEER:
        had_it = await tx.session.scalar(
            select(AuditEvent.id)
            .where(
                AuditEvent.entity == "ticket",
                AuditEvent.entity_id == ticket.id,
                AuditEvent.action == "ticket.assigned",
                AuditEvent.data["engineer_id"].as_integer() == person.id,
            )
            .limit(1)
        )
        return had_it is not None
    return False


async def _earlier_tickets(session: Any, asset_ids: set[int]) -> dict[int, list[Any]]:
    """Each device's latest tickets not cancelled, newest first, with their sheets' results."""
    rows = (
        await session.execute(
            select(
                Ticket.id,
                Ticket.asset_id,
                Ticket.reported_at,
                Ticket.symptom,
                Ticket.status,
                Resolution.result,
            )
            .outerjoin(Resolution, Resolution.ticket_id == Ticket.id)
            .where(Ticket.asset_id.in_(asset_ids), Ticket.status != TicketStatus.CANCELLED)
            .order_by(Ticket.reported_at.desc(), Ticket.id.desc())
            .limit(50 * len(asset_ids))
        )
    ).all()
    by_asset: dict[int, list[Any]] = {}
    for row in rows:
        by_asset.setdefault(row.asset_id, []).append(row)
    return by_asset


def _repair_view(row: Any) -> RepairView:
    return RepairView(
        ticket_id=row.id,
        reported_at=row.reported_at,
        symptom=row.symptom[:200],
        status=row.status,
        result=row.result,
    )


async def _repairs(session: Any, tickets: list[Ticket]) -> dict[int, tuple[RepairView, ...]]:
    """Each ticket's device's latest earlier tickets, with the result of their sheets."""
    asset_ids = {t.asset_id for t in tickets if t.asset_id}
    if not asset_ids:
        return {}
    by_asset = await _earlier_tickets(session, asset_ids)
    found: dict[int, tuple[RepairView, ...]] = {}
    for ticket in tickets:
        earlier = [
            _repair_view(row)
            for row in by_asset.get(ticket.asset_id or 0, [])
            if row.id != ticket.id and row.reported_at <= ticket.reported_at
        ]
        found[ticket.id] = tuple(earlier[:REPAIRS_SHOWN])
    return found


async def _cards(
    session: Any, tickets: list[Ticket], reported: dict[int, _Reported] | None = None
) -> list[TicketCard]:
    """Build cards for several tickets with a handful of queries (none of them for what
    `reported` tickets were given in this transaction; their people are in the session)."""
    if not tickets:
        return []
    known = reported or {}
    ids = [t.id for t in tickets if t.id not in known]
    clocks: dict[int, list[SlaClock]] = {t_id: list(r.clocks) for t_id, r in known.items()}
    photos: dict[int, list[str]] = {t_id: list(r.photos) for t_id, r in known.items()}
    sites = {r.site.id: r.site for r in known.values()}
    assets = {r.asset.id: r.asset for r in known.values() if r.asset is not None}
    person_ids = {t.reporter_id for t in tickets} | {
        t.assignee_id for t in tickets if t.assignee_id
    }
    people: dict[int, Person] = {}
    if not ids:  # the people of tickets reported here were loaded here: no query
        for person_id in person_ids:
            person = await session.get(Person, person_id)
            if person is not None:
                people[person.id] = person
    loans: dict[int, SpareLoan] = {}
    consents: dict[int, BackupConsent] = {}
    if ids:
        for clock in await session.scalars(select(SlaClock).where(SlaClock.ticket_id.in_(ids))):
            clocks.setdefault(clock.ticket_id, []).append(clock)
        people = {
            p.id: p for p in await session.scalars(select(Person).where(Person.id.in_(person_ids)))
        }
        site_ids = {t.site_id for t in tickets} - set(sites)
        sites.update(
            (s.id, s) for s in await session.scalars(select(Site).where(Site.id.in_(site_ids)))
        )
        asset_ids = {t.asset_id for t in tickets if t.asset_id} - set(assets)
        if asset_ids:
            assets.update(
                (a.id, a)
                for a in await session.scalars(select(Asset).where(Asset.id.in_(asset_ids)))
            )
        for loan in await session.scalars(
            select(SpareLoan)
            .where(SpareLoan.ticket_id.in_(ids), SpareLoan.returned_at.is_(None))
            .order_by(SpareLoan.id)
        ):
            loans[loan.ticket_id] = loan  # the newest open loan wins
        for consent in await session.scalars(
            select(BackupConsent).where(BackupConsent.ticket_id.in_(ids)).order_by(BackupConsent.id)
        ):
            consents[consent.ticket_id] = consent  # the newest request wins
        for photo in await session.scalars(
            select(TicketPhoto).where(TicketPhoto.ticket_id.in_(ids)).order_by(TicketPhoto.id)
        ):
            photos.setdefault(photo.ticket_id, []).append(photo.file_id)
    repairs = {t_id: r.repairs for t_id, r in known.items()}
    repairs.update(await _repairs(session, [t for t in tickets if t.id not in known]))
    cards = []
    for t in tickets:
        loan = loans.get(t.id)
        consent = consents.get(t.id)
        views = tuple(
            ClockView(
                kind=c.kind,
                due_at=c.due_at,
                stopped_at=c.stopped_at,
                met=c.met,
                paused=c.paused_since is not None,
                cancelled=c.cancelled,
                breached=c.breached_at is not None,
            )
            for c in sorted(
                clocks.get(t.id, []), key=lambda c: deadlines.ALL_CLOCKS.index(ClockKind(c.kind))
            )
            if c.cycle == t.cycle
        )
        asset = assets.get(t.asset_id) if t.asset_id else None
        assignee = people.get(t.assignee_id) if t.assignee_id else None
        cards.append(
            TicketCard(
                id=t.id,
                status=t.status,
                severity=t.severity,
                symptom=t.symptom,
                impact=t.impact,
                reported_at=t.reported_at,
                site_name=sites[t.site_id].name,
                site_id=t.site_id,
                expected_arrival_at=t.expected_arrival_at,
                location=t.location,
                asset_tag=asset.tag if asset else None,
                asset_kind=asset.kind if asset else t.asset_kind,
                reporter_id=t.reporter_id,
                reporter_name=people[t.reporter_id].name,
                contact_phone=t.contact_phone,
                assignee_id=t.assignee_id,
                assignee_name=assignee.name if assignee else None,
                promised_arrival_at=t.promised_arrival_at,
                timezone=t.timezone,
                cycle=t.cycle,
                repeat_of_id=t.repeat_of_id,
                remote=t.remote,
                clocks=views,
                site_address=sites[t.site_id].address,
                brand_model=f"{asset.brand} {asset.model}".strip() if asset else "",
                spare_due_back_at=loan.due_back_at if loan else None,
                consent=ConsentView(
                    operation=consent.operation,
                    requested_at=consent.requested_at,
                    answered_at=consent.answered_at,
                    confirmed=consent.confirmed,
                )
                if consent
                else None,
                photo_ids=tuple(photos.get(t.id, ())),
                site_latitude=sites[t.site_id].latitude,
                site_longitude=sites[t.site_id].longitude,
                warranty_until=asset.warranty_until if asset else None,
                repairs=repairs.get(t.id, ()),
                arrived_at=t.arrived_at,
                arrival_check=t.arrival_check,
                arrival_distance_m=t.arrival_distance_m,
            )
        )
    return cards


async def fire_progress(tx: Tx, work: DueWork) -> None:
    """Hourly progress to the reporter while a ticket stays open (002 热线服务规范)."""
    assert work.ticket_id is not None
    ticket = await _load_ticket(tx, work.ticket_id)
    if ticket.status not in OPEN_STATUSES or ticket.status is TicketStatus.RESOLVED:
        return
    number = int(work.payload.get("n", 1))
    progress = ProgressUpdate(
        card=await card_in(tx, ticket),
        hours_open=round((tx.now - ticket.reported_at).total_seconds() / 3600, 1),
        n=number,
    )
    await outbox.enqueue(
        tx, progress, key=f"{work.key}:{ticket.reporter_id}", recipient_id=ticket.reporter_id
    )
    # After downtime, do not replay every missed hour: one message now, the next an interval on.
    cal = tx.calendar(ticket.service_hours, ticket.timezone)
    following = cal.add(work.due_at or tx.now, tx.policy.progress_interval)
    await _schedule_progress(
        tx, ticket, number + 1, work.due_at if following > tx.now and work.due_at else tx.now
    )
