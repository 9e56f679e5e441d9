"""Service sheets in chat: a manager's month in one PDF (/sheets), and what is refused."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from pypdf import PdfReader

from core.enums import AssetKind, Impact, ServiceResult, ServiceType
from core.tickets import ServiceSheet

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def fixed(helpdesk, world, symptom: str) -> int:
    t = helpdesk.tickets
    ticket = await t.report_fault(
        world.reporter_id, symptom=symptom, impact=Impact.CANNOT_WORK, asset_kind=AssetKind.PRINTER
    )
    await t.acknowledge(ticket.id, actor_id=world.engineer_id)
    await t.arrive(ticket.id, actor_id=world.engineer_id)
    await t.resolve(
        ticket.id,
        actor_id=world.engineer_id,
        sheet=ServiceSheet(ServiceType.HARDWARE_FAULT, ServiceResult.FIXED_ON_SITE),
    )
    return ticket.id


async def test_a_manager_gets_the_months_sheets_in_one_pdf(chat, helpdesk, world, clock):
    first = await fixed(helpdesk, world, "Printer jams")
    second = await fixed(helpdesk, world, "Toner empty")
    clock.set(datetime(2026, 4, 2, 9, tzinfo=SHANGHAI))
    liu = chat.person(4001, "Liu")
    await liu.send("/sheets")  # last month
    document = liu.last()
    assert document.kind == "document" and document.filename == "faultdesk-sheets-2026-03.pdf"
    assert document.text == "Service sheets · March 2026 (2)"
    pages = PdfReader(io.BytesIO(document.data)).pages
    assert [
        f"Ticket #{n} · visit 1" in page.extract_text()
        for n, page in zip((first, second), pages, strict=True)
    ] == [True, True]
    await liu.send("/sheets 2026-02")
    assert liu.last().text == "No ticket was resolved in February 2026."
    await liu.send("/sheets March")
    assert liu.last().text == "Please give the period like 2026-11."
    await liu.send("/sheets 0000-01")  # no year 0: refused, not an apology
    assert liu.last().text == "Please give the period like 2026-11."
    await liu.send("/sheets 2026-03 NOPE")
    assert liu.last().text == "No site has the code NOPE."
    li = chat.person(1001, "Li")
    await li.send("/sheets")
    assert li.last().text == "/sheets is not available for your role."
    await li.send(f"/sheet {first}")
    assert li.last().kind == "document"
    await li.send("/sheet first")
    assert li.last().text == "Please give the ticket number, like /sheet 12."
    await li.send("/sheet 99999")
    assert li.last().text == "There is no ticket #99999."
    zh = chat.person(2002, "Zhao")  # an engineer: not his report, not a dispatcher
    await zh.send(f"/sheet {first}")
    assert zh.last().text.startswith(f"Only the person who reported ticket #{first}")
