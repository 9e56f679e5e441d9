"""The web console over HTTP (aiohttp): the page, its JSON, and the actions.

Mounted under `/web` on the bot's own aiohttp server: on the webhook server in webhook
mode, on its own address (`FAULTDESK_WEB_LISTEN`) in polling mode. Every `/web/api/`
request proves who sends it, each time: the Mini App's initData in the
`X-Telegram-Init-Data` header (Telegram's signature, checked by `bot.web.auth`), or the
session cookie a one-time `/web` link set. The person must be registered and active; the
core decides what they may see and do (`core.console`, `TicketService`), exactly as in
chat. A failed proof answers 401 and a refused screen or action 403, and neither changes
anything. A ticket or device outside the person's sites answers 404, word for word as
one that does not exist, so the console never confirms what other sites hold.

Live updates are polled: the page asks `/web/api/marker` every second and reloads the
board when the newest audit event changed. Polling, not server-sent events, because
every change on any instance (chat, another browser, the escalation runner) writes an
audit event to the shared database, so one cheap indexed query answers for them all,
through any proxy and Telegram's web view, with no connection held per viewer.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.dialogs.inspection import (
    ANSWER_LABEL,
    check_label,
    fault_symptom,
    inspection_error_text,
)
from bot.errors import error_text
from bot.handlers.manager import rate_line
from bot.handlers.thread import timeline_line
from bot.i18n import N_, I18n, Translator
from bot.labels import ASSET_KIND, CLOCK, IMPACT, SEVERITY, STATUS, label
from bot.rendering.label_sheets import DEFAULT_LAYOUT, LAYOUTS, find_cjk_font
from bot.rendering.pdf import FontMissing, sheet_filename, sheet_pdf
from bot.rendering.text import explained_lines, payment_text
from bot.rendering.wording import score_text
from bot.web.auth import AuthFailed, make_session, read_session, validate_init_data
from bot.web.texts import texts_for, word
from core.asset_tags import sticker_payload
from core.assets import EDITABLE
from core.clock import DEFAULT_TIMEZONE
from core.console import DASHBOARD_ROLES, BoardFilter, BoardRow, ConsoleService, Viewer
from core.console_assets import (
    EDIT_ROLES,
    REGISTER_ROLES,
    AssetDetail,
    AssetRegisterService,
)
from core.console_reports import escalations_per_week, site_ref
from core.console_tickets import ticket_extras
from core.enums import OPEN_STATUSES, AssetKind, Impact, Role, TicketStatus
from core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from core.inspections import CheckKind, checklist
from core.reports.counts import day_figures, kpi_reports_by_site
from core.reports.kpi import KpiReport
from core.reports.periods import day_bounds, month_period, quarter_label
from core.reports.quarterly import quarterly_scorecard
from core.reports.sites import report_timezone
from core.services import Helpdesk

log = logging.getLogger(__name__)

STATIC: Final = Path(__file__).resolve().parent / "static"
PREFIX: Final = "/web"
COOKIE: Final = "faultdesk_session"
INIT_HEADER: Final = "X-Telegram-Init-Data"
MAX_BODY: Final = 16 * 1024
# Who may save inspection results (the core checks the site: `core.inspections`).
INSPECT_ROLES: Final = frozenset({Role.ENGINEER, Role.ADMIN})
MAX_PAGE: Final = 1000  # board tickets one request may ask for (none: every one)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class WebConfig:
    """What the console needs from the settings."""

    bot_token: str
    init_data_max_age: timedelta = timedelta(hours=1)
    session_max_age: timedelta = timedelta(hours=12)
    # Cookies are Secure unless the console is reached over plain http on this machine.
    secure_cookie: bool = True
    wall: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # The bot's @username, for the stickers' deep links (known once getMe has answered).
    username: Callable[[], str] = field(default=lambda: "")
    # Fetches a photo people sent, by Telegram file id (the running bot's transport).
    download: Callable[[str], Awaitable[bytes]] | None = None


@dataclass(frozen=True)
class Asker:
    """The person behind one request and the language they read."""

    viewer: Viewer
    language: str
    t: Translator  # the chat's catalogs in that language, for the console's own words too


class WebConsole:
    """The console's routes over one helpdesk."""

    def __init__(self, helpdesk: Helpdesk, i18n: I18n, config: WebConfig) -> None:
        self.helpdesk = helpdesk
        self.console = ConsoleService(helpdesk.core)
        self.register = AssetRegisterService(helpdesk.core)
        self.i18n = i18n
        self.config = config
        # The JSON of boards the core handed out from its cache, by the rows' identity.
        self._encoded: dict[int, tuple[tuple[BoardRow, ...], str]] = {}
        # Photos fetched from Telegram, by file id (a file id always names the same bytes).
        self._photos: dict[str, bytes] = {}

    def app(self) -> web.Application:
        """The console as an aiohttp application, to mount under /web."""
        application = web.Application(client_max_size=MAX_BODY, middlewares=[self._guard])
        application.router.add_get("/", self._page)
        application.router.add_get("/login/{token}", self._login)
        application.router.add_static("/static/", STATIC, show_index=False)
        application.router.add_get("/api/me", self._me)
        application.router.add_get("/api/marker", self._marker)
        application.router.add_get("/api/board", self._board)
        application.router.add_get("/api/mine", self._mine)
        application.router.add_get("/api/dashboard", self._dashboard)
        application.router.add_get("/api/tickets/{id}", self._ticket)
        application.router.add_get("/api/tickets/{id}/sheet.pdf", self._sheet)
        application.router.add_get("/api/tickets/{id}/photos/{n}", self._photo)
        application.router.add_post("/api/tickets/{id}/assign", self._assign)
        application.router.add_post("/api/tickets/{id}/level", self._level)
        application.router.add_post("/api/tickets/{id}/cancel", self._cancel)
        application.router.add_post("/api/inspections/{id}/devices/{asset}", self._record_device)
        application.router.add_get("/api/assets", self._assets)
        application.router.add_post("/api/assets/labels.pdf", self._labels)
        application.router.add_get("/api/assets/{tag}", self._asset)
        application.router.add_post("/api/assets/{tag}", self._edit_asset)
        return application

    def mount(self, parent: web.Application) -> None:
        """Serve the console under /web of another aiohttp application."""
        # Before the sub-application, which would otherwise answer /web itself with 404.
        parent.router.add_get(PREFIX, _to_slash)
        parent.add_subapp(PREFIX, self.app())

    # --- who is asking -------------------------------------------------------------------

    async def _asker(self, request: web.Request) -> Asker:
        """The registered, active person who sent the request; 401 otherwise."""
        now = self.config.wall()
        raw = request.headers.get(INIT_HEADER)
        telegram_language: str | None = None
        try:
            if raw is not None:
                user = validate_init_data(
                    raw, self.config.bot_token, now=now, max_age=self.config.init_data_max_age
                )
                viewer = await self.console.viewer_by_telegram(user.id)
                telegram_language = user.language_code
            else:
                cookie = request.cookies.get(COOKIE)
                if not cookie:
                    raise AuthFailed("no initData and no session cookie")
                viewer = await self.console.viewer(
                    read_session(cookie, self.config.bot_token, now=now)
                )
            if viewer is None:
                raise AuthFailed("not a registered, active person")
        except AuthFailed as failed:
            log.info("web console: refused %s %s: %s", request.method, request.path, failed)
            language = self.i18n.choose(None, request.headers.get("Accept-Language"))
            raise _json_error(
                web.HTTPUnauthorized, word(self.i18n.get(language), "signed_out")
            ) from None
        language = self.i18n.choose(viewer.language, telegram_language)
        return Asker(viewer, language, self.i18n.get(language))

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Domain refusals as 403/404/400 in the asker's words; nothing leaks a traceback."""
        try:
            response = await handler(request)
        except web.HTTPException:
            raise
        except Exception:
            log.exception("web console: %s %s failed", request.method, request.path)
            language = self.i18n.choose(None, request.headers.get("Accept-Language"))
            raise _json_error(
                web.HTTPInternalServerError, word(self.i18n.get(language), "server_error")
            ) from None
        # The console is never framed by another site and its answers are never cached.
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    def _refusal(self, asker: Asker, error: DomainError) -> web.HTTPException:
        """The core's refusal as an HTTP error carrying the chat's own sentence."""
        action, ticket = error.params.get("action"), error.params.get("ticket_id")
        if isinstance(error, PermissionDenied) and action == "other_site" and ticket is not None:
            # As the ticket page: another site's ticket is not confirmed to exist (a filter
            # naming another site stays 403: it names no record).
            error = NotFound()
        text = html.unescape(error_text(self.i18n.get(asker.language), error))
        if isinstance(error, PermissionDenied):
            return _json_error(web.HTTPForbidden, text)
        if isinstance(error, NotFound):
            return _json_error(web.HTTPNotFound, text)
        if isinstance(error, InvalidInput):
            return _json_error(web.HTTPBadRequest, text)
        return _json_error(web.HTTPConflict, text)

    # --- pages -----------------------------------------------------------------------------

    async def _page(self, _request: web.Request) -> web.StreamResponse:
        """The single page; it reads initData from the URL fragment Telegram gives it."""
        return web.FileResponse(STATIC / "index.html")

    async def _login(self, request: web.Request) -> web.StreamResponse:
        """Spend a one-time link: set the session cookie and open the board."""
        viewer = await self.console.redeem_login(request.match_info["token"])
        if viewer is None:
            language = self.i18n.choose(None, request.headers.get("Accept-Language"))
            page = _message_page(word(self.i18n.get(language), "link_invalid"), language)
            return web.Response(status=401, text=page, content_type="text/html")
        expires = self.config.wall() + self.config.session_max_age
        response = web.HTTPFound(f"{PREFIX}/")
        response.set_cookie(
            COOKIE,
            make_session(viewer.id, expires, self.config.bot_token),
            max_age=int(self.config.session_max_age.total_seconds()),
            path=PREFIX,
            httponly=True,
            secure=self.config.secure_cookie,
            samesite="Strict",
        )
        raise response

    # --- JSON ------------------------------------------------------------------------------

    async def _me(self, request: web.Request) -> web.Response:
        """Who I am, what I may open, and the page's words in my language."""
        asker = await self._asker(request)
        t = self.i18n.get(asker.language)
        viewer = asker.viewer
        return web.json_response(
            {
                "id": viewer.id,
                "name": viewer.name,
                "role": viewer.role.value,
                "language": asker.language,
                "board": viewer.sees_board,
                "mine": viewer.role is Role.ENGINEER,
                "dashboard": viewer.role in DASHBOARD_ROLES,
                "acts": viewer.dispatches,
                "assets": viewer.role in REGISTER_ROLES,
                "edits_assets": viewer.role in EDIT_ROLES,
                "texts": texts_for(asker.t),
                "labels": {
                    "status": {s.value: label(t, STATUS, s) for s in TicketStatus},
                    "clock": {k: label(t, CLOCK, k) for k in CLOCK},
                    "level": {str(n): label(t, SEVERITY, n) for n in SEVERITY},
                    "kind": {k.value: label(t, ASSET_KIND, k) for k in AssetKind},
                },
                "open_states": sorted(s.value for s in OPEN_STATUSES),
            }
        )

    async def _marker(self, request: web.Request) -> web.Response:
        """The newest change's number: the page reloads the board when it moves."""
        asker = await self._asker(request)
        if not asker.viewer.sees_board:
            raise _json_error(web.HTTPForbidden, word(asker.t, "forbidden"))
        return web.json_response({"marker": await self.console.marker()})

    async def _board(self, request: web.Request) -> web.Response:
        """The board's JSON: open tickets in my scope, nearest deadline first."""
        asker = await self._asker(request)
        try:
            wanted = _board_filter(request.query)
            offset = _count(request.query, "offset") or 0
            limit = _count(request.query, "limit")
            if limit == 0:
                raise ValueError("limit")
        except ValueError:
            raise _json_error(web.HTTPBadRequest, word(asker.t, "bad_request")) from None
        if not asker.viewer.sees_board:
            raise _json_error(web.HTTPForbidden, word(asker.t, "forbidden"))
        try:
            board = await self.console.board(
                asker.viewer.id,
                wanted,
                offset=offset,
                limit=None if limit is None else min(limit, MAX_PAGE),
            )
        except DomainError as error:
            raise self._refusal(asker, error) from None
        tickets = self._encoded.get(id(board.rows))
        if tickets is None or tickets[0] is not board.rows:
            tickets = (board.rows, _encode_rows(board.rows))
            while len(self._encoded) >= 32:
                self._encoded.pop(next(iter(self._encoded)))
            self._encoded[id(board.rows)] = tickets
        head = {
            "now": int(board.now.timestamp()),
            "marker": board.marker,
            "scope_site_id": board.scope_site_id,
            "may_act": board.may_act,
            "total_open": board.total_open,
            "overdue_open": board.overdue_open,
            # The tickets the filters select; `tickets` holds `limit` of them from `offset`.
            "listed": board.listed,
            "offset": offset,
            "sites": [{"id": s.id, "name": s.name} for s in board.sites],
            "engineers": [
                {"id": e.id, "name": e.name, "site_id": e.site_id} for e in board.engineers
            ],
        }
        # The ticket list is encoded once per board read and spliced in.
        body = json.dumps(head, ensure_ascii=False)[:-1] + ',"tickets":' + tickets[1] + "}"
        return web.Response(text=body, content_type="application/json")

    async def _dashboard(self, request: web.Request) -> web.Response:
        """The manager's dashboard: now, this month's KPIs with the deductions explained
        (the /stats and monthly-summary code, no second formula), and 12 months' trend."""
        asker = await self._asker(request)
        viewer = asker.viewer
        if viewer.role not in DASHBOARD_ROLES:
            raise _json_error(web.HTTPForbidden, word(asker.t, "forbidden"))
        t = self.i18n.get(asker.language)
        core = self.helpdesk.core
        now = core.clock.now()
        site_id = viewer.site_id
        # The site's own time zone decides "today" and "this month", as for the monthly
        # summary of that site; every site together is counted as the summary counts it.
        site = await site_ref(core, site_id) if site_id is not None else None
        tz = report_timezone(site)
        day_start, day_end = day_bounds(now, tz)
        today = await day_figures(core, day_start, day_end, site_id=site_id)
        label = month_label(now, tz)
        trend = []
        month: KpiReport | None = None
        by_site: dict[int, KpiReport] = {}
        for period in reversed(last_months(label, 12)):
            bounds = month_period(period, tz)
            total, sites = await kpi_reports_by_site(
                core, bounds.start, bounds.end, site_id=site_id, as_of=now
            )
            trend.append({"month": period, **_rates(total)})
            if period == label:
                month, by_site = total, sites
        assert month is not None
        names = {place.id: place.name for place in await self.helpdesk.people.sites()}
        # This quarter so far, by the /scorecard code (no second formula).
        card = await quarterly_scorecard(core, quarter_label(now, tz), site=site, as_of=now)
        weeks = await escalations_per_week(core, weeks=12, tz=tz, site_id=site_id)

        def plain(line: str) -> str:
            return html.unescape(TAGS.sub("", line))

        return web.json_response(
            {
                "now": {
                    "open": today.open_now,
                    "overdue": today.overdue_now,
                    "opened": today.opened,
                    "resolved": today.resolved,
                    "closed": today.closed,
                },
                "month": label,
                "timezone": tz,
                "kpis": [
                    {
                        "key": key,
                        "line": plain(rate_line(t, t(name), rate, t(goal), deduction)),
                        "value": rate.as_float(),
                    }
                    for key, name, rate, goal, deduction in (
                        (
                            "arrival",
                            N_("On-time arrival"),
                            month.arrival,
                            N_("target 90%"),
                            month.arrival_deduction,
                        ),
                        (
                            "fix",
                            N_("On-site fix"),
                            month.fix,
                            N_("target 95%"),
                            month.fix_deduction,
                        ),
                        (
                            "satisfaction",
                            N_("Rated 3-5"),
                            month.satisfaction,
                            N_("target 90%"),
                            month.satisfaction_deduction,
                        ),
                        (
                            "repeat",
                            N_("30-day repeat repairs (software)"),
                            month.repeat,
                            N_("limit 15%"),
                            month.repeat_deduction,
                        ),
                    )
                ],
                "score": month.score,
                "deduction": month.total_deduction,
                "explained": [plain(line) for line in explained_lines(t, month)],
                "trend": trend,
                "sites": sorted(
                    (
                        {"name": names.get(key, str(key)), "score": report.score, **_rates(report)}
                        for key, report in by_site.items()
                    ),
                    key=lambda row: str(row["name"]),
                ),
                "quarter": {
                    "label": card.period,
                    "score_low": score_text(t, card.score.low),
                    "score_high": score_text(t, card.score.high),
                    "known": card.score.known,
                    "onsite": card.onsite,
                    "other": card.other,
                    "survey": card.survey,
                    "payment_low": payment_text(t, card.paid_low),
                    "payment_high": payment_text(t, card.paid_high),
                    "percent_low": float(card.paid_low.percent),
                    "percent_high": float(card.paid_high.percent),
                },
                "escalations": [
                    {"week": w.week_of.isoformat(), "fired": w.fired, "paged": w.paged}
                    for w in weeks
                ],
                "labels": {
                    "arrival": t("On-time arrival"),
                    "fix": t("On-site fix"),
                    "satisfaction": t("Rated 3-5"),
                    "repeat": t("30-day repeat repairs (software)"),
                },
            }
        )

    async def _mine(self, request: web.Request) -> web.Response:
        """The engineer's view: my open tickets by the nearest deadline, with map links."""
        asker = await self._asker(request)
        if asker.viewer.role is not Role.ENGINEER:
            raise _json_error(web.HTTPForbidden, word(asker.t, "forbidden"))
        cards = await self.helpdesk.tickets.queue_for(asker.viewer.id)
        # The board's own countdowns: started, due and the 80 % step's moment (amber).
        running = await self.console.running_clocks([card.id for card in cards])
        rounds = await self.helpdesk.inspections.open_rounds_for(asker.viewer.id)
        t = self.i18n.get(asker.language)
        return web.json_response(
            {
                "now": int(self.helpdesk.core.clock.now().timestamp()),
                # The inspection rounds open at my site: each device and what is saved.
                "rounds": [
                    {
                        "id": r.id,
                        "plan": r.plan_name,
                        "period": r.period,
                        "status": r.status,
                        "due": html.unescape(t.moment(r.due_at, r.timezone)),
                        "due_at": int(r.due_at.timestamp()),
                        "devices": [
                            {
                                "tag": d.tag,
                                "kind": d.kind.value,
                                "location": d.location,
                                "outcome": r.items[d.asset_id].outcome
                                if d.asset_id in r.items
                                else None,
                                "ticket": r.items[d.asset_id].ticket_id
                                if d.asset_id in r.items
                                else None,
                                "asset_id": d.asset_id,
                                # What the chat's walk asks of this kind of device.
                                "checklist": _checklist(t, d.kind)
                                if d.asset_id not in r.items
                                else None,
                            }
                            for d in r.devices
                        ],
                    }
                    for r in rounds
                ],
                "impacts": [[impact.value, label(t, IMPACT, impact)] for impact in Impact],
                "tickets": [
                    {
                        "id": card.id,
                        "status": card.status.value,
                        "level": card.severity,
                        "symptom": card.symptom[:200],
                        "site": card.site_name,
                        "address": card.site_address,
                        "location": card.location,
                        "asset_tag": card.asset_tag,
                        "asset_kind": card.asset_kind.value if card.asset_kind else None,
                        "reporter": card.reporter_name,
                        "phone": card.contact_phone,
                        "map": _map_link(card.site_latitude, card.site_longitude),
                        "clocks": [list(clock) for clock in running.get(card.id, ())],
                    }
                    for card in cards
                ],
            }
        )

    async def _ticket(self, request: web.Request) -> web.Response:
        """One ticket with its timeline, for a person who may see it (core decides)."""
        asker = await self._asker(request)
        ticket_id = _ticket_id(request, asker)
        try:
            history = await self.helpdesk.tickets.history(ticket_id, viewer_id=asker.viewer.id)
        except DomainError as error:
            raise self._refusal(asker, error) from None
        card = history.card
        extras = await ticket_extras(self.helpdesk.core, ticket_id)
        t = self.i18n.get(asker.language)

        def moment(value: datetime | None) -> str | None:
            return html.unescape(t.moment(value, card.timezone)) if value else None

        lines = (timeline_line(t, card.timezone, entry) for entry in history.entries)
        return web.json_response(
            {
                "now": int(self.helpdesk.core.clock.now().timestamp()),
                "id": card.id,
                "status": card.status.value,
                "level": card.severity,
                "symptom": card.symptom,
                "site": card.site_name,
                "site_id": card.site_id,
                "location": card.location,
                "asset_tag": card.asset_tag,
                "asset_kind": card.asset_kind.value if card.asset_kind else None,
                "brand_model": card.brand_model,
                "reporter": card.reporter_name,
                "phone": card.contact_phone,
                "assignee_id": card.assignee_id,
                "assignee": card.assignee_name,
                "reported_at": _iso(card.reported_at),
                "reported": moment(card.reported_at),
                "warranty_until": card.warranty_until.isoformat() if card.warranty_until else None,
                "photos": len(extras.photos),
                # Business time used per clock of this cycle against its target.
                "usage": [
                    {
                        "kind": u.kind,
                        "target": u.target_seconds,
                        "used": u.used_seconds,
                        "paused": u.paused_seconds,
                        "share": round(u.share, 3),
                        "running": u.running,
                    }
                    for u in extras.clocks
                ],
                "steps": [
                    {
                        "clock": step.clock,
                        "percent": step.percent,
                        "status": "skipped" if step.skipped else step.status.value,
                        "due": moment(step.due_at),
                        "done": moment(step.done_at),
                    }
                    for step in extras.steps
                ],
                "pages": [
                    {
                        "clock": page.clock,
                        "level": page.level,
                        "to": page.recipient,
                        "sent": moment(page.sent_at),
                        "repeats": page.repeats,
                        "acknowledged": moment(page.acknowledged_at),
                        "by": page.acknowledged_by,
                    }
                    for page in extras.pages
                ],
                "sheet": card.status in SHEET_STATUSES,
                "open": card.status in OPEN_STATUSES,
                "clocks": [
                    {
                        "kind": c.kind,
                        "due_at": _iso(c.due_at),
                        "due": moment(c.due_at),
                        "stopped_at": _iso(c.stopped_at),
                        "stopped": moment(c.stopped_at),
                        "met": c.met,
                        "paused": c.paused,
                        "breached": c.breached,
                    }
                    for c in card.clocks
                ],
                "repairs": [
                    {
                        "id": r.ticket_id,
                        "reported": moment(r.reported_at),
                        "symptom": r.symptom,
                        "status": r.status.value,
                    }
                    for r in card.repairs
                ],
                # The chat's own timeline lines (bot.handlers.thread), as plain text.
                "timeline": [html.unescape(line) for line in lines if line is not None],
            }
        )

    async def _photo(self, request: web.Request) -> web.StreamResponse:
        """One of the ticket's photos, fetched from Telegram for a person who may see it."""
        asker = await self._asker(request)
        ticket_id = _ticket_id(request, asker)
        number = request.match_info["n"]
        if not number.isdigit() or len(number) > 4:
            raise _json_error(web.HTTPBadRequest, word(asker.t, "bad_request"))
        try:
            await self.helpdesk.tickets.history(ticket_id, viewer_id=asker.viewer.id)
        except DomainError as error:
            raise self._refusal(asker, error) from None
        photos = (await ticket_extras(self.helpdesk.core, ticket_id)).photos
        if int(number) >= len(photos):
            raise _json_error(web.HTTPNotFound, word(asker.t, "photo_missing"))
        file_id = photos[int(number)]
        data = self._photos.get(file_id)
        if data is None:
            if self.config.download is None:
                raise _json_error(web.HTTPServiceUnavailable, word(asker.t, "photo_unavailable"))
            try:
                data = await self.config.download(file_id)
            except Exception:  # the transport's errors are many; the page says it plainly
                log.warning("web console: photo %s of ticket %s not fetched", number, ticket_id)
                raise _json_error(web.HTTPBadGateway, word(asker.t, "photo_unavailable")) from None
            while len(self._photos) >= 64:
                self._photos.pop(next(iter(self._photos)))
            self._photos[file_id] = data
        return web.Response(
            body=data,
            content_type=_image_type(data),
            headers={"Cache-Control": "private, max-age=3600"},
        )

    async def _sheet(self, request: web.Request) -> web.StreamResponse:
        """The ticket's service sheet as the chat's PDF (the core decides who may read it)."""
        asker = await self._asker(request)
        ticket_id = _ticket_id(request, asker)
        try:
            # A ticket out of the asker's sight is not found, as its page says.
            await self.helpdesk.tickets.history(ticket_id, viewer_id=asker.viewer.id)
            sheet = await self.helpdesk.sheets.for_ticket(ticket_id, reader_id=asker.viewer.id)
        except DomainError as error:
            raise self._refusal(asker, error) from None
        t = self.i18n.get(asker.language)
        try:
            data = await asyncio.to_thread(sheet_pdf, t, sheet)
        except FontMissing:
            raise _json_error(
                web.HTTPServiceUnavailable, html.unescape(TAGS.sub("", font_missing(t)))
            ) from None
        return web.Response(
            body=data,
            content_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{sheet_filename(sheet)}"'},
        )

    async def _assign(self, request: web.Request) -> web.Response:
        """Assign or reassign, through the chat's own service."""
        asker = await self._asker(request)
        ticket_id = _ticket_id(request, asker)
        body = await _json_body(request, asker)
        engineer = body.get("engineer_id")
        if not isinstance(engineer, int) or isinstance(engineer, bool):
            raise _json_error(web.HTTPBadRequest, word(asker.t, "bad_request"))
        return await self._act(
            asker,
            lambda: self.helpdesk.tickets.assign(ticket_id, engineer, actor_id=asker.viewer.id),
        )

    async def _level(self, request: web.Request) -> web.Response:
        """Set the fault's level, through the chat's own service."""
        asker = await self._asker(request)
        ticket_id = _ticket_id(request, asker)
        body = await _json_body(request, asker)
        level = body.get("level")
        if not isinstance(level, int) or isinstance(level, bool):
            raise _json_error(web.HTTPBadRequest, word(asker.t, "bad_request"))
        return await self._act(
            asker,
            lambda: self.helpdesk.tickets.set_severity(ticket_id, level, actor_id=asker.viewer.id),
        )

    async def _cancel(self, request: web.Request) -> web.Response:
        """Cancel with a reason, through the chat's own service."""
        asker = await self._asker(request)
        ticket_id = _ticket_id(request, asker)
        body = await _json_body(request, asker)
        reason = body.get("reason")
        if not isinstance(reason, str):
            raise _json_error(web.HTTPBadRequest, word(asker.t, "bad_request"))
        return await self._act(
            asker,
            lambda: self.helpdesk.tickets.cancel(
                ticket_id, actor_id=asker.viewer.id, reason=reason
            ),
        )

    async def _record_device(self, request: web.Request) -> web.Response:
        """Save one device of an inspection round (OK or fault, with a note), through the
        chat's own service: the same rules (the site's engineers, admins), audit, and a
        fault opens a ticket as the walk in chat does."""
        asker = await self._asker(request)
        if asker.viewer.role not in INSPECT_ROLES:
            raise _json_error(web.HTTPForbidden, word(asker.t, "forbidden"))
        inspection_id = _number(request, asker, "id")
        asset_id = _number(request, asker, "asset")
        body = await _json_body(request, asker)
        answers, note, impact = body.get("answers"), body.get("note", ""), body.get("impact")
        if (
            not isinstance(answers, dict)
            or not all(isinstance(v, str | int | float) for v in answers.values())
            or not isinstance(note, str)
            or impact not in (None, *(i.value for i in Impact))
        ):
            raise _json_error(web.HTTPBadRequest, word(asker.t, "bad_request"))
        t = self.i18n.get(asker.language)
        service = self.helpdesk.inspections
        tz = DEFAULT_TIMEZONE  # the round's site's, once it is read
        device = None
        try:
            view = await service.round(inspection_id)
            tz = view.timezone
            device = view.device(asset_id)
            symptom = ""
            if impact is not None and device is not None:
                symptom = fault_symptom(t, view, device, answers, note.strip())
            item = await service.record_device(
                inspection_id,
                asset_id,
                actor_id=asker.viewer.id,
                answers=answers,
                note=note,
                impact=Impact(impact) if impact is not None else None,
                symptom=symptom,
            )
        except DomainError as error:
            if isinstance(error, PermissionDenied):
                # The role may inspect, so the round is another site's: as with tickets and
                # devices, it is not confirmed to exist.
                error = NotFound(entity="inspection", id=inspection_id)
            # The chat asks for the impact in a step of its own; the page in the same form.
            own = {"inspection.impact_required": "check_impact_needed"}.get(error.code)
            text = word(asker.t, own) if own else html.unescape(inspection_error_text(t, tz, error))
            kind: type[web.HTTPException] = web.HTTPConflict
            if isinstance(error, PermissionDenied):
                kind = web.HTTPForbidden
            elif isinstance(error, NotFound):
                kind = web.HTTPNotFound
            elif isinstance(error, InvalidInput):
                kind = web.HTTPBadRequest
            raise _json_error(kind, text) from None
        tag = device.tag if device is not None else str(asset_id)
        if item.ticket_id is not None:
            done = t(
                "❌ {tag} saved with a fault; ticket #{ticket} opened.",
                tag=tag,
                ticket=item.ticket_id,
            )
        else:
            done = t("✅ {tag} saved.", tag=tag)
        return web.json_response(
            {"outcome": item.outcome, "ticket": item.ticket_id, "message": html.unescape(done)}
        )

    # --- the asset register ----------------------------------------------------------------

    def _asset_refusal(self, asker: Asker, error: DomainError) -> web.HTTPException:
        """The register's refusals in the console's words (the chat's speak of tickets)."""
        if isinstance(error, PermissionDenied):
            key = {"other_site": "asset_other_site", "asset_edit": "asset_edit_admins"}.get(
                str(error.params.get("action")), "forbidden"
            )
            return _json_error(web.HTTPForbidden, word(asker.t, key))
        if isinstance(error, NotFound) and error.code == "asset.unknown":
            text = word(asker.t, "asset_unknown").format(tag=error.params.get("tag", "?"))
            return _json_error(web.HTTPNotFound, text)
        if isinstance(error, InvalidInput) and error.code == "asset.bad_value":
            text = word(asker.t, "bad_value").format(field=error.params.get("field", "?"))
            return _json_error(web.HTTPBadRequest, text)
        if isinstance(error, InvalidInput) and error.code == "asset.too_many":
            return _json_error(web.HTTPBadRequest, word(asker.t, "labels_too_many"))
        return self._refusal(asker, error)

    async def _assets(self, request: web.Request) -> web.Response:
        """The register's list in my scope, narrowed by site, kind and text."""
        asker = await self._asker(request)
        query = request.query
        try:
            site_text = query.get("site", "").strip()
            if site_text and (not site_text.isdigit() or len(site_text) > 12):
                raise ValueError("site")
            kind_text = query.get("kind", "").strip()
            kind = AssetKind(kind_text) if kind_text else None
        except ValueError:
            raise _json_error(web.HTTPBadRequest, word(asker.t, "bad_request")) from None
        try:
            found = await self.register.listing(
                asker.viewer.id,
                search=query.get("q", "")[:200],
                site_id=int(site_text) if site_text else None,
                kind=kind,
                include_retired=query.get("retired", "") in ("1", "true"),
            )
        except DomainError as error:
            raise self._asset_refusal(asker, error) from None
        return web.json_response(
            {
                "total": found.total,
                "may_edit": found.may_edit,
                "sites": [{"id": key, "name": name} for key, name in found.sites],
                "assets": [
                    {
                        "tag": r.tag,
                        "kind": r.kind.value,
                        "site": r.site_name,
                        "location": r.location,
                        "brand_model": " ".join(p for p in (r.brand, r.model) if p),
                        "user": r.user_name,
                        "warranty_until": r.warranty_until.isoformat()
                        if r.warranty_until
                        else None,
                        "active": r.active,
                        "repairs": r.repairs,
                        "repeats": r.repeats,
                        "open": r.open,
                    }
                    for r in found.rows
                ],
            }
        )

    async def _asset(self, request: web.Request) -> web.Response:
        """One device: its fields, repair history with repeat flags, warranty, inspections."""
        asker = await self._asker(request)
        try:
            detail = await self.register.detail(asker.viewer.id, request.match_info["tag"])
        except DomainError as error:
            raise self._asset_refusal(asker, error) from None
        return web.json_response(self._asset_json(asker, detail))

    def _asset_json(self, asker: Asker, detail: AssetDetail) -> dict[str, Any]:
        t = self.i18n.get(asker.language)
        view = detail.view

        def moment(value: datetime) -> str:
            return html.unescape(t.moment(value, DEFAULT_TIMEZONE))

        fields = {
            name: (value.isoformat() if isinstance(value, date) else value)
            for name in ASSET_FIELDS
            if (value := view.value(name)) is not None
        }
        return {
            "tag": view.tag,
            "kind": view.kind.value,
            "site": view.site_name,
            "site_code": view.site,
            "active": view.active,
            "fields": fields,
            "warranty_until": view.warranty_until.isoformat() if view.warranty_until else None,
            "in_warranty": detail.in_warranty,
            "repeats": detail.repeats,
            "may_edit": detail.may_edit,
            "repairs": [
                {
                    "id": r.ticket_id,
                    "reported": moment(r.reported_at),
                    "symptom": r.symptom,
                    "status": r.status.value,
                    "repeat_of": r.repeat_of_id,
                    "result": r.result,
                }
                for r in detail.repairs
            ],
            "inspections": [
                {
                    "plan": i.plan,
                    "period": i.period,
                    "outcome": i.outcome,
                    "note": i.note,
                    "checked": moment(i.checked_at),
                    "ticket": i.ticket_id,
                }
                for i in detail.inspections
            ],
        }

    async def _edit_asset(self, request: web.Request) -> web.Response:
        """Change a device's fields (administrators), through the register's own service."""
        asker = await self._asker(request)
        body = await _json_body(request, asker)
        changes = body.get("changes")
        if not isinstance(changes, dict) or not changes:
            raise _json_error(web.HTTPBadRequest, word(asker.t, "bad_request"))
        tag = request.match_info["tag"]
        try:
            done = await self.register.edit(asker.viewer.id, tag, changes)
            detail = await self.register.detail(asker.viewer.id, tag)
        except DomainError as error:
            raise self._asset_refusal(asker, error) from None
        answer = self._asset_json(asker, detail)
        answer["changed"] = [change.field for change in done]
        answer["message"] = word(asker.t, "done")
        return web.json_response(answer)

    async def _labels(self, request: web.Request) -> web.StreamResponse:
        """The QR sticker PDF for the devices chosen (the command line's own renderer)."""
        from bot.rendering.labels import Sticker, render_labels  # fpdf2 only when asked

        asker = await self._asker(request)
        body = await _json_body(request, asker)
        tags = body.get("tags")
        layout_name = body.get("layout", DEFAULT_LAYOUT)
        if (
            not isinstance(tags, list)
            or not all(isinstance(tag, str) for tag in tags)
            or layout_name not in LAYOUTS
        ):
            raise _json_error(web.HTTPBadRequest, word(asker.t, "bad_request"))
        if not tags:
            raise _json_error(web.HTTPBadRequest, word(asker.t, "labels_none"))
        try:
            views = await self.register.for_labels(asker.viewer.id, tags)
        except DomainError as error:
            raise self._asset_refusal(asker, error) from None
        username = self.config.username().lstrip("@")
        if not username:
            raise _json_error(web.HTTPServiceUnavailable, word(asker.t, "labels_no_username"))
        font = find_cjk_font()
        if font is None:
            raise _json_error(web.HTTPServiceUnavailable, word(asker.t, "labels_no_font"))
        stickers = [
            Sticker(
                url=f"https://t.me/{username}?start={sticker_payload(view.tag)}",
                tag=view.tag,
                kind=view.kind,
                place=" · ".join(part for part in (view.department, view.location) if part),
                site=view.site_name,
            )
            for view in views
        ]
        try:
            data = await asyncio.to_thread(
                render_labels,
                stickers,
                LAYOUTS[layout_name],
                font,
                chinese=self.i18n.get("zh_CN"),
                english=self.i18n.get("en"),
            )
        except ValueError:
            raise _json_error(web.HTTPServiceUnavailable, word(asker.t, "labels_no_font")) from None
        return web.Response(
            body=data,
            content_type="application/pdf",
            headers={"Content-Disposition": 'attachment; filename="faultdesk-labels.pdf"'},
        )

    async def _act(self, asker: Asker, change: Callable[[], Awaitable[Any]]) -> web.Response:
        """Run one core service call; its refusal in the asker's words."""
        try:
            ticket = await change()
        except DomainError as error:
            raise self._refusal(asker, error) from None
        return web.json_response(
            {
                "id": ticket.id,
                "status": ticket.status.value,
                "level": ticket.severity,
                "assignee_id": ticket.assignee_id,
                "message": word(asker.t, "done"),
            }
        )


