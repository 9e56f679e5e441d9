"""The console's asset register: the devices a viewer may see, one device's history, and
the edits and sticker selections the viewer may make.

Reads are scoped like the board (a person with a home site sees that site only); edits
are for administrators and go through `AssetService.edit`, so the register's rules and
its audit are the command line's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.asset_register import DATE_FIELDS
from core.asset_tags import normalize_tag
from core.assets import EDITABLE, AssetService, AssetView, Change
from core.console import BOARD_ROLES, Viewer, _escape_like, _viewer
from core.enums import OPEN_STATUSES, AssetKind, Role, TicketStatus
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.models import (
    Asset,
    Inspection,
    InspectionItem,
    InspectionPlan,
    Person,
    Resolution,
    Site,
    Ticket,
)
from core.unit_of_work import Core

# Who may open the register (the board's people) and who may change it.
REGISTER_ROLES: Final = BOARD_ROLES
EDIT_ROLES: Final = frozenset({Role.ADMIN})
MAX_LISTED: Final = 500  # devices one list answer carries; the search narrows further
MAX_LABELS: Final = 1000  # stickers one PDF may carry


@dataclass(frozen=True)
class AssetRow:
    """One device as the register's list shows it."""

    tag: str
    kind: AssetKind
    site_id: int
    site_name: str
    location: str
    brand: str
    model: str
    user_name: str
    warranty_until: date | None
    active: bool
    repairs: int  # tickets ever raised on it (cancelled ones aside)
    repeats: int  # of which raised within 30 days of an earlier one
    open: int  # of which still open


@dataclass(frozen=True)
class AssetList:
    """The devices in a viewer's scope matching a search."""

    rows: tuple[AssetRow, ...]
    total: int  # matching devices, of which at most MAX_LISTED are in rows
    sites: tuple[tuple[int, str], ...]
    may_edit: bool


@dataclass(frozen=True)
class Repair:
    """One ticket raised on a device."""

    ticket_id: int
    reported_at: datetime
    symptom: str
    status: TicketStatus
    repeat_of_id: int | None  # the earlier ticket this one repeats (30-day window)
    result: str | None  # the service sheet's result, once resolved


@dataclass(frozen=True)
class InspectionEntry:
    """One inspection round's result for a device."""

    plan: str
    period: str
    outcome: str  # "ok" | "fault" | "skipped"
    note: str
    checked_at: datetime
    ticket_id: int | None


@dataclass(frozen=True)
class AssetDetail:
    """One device with its repair history, repeat flags, warranty and inspections."""

    view: AssetView
    site_id: int
    in_warranty: bool | None  # None: no warranty date registered
    repairs: tuple[Repair, ...]
    inspections: tuple[InspectionEntry, ...]
    may_edit: bool

    @property
    def repeats(self) -> int:
        """How many of its tickets came within 30 days of an earlier one."""
        return sum(1 for repair in self.repairs if repair.repeat_of_id is not None)


