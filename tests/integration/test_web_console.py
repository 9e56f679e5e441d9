"""The web console over HTTP on every backend: who gets in, what the board says, and that
its actions go through the chat's services (same rules, same audit)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.i18n import I18n
from bot.web.auth import make_session, sign_init_data
from bot.web.server import COOKIE, INIT_HEADER, WebConfig, WebConsole
from core.console import ConsoleService
from core.enums import Impact, Role, TicketStatus
from core.models import AuditEvent, WebLogin

TOKEN = "123456:TEST-token-for-the-web-console-abcdef"
OTHER_TOKEN = "654321:another-bot-token-for-forgery-xyz"


def init_data(
    telegram_id: int, *, token: str = TOKEN, age: float = 0.0, language: str = "en"
) -> str:
    """initData as Telegram signs it for a user, `age` seconds old."""
    user = json.dumps({"id": telegram_id, "first_name": "X", "language_code": language})
    return sign_init_data(
        {"auth_date": str(int(time.time() - age)), "query_id": "AAE1", "user": user}, token
    )


@pytest.fixture
async def client(helpdesk) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    console = WebConsole(
        helpdesk, I18n(default="en"), WebConfig(bot_token=TOKEN, secure_cookie=False)
    )
    root = web.Application()
    console.mount(root)
    async with TestClient(TestServer(root)) as test_client:
        yield test_client


async def changes(helpdesk) -> int:
    async with helpdesk.core.reading() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEvent)))


async def open_ticket(helpdesk, world) -> int:
    ticket = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="Printer jams", impact=Impact.DEGRADED
    )
    return ticket.id


async def test_the_board_lists_open_tickets_by_nearest_deadline_with_countdowns(
    helpdesk, world, client, clock
):
    first = await open_ticket(helpdesk, world)
    urgent = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="Server room PC down", impact=Impact.BUSINESS_STOPPED
    )
    response = await client.get("/web/api/board", headers={INIT_HEADER: init_data(3001)})
    assert response.status == 200
    board = await response.json()
    ids = [t["id"] for t in board["tickets"]]
    assert set(ids) == {first, urgent.id}
    # Clocks: [kind, started, due, amber, paused, breached], moments in Unix seconds.
    due = [min(c[2] for c in t["clocks"]) for t in board["tickets"]]
    assert due == sorted(due)
    row = board["tickets"][0]
    assert row["assignee"] == "Wang Wei" and row["site"] == "Head office"
    kinds = [c[0] for c in row["clocks"]]
    assert kinds == ["acknowledge", "arrival", "restore", "resolve"]
    _kind, started, deadline, amber, paused, breached = row["clocks"][0]
    # The amber moment is the ladder's 80 % step: 80 % of the way to the deadline.
    assert started == int(clock.now().timestamp())
    assert amber == started + round(0.8 * (deadline - started))
    assert (paused, breached) == (False, False)
    assert board["now"] == int(clock.now().timestamp())
    assert board["may_act"] is True and board["total_open"] == 2


async def test_filters_and_search(helpdesk, world, client):
    printer = await open_ticket(helpdesk, world)
    pc = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="No picture", impact=Impact.CANNOT_WORK, asset_tag="PC-0001"
    )
    headers = {INIT_HEADER: init_data(3001)}

    async def ids(query: str) -> set[int]:
        response = await client.get(f"/web/api/board?{query}", headers=headers)
        assert response.status == 200, await response.text()
        return {t["id"] for t in (await response.json())["tickets"]}

    assert await ids("q=pc-0001") == {pc.id}
    assert await ids(f"q=%23{printer}") == {printer}
    assert await ids("q=jams") == {printer}
    assert await ids("q=100%25") == set()
    assert await ids("overdue=1") == set()
    by_engineer = {
        engineer: {
            t for t in (printer, pc.id) if (await helpdesk.tickets.card(t)).assignee_id == engineer
        }
        for engineer in (world.engineer_id, world.backup_id)
    }
    for engineer, theirs in by_engineer.items():
        assert await ids(f"engineer={engineer}") == theirs
    assert await ids("status=assigned") == {printer, pc.id}
    level = (await helpdesk.tickets.card(pc.id)).severity
    assert await ids(f"level={level}") >= {pc.id}
    bad = await client.get("/web/api/board?status=nonsense", headers=headers)
    assert bad.status == 400
    assert (await bad.json())["error"] == "That request is not valid."


async def test_actions_go_through_the_core_with_its_rules_and_audit(helpdesk, world, client):
    ticket_id = await open_ticket(helpdesk, world)
    headers = {INIT_HEADER: init_data(3001)}

    reassigned = await client.post(
        f"/web/api/tickets/{ticket_id}/assign",
        json={"engineer_id": world.backup_id},
        headers=headers,
    )
    assert reassigned.status == 200, await reassigned.text()
    leveled = await client.post(
        f"/web/api/tickets/{ticket_id}/level", json={"level": 1}, headers=headers
    )
    assert leveled.status == 200
    card = await helpdesk.tickets.card(ticket_id)
    assert (card.assignee_id, card.severity) == (world.backup_id, 1)
    async with helpdesk.core.reading() as session:
        actions = list(
            await session.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.entity_id == ticket_id, AuditEvent.actor_id == world.dispatcher_id
                )
            )
        )
    assert "ticket.assigned" in actions and "ticket.severity_changed" in actions

    # The chat's rules: a reason is needed to cancel, in the asker's words.
    no_reason = await client.post(
        f"/web/api/tickets/{ticket_id}/cancel", json={"reason": "  "}, headers=headers
    )
    assert no_reason.status == 400
    assert (await no_reason.json())["error"] == "Please give a reason."
    cancelled = await client.post(
        f"/web/api/tickets/{ticket_id}/cancel", json={"reason": "Duplicate"}, headers=headers
    )
    assert cancelled.status == 200
    assert (await helpdesk.tickets.card(ticket_id)).status is TicketStatus.CANCELLED
    board = await (await client.get("/web/api/board", headers=headers)).json()
    assert ticket_id not in {t["id"] for t in board["tickets"]}


async def test_forged_expired_replayed_and_foreign_requests_get_401_and_change_nothing(
    helpdesk, world, client
):
    ticket_id = await open_ticket(helpdesk, world)
    genuine = init_data(3001)
    forged_user = genuine.replace("3001", "4001")
    cases = {
        "nothing": {},
        "garbage": {INIT_HEADER: "hello"},
        "no hash": {INIT_HEADER: genuine.split("&hash=")[0]},
        "another bot's signature": {INIT_HEADER: init_data(3001, token=OTHER_TOKEN)},
        "edited user": {INIT_HEADER: forged_user},
        "expired (replayed after its bound)": {INIT_HEADER: init_data(3001, age=2 * 3600)},
        "dated in the future": {INIT_HEADER: init_data(3001, age=-3600)},
        "unregistered telegram user": {INIT_HEADER: init_data(999999)},
        "tampered cookie": {
            "Cookie": f"{COOKIE}="
            # a staff member's genuine cookie, its person changed to the dispatcher's
            + make_session(
                world.reporter_id, datetime.now(UTC) + timedelta(hours=1), TOKEN
            ).replace(f"{world.reporter_id}.", f"{world.dispatcher_id}.", 1)
        },
        "cookie of another bot": {
            "Cookie": f"{COOKIE}="
            + make_session(world.dispatcher_id, datetime.now(UTC) + timedelta(hours=1), OTHER_TOKEN)
        },
        "expired cookie": {
            "Cookie": f"{COOKIE}="
            + make_session(world.dispatcher_id, datetime.now(UTC) - timedelta(seconds=1), TOKEN)
        },
    }
    before = await changes(helpdesk)
    for name, headers in cases.items():
        client.session.cookie_jar.clear()
        for method, path, body in (
            ("GET", "/web/api/board", None),
            ("POST", f"/web/api/tickets/{ticket_id}/level", {"level": 1}),
            ("POST", f"/web/api/tickets/{ticket_id}/cancel", {"reason": "forged"}),
        ):
            response = await client.request(method, path, json=body, headers=headers)
            assert response.status == 401, (name, path, response.status)
            assert "Open the console again" in (await response.json())["error"]
    assert await changes(helpdesk) == before
    card = await helpdesk.tickets.card(ticket_id)
    assert (card.status, card.severity) == (TicketStatus.ASSIGNED, 3)


async def test_a_deactivated_person_is_refused_at_once(helpdesk, world, client):
    headers = {INIT_HEADER: init_data(3001)}
    assert (await client.get("/web/api/me", headers=headers)).status == 200
    await helpdesk.people.deactivate(world.dispatcher_id)
    assert (await client.get("/web/api/me", headers=headers)).status == 401


async def test_staff_and_engineers_calling_dispatcher_endpoints_get_403(helpdesk, world, client):
    ticket_id = await open_ticket(helpdesk, world)
    before = await changes(helpdesk)
    for telegram_id in (1001, 2002):  # a staff member; an engineer not on this ticket
        headers = {INIT_HEADER: init_data(telegram_id)}
        board = await client.get("/web/api/board", headers=headers)
        assert board.status == 403
        assert (await board.json())["error"] == "This screen is for dispatchers and managers."
        assert (await client.get("/web/api/marker", headers=headers)).status == 403
        for path, body in (
            ("assign", {"engineer_id": world.backup_id}),
            ("level", {"level": 1}),
        ):
            refused = await client.post(
                f"/web/api/tickets/{ticket_id}/{path}", json=body, headers=headers
            )
            assert refused.status == 403, (telegram_id, path)
    # The engineer not on the ticket may not cancel it either.
    refused = await client.post(
        f"/web/api/tickets/{ticket_id}/cancel",
        json={"reason": "no"},
        headers={INIT_HEADER: init_data(2002)},
    )
    assert refused.status == 403
    assert await changes(helpdesk) == before
    card = await helpdesk.tickets.card(ticket_id)
    assert (card.assignee_id, card.severity, card.status) == (
        world.engineer_id,
        3,
        TicketStatus.ASSIGNED,
    )


async def test_a_manager_sees_the_board_but_cannot_act(helpdesk, world, client):
    ticket_id = await open_ticket(helpdesk, world)
    headers = {INIT_HEADER: init_data(4001)}
    board = await (await client.get("/web/api/board", headers=headers)).json()
    assert board["may_act"] is False and [t["id"] for t in board["tickets"]] == [ticket_id]
    refused = await client.post(
        f"/web/api/tickets/{ticket_id}/level", json={"level": 1}, headers=headers
    )
    assert refused.status == 403


async def test_a_dispatcher_sees_only_their_site(helpdesk, world, client):
    branch = await helpdesk.people.create_site(code="ZJ", name="Branch", region="suburb")
    reporter = await helpdesk.people.create_person(
        name="He Yu", role=Role.STAFF, site_id=branch.id, telegram_user_id=1101
    )
    await helpdesk.people.create_person(
        name="Sun Li", role=Role.ENGINEER, site_id=branch.id, telegram_user_id=2101
    )
    theirs = await helpdesk.tickets.report_fault(
        reporter.id, symptom="Projector dark", impact=Impact.DEGRADED
    )
    ours = await open_ticket(helpdesk, world)
    headers = {INIT_HEADER: init_data(3001)}
    board = await (await client.get("/web/api/board", headers=headers)).json()
    assert [t["id"] for t in board["tickets"]] == [ours]
    assert [s["name"] for s in board["sites"]] == ["Head office"]
    other = await client.get(f"/web/api/board?site={branch.id}", headers=headers)
    assert other.status == 403
    refused = await client.post(
        f"/web/api/tickets/{theirs.id}/level", json={"level": 1}, headers=headers
    )
    missing = await client.post(
        f"/web/api/tickets/{theirs.id + 100}/level", json={"level": 1}, headers=headers
    )
    # Another site's ticket is not confirmed to exist: the same answer as a missing one,
    # as its page and photos give.
    assert (refused.status, missing.status) == (404, 404)
    assert (await refused.json())["error"] == (await missing.json())["error"]
    assert "another site" not in (await refused.json())["error"]
    for path in ("", "/sheet.pdf", "/photos/0"):
        answer = await client.get(f"/web/api/tickets/{theirs.id}{path}", headers=headers)
        assert answer.status == 404, path
    assert (await helpdesk.tickets.card(theirs.id)).severity == 3


async def test_a_login_link_works_once_and_sets_a_strict_cookie(helpdesk, world, client, clock):
    console = ConsoleService(helpdesk.core)
    token = await console.issue_login(world.dispatcher_id, valid_for=timedelta(minutes=10))
    opened = await client.get(f"/web/login/{token}", allow_redirects=False)
    assert opened.status == 302 and opened.headers["Location"] == "/web/"
    cookie = opened.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/web" in cookie
    board = await client.get("/web/api/board")
    assert board.status == 200
    # Spent: the same link again, from another browser, opens nothing.
    client.session.cookie_jar.clear()
    again = await client.get(f"/web/login/{token}", allow_redirects=False)
    assert again.status == 401
    assert "not valid any more" in await again.text()
    assert (await client.get("/web/api/board")).status == 401
    # An expired link opens nothing either.
    late = await console.issue_login(world.dispatcher_id, valid_for=timedelta(minutes=10))
    clock.advance(timedelta(minutes=11))
    assert (await client.get(f"/web/login/{late}", allow_redirects=False)).status == 401
    assert (await client.get("/web/login/made-up-token", allow_redirects=False)).status == 401
    async with helpdesk.core.reading() as session:
        logins = list(await session.scalars(select(WebLogin).order_by(WebLogin.id)))
    assert [login.used_at is not None for login in logins] == [True, False]
    assert all(len(login.token_hash) == 64 and token not in login.token_hash for login in logins)


async def test_staff_get_no_login_link(helpdesk, world):
    from core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        await ConsoleService(helpdesk.core).issue_login(
            world.reporter_id, valid_for=timedelta(minutes=10)
        )


async def test_the_marker_moves_when_anything_changes(helpdesk, world, client):
    headers = {INIT_HEADER: init_data(3001)}
    first = (await (await client.get("/web/api/marker", headers=headers)).json())["marker"]
    await open_ticket(helpdesk, world)
    second = (await (await client.get("/web/api/marker", headers=headers)).json())["marker"]
    assert second > first


async def test_words_follow_the_person_then_telegram(helpdesk, world, client):
    me = await (
        await client.get("/web/api/me", headers={INIT_HEADER: init_data(3001, language="ru")})
    ).json()
    assert me["language"] == "en"  # the person chose English in the bot
    await helpdesk.people.set_language(world.dispatcher_id, "zh_CN")
    me = await (await client.get("/web/api/me", headers={INIT_HEADER: init_data(3001)})).json()
    assert me["texts"]["title"] == "调度看板" and me["labels"]["status"]["assigned"]


async def test_the_page_and_its_files_are_served(client):
    page = await client.get("/web/")
    assert page.status == 200 and "console.js" in await page.text()
    script = await client.get("/web/static/console.js")
    assert script.status == 200
    assert (await client.get("/web/static/../server.py")).status in (403, 404)
    assert (await client.get("/web", allow_redirects=False)).headers["Location"] == "/web/"


async def test_bad_input_gets_a_clear_answer(helpdesk, world, client):
    ticket_id = await open_ticket(helpdesk, world)
    headers = {INIT_HEADER: init_data(3001)}
    for path, body in (
        (f"/web/api/tickets/{ticket_id}/level", {"level": "one"}),
        (f"/web/api/tickets/{ticket_id}/level", [1]),
        (f"/web/api/tickets/{ticket_id}/assign", {"engineer_id": True}),
        ("/web/api/tickets/abc/level", {"level": 1}),
    ):
        response = await client.post(path, json=body, headers=headers)
        assert response.status == 400, path
        assert (await response.json())["error"] == "That request is not valid."
    form = await client.post(
        f"/web/api/tickets/{ticket_id}/level", data={"level": "1"}, headers=headers
    )
    assert form.status == 415
    out_of_range = await client.post(
        f"/web/api/tickets/{ticket_id}/level", json={"level": 9}, headers=headers
    )
    assert out_of_range.status == 400
    missing = await client.get("/web/api/tickets/99999", headers=headers)
    assert missing.status == 404
    assert (await helpdesk.tickets.card(ticket_id)).severity == 3
    ticket = await client.get(f"/web/api/tickets/{ticket_id}", headers=headers)
    assert ticket.status == 200
    data = await ticket.json()
    assert data["reporter"] == "Li Na" and "reported by Li Na" in data["timeline"][0]


async def test_the_engineers_view_is_for_engineers(helpdesk, world, client):
    ticket_id = await open_ticket(helpdesk, world)
    mine = await client.get("/web/api/mine", headers={INIT_HEADER: init_data(2001)})
    assert mine.status == 200
    assert [t["id"] for t in (await mine.json())["tickets"]] == [ticket_id]
    other = await client.get("/web/api/mine", headers={INIT_HEADER: init_data(2002)})
    assert (await other.json())["tickets"] == []
    for telegram_id in (1001, 3001):
        refused = await client.get("/web/api/mine", headers={INIT_HEADER: init_data(telegram_id)})
        assert refused.status == 403


async def test_the_service_sheet_pdf_for_those_who_may_read_it(helpdesk, world, client, clock):
    import io

    from pypdf import PdfReader

    from core.enums import ServiceResult, ServiceType
    from core.tickets import ServiceSheet

    ticket_id = await open_ticket(helpdesk, world)
    dispatcher = {INIT_HEADER: init_data(3001)}
    unresolved = await client.get(f"/web/api/tickets/{ticket_id}/sheet.pdf", headers=dispatcher)
    assert unresolved.status == 409
    await helpdesk.tickets.acknowledge(ticket_id, actor_id=world.engineer_id)
    await helpdesk.tickets.arrive(ticket_id, actor_id=world.engineer_id)
    await helpdesk.tickets.resolve(
        ticket_id,
        actor_id=world.engineer_id,
        sheet=ServiceSheet(
            ServiceType.HARDWARE_FAULT, ServiceResult.FIXED_ON_SITE, solution="Cleared the jam"
        ),
    )
    page = await (await client.get(f"/web/api/tickets/{ticket_id}", headers=dispatcher)).json()
    assert page["sheet"] is True
    pdf = await client.get(f"/web/api/tickets/{ticket_id}/sheet.pdf", headers=dispatcher)
    assert pdf.status == 200 and pdf.content_type == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(await pdf.read())).pages)
    assert "Cleared the jam" in text and str(ticket_id) in text
    # An engineer who never had the ticket may not read it: neither its page nor its
    # sheet is confirmed to exist for them.
    stranger = {INIT_HEADER: init_data(2002)}
    refused = await client.get(f"/web/api/tickets/{ticket_id}/sheet.pdf", headers=stranger)
    assert refused.status == 404
    assert (await client.get(f"/web/api/tickets/{ticket_id}", headers=stranger)).status == 404
