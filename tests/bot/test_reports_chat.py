"""Reports in chat: the monthly message with its chart and workbook, survey buttons, false reports."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from bot.jobs import JOBS, run_job
from core.audit import verify_chain
from core.enums import AssetKind, Impact, Role, ServiceResult, ServiceType
from core.models import FalseReport, ReportRun, SurveyResponse
from core.tickets import ServiceSheet

SHANGHAI = ZoneInfo("Asia/Shanghai")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def local(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


async def seed_march(helpdesk, world, clock):
    """Three March tickets: on time and fixed (rated 5), late and taken back (rated 3), open."""
    t = helpdesk.tickets
    desk = world.dispatcher_id
    clock.set(local(3, 2, 9))
    tickets = [
        await t.report_fault(
            world.reporter_id,
            symptom=f"Printer {n} jams",
            impact=Impact.CANNOT_WORK,
            asset_kind=AssetKind.PRINTER,
        )
        for n in (1, 2, 3)
    ]
    for ticket in tickets[:2]:
        await t.acknowledge(ticket.id, actor_id=desk)
    clock.set(local(3, 2, 9, 30))
    await t.arrive(tickets[0].id, actor_id=desk)
    await t.resolve(
        tickets[0].id,
        actor_id=desk,
        sheet=ServiceSheet(ServiceType.HARDWARE_FAULT, ServiceResult.FIXED_ON_SITE, solution="ok"),
    )
    await t.rate(tickets[0].id, actor_id=world.reporter_id, score=5)
    clock.set(local(3, 2, 11, 30))
    await t.arrive(tickets[1].id, actor_id=desk)
    await t.resolve(
        tickets[1].id,
        actor_id=desk,
        sheet=ServiceSheet(ServiceType.SOFTWARE_FAULT, ServiceResult.TAKEN_BACK, solution="lab"),
    )
    await t.rate(tickets[1].id, actor_id=world.reporter_id, score=3)
    return tickets


def cell_values(sheet) -> dict[str, list]:
    """First column → the rest of the row, without trailing empty cells."""
    rows = {}
    for row in sheet.iter_rows(values_only=True):
        values = list(row[1:])
        while values and values[-1] is None:
            values.pop()
        if row[0]:
            rows[row[0]] = values
    return rows


async def test_the_manager_gets_the_monthly_message_with_a_chart_and_a_workbook(
    chat, helpdesk, world, clock
):
    await seed_march(helpdesk, world, clock)
    clock.set(local(4, 1, 8))
    assert JOBS["monthly-summary"].at_start
    result = await run_job("monthly-summary", helpdesk, clock)
    assert result.posted
    await chat.deliver()
    liu = chat.person(4001, "Liu")
    text, photo, document, sheets = liu.messages
    assert text.kind == "text" and text.text.startswith("📊 <b>Monthly summary · March 2026</b>")
    assert "Tickets reported: <b>3</b> (0 cancelled, 1 still open)" in text.text
    assert "<b>By service type</b>: Hardware fault 1 · Software fault 1 · Not yet classified 1" in (
        text.text
    )
    assert "On-time arrival: <b>33.3%</b> (1 of 3) · target 90% · −100 points" in text.text
    assert "On-site fix: <b>50.0%</b> (1 of 2) · target 95% · −90 points" in text.text
    # The audit chain's head as it stood when the month was computed, for safe keeping.
    async with helpdesk.core.reading() as session:
        run = await session.scalar(select(ReportRun))
        anchor = run.figures["audit_anchor"]
        event_id, prefix = anchor.split(":")
        assert int(event_id) > 10 and len(prefix) == 16
        assert (await verify_chain(session, anchors={int(event_id): prefix})).ok
    assert f"🔏 Audit log fingerprint: <code>{anchor}</code>. Keep this message" in text.text
    assert photo.kind == "photo" and photo.data.startswith(PNG_SIGNATURE)
    assert photo.filename == "faultdesk-monthly-2026-03.png"
    assert document.kind == "document" and document.filename == "faultdesk-monthly-2026-03.xlsx"
    book = load_workbook(io.BytesIO(document.data))
    assert book.sheetnames == [
        "Summary",
        "By service type",
        "By level",
        "By site",
        # Issue 13: the tickets behind each KPI, complaints, replacements, the readings.
        "On-time arrival",
        "On-site fix",
        "Rated 3-5",
        "Remote fixes",
        "30-day repeat repairs (software",
        "Complaints",
        "Replacements",
        "Notes",
    ]
    summary = cell_values(book["Summary"])
    assert summary["Tickets reported"] == [3]
    assert summary["On-time arrival"][:5] == [1, 3, pytest.approx(1 / 3), "≥ 90%", 100]
    assert summary["On-site fix"][:5] == [1, 2, 0.5, "≥ 95%", 90]
    assert summary["Rated 3-5"][:3] == [2, 2, 1.0]
    assert summary["On-site support score"] == [0]
    types = cell_values(book["By service type"])
    assert types["Hardware fault"] == ["hardware_fault", 1]
    assert types["Not yet classified"] == ["unclassified", 1]
    sites = cell_values(book["By site"])
    assert sites["Head office"] == ["HQ", 3, 1.0]
    # The month's service sheets (000 §2.2.1-9), one page per resolved ticket.
    assert sheets.kind == "document" and sheets.filename == "faultdesk-sheets-2026-03.pdf"
    assert sheets.text == "Service sheets · Monthly summary · March 2026 · all sites (2)"
    assert len(PdfReader(io.BytesIO(sheets.data)).pages) == 2
    # Run again (a second instance, a restart): nothing more is sent.
    assert not (await run_job("monthly-summary", helpdesk, clock)).posted
    await chat.deliver()
    assert len(liu.messages) == 4


async def test_survey_buttons_record_one_answer_and_say_why_later_presses_do_not_count(
    chat, helpdesk, world, clock
):
    colleague = await helpdesk.people.create_person(
        name="Zhou Min",
        role=Role.STAFF,
        site_id=world.site_id,
        department_id=world.department_id,
        telegram_user_id=1003,
        language="en",
    )
    clock.set(local(6, 1, 10))
    opened = await run_job("survey-rounds", helpdesk, clock)
    assert (opened.period, opened.questions) == ("2026-H1", 2)
    await chat.deliver()
    li = chat.person(1001, "Li")
    question = li.last()
    assert "🗳 <b>Satisfaction survey 2026-H1</b>" in question.text
    assert "the survey closes Jun 15 00:00" in question.text
    assert question.buttons() == [
        "5 · Very satisfied",
        "4 · Satisfied",
        "3 · Average",
        "2 · Dissatisfied",
        "1 · Very dissatisfied",
    ]
    data = question.keyboard.rows[1][0].data
    await li.press("4 · Satisfied")
    assert question.text.endswith("Thank you! You answered: <b>4 · Satisfied</b>.")
    assert question.buttons() == []
    assert chat.transport.answers[-1].text == "Thank you! Your answer is recorded."
    await li.press_data(data, message_id=question.message_id)  # a stale second press
    assert chat.transport.answers[-1].alert
    assert chat.transport.answers[-1].text == (
        "You already answered this survey (4 · Satisfied). Only the first answer counts."
    )
    # The manager was not asked; forged presses on another's question are refused.
    liu = chat.person(4001, "Liu")
    await liu.press_data(data, message_id=question.message_id)
    assert chat.transport.answers[-1].text == (
        "This survey is for the staff of the site it was sent to."
    )
    # After the close, a late press is told so.
    clock.set(local(6, 15, 9))
    zhou = chat.person(1003, "Zhou")
    await zhou.press("1 · Very dissatisfied")
    assert chat.transport.answers[-1].text == (
        "This survey is closed (since Jun 15 00:00); answers are no longer recorded."
    )
    async with helpdesk.core.reading() as session:
        rows = (await session.execute(select(SurveyResponse.person_id, SurveyResponse.score))).all()
    assert [tuple(row) for row in rows] == [(world.reporter_id, 4)]
    assert colleague.id != world.reporter_id


async def test_a_manager_records_a_false_report_after_confirming(chat, helpdesk, world, clock):
    tickets = await seed_march(helpdesk, world, clock)
    liu = chat.person(4001, "Liu")
    await liu.send("/falsereport")
    assert "Record a false report (虚报) found on a ticket:" in liu.last().text
    await liu.send("/falsereport 999 part")
    assert liu.last().text == "There is no ticket #999."
    await liu.send(f"/falsereport {tickets[1].id} late said on time, was 2 h late")
    confirm = liu.last()
    assert confirm.text.startswith(
        f"⚠️ <b>False report</b> on ticket #{tickets[1].id}: a repair reported on time but late"
    )
    assert "Note: said on time, was 2 h late" in confirm.text
    assert confirm.buttons() == ["✅ Record it", "✖ Cancel"]
    await liu.send("yes")  # typed instead of pressed
    assert "Please press Record it, or Cancel." in liu.last().text
    await liu.press("✅ Record it")
    assert "✅ Recorded as false report #1. 2026 Q1: 1 this quarter; 1 in total." in (
        liu.last().text
    )
    async with helpdesk.core.reading() as session:
        assert await session.scalar(select(func.count(FalseReport.id))) == 1
    wang = chat.person(2001, "Wang")
    await wang.send(f"/falsereport {tickets[0].id} part")
    assert wang.last().text == "/falsereport is not available for your role."


async def test_summary_and_scorecard_commands_answer_with_files(chat, helpdesk, world, clock):
    await seed_march(helpdesk, world, clock)
    clock.set(local(4, 2, 9))
    liu = chat.person(4001, "Liu")
    await liu.send("/summary")
    text, photo, document, sheets = liu.messages[-4:]
    assert sheets.filename == "faultdesk-sheets-2026-03.pdf"
    assert "Monthly summary · March 2026" in text.text
    assert photo.data.startswith(PNG_SIGNATURE) and document.filename.endswith(".xlsx")
    await liu.send("/scorecard 2026-q1")
    card, workbook = liu.messages[-2:]
    assert card.text.startswith("🏁 <b>Quarterly scorecard · 2026 Q1</b> · all sites")
    assert "<b>Satisfaction survey</b> (30%): <b>not available</b>" in card.text
    assert "<b>Quarterly score</b>: not final; between 20.0 and 50.0 depending on the survey" in (
        card.text
    )
    assert "<b>Payment</b>: 80.0% of the quarter's total" in card.text
    assert "Monthly reports (due by the 15th): March 2026: not due yet\n" in card.text
    book = load_workbook(io.BytesIO(workbook.data))
    rows = {row[1]: row[2] for row in book["Scorecard"].iter_rows(min_row=3, values_only=True)}
    assert (rows["onsite"], rows["other"], rows["survey"]) == (0, 100, None)
    assert (rows["score_low"], rows["score_high"], rows["payment_low"]) == (20, 50, 80)
    await liu.send("/summary March")
    assert liu.last().text == "Please give the period like 2026-11."
    await liu.send("/summary 2026-03 NOPE")
    assert liu.last().text == "No site has the code NOPE."
