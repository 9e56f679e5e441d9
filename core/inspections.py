"""Planned maintenance: inspection plans, their rounds, the checklist walk and the report.

Two kinds of plan come from the seeds:

- **semiannual** desktop health inspection of every PC, laptop, printer and scanner of a
  site, software and hardware (002 工作内容 "每年两次...健康巡检", 003 §2.4);
- **monthly** meeting-room inspection, done before the 10th, recording consumables such
  as projector lamps and remote-control batteries, reported to the project lead (004).

A plan has one round (`Inspection`) per period, unique per (plan, period), so the daily
planner can run any number of times, on any number of instances, and create each round
once. Each round's timeline is due work with deterministic keys, fired once by the
runner:

    announce      start of the Nth working day before the window opens (N =
                  plan.notice_working_days: 15 for semiannual per 003 §2.4, 3 for monthly)
    remind:start  the first working moment of the window, to the engineer
    remind:due    start of the Mth working day before the due date (M by cadence), unless
                  that is not later than the start reminder
    overdue       at due_at when not completed: engineer and managers, once
    report        at report_due_at: the report must have reached a manager by then

Windows (a choice, documented here because the seeds give only "twice a year"):

- monthly "2026-03": opens on the 1st at 00:00 site time, due on the plan's due day
  (default the 10th) at 18:00 site time.
- semiannual "2026-H1" / "2026-H2": the **last two months of the half**, 1 May - 30 June
  and 1 November - 31 December, due on the last day at 18:00 site time. Sweeping a whole
  site takes weeks, but staff are owed a concrete window 15 working days ahead (003 §2.4),
  not "some time this half-year"; two months leave room for the May and October holidays
  that fall just before and for second attempts at devices skipped the first time.

Working days are counted in the policy's "5x8" calendar in the site's time zone (China's
holidays and adjusted working weekends), as for spare-device loans: the contracts' 工作日
are official working days even at a site whose hotline runs 7x8.

The walk: the engineer checks every device of the plan's kinds at the site, in location
order; each device is saved as one `InspectionItem` as soon as it is done, so a walk
survives restarts. A fault opens a ticket through `TicketService.report_fault` on behalf
of the engineer and is linked to the item. Completing the round sends the inspection
report to the site's managers.
"""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox, scheduling
from core.enums import (
    DESKTOP_KINDS,
    MEETING_ROOM_KINDS,
    AssetKind,
    Impact,
    OutboxStatus,
    Role,
)
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.messages import (
    ConsumableDue,
    ConsumableReplaced,
    InspectionAnnounced,
    InspectionOverdue,
    InspectionReminder,
    InspectionReport,
    InspectionReportOverdue,
    RoundTicket,
    SkippedDevice,
)
from core.models import (
    Asset,
    DueWork,
    Inspection,
    InspectionItem,
    InspectionPlan,
    OutboxMessage,
    Person,
    Site,
    Ticket,
)
from core.people import get_person, least_loaded_engineer, people_with_role
from core.reminders import working_days_before, working_days_calendar
from core.sla.calendar import BusinessCalendar
from core.tickets import MAX_NOTE, TicketService
from core.unit_of_work import Core, Tx

# --- vocabulary ------------------------------------------------------------------------------

SEMIANNUAL: Final = "semiannual"
MONTHLY: Final = "monthly"
CADENCES: Final = (SEMIANNUAL, MONTHLY)

PLANNED: Final = "planned"
IN_PROGRESS: Final = "in_progress"
COMPLETED: Final = "completed"

OUTCOME_OK: Final = "ok"
OUTCOME_FAULT: Final = "fault"
OUTCOME_SKIPPED: Final = "skipped"

# Due-work kinds (registered in core.services).
ANNOUNCE: Final = "inspection.announce"
REMIND: Final = "inspection.remind"
OVERDUE: Final = "inspection.overdue"
REPORT_DUE: Final = "inspection.report_due"

DEFAULT_DUE_DAY: Final = 10  # 004: "每月巡检在当月10日前完成"
DUE_TIME: Final = time(18, 0)  # the end of the 5x8 working day, site time
SEMIANNUAL_WINDOW_MONTHS: Final = 2
MONTHLY_NOTICE_WORKING_DAYS: Final = 3
# The second reminder, this many working days before the due date.
REMIND_WORKING_DAYS: Final = {SEMIANNUAL: 5, MONTHLY: 2}
DEFAULT_KINDS: Final = {
    SEMIANNUAL: tuple(sorted(DESKTOP_KINDS)),
    MONTHLY: tuple(sorted(MEETING_ROOM_KINDS)),
}
MAX_NUMBER: Final = 100_000


class Answer(StrEnum):
    """What an engineer can answer to one checklist item."""

    OK = "ok"
    FAULT = "fault"
    REPLACED = "replaced"  # a consumable was replaced during the inspection
    LOW = "low"  # a consumable needs replacing soon


class CheckKind(StrEnum):
    """How a checklist item is answered."""

    CHECK = "check"  # OK / Fault
    CONSUMABLE = "consumable"  # a consumable's state, recorded (004)
    NUMBER = "number"  # a reading such as lamp hours, recorded and compared with a limit


@dataclass(frozen=True)
class CheckItem:
    """One line of a device checklist; the chat layer names it by `code`."""

    code: str
    kind: CheckKind = CheckKind.CHECK
    answers: tuple[Answer, ...] = (Answer.OK, Answer.FAULT)
    limit: float | None = None  # NUMBER: over this, the consumable needs replacing

    @property
    def consumable(self) -> bool:
        """Recorded in the item's consumables (004: lamp, batteries, toner)."""
        return self.kind is not CheckKind.CHECK


