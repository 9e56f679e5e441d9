"""The workbooks' detail sheets, read back with openpyxl, add up to the KPI figures."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook
from test_monthly import local, seed_march, seed_random

from bot.i18n import I18n
from bot.rendering.text import quarterly_text
from bot.rendering.xlsx import monthly_xlsx, quarterly_xlsx
from core.reports.details import kpi_details
from core.reports.monthly import monthly_summary
from core.reports.quarterly import quarterly_scorecard

ARTEFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artefacts"


def column_sum(sheet, header: str) -> int:
    """The sum of a 1/0 column over the ticket rows (above the Total row)."""
    rows = list(sheet.iter_rows(values_only=True))
    index = rows[0].index(header)
    return sum(int(row[index]) for row in rows[1:] if row[0] not in ("Total", "Points deducted"))


def total_row(sheet, header: str):
    """The value the sheet's Total row gives under `header`."""
    rows = list(sheet.iter_rows(values_only=True))
    index = rows[0].index(header)
    return next(row[index] for row in rows if row[0] == "Total")


def deducted(sheet) -> int:
    return next(row[1] for row in sheet.iter_rows(values_only=True) if row[0] == "Points deducted")


async def test_every_kpi_sheet_adds_up_to_the_months_figures(helpdesk, world, clock):
    await seed_march(helpdesk, world, clock)
    await seed_random(helpdesk.core, world, seed=11)
    as_of = local(4, 1, 8)
    summary = await monthly_summary(helpdesk.core, "2026-03", as_of=as_of)
    kpis = summary.kpis
    details = await kpi_details(helpdesk.core, kpis.start, kpis.end, as_of=as_of)
    # The records behind the sheets give exactly the figures the SQL aggregates counted.
    recount = details.report
    assert (recount.arrival, recount.fix, recount.satisfaction, recount.low_ratings) == (
        kpis.arrival,
        kpis.fix,
        kpis.satisfaction,
        kpis.low_ratings,
    )
    assert (recount.repeat, recount.remote_satisfaction) == (kpis.repeat, kpis.remote_satisfaction)
    assert kpis.arrival.denominator > 50 and kpis.low_ratings > 0  # the data is not trivial

    book = load_workbook(io.BytesIO(monthly_xlsx(I18n().get("en"), summary, details)))
    assert {"On-time arrival", "On-site fix", "Rated 3-5", "Remote fixes", "Notes"} <= set(
        book.sheetnames
    )
    arrival = book["On-time arrival"]
    assert column_sum(arrival, "Counted (1/0)") == kpis.arrival.denominator
    assert column_sum(arrival, "On time (1/0)") == kpis.arrival.numerator
    assert total_row(arrival, "On time (1/0)") == kpis.arrival.numerator
    assert deducted(arrival) == kpis.arrival_deduction
    fix = book["On-site fix"]
    assert column_sum(fix, "Counted (1/0)") == kpis.fix.denominator
    assert column_sum(fix, "Fixed on site (1/0)") == kpis.fix.numerator
    assert deducted(fix) == kpis.fix_deduction
    rated = book["Rated 3-5"]
    assert column_sum(rated, "Counted (1/0)") == kpis.satisfaction.denominator
    assert column_sum(rated, "Rated 3-5 (1/0)") == kpis.satisfaction.numerator
    assert column_sum(rated, "Rated 1-2 (1/0)") == kpis.low_ratings
    assert deducted(rated) == kpis.satisfaction_deduction
    remote = book["Remote fixes"]
    assert column_sum(remote, "Counted (1/0)") == kpis.remote_satisfaction.denominator
    assert column_sum(remote, "Rated 1-2 (1/0)") == kpis.remote_low_ratings
    assert deducted(remote) == 0
    repeats = book["30-day repeat repairs (software"]
    assert column_sum(repeats, "Counted (1/0)") == kpis.repeat.denominator
    assert column_sum(repeats, "Repeat (1/0)") == kpis.repeat.numerator
    assert deducted(repeats) == kpis.repeat_deduction
    # Every repeat names the earlier ticket it repeats, at most 30 days before.
    rows = list(repeats.iter_rows(values_only=True))
    header = rows[0]
    for row in rows[1:]:
        if row[0] in ("Total", "Points deducted") or not row[header.index("Repeat (1/0)")]:
            continue
        assert row[header.index("Earlier ticket")] and row[header.index("Days apart")] <= 30
    # The first sheet explains each deduction in a line; the notes state the readings.
    summary_rows = [row[0] for row in book["Summary"].iter_rows(values_only=True)]
    assert any(
        str(line).startswith("On-time arrival ") and "step(s) of 5% × 10" in str(line)
        for line in summary_rows
    )
    notes = " ".join(str(row[0]) for row in book["Notes"].iter_rows(values_only=True))
    assert "exactly 90% costs nothing" in notes and "实际发生费用" in notes


