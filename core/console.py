"""The web console's read models and rules: who may open which screen, the dispatcher's
board, and the one-time login links `/web` gives in chat.

The console changes tickets only through `TicketService` (the chat's own services, rules
and audit); this module reads. The board is built with a few column queries rather than
`TicketService`'s cards, because it must list thousands of open tickets in well under a
second; what it shows is the same data the cards show.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple

from sqlalchemy import ColumnElement, Integer, String, case, cast, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from core.enums import OPEN_STATUSES, Role, TicketStatus
from core.errors import InvalidInput, PermissionDenied
from core.models import Asset, AuditEvent, DueWork, Person, Site, SlaClock, Ticket, WebLogin
from core.permissions import DISPATCHING_ROLES
from core.sla.deadlines import ESCALATION
from core.unit_of_work import Core

# Who may open the board (managers see it; only dispatchers and admins act on it).
BOARD_ROLES: Final = frozenset({Role.DISPATCHER, Role.MANAGER, Role.ADMIN})
# Who may open the manager's dashboard (the roles /stats answers).
DASHBOARD_ROLES: Final = frozenset({Role.MANAGER, Role.DISPATCHER, Role.ADMIN})
# Who may ask for a login link: everyone with a screen (engineers have their own view).
CONSOLE_ROLES: Final = BOARD_ROLES | {Role.ENGINEER}
# The ladder threshold from which a countdown turns amber (the 80 % reminder step).
AMBER_AT: Final = 0.8
MAX_SEARCH: Final = 100  # characters of a search that are used
TOKEN_BYTES: Final = 24
CACHED_BOARDS: Final = 32  # boards kept per process (filters x scopes), newest last
# The order a ticket's countdowns are listed in.
CLOCK_ORDER: Final = {"acknowledge": 0, "arrival": 1, "restore": 2, "resolve": 3}


@dataclass(frozen=True)
class Viewer:
    """The registered, active person a console request acts for."""

    id: int
    name: str
    role: Role
    site_id: int | None
    language: str | None

    @property
    def sees_board(self) -> bool:
        """May open the dispatcher's board."""
        return self.role in BOARD_ROLES

    @property
    def dispatches(self) -> bool:
        """May assign, set levels and cancel (at their site; core checks each ticket)."""
        return self.role in DISPATCHING_ROLES


@dataclass(frozen=True)
class BoardFilter:
    """What the board is narrowed to; None or empty means everything in scope."""

    site_id: int | None = None
    severity: int | None = None
    status: TicketStatus | None = None
    engineer_id: int | None = None
    overdue_only: bool = False
    search: str = ""


class BoardClock(NamedTuple):
    """One running deadline of a ticket on the board; moments in Unix seconds (UTC), as
    the page counts them down (a tuple: the board builds tens of thousands)."""

    kind: str
    started: int
    due: int | None  # None while paused
    amber: int | None  # when the ladder's 80 % step falls due (None: no such step)
    paused: bool
    breached: bool


@dataclass(frozen=True)
class BoardRow:
    """One open ticket as the board lists it."""

    id: int
    status: TicketStatus
    severity: int
    site_id: int
    site_name: str
    assignee_id: int | None
    assignee_name: str | None
    asset_tag: str | None
    asset_kind: str | None
    symptom: str
    location: str
    clocks: tuple[BoardClock, ...]

    @property
    def next_due(self) -> int | None:
        """The nearest deadline still counting (paused ones do not count), Unix seconds."""
        dues = [c.due for c in self.clocks if c.due is not None and not c.paused]
        return min(dues) if dues else None

    def overdue(self, now: int) -> bool:
        """A running deadline has passed (`now` in Unix seconds)."""
        return any(c.breached or (c.due is not None and c.due <= now) for c in self.clocks)


@dataclass(frozen=True)
class Choice:
    """An id with a name, for a filter or an assignment list."""

    id: int
    name: str
    site_id: int | None = None


@dataclass(frozen=True)
class Board:
    """The board as one viewer sees it at one moment."""

    now: datetime
    rows: tuple[BoardRow, ...]
    sites: tuple[Choice, ...]
    engineers: tuple[Choice, ...]
    marker: int  # changes whenever anything is recorded (see `ConsoleService.marker`)
    scope_site_id: int | None  # the viewer's own site; None: every site
    may_act: bool
    total_open: int = 0
    overdue_open: int = 0
    listed: int = 0  # tickets the filters select (overdue only included); `rows` may be a page
    warnings: tuple[str, ...] = field(default_factory=tuple)


