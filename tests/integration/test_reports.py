"""KPI loaders and today's counts read the right records, on every database backend."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.assets import AssetRecord
from core.enums import AssetKind, Impact, ServiceResult, ServiceType
from core.reports.counts import DayFigures, day_figures, kpi_report
from core.reports.kpi import Rate
from core.reports.periods import day_bounds, month_bounds
from core.tickets import ServiceSheet

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


def sheet(kind: ServiceType, result: ServiceResult = ServiceResult.FIXED_ON_SITE) -> ServiceSheet:
    return ServiceSheet(kind, result, solution="done")


async def seed_march_2(helpdesk, world, clock):
    """Six HQ tickets and one elsewhere, worked through the services on Monday 2 March."""
    for number in (2, 3, 4):
        await helpdesk.assets.register(
            AssetRecord(tag=f"PC-000{number}", kind=AssetKind.PC, site_code="HQ")
        )
    other = await helpdesk.people.create_site(code="BR", name="Branch", region="city")
    t = helpdesk.tickets
    desk = world.dispatcher_id  # a dispatcher may work any ticket; keeps the test short

    async def report(tag=None, **extra):
        return await t.report_fault(
            world.reporter_id,
            symptom="fault",
            impact=Impact.CANNOT_WORK,
            asset_tag=tag,
            asset_kind=None if tag else AssetKind.PRINTER,
            **extra,
        )

    t1 = await report("PC-0001")  # met, fixed on site, software, rated 5, closed
    t2 = await report("PC-0002")  # late, taken back, rated 3
    t3 = await report("PC-0003")  # cancelled: its clocks do not count
    t5 = await report("PC-0004")  # never arrives: overdue by 14:00
    t6 = await report()  # fixed remotely
    await report(site_id=other.id)  # another site: only in the all-sites figures
    for ticket in (t1, t2):
        await t.acknowledge(ticket.id, actor_id=desk)
    await t.cancel(t3.id, actor_id=world.reporter_id, reason="works again")
    await t.resolve_remotely(t6.id, actor_id=desk, sheet=sheet(ServiceType.SOFTWARE_FAULT))
    clock.set(local(2, 9, 30))
    await t.arrive(t1.id, actor_id=desk)
    clock.set(local(2, 10))
    await t.resolve(t1.id, actor_id=desk, sheet=sheet(ServiceType.SOFTWARE_FAULT))
    await t.rate(t1.id, actor_id=world.reporter_id, score=5)
    await t.confirm_fix(t1.id, actor_id=world.reporter_id, confirmed=True)
    clock.set(local(2, 11, 30))
    await t.arrive(t2.id, actor_id=desk)
    clock.set(local(2, 12))
    await t.resolve(
        t2.id, actor_id=desk, sheet=sheet(ServiceType.HARDWARE_FAULT, ServiceResult.TAKEN_BACK)
    )
    await t.rate(t2.id, actor_id=world.reporter_id, score=3)
    clock.set(local(2, 13))
    await report()  # t4: running, due 15:00
    clock.set(local(2, 14))
    return t1, t5


async def test_the_loaders_count_each_kpi_from_the_records(helpdesk, world, clock):
    await seed_march_2(helpdesk, world, clock)
    start, end = month_bounds(clock.now(), "Asia/Shanghai")
    hq = await kpi_report(helpdesk.core, start, end, site_id=world.site_id)
    # t1 met; t2 late; t5 overdue while running; t4 not due yet; t3, t6 cancelled.
    assert hq.arrival == Rate(1, 3)
    assert hq.fix == Rate(1, 2)  # t1 fixed on site, t2 taken back; t6 was remote
    assert hq.satisfaction == Rate(2, 2) and hq.low_ratings == 0
    assert hq.repeat == Rate(0, 1)  # t1 only: t6 was remote, t2 hardware
    assert hq.arrival_deduction == 100 and hq.fix_deduction == 90
    everywhere = await kpi_report(helpdesk.core, start, end)
    assert everywhere.arrival == Rate(1, 4)  # the branch's ticket is overdue too
    april = await kpi_report(helpdesk.core, end, datetime(2026, 5, 1, tzinfo=SHANGHAI))
    assert april.arrival == Rate(0, 0) and april.fix == Rate(0, 0)


async def test_today_counts_open_overdue_opened_resolved_and_closed(helpdesk, world, clock):
    await seed_march_2(helpdesk, world, clock)
    start, end = day_bounds(clock.now(), "Asia/Shanghai")
    today = await day_figures(helpdesk.core, start, end, site_id=world.site_id)
    assert today == DayFigures(open_now=2, overdue_now=1, opened=6, resolved=3, closed=1)
    everywhere = await day_figures(helpdesk.core, start, end)
    assert (everywhere.open_now, everywhere.overdue_now, everywhere.opened) == (3, 2, 7)
    tomorrow = await day_figures(helpdesk.core, end, end.replace(day=4), site_id=world.site_id)
    assert (tomorrow.opened, tomorrow.resolved, tomorrow.closed) == (0, 0, 0)


async def test_a_repeat_visit_and_a_second_sheet_both_count(helpdesk, world, clock):
    t1, _ = await seed_march_2(helpdesk, world, clock)
    t = helpdesk.tickets
    desk = world.dispatcher_id
    clock.set(local(20, 9))
    t7 = await t.report_fault(
        world.reporter_id, symptom="again", impact=Impact.CANNOT_WORK, asset_tag="PC-0001"
    )
    assert t7.repeat_of_id == t1.id
    await t.acknowledge(t7.id, actor_id=desk)
    clock.set(local(20, 9, 30))
    await t.arrive(t7.id, actor_id=desk)
    clock.set(local(20, 10))
    await t.resolve(t7.id, actor_id=desk, sheet=sheet(ServiceType.SOFTWARE_FAULT))
    await t.rate(t7.id, actor_id=world.reporter_id, score=1)  # reopens: a second visit
    start, end = month_bounds(clock.now(), "Asia/Shanghai")
    hq = await kpi_report(helpdesk.core, start, end, site_id=world.site_id)
    # t1 met, t2 late, t4 and t5 overdue, t7's first visit met; its second is not due yet.
    assert hq.arrival == Rate(2, 5)
    assert hq.fix == Rate(2, 3)
    assert hq.satisfaction == Rate(2, 3) and hq.low_ratings == 1
    assert hq.repeat == Rate(1, 2)
    assert (hq.arrival_deduction, hq.fix_deduction) == (100, 60)
    assert (hq.satisfaction_deduction, hq.repeat_deduction) == (1, 1)
    assert hq.score == 0


async def test_sites_and_departments_are_listed_by_name(helpdesk, world):
    await helpdesk.people.create_site(code="AA", name="Annex", region="city")
    await helpdesk.people.create_department(site_id=world.site_id, name="Audit")
    assert [p.name for p in await helpdesk.people.sites()] == ["Annex", "Head office"]
    assert [p.name for p in await helpdesk.people.departments(world.site_id)] == [
        "Audit",
        "Finance",
    ]
    assert await helpdesk.people.site_name(world.site_id) == "Head office"
    assert await helpdesk.people.site_name(999) is None