async def _to_slash(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(f"{PREFIX}/")


def _json_error(kind: type[web.HTTPException], text: str) -> web.HTTPException:
    return kind(
        text=json.dumps({"error": text}, ensure_ascii=False), content_type="application/json"
    )


TAGS = re.compile(r"<[^>]+>")
# The register fields a device page shows (and an administrator may edit), in order.
ASSET_FIELDS: Final = tuple(name for name in EDITABLE if name not in ("kind", "site"))
SHEET_STATUSES: Final = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})


def font_missing(t: Any) -> str:
    """Why no PDF can be made here (the chat's own sentence)."""
    return str(
        t(
            "The service sheet cannot be made: no Chinese font is installed on the server"
            " (fonts-wqy-microhei)."
        )
    )


def _rates(report: KpiReport) -> dict[str, float | None]:
    """The four KPI rates of a report as shares (None: nothing counted)."""
    return {
        "arrival": report.arrival.as_float(),
        "fix": report.fix.as_float(),
        "satisfaction": report.satisfaction.as_float(),
        "repeat": report.repeat.as_float(),
    }


def month_label(moment: datetime, tz: str) -> str:
    """'2026-03' for a moment in zone `tz`."""
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local.year:04d}-{local.month:02d}"


def last_months(label: str, count: int) -> list[str]:
    """`label` and the `count - 1` months before it, newest first."""
    year, month = int(label[:4]), int(label[5:7])
    months = []
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months