def _check(code: str) -> CheckItem:
    return CheckItem(code)


def _consumable(code: str, *answers: Answer) -> CheckItem:
    return CheckItem(code, CheckKind.CONSUMABLE, answers)


# A projector lamp lasts roughly 2000-3000 hours; past 2000 it is due for replacement.
LAMP_HOURS_LIMIT: Final = 2000.0

_DESKTOP = tuple(
    _check(code)
    for code in ("boots", "os_patched", "antivirus", "disk_health", "dust_cleaned", "peripherals")
)
CHECKLISTS: Final[Mapping[AssetKind, tuple[CheckItem, ...]]] = {
    # 002 工作内容: system optimisation, junk cleared, software updated, dust removed.
    AssetKind.PC: _DESKTOP,
    AssetKind.LAPTOP: (*_DESKTOP, _check("battery")),
    AssetKind.PRINTER: (
        _check("print_test"),
        _consumable("toner", Answer.OK, Answer.LOW, Answer.REPLACED),
        _check("paper_feed"),
        _check("dust_cleaned"),
    ),
    AssetKind.SCANNER: (_check("scan_test"), _check("glass_clean"), _check("feeder")),
    # 004: projector lamp and remote-control batteries are recorded.
    AssetKind.PROJECTOR: (
        _check("image"),
        CheckItem("lamp_hours", CheckKind.NUMBER, (), LAMP_HOURS_LIMIT),
        _check("filter_clean"),
        _consumable("remote_batteries", Answer.OK, Answer.REPLACED, Answer.FAULT),
    ),
    AssetKind.TV: (
        _check("picture"),
        _check("inputs"),
        _consumable("remote_batteries", Answer.OK, Answer.REPLACED, Answer.FAULT),
    ),
    AssetKind.MICROPHONE: (
        _check("sound_clear"),
        _consumable("batteries", Answer.OK, Answer.REPLACED, Answer.FAULT),
        _check("cables"),
    ),
    AssetKind.CONFERENCE_TERMINAL: (_check("test_call"), _check("camera"), _check("audio")),
    AssetKind.AMPLIFIER: (_check("output"), _check("no_noise"), _check("ventilation")),
    AssetKind.CENTRAL_CONTROL: (_check("panel"), _check("presets"), _check("device_control")),
    AssetKind.OTHER: (_check("works"),),
}


def checklist(kind: AssetKind) -> tuple[CheckItem, ...]:
    """The checklist for a kind of device."""
    return CHECKLISTS.get(kind, CHECKLISTS[AssetKind.OTHER])


