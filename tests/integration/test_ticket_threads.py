"""Threads, withdrawals, the timeline and arrivals checked by location, on every backend."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.i18n import I18n
from bot.rendering.xlsx import monthly_xlsx
from core.audit import verify_chain
from core.enums import ArrivalCheck, Impact, Role, ServiceResult, ServiceType, TicketStatus
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.messages import DispatchCancelled, TicketCancelled, TicketNotePosted, decode
from core.models import OutboxMessage, Ticket, TicketNote, TicketPhoto
from core.reports.details import kpi_details
from core.reports.monthly import monthly_summary
from core.tickets import ServiceSheet

SHANGHAI = ZoneInfo("Asia/Shanghai")
HQ = (31.2304, 121.4737)
NEARBY = (31.2310, 121.4740)  # about 73 m away
THE_BUND = (31.2400, 121.4900)  # about 1.9 km away


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2026, Shanghai time."""
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


async def report(helpdesk, world, **extra):
    return await helpdesk.tickets.report_fault(
        world.reporter_id,
        symptom="Paper jam",
        impact=Impact.CANNOT_WORK,
        asset_tag=world.asset_tag,
        **extra,
    )


async def messages_to(helpdesk, recipient_id):
    async with helpdesk.core.reading() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.recipient_id == recipient_id)
            .order_by(OutboxMessage.id)
        )
        return [decode(row.code, row.params) for row in rows]


async def test_a_thread_reaches_the_other_parties_and_is_kept_on_the_ticket(helpdesk, world, clock):
    clock.set(local(2, 9))
    ticket = await report(helpdesk, world, photos=["photo-1"])
    t = helpdesk.tickets
    note = await t.post_note(ticket.id, actor_id=world.reporter_id, text="Room 301, door code 42")
    again = await t.post_note(
        ticket.id, actor_id=world.engineer_id, photo_file_id="photo-2", request_key="update:7"
    )
    twice = await t.post_note(
        ticket.id, actor_id=world.engineer_id, photo_file_id="photo-2", request_key="update:7"
    )
    assert twice.id == again.id  # the same update handled twice posts once

    to_engineer = [
        m for m in await messages_to(helpdesk, world.engineer_id) if isinstance(m, TicketNotePosted)
    ]
    to_reporter = [
        m for m in await messages_to(helpdesk, world.reporter_id) if isinstance(m, TicketNotePosted)
    ]
    assert [(m.author, m.author_role, m.text) for m in to_engineer] == [
        ("Li Na", Role.STAFF, "Room 301, door code 42")
    ]
    assert [(m.author, m.photo_file_id) for m in to_reporter] == [("Wang Wei", "photo-2")]
    # The dispatcher joins by writing, and hears the thread from then on.
    await t.post_note(ticket.id, actor_id=world.dispatcher_id, text="Parts are on the way")
    await t.post_note(ticket.id, actor_id=world.reporter_id, text="Thanks")
    to_dispatcher = [
        m
        for m in await messages_to(helpdesk, world.dispatcher_id)
        if isinstance(m, TicketNotePosted)
    ]
    assert [m.text for m in to_dispatcher] == ["Thanks"]

    card = await t.card(ticket.id)
    assert card.photo_ids == ("photo-1", "photo-2")
    history = await t.history(ticket.id, viewer_id=world.reporter_id)
    notes = [e for e in history.entries if e.action == "ticket.note"]
    assert [(e.actor, e.data["text"]) for e in notes] == [
        ("Li Na", "Room 301, door code 42"),
        ("Wang Wei", ""),
        ("Chen Jing", "Parts are on the way"),
        ("Li Na", "Thanks"),
    ]
    async with helpdesk.core.reading() as session:
        assert (await session.get(TicketNote, note.id)).text == "Room 301, door code 42"
        photo = await session.scalar(select(TicketPhoto).where(TicketPhoto.file_id == "photo-2"))
        assert photo.added_by_id == world.engineer_id
        assert (await verify_chain(session)).ok

    with pytest.raises(InvalidInput):
        await t.post_note(ticket.id, actor_id=world.reporter_id, text="  ")
    with pytest.raises(PermissionDenied):  # the backup engineer has no part in it
        await t.post_note(ticket.id, actor_id=world.backup_id, text="Hello")
    with pytest.raises(NotFound):
        await t.history(ticket.id, viewer_id=world.backup_id)


