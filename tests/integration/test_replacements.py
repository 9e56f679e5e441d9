"""Engineer replacement requests (000 §4, 002): ten working days, the handover, the 20 points."""

from __future__ import annotations

import asyncio
import functools
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.i18n import I18n
from core.enums import AssetKind, Impact, Role, TicketStatus
from core.errors import Conflict, InvalidInput, PermissionDenied
from core.messages import ReplacementDone, ReplacementOverdue, ReplacementRequested
from core.models import (
    AuditEvent,
    DueWork,
    Inspection,
    InspectionPlan,
    OutboxMessage,
    Person,
    ReplacementRequest,
    Ticket,
)
from core.replacements import DONE, OPEN, WITHDRAWN, missed_between
from core.reports.quarterly import quarterly_scorecard

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]


def local(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


async def open_tickets(helpdesk, world, n: int) -> list[int]:
    ids = []
    for number in range(n):
        ticket = await helpdesk.tickets.report_fault(
            world.reporter_id,
            symptom=f"Printer {number} jams",
            impact=Impact.CANNOT_WORK,
            asset_kind=AssetKind.PRINTER,
        )
        ids.append(ticket.id)
    return ids


async def rows(helpdesk, model, *where):
    async with helpdesk.core.reading() as session:
        return list((await session.scalars(select(model).where(*where))).all())


async def test_a_request_is_due_at_the_end_of_the_tenth_working_day(helpdesk, world, clock):
    replacements = helpdesk.replacements
    # Monday 2 March: 3, 4, 5, 6, 9, 10, 11, 12, 13 and 16 March are the ten working days.
    view = await replacements.request(
        engineer_id=world.engineer_id, reason="Rude to staff", actor_id=world.manager_id
    )
    assert view.due_at == local(3, 16, 18) and view.status == OPEN
    assert (view.engineer, view.requested_by, view.site) == ("Wang Wei", "Liu Yang", "Head office")
    # Over the 2026 National Day: Friday 18 September, then 20 Sep (a working Sunday), 21-24,
    # 28-30 Sep (25 Sep is the Mid-Autumn holiday), 8 and 9 Oct (1-7 Oct are off).
    clock.set(local(9, 18, 10))
    other = await replacements.request(
        engineer_id=world.backup_id, reason="Often late", actor_id=world.manager_id
    )
    assert other.due_at == local(10, 9, 18)
    assert other.quarter == "2026-Q4"  # filed in Q3, costs Q4 if missed
    told = await rows(helpdesk, OutboxMessage, OutboxMessage.code == ReplacementRequested.kind)
    # The dispatcher is told; the manager who filed it sees it in their own answer.
    assert {row.recipient_id for row in told} == {world.dispatcher_id}
    events = await rows(helpdesk, AuditEvent, AuditEvent.action == "replacement.requested")
    assert [e.data["reason"] for e in events] == ["Rude to staff", "Often late"]
    deadlines = await rows(helpdesk, DueWork, DueWork.kind == "replacement_deadline")
    assert sorted(w.due_at for w in deadlines) == [local(3, 16, 18), local(10, 9, 18)]


async def test_a_replacement_hands_tickets_and_plans_to_the_named_successor(helpdesk, world, clock):
    people, replacements = helpdesk.people, helpdesk.replacements
    newcomer = await people.create_person(
        name="Sun Qi", role=Role.ENGINEER, site_id=world.site_id, telegram_user_id=2003
    )
    tickets = await open_tickets(helpdesk, world, 3)  # auto-dispatched: Wang, Zhao, Sun
    wangs = [t.id for t in await rows(helpdesk, Ticket, Ticket.assignee_id == world.engineer_id)]
    assert wangs == [tickets[0]]
    await helpdesk.tickets.acknowledge(tickets[0], actor_id=world.engineer_id)
    await helpdesk.tickets.arrive(tickets[0], actor_id=world.engineer_id)  # on site
    plan = await helpdesk.inspections.create_plan(
        code="MR",
        name="Meeting rooms",
        cadence="monthly",
        site_id=world.site_id,
        engineer_id=world.engineer_id,
    )
    request = await replacements.request(
        engineer_id=world.engineer_id, reason="Rude to staff", actor_id=world.manager_id
    )
    assert (await replacements.workload(world.engineer_id)).tickets == 1
    clock.set(local(3, 10, 15))
    done = await replacements.complete(
        request.id, actor_id=world.manager_id, successor_id=newcomer.id
    )
    assert (done.status, done.successor, done.met) == (DONE, "Sun Qi", True)
    assert done.tickets_handed_over == 1 and done.plans_handed_over >= 1
    ticket = (await rows(helpdesk, Ticket, Ticket.id == tickets[0]))[0]
    # On site: handed over where it stands, not sent back to "assigned".
    assert (ticket.assignee_id, ticket.status) == (newcomer.id, TicketStatus.ON_SITE)
    assert (await rows(helpdesk, InspectionPlan, InspectionPlan.id == plan.id))[0].engineer_id == (
        newcomer.id
    )
    rounds = await rows(helpdesk, Inspection, Inspection.plan_id == plan.id)
    assert rounds and all(r.engineer_id == newcomer.id for r in rounds)
    wang = (await rows(helpdesk, Person, Person.id == world.engineer_id))[0]
    assert not wang.active and wang.telegram_user_id is None
    actions = [
        e.action for e in await rows(helpdesk, AuditEvent, AuditEvent.at == local(3, 10, 15))
    ]
    assert "ticket.assigned" in actions and "inspection_plan.engineer_changed" in actions
    assert "person.deactivated" in actions and actions[-1] == "replacement.done"
    handed = await rows(
        helpdesk,
        AuditEvent,
        AuditEvent.action == "ticket.assigned",
        AuditEvent.entity_id == tickets[0],
    )
    assert handed[-1].data["by"] == "handover" and handed[-1].data["engineer_id"] == newcomer.id
    assert await rows(helpdesk, OutboxMessage, OutboxMessage.code == ReplacementDone.kind)
    # Met in time: the quarter loses nothing.
    assert await missed_between(helpdesk.core, local(1, 1), local(4, 1), as_of=local(4, 1)) == []
    card = await quarterly_scorecard(helpdesk.core, "2026-Q1", as_of=local(4, 1, 9))
    assert card.inputs.missed_replacements == 0 and card.other == 100
    with pytest.raises(Conflict):
        await replacements.complete(request.id, actor_id=world.manager_id)


async def test_without_a_named_successor_each_ticket_goes_to_the_least_loaded(
    helpdesk, world, clock
):
    people = helpdesk.people
    third = await people.create_person(
        name="Sun Qi", role=Role.ENGINEER, site_id=world.site_id, telegram_user_id=2003
    )
    tickets = await open_tickets(helpdesk, world, 4)  # Wang, Zhao, Sun, Wang
    request = await helpdesk.replacements.request(
        engineer_id=world.engineer_id, reason="Left the company", actor_id=world.manager_id
    )
    await helpdesk.replacements.complete(request.id, actor_id=world.manager_id)
    owners = {t.id: t.assignee_id for t in await rows(helpdesk, Ticket, Ticket.id.in_(tickets))}
    # Wang's two go one each to Zhao (then 2 open) and Sun (then 2 open): lowest load first,
    # ties to the lower id.
    assert sorted(owners.values()) == sorted([world.backup_id, world.backup_id, third.id, third.id])
    assert all(
        t.status is TicketStatus.ASSIGNED
        for t in await rows(helpdesk, Ticket, Ticket.id.in_(tickets))
    )


async def test_a_request_not_met_by_its_deadline_costs_20_points_in_the_deadlines_quarter(
    helpdesk, world, clock
):
    clock.set(local(9, 18, 10))
    request = await helpdesk.replacements.request(
        engineer_id=world.engineer_id, reason="Often late", actor_id=world.manager_id
    )
    clock.set(local(10, 9, 17, 59))
    assert (await helpdesk.runner().sweep()).fired == 0
    clock.set(local(10, 9, 18))
    assert (await helpdesk.runner().sweep()).fired == 1
    stored = (await rows(helpdesk, ReplacementRequest, ReplacementRequest.id == request.id))[0]
    assert stored.missed_at == local(10, 9, 18) and stored.status == OPEN
    overdue = await rows(helpdesk, OutboxMessage, OutboxMessage.code == ReplacementOverdue.kind)
    assert [row.recipient_id for row in overdue] == [world.manager_id]
    assert overdue[0].params["quarter"] == "2026-Q4"
    q3 = await quarterly_scorecard(helpdesk.core, "2026-Q3", as_of=local(10, 20))
    q4 = await quarterly_scorecard(helpdesk.core, "2026-Q4", as_of=local(10, 20))
    assert q3.inputs.missed_replacements == 0
    assert (q4.inputs.missed_replacements, q4.other) == (1, 80)  # 100 - 20
    # Replaced late: the work is handed over, the request stays missed.
    clock.set(local(10, 12, 9))
    late = await helpdesk.replacements.complete(request.id, actor_id=world.manager_id)
    assert late.status == DONE and not late.met and late.missed(local(10, 20))
    again = await quarterly_scorecard(helpdesk.core, "2026-Q4", as_of=local(11, 10))
    assert again.other == 80
    with pytest.raises(Conflict):
        await helpdesk.replacements.withdraw(request.id, actor_id=world.manager_id)


async def test_a_request_withdrawn_in_time_costs_nothing_and_one_late_cannot_be(
    helpdesk, world, clock
):
    first = await helpdesk.replacements.request(
        engineer_id=world.engineer_id, reason="Mistake", actor_id=world.manager_id
    )
    withdrawn = await helpdesk.replacements.withdraw(first.id, actor_id=world.manager_id)
    assert withdrawn.status == WITHDRAWN
    second = await helpdesk.replacements.request(
        engineer_id=world.engineer_id, reason="Rude", actor_id=world.manager_id
    )
    clock.set(local(3, 17, 9))
    with pytest.raises(Conflict) as refused:
        await helpdesk.replacements.withdraw(second.id, actor_id=world.manager_id)
    assert refused.value.code == "replacement.overdue"
    missed = await missed_between(helpdesk.core, local(1, 1), local(4, 1), as_of=local(4, 1))
    assert [m.id for m in missed] == [second.id]


async def test_bad_requests_are_refused_and_change_nothing(helpdesk, world, clock):
    replacements = helpdesk.replacements
    with pytest.raises(PermissionDenied):
        await replacements.request(
            engineer_id=world.engineer_id, reason="x", actor_id=world.dispatcher_id
        )
    with pytest.raises(InvalidInput) as not_engineer:
        await replacements.request(
            engineer_id=world.reporter_id, reason="x", actor_id=world.manager_id
        )
    assert not_engineer.value.code == "replacement.not_an_engineer"
    with pytest.raises(InvalidInput):
        await replacements.request(
            engineer_id=world.engineer_id, reason=" ", actor_id=world.manager_id
        )
    branch = await helpdesk.people.create_site(code="BR", name="Branch", region="city")
    other_manager = await helpdesk.people.create_person(
        name="Zhou", role=Role.MANAGER, site_id=branch.id, telegram_user_id=4002
    )
    with pytest.raises(PermissionDenied):
        await replacements.request(
            engineer_id=world.engineer_id, reason="x", actor_id=other_manager.id
        )
    request = await replacements.request(
        engineer_id=world.engineer_id, reason="Rude", actor_id=world.manager_id
    )
    with pytest.raises(Conflict):
        await replacements.request(
            engineer_id=world.engineer_id, reason="Again", actor_id=world.manager_id
        )
    # The only other engineer leaves first: nobody to hand Wang's ticket to.
    await open_tickets(helpdesk, world, 1)
    await helpdesk.people.deactivate(world.backup_id)
    with pytest.raises(InvalidInput) as nobody:
        await replacements.complete(request.id, actor_id=world.manager_id)
    assert nobody.value.code == "replacement.no_successor"
    with pytest.raises(InvalidInput):
        await replacements.complete(
            request.id, actor_id=world.manager_id, successor_id=world.engineer_id
        )
    assert (await replacements.get(request.id)).status == OPEN
    wang = (await rows(helpdesk, Person, Person.id == world.engineer_id))[0]
    assert wang.active
    assert len(await rows(helpdesk, ReplacementRequest)) == 1


def faultdesk(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The command line as an operator runs it, in a subprocess on this worktree's code."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args, "-d", database_url],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


async def test_the_command_line_files_lists_and_records_a_replacement(
    helpdesk, world, database_url
):
    await open_tickets(helpdesk, world, 1)  # Wang Wei's
    run = functools.partial(asyncio.to_thread, faultdesk, database_url)
    filed = await run(
        "replacement",
        "request",
        str(world.engineer_id),
        "--by",
        str(world.manager_id),
        "--reason",
        "Rude to staff",
        "--lang",
        "en",
    )
    assert filed.returncode == 0, filed.stderr
    assert "✅ Replacement request #1 filed." in filed.stdout
    # The command line runs on the wall clock: the deadline is ten working days from now.
    stored = (await rows(helpdesk, ReplacementRequest))[0]
    due = I18n().get("en").moment(stored.due_at, "Asia/Shanghai")
    assert f"Due by {due} · open" in filed.stdout
    assert stored.requested_by_id == world.manager_id
    listed = await run("replacement", "list", "--open", "--lang", "zh_CN")
    assert listed.returncode == 0 and "#1 Wang Wei · Head office" in listed.stdout
    assert "原因：Rude to staff" in listed.stdout
    refused = await run(
        "replacement",
        "done",
        "1",
        "--by",
        str(world.manager_id),
        "--successor",
        str(world.reporter_id),
        "--lang",
        "ru",
    )
    assert refused.returncode == 1
    assert "(replacement.bad_successor)" in refused.stderr and "инженер" in refused.stderr
    assert "Traceback" not in refused.stderr
    done = await run(
        "replacement",
        "done",
        "1",
        "--by",
        str(world.manager_id),
        "--successor",
        str(world.backup_id),
        "--lang",
        "en",
    )
    assert done.returncode == 0, done.stderr
    assert "✅ Handed over: 1 ticket(s), 0 inspection plan(s) and round(s)." in done.stdout
    async with helpdesk.core.reading() as session:
        assert await session.scalar(select(Ticket.assignee_id)) == world.backup_id
    by_engineer = await run(
        "replacement",
        "request",
        str(world.backup_id),
        "--by",
        str(world.backup_id),
        "--reason",
        "x",
        "--lang",
        "en",
    )
    assert by_engineer.returncode == 1
    assert "Only a manager of the engineer's site or an administrator" in by_engineer.stderr
    bad_lang = await run("replacement", "list", "--lang", "fr")
    assert bad_lang.returncode == 2 and "zh_CN, en, ru" in bad_lang.stderr
