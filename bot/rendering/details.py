"""The workbooks' detail sheets: every ticket behind each KPI and every deducted point.

One sheet per KPI (arrival, on-site fix, satisfaction, remote fixes, repeat repairs),
one for complaints and one for replacement requests, and a Notes sheet with the reading
of each clause of 000 §4 the figures rest on. Each KPI sheet has 1/0 columns whose sums,
in its Total row, are the KPI's numerator and denominator (a reader can check them with
a SUM), and its last column gives the points that KPI costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.cards import arrival_check_text
from bot.i18n import Translator
from bot.labels import SERVICE_RESULT, label
from bot.rendering.wording import kpi_name, plain
from core.enums import ServiceResult
from core.reports.details import KpiDetails
from core.reports.kpi import (
    KpiReport,
    arrival_outcome,
    is_on_site,
    is_software_repair,
    repeat_pairs,
)
from core.reports.scorecard import COMPLAINT_POINTS, REPLACEMENT_POINTS

DETAIL_WIDTH = 18


def _moment(value: datetime | None, tz: str) -> str:
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") if value else ""


def _sheet(book: Any, title: str, header: Sequence[str]) -> Any:
    from openpyxl.styles import Font

    from bot.rendering.xlsx import sheet_title

    sheet = book.create_sheet(sheet_title(title))
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index in range(len(header)):
        sheet.column_dimensions[
            sheet.cell(row=1, column=index + 1).column_letter
        ].width = DETAIL_WIDTH
    sheet.freeze_panes = "A2"
    return sheet


def _evidence(
    t: Translator,
    details: KpiDetails,
    ticket_id: int,
    stopped_at: datetime | None,
    unverified: str,
) -> str:
    """How an arrival is known: verified by location, outside the radius, not shared..."""
    if stopped_at is None:
        return ""
    found = details.evidence(ticket_id, stopped_at)
    if found is None or found.check is None:  # recorded before checks, or site not located
        return unverified
    return plain(arrival_check_text(t, found.check, found.distance_m))


def _total(t: Translator, sheet: Any, values: Sequence[object]) -> None:
    from openpyxl.styles import Font

    sheet.append([t("Total"), *values])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)


def readings(t: Translator) -> list[str]:
    """How faultdesk reads each clause of 000 §4 (the workbook's Notes sheet)."""
    return [
        t(
            "Periods are local calendar months and quarters (the site's zone), start included, end excluded."
        ),
        t(
            "On-time arrival (响应时间到达率) = dispatches meeting their arrival deadline / dispatches with one. A dispatch is one arrival clock (a ticket's visit) started in the period; a clock still running past its deadline counts as missed, one not yet due is not counted; a withdrawn report or a remote fix is not counted."
        ),
        t(
            "'低于90%后,每5%扣10分': minus 10 points per started 5% under 90% (89% → −10, exactly 85% → −10, 84.9% → −20); exactly 90% costs nothing."
        ),
        t(
            "On-site fix (现场解决率) = service sheets filed on site with 'fixed on site' / all sheets filed on site in the period (every sheet, second visits included); remote fixes are out of both; under 95%: minus 10 per started 5%."
        ),
        t(
            "Satisfaction ('3分,4分和5分的评分达到派单总数的90以上') = on-site dispatches rated 3-5 / all on-site dispatches of the period whose visit ended with a service sheet; an unrated dispatch counts and is not 3-5; a dispatch still being worked is counted once its sheet is filed. Remote fixes are not on-site dispatches: their ratings are shown apart and cost nothing."
        ),
        t(
            "'低于90%后,每次1-2分派单扣1分': under 90%, minus 1 point per on-site dispatch rated 1-2; exactly 90% costs nothing."
        ),
        t(
            "30-day repeat repairs: software faults only ('只针对软件应用'); a repeat is a software repair of the same device at the same site within 30 days (inclusive) of an earlier one; over 15%: minus 1 point per repeat."
        ),
        t(
            "'扣分至满100分止': a part never goes below 0 and an item never takes more than 100 points."
        ),
        t(
            "Other (20%): minus 10 per monthly report not posted by the 15th of the following month; minus 20 per complaint answered as accepted in the quarter; minus 20 per engineer replacement not made within 10 working days (002), in the quarter its deadline falls in."
        ),
        t(
            "Payment: a score of exactly 90 pays 100% (the brackets leave 90 itself unnamed; the 80-90 rule gives 100% at 0 points short). 80-90: minus 0.1% of the quarter's total per started 0.1 point under 90. 75-80 names two bases ('在实际发生费用*90%的基础上,比80分每少0.1分扣季度总款的0.2%'): 90% of the actual cost (实际发生费用), less 0.2% of the quarter's total (季度总款) per started 0.1 point under 80. Under 75: 80%. Each false report: minus 10% of the quarter's total."
        ),
    ]


def write_notes(t: Translator, book: Any, details: KpiDetails | None, figures: KpiReport) -> None:
    """The Notes sheet: the readings, and whether the details still add up to the figures."""
    notes = _sheet(book, t("Notes"), [t("How the figures are read (000 §4)")])
    notes.column_dimensions["A"].width = 120
    for line in readings(t):
        notes.append([plain(line)])
    if details is None:
        return
    recounted = details.report
    if (
        recounted.arrival,
        recounted.fix,
        recounted.satisfaction,
        recounted.low_ratings,
        recounted.repeat,
    ) != (figures.arrival, figures.fix, figures.satisfaction, figures.low_ratings, figures.repeat):
        notes.append([])
        notes.append(
            [
                t(
                    "These figures were frozen when the report was posted; the detail sheets show the tickets as they stand now, and later events (a late rating, a deadline passed) changed them."
                )
            ]
        )


def write_details(t: Translator, book: Any, details: KpiDetails, tz: str) -> None:
    """Every KPI's tickets on its own sheet, then complaints and replacement requests."""
    report = details.report
    tickets = details.tickets
    inputs = details.inputs

    def code(ticket_id: int) -> str:
        line = tickets.get(ticket_id)
        return line.site_code if line else ""

    yes, no = t("yes"), t("no")

    arrival = _sheet(
        book,
        kpi_name(t, "arrival"),
        [
            t("Ticket"),
            t("Visit"),
            t("Site"),
            t("Dispatched at"),
            t("Arrival deadline"),
            t("Arrived at"),
            t("Outcome"),
            t("Counted (1/0)"),
            t("On time (1/0)"),
            t("Arrival evidence"),
        ],
    )
    # An arrival recorded before locations were checked was only pressed in chat.
    unverified = t("recorded by the engineer in chat (not verified)")
    for record in inputs.arrivals:
        outcome = arrival_outcome(record, details.as_of)
        if record.cancelled:
            said = t("not counted: withdrawn or fixed remotely")
        elif outcome is None:
            said = t("not counted: on the way, not yet due")
        elif outcome:
            said = t("on time")
        elif record.stopped_at is None:
            said = t("missed: still not arrived after the deadline")
        else:
            said = t("late")
        arrival.append(
            [
                record.ticket_id,
                record.cycle + 1,
                code(record.ticket_id),
                _moment(record.started_at, tz),
                _moment(record.due_at, tz),
                "" if record.cancelled else _moment(record.stopped_at, tz),
                said,
                int(outcome is not None),
                int(outcome is True),
                _evidence(t, details, record.ticket_id, record.stopped_at, unverified)
                if not record.cancelled
                else "",
            ]
        )
    _total(
        t,
        arrival,
        ["", "", "", "", "", "", report.arrival.denominator, report.arrival.numerator],
    )
    arrival.append([t("Points deducted"), report.arrival_deduction])

    fix = _sheet(
        book,
        kpi_name(t, "fix"),
        [
            t("Ticket"),
            t("Site"),
            t("Sheet filed at"),
            t("Result"),
            t("Remote"),
            t("Counted (1/0)"),
            t("Fixed on site (1/0)"),
        ],
    )
    for sheet in inputs.resolutions:
        on_site = is_on_site(sheet)
        fix.append(
            [
                sheet.ticket_id,
                code(sheet.ticket_id),
                _moment(sheet.at, tz),
                label(t, SERVICE_RESULT, sheet.result),
                yes if sheet.remote else no,
                int(on_site),
                int(on_site and sheet.result is ServiceResult.FIXED_ON_SITE),
            ]
        )
    _total(t, fix, ["", "", "", "", report.fix.denominator, report.fix.numerator])
    fix.append([t("Points deducted"), report.fix_deduction])

    rated_header = [
        t("Ticket"),
        t("Visit"),
        t("Site"),
        t("Dispatched at"),
        t("Visit ended"),
        t("Score"),
        t("Counted (1/0)"),
        t("Rated 3-5 (1/0)"),
        t("Rated 1-2 (1/0)"),
        t("Comment"),
    ]
    for remote, title in ((False, kpi_name(t, "satisfaction")), (True, t("Remote fixes"))):
        sheet = _sheet(book, title, rated_header)
        for dispatch in inputs.dispatches:
            if dispatch.on_site is remote:
                continue
            if not details.start <= dispatch.started_at < details.end:
                continue
            counted = dispatch.finished
            score = dispatch.score
            sheet.append(
                [
                    dispatch.ticket_id,
                    dispatch.cycle + 1,
                    code(dispatch.ticket_id),
                    _moment(dispatch.started_at, tz),
                    yes if dispatch.finished else t("not yet: not counted"),
                    score if score is not None else t("unrated"),
                    int(counted),
                    int(counted and score is not None and score >= 3),
                    int(counted and score is not None and score <= 2),
                    dispatch.comment,
                ]
            )
        rate = report.remote_satisfaction if remote else report.satisfaction
        low = report.remote_low_ratings if remote else report.low_ratings
        _total(t, sheet, ["", "", "", "", "", rate.denominator, rate.numerator, low])
        sheet.append([t("Points deducted"), 0 if remote else report.satisfaction_deduction])

    repeats = _sheet(
        book,
        kpi_name(t, "repeat"),
        [
            t("Ticket"),
            t("Site"),
            t("Device"),
            t("Reported at"),
            t("Earlier ticket"),
            t("Earlier reported at"),
            t("Days apart"),
            t("Counted (1/0)"),
            t("Repeat (1/0)"),
        ],
    )
    software = [r for r in inputs.repairs if is_software_repair(r)]
    for repair, earlier in repeat_pairs(software, details.start, details.end):
        line = tickets.get(repair.ticket_id)
        repeats.append(
            [
                repair.ticket_id,
                code(repair.ticket_id),
                line.asset_tag if line else "",
                _moment(repair.reported_at, tz),
                earlier.ticket_id if earlier else "",
                _moment(earlier.reported_at, tz) if earlier else "",
                round((repair.reported_at - earlier.reported_at).total_seconds() / 86400, 1)
                if earlier
                else "",
                1,
                int(earlier is not None),
            ]
        )
    _total(t, repeats, ["", "", "", "", "", "", report.repeat.denominator, report.repeat.numerator])
    repeats.append([t("Points deducted"), report.repeat_deduction])

    complaints = _sheet(
        book,
        t("Complaints"),
        [
            t("Complaint"),
            t("Ticket"),
            t("Site"),
            t("Reporter"),
            t("Received"),
            t("Answered (accepted)"),
            t("Complaint"),
            t("Answer"),
            t("Points"),
        ],
    )
    for complaint in details.complaints:
        complaints.append(
            [
                complaint.id,
                complaint.ticket_id or "",
                complaint.site_code,
                complaint.reporter,
                _moment(complaint.received_at, tz),
                _moment(complaint.answered_at, tz),
                complaint.text,
                complaint.answer,
                COMPLAINT_POINTS,
            ]
        )
    _total(
        t,
        complaints,
        ["", "", "", "", "", "", "", COMPLAINT_POINTS * len(details.complaints)],
    )

    replacements = _sheet(
        book,
        t("Replacements"),
        [
            t("Request"),
            t("Engineer"),
            t("Site"),
            t("Reason"),
            t("Requested"),
            t("Due by"),
            t("Replaced at"),
            t("Successor"),
            t("Handed over (tickets / plans)"),
            t("Outcome"),
            t("Points"),
        ],
    )
    points = 0
    for request in details.replacements:
        due_here = details.start <= request.due_at < details.end
        missed = due_here and request.missed(details.as_of)
        points += REPLACEMENT_POINTS if missed else 0
        if request.status == "withdrawn":
            verdict = t("withdrawn")
        elif request.met:
            verdict = t("met")
        elif missed:
            verdict = t("missed")
        elif not due_here:
            verdict = t("due in another period")
        else:
            verdict = t("open, not yet due")
        replacements.append(
            [
                request.id,
                request.engineer,
                request.site or "",
                request.reason,
                _moment(request.requested_at, tz),
                _moment(request.due_at, tz),
                _moment(request.done_at, tz),
                request.successor or "",
                f"{request.tickets_handed_over} / {request.plans_handed_over}",
                verdict,
                REPLACEMENT_POINTS if missed else 0,
            ]
        )
    _total(t, replacements, ["", "", "", "", "", "", "", "", "", points])
