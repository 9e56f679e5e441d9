"""Monthly summaries, quarterly scorecards, the survey and false reports, on every backend."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select

from core import surveys
from core.clock import FrozenClock
from core.db import Database
from core.enums import (
    AssetKind,
    Impact,
    OutboxStatus,
    Role,
    ServiceResult,
    ServiceType,
    TicketStatus,
)
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.messages import MonthlySummaryPosted, QuarterlyScorecardPosted, SurveyQuestion
from core.models import (
    Asset,
    AuditEvent,
    FalseReport,
    OutboxMessage,
    Rating,
    ReportRun,
    SlaClock,
    SurveyResponse,
    SurveyRound,
    Ticket,
)
from core.reports.counts import kpi_report, load_kpi_inputs
from core.reports.false_reports import FALSE_REPORT_RECORDED, record_false_report
from core.reports.kpi import Rate, compute_kpis
from core.reports.monthly import (
    monthly_figures,
    monthly_summary,
    post_monthly_summary,
)
from core.reports.quarterly import (
    monthly_report_statuses,
    post_quarterly_scorecard,
    quarterly_scorecard,
)
from core.reports.runs import find_run
from core.reports.scorecard import LATE, MISSING, ON_TIME, PENDING, Scorecard, ScoreRange
from core.reports.sites import find_site
from core.services import Helpdesk
from core.tickets import ServiceSheet
from core.unit_of_work import Core

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(month: int, day: int, hour: int = 9, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def sheet(kind: ServiceType, result: ServiceResult = ServiceResult.FIXED_ON_SITE) -> ServiceSheet:
    return ServiceSheet(kind, result, solution="done")


async def seed_march(helpdesk, world, clock):
    """March 2026 at HQ and a branch, worked through the services.

    t1 PC-0001 software, on time, fixed, rated 5, closed      (level 2)
    t2 PC-0002 hardware, 30 min late, taken back, rated 2     (level 2) → second visit
    t3 printer, cancelled                                     (level 2)
    t4 PC-0001 again on 20 March: software, on time, rated 4  (level 3) → a repeat repair
    t5 branch printer: level 1, never arrives                 (overdue)
    t6 printer, fixed remotely, network                       (level 4)
    """
    for number in (2, 3):
        await helpdesk.assets.register(_asset(f"PC-000{number}"))
    branch = await helpdesk.people.create_site(code="BR", name="Branch", region="city")
    await helpdesk.people.create_person(
        name="Sun Li",
        role=Role.STAFF,
        site_id=branch.id,
        telegram_user_id=1002,
        language="en",
    )
    t = helpdesk.tickets
    desk = world.dispatcher_id

    async def report(tag=None, impact=Impact.CANNOT_WORK, **extra):
        return await t.report_fault(
            world.reporter_id,
            symptom="fault",
            impact=impact,
            asset_tag=tag,
            asset_kind=None if tag else AssetKind.PRINTER,
            **extra,
        )

    clock.set(local(3, 2, 9))
    t1 = await report("PC-0001")
    t2 = await report("PC-0002")
    t3 = await report()
    t6 = await report(impact=Impact.INTERMITTENT)
    await report(impact=Impact.BUSINESS_STOPPED, site_id=branch.id)  # t5
    for ticket in (t1, t2):
        await t.acknowledge(ticket.id, actor_id=desk)
    await t.cancel(t3.id, actor_id=world.reporter_id, reason="works again")
    await t.resolve_remotely(t6.id, actor_id=desk, sheet=sheet(ServiceType.NETWORK))
    clock.set(local(3, 2, 9, 30))
    await t.arrive(t1.id, actor_id=desk)
    clock.set(local(3, 2, 10))
    await t.resolve(t1.id, actor_id=desk, sheet=sheet(ServiceType.SOFTWARE_FAULT))
    await t.rate(t1.id, actor_id=world.reporter_id, score=5)
    await t.confirm_fix(t1.id, actor_id=world.reporter_id, confirmed=True)
    clock.set(local(3, 2, 11, 30))
    await t.arrive(t2.id, actor_id=desk)
    clock.set(local(3, 2, 12))
    await t.resolve(
        t2.id, actor_id=desk, sheet=sheet(ServiceType.HARDWARE_FAULT, ServiceResult.TAKEN_BACK)
    )
    await t.rate(t2.id, actor_id=world.reporter_id, score=2)
    clock.set(local(3, 20, 9))
    t4 = await report("PC-0001", impact=Impact.DEGRADED)
    await t.acknowledge(t4.id, actor_id=desk)
    clock.set(local(3, 20, 9, 30))
    await t.arrive(t4.id, actor_id=desk)
    clock.set(local(3, 20, 10))
    await t.resolve(t4.id, actor_id=desk, sheet=sheet(ServiceType.SOFTWARE_FAULT))
    await t.rate(t4.id, actor_id=world.reporter_id, score=4)
    return branch


def _asset(tag: str):
    from core.assets import AssetRecord

    return AssetRecord(tag=tag, kind=AssetKind.PC, site_code="HQ")


async def test_a_seeded_month_gives_the_expected_summary(helpdesk, world, clock):
    branch = await seed_march(helpdesk, world, clock)
    as_of = local(4, 1, 8)
    summary = await monthly_summary(helpdesk.core, "2026-03", as_of=as_of)
    assert (summary.tickets, summary.cancelled) == (6, 1)
    # Open at the end: t2 (second visit), t5 (never arrived); t4 resolved, not confirmed.
    assert summary.still_open == 2
    assert summary.by_category == {
        "hardware_fault": 1,
        "software_fault": 2,
        "hardware_install": 0,
        "network": 1,
        "no_fault": 0,
        "other": 0,
        "unclassified": 2,  # t3 cancelled, t5 never worked
    }
    assert summary.by_severity == {1: 1, 2: 3, 3: 1, 4: 1}
    assert [(line.code, line.tickets) for line in summary.sites] == [("BR", 1), ("HQ", 5)]
    k = summary.kpis
    # Arrivals: t1, t4 met; t2 late; t5 overdue; t2's second visit overdue by 1 April.
    assert k.arrival == Rate(2, 5)
    assert k.fix == Rate(2, 3)  # t1, t4 fixed on site; t2 taken back; t6 remote
    assert (k.satisfaction, k.low_ratings) == (Rate(2, 3), 1)
    assert k.repeat == Rate(1, 2)  # t4 repeats t1 within 30 days
    assert (k.arrival_deduction, k.fix_deduction) == (100, 60)
    assert (k.satisfaction_deduction, k.repeat_deduction) == (1, 1)
    site = await find_site(helpdesk.core, "BR")
    assert site.id == branch.id
    only_branch = await monthly_summary(helpdesk.core, "2026-03", site=site, as_of=as_of)
    assert (only_branch.tickets, only_branch.kpis.arrival) == (1, Rate(0, 1))
    assert only_branch.site_name == "Branch"


async def test_the_sql_aggregates_equal_the_pure_functions(helpdesk, world, clock):
    await seed_march(helpdesk, world, clock)
    await seed_random(helpdesk.core, world, seed=7)
    start, end = local(3, 1, 0), local(4, 1, 0)
    for as_of in (local(3, 20, 9, 45), local(4, 1, 8), local(5, 1)):
        for site_id in (None, world.site_id):
            inputs = await load_kpi_inputs(helpdesk.core, start, end, site_id=site_id)
            expected = compute_kpis(inputs, start, end, as_of=as_of)
            aggregated = await kpi_report(helpdesk.core, start, end, site_id=site_id, as_of=as_of)
            assert aggregated == expected


async def seed_random(core: Core, world, *, seed: int) -> None:
    """Rows inserted directly: repeat-window edges (exactly 30 days, 30 days and 1 µs,
    equal report times), clocks in every state, remote and on-site sheets, ratings."""
    rng = random.Random(seed)
    base = datetime(2026, 2, 20, tzinfo=UTC)
    async with core.db.transaction() as session:
        asset_ids = []
        for number in range(6):
            asset_ids.append(
                (
                    await session.execute(
                        insert(Asset)
                        .values(tag=f"R-{number}", kind=AssetKind.PC, site_id=world.site_id)
                        .returning(Asset.id)
                    )
                ).scalar_one()
            )
        times = []
        for _ in range(120):
            times.append(base + timedelta(minutes=rng.randrange(0, 60 * 24 * 45)))
        # Edges around the 30-day window and a tie in time.
        edge = datetime(2026, 3, 10, 3, 0, 0, 500000, tzinfo=UTC)
        edges = [
            (asset_ids[0], edge - timedelta(days=30)),
            (asset_ids[0], edge),
            (asset_ids[1], edge - timedelta(days=30, microseconds=1)),
            (asset_ids[1], edge),
            (asset_ids[2], edge),
            (asset_ids[2], edge),
        ]
        rows = [(rng.choice([*asset_ids, None]), moment) for moment in times] + edges
        # Audit ids come from the chain's head row, not a sequence; these rows sit past it
        # (the chain is not verified here).
        next_event = int(await session.scalar(select(func.max(AuditEvent.id))) or 0) + 1000
        for index, (asset_id, reported) in enumerate(rows):
            edge_row = index >= len(times)
            category = (
                ServiceType.SOFTWARE_FAULT
                if edge_row or rng.random() < 0.6
                else rng.choice([ServiceType.HARDWARE_FAULT, None])
            )
            remote = False if edge_row else rng.random() < 0.15
            ticket_id = (
                await session.execute(
                    insert(Ticket)
                    .values(
                        reporter_id=world.reporter_id,
                        site_id=world.site_id,
                        asset_id=asset_id,
                        symptom="x",
                        impact=Impact.CANNOT_WORK,
                        severity=rng.randint(1, 4),
                        initial_severity=2,
                        category=category,
                        status=TicketStatus.RESOLVED,
                        remote=remote,
                        region="city",
                        service_hours="5x8",
                        timezone="Asia/Shanghai",
                        reported_at=reported,
                    )
                    .returning(Ticket.id)
                )
            ).scalar_one()
            due = reported + timedelta(hours=2)
            state = rng.choice(["met", "late", "running", "breached", "cancelled", "no_verdict"])
            await session.execute(
                insert(SlaClock).values(
                    ticket_id=ticket_id,
                    kind="arrival",
                    cycle=0,
                    started_at=reported,
                    target_seconds=7200,
                    calendar="24x7",
                    due_at=due,
                    stopped_at={
                        "met": reported + timedelta(hours=1),
                        "late": reported + timedelta(hours=3),
                        "no_verdict": reported + timedelta(hours=1),
                        "cancelled": reported + timedelta(hours=1),
                    }.get(state),
                    met={"met": True, "late": False}.get(state),
                    cancelled=state == "cancelled",
                    breached_at=due if state == "breached" else None,
                )
            )
            result = rng.choice(list(ServiceResult))
            await session.execute(
                insert(AuditEvent).values(
                    id=next_event + index,
                    at=reported + timedelta(hours=4),
                    actor_id=None,
                    entity="ticket",
                    entity_id=ticket_id,
                    action="ticket.resolved",
                    data={"remote": remote, "result": result.value},
                    prev_hash="0" * 64,
                    hash="0" * 64,
                )
            )
            if rng.random() < 0.7:
                await session.execute(
                    insert(Rating).values(
                        ticket_id=ticket_id,
                        cycle=0,
                        score=rng.randint(1, 5),
                        rated_at=reported + timedelta(hours=5),
                        comment="",
                    )
                )


async def test_the_job_posts_the_month_once_even_when_run_twice(helpdesk, world, clock):
    await seed_march(helpdesk, world, clock)
    clock.set(local(4, 1, 8))
    first = await post_monthly_summary(helpdesk.core, clock.now())
    again = await post_monthly_summary(helpdesk.core, clock.now())
    assert (first.posted, first.recipients, first.key) == (True, 1, "monthly-summary:2026-03")
    assert (again.posted, again.reason) == (False, "already_posted")
    async with helpdesk.core.reading() as session:
        runs = (await session.scalars(select(ReportRun))).all()
        rows = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.code == MonthlySummaryPosted.kind)
            )
        ).all()
    assert [(run.key, run.kind, run.period) for run in runs] == [
        ("monthly-summary:2026-03", "monthly-summary", "2026-03")
    ]
    assert runs[0].figures["tickets"] == 6
    assert [(row.recipient_id, row.key) for row in rows] == [
        (world.manager_id, f"monthly-summary:2026-03:{world.manager_id}")
    ]
    # The figures are frozen: later work in March does not change the posted month.
    clock.set(local(4, 2, 9))
    posted, run = await monthly_figures(helpdesk.core, "2026-03")
    assert run is not None and posted.kpis.arrival == Rate(2, 5)


async def test_two_instances_racing_post_the_month_once(
    database_url, helpdesk, world, clock, policy
):
    await seed_march(helpdesk, world, clock)
    clock.set(local(4, 1, 8))
    others = [Database(database_url) for _ in range(2)]
    try:
        cores = [Core(db, FrozenClock(clock.now()), policy) for db in others]
        results = await asyncio.gather(*(post_monthly_summary(core, clock.now()) for core in cores))
    finally:
        for db in others:
            await db.dispose()
    assert sorted(result.posted for result in results) == [False, True]
    async with helpdesk.core.reading() as session:
        assert await session.scalar(select(func.count(ReportRun.id))) == 1
        assert (
            await session.scalar(
                select(func.count(OutboxMessage.id)).where(
                    OutboxMessage.code == MonthlySummaryPosted.kind
                )
            )
            == 1
        )


async def test_nothing_is_posted_for_a_month_before_the_service_started(helpdesk, world, clock):
    # The world was registered on 2 March: February was before the service.
    result = await post_monthly_summary(helpdesk.core, local(3, 5))
    assert (result.posted, result.reason) == (False, "before_service")


async def test_a_month_posted_after_the_15th_or_not_at_all_counts_as_missed(helpdesk, world, clock):
    await seed_march(helpdesk, world, clock)
    # Down over the 1st: the start-up catch-up posts March on 18 April, late.
    clock.set(local(4, 18, 10))
    late = await post_monthly_summary(helpdesk.core, clock.now())
    assert late.posted
    # April is posted on time on 1 May; May is never posted.
    clock.set(local(5, 1, 8))
    await post_monthly_summary(helpdesk.core, clock.now())
    statuses = await monthly_report_statuses(helpdesk.core, "2026-Q1", as_of=local(7, 1, 9))
    # January and February ended before the service started (2 March).
    assert [(s.month, s.status) for s in statuses] == [("2026-03", LATE)]
    q2 = await monthly_report_statuses(helpdesk.core, "2026-Q2", as_of=local(6, 10))
    assert [(s.month, s.status) for s in q2] == [
        ("2026-04", ON_TIME),
        ("2026-05", PENDING),  # due by 15 June
        ("2026-06", PENDING),
    ]
    q2_later = await monthly_report_statuses(helpdesk.core, "2026-Q2", as_of=local(7, 20))
    assert [s.status for s in q2_later] == [ON_TIME, MISSING, MISSING]
    card = await quarterly_scorecard(helpdesk.core, "2026-Q2", as_of=local(7, 20))
    assert (card.missed_reports, card.other) == (2, 80)


async def test_the_survey_opens_once_per_site_asks_staff_and_records_one_answer_each(
    helpdesk, world, clock
):
    branch = await seed_march(helpdesk, world, clock)
    core = helpdesk.core
    assert (await surveys.open_rounds(core, local(5, 31, 23))).period is None  # not yet
    clock.set(local(6, 1, 10))
    opened = await surveys.open_rounds(core, clock.now())
    assert (opened.period, opened.rounds_opened, opened.questions) == ("2026-H1", 2, 2)
    assert (await surveys.open_rounds(core, local(6, 2, 10))).rounds_opened == 0
    async with core.reading() as session:
        rounds = {
            r.site_id: r
            for r in (await session.scalars(select(SurveyRound).order_by(SurveyRound.id))).all()
        }
        asked = (
            await session.scalars(
                select(OutboxMessage.recipient_id).where(OutboxMessage.code == SurveyQuestion.kind)
            )
        ).all()
    assert set(rounds) == {world.site_id, branch.id}
    assert rounds[world.site_id].closes_at == local(6, 15, 0)
    sun = await helpdesk.people.find_by_telegram(1002)
    assert sorted(asked) == sorted([world.reporter_id, sun.id])  # staff only, one each
    hq_round = rounds[world.site_id].id

    first = await surveys.answer(core, round_id=hq_round, person_id=world.reporter_id, score=4)
    again = await surveys.answer(core, round_id=hq_round, person_id=world.reporter_id, score=1)
    manager = await surveys.answer(core, round_id=hq_round, person_id=world.manager_id, score=5)
    unknown = await surveys.answer(core, round_id=999, person_id=world.reporter_id, score=5)
    assert (first.outcome, first.score) == (surveys.Outcome.RECORDED, 4)
    assert (again.outcome, again.score) == (surveys.Outcome.ALREADY_ANSWERED, 4)
    assert manager.outcome is surveys.Outcome.NOT_INVITED
    assert unknown.outcome is surveys.Outcome.UNKNOWN_ROUND
    # Before the close there is no figure for the half-year yet.
    early = await surveys.survey_result(core, "2026-H1", as_of=local(6, 10))
    assert early.answered == 0
    clock.set(local(6, 15, 0))
    late = await surveys.answer(core, round_id=rounds[branch.id].id, person_id=sun.id, score=2)
    assert late.outcome is surveys.Outcome.CLOSED
    result = await surveys.survey_result(core, "2026-H1", as_of=clock.now())
    assert (result.rounds, result.positive, result.answered) == (2, 1, 1)
    async with core.reading() as session:
        assert await session.scalar(select(func.count(SurveyResponse.id))) == 1
        events = (
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.entity == "survey_round")
            )
        ).all()
    assert sorted(events) == ["survey.answered", "survey.opened", "survey.opened"]
    # The survey share feeds Q1 and Q2, not Q3.
    q1 = await quarterly_scorecard(core, "2026-Q1", as_of=local(7, 1, 9))
    assert q1.inputs.survey == Rate(1, 1) and q1.survey == 100
    assert q1.inputs.survey_period == "2026-H1"
    q3 = await quarterly_scorecard(core, "2026-Q3", as_of=local(10, 1, 9))
    assert q3.survey is None and not q3.score.known


async def test_a_false_report_is_recorded_with_its_audit_event_and_cuts_the_payment(
    helpdesk, world, clock
):
    await seed_march(helpdesk, world, clock)
    tickets = await helpdesk.tickets.open_for_reporter(world.reporter_id)
    ticket_id = tickets[0].id
    clock.set(local(3, 25, 15))
    view = await record_false_report(
        helpdesk.core,
        ticket_id=ticket_id,
        kind="part_not_replaced",
        note="disk never swapped",
        actor_id=world.manager_id,
    )
    assert (view.quarter, view.in_quarter, view.total) == ("2026-Q1", 1, 1)
    async with helpdesk.core.reading() as session:
        row = await session.scalar(select(FalseReport))
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == FALSE_REPORT_RECORDED)
        )
    assert (row.ticket_id, row.kind, row.found_by_id) == (
        ticket_id,
        "part_not_replaced",
        world.manager_id,
    )
    assert event.entity_id == row.id and event.data["note"] == "disk never swapped"
    card = await quarterly_scorecard(helpdesk.core, "2026-Q1", as_of=local(4, 1, 9))
    assert card.inputs.false_reports_in_quarter == 1
    assert card.paid_high.percent == card.payment_high.percent - 10


async def test_only_managers_and_admins_record_false_reports(helpdesk, world, clock):
    await seed_march(helpdesk, world, clock)
    with pytest.raises(PermissionDenied):
        await record_false_report(
            helpdesk.core, ticket_id=1, kind="other", actor_id=world.engineer_id
        )
    with pytest.raises(NotFound):
        await record_false_report(
            helpdesk.core, ticket_id=999, kind="other", actor_id=world.manager_id
        )
    with pytest.raises(InvalidInput):
        await record_false_report(
            helpdesk.core, ticket_id=1, kind="typo", actor_id=world.manager_id
        )


async def test_the_quarterly_job_posts_the_scorecard_once_with_the_payment(
    helpdesk: Helpdesk, world, clock
):
    await seed_march(helpdesk, world, clock)
    clock.set(local(4, 1, 8))
    await post_monthly_summary(helpdesk.core, clock.now())
    clock.set(local(4, 1, 9))
    first = await post_quarterly_scorecard(helpdesk.core, clock.now())
    again = await post_quarterly_scorecard(helpdesk.core, local(4, 2, 9))
    assert (first.posted, first.key, again.posted) == (True, "quarterly-scorecard:2026-Q1", False)
    run = await find_run(helpdesk.core, first.key)
    card = Scorecard.from_json(run.figures)
    # Q1: March only (the service started 2 March), its report posted on 1 April.
    assert [(r.month, r.status) for r in card.inputs.reports] == [("2026-03", ON_TIME)]
    assert card.onsite == 0  # March's KPIs cost 100 + 60 + 1 + 1 points
    assert card.other == 100 and card.survey is None
    assert card.score == ScoreRange(20, 50)
    assert card.payment_low.percent == 80 and card.payment_high.percent == 80
    async with helpdesk.core.reading() as session:
        queued = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.code == QuarterlyScorecardPosted.kind)
            )
        ).all()
    assert [(row.recipient_id, row.status) for row in queued] == [
        (world.manager_id, OutboxStatus.PENDING)
    ]


async def test_the_command_line_prints_the_figures_and_writes_the_files(
    database_url, helpdesk, world, clock, tmp_path
):
    from openpyxl import load_workbook
    from typer.testing import CliRunner

    from bot.cli import app

    await seed_march(helpdesk, world, clock)
    clock.set(local(4, 1, 8))
    await post_monthly_summary(helpdesk.core, clock.now())
    runner = CliRunner()

    async def run(*args: str):
        # English on purpose: without --lang reports speak FAULTDESK_DEFAULT_LANGUAGE.
        command = ["report", *args, "--lang", "en", "-d", database_url]
        return await asyncio.to_thread(runner.invoke, app, command)

    text = await run("monthly", "--period", "2026-03")
    assert text.exit_code == 0, text.output
    assert text.output.startswith("As posted to the managers on Apr 1, 2026, 8:00:00")
    assert "Tickets reported: 6 (1 cancelled, 2 still open)" in text.output
    assert "On-time arrival: 40.0% (2 of 5) · target 90% · −100 points" in text.output
    csv_out = await run("monthly", "--period", "2026-03", "--format", "csv")
    assert csv_out.exit_code == 0
    lines = csv_out.output.splitlines()
    assert lines[0] == "section,code,label,count,out_of,rate"
    assert "kpi,arrival,On-time arrival,2,5,0.4000" in lines
    assert "service_type,software_fault,Software fault,2,6," in lines
    target = tmp_path / "march.xlsx"
    written = await run(
        "monthly", "--period", "2026-03", "--site", "HQ", "--format", "xlsx", "--out", str(target)
    )
    assert written.exit_code == 0 and f"wrote {target}" in written.output
    book = load_workbook(target)
    assert book["Summary"]["B5"].value == 5  # HQ's tickets (the branch's one left out)
    # The tickets behind each KPI (issue 13), HQ's only.
    arrivals = list(book["On-time arrival"].iter_rows(values_only=True))
    sites = {row[2] for row in arrivals[1:] if row[0] not in ("Total", "Points deducted")}
    assert sites == {"HQ"} and next(r for r in arrivals if r[0] == "Total")[7:9] == (4, 2)
    card = await run("quarterly", "--period", "2026-Q1")
    assert card.exit_code == 0
    assert card.output.startswith("🏁 Quarterly scorecard · 2026 Q1 · all sites")
    assert "Monthly reports (due by the 15th): March 2026: on time" in card.output
    bad = await run("monthly", "--period", "March")
    assert bad.exit_code == 2
    # A sentence naming the bad period and the right form, not the internal code.
    assert (
        "March is not a period; write a month like 2026-11 or a quarter like 2026-Q4." in bad.output
    )
    assert "report.bad_period" not in bad.output
