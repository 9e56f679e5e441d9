"""Managers ask for an engineer to be replaced and record the replacement, in chat."""

from __future__ import annotations

from sqlalchemy import select

from core.enums import AssetKind, Impact, Role
from core.models import Person, ReplacementRequest, Ticket


async def test_a_manager_files_a_request_and_records_the_replacement(chat, helpdesk, world):
    ticket = await helpdesk.tickets.report_fault(
        world.reporter_id,
        symptom="Printer jams",
        impact=Impact.CANNOT_WORK,
        asset_kind=AssetKind.PRINTER,
    )
    newcomer = await helpdesk.people.create_person(
        name="Sun Qi",
        role=Role.ENGINEER,
        site_id=world.site_id,
        telegram_user_id=2003,
        language="en",
    )
    liu = chat.person(4001, "Liu")
    await liu.send("/replace")
    assert "Which engineer should be replaced?" in liu.last().text
    assert liu.last().buttons() == ["Sun Qi", "Wang Wei", "Zhao Lei", "✖ Cancel"]
    await liu.send("Wang")  # typed instead of pressed
    assert "Please press one of the buttons." in liu.last().text
    await liu.press("Wang Wei")
    assert "Why should Wang Wei be replaced?" in liu.last().text
    await liu.send("Rude to staff twice this month")
    summary = liu.last()
    assert "Reason: Rude to staff twice this month" in summary.text
    await liu.press("📨 File the request")
    filed = liu.last().text
    assert "✅ Replacement request #1 filed." in filed
    assert "Due by Mar 16 18:00 · open" in filed

    await liu.send("/replace")
    await liu.press("Wang Wei")
    await liu.send("Again")
    await liu.press("📨 File the request")
    assert liu.last().text == "A replacement of this engineer is already requested (#1)."

    await liu.send("/replacements")
    request_message = liu.last()
    assert "#1</b> Wang Wei · Head office" in request_message.text
    assert request_message.buttons() == ["✅ Replaced…", "↩️ Withdraw"]
    await liu.press("✅ Replaced…", message=request_message)
    assert "Wang Wei has 1 open ticket(s)" in liu.last().text
    assert liu.last().buttons() == [
        "Sun Qi",
        "Zhao Lei",
        "⚖️ The least-loaded engineers",
        "✖ Cancel",
    ]
    await liu.press("Sun Qi")
    assert "Wang Wei's open work goes to Sun Qi" in liu.last().text
    await liu.press("✅ Record it")
    assert "✅ Handed over: 1 ticket(s), 0 inspection plan(s) and round(s)." in liu.last().text
    assert "replaced on Mar 2 09:00 (in time)" in liu.last().text

    async with helpdesk.core.reading() as session:
        request = await session.scalar(select(ReplacementRequest))
        moved = await session.get(Ticket, ticket.id)
        wang = await session.get(Person, world.engineer_id)
    assert (request.status, request.successor_id, request.done_by_id) == (
        "done",
        newcomer.id,
        world.manager_id,
    )
    assert moved.assignee_id == newcomer.id and not wang.active
    sun = chat.person(2003, "Sun")
    assert any("New dispatch for you" in text for text in sun.texts())
    chen = chat.person(3001, "Chen")  # the dispatcher heard of both steps
    assert any("Engineer replacement requested" in text for text in chen.texts())
    assert any("Engineer replaced</b> (#1), in time." in text for text in chen.texts())


async def test_only_managers_and_admins_ask_and_a_withdrawal_costs_nothing(chat, helpdesk, world):
    chen = chat.person(3001, "Chen")
    await chen.send("/replace")
    assert chen.last().text == "/replace is not available for your role."
    liu = chat.person(4001, "Liu")
    await liu.send("/replacements")
    assert liu.last().text == "No replacement requests. Send /replace to file one."
    await helpdesk.replacements.request(
        engineer_id=world.backup_id, reason="Slow", actor_id=world.manager_id
    )
    await liu.send("/replacements")
    await liu.press("↩️ Withdraw", message=liu.last())
    assert chat.transport.answers[-1].text == "Withdrawn. It costs nothing."
    assert "withdrawn on Mar 2 09:00" in liu.last().text
    assert liu.last().buttons() == []
