"""The service sheet (001 附表一) of a resolved ticket, read back from its PDF."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader

from bot.i18n import I18n
from bot.rendering.pdf import sheet_pdf, sheets_pdfs
from core.audit import anchor_text
from core.enums import Impact, ServiceResult, ServiceType
from core.errors import Conflict, PermissionDenied
from core.models import AuditEvent
from core.tickets import ServiceSheet

SHANGHAI = ZoneInfo("Asia/Shanghai")
ARTEFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artefacts"


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


def pdf_text(data: bytes) -> str:
    """The text a reader extracts, lines joined (table cells may wrap)."""
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


async def worked_ticket(helpdesk, world, clock) -> int:
    """Li Na's PC: dispatched, backup confirmed, fixed on site with a charge, rated 5."""
    t = helpdesk.tickets
    ticket = await t.report_fault(
        world.reporter_id,
        symptom="电脑无法开机 The PC does not power on",
        impact=Impact.CANNOT_WORK,
        asset_tag=world.asset_tag,
    )
    await t.acknowledge(ticket.id, actor_id=world.engineer_id)
    clock.set(local(2, 9, 40))
    await t.arrive(ticket.id, actor_id=world.engineer_id)
    consent = await t.request_backup_consent(
        ticket.id, actor_id=world.engineer_id, operation="os_reinstall"
    )
    clock.set(local(2, 9, 45))
    await t.answer_backup_consent(consent.id, actor_id=world.reporter_id, confirmed=True)
    clock.set(local(2, 11))
    await t.resolve(
        ticket.id,
        actor_id=world.engineer_id,
        sheet=ServiceSheet(
            ServiceType.HARDWARE_FAULT,
            ServiceResult.FIXED_ON_SITE,
            solution="更换硬盘 Replaced the SSD, reinstalled the system",
            under_warranty=False,
            charged=True,
            amount=Decimal("120"),
            parts_replaced="SSD 512 GB",
        ),
    )
    clock.set(local(2, 11, 20))
    await t.confirm_fix(ticket.id, actor_id=world.reporter_id, confirmed=True)
    await t.rate(ticket.id, actor_id=world.reporter_id, score=5, comment="很好 Quick and tidy")
    await t.set_follow_up(
        ticket.id, actor_id=world.reporter_id, dimensions={"quality": 4, "attitude": 3}
    )
    return ticket.id


async def test_the_sheet_shows_every_field_of_the_seed_in_english(helpdesk, world, clock):
    ticket_id = await worked_ticket(helpdesk, world, clock)
    sheet = await helpdesk.sheets.for_ticket(ticket_id, reader_id=world.reporter_id)
    data = sheet_pdf(I18n().get("en"), sheet)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    async with helpdesk.core.reading() as session:
        from sqlalchemy import select

        last = await session.scalar(
            select(AuditEvent)
            .where(AuditEvent.entity == "ticket", AuditEvent.entity_id == ticket_id)
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
    for expected in (
        "Service sheet (001 附表一)",
        f"Ticket #{ticket_id} · visit 1 · HQ Head office",
        "Assigned at 2026-03-02 09:00",
        "Assigned by the helpdesk (automatic dispatch)",
        "Service engineer Wang Wei",
        "Department Finance",
        "User Li Na",
        "Contact Li Na",
        "Address Head office · 1 Main St · Room 301",
        "Phone 13800000001",
        "电脑无法开机 The PC does not power on",
        "Model Desktop PC · Lenovo M720",
        "asset PC-0001",
        "Reported at 2026-03-02 09:00",
        "Promised arrival 2026-03-02 11:00",
        "2026-03-02 09:40 (on time; recorded by the engineer in chat)",
        "Service completed 2026-03-02 11:00",
        "Service type Hardware fault",
        "Under warranty No",
        "Charged Yes · 120.00 yuan",
        "Result Fixed on site",
        "reinstall the operating system: requested 2026-03-02 09:40; backed up, may proceed by Li Na at 2026-03-02 09:45",
        "更换硬盘 Replaced the SSD, reinstalled the system",
        "Parts replaced: SSD 512 GB",
        "Satisfaction 5 · Very satisfied",
        "很好 Quick and tidy",
        "Confirmed fixed in chat by Li Na at 2026-03-02 11:20",
        "Quality of the work: Very satisfied",
        "Attitude: Satisfied",
        "Speed of the work: —",
        f"Audit event {anchor_text(last.id, last.hash)}",
    ):
        assert expected in " ".join(text.split()), expected
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    (ARTEFACTS / "service-sheet-en.pdf").write_bytes(data)


async def test_the_sheet_in_chinese_uses_the_seeds_labels(helpdesk, world, clock):
    ticket_id = await worked_ticket(helpdesk, world, clock)
    sheet = await helpdesk.sheets.for_ticket(ticket_id, reader_id=world.manager_id)
    data = sheet_pdf(I18n().get("zh_CN"), sheet)
    text = " ".join(pdf_text(data).split())
    for expected in (
        "现场服务单",
        "分配时间 2026-03-02 09:00",
        "服务工程师 Wang Wei",
        "处室 Finance",
        "联系电话 13800000001",
        "故障现象 电脑无法开机",
        "承诺上门时间 2026-03-02 11:00",
        "实际到达时间 2026-03-02 09:40",
        "服务完成时间 2026-03-02 11:00",
        "是否保修 否",
        "是否收费 是 · 120.00 元",
        "维修结果 现场修复",
        "用户签字",
        "回访记录",
    ):
        assert expected in text, expected
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / "service-sheet-zh_CN.pdf"
    path.write_bytes(data)
    # One page as a picture, for people to look at (PDFium renders it as a reader would).
    page = pdfium.PdfDocument(data)[0]
    png = path.with_suffix(".png")
    page.render(scale=80 / 72).to_pil().save(png)
    assert png.read_bytes().startswith(b"\x89PNG")


async def test_a_months_sheets_come_in_one_file_and_only_for_those_allowed(helpdesk, world, clock):
    first = await worked_ticket(helpdesk, world, clock)
    clock.set(local(3, 9))
    second = await worked_ticket(helpdesk, world, clock)
    open_ticket = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="Printer jams", impact=Impact.DEGRADED, asset_tag="PC-0001"
    )
    sheets = await helpdesk.sheets.resolved_between(local(1, 0), local(31, 0))
    assert [s.ticket_id for s in sheets] == [first, second]
    files = sheets_pdfs(I18n().get("en"), sheets, "March 2026")
    assert len(files) == 1
    reader = PdfReader(io.BytesIO(files[0]))
    assert len(reader.pages) == 2
    assert f"Ticket #{second} · visit 1" in reader.pages[1].extract_text()
    with pytest.raises(PermissionDenied):
        await helpdesk.sheets.for_ticket(first, reader_id=world.engineer_id)
    with pytest.raises(Conflict):
        await helpdesk.sheets.for_ticket(open_ticket.id, reader_id=world.reporter_id)
