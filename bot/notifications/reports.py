"""The periodic reports and the survey: the monthly summary (text, chart, workbook), the
quarterly scorecard (text, workbook), and the semiannual satisfaction question."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.callback_ids import SURVEY_ACTION
from bot.chat import InlineKeyboard, SendDocument, SendPhoto
from bot.dialogs.rate import score_label
from bot.i18n import Translator
from bot.notifications.registry import Notice, RenderCtx, renders
from bot.rendering.chart import monthly_chart
from bot.rendering.pdf import FontMissing, sheets_pdfs
from bot.rendering.text import monthly_text, quarterly_text
from bot.rendering.wording import (
    monthly_caption,
    monthly_filename,
    quarter_title,
    quarterly_filename,
)
from bot.rendering.xlsx import monthly_xlsx, quarterly_xlsx
from core.messages import (
    AuditAnchorPosted,
    MonthlySummaryPosted,
    QuarterlyScorecardPosted,
    SurveyQuestion,
)
from core.reports.details import KpiDetails
from core.reports.monthly import MonthlySummary
from core.reports.scorecard import Scorecard
from core.service_sheets import ServiceSheetView


async def sheets_attachments(
    t: Translator, sheets: Sequence[ServiceSheetView], chat_id: int, title: str, stem: str
) -> tuple[list[SendDocument], str]:
    """The month's service sheets as PDF file(s), or why they could not be made."""
    if not sheets:
        return [], ""
    try:
        files = await asyncio.to_thread(sheets_pdfs, t, sheets, title)
    except FontMissing:
        return [], t(
            "The service sheets PDF could not be made: no Chinese font is installed on the server (fonts-wqy-microhei)."
        )
    documents = []
    for index, data in enumerate(files, start=1):
        suffix = f"-part{index}" if len(files) > 1 else ""
        caption = t("Service sheets · {title} ({n})", title=title, n=len(sheets))
        if len(files) > 1:
            caption += f" · {index}/{len(files)}"
        documents.append(SendDocument(chat_id, data, f"{stem}{suffix}.pdf", caption))
    return documents, ""


async def monthly_notice(
    t: Translator,
    summary: MonthlySummary,
    chat_id: int,
    text: str,
    *,
    details: KpiDetails | None = None,
    sheets: Sequence[ServiceSheetView] = (),
) -> Notice:
    """The message, then the chart, the workbook (with every KPI's tickets when `details`
    are given) and the month's service sheets (all built off the event loop)."""
    png, xlsx = await asyncio.gather(
        asyncio.to_thread(monthly_chart, t, summary),
        asyncio.to_thread(monthly_xlsx, t, summary, details),
    )
    caption = monthly_caption(t, summary)
    documents, problem = await sheets_attachments(
        t,
        sheets,
        chat_id,
        caption,
        monthly_filename(summary, "").replace("monthly", "sheets"),
    )
    return Notice(
        "\n".join([text, problem]) if problem else text,
        attachments=[
            SendPhoto(chat_id, png, caption=caption, filename=monthly_filename(summary, ".png")),
            SendDocument(chat_id, xlsx, monthly_filename(summary, ".xlsx"), caption=caption),
            *documents,
        ],
    )


async def quarterly_notice(
    t: Translator, card: Scorecard, chat_id: int, tz: str, *, details: KpiDetails | None = None
) -> Notice:
    """The scorecard message and its workbook (with every KPI's tickets, the complaints and
    the replacement requests when `details` are given)."""
    xlsx = await asyncio.to_thread(quarterly_xlsx, t, card, details, tz)
    caption = t("Quarterly scorecard · {quarter}", quarter=quarter_title(t, card.period))
    return Notice(
        quarterly_text(t, card, tz=tz),
        attachments=[SendDocument(chat_id, xlsx, quarterly_filename(card, ".xlsx"), caption)],
    )


@renders(MonthlySummaryPosted)
async def monthly_summary_posted(m: MonthlySummaryPosted, r: RenderCtx) -> Notice:
    """The posted month as text, chart and workbook."""
    summary = MonthlySummary.from_json(m.figures)
    start, end = summary.kpis.start, summary.kpis.end
    details = await r.lookups.kpi_details(start, end, site_id=None, as_of=summary.as_of)
    sheets = await r.lookups.service_sheets(start, end, site_id=None)
    return await monthly_notice(
        r.t,
        summary,
        r.chat_id or 0,
        monthly_text(r.t, summary),
        details=details,
        sheets=sheets,
    )


@renders(QuarterlyScorecardPosted)
async def quarterly_scorecard_posted(m: QuarterlyScorecardPosted, r: RenderCtx) -> Notice:
    """The posted scorecard as text and workbook."""
    card = Scorecard.from_json(m.figures)
    kpis = card.kpis
    details = await r.lookups.kpi_details(kpis.start, kpis.end, site_id=None, as_of=kpis.as_of)
    return await quarterly_notice(r.t, card, r.chat_id or 0, r.tz, details=details)


def survey_keyboard(s: Any, round_id: int) -> InlineKeyboard:
    """The five answers, best first (the seed's labels)."""
    return InlineKeyboard.of(
        *([s.button(score_label(s.t, n), SURVEY_ACTION, round_id, n)] for n in range(5, 0, -1))
    )


def survey_question_text(s: Any, period: str, closes_at: datetime) -> str:
    """The semiannual question."""
    return "\n".join(
        [
            s._("🗳 <b>Satisfaction survey {period}</b>", period=period),
            s._(
                "How satisfied is your department with the office-equipment maintenance service over the past half year?"
            ),
            s._("One answer per person; the survey closes {moment}.", moment=s.when(closes_at)),
        ]
    )


@renders(SurveyQuestion)
async def survey_question(m: SurveyQuestion, r: RenderCtx) -> Notice:
    """The 1-5 question with its buttons."""
    return Notice(survey_question_text(r, m.period, m.closes_at), survey_keyboard(r, m.round_id))


@renders(AuditAnchorPosted)
async def audit_anchor_posted(m: AuditAnchorPosted, r: RenderCtx) -> Notice:
    """The daily fingerprint, with the command that checks it."""
    return Notice(
        "\n".join(
            [
                r._("🔏 <b>faultdesk audit log</b> · {moment}", moment=r.when(m.at)),
                r._(
                    "Fingerprint: <code>{anchor}</code> (event {events} and the first digits of its hash).",
                    anchor=m.anchor,
                    events=m.events,
                ),
                r._(
                    "Whoever holds this post can check the ticket history was not rewritten: <code>faultdesk audit verify --anchor {anchor}</code>",
                    anchor=m.anchor,
                ),
            ]
        )
    )
