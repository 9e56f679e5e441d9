"""Inspection results saved from the console's engineer view, on every backend: through the
chat's own service (same rules, same audit, a fault opens a ticket), and refused to
everyone else without changing anything."""

from __future__ import annotations

from sqlalchemy import func, select

from core.assets import AssetRecord
from core.enums import AssetKind, Role, TicketStatus
from core.models import AuditEvent, InspectionItem, Ticket
from tests.integration.test_web_console import (
    INIT_HEADER,
    OTHER_TOKEN,
    changes,
    client,
    init_data,
)

__all__ = ["client"]  # the fixture, used by name

PROJECTOR_OK = {"image": "ok", "lamp_hours": "2100", "filter_clean": "ok", "remote_batteries": "ok"}
MIC_FAULT = {"sound_clear": "fault", "batteries": "replaced", "cables": "ok"}


async def a_round(helpdesk, world) -> tuple[int, dict[str, int]]:
    """This month's meeting-room round at the head office, walked by the world's engineer."""
    for tag, kind in (("PJ-01", AssetKind.PROJECTOR), ("MIC-01", AssetKind.MICROPHONE)):
        await helpdesk.assets.register(
            AssetRecord(tag=tag, kind=kind, site_code="HQ", location="Meeting room A")
        )
    await helpdesk.inspections.create_plan(
        code="HQ-ROOMS", name="Meeting rooms", cadence="monthly", site_id=world.site_id,
        engineer_id=world.engineer_id,
    )  # fmt: skip
    (round_,) = await helpdesk.inspections.open_rounds_for(world.engineer_id)
    return round_.id, {d.tag: d.asset_id for d in round_.devices}


async def items(helpdesk) -> list[tuple[int, str, str, int | None]]:
    async with helpdesk.core.reading() as session:
        rows = await session.execute(
            select(
                InspectionItem.asset_id,
                InspectionItem.outcome,
                InspectionItem.note,
                InspectionItem.ticket_id,
            ).order_by(InspectionItem.id)
        )
        return [tuple(row) for row in rows]


async def test_the_engineer_sees_each_devices_checklist(helpdesk, world, client):
    await a_round(helpdesk, world)
    mine = await (await client.get("/web/api/mine", headers={INIT_HEADER: init_data(2001)})).json()
    (round_,) = mine["rounds"]
    projector = next(d for d in round_["devices"] if d["tag"] == "PJ-01")
    codes = [item["code"] for item in projector["checklist"]]
    assert codes == ["image", "lamp_hours", "filter_clean", "remote_batteries"]
    lamp = projector["checklist"][1]
    assert lamp["label"] == "Lamp hours" and lamp["number"] is True
    assert projector["checklist"][0]["answers"] == [["ok", "✅ OK"], ["fault", "❌ Fault"]]
    assert ["cannot_work", "I cannot do my work with it"] in mine["impacts"]


async def test_the_engineer_marks_devices_ok_and_at_fault(helpdesk, world, client):
    round_id, tags = await a_round(helpdesk, world)
    headers = {INIT_HEADER: init_data(2001)}
    saved = await client.post(
        f"/web/api/inspections/{round_id}/devices/{tags['PJ-01']}",
        json={"answers": PROJECTOR_OK, "note": ""},
        headers=headers,
    )
    assert saved.status == 200, await saved.text()
    assert await saved.json() == {"outcome": "ok", "ticket": None, "message": "✅ PJ-01 saved."}

    # A fault without its impact is refused with the sentence, and nothing is saved.
    before = await changes(helpdesk)
    path = f"/web/api/inspections/{round_id}/devices/{tags['MIC-01']}"
    body = {"answers": MIC_FAULT, "note": "crackles at high volume"}
    refused = await client.post(path, json=body, headers=headers)
    assert refused.status == 400
    assert (await refused.json())["error"] == "A fault was found: please choose how bad it is."
    assert await changes(helpdesk) == before

    faulty = await client.post(path, json={**body, "impact": "degraded"}, headers=headers)
    assert faulty.status == 200, await faulty.text()
    answer = await faulty.json()
    ticket_id = answer["ticket"]
    assert answer["outcome"] == "fault" and ticket_id is not None
    assert answer["message"] == f"❌ MIC-01 saved with a fault; ticket #{ticket_id} opened."
    assert await items(helpdesk) == [
        (tags["PJ-01"], "ok", "", None),
        (tags["MIC-01"], "fault", "crackles at high volume", ticket_id),
    ]
    # The ticket the chat's walk would open: reported by the engineer, for the device.
    async with helpdesk.core.reading() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        assert ticket.reporter_id == world.engineer_id and ticket.status in (
            TicketStatus.REPORTED,
            TicketStatus.ASSIGNED,
        )
        assert "Sound clear, no crackle" in ticket.symptom
        assert "crackles at high volume" in ticket.symptom
        audited = (
            await session.execute(
                select(AuditEvent.action, AuditEvent.actor_id)
                .where(AuditEvent.entity == "inspection", AuditEvent.entity_id == round_id)
                .order_by(AuditEvent.id)
            )
        ).all()
    assert ("inspection.device_checked", world.engineer_id) in audited
    assert ("inspection.fault_reported", world.engineer_id) in audited