def validate_answers(
    kind: AssetKind, answers: Mapping[str, object]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check a device's answers against its checklist; (answers, consumables) to store."""
    items = checklist(kind)
    known = {item.code for item in items}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise InvalidInput("inspection.unknown_item", item=unknown[0])
    clean: dict[str, Any] = {}
    consumables: dict[str, Any] = {}
    for item in items:
        if item.code not in answers:
            raise InvalidInput("inspection.missing_answer", item=item.code)
        value = answers[item.code]
        if item.kind is CheckKind.NUMBER:
            number = parse_reading(value)
            clean[item.code] = number
            consumables[item.code] = number
            continue
        if value not in {answer.value for answer in item.answers}:
            raise InvalidInput("inspection.bad_answer", item=item.code)
        clean[item.code] = str(value)
        if item.consumable:
            consumables[item.code] = str(value)
    return clean, consumables


def parse_reading(value: object) -> int | float:
    """A counter reading such as lamp hours: a number from 0 to 100000."""
    if isinstance(value, bool):
        raise InvalidInput("inspection.bad_number", text=str(value))
    if isinstance(value, int | float):
        number: float = float(value)
    else:
        text = str(value).strip().replace(",", "").replace(" ", "")
        try:
            number = float(text)
        except ValueError as error:
            raise InvalidInput("inspection.bad_number", text=str(value)[:20]) from error
    if number != number or not 0 <= number <= MAX_NUMBER:  # NaN or out of range
        raise InvalidInput("inspection.bad_number", text=str(value)[:20])
    return int(number) if number.is_integer() else round(number, 1)


def outcome_of(answers: Mapping[str, Any]) -> str:
    """A device with any item at fault is a fault; else OK."""
    return OUTCOME_FAULT if Answer.FAULT.value in answers.values() else OUTCOME_OK


def consumables_due(
    kind: AssetKind, consumables: Mapping[str, Any]
) -> list[tuple[str, Any, float | None]]:
    """(item, value, limit) of the consumables that need replacing: over the limit, or low."""
    due: list[tuple[str, Any, float | None]] = []
    for item in checklist(kind):
        if item.code not in consumables:
            continue
        value = consumables[item.code]
        if item.kind is CheckKind.NUMBER and item.limit is not None:
            if isinstance(value, int | float) and value > item.limit:
                due.append((item.code, value, item.limit))
        elif value == Answer.LOW.value:
            due.append((item.code, value, None))
    return due


# --- periods and windows (pure) ---------------------------------------------------------------


def period_of(cadence: str, day: date) -> str:
    """The period a local date falls in: '2026-03' or '2026-H1'."""
    if cadence == MONTHLY:
        return f"{day.year:04d}-{day.month:02d}"
    if cadence == SEMIANNUAL:
        return f"{day.year:04d}-H{1 if day.month <= 6 else 2}"
    raise InvalidInput("inspection.bad_cadence", cadence=cadence)


def _parse_period(cadence: str, period: str) -> tuple[int, int]:
    """(year, month or half) of a period key."""
    try:
        year_text, part = period.split("-")
        year = int(year_text)
        if cadence == MONTHLY:
            number = int(part)
            valid = 1 <= number <= 12
        elif cadence == SEMIANNUAL:
            number = int(part[1:]) if part.startswith("H") else 0
            valid = number in (1, 2)
        else:
            raise InvalidInput("inspection.bad_cadence", cadence=cadence)
    except ValueError as error:
        raise InvalidInput("inspection.bad_period", period=period) from error
    if not valid:
        raise InvalidInput("inspection.bad_period", period=period)
    return year, number


def next_period(cadence: str, period: str) -> str:
    """The period after `period`."""
    year, number = _parse_period(cadence, period)
    if cadence == MONTHLY:
        return f"{year + number // 12:04d}-{number % 12 + 1:02d}"
    return f"{year:04d}-H2" if number == 1 else f"{year + 1:04d}-H1"


def round_window(
    cadence: str, period: str, tz: tzinfo, *, due_day: int | None = None
) -> tuple[datetime, datetime]:
    """(window opens, due) of a period, aware, in the site's zone `tz`."""
    year, number = _parse_period(cadence, period)
    if cadence == MONTHLY:
        last = month_calendar.monthrange(year, number)[1]
        day = min(max(due_day or DEFAULT_DUE_DAY, 1), last)
        opens = datetime(year, number, 1, tzinfo=tz)
        due = datetime.combine(date(year, number, day), DUE_TIME, tzinfo=tz)
        return opens, due
    last_month = 6 * number
    first_month = last_month - SEMIANNUAL_WINDOW_MONTHS + 1
    opens = datetime(year, first_month, 1, tzinfo=tz)
    last_day = month_calendar.monthrange(year, last_month)[1]
    due = datetime.combine(date(year, last_month, last_day), DUE_TIME, tzinfo=tz)
    return opens, due


@dataclass(frozen=True)
class RoundSchedule:
    """When a round's window opens and closes, and when it is announced and reminded."""

    period: str
    starts_on: datetime
    due_at: datetime
    announce_at: datetime
    start_reminder_at: datetime
    due_reminder_at: datetime | None  # None: too close to the start reminder to be useful


def round_schedule(
    cadence: str,
    period: str,
    cal: BusinessCalendar,
    *,
    due_day: int | None,
    notice_working_days: int,
    remind_working_days: int,
) -> RoundSchedule:
    """The timeline of one round, in UTC."""
    opens, due = round_window(cadence, period, cal.tz, due_day=due_day)
    start_reminder = cal.next_working_moment(opens)
    due_reminder: datetime | None = working_days_before(cal, due, remind_working_days)
    if due_reminder is not None and due_reminder <= start_reminder:
        due_reminder = None
    return RoundSchedule(
        period=period,
        starts_on=opens.astimezone(UTC),
        due_at=due.astimezone(UTC),
        announce_at=working_days_before(cal, opens, notice_working_days),
        start_reminder_at=start_reminder,
        due_reminder_at=due_reminder,
    )


def working_calendar(tx: Tx, site: Site) -> BusinessCalendar:
    """The calendar working days are counted in at a site (see the module docstring)."""
    return working_days_calendar(tx, site.timezone, site.service_hours)


# --- views -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceView:
    """A device on a round's walk."""

    asset_id: int
    tag: str
    kind: AssetKind
    location: str
    brand_model: str


@dataclass(frozen=True)
class ItemView:
    """A device's saved result."""

    asset_id: int
    outcome: str
    answers: dict[str, Any]
    consumables: dict[str, Any]
    note: str
    ticket_id: int | None
    checked_at: datetime


@dataclass(frozen=True)
class RoundView:
    """One round with its devices (in walking order) and what is saved so far."""

    id: int
    plan_code: str
    plan_name: str
    cadence: str
    period: str
    site_id: int
    site_name: str
    timezone: str
    engineer_id: int | None
    engineer_name: str | None
    starts_on: datetime
    due_at: datetime
    status: str
    started_at: datetime | None
    completed_at: datetime | None
    report_due_at: datetime | None
    reported_at: datetime | None
    devices: tuple[DeviceView, ...] = ()
    items: dict[int, ItemView] = field(default_factory=dict)

    def next_device(self) -> DeviceView | None:
        """The first device in walking order not saved yet."""
        return next((d for d in self.devices if d.asset_id not in self.items), None)

    def position(self, asset_id: int) -> int:
        """1-based place of a device on the walk."""
        return next(i for i, d in enumerate(self.devices, 1) if d.asset_id == asset_id)

    def device(self, asset_id: int) -> DeviceView | None:
        """A device of this round."""
        return next((d for d in self.devices if d.asset_id == asset_id), None)

    @property
    def remaining(self) -> int:
        """Devices not saved yet."""
        return sum(1 for d in self.devices if d.asset_id not in self.items)

    def count(self, outcome: str) -> int:
        """Saved devices with this outcome."""
        return sum(1 for item in self.items.values() if item.outcome == outcome)


@dataclass(frozen=True)
class PlanningResult:
    """What one planner run did."""

    created: tuple[tuple[str, str], ...] = ()  # (plan code, period)


async def _round_view(session: AsyncSession, inspection: Inspection) -> RoundView:
    """A round with its plan, site, engineer, devices and items."""
    plan = await session.get(InspectionPlan, inspection.plan_id)
    site = await session.get(Site, inspection.site_id)
    assert plan is not None and site is not None  # foreign keys
    engineer = await session.get(Person, inspection.engineer_id) if inspection.engineer_id else None
    items = {
        item.asset_id: ItemView(
            asset_id=item.asset_id,
            outcome=item.outcome,
            answers=dict(item.answers),
            consumables=dict(item.consumables),
            note=item.note,
            ticket_id=item.ticket_id,
            checked_at=item.checked_at,
        )
        for item in await session.scalars(
            select(InspectionItem).where(InspectionItem.inspection_id == inspection.id)
        )
    }
    kinds = [AssetKind(kind) for kind in plan.asset_kinds] or list(DEFAULT_KINDS[plan.cadence])
    # The register may change during a round: the walk is today's active devices of the
    # plan's kinds, plus any device already saved in this round.
    condition = Asset.site_id == site.id
    in_scope = Asset.active.is_(True) & Asset.kind.in_(kinds)
    query = select(Asset).where(
        condition, or_(in_scope, Asset.id.in_(list(items))) if items else in_scope
    )
    assets = await session.scalars(query.order_by(Asset.location, Asset.tag))
    devices = tuple(
        DeviceView(
            asset_id=asset.id,
            tag=asset.tag,
            kind=asset.kind,
            location=asset.location,
            brand_model=f"{asset.brand} {asset.model}".strip(),
        )
        for asset in assets
    )
    return RoundView(
        id=inspection.id,
        plan_code=plan.code,
        plan_name=plan.name,
        cadence=plan.cadence,
        period=inspection.period,
        site_id=site.id,
        site_name=site.name,
        timezone=site.timezone,
        engineer_id=inspection.engineer_id,
        engineer_name=engineer.name if engineer else None,
        starts_on=inspection.starts_on,
        due_at=inspection.due_at,
        status=inspection.status,
        started_at=inspection.started_at,
        completed_at=inspection.completed_at,
        report_due_at=inspection.report_due_at,
        reported_at=inspection.reported_at,
        devices=devices,
        items=items,
    )


def round_facts(view: RoundView) -> dict[str, Any]:
    """The fields every `RoundMessage` about this round carries."""
    return {
        "inspection_id": view.id,
        "plan": view.plan_name,
        "cadence": view.cadence,
        "period": view.period,
        "site": view.site_name,
        "engineer": view.engineer_name,
        "starts_on": view.starts_on,
        "due_at": view.due_at,
        "devices": len(view.devices),
        "checked": len(view.items),
        "tz": view.timezone,
    }


def report_facts(view: RoundView) -> dict[str, Any]:
    """The report's figures (counts, consumables, tickets, skipped devices), with the round's."""
    due: list[ConsumableDue] = []
    replaced: list[ConsumableReplaced] = []
    tickets: list[RoundTicket] = []
    skipped: list[SkippedDevice] = []
    for device in view.devices:
        item = view.items.get(device.asset_id)
        if item is None:
            continue
        where: dict[str, Any] = {
            "tag": device.tag,
            "kind": device.kind,
            "location": device.location,
        }
        for code, value, limit in consumables_due(device.kind, item.consumables):
            due.append(ConsumableDue(**where, item=code, value=value, limit=limit))
        for code, value in item.consumables.items():
            if value == Answer.REPLACED.value:
                replaced.append(ConsumableReplaced(**where, item=code))
        if item.ticket_id is not None:
            tickets.append(RoundTicket(**where, ticket_id=item.ticket_id))
        if item.outcome == OUTCOME_SKIPPED:
            skipped.append(SkippedDevice(**where, reason=item.note[:200]))
    completed = view.completed_at
    return {
        **round_facts(view),
        "ok": view.count(OUTCOME_OK),
        "fault": view.count(OUTCOME_FAULT),
        "skipped": view.count(OUTCOME_SKIPPED),
        "consumables_due": tuple(due),
        "consumables_replaced": tuple(replaced),
        "tickets": tuple(tickets),
        "skipped_devices": tuple(skipped),
        "completed_at": completed,
        "on_time": completed is not None and completed <= view.due_at,
        "report_due_at": view.report_due_at,
    }


# --- the service ------------------------------------------------------------------------------


async def _lock_round(tx: Tx, inspection_id: int) -> Inspection:
    inspection = await tx.session.get(Inspection, inspection_id, with_for_update=True)
    if inspection is None:
        raise NotFound(entity="inspection", id=inspection_id)
    return inspection


def _may_inspect(actor: Person, inspection: Inspection) -> None:
    """Engineers of the round's site (or roaming ones) and admins walk a round."""
    if not actor.active:
        raise PermissionDenied(action="inspect")
    if actor.role is Role.ADMIN:
        return
    if actor.role is Role.ENGINEER and actor.site_id in (None, inspection.site_id):
        return
    raise PermissionDenied(action="inspect")


async def responsible_engineer(tx: Tx, inspection: Inspection) -> Person | None:
    """The round's engineer; their backup (备份工程师) when away; else the least loaded."""
    if inspection.engineer_id is not None:
        engineer = await tx.session.get(Person, inspection.engineer_id)
        if engineer is not None and engineer.active:
            return engineer
        if engineer is not None and engineer.backup_id is not None:
            backup = await tx.session.get(Person, engineer.backup_id)
            if backup is not None and backup.active:
                return backup
    return await least_loaded_engineer(tx, inspection.site_id)


def _key(inspection_id: int, step: str) -> str:
    return f"insp:{inspection_id}:{step}"


class InspectionService:
    """Plans, the daily planner, the checklist walk and the report."""

    def __init__(self, core: Core, tickets: TicketService) -> None:
        self.core = core
        self.tickets = tickets

    # --- plans --------------------------------------------------------------------------

    async def create_plan(
        self,
        *,
        code: str,
        name: str,
        cadence: str,
        site_id: int,
        engineer_id: int | None = None,
        asset_kinds: Sequence[AssetKind] | None = None,
        due_day: int | None = None,
        notice_working_days: int | None = None,
        report_working_days: int = 3,
        actor_id: int | None = None,
    ) -> InspectionPlan:
        """Add a plan (admin, CLI, seed); its current and next rounds are planned at once."""
        if cadence not in CADENCES:
            raise InvalidInput("inspection.bad_cadence", cadence=cadence)
        if due_day is not None and not 1 <= due_day <= 28:
            raise InvalidInput("inspection.bad_due_day", due_day=due_day)
        if notice_working_days is None:
            notice_working_days = (
                self.core.policy.inspection_notice_working_days
                if cadence == SEMIANNUAL
                else MONTHLY_NOTICE_WORKING_DAYS
            )
        if notice_working_days < 1 or report_working_days < 1:
            raise InvalidInput("inspection.bad_working_days")
        kinds = [AssetKind(kind).value for kind in (asset_kinds or DEFAULT_KINDS[cadence])]
        async with self.core.transaction(actor_id) as tx:
            if await _plan_by_code(tx.session, code) is not None:
                raise Conflict("inspection.duplicate_plan", plan=code)
            site = await tx.session.get(Site, site_id)
            if site is None:
                raise NotFound(entity="site", id=site_id)
            if engineer_id is not None:
                engineer = await get_person(tx, engineer_id)
                if engineer.role is not Role.ENGINEER:
                    raise InvalidInput("assign.not_an_engineer", person_id=engineer_id)
            plan = InspectionPlan(
                code=code,
                name=name,
                cadence=cadence,
                due_day=(due_day or DEFAULT_DUE_DAY) if cadence == MONTHLY else None,
                site_id=site_id,
                engineer_id=engineer_id,
                asset_kinds=kinds,
                notice_working_days=notice_working_days,
                report_working_days=report_working_days,
                active=True,
                created_at=tx.now,
            )
            tx.session.add(plan)
            await tx.session.flush()
            await tx.audit(
                "inspection_plan",
                plan.id,
                "inspection_plan.created",
                code=code,
                cadence=cadence,
                site_id=site_id,
                asset_kinds=kinds,
            )
            await self._ensure_rounds(tx, plan, tx.now)
            return plan

    async def plan(self, code: str) -> InspectionPlan | None:
        """The plan with this code, whatever its case."""
        async with self.core.reading() as session:
            return await _plan_by_code(session, code)

    async def update_plan(
        self,
        code: str,
        *,
        name: str,
        engineer_id: int | None,
        asset_kinds: Sequence[AssetKind],
        actor_id: int | None = None,
    ) -> InspectionPlan:
        """Rename a plan, change its engineer or the kinds it checks.

        Its cadence, site and due day stay: rounds are planned from them. Rounds already
        planned keep their engineer; the kinds apply to devices not yet checked.
        """
        async with self.core.transaction(actor_id) as tx:
            plan = await _plan_by_code(tx.session, code)
            if plan is None:
                raise NotFound("inspection.unknown_plan", plan=code)
            if engineer_id is not None:
                engineer = await get_person(tx, engineer_id)
                if engineer.role is not Role.ENGINEER:
                    raise InvalidInput("assign.not_an_engineer", person_id=engineer_id)
            kinds = [AssetKind(kind).value for kind in asset_kinds]
            plan.name, plan.engineer_id, plan.asset_kinds = name, engineer_id, kinds
            await tx.audit(
                "inspection_plan",
                plan.id,
                "inspection_plan.edited",
                name=name,
                engineer_id=engineer_id,
                asset_kinds=kinds,
            )
            return plan

    async def plan_rounds(self, now: datetime | None = None) -> PlanningResult:
        """The daily planner: make sure every active plan has its current and next round.

        Idempotent: a round is unique per (plan, period) and created with ON CONFLICT DO
        NOTHING, and its due work only when it is created, so repeated or concurrent runs
        (several instances, a start-up catch-up next to the 07:30 run) create each once.
        """
        async with self.core.transaction() as tx:
            moment = now or tx.now
            created: list[tuple[str, str]] = []
            plans = await tx.session.scalars(
                select(InspectionPlan)
                .where(InspectionPlan.active.is_(True))
                .order_by(InspectionPlan.id)
            )
            for plan in plans.all():
                created.extend(await self._ensure_rounds(tx, plan, moment))
            return PlanningResult(tuple(created))

    async def _ensure_rounds(
        self, tx: Tx, plan: InspectionPlan, moment: datetime
    ) -> list[tuple[str, str]]:
        """Create the plan's current and next rounds if missing; their due work with them."""
        site = await tx.session.get(Site, plan.site_id)
        assert site is not None  # foreign key
        cal = working_calendar(tx, site)
        current = period_of(plan.cadence, moment.astimezone(cal.tz).date())
        created = []
        for period in (current, next_period(plan.cadence, current)):
            timeline = round_schedule(
                plan.cadence,
                period,
                cal,
                due_day=plan.due_day,
                notice_working_days=plan.notice_working_days,
                remind_working_days=REMIND_WORKING_DAYS[plan.cadence],
            )
            if timeline.due_at <= plan.created_at:
                continue  # a plan owes no round that was due before it existed
            inspection_id = await self._insert_round(tx, plan, timeline)
            if inspection_id is None:
                continue
            created.append((plan.code, period))
            await tx.audit(
                "inspection",
                inspection_id,
                "inspection.planned",
                plan=plan.code,
                period=period,
                starts_on=timeline.starts_on.isoformat(),
                due_at=timeline.due_at.isoformat(),
                announce_at=timeline.announce_at.isoformat(),
            )
            await self._schedule_round(tx, inspection_id, timeline)
        return created

    async def _insert_round(
        self, tx: Tx, plan: InspectionPlan, timeline: RoundSchedule
    ) -> int | None:
        """Insert a round unless its (plan, period) exists; its id when created."""
        engineer_id = plan.engineer_id
        if engineer_id is None:
            engineer = await least_loaded_engineer(tx, plan.site_id)
            engineer_id = engineer.id if engineer else None
        insert = pg_insert if tx.dialect == "postgresql" else sqlite_insert
        statement = (
            insert(Inspection)
            .values(
                plan_id=plan.id,
                period=timeline.period,
                site_id=plan.site_id,
                engineer_id=engineer_id,
                starts_on=timeline.starts_on,
                due_at=timeline.due_at,
                status=PLANNED,
            )
            .on_conflict_do_nothing(index_elements=["plan_id", "period"])
            .returning(Inspection.id)
        )
        inserted: int | None = (await tx.session.execute(statement)).scalar_one_or_none()
        return inserted

    async def _schedule_round(self, tx: Tx, inspection_id: int, timeline: RoundSchedule) -> None:
        """The round's announcement, reminders and overdue check, keyed by round and step."""
        steps: list[tuple[str, str, datetime, dict[str, Any]]] = [
            ("announce", ANNOUNCE, timeline.announce_at, {}),
            ("remind:start", REMIND, timeline.start_reminder_at, {"which": "start"}),
            ("overdue", OVERDUE, timeline.due_at, {}),
        ]
        due_reminder = timeline.due_reminder_at
        # Planned late (a plan made mid-window): the start reminder goes out now; a
        # second one at the same moment would only repeat it.
        if due_reminder is not None and due_reminder > max(timeline.start_reminder_at, tx.now):
            steps.append(("remind:due", REMIND, due_reminder, {"which": "due"}))
        for step, kind, due_at, payload in steps:
            await scheduling.schedule(
                tx,
                key=_key(inspection_id, step),
                kind=kind,
                due_at=due_at,
                payload={"inspection_id": inspection_id, **payload},
            )

    # --- reads --------------------------------------------------------------------------

    async def round(self, inspection_id: int) -> RoundView:
        """One round with its devices and saved items."""
        async with self.core.reading() as session:
            inspection = await session.get(Inspection, inspection_id)
            if inspection is None:
                raise NotFound(entity="inspection", id=inspection_id)
            return await _round_view(session, inspection)

    async def open_rounds_for(self, person_id: int) -> list[RoundView]:
        """Rounds a person may walk now: open windows at their site, nearest due first."""
        async with self.core.reading() as session:
            person = await session.get(Person, person_id)
            if person is None:
                raise NotFound(entity="person", id=person_id)
            query = select(Inspection).where(
                Inspection.status != COMPLETED, Inspection.starts_on <= self.core.clock.now()
            )
            if person.site_id is not None:
                query = query.where(Inspection.site_id == person.site_id)
            rounds = await session.scalars(query.order_by(Inspection.due_at, Inspection.id))
            return [await _round_view(session, inspection) for inspection in rounds.all()]

    async def rounds(self, *, site_id: int | None = None) -> list[RoundView]:
        """Every round (of a site), by due date: for reports and the admin."""
        async with self.core.reading() as session:
            query = select(Inspection)
            if site_id is not None:
                query = query.where(Inspection.site_id == site_id)
            rounds = await session.scalars(query.order_by(Inspection.due_at, Inspection.id))
            return [await _round_view(session, inspection) for inspection in rounds.all()]

    # --- the walk -----------------------------------------------------------------------

    async def start(self, inspection_id: int, *, actor_id: int) -> RoundView:
        """An engineer starts (or resumes) walking a round whose window is open."""
        async with self.core.transaction(actor_id) as tx:
            inspection = await _lock_round(tx, inspection_id)
            _may_inspect(await get_person(tx, actor_id), inspection)
            if inspection.status == COMPLETED:
                raise Conflict("inspection.already_completed", inspection_id=inspection_id)
            if tx.now < inspection.starts_on:
                raise Conflict(
                    "inspection.not_open",
                    inspection_id=inspection_id,
                    starts_on=inspection.starts_on.isoformat(),
                )
            if inspection.status == PLANNED:
                inspection.status = IN_PROGRESS
                inspection.started_at = tx.now
                await tx.audit("inspection", inspection.id, "inspection.started")
            return await _round_view(tx.session, inspection)

    async def record_device(
        self,
        inspection_id: int,
        asset_id: int,
        *,
        actor_id: int,
        answers: Mapping[str, object] | None = None,
        note: str = "",
        skip_reason: str | None = None,
        impact: Impact | None = None,
        symptom: str = "",
    ) -> ItemView:
        """Save one device: checked (OK or fault) or skipped with a reason.

        A fault opens a ticket of the chosen impact, reported by the engineer, and links
        it to the item. The item is saved first and the ticket linked after, each its
        own transaction; a retry after a crash in between finds the ticket opened for
        this device since the item was saved and links it instead of opening another.
        Saving a device already saved returns what is stored.
        """
        note = note.strip()
        if len(note) > MAX_NOTE:
            raise InvalidInput("text.too_long", limit=MAX_NOTE)
        async with self.core.transaction(actor_id) as tx:
            inspection = await _lock_round(tx, inspection_id)
            _may_inspect(await get_person(tx, actor_id), inspection)
            existing = await tx.session.scalar(
                select(InspectionItem).where(
                    InspectionItem.inspection_id == inspection_id,
                    InspectionItem.asset_id == asset_id,
                )
            )
            if existing is None:
                if inspection.status == COMPLETED:
                    raise Conflict("inspection.already_completed", inspection_id=inspection_id)
                view = await _round_view(tx.session, inspection)
                device = view.device(asset_id)
                if device is None:
                    raise InvalidInput("inspection.not_in_round", asset_id=asset_id)
                item = self._new_item(
                    tx, inspection, device, actor_id, answers, note, skip_reason, impact, symptom
                )
                tx.session.add(item)
                await tx.session.flush()
                if inspection.status == PLANNED:
                    inspection.status = IN_PROGRESS
                    inspection.started_at = tx.now
                await tx.audit(
                    "inspection",
                    inspection.id,
                    "inspection.device_checked",
                    asset_id=asset_id,
                    tag=device.tag,
                    outcome=item.outcome,
                    answers=item.answers,
                    consumables=item.consumables,
                    note=item.note,
                )
            else:
                item = existing
            item_id, outcome, tag = item.id, item.outcome, await self._tag(tx, asset_id)
            needs_ticket = outcome == OUTCOME_FAULT and item.ticket_id is None
            checked_at, checked_by = item.checked_at, item.checked_by_id
        if needs_ticket:
            await self._open_ticket(
                item_id, asset_id, tag, checked_at, checked_by or actor_id, impact, symptom
            )
        async with self.core.reading() as session:
            stored = await session.get(InspectionItem, item_id)
            assert stored is not None
            return ItemView(
                asset_id=stored.asset_id,
                outcome=stored.outcome,
                answers=dict(stored.answers),
                consumables=dict(stored.consumables),
                note=stored.note,
                ticket_id=stored.ticket_id,
                checked_at=stored.checked_at,
            )

    @staticmethod
    def _new_item(
        tx: Tx,
        inspection: Inspection,
        device: DeviceView,
        actor_id: int,
        answers: Mapping[str, object] | None,
        note: str,
        skip_reason: str | None,
        impact: Impact | None,
        symptom: str,
    ) -> InspectionItem:
        """Validate a device's result and build its row."""
        if skip_reason is not None:
            reason = skip_reason.strip()
            if not reason:
                raise InvalidInput("inspection.skip_reason_required")
            if len(reason) > MAX_NOTE:
                raise InvalidInput("text.too_long", limit=MAX_NOTE)
            clean: dict[str, Any] = {}
            consumables: dict[str, Any] = {}
            outcome = OUTCOME_SKIPPED
            note = reason
        else:
            clean, consumables = validate_answers(device.kind, answers or {})
            outcome = outcome_of(clean)
            if outcome == OUTCOME_FAULT:
                if impact is None:
                    raise InvalidInput("inspection.impact_required")
                if not symptom.strip():
                    raise InvalidInput("report.symptom_required")
        return InspectionItem(
            inspection_id=inspection.id,
            asset_id=device.asset_id,
            outcome=outcome,
            answers=clean,
            consumables=consumables,
            note=note,
            checked_at=tx.now,
            checked_by_id=actor_id,
        )

    @staticmethod
    async def _tag(tx: Tx, asset_id: int) -> str:
        tag = await tx.session.scalar(select(Asset.tag).where(Asset.id == asset_id))
        if tag is None:
            raise NotFound(entity="asset", id=asset_id)
        return tag

    async def _open_ticket(
        self,
        item_id: int,
        asset_id: int,
        tag: str,
        checked_at: datetime,
        reporter_id: int,
        impact: Impact | None,
        symptom: str,
    ) -> None:
        """Open (or find, after a crash) the ticket of a faulty device and link it."""
        async with self.core.reading() as session:
            ticket_id = await session.scalar(
                select(Ticket.id)
                .where(
                    Ticket.asset_id == asset_id,
                    Ticket.reporter_id == reporter_id,
                    Ticket.reported_at >= checked_at,
                )
                .order_by(Ticket.id)
                .limit(1)
            )
        if ticket_id is None:
            if impact is None or not symptom.strip():
                return  # a bare retry without the fault's details: the next full save links it
            ticket = await self.tickets.report_fault(
                reporter_id, symptom=symptom, impact=impact, asset_tag=tag
            )
            ticket_id = ticket.id
        async with self.core.transaction(reporter_id) as tx:
            item = await tx.session.get(InspectionItem, item_id, with_for_update=True)
            assert item is not None
            if item.ticket_id is None:
                item.ticket_id = ticket_id
                await tx.audit(
                    "inspection",
                    item.inspection_id,
                    "inspection.fault_reported",
                    asset_id=asset_id,
                    ticket_id=ticket_id,
                )

    async def complete(self, inspection_id: int, *, actor_id: int) -> RoundView:
        """Close the walk (every device saved) and send the report to the site's managers.

        The report is due `plan.report_working_days` working days after completion (003);
        a report that has reached no manager by then is escalated.
        """
        async with self.core.transaction(actor_id) as tx:
            inspection = await _lock_round(tx, inspection_id)
            _may_inspect(await get_person(tx, actor_id), inspection)
            if inspection.status == COMPLETED:
                raise Conflict("inspection.already_completed", inspection_id=inspection_id)
            view = await _round_view(tx.session, inspection)
            if view.remaining:
                raise Conflict(
                    "inspection.incomplete", inspection_id=inspection_id, remaining=view.remaining
                )
            plan = await tx.session.get(InspectionPlan, inspection.plan_id)
            site = await tx.session.get(Site, inspection.site_id)
            assert plan is not None and site is not None
            inspection.status = COMPLETED
            inspection.completed_at = tx.now
            if inspection.started_at is None:
                inspection.started_at = tx.now
            inspection.report_due_at = working_calendar(tx, site).working_days_after(
                tx.now, plan.report_working_days
            )
            await scheduling.cancel_where(
                tx,
                DueWork.key.in_(
                    [
                        _key(inspection.id, step)
                        for step in ("remind:start", "remind:due", "overdue")
                    ]
                ),
            )
            view = await _round_view(tx.session, inspection)
            report = InspectionReport(**report_facts(view))
            event = await tx.audit(
                "inspection",
                inspection.id,
                "inspection.completed",
                ok=report.ok,
                fault=report.fault,
                skipped=report.skipped,
                on_time=report.on_time,
                report_due_at=report.report_due_at.isoformat() if report.report_due_at else None,
            )
            managers = await people_with_role(tx, Role.MANAGER, inspection.site_id)
            for manager in managers:
                await outbox.enqueue(
                    tx,
                    report,
                    key=f"ev{event.id}:{report.kind}:{manager.id}",
                    recipient_id=manager.id,
                )
            if managers:
                inspection.reported_at = tx.now
            await scheduling.schedule(
                tx,
                key=_key(inspection.id, "report"),
                kind=REPORT_DUE,
                due_at=inspection.report_due_at,
                payload={"inspection_id": inspection.id},
            )
            return await _round_view(tx.session, inspection)


# --- due-work handlers --------------------------------------------------------------------------


async def _inspection_of(tx: Tx, work: DueWork) -> Inspection | None:
    """The round a due-work row is about; None once its plan was switched off."""
    inspection_id = int(work.payload["inspection_id"])
    inspection = await tx.session.get(Inspection, inspection_id, with_for_update=True)
    if inspection is None:
        return None
    active = await tx.session.scalar(
        select(InspectionPlan.active).where(InspectionPlan.id == inspection.plan_id)
    )
    return inspection if active else None


async def fire_announce(tx: Tx, work: DueWork) -> None:
    """Tell the site's staff (and managers) the round's window, ahead (003 §2.4)."""
    inspection = await _inspection_of(tx, work)
    if inspection is None or inspection.status == COMPLETED or tx.now >= inspection.due_at:
        return
    if inspection.announced_at is None:
        inspection.announced_at = tx.now
    view = await _round_view(tx.session, inspection)
    announced = InspectionAnnounced(**round_facts(view))
    await tx.audit("inspection", inspection.id, "inspection.announced")
    recipients = [
        *await people_with_role(tx, Role.STAFF, inspection.site_id),
        *await people_with_role(tx, Role.MANAGER, inspection.site_id),
    ]
    for person in recipients:
        await outbox.enqueue(tx, announced, key=f"{work.key}:{person.id}", recipient_id=person.id)


async def fire_remind(tx: Tx, work: DueWork) -> None:
    """Remind the engineer: the window is open, or the due date is near."""
    inspection = await _inspection_of(tx, work)
    if inspection is None or inspection.status == COMPLETED:
        return
    engineer = await responsible_engineer(tx, inspection)
    if engineer is None:
        return
    view = await _round_view(tx.session, inspection)
    reminder = InspectionReminder(
        **round_facts(view), which=str(work.payload.get("which") or "start")
    )
    await outbox.enqueue(tx, reminder, key=f"{work.key}:{engineer.id}", recipient_id=engineer.id)


async def fire_overdue(tx: Tx, work: DueWork) -> None:
    """Not completed by the due time: the engineer and the managers are paged, once."""
    inspection = await _inspection_of(tx, work)
    if inspection is None or inspection.status == COMPLETED or inspection.escalated_at:
        return
    inspection.escalated_at = tx.now
    view = await _round_view(tx.session, inspection)
    engineer = await responsible_engineer(tx, inspection)
    overdue = InspectionOverdue(**round_facts(view), remaining=view.remaining)
    await tx.audit("inspection", inspection.id, "inspection.overdue", remaining=view.remaining)
    recipients = [
        *([engineer] if engineer else []),
        *await people_with_role(tx, Role.MANAGER, inspection.site_id),
    ]
    for person in recipients:
        await outbox.enqueue(tx, overdue, key=f"{work.key}:{person.id}", recipient_id=person.id)


async def fire_report_due(tx: Tx, work: DueWork) -> None:
    """The report must have reached a manager by its due date (003); else escalate to admins."""
    inspection = await _inspection_of(tx, work)
    if inspection is None or inspection.status != COMPLETED:
        return
    delivered = await tx.session.scalar(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.code == InspectionReport.kind,
            OutboxMessage.status == OutboxStatus.SENT,
            OutboxMessage.params["inspection_id"].as_integer() == inspection.id,
        )
        .limit(1)
    )
    if inspection.reported_at is not None and delivered is not None:
        return
    view = await _round_view(tx.session, inspection)
    await tx.audit("inspection", inspection.id, "inspection.report_overdue")
    engineer = await responsible_engineer(tx, inspection)
    recipients = [
        *([engineer] if engineer else []),
        *await people_with_role(tx, Role.ADMIN, inspection.site_id),
    ]
    overdue = InspectionReportOverdue(**report_facts(view))
    for person in recipients:
        await outbox.enqueue(tx, overdue, key=f"{work.key}:{person.id}", recipient_id=person.id)


HANDLERS: Final[Mapping[str, scheduling.Handler]] = {
    ANNOUNCE: fire_announce,
    REMIND: fire_remind,
    OVERDUE: fire_overdue,
    REPORT_DUE: fire_report_due,
}


async def _plan_by_code(session: AsyncSession, code: str) -> InspectionPlan | None:
    """The plan with this code, case ignored (compared in Python, alike on every backend)."""
    wanted = code.strip().casefold()
    plans = await session.scalars(select(InspectionPlan))
    return next((plan for plan in plans if plan.code.casefold() == wanted), None)
