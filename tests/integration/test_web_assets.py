"""The console's asset register over HTTP on every backend: the list, one device's page,
an administrator's edit, the QR labels PDF, and who is refused (changing nothing)."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pypdf import PdfReader
from sqlalchemy import func, select

from bot.i18n import I18n
from bot.web.server import INIT_HEADER, WebConfig, WebConsole
from core.assets import AssetRecord
from core.enums import AssetKind, Impact, Role
from core.models import (
    Asset,
    AuditEvent,
    Inspection,
    InspectionItem,
    InspectionPlan,
    Ticket,
)
from tests.integration.test_web_console import OTHER_TOKEN, TOKEN, init_data

ADMIN = 5001
DISPATCHER = 3001
MANAGER = 4001


@pytest.fixture
async def client(helpdesk, world) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    await helpdesk.people.create_person(
        name="Sun Mei", role=Role.ADMIN, site_id=None, telegram_user_id=ADMIN, language="en"
    )
    console = WebConsole(
        helpdesk,
        I18n(default="en"),
        WebConfig(bot_token=TOKEN, secure_cookie=False, username=lambda: "faultdesk_bot"),
    )
    root = web.Application()
    console.mount(root)
    async with TestClient(TestServer(root)) as test_client:
        yield test_client


def signed(telegram_id: int, **more) -> dict[str, str]:
    return {INIT_HEADER: init_data(telegram_id, **more)}


async def audit_count(helpdesk) -> int:
    async with helpdesk.core.reading() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


async def stored(helpdesk, tag: str) -> Asset:
    async with helpdesk.core.reading() as session:
        asset = await session.scalar(select(Asset).where(Asset.tag == tag))
        assert asset is not None
        return asset


async def second_site(helpdesk) -> None:
    """A branch with its own printer, out of the HQ dispatcher's scope."""
    await helpdesk.people.create_site(code="B2", name="Branch two", region="city", address="2 Rd")
    await helpdesk.assets.register(
        AssetRecord(tag="PR-0900", kind=AssetKind.PRINTER, site_code="B2", location="Lobby")
    )


async def repeat_failures(helpdesk, world, clock) -> tuple[int, int]:
    """Two faults on PC-0001 ten days apart: the second repeats the first."""
    first = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="Will not boot", impact=Impact.DEGRADED, asset_tag="PC-0001"
    )
    clock.advance(timedelta(days=10))
    second = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="Boots then freezes", impact=Impact.DEGRADED, asset_tag="PC-0001"
    )
    return first.id, second.id


async def inspected(helpdesk, world, clock) -> None:
    """PC-0001 found faulty in last half-year's health check."""
    async with helpdesk.core.transaction() as tx:
        plan = InspectionPlan(
            code="HQ-PC",
            name="Desktop health check",
            cadence="semiannual",
            site_id=world.site_id,
            asset_kinds=["pc"],
            created_at=tx.now,
        )
        tx.session.add(plan)
        await tx.session.flush()
        round_ = Inspection(
            plan_id=plan.id,
            period="2026-H1",
            site_id=world.site_id,
            starts_on=tx.now,
            due_at=tx.now,
            status="completed",
        )
        tx.session.add(round_)
        await tx.session.flush()
        asset = await tx.session.scalar(select(Asset).where(Asset.tag == "PC-0001"))
        assert asset is not None
        tx.session.add(
            InspectionItem(
                inspection_id=round_.id,
                asset_id=asset.id,
                outcome="fault",
                note="fan noisy",
                checked_at=tx.now,
            )
        )


async def test_the_list_searches_filters_and_flags_repeat_failures(helpdesk, world, client, clock):
    await second_site(helpdesk)
    await helpdesk.assets.register(
        AssetRecord(tag="PJ-0002", kind=AssetKind.PROJECTOR, site_code="HQ", location="Room 5")
    )
    await repeat_failures(helpdesk, world, clock)

    response = await client.get("/web/api/assets", headers=signed(DISPATCHER))
    assert response.status == 200
    data = await response.json()
    # The HQ dispatcher sees HQ's devices only.
    assert [a["tag"] for a in data["assets"]] == ["PC-0001", "PJ-0002"]
    assert data["total"] == 2 and data["may_edit"] is False
    pc = data["assets"][0]
    assert pc["repairs"] == 2 and pc["repeats"] == 1 and pc["open"] == 2
    assert pc["brand_model"] == "Lenovo M720" and pc["location"] == "Room 301"
    assert data["assets"][1]["repairs"] == 0

    found = await (
        await client.get("/web/api/assets?q=room%205", headers=signed(DISPATCHER))
    ).json()
    assert [a["tag"] for a in found["assets"]] == ["PJ-0002"]
    kind = await (await client.get("/web/api/assets?kind=pc", headers=signed(DISPATCHER))).json()
    assert [a["tag"] for a in kind["assets"]] == ["PC-0001"]
    # The administrator sees every site and may edit.
    every = await (await client.get("/web/api/assets", headers=signed(ADMIN))).json()
    assert {a["tag"] for a in every["assets"]} == {"PC-0001", "PJ-0002", "PR-0900"}
    assert every["may_edit"] is True
    one = await (await client.get("/web/api/assets?q=PR-09", headers=signed(ADMIN))).json()
    assert [a["site"] for a in one["assets"]] == ["Branch two"]


