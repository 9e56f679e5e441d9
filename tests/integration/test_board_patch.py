"""The board after a few ticket changes is patched (only the changed tickets read again)
and must equal the board read whole, on every backend."""

from __future__ import annotations

from datetime import timedelta

from core.console import BoardFilter, ConsoleService
from core.enums import Impact


async def report_faults(helpdesk, world, clock, count: int, *, every: timedelta) -> list[int]:
    """`count` faults from the world's reporter, `every` apart; their ticket ids in order."""
    ids = []
    for n in range(count):
        ticket = await helpdesk.tickets.report_fault(
            world.reporter_id, symptom=f"Fault number {n}", impact=Impact.DEGRADED
        )
        ids.append(ticket.id)
        clock.advance(every)
    return ids


async def whole(helpdesk, viewer_id: int, wanted: BoardFilter | None = None):
    """The board as a fresh service reads it (nothing kept from before)."""
    return await ConsoleService(helpdesk.core).board(viewer_id, wanted)


async def test_a_patched_board_equals_the_board_read_whole(helpdesk, world, clock):
    console = ConsoleService(helpdesk.core)
    ids = await report_faults(helpdesk, world, clock, 6, every=timedelta(minutes=7))
    everyone = BoardFilter()
    mine = BoardFilter(engineer_id=world.backup_id)
    for wanted in (everyone, mine):
        await console.board(world.dispatcher_id, wanted)  # kept as the latest

    # Reassign, set a level, cancel one, report a new one, and let the runner escalate.
    await helpdesk.tickets.assign(ids[0], world.backup_id, actor_id=world.dispatcher_id)
    await helpdesk.tickets.set_severity(ids[1], 1, actor_id=world.dispatcher_id)
    await helpdesk.tickets.cancel(ids[2], actor_id=world.dispatcher_id, reason="duplicate")
    clock.advance(timedelta(hours=2))
    await helpdesk.runner().sweep()
    new = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="Another fault", impact=Impact.CANNOT_WORK
    )
    for wanted in (everyone, mine):
        patched = await console.board(world.dispatcher_id, wanted)
        assert patched.rows == (await whole(helpdesk, world.dispatcher_id, wanted)).rows
    rows = {row.id: row for row in patched.rows}
    assert ids[0] in rows and ids[2] not in rows and new.id not in rows
    everything = {row.id: row for row in (await console.board(world.dispatcher_id)).rows}
    assert everything[ids[1]].severity == 1 and new.id in everything
    assert everything[ids[0]].assignee_name == "Zhao Lei"


async def test_a_change_other_than_a_tickets_reads_the_board_whole(helpdesk, world, clock):
    console = ConsoleService(helpdesk.core)
    ticket = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="Printer jams", impact=Impact.DEGRADED
    )
    before = await console.board(world.dispatcher_id)
    assert {r.assignee_name for r in before.rows if r.id == ticket.id} == {"Wang Wei"}
    # A person's new name is no ticket's change: the board must not keep the old one.
    from sqlalchemy import update

    from core.models import Person

    async with helpdesk.core.transaction() as tx:
        await tx.session.execute(
            update(Person).where(Person.id == world.engineer_id).values(name="Wang Wei (HQ)")
        )
        await tx.audit("person", world.engineer_id, "person.renamed", name="Wang Wei (HQ)")
    after = await console.board(world.dispatcher_id)
    assert {r.assignee_name for r in after.rows if r.id == ticket.id} == {"Wang Wei (HQ)"}
    assert after.rows == (await whole(helpdesk, world.dispatcher_id)).rows
