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

from sqlalchemy import ColumnElement, Integer, func, or_, select
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
    warnings: tuple[str, ...] = field(default_factory=tuple)


BoardParts = tuple[tuple[BoardRow, ...], tuple[Choice, ...], tuple[Choice, ...]]


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
        # Boards by (marker, scope, filter): every change writes an audit event, and events
        # commit in id order (the chain's head row is locked until commit), so a board read
        # at one marker stays true until the marker moves; live pages re-ask often.
        self._cache: dict[tuple[Any, ...], BoardParts] = {}
        # The newest board per (scope, filter) and its marker: a few ticket changes later,
        # only the changed tickets are read again and patched in.
        self._latest: dict[tuple[Any, ...], tuple[int, BoardParts]] = {}

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

    async def board(self, viewer_id: int, wanted: BoardFilter | None = None) -> Board:
        """Open tickets in the viewer's scope, nearest deadline first."""
        wanted = wanted or BoardFilter()
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
            key: tuple[Any, ...] = (marker, scope, site_id, wanted.severity, wanted.status)
            key += (wanted.engineer_id, wanted.search.strip()[:MAX_SEARCH])
            cached = self._cache.get(key)
            if cached is None:
                connection = await session.connection()
                shape = key[1:]
                latest = self._latest.get(shape)
                cached = None
                if latest is not None and latest[0] < marker:
                    cached = await _patched(connection, site_id, scope, wanted, latest, marker)
                if cached is None:
                    cached = await _board_rows(connection, site_id, scope, wanted)
                while len(self._cache) >= CACHED_BOARDS:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[key] = cached
                while len(self._latest) >= CACHED_BOARDS:
                    self._latest.pop(next(iter(self._latest)))
                self._latest[shape] = (marker, cached)
            rows, sites, engineers = cached
            moment = int(now.timestamp())
            overdue = sum(1 for row in rows if row.overdue(moment))
            shown = (
                tuple(row for row in rows if row.overdue(moment)) if wanted.overdue_only else rows
            )
            return Board(
                now=now,
                rows=shown,
                sites=sites,
                engineers=engineers,
                marker=marker,
                scope_site_id=scope,
                may_act=viewer.dispatches,
                total_open=len(rows),
                overdue_open=overdue,
            )


MAX_PATCHED_EVENTS: Final = 200  # more changes than this since the last board: read it whole


async def _patched(
    connection: AsyncConnection,
    site_id: int | None,
    scope: int | None,
    wanted: BoardFilter,
    latest: tuple[int, BoardParts],
    marker: int,
) -> BoardParts | None:
    """The last board with the tickets changed since its marker read again; None when
    anything but tickets changed (a name, a site, a device) or too much did."""
    since, (rows, sites, engineers) = latest
    events = (
        await connection.execute(
            select(AuditEvent.entity, AuditEvent.entity_id)
            .where(AuditEvent.id > since, AuditEvent.id <= marker)
            .limit(MAX_PATCHED_EVENTS + 1)
        )
    ).all()
    if len(events) > MAX_PATCHED_EVENTS or any(
        entity != "ticket" or entity_id is None for entity, entity_id in events
    ):
        return None
    changed = {int(entity_id) for _entity, entity_id in events if entity_id is not None}
    fresh, _sites, _engineers = await _board_rows(
        connection, site_id, scope, wanted, only=sorted(changed), choices=False
    )
    kept = [row for row in rows if row.id not in changed]
    kept.extend(fresh)
    far = 2**62
    kept.sort(key=lambda r: (r.next_due or far, r.id))
    return tuple(kept), sites, engineers


async def _board_rows(
    connection: AsyncConnection,
    site_id: int | None,
    scope: int | None,
    wanted: BoardFilter,
    *,
    only: Sequence[int] | None = None,
    choices: bool = True,
) -> BoardParts:
    """The open tickets `wanted` selects, nearest deadline first, with the sites and
    engineers the viewer's scope offers. Core execution, not the ORM's: plain rows are
    what the board needs, and they come several times faster."""
    # The same filter narrows the tickets and their clocks.
    where: list[ColumnElement[bool]] = [Ticket.status.in_(OPEN_STATUSES)]
    if only is not None:
        where.append(Ticket.id.in_(list(only)))
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
    rows = [
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
    far = 2**62
    rows.sort(key=lambda r: (r.next_due or far, r.id))
    if not choices:
        return tuple(rows), (), ()
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
    return tuple(rows), sites, engineers


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
    the moment of its ladder's 80 % step."""
    steps = (
        select(Ticket.id, Ticket.cycle, DueWork.key, epoch(DueWork.due_at))
        .select_from(DueWork)
        .join(Ticket, Ticket.id == DueWork.ticket_id)
        .outerjoin(Asset, Asset.id == Ticket.asset_id)
        .where(
            *where,
            DueWork.kind == ESCALATION,
            DueWork.key.like(f"esc:%:{round(AMBER_AT * 100)}"),
        )
    )
    amber: dict[tuple[int, str], int | None] = {}
    for ticket_id, cycle, key, due in (await connection.execute(steps)).all():
        # esc:{ticket}:{cycle}:{clock}:{threshold}; earlier cycles' steps do not count
        parts = key.split(":")
        if len(parts) == 5 and parts[2] == str(cycle):
            amber[(ticket_id, parts[3])] = due
    query = (
        select(
            SlaClock.ticket_id,
            SlaClock.kind,
            epoch(SlaClock.started_at),
            epoch(SlaClock.due_at),
            SlaClock.paused_since.is_not(None),
            SlaClock.breached_at.is_not(None),
        )
        .join(Ticket, Ticket.id == SlaClock.ticket_id)
        .outerjoin(Asset, Asset.id == Ticket.asset_id)
        .where(
            *where,
            SlaClock.cycle == Ticket.cycle,
            SlaClock.stopped_at.is_(None),
            SlaClock.cancelled.is_(False),
        )
    )
    found: dict[int, list[BoardClock]] = {}
    for ticket_id, kind, started, due, paused, breached in (await connection.execute(query)).all():
        found.setdefault(ticket_id, []).append(
            BoardClock(
                kind, started, due, amber.get((ticket_id, kind)), bool(paused), bool(breached)
            )
        )
    order = {"acknowledge": 0, "arrival": 1, "restore": 2, "resolve": 3}
    for clocks in found.values():
        clocks.sort(key=lambda c: order.get(c.kind, len(order)))
    return found
