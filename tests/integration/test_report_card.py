"""Reporting answers with the new ticket's card from its own transaction, as a fresh read shows it."""

from __future__ import annotations

from core.enums import Impact, Role, TicketStatus


async def test_the_card_of_a_report_is_the_card_a_fresh_read_shows(helpdesk, world):
    card = await helpdesk.tickets.report_fault_card(
        world.reporter_id,
        symptom="The screen stays black",
        impact=Impact.CANNOT_WORK,
        asset_tag=world.asset_tag,
        photos=["photo-1"],
        request_key="press:1",
    )
    assert card.status is TicketStatus.ASSIGNED and card.assignee_name
    assert card == await helpdesk.tickets.card(card.id)
    # Asked again with the same key (a redelivered press), the same ticket's card.
    again = await helpdesk.tickets.report_fault_card(
        world.reporter_id,
        symptom="The screen stays black",
        impact=Impact.CANNOT_WORK,
        asset_tag=world.asset_tag,
        request_key="press:1",
    )
    assert again == await helpdesk.tickets.card(card.id)


async def test_the_card_of_a_report_nobody_can_take_waits_for_a_dispatcher(helpdesk, world):
    people = helpdesk.people
    site = await people.create_site(code="FAR", name="Far office", region="outer", address="x")
    dept = await people.create_department(site_id=site.id, name="Sales")
    reporter = await people.create_person(
        name="Zhao", role=Role.STAFF, site_id=site.id, department_id=dept.id, telegram_user_id=77
    )
    card = await helpdesk.tickets.report_fault_card(
        reporter.id, symptom="No network", impact=Impact.DEGRADED, location="Room 2"
    )
    assert card.status is TicketStatus.REPORTED and card.assignee_name is None
    assert card == await helpdesk.tickets.card(card.id)