async def test_the_device_page_has_repairs_repeats_warranty_and_inspections(
    helpdesk, world, client, clock
):
    await helpdesk.assets.edit(
        "PC-0001", {"warranty_until": clock.now().date() + timedelta(days=30)}
    )
    first, second = await repeat_failures(helpdesk, world, clock)
    await inspected(helpdesk, world, clock)

    response = await client.get("/web/api/assets/pc-0001", headers=signed(MANAGER))
    assert response.status == 200
    asset = await response.json()
    assert asset["tag"] == "PC-0001" and asset["site"] == "Head office"
    assert asset["fields"]["location"] == "Room 301" and asset["fields"]["brand"] == "Lenovo"
    # Reported 10 days after the warranty date was set 30 days ahead: still covered.
    assert asset["in_warranty"] is True
    assert [r["id"] for r in asset["repairs"]] == [second, first]
    assert asset["repairs"][0]["repeat_of"] == first and asset["repairs"][1]["repeat_of"] is None
    assert asset["repeats"] == 1
    assert asset["inspections"] == [
        {
            "plan": "Desktop health check",
            "period": "2026-H1",
            "outcome": "fault",
            "note": "fan noisy",
            "checked": asset["inspections"][0]["checked"],
            "ticket": None,
        }
    ]
    clock.advance(timedelta(days=25))
    later = await (await client.get("/web/api/assets/PC-0001", headers=signed(MANAGER))).json()
    assert later["in_warranty"] is False


async def test_an_administrator_edits_through_the_registers_service(helpdesk, world, client):
    before = await audit_count(helpdesk)
    response = await client.post(
        "/web/api/assets/PC-0001",
        json={"changes": {"location": "Room 305", "warranty_until": "2027-06-30"}},
        headers=signed(ADMIN),
    )
    assert response.status == 200, await response.text()
    answer = await response.json()
    assert sorted(answer["changed"]) == ["location", "warranty_until"]
    assert answer["fields"]["location"] == "Room 305"
    asset = await stored(helpdesk, "PC-0001")
    assert asset.location == "Room 305" and asset.warranty_until == date(2027, 6, 30)
    async with helpdesk.core.reading() as session:
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "asset.edited"))
    assert event is not None and event.data["changes"]["location"] == ["Room 301", "Room 305"]
    assert await audit_count(helpdesk) == before + 1


@pytest.mark.parametrize(
    ("changes", "status", "words"),
    [
        ({"warranty_until": "30/06/2027"}, 400, "warranty_until: this value cannot be used."),
        ({"kind": "toaster"}, 400, "kind: this value cannot be used."),
        ({"tag": "X"}, 400, None),
        ({"location": 5}, 400, None),
        ({"location": "x" * 201}, 400, None),
    ],
)
async def test_bad_edits_get_a_clear_answer_and_change_nothing(
    helpdesk, world, client, changes, status, words
):
    before = await audit_count(helpdesk)
    response = await client.post(
        "/web/api/assets/PC-0001", json={"changes": changes}, headers=signed(ADMIN)
    )
    assert response.status == status
    error = (await response.json())["error"]
    assert "Traceback" not in error and error
    if words:
        assert error == words
    assert await audit_count(helpdesk) == before
    assert (await stored(helpdesk, "PC-0001")).location == "Room 301"