async def test_a_reporter_withdraws_before_arrival_and_a_dispatcher_cancels_any_time(
    helpdesk, world, clock
):
    clock.set(local(2, 9))
    t = helpdesk.tickets
    first = await report(helpdesk, world)
    with pytest.raises(InvalidInput):
        await t.cancel(first.id, actor_id=world.reporter_id, reason=" ")
    with pytest.raises(PermissionDenied):
        await t.cancel(first.id, actor_id=world.engineer_id, reason="not mine")
    await t.cancel(first.id, actor_id=world.reporter_id, reason="It works again")
    told = [
        m
        for m in await messages_to(helpdesk, world.engineer_id)
        if isinstance(m, DispatchCancelled)
    ]
    assert [(m.reason, m.cancelled_by, m.by_reporter) for m in told] == [
        ("It works again", "Li Na", True)
    ]

    second = await report(helpdesk, world)
    await t.acknowledge(second.id, actor_id=world.engineer_id)
    await t.arrive(second.id, actor_id=world.engineer_id)
    with pytest.raises(Conflict) as late:
        await t.cancel(second.id, actor_id=world.reporter_id, reason="changed my mind")
    assert late.value.code == "cancel.engineer_arrived"
    await t.cancel(second.id, actor_id=world.dispatcher_id, reason="Duplicate of #1")
    assert (await t.card(second.id)).status is TicketStatus.CANCELLED
    reporter_told = [
        m for m in await messages_to(helpdesk, world.reporter_id) if isinstance(m, TicketCancelled)
    ]
    assert [(m.ticket_id, m.cancelled_by) for m in reporter_told] == [(second.id, "Chen Jing")]

    clock.set(local(3, 9))
    closed = await t.closed_for_reporter(world.reporter_id)
    assert [c.id for c in closed] == [second.id, first.id]
    clock.set(local(3, 9) + (local(3, 9) - local(1, 9)) * 16)  # 32 days on
    assert await t.closed_for_reporter(world.reporter_id) == []


async def test_an_arrival_at_a_located_site_is_checked_against_its_radius(helpdesk, world, clock):
    await helpdesk.people.locate_site("HQ", latitude=HQ[0], longitude=HQ[1])
    t = helpdesk.tickets
    outcomes = {}
    for day, where in ((2, NEARBY), (3, THE_BUND), (4, None)):
        clock.set(local(day, 9))
        ticket = await report(helpdesk, world)
        await t.acknowledge(ticket.id, actor_id=ticket.assignee_id)
        clock.set(local(day, 9, 40))
        await t.arrive(ticket.id, actor_id=ticket.assignee_id, location=where)
        outcomes[day] = await t.card(ticket.id)
    assert (outcomes[2].arrival_check, outcomes[2].arrival_distance_m) == (
        ArrivalCheck.VERIFIED,
        73,
    )
    assert outcomes[3].arrival_check is ArrivalCheck.OUTSIDE
    assert 1_800 < (outcomes[3].arrival_distance_m or 0) < 2_100
    assert (outcomes[4].arrival_check, outcomes[4].arrival_distance_m) == (
        ArrivalCheck.NOT_GIVEN,
        None,
    )
    assert outcomes[2].arrived_at == local(2, 9, 40)  # the clock's time, nothing typed
    clock.set(local(5, 9))
    ticket = await report(helpdesk, world)
    await t.acknowledge(ticket.id, actor_id=ticket.assignee_id)
    with pytest.raises(InvalidInput):
        await t.arrive(ticket.id, actor_id=ticket.assignee_id, location=(95.0, 0.0))

    history = await t.history(outcomes[3].id, viewer_id=world.dispatcher_id)
    arrived = next(e for e in history.entries if e.action == "ticket.arrived")
    assert arrived.data["check"] == "outside" and arrived.data["distance_m"] > 1_800
    await t.resolve(
        outcomes[2].id,
        actor_id=world.dispatcher_id,
        sheet=ServiceSheet(ServiceType.HARDWARE_FAULT, ServiceResult.FIXED_ON_SITE, solution="ok"),
    )
    resolved = next(
        e
        for e in (await t.history(outcomes[2].id, viewer_id=world.engineer_id)).entries
        if e.action == "ticket.resolved"
    )
    assert (resolved.data["arrival_check"], resolved.data["arrival_distance_m"]) == ("verified", 73)
    async with helpdesk.core.reading() as session:
        stored = await session.get(Ticket, outcomes[2].id)
        assert (stored.arrival_latitude, stored.arrival_longitude) == NEARBY

    summary = await monthly_summary(helpdesk.core, "2026-03", as_of=local(31, 23))
    assert summary.arrival_checks == {"verified": 1, "outside": 1, "not_given": 1, "unchecked": 0}
    # The monthly workbook shows them next to the on-time arrival rate.
    book = load_workbook(io.BytesIO(monthly_xlsx(I18n().get("en"), summary)))
    rows = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row}
    assert rows["Arrival verified by location"] == 1
    assert rows["Arrival outside the site's radius"] == 1
    assert rows["Arrival without a location"] == 1
    assert rows["Arrival at a site without coordinates"] == 0
    # The arrival sheet says of each arrival how it is known.
    kpis = summary.kpis
    details = await kpi_details(helpdesk.core, kpis.start, kpis.end, as_of=kpis.as_of)
    sheet = load_workbook(io.BytesIO(monthly_xlsx(I18n().get("en"), summary, details)))[
        "On-time arrival"
    ]
    header, *lines = sheet.iter_rows(values_only=True)
    evidence = {row[0]: row[header.index("Arrival evidence")] for row in lines}
    assert evidence[outcomes[2].id] == "✅ location verified (73 m from the site)"
    assert "outside its radius" in evidence[outcomes[3].id]
    assert evidence[outcomes[4].id] == "❔ no location shared"