class Place(NamedTuple):
    """Where one open ticket falls on the board, without its details: enough to order,
    count and page thousands of tickets (moments in Unix seconds)."""

    id: int
    next_due: int | None  # the nearest running, unpaused deadline
    first_due: int | None  # the nearest deadline of any clock (for "overdue")
    breached: bool

    def overdue(self, now: int) -> bool:
        """A running deadline has passed (as `BoardRow.overdue`)."""
        return self.breached or (self.first_due is not None and self.first_due <= now)


FAR: Final = 2**62  # sorts tickets without a running deadline last


@dataclass
class _Kept:
    """One (scope, filter)'s board as read at `marker`: every ticket's place in order, the
    details of the tickets read so far, and the filter's choices."""

    marker: int
    places: tuple[Place, ...]
    details: dict[int, BoardRow]
    sites: tuple[Choice, ...]
    engineers: tuple[Choice, ...]
    # Pages handed out at this marker, by (offset, limit): the same tuple each time, so
    # the web layer encodes it once.
    pages: dict[tuple[int, int | None], tuple[BoardRow, ...]] = field(default_factory=dict)


def token_hash(token: str) -> str:
    """What the database keeps of a login token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _search_terms(text: str) -> tuple[int | None, str]:
    """A ticket number (from '12' or '#12') and the text to look for."""
    text = text.strip()[:MAX_SEARCH]
    digits = text.lstrip("#")
    number = int(digits) if digits.isdigit() and len(digits) <= 12 else None
    return number, text


class ConsoleService:
    """Reads for the console's screens, and its login links."""

    def __init__(self, core: Core) -> None:
        self.core = core
        # The newest board per (scope, filter) and its marker. Every change writes an audit
        # event, and events commit in id order (the chain's head row is locked until
        # commit), so a board read at one marker stays true until the marker moves; a few
        # ticket changes later, only the changed tickets are placed again.
        self._kept: dict[tuple[Any, ...], _Kept] = {}

    # --- who is asking -------------------------------------------------------------------

    async def viewer_by_telegram(self, telegram_user_id: int) -> Viewer | None:
        """The active person registered with this Telegram account, if any."""
        async with self.core.reading() as session:
            person = await session.scalar(
                select(Person).where(
                    Person.telegram_user_id == telegram_user_id, Person.active.is_(True)
                )
            )
            return _viewer(person)

    async def viewer(self, person_id: int) -> Viewer | None:
        """The person, while registered and active."""
        async with self.core.reading() as session:
            person = await session.get(Person, person_id)
            return _viewer(person if person is not None and person.active else None)

    # --- one-time login links ------------------------------------------------------------

    async def issue_login(self, person_id: int, *, valid_for: timedelta) -> str:
        """A fresh single-use token for `person_id` (who must have a screen)."""
        async with self.core.transaction(person_id) as tx:
            person = await tx.session.get(Person, person_id)
            if person is None or not person.active or person.role not in CONSOLE_ROLES:
                raise PermissionDenied(action="web_login")
            token = secrets.token_urlsafe(TOKEN_BYTES)
            login = WebLogin(
                token_hash=token_hash(token),
                person_id=person.id,
                created_at=tx.now,
                expires_at=tx.now + valid_for,
            )
            tx.session.add(login)
            await tx.session.flush()
            await tx.audit("person", person.id, "web.login_issued", login_id=login.id)
            return token

    async def redeem_login(self, token: str) -> Viewer | None:
        """The person a valid, unused, unexpired token names, and the token spent; else None."""
        if not token or len(token) > 200:
            return None
        async with self.core.transaction() as tx:
            login = await tx.session.scalar(
                select(WebLogin).where(WebLogin.token_hash == token_hash(token)).with_for_update()
            )
            if login is None or login.used_at is not None or login.expires_at <= tx.now:
                return None
            person = await tx.session.get(Person, login.person_id)
            if person is None or not person.active:
                return None
            login.used_at = tx.now
            tx.actor_id = person.id
            await tx.audit("person", person.id, "web.login_used", login_id=login.id)
            return _viewer(person)

    async def running_clocks(self, ticket_ids: Sequence[int]) -> dict[int, tuple[BoardClock, ...]]:
        """The running clocks of these tickets as the board counts them down (with the
        moment each turns amber), for views that list a few tickets (the engineer's)."""
        if not ticket_ids:
            return {}
        async with self.core.reading() as session:
            connection = await session.connection()
            found = await _running_clocks(connection, [Ticket.id.in_(list(ticket_ids))])
        return {key: tuple(clocks) for key, clocks in found.items()}

    # --- the board -----------------------------------------------------------------------

    async def marker(self) -> int:
        """The newest audit event's id: every change to a ticket (by chat, console or the
        escalation runner) records one, so a new marker means the board may have changed."""
        async with self.core.reading() as session:
            return await _newest_event(session)

    async def board(
        self,
        viewer_id: int,
        wanted: BoardFilter | None = None,
        *,
        offset: int = 0,
        limit: int | None = None,
    ) -> Board:
        """Open tickets in the viewer's scope, nearest deadline first: `limit` of them from
        `offset` (all when None), with the counts over every ticket the filters select.

        Every ticket's place (its nearest deadline) is read in one grouped statement; the
        details (names, device, every clock's countdown) only for the tickets a page shows,
        and kept until they change, so the first screen does not wait for thousands of rows
        nobody has scrolled to."""
        wanted = wanted or BoardFilter()
        if offset < 0 or (limit is not None and limit < 1):
            raise InvalidInput("board.bad_page", offset=offset, limit=limit)
        now = self.core.clock.now()
        async with self.core.reading() as session:
            person = await session.get(Person, viewer_id)
            viewer = _viewer(person if person is not None and person.active else None)
            if viewer is None or not viewer.sees_board:
                raise PermissionDenied(action="web_board")
            scope = viewer.site_id
            if scope is not None and wanted.site_id not in (None, scope):
                raise PermissionDenied(action="other_site")
            site_id = wanted.site_id if wanted.site_id is not None else scope
            if wanted.severity is not None and wanted.severity not in range(1, 5):
                raise InvalidInput("severity.out_of_range", severity=wanted.severity)
            marker = await _newest_event(session)
            shape: tuple[Any, ...] = (scope, site_id, wanted.severity, wanted.status)
            shape += (wanted.engineer_id, wanted.search.strip()[:MAX_SEARCH])
            connection = await session.connection()
            where = _board_where(site_id, wanted)
            kept = self._kept.get(shape)
            if kept is None or kept.marker != marker:
                fresh = None
                if kept is not None and kept.marker < marker:
                    fresh = await _patched(connection, where, kept, marker)
                if fresh is None:
                    details: dict[int, BoardRow] = {}
                    if limit is None and offset == 0:
                        # Every ticket is shown: place them from their details.
                        details = {row.id: row for row in await _details(connection, where)}
                        places = tuple(sorted(map(_place_of, details.values()), key=_place_order))
                    else:
                        places = await _places(connection, where)
                    sites, engineers = await _choices(connection, scope)
                    fresh = _Kept(marker, places, details, sites, engineers)
                self._kept.pop(shape, None)
                while len(self._kept) >= CACHED_BOARDS:
                    self._kept.pop(next(iter(self._kept)))
                self._kept[shape] = kept = fresh
            moment = int(now.timestamp())
            overdue = sum(1 for place in kept.places if place.overdue(moment))
            listed = (
                [place for place in kept.places if place.overdue(moment)]
                if wanted.overdue_only
                else kept.places
            )
            page = listed[offset:] if limit is None else listed[offset : offset + limit]
            missing = [place.id for place in page if place.id not in kept.details]
            if missing:
                # The whole board (no page) is read without a list of thousands of ids.
                only = [] if len(missing) == len(kept.places) else [Ticket.id.in_(missing)]
                for row in await _details(connection, [*where, *only]):
                    kept.details[row.id] = row
            rows = kept.pages.get((offset, limit)) if not wanted.overdue_only else None
            if rows is None:
                # A ticket closed between the two reads has no details: it is left out.
                known = kept.details
                rows = tuple(known[place.id] for place in page if place.id in known)
                if not wanted.overdue_only:
                    kept.pages[(offset, limit)] = rows  # the same tuple while nothing changes
            return Board(
                now=now,
                rows=rows,
                sites=kept.sites,
                engineers=kept.engineers,
                marker=marker,
                scope_site_id=scope,
                may_act=viewer.dispatches,
                total_open=len(kept.places),
                overdue_open=overdue,
                listed=len(listed),
            )


