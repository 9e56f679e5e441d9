"""The quarterly scorecard read from the database (KPIs by SQL aggregation, a closed quarter's
kept in `core.reports.snapshots`), and posted once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core import surveys
from core.clock import DEFAULT_TIMEZONE
from core.complaints import ComplaintService
from core.messages import QuarterlyScorecardPosted
from core.models import ReportRun
from core.replacements import missed_between
from core.reports.false_reports import false_report_counts
from core.reports.kpi import KpiCounts, Rate, report_from_counts
from core.reports.monthly import MONTHLY_KIND
from core.reports.periods import (
    half_of_quarter,
    month_period,
    months_of_quarter,
    previous_quarter_label,
    quarter_label,
    quarter_period,
    report_deadline,
)
from core.reports.runs import PostResult, find_run, post_run, run_key, service_start
from core.reports.scorecard import (
    MonthlyReportStatus,
    Scorecard,
    ScorecardInputs,
    ScoreRange,
    report_status,
    score_quarter,
)
from core.reports.sites import SiteRef
from core.reports.snapshots import closed_quarter_counts
from core.unit_of_work import Core

QUARTERLY_KIND = "quarterly-scorecard"


async def monthly_report_statuses(
    core: Core, quarter: str, *, as_of: datetime, tz: str = DEFAULT_TIMEZONE
) -> tuple[MonthlyReportStatus, ...]:
    """Each month of the quarter in service: was its summary run created by the 15th?"""
    started = await service_start(core)
    months = [
        m
        for m in months_of_quarter(quarter)
        if started is not None and month_period(m, tz).end > started
    ]
    keys = {run_key(MONTHLY_KIND, m): m for m in months}
    async with core.reading() as session:
        rows = await session.execute(
            select(ReportRun.key, ReportRun.created_at).where(ReportRun.key.in_(list(keys)))
        )
        posted = {keys[row.key]: row.created_at for row in rows}
    statuses = []
    for month in months:
        deadline = report_deadline(month, tz)
        statuses.append(
            MonthlyReportStatus(
                month,
                deadline,
                posted.get(month),
                report_status(deadline, posted.get(month), as_of),
            )
        )
    return tuple(statuses)


async def scorecard_inputs(
    core: Core,
    quarter: str,
    *,
    site: SiteRef | None = None,
    as_of: datetime | None = None,
    with_previous: bool = True,
) -> ScorecardInputs:
    """Read a quarter's inputs from the database (KPIs by SQL aggregation)."""
    tz = site.timezone if site else DEFAULT_TIMEZONE
    bounds = quarter_period(quarter, tz)
    moment = as_of or core.clock.now()
    site_id = site.id if site else None
    by_site = await closed_quarter_counts(core, bounds, as_of=moment)
    counts = (
        by_site.get(site_id, KpiCounts())
        if site_id is not None
        else sum(by_site.values(), KpiCounts())
    )
    kpis = report_from_counts(counts, bounds.start, bounds.end, as_of=moment)
    statuses = await monthly_report_statuses(core, bounds.label, as_of=moment)
    complaints = await ComplaintService(core).accepted_count(
        site_id, since=bounds.start, until=bounds.end
    )
    survey = await surveys.survey_result(
        core, half_of_quarter(bounds.label), site_id=site_id, as_of=moment
    )
    in_quarter, total = await false_report_counts(core, bounds.start, bounds.end, site_id=site_id)
    missed = await missed_between(core, bounds.start, bounds.end, as_of=moment, site_id=site_id)
    previous: ScoreRange | None = None
    if with_previous:
        previous_label = previous_quarter_label(bounds.label)
        started = await service_start(core)
        if started is not None and quarter_period(previous_label, tz).end > started:
            earlier = await scorecard_inputs(
                core, previous_label, site=site, as_of=moment, with_previous=False
            )
            previous = score_quarter(previous_label, earlier).score
    return ScorecardInputs(
        kpis=kpis,
        reports=statuses,
        accepted_complaints=complaints,
        survey=Rate(survey.positive, survey.answered) if survey.answered else None,
        survey_period=survey.period if survey.answered else None,
        false_reports_in_quarter=in_quarter,
        false_reports_total=total,
        previous=previous,
        missed_replacements=len(missed),
    )


async def quarterly_scorecard(
    core: Core, quarter: str, *, site: SiteRef | None = None, as_of: datetime | None = None
) -> Scorecard:
    """The scorecard of quarter '2026-Q4' for every site or one."""
    label = quarter_period(quarter, DEFAULT_TIMEZONE).label
    inputs = await scorecard_inputs(core, label, site=site, as_of=as_of)
    return score_quarter(label, inputs, site_code=site.code if site else None)


async def post_quarterly_scorecard(
    core: Core, now: datetime, *, tz: str = DEFAULT_TIMEZONE
) -> PostResult:
    """Post last quarter's scorecard to the managers once (the job)."""
    current = quarter_label(now, tz)
    period = previous_quarter_label(current)
    key = run_key(QUARTERLY_KIND, period)
    if await find_run(core, key) is not None:
        return PostResult(key, posted=False, reason="already_posted")
    started = await service_start(core)
    if started is None or started >= quarter_period(period, tz).end:
        return PostResult(key, posted=False, reason="before_service")
    card = await quarterly_scorecard(core, period, as_of=now)
    return await post_run(
        core,
        kind=QUARTERLY_KIND,
        period=period,
        key=key,
        message_class=QuarterlyScorecardPosted,
        figures=card.to_json(),
    )