async def test_the_card_shows_the_device_history_and_its_warranty(helpdesk, world, clock):
    from datetime import date

    from core.assets import AssetRecord
    from core.enums import AssetKind

    await helpdesk.assets.register(
        AssetRecord(
            tag="PC-0777", kind=AssetKind.PC, site_code="HQ", warranty_until=date(2026, 3, 5)
        )
    )
    world = type(world)(**{**world.__dict__, "asset_tag": "PC-0777"})
    t = helpdesk.tickets
    clock.set(local(2, 9))
    earlier = await report(helpdesk, world)
    await t.acknowledge(earlier.id, actor_id=world.dispatcher_id)
    await t.arrive(earlier.id, actor_id=world.dispatcher_id)
    await t.resolve(
        earlier.id,
        actor_id=world.dispatcher_id,
        sheet=ServiceSheet(ServiceType.SOFTWARE_FAULT, ServiceResult.FIXED_ON_SITE, solution="ok"),
    )
    clock.set(local(9, 9))
    later = await report(helpdesk, world)
    card = await t.card(later.id)
    assert [(r.ticket_id, r.result) for r in card.repairs] == [
        (earlier.id, ServiceResult.FIXED_ON_SITE)
    ]
    assert card.repairs[0].symptom == "Paper jam"
    first_card = await t.card(earlier.id)
    assert first_card.repairs == ()  # nothing before the first
    # Reported on 2 March: in warranty; on 9 March: past its end on the 5th.
    assert (first_card.under_warranty, card.under_warranty) == (True, False)
    assert card.warranty_until == date(2026, 3, 5)


async def test_only_the_sites_own_dispatchers_cancel_and_its_managers_see_it_with_photos(
    helpdesk, world, clock
):
    people, t = helpdesk.people, helpdesk.tickets
    branch = await people.create_site(code="BR", name="Branch", region="city")
    elsewhere = await people.create_person(
        name="Sun Li", role=Role.DISPATCHER, site_id=branch.id, telegram_user_id=3101
    )
    everywhere = await people.create_person(
        name="Qian Bo", role=Role.DISPATCHER, site_id=None, telegram_user_id=3102
    )
    far_manager = await people.create_person(
        name="Zhou Yi", role=Role.MANAGER, site_id=branch.id, telegram_user_id=4101
    )
    clock.set(local(2, 9))
    ticket = await report(helpdesk, world, photos=["photo-1", "photo-2"])

    with pytest.raises(PermissionDenied):  # a dispatcher of another site
        await t.cancel(ticket.id, actor_id=elsewhere.id, reason="Not here")
    with pytest.raises(NotFound):  # nor may they read it
        await t.history(ticket.id, viewer_id=elsewhere.id)
    with pytest.raises(NotFound):  # a manager of another site neither
        await t.history(ticket.id, viewer_id=far_manager.id)
    seen = await t.history(ticket.id, viewer_id=world.manager_id)
    assert seen.card.photo_ids == ("photo-1", "photo-2")  # the manager gets the photos
    assert (await t.card(ticket.id)).status is not TicketStatus.CANCELLED

    await t.cancel(ticket.id, actor_id=everywhere.id, reason="Handled by phone")
    assert (await t.card(ticket.id)).status is TicketStatus.CANCELLED
    assert [
        (m.cancelled_by, m.by_reporter)
        for m in await messages_to(helpdesk, world.engineer_id)
        if isinstance(m, DispatchCancelled)
    ] == [("Qian Bo", False)]