MAX_PATCHED_EVENTS: Final = 200  # more changes than this since the last board: read it whole


async def _patched(
    connection: AsyncConnection, where: Sequence[ColumnElement[bool]], kept: _Kept, marker: int
) -> _Kept | None:
    """The kept board with the tickets changed since its marker placed again (and their
    details dropped, to be read when shown); None when anything but tickets changed (a
    name, a site, a device) or too much did."""
    events = (
        await connection.execute(
            select(AuditEvent.entity, AuditEvent.entity_id)
            .where(AuditEvent.id > kept.marker, AuditEvent.id <= marker)
            .limit(MAX_PATCHED_EVENTS + 1)
        )
    ).all()
    if len(events) > MAX_PATCHED_EVENTS or any(
        entity != "ticket" or entity_id is None for entity, entity_id in events
    ):
        return None
    changed = {int(entity_id) for _entity, entity_id in events if entity_id is not None}
    fresh = await _places(connection, [*where, Ticket.id.in_(sorted(changed))])
    places = [place for place in kept.places if place.id not in changed]
    places.extend(fresh)
    places.sort(key=_place_order)
    details = {key: row for key, row in kept.details.items() if key not in changed}
    return _Kept(marker, tuple(places), details, kept.sites, kept.engineers)


def _place_of(row: BoardRow) -> Place:
    """A ticket's place from its details (as `_places` computes it in the database)."""
    dues = [clock.due for clock in row.clocks if clock.due is not None]
    breached = any(clock.breached for clock in row.clocks)
    return Place(row.id, row.next_due, min(dues) if dues else None, breached)