class AssetRegisterService:
    """The register as the console shows it, with the core's own role and scope checks."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.assets = AssetService(core)

    async def _reader(self, session: AsyncSession, viewer_id: int) -> Viewer:
        person = await session.get(Person, viewer_id)
        viewer = _viewer(person if person is not None and person.active else None)
        if viewer is None or viewer.role not in REGISTER_ROLES:
            raise PermissionDenied(action="web_assets")
        return viewer

    async def listing(
        self,
        viewer_id: int,
        *,
        search: str = "",
        site_id: int | None = None,
        kind: AssetKind | None = None,
        include_retired: bool = False,
    ) -> AssetList:
        """Devices in the viewer's scope by site and tag, narrowed by site, kind and text."""
        async with self.core.reading() as session:
            viewer = await self._reader(session, viewer_id)
            scope = viewer.site_id
            if scope is not None and site_id not in (None, scope):
                raise PermissionDenied(action="other_site")
            wanted_site = site_id if site_id is not None else scope
            counted = (
                select(
                    Ticket.asset_id,
                    func.count().label("repairs"),
                    func.sum(case((Ticket.repeat_of_id.is_not(None), 1), else_=0)).label("repeats"),
                    func.sum(case((Ticket.status.in_(OPEN_STATUSES), 1), else_=0)).label("open"),
                )
                .where(Ticket.asset_id.is_not(None), Ticket.status != TicketStatus.CANCELLED)
                .group_by(Ticket.asset_id)
                .subquery()
            )
            query = (
                select(Asset, Site.name, counted.c.repairs, counted.c.repeats, counted.c.open)
                .join(Site, Site.id == Asset.site_id)
                .outerjoin(counted, counted.c.asset_id == Asset.id)
            )
            if wanted_site is not None:
                query = query.where(Asset.site_id == wanted_site)
            if kind is not None:
                query = query.where(Asset.kind == kind)
            if not include_retired:
                query = query.where(Asset.active.is_(True))
            text = search.strip()[:100]
            if text:
                like = f"%{_escape_like(text.lower())}%"
                query = query.where(
                    or_(
                        *(
                            func.lower(column).like(like, escape="\\")
                            for column in (
                                Asset.tag,
                                Asset.location,
                                Asset.brand,
                                Asset.model,
                                Asset.serial,
                                Asset.user_name,
                                Asset.ip_address,
                            )
                        )
                    )
                )
            total = int(
                await session.scalar(select(func.count()).select_from(query.subquery())) or 0
            )
            found = (
                await session.execute(query.order_by(Site.name, Asset.tag).limit(MAX_LISTED))
            ).all()
            sites_query = select(Site.id, Site.name).order_by(Site.name)
            if scope is not None:
                sites_query = sites_query.where(Site.id == scope)
            sites = tuple((row.id, row.name) for row in await session.execute(sites_query))
            return AssetList(
                rows=tuple(
                    AssetRow(
                        tag=asset.tag,
                        kind=asset.kind,
                        site_id=asset.site_id,
                        site_name=site_name,
                        location=asset.location,
                        brand=asset.brand,
                        model=asset.model,
                        user_name=asset.user_name,
                        warranty_until=asset.warranty_until,
                        active=asset.active,
                        repairs=int(repairs or 0),
                        repeats=int(repeats or 0),
                        open=int(open_ or 0),
                    )
                    for asset, site_name, repairs, repeats, open_ in found
                ),
                total=total,
                sites=sites,
                may_edit=viewer.role in EDIT_ROLES,
            )

    async def _scoped_asset(self, session: AsyncSession, viewer: Viewer, tag: str) -> Asset:
        normalized = normalize_tag(tag)
        asset = await session.scalar(select(Asset).where(Asset.tag == normalized))
        # Another site's device answers as an unknown one: its existence is not confirmed.
        if asset is None or (viewer.site_id is not None and asset.site_id != viewer.site_id):
            raise NotFound("asset.unknown", tag=normalized)
        return asset

    async def detail(self, viewer_id: int, tag: str) -> AssetDetail:
        """One device in the viewer's scope, with its tickets and inspection results."""
        async with self.core.reading() as session:
            viewer = await self._reader(session, viewer_id)
            asset = await self._scoped_asset(session, viewer, tag)
            tickets = (
                await session.execute(
                    select(
                        Ticket.id,
                        Ticket.reported_at,
                        Ticket.symptom,
                        Ticket.status,
                        Ticket.repeat_of_id,
                        Resolution.result,
                    )
                    .outerjoin(Resolution, Resolution.ticket_id == Ticket.id)
                    .where(Ticket.asset_id == asset.id)
                    .order_by(Ticket.reported_at.desc(), Ticket.id.desc())
                    .limit(200)
                )
            ).all()
            checks = (
                await session.execute(
                    select(
                        InspectionPlan.name,
                        Inspection.period,
                        InspectionItem.outcome,
                        InspectionItem.note,
                        InspectionItem.checked_at,
                        InspectionItem.ticket_id,
                    )
                    .join(Inspection, Inspection.id == InspectionItem.inspection_id)
                    .join(InspectionPlan, InspectionPlan.id == Inspection.plan_id)
                    .where(InspectionItem.asset_id == asset.id)
                    .order_by(InspectionItem.checked_at.desc())
                    .limit(100)
                )
            ).all()
            site_id = asset.site_id
        view = await self.assets.view(asset.tag)
        today = self.core.clock.now().date()
        return AssetDetail(
            view=view,
            site_id=site_id,
            in_warranty=None if view.warranty_until is None else view.warranty_until >= today,
            repairs=tuple(
                Repair(
                    ticket_id=row.id,
                    reported_at=row.reported_at,
                    symptom=row.symptom[:200],
                    status=row.status,
                    repeat_of_id=row.repeat_of_id,
                    result=str(row.result.value if hasattr(row.result, "value") else row.result)
                    if row.result is not None
                    else None,
                )
                for row in tickets
            ),
            inspections=tuple(
                InspectionEntry(
                    plan=row.name,
                    period=row.period,
                    outcome=row.outcome,
                    note=row.note,
                    checked_at=row.checked_at,
                    ticket_id=row.ticket_id,
                )
                for row in checks
            ),
            may_edit=viewer.role in EDIT_ROLES,
        )

    async def edit(self, viewer_id: int, tag: str, changes: Mapping[str, Any]) -> list[Change]:
        """Change a device's fields (administrators only), as `faultdesk asset edit` does."""
        async with self.core.reading() as session:
            viewer = await self._reader(session, viewer_id)
            if viewer.role not in EDIT_ROLES:
                raise PermissionDenied(action="asset_edit")
            await self._scoped_asset(session, viewer, tag)
        return await self.assets.edit(tag, parse_changes(changes), actor_id=viewer_id)

    async def for_labels(self, viewer_id: int, tags: Sequence[str]) -> list[AssetView]:
        """The devices to print stickers for, each in the viewer's scope."""
        if not tags:
            raise InvalidInput("asset.none_selected")
        if len(tags) > MAX_LABELS:
            raise InvalidInput("asset.too_many", limit=MAX_LABELS)
        async with self.core.reading() as session:
            viewer = await self._reader(session, viewer_id)
            for tag in tags:
                await self._scoped_asset(session, viewer, tag)
        return await self.assets.views(tags=list(tags), include_retired=True)


def parse_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Form values as the register stores them: a kind, dates (empty clears), text."""
    parsed: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in EDITABLE:
            raise InvalidInput("asset.not_editable", field=name, choices=list(EDITABLE))
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise InvalidInput("asset.bad_value", field=name)
        value = value.strip()
        if name == "kind":
            try:
                parsed[name] = AssetKind(value)
            except ValueError:
                raise InvalidInput("asset.bad_value", field=name) from None
        elif name in DATE_FIELDS:
            try:
                parsed[name] = date.fromisoformat(value) if value else None
            except ValueError:
                raise InvalidInput("asset.bad_value", field=name) from None
        else:
            parsed[name] = value
    return parsed
