"""The console's ticket page over HTTP on every backend: business time used per clock
against its target, the escalation steps fired and the pages acknowledged, and the photos
fetched from Telegram for those who may see the ticket."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.i18n import I18n
from bot.web.server import INIT_HEADER, WebConfig, WebConsole
from core.enums import Impact, Role
from core.models import Page
from tests.integration.test_escalation import local, report
from tests.integration.test_web_console import OTHER_TOKEN, TOKEN, init_data

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


class Telegram:
    """The transport's download, as the running bot offers it: by file id."""

    def __init__(self) -> None:
        self.files = {"photo-a": PNG, "photo-b": JPEG}
        self.asked: list[str] = []
        self.down = False

    async def download(self, file_id: str) -> bytes:
        self.asked.append(file_id)
        if self.down:
            raise ConnectionError("Telegram is unreachable")
        return self.files[file_id]


@pytest.fixture
def telegram() -> Telegram:
    return Telegram()


@pytest.fixture
async def client(helpdesk, telegram) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    console = WebConsole(
        helpdesk,
        I18n(default="en"),
        WebConfig(bot_token=TOKEN, secure_cookie=False, download=telegram.download),
    )
    root = web.Application()
    console.mount(root)
    async with TestClient(TestServer(root)) as test_client:
        yield test_client


def signed(telegram_id: int, **more) -> dict[str, str]:
    return {INIT_HEADER: init_data(telegram_id, **more)}


async def page_of(client, ticket_id: int, who: int = 3001) -> dict:
    response = await client.get(f"/web/api/tickets/{ticket_id}", headers=signed(who))
    assert response.status == 200, await response.text()
    return await response.json()


async def test_business_time_used_per_clock_against_its_target(helpdesk, world, clock, client):
    clock.set(local(2, 9))
    ticket = await report(helpdesk, world)
    clock.set(local(2, 9, 12))
    await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    clock.set(local(2, 10))
    usage = {u["kind"]: u for u in (await page_of(client, ticket.id))["usage"]}
    # Arrival: 2 h business target, one hour used; acknowledged after 12 minutes.
    assert usage["arrival"] == {
        "kind": "arrival",
        "target": 7200,
        "used": 3600,
        "paused": 0,
        "share": 0.5,
        "running": True,
    }
    assert usage["acknowledge"]["used"] == 12 * 60 and usage["acknowledge"]["running"] is False
    clock.set(local(2, 10, 36))
    arrival = next(u for u in (await page_of(client, ticket.id))["usage"] if u["kind"] == "arrival")
    assert arrival["used"] == 96 * 60 and arrival["share"] == 0.8


async def test_escalation_steps_fired_and_pages_acknowledged(helpdesk, world, clock, client):
    clock.set(local(2, 9))
    ticket = await report(helpdesk, world)
    await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    before = await page_of(client, ticket.id)
    arrival = {s["percent"]: s for s in before["steps"] if s["clock"] == "arrival"}
    assert arrival[80]["status"] == "pending" and arrival[80]["due"] == "Mar 2 10:36"
    assert before["pages"] == []

    clock.set(local(2, 11))
    await helpdesk.runner().sweep()
    after = await page_of(client, ticket.id)
    arrival = {s["percent"]: s for s in after["steps"] if s["clock"] == "arrival"}
    # Swept only at 11:00: the 80 % reminder's moment had passed, so it was dropped.
    assert arrival[80]["status"] == "skipped" and arrival[100]["status"] == "done"
    assert arrival[100]["done"] == "Mar 2 11:00"
    paged = sorted(p["to"] for p in after["pages"] if p["clock"] == "arrival")
    assert paged == ["Chen Jing", "Wang Wei", "Zhao Lei"]
    assert all(p["acknowledged"] is None for p in after["pages"])

    async with helpdesk.core.reading() as session:
        mine = await session.scalar(
            select(Page).where(Page.ticket_id == ticket.id, Page.recipient_id == world.engineer_id)
        )
    assert mine is not None
    clock.set(local(2, 11, 5))
    await helpdesk.tickets.acknowledge_page(mine.id, actor_id=world.engineer_id)
    acknowledged = [p for p in (await page_of(client, ticket.id))["pages"] if p["acknowledged"]]
    assert [(p["to"], p["by"], p["acknowledged"]) for p in acknowledged] == [
        ("Wang Wei", "Wang Wei", "Mar 2 11:05")
    ]


async def test_photos_are_served_as_pictures_to_those_who_may_see_the_ticket(
    helpdesk, world, client, telegram
):
    ticket = await helpdesk.tickets.report_fault(
        world.reporter_id,
        symptom="Cracked screen",
        impact=Impact.DEGRADED,
        photos=["photo-a", "photo-b"],
    )
    assert (await page_of(client, ticket.id))["photos"] == 2
    first = await client.get(f"/web/api/tickets/{ticket.id}/photos/0", headers=signed(3001))
    assert first.status == 200 and first.content_type == "image/png"
    assert await first.read() == PNG
    second = await client.get(f"/web/api/tickets/{ticket.id}/photos/1", headers=signed(4001))
    assert second.content_type == "image/jpeg" and await second.read() == JPEG
    # Fetched from Telegram once each; asked again, the copy kept is served.
    await client.get(f"/web/api/tickets/{ticket.id}/photos/0", headers=signed(3001))
    assert telegram.asked == ["photo-a", "photo-b"]

    branch = await helpdesk.people.create_site(
        code="B2", name="Branch two", region="city", address="x"
    )
    await helpdesk.people.create_person(
        name="Ma Li",
        role=Role.DISPATCHER,
        site_id=branch.id,
        telegram_user_id=3002,
        language="en",
    )
    refused = {
        "forged": (signed(3001, token=OTHER_TOKEN), 401),
        "expired": (signed(3001, age=7200), 401),
        "none": ({}, 401),
        # Another site's dispatcher is not told the ticket exists (as on the ticket page).
        "other site": (signed(3002), 404),
        "the reporter": (signed(1001), 200),
    }
    for name, (headers, status) in refused.items():
        response = await client.get(f"/web/api/tickets/{ticket.id}/photos/0", headers=headers)
        assert response.status == status, name
        if status != 200:
            assert (await response.json())["error"], name
    assert telegram.asked == ["photo-a", "photo-b"]
    missing = await client.get(f"/web/api/tickets/{ticket.id}/photos/2", headers=signed(3001))
    assert missing.status == 404 and (await missing.json())["error"] == "No such photo."
    bad = await client.get(f"/web/api/tickets/{ticket.id}/photos/x", headers=signed(3001))
    assert bad.status == 400


async def test_a_photo_telegram_cannot_give_is_said_plainly(helpdesk, world, client, telegram):
    ticket = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="Cracked screen", impact=Impact.DEGRADED, photos=["photo-a"]
    )
    telegram.down = True
    response = await client.get(f"/web/api/tickets/{ticket.id}/photos/0", headers=signed(3001))
    assert response.status == 502
    assert (await response.json())["error"] == (
        "The photo cannot be fetched from Telegram right now."
    )
