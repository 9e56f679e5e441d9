"""A closed quarter's KPI counts are kept, and counted again when a late event touches them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from core.enums import AssetKind, Impact, ServiceResult, ServiceType
from core.models import KpiSnapshot
from core.reports.counts import kpi_report
from core.reports.kpi import Rate, counts_json
from core.reports.periods import quarter_period
from core.reports.quarterly import quarterly_scorecard
from core.reports.snapshots import closed_quarter_counts, snapshot_key
from core.tickets import ServiceSheet

SHANGHAI = ZoneInfo("Asia/Shanghai")
Q1 = quarter_period("2026-Q1", "Asia/Shanghai")


def local(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


async def snapshot(helpdesk) -> KpiSnapshot | None:
    async with helpdesk.core.reading() as session:
        return await session.scalar(select(KpiSnapshot))


async def fake_arrival(helpdesk, rate: Rate, site_id: int) -> None:
    """Write a figure no counting would give, to see whether the snapshot is used."""
    row = await snapshot(helpdesk)
    counts = dict(row.counts)
    counts[str(site_id)] = {**counts[str(site_id)], "arrival": [rate.numerator, rate.denominator]}
    async with helpdesk.core.db.transaction() as session:
        await session.execute(update(KpiSnapshot).values(counts=counts))


async def test_a_closed_quarter_is_counted_once_until_a_late_event_touches_it(
    helpdesk, world, clock
):
    t = helpdesk.tickets
    first = await t.report_fault(
        world.reporter_id, symptom="PC dead", impact=Impact.CANNOT_WORK, asset_tag="PC-0001"
    )
    await t.acknowledge(first.id, actor_id=world.engineer_id)
    clock.set(local(3, 2, 9, 30))
    await t.arrive(first.id, actor_id=world.engineer_id)
    await t.resolve(
        first.id,
        actor_id=world.engineer_id,
        sheet=ServiceSheet(ServiceType.SOFTWARE_FAULT, ServiceResult.FIXED_ON_SITE),
    )
    # Reported on the last afternoon of Q1: due on site at 10:30 on 1 April (5x8, 2 h).
    clock.set(local(3, 31, 17, 30))
    last = await t.report_fault(
        world.reporter_id,
        symptom="Printer",
        impact=Impact.CANNOT_WORK,
        asset_kind=AssetKind.PRINTER,
    )
    clock.set(local(4, 1, 9))
    card = await quarterly_scorecard(helpdesk.core, "2026-Q1", as_of=local(4, 1, 9))
    assert card.kpis.arrival == Rate(1, 1)  # the late dispatch is not due yet
    stored = await snapshot(helpdesk)
    assert stored is not None and stored.key == snapshot_key(Q1)
    assert stored.stale_after == local(4, 1, 10, 30)
    assert stored.counts == {
        str(world.site_id): counts_json(
            (await closed_quarter_counts(helpdesk.core, Q1, as_of=local(4, 1, 9)))[world.site_id]
        )
    }

    # Kept: a later question before that deadline reads the stored counts.
    await fake_arrival(helpdesk, Rate(7, 9), world.site_id)
    kept = await quarterly_scorecard(helpdesk.core, "2026-Q1", as_of=local(4, 1, 10))
    assert kept.kpis.arrival == Rate(7, 9)
    # An event about an April ticket does not touch Q1: still kept, and moved past it.
    clock.set(local(4, 1, 10))
    april = await t.report_fault(
        world.reporter_id, symptom="Scanner", impact=Impact.DEGRADED, asset_kind=AssetKind.SCANNER
    )
    assert (
        await quarterly_scorecard(helpdesk.core, "2026-Q1", as_of=local(4, 1, 10))
    ).kpis.arrival == Rate(7, 9)
    assert (await snapshot(helpdesk)).audit_head > stored.audit_head
    assert april.id > last.id

    # The deadline of the running dispatch passed: counted again (it is now missed).
    after = await quarterly_scorecard(helpdesk.core, "2026-Q1", as_of=local(4, 1, 11))
    assert after.kpis.arrival == Rate(1, 2)
    fresh = await kpi_report(helpdesk.core, Q1.start, Q1.end, as_of=local(4, 1, 11))
    assert after.kpis.arrival == fresh.arrival
    assert (await snapshot(helpdesk)).stale_after is None

    # A late rating of a Q1 visit touches Q1: counted again, not the stored figure.
    await fake_arrival(helpdesk, Rate(5, 5), world.site_id)
    clock.set(local(4, 2, 9))
    await t.rate(first.id, actor_id=world.reporter_id, score=1)
    late = await quarterly_scorecard(helpdesk.core, "2026-Q1", as_of=local(4, 2, 9))
    assert late.kpis.arrival == Rate(1, 2)
    assert (late.kpis.satisfaction, late.kpis.low_ratings) == (Rate(0, 1), 1)

    # Asked about an earlier moment than the one kept: counted again, not the stored figure.
    await fake_arrival(helpdesk, Rate(3, 3), world.site_id)
    earlier = await quarterly_scorecard(helpdesk.core, "2026-Q1", as_of=local(4, 1, 9))
    assert earlier.kpis.arrival == Rate(1, 1)
    # An open quarter is never kept.
    await quarterly_scorecard(helpdesk.core, "2026-Q2", as_of=local(4, 2, 9))
    async with helpdesk.core.reading() as session:
        keys = (await session.scalars(select(KpiSnapshot.key))).all()
    assert keys == [snapshot_key(Q1)]