def _place_order(place: Place) -> tuple[int, int]:
    return (FAR if place.next_due is None else place.next_due, place.id)


def _board_where(site_id: int | None, wanted: BoardFilter) -> list[ColumnElement[bool]]:
    """The conditions on ticket (and its device, for search) that `wanted` sets."""
    where: list[ColumnElement[bool]] = [Ticket.status.in_(OPEN_STATUSES)]
    if site_id is not None:
        where.append(Ticket.site_id == site_id)
    if wanted.severity is not None:
        where.append(Ticket.severity == wanted.severity)
    if wanted.status is not None:
        where.append(Ticket.status == wanted.status)
    if wanted.engineer_id is not None:
        where.append(Ticket.assignee_id == wanted.engineer_id)
    number, text = _search_terms(wanted.search)
    if text:
        pattern = f"%{_escape_like(text.lower())}%"
        matches: list[ColumnElement[bool]] = [
            func.lower(Asset.tag).like(pattern, escape="\\"),
            func.lower(Ticket.symptom).like(pattern, escape="\\"),
            func.lower(Ticket.location).like(pattern, escape="\\"),
        ]
        if number is not None:
            matches.append(Ticket.id == number)
        where.append(or_(*matches))
    return where


async def _places(
    connection: AsyncConnection, where: Sequence[ColumnElement[bool]]
) -> tuple[Place, ...]:
    """Every selected ticket's place, nearest deadline first: one grouped statement over
    the running clocks, comparing stored moments without converting each one."""
    running = (
        (SlaClock.ticket_id == Ticket.id)
        & (SlaClock.cycle == Ticket.cycle)
        & SlaClock.stopped_at.is_(None)
        & SlaClock.cancelled.is_(False)
    )
    unpaused_due = case((SlaClock.paused_since.is_(None), SlaClock.due_at))
    query = (
        select(
            Ticket.id,
            epoch(func.min(unpaused_due)),
            epoch(func.min(SlaClock.due_at)),
            func.max(case((SlaClock.breached_at.is_not(None), 1), else_=0)),
        )
        .select_from(Ticket)
        .outerjoin(Asset, Asset.id == Ticket.asset_id)
        .outerjoin(SlaClock, running)
        .where(*where)
        .group_by(Ticket.id)
    )
    places = [
        Place(ticket_id, next_due, first_due, bool(breached))
        for ticket_id, next_due, first_due, breached in (await connection.execute(query)).all()
    ]
    places.sort(key=_place_order)
    return tuple(places)


async def _choices(
    connection: AsyncConnection, scope: int | None
) -> tuple[tuple[Choice, ...], tuple[Choice, ...]]:
    """The sites and engineers the viewer's scope offers as filters."""
    sites_query = select(Site.id, Site.name).order_by(Site.name, Site.id)
    if scope is not None:
        sites_query = sites_query.where(Site.id == scope)
    sites = tuple(Choice(r.id, r.name) for r in await connection.execute(sites_query))
    engineers_query = select(Person.id, Person.name, Person.site_id).where(
        Person.role == Role.ENGINEER, Person.active.is_(True)
    )
    if scope is not None:
        engineers_query = engineers_query.where(
            or_(Person.site_id == scope, Person.site_id.is_(None))
        )
    engineers = tuple(
        Choice(r.id, r.name, r.site_id)
        for r in await connection.execute(engineers_query.order_by(Person.name, Person.id))
    )
    return sites, engineers