def _map_link(latitude: float | None, longitude: float | None) -> str | None:
    """The site on OpenStreetMap (reachable without an account, in any country)."""
    if latitude is None or longitude is None:
        return None
    return (
        f"https://www.openstreetmap.org/?mlat={latitude:.6f}&mlon={longitude:.6f}"
        f"#map=17/{latitude:.6f}/{longitude:.6f}"
    )


def _encode_rows(rows: tuple[BoardRow, ...]) -> str:
    """The board's tickets as JSON; each clock is [kind, started, due, amber, paused,
    breached], moments in Unix seconds (the page counts down from them)."""
    return json.dumps(
        [
            {
                "id": r.id,
                "status": r.status.value,
                "level": r.severity,
                "site_id": r.site_id,
                "site": r.site_name,
                "assignee_id": r.assignee_id,
                "assignee": r.assignee_name,
                "asset_tag": r.asset_tag,
                "asset_kind": r.asset_kind,
                "symptom": r.symptom,
                "clocks": r.clocks,
            }
            for r in rows
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _image_type(data: bytes) -> str:
    """The picture's media type from its first bytes (Telegram sends JPEG photos)."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    return "application/octet-stream"


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _checklist(t: Any, kind: AssetKind) -> list[dict[str, Any]]:
    """A device's checklist as the page asks it: each item's name and its answers (a
    reading such as lamp hours is typed)."""
    return [
        {
            "code": item.code,
            "label": check_label(t, item.code),
            "number": item.kind is CheckKind.NUMBER,
            "answers": [[answer.value, label(t, ANSWER_LABEL, answer)] for answer in item.answers],
        }
        for item in checklist(kind)
    ]


def _number(request: web.Request, asker: Asker, name: str) -> int:
    """A whole number from the path; 400 otherwise."""
    text = request.match_info[name]
    if not text.isdigit() or len(text) > 12:
        raise _json_error(web.HTTPBadRequest, word(asker.t, "bad_request"))
    return int(text)


def _ticket_id(request: web.Request, asker: Asker) -> int:
    text = request.match_info["id"]
    if not text.isdigit() or len(text) > 12:
        raise _json_error(web.HTTPBadRequest, word(asker.t, "bad_request"))
    return int(text)


async def _json_body(request: web.Request, asker: Asker) -> dict[str, Any]:
    """The JSON object posted; only JSON is accepted (a cross-site form cannot send it)."""
    if request.content_type != "application/json":
        raise _json_error(web.HTTPUnsupportedMediaType, word(asker.t, "bad_request"))
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise _json_error(web.HTTPBadRequest, word(asker.t, "bad_request")) from None
    if not isinstance(body, dict):
        raise _json_error(web.HTTPBadRequest, word(asker.t, "bad_request"))
    return body


def _count(query: Any, name: str) -> int | None:
    """A whole number from the query string (None when absent); ValueError otherwise."""
    value = query.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 9:
        raise ValueError(name)
    return int(value)


def _board_filter(query: Any) -> BoardFilter:
    """The board's filters from the query string; ValueError for a malformed one."""

    def number(name: str) -> int | None:
        value = query.get(name, "").strip()
        if not value:
            return None
        if not value.isdigit() or len(value) > 12:
            raise ValueError(name)
        return int(value)

    status = query.get("status", "").strip()
    return BoardFilter(
        site_id=number("site"),
        severity=number("level"),
        status=TicketStatus(status) if status else None,
        engineer_id=number("engineer"),
        overdue_only=query.get("overdue", "") in ("1", "true"),
        search=query.get("q", "")[:200],
    )


def _message_page(text: str, language: str) -> str:
    """A small page carrying one sentence (an invalid login link)."""
    lang = language.replace("_", "-")
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/web/static/console.css"><title>faultdesk</title></head>'
        f'<body><main class="message"><p id="message">{html.escape(text)}</p></main></body></html>'
    )


class WebServer:
    """The console on its own address (polling mode has no webhook server to share)."""

    def __init__(self, console: WebConsole, listen: str) -> None:
        from bot.webhook import parse_listen

        self.console = console
        self.host, self.port = parse_listen(listen)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on host:port (port 0 picks a free one; `port` tells which)."""
        root = web.Application()
        self.console.mount(root)
        runner = web.AppRunner(root, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        self._runner = runner
        if runner.addresses:
            self.port = int(runner.addresses[0][1])
        log.info("web console on http://%s:%s/web/", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