async def test_forged_foreign_and_unprivileged_requests_are_refused_and_change_nothing(
    helpdesk, world, client
):
    await second_site(helpdesk)
    before = await audit_count(helpdesk)
    edit = {"changes": {"location": "Basement"}}
    refused = [
        # A forged signature, an expired one, and none at all: 401.
        (client.post("/web/api/assets/PC-0001", json=edit, headers=signed(ADMIN, token=OTHER_TOKEN)), 401),
        (client.post("/web/api/assets/PC-0001", json=edit, headers=signed(ADMIN, age=7200)), 401),
        (client.post("/web/api/assets/PC-0001", json=edit), 401),
        (client.get("/web/api/assets", headers=signed(ADMIN, token=OTHER_TOKEN)), 401),
        # Only administrators edit: a dispatcher and a manager get 403.
        (client.post("/web/api/assets/PC-0001", json=edit, headers=signed(DISPATCHER)), 403),
        (client.post("/web/api/assets/PC-0001", json=edit, headers=signed(MANAGER)), 403),
        # Staff and engineers have no register screen.
        (client.get("/web/api/assets", headers=signed(1001)), 403),
        (client.get("/web/api/assets/PC-0001", headers=signed(2001)), 403),
        (client.post("/web/api/assets/labels.pdf", json={"tags": ["PC-0001"]}, headers=signed(1001)), 403),
        # Another site's device answers as an unknown one (its existence is not confirmed);
        # asking for another site's list is refused.
        (client.get("/web/api/assets/PR-0900", headers=signed(DISPATCHER)), 404),
        (client.post("/web/api/assets/labels.pdf", json={"tags": ["PR-0900"]}, headers=signed(DISPATCHER)), 404),
        (client.get("/web/api/assets?site=999", headers=signed(DISPATCHER)), 403),
        (client.get("/web/api/assets/NOPE-1", headers=signed(DISPATCHER)), 404),
        (client.get("/web/api/assets?kind=toaster", headers=signed(DISPATCHER)), 400),
        (client.post("/web/api/assets/labels.pdf", json={"tags": []}, headers=signed(DISPATCHER)), 400),
        (client.post("/web/api/assets/labels.pdf", data="tags=PC-0001", headers={**signed(DISPATCHER), "Content-Type": "application/x-www-form-urlencoded"}), 415),
    ]  # fmt: skip
    for request, status in refused:
        response = await request
        assert response.status == status, (status, await response.text())
        body = json.loads(await response.text())
        assert body["error"] and "Ticket" not in body["error"]
    assert await audit_count(helpdesk) == before
    assert (await stored(helpdesk, "PC-0001")).location == "Room 301"


async def test_refusals_say_why_in_the_persons_words(helpdesk, world, client):
    await second_site(helpdesk)
    other = await client.get("/web/api/assets/PR-0900", headers=signed(DISPATCHER))
    unknown = await client.get("/web/api/assets/PR-0999", headers=signed(DISPATCHER))
    # Another site's device reads exactly as a tag nobody registered.
    assert (other.status, unknown.status) == (404, 404)
    assert (await other.json())["error"] == (await unknown.json())["error"].replace("0999", "0900")
    assert "PR-0900" in (await other.json())["error"]
    edit = await client.post(
        "/web/api/assets/PC-0001",
        json={"changes": {"location": "x"}},
        headers=signed(DISPATCHER, language="ru"),
    )
    assert edit.status == 403
    # The dispatcher chose English; the words follow the person first.
    assert (await edit.json())["error"] == "Only administrators change the asset register."
    too_many = await client.post(
        "/web/api/assets/labels.pdf",
        json={"tags": [f"PC-{n:04d}" for n in range(1001)]},
        headers=signed(DISPATCHER),
    )
    assert too_many.status == 400
    assert "at most 1000" in (await too_many.json())["error"]


async def test_the_labels_pdf_carries_a_sticker_per_selected_device(helpdesk, world, client):
    await helpdesk.assets.register(
        AssetRecord(tag="PJ-0002", kind=AssetKind.PROJECTOR, site_code="HQ", location="Room 5")
    )
    response = await client.post(
        "/web/api/assets/labels.pdf",
        json={"tags": ["PC-0001", "PJ-0002"]},
        headers=signed(DISPATCHER),
    )
    assert response.status == 200, await response.text()
    assert response.content_type == "application/pdf"
    reader = PdfReader(io.BytesIO(await response.read()))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "PC-0001" in text and "PJ-0002" in text and "Room 5" in text
    # Only the selected devices: the HQ printer registered by the fixture is not there.
    assert text.count("PC-0001") == 1


async def test_no_ticket_changes_from_reading_the_register(helpdesk, world, client):
    await client.get("/web/api/assets", headers=signed(ADMIN))
    async with helpdesk.core.reading() as session:
        assert int(await session.scalar(select(func.count()).select_from(Ticket)) or 0) == 0