async def _details(
    connection: AsyncConnection, where: Sequence[ColumnElement[bool]]
) -> list[BoardRow]:
    """The selected tickets as the board shows them (in no order). Core execution, not the
    ORM's: plain rows are what the board needs, and they come several times faster."""
    assignee = Person.__table__.alias("assignee")
    query = (
        select(
            Ticket.id,
            Ticket.status,
            Ticket.severity,
            Ticket.site_id,
            Site.name,
            Ticket.assignee_id,
            assignee.c.name,
            Asset.tag,
            func.coalesce(Asset.kind, Ticket.asset_kind),
            func.substr(Ticket.symptom, 1, 160),
            Ticket.location,
        )
        .join(Site, Site.id == Ticket.site_id)
        .outerjoin(assignee, assignee.c.id == Ticket.assignee_id)
        .outerjoin(Asset, Asset.id == Ticket.asset_id)
        .where(*where)
    )
    tickets = (await connection.execute(query)).all()
    clocks = await _running_clocks(connection, where)
    return [
        BoardRow(
            id=row[0],
            status=TicketStatus(row[1]),
            severity=row[2],
            site_id=row[3],
            site_name=row[4],
            assignee_id=row[5],
            assignee_name=row[6],
            asset_tag=row[7],
            asset_kind=str(row[8]) if row[8] else None,
            symptom=row[9],
            location=row[10],
            clocks=tuple(clocks.get(row[0], ())),
        )
        for row in tickets
    ]


def _viewer(person: Person | None) -> Viewer | None:
    if person is None:
        return None
    return Viewer(
        id=person.id,
        name=person.name,
        role=person.role,
        site_id=person.site_id,
        language=person.language,
    )


async def _newest_event(session: AsyncSession) -> int:
    newest = await session.scalar(select(func.max(AuditEvent.id)))
    return int(newest or 0)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class epoch(FunctionElement[int]):
    """A timestamp column as whole Unix seconds, computed by the database (no per-row
    datetime objects for the thousands of moments the board carries)."""

    type = Integer()
    inherit_cache = True


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: Any, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch)
def _epoch_default(element: epoch, compiler: Any, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS BIGINT)"


async def _running_clocks(
    connection: AsyncConnection, where: Sequence[ColumnElement[bool]]
) -> dict[int, list[BoardClock]]:
    """The running clocks of the current cycle of the tickets `where` selects, each with
    the moment of its ladder's 80 % step.

    One statement: the step is found by its unique key (`esc:{ticket}:{cycle}:{clock}:80`,
    see `core.sla.deadlines.step_key`), one index probe per clock, rather than by reading
    every escalation step of every open ticket and picking the 80 % ones in Python."""
    step = DueWork.__table__.alias("amber_step")
    key = (
        literal("esc:", String)
        + cast(Ticket.id, String)
        + ":"
        + cast(Ticket.cycle, String)
        + ":"
        + SlaClock.kind
        + f":{round(AMBER_AT * 100)}"
    )
    query = (
        select(
            SlaClock.ticket_id,
            SlaClock.kind,
            epoch(SlaClock.started_at),
            epoch(SlaClock.due_at),
            SlaClock.paused_since.is_not(None),
            SlaClock.breached_at.is_not(None),
            epoch(step.c.due_at),
        )
        .join(Ticket, Ticket.id == SlaClock.ticket_id)
        .outerjoin(Asset, Asset.id == Ticket.asset_id)
        .outerjoin(step, (step.c.key == key) & (step.c.kind == ESCALATION))
        .where(
            *where,
            SlaClock.cycle == Ticket.cycle,
            SlaClock.stopped_at.is_(None),
            SlaClock.cancelled.is_(False),
        )
    )
    found: dict[int, list[BoardClock]] = {}
    for ticket_id, kind, started, due, paused, breached, amber in (
        await connection.execute(query)
    ).all():
        clocks = found.get(ticket_id)
        if clocks is None:
            clocks = found[ticket_id] = []
        clocks.append(BoardClock(kind, started, due, amber, paused, breached))
    order = CLOCK_ORDER
    for clocks in found.values():
        if len(clocks) > 1:
            clocks.sort(key=lambda c: order.get(c.kind, len(order)))
    return found