async def test_bad_answers_are_refused_in_words_and_change_nothing(helpdesk, world, client):
    round_id, tags = await a_round(helpdesk, world)
    headers = {INIT_HEADER: init_data(2001)}
    path = f"/web/api/inspections/{round_id}/devices/{tags['PJ-01']}"
    before = await changes(helpdesk)
    for body in (
        {"answers": {**PROJECTOR_OK, "lamp_hours": "lots"}},
        {"answers": {"image": "ok"}},
        {"answers": {**PROJECTOR_OK, "image": "maybe"}},
        {"answers": "ok"},
        {"answers": PROJECTOR_OK, "impact": "apocalyptic"},
    ):
        response = await client.post(path, json=body, headers=headers)
        assert response.status == 400, body
        assert (await response.json())["error"]
    lamp = await client.post(
        path, json={"answers": {**PROJECTOR_OK, "lamp_hours": "lots"}}, headers=headers
    )
    assert "is not a number from 0 to 100000" in (await lamp.json())["error"]
    missing = await client.post(
        f"/web/api/inspections/{round_id}/devices/999999", json={"answers": {}}, headers=headers
    )
    assert missing.status == 400
    assert await changes(helpdesk) == before and await items(helpdesk) == []


async def test_forged_and_other_calls_are_refused_and_change_nothing(helpdesk, world, client):
    round_id, tags = await a_round(helpdesk, world)
    branch = await helpdesk.people.create_site(code="ZJ", name="Branch", region="suburb")
    await helpdesk.people.create_person(
        name="Sun Li", role=Role.ENGINEER, site_id=branch.id, telegram_user_id=2101
    )
    path = f"/web/api/inspections/{round_id}/devices/{tags['PJ-01']}"
    body = {"answers": PROJECTOR_OK, "note": ""}
    before = await changes(helpdesk)
    unauthenticated = {
        "no proof": {},
        "forged": {INIT_HEADER: init_data(2001, token=OTHER_TOKEN)},
        "expired": {INIT_HEADER: init_data(2001, age=7 * 24 * 3600)},
        "unregistered": {INIT_HEADER: init_data(999999)},
    }
    for case, headers in unauthenticated.items():
        response = await client.post(path, json=body, headers=headers)
        assert response.status == 401, case
    # Staff, the dispatcher and the manager: refused for their role.
    for telegram_id in (1001, 3001, 4001):
        response = await client.post(path, json=body, headers={INIT_HEADER: init_data(telegram_id)})
        assert response.status == 403, telegram_id
        assert (await response.json())["error"]
    # An engineer of another site: told what an unknown round tells, so the console never
    # confirms what another site holds.
    other = {INIT_HEADER: init_data(2101)}
    response = await client.post(path, json=body, headers=other)
    unknown = await client.post(
        path.replace(f"/inspections/{round_id}/", "/inspections/999999/"),
        json=body,
        headers=other,
    )
    assert response.status == unknown.status == 404
    assert (await response.json())["error"] == (await unknown.json())["error"]
    assert await changes(helpdesk) == before and await items(helpdesk) == []
    async with helpdesk.core.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 0