async def test_the_quarter_workbook_lists_complaints_and_replacements_with_their_points(
    helpdesk, world, clock
):
    await seed_march(helpdesk, world, clock)
    clock.set(local(3, 3, 10))
    complaint = await helpdesk.complaints.file(world.reporter_id, text="Engineer was rude")
    await helpdesk.complaints.answer(
        complaint.id, actor_id=world.manager_id, answer="We apologise", accepted=True
    )
    await helpdesk.replacements.request(
        engineer_id=world.engineer_id, reason="Rude to staff", actor_id=world.manager_id
    )
    clock.set(local(3, 20, 9))
    await helpdesk.runner().sweep()  # the deadline (17 March) passed: missed
    as_of = local(4, 1, 9)
    card = await quarterly_scorecard(helpdesk.core, "2026-Q1", as_of=as_of)
    assert (card.inputs.accepted_complaints, card.inputs.missed_replacements) == (1, 1)
    assert card.other == 100 - 20 - 20
    kpis = card.kpis
    details = await kpi_details(helpdesk.core, kpis.start, kpis.end, as_of=kpis.as_of)
    book = load_workbook(io.BytesIO(quarterly_xlsx(I18n().get("en"), card, details)))
    complaints = book["Complaints"]
    assert total_row(complaints, "Points") == 20
    assert list(complaints.iter_rows(values_only=True))[1][:2] == (complaint.id, None)
    replacements = book["Replacements"]
    rows = list(replacements.iter_rows(values_only=True))
    assert rows[1][1] == "Wang Wei" and rows[1][9] == "missed" and rows[1][10] == 20
    assert total_row(replacements, "Points") == 20
    scorecard = {row[1]: row[2] for row in book["Scorecard"].iter_rows(values_only=True)}
    assert scorecard["other"] == 60
    assert (scorecard["accepted_complaints"], scorecard["missed_replacements"]) == (1, 1)
    # The scorecard message names both deductions of the other part.
    message = quarterly_text(I18n().get("en"), card)
    assert "<b>Other</b> (20%): <b>60</b>/100" in message
    assert "Accepted complaints: 1 · −20 points\n" in message
    assert "Engineer replacements not made in time: 1 · −20 points\n" in message
    chinese = quarterly_text(I18n().get("zh_CN"), card)
    assert "未按要求按期撤换工程师：1次" in chinese


async def test_the_monthly_message_explains_each_sites_deductions(helpdesk, world, clock):
    from bot.rendering.text import monthly_text

    await seed_march(helpdesk, world, clock)
    summary = await monthly_summary(helpdesk.core, "2026-03", as_of=local(4, 1, 8))
    lines = monthly_text(I18n().get("en"), summary).split("\n")
    # Hand-computed from seed_march: the branch's one dispatch never arrived; at head
    # office t1 and t4 arrived on time, t2 late and its second visit is overdue.
    expected = [
        "<b>Service levels by site</b>:",
        "<b>Branch</b>: on-site support 0/100 (−100)",
        "  ↳ On-time arrival 0.0% (0 of 1): 90.0 points under 90% → 18 step(s) of 5% × 10"
        " = −180 (capped at −100: 扣分至满100分止)",
        "<b>Head office</b>: on-site support 0/100 (−142)",
        "  ↳ On-time arrival 50.0% (2 of 4): 40.0 points under 90% → 8 step(s) of 5% × 10 = −80",
        "  ↳ On-site fix 66.7% (2 of 3): 28.3 points under 95% → 6 step(s) of 5% × 10 = −60",
        "  ↳ Rated 3-5 66.7% (2 of 3): 23.3 points under 90% → 1 dispatch(es) rated 1-2 × 1 = −1",
        "  ↳ 30-day repeat repairs (software) 50.0% (1 of 2): over 15% → 1 repeat(s) × 1 = −1",
    ]
    start = lines.index(expected[0])
    assert lines[start : start + len(expected)] == expected
    assert (
        "↳ On-time arrival 40.0% (2 of 5): 50.0 points under 90% → 10 step(s) of 5% × 10 = −100"
        in lines
    )
    # The workbook goes to the artefacts folder too, for people to open.
    kpis = summary.kpis
    details = await kpi_details(helpdesk.core, kpis.start, kpis.end, as_of=kpis.as_of)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    data = monthly_xlsx(I18n().get("en"), summary, details)
    (ARTEFACTS / "monthly-2026-03.xlsx").write_bytes(data)
    arrival = load_workbook(io.BytesIO(data))["On-time arrival"]
    assert column_sum(arrival, "Counted (1/0)") == 5 and column_sum(arrival, "On time (1/0)") == 2
    # Each arrival says how it is known: pressed in chat, not verified; none where none.
    header, *rows = arrival.iter_rows(values_only=True)
    evidence = {
        (row[0], row[1]): row[header.index("Arrival evidence")]
        for row in rows
        if row[0] not in ("Total", "Points deducted")
    }
    assert evidence[(1, 1)] == evidence[(2, 1)] == "recorded by the engineer in chat (not verified)"
    assert evidence[(5, 1)] is None and evidence[(3, 1)] is None
    assert (
        "Remote fixes rated 3-5: — (nothing counted)" not in lines
        and "Remote fixes rated 3-5: 0.0% (0 of 1) · 0 rated 1-2 (reported apart, no deduction)"
        in lines
    )
