"""The service sheet (001 附表一 现场服务单) as a PDF: one ticket, or a month's sheets in one file.

Made with fpdf2 (pure Python, kept up, embeds a subset of a TrueType font, so the
file reads the same on any phone). Chinese needs a CJK font: WenQuanYi Micro Hei from
Debian's `fonts-wqy-microhei` (TrueType outlines, which every PDF reader and text
extractor handles; the setup and test scripts install it). `FAULTDESK_PDF_FONT` names
another TrueType/TTC font file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.dialogs.rate import FOLLOW_UP_ANSWER, score_label
from bot.i18n import N_, Translator
from bot.labels import ASSET_KIND, BACKUP_OPERATION, SERVICE_RESULT, SERVICE_TYPE, label
from bot.rendering.label_sheets import FontFile, find_cjk_font, font_face
from core.enums import FOLLOW_UP_DIMENSIONS, FOLLOW_UP_LABELS, ServiceResult
from core.service_sheets import ServiceSheetView

FONT = "cjk"
LABEL_WIDTH = 48  # mm, of the 180 mm between the margins
SHEETS_PER_FILE = 300  # a month's sheets are split so each file stays well under 50 MB

FOLLOW_UP_DIMENSION = {
    "quality": N_("Quality of the work"),
    "standard": N_("Working to standard"),
    "progress": N_("Speed of the work"),
    "attitude": N_("Attitude"),
}


class FontMissing(RuntimeError):
    """No CJK font to write the sheet with (install fonts-wqy-microhei)."""


def sheet_font() -> FontFile:
    """The CJK font: FAULTDESK_PDF_FONT, else the one the sticker labels use (find_cjk_font)."""
    configured = os.environ.get("FAULTDESK_PDF_FONT")
    found: FontFile | None = None
    if configured and Path(configured).is_file():
        try:
            found = font_face(Path(configured))
        except ValueError:
            found = None
    found = found or find_cjk_font()
    if found is None:
        raise FontMissing(
            "no CJK font for the service sheet: install fonts-wqy-microhei"
            " or set FAULTDESK_PDF_FONT"
        )
    return found


def _moment(t: Translator, value: datetime | None, tz: str) -> str:
    """'2026-03-02 09:30' in the sheet's zone (the form's 月日时分), or a dash."""
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _yes_no(t: Translator, value: bool) -> str:
    return t("Yes") if value else t("No")


def sheet_rows(t: Translator, sheet: ServiceSheetView) -> list[tuple[str, str]]:
    """(label, value) rows of the sheet, in the order of 001 附表一."""
    tz = sheet.timezone

    def when(value: datetime | None) -> str:
        return _moment(t, value, tz)

    if sheet.arrival_met is None:
        arrival = (
            t("No visit: fixed remotely") if sheet.result is ServiceResult.FIXED_REMOTELY else "—"
        )
    else:
        arrival = t(
            "{moment} ({verdict}; recorded by the engineer in chat)",
            moment=when(sheet.arrived_at),
            verdict=t("on time") if sheet.arrival_met else t("late"),
        )
    charged = _yes_no(t, sheet.charged)
    if sheet.charged and sheet.amount is not None:
        charged += " · " + t("{amount} yuan", amount=f"{sheet.amount:.2f}")
    result = label(t, SERVICE_RESULT, sheet.result)
    if sheet.second_visit_at is not None:
        result += " · " + t("second visit at {moment}", moment=when(sheet.second_visit_at))
    backups = [
        t(
            "{operation}: requested {requested}; {answer}",
            operation=t(BACKUP_OPERATION[b.operation])
            if b.operation in BACKUP_OPERATION
            else b.operation or "—",
            requested=when(b.requested_at),
            answer=(
                t("not answered")
                if b.confirmed is None
                else t(
                    "{verdict} by {who} at {moment}",
                    verdict=t("backed up, may proceed") if b.confirmed else t("refused"),
                    who=b.by or "—",
                    moment=when(b.at),
                )
            ),
        )
        for b in sheet.backups
    ]
    solution = sheet.solution or "—"
    if sheet.parts_replaced:
        solution += "\n" + t("Parts replaced: {parts}", parts=sheet.parts_replaced)
    if sheet.spare_lent:
        solution += "\n" + t("A spare device was lent.")
    follow_up = [
        f"{t(FOLLOW_UP_DIMENSION[name])}: "
        + (
            t(FOLLOW_UP_ANSWER[FOLLOW_UP_LABELS[value]])
            if (value := sheet.follow_up.get(name)) in FOLLOW_UP_LABELS
            else "—"
        )
        for name in FOLLOW_UP_DIMENSIONS
    ]
    if sheet.rated_at is not None:
        follow_up.append(
            t(
                "Asked by the helpdesk in chat; answered by {who} at {moment}",
                who=sheet.rated_by or "—",
                moment=when(sheet.rated_at),
            )
        )
    model = " · ".join(
        part
        for part in (
            label(t, ASSET_KIND, sheet.asset_kind) if sheet.asset_kind else "",
            sheet.model,
        )
        if part
    )
    serial = " · ".join(
        part
        for part in (
            sheet.serial,
            t("asset {tag}", tag=sheet.asset_tag) if sheet.asset_tag else "",
        )
        if part
    )
    confirmed = (
        t(
            "Confirmed fixed in chat by {who} at {moment}",
            who=sheet.confirmed_by or "—",
            moment=when(sheet.confirmed_at),
        )
        if sheet.confirmed_at is not None
        else t("Not confirmed by the user yet")
    )
    audit = (
        t(
            "Audit event {anchor} (check: faultdesk audit verify --anchor {anchor})",
            anchor=sheet.audit_event,
        )
        if sheet.audit_event
        else "—"
    )
    return [
        (t("Assigned at"), when(sheet.assigned_at)),
        (t("Assigned by"), sheet.dispatcher or t("the helpdesk (automatic dispatch)")),
        (t("Service engineer"), sheet.engineer or "—"),
        (t("Department"), sheet.department or "—"),
        (t("User"), sheet.user or "—"),
        (t("Contact"), sheet.contact or "—"),
        (
            t("Address"),
            f"{sheet.site_name} · {sheet.address}"
            if sheet.address != sheet.site_name
            else sheet.site_name,
        ),
        (t("Phone"), sheet.phone or "—"),
        (t("Fault symptom"), sheet.symptom),
        (t("Model"), model or "—"),
        (t("Serial number"), serial or "—"),
        (t("Reported at"), when(sheet.reported_at)),
        (t("Promised arrival"), when(sheet.promised_arrival_at)),
        (t("Actual arrival"), arrival),
        (t("Service completed"), when(sheet.completed_at)),
        (t("Service type"), label(t, SERVICE_TYPE, sheet.service_type)),
        (t("Under warranty"), _yes_no(t, sheet.under_warranty)),
        (t("Charged"), charged),
        (t("Result"), result),
        (t("Data backup confirmed"), "\n".join(backups) or t("No risky operation: none asked")),
        (t("Solution"), solution),
        (t("Satisfaction"), score_label(t, sheet.score) if sheet.score else t("not rated yet")),
        (t("Comments and suggestions"), sheet.comment or "—"),
        (t("User's signature"), confirmed),
        (t("Follow-up record"), "\n".join(follow_up)),
        (t("Audit fingerprint"), audit),
    ]


def _document(t: Translator, title: str) -> Any:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_creator("faultdesk")
    pdf.set_auto_page_break(auto=True, margin=14)
    font = sheet_font()
    pdf.add_font(FONT, "", str(font.path), collection_font_number=font.face)
    pdf.set_margins(15, 14, 15)
    return pdf


def _page(t: Translator, pdf: Any, sheet: ServiceSheetView) -> None:
    pdf.add_page()
    pdf.set_font(FONT, size=15)
    pdf.cell(0, 9, t("Service sheet (001 附表一)"), new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font(FONT, size=9)
    pdf.cell(
        0,
        6,
        t(
            "Ticket #{ticket} · visit {visit} · {site}",
            ticket=sheet.ticket_id,
            visit=sheet.cycle + 1,
            site=f"{sheet.site_code} {sheet.site_name}",
        ),
        new_x="LMARGIN",
        new_y="NEXT",
        align="C",
    )
    pdf.ln(2)
    with pdf.table(
        col_widths=(LABEL_WIDTH, 180 - LABEL_WIDTH),
        first_row_as_headings=False,
        line_height=5.2,
        padding=1.2,
        text_align="LEFT",
    ) as table:
        for name, value in sheet_rows(t, sheet):
            row = table.row()
            row.cell(name)
            row.cell(value)


def sheet_pdf(t: Translator, sheet: ServiceSheetView) -> bytes:
    """One ticket's service sheet."""
    pdf = _document(t, t("Service sheet · ticket #{ticket}", ticket=sheet.ticket_id))
    _page(t, pdf, sheet)
    return bytes(pdf.output())


def sheets_pdfs(t: Translator, sheets: Sequence[ServiceSheetView], title: str) -> list[bytes]:
    """Many sheets, one per page, in files of at most SHEETS_PER_FILE sheets."""
    files = []
    for first in range(0, len(sheets), SHEETS_PER_FILE):
        pdf = _document(t, title)
        for sheet in sheets[first : first + SHEETS_PER_FILE]:
            _page(t, pdf, sheet)
        files.append(bytes(pdf.output()))
    return files


def sheet_filename(sheet: ServiceSheetView) -> str:
    """'faultdesk-sheet-1234.pdf'."""
    return f"faultdesk-sheet-{sheet.ticket_id}.pdf"
