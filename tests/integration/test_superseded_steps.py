"""Superseded steps: a clock's steps reach people in ladder order, late reminders are dropped.

A dead instance may hold a page in its sender's hand until its lease runs out; a survivor
fires the next step meanwhile. The later step's messages wait for the earlier ones, and
a reminder whose deadline has passed before it went out is dropped, not sent late.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core import outbox
from core.enums import OutboxStatus
from core.models import AuditEvent, OutboxMessage
from tests.integration.test_escalation import local, report

LONG = timedelta(minutes=10)
LADDER = "sla."  # the codes of the messages escalation steps write
# The arrival deadline pages engineer, backup and dispatcher, and tells the reporter.
MISSED = ["sla.page", "sla.page", "sla.page", "sla.reporter_notice"]


async def rows(helpdesk, code: str) -> list[OutboxMessage]:
    async with helpdesk.core.reading() as session:
        found = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.code == code).order_by(OutboxMessage.id)
        )
        return list(found)


async def claimed_codes(helpdesk, owner: str, *, lease: timedelta = LONG) -> list[str]:
    deliveries = await outbox.claim(helpdesk.core, owner=owner, limit=100, lease=lease)
    return sorted(d.code for d in deliveries if d.code.startswith(LADDER))


async def send_all(helpdesk, owner: str) -> list[str]:
    """Claim and record as sent everything claimable now; the ladder's codes, in claim order."""
    deliveries = await outbox.claim(helpdesk.core, owner=owner, limit=100, lease=LONG)
    for delivery in deliveries:
        assert await outbox.mark_sent(helpdesk.core, delivery.id, owner=owner, message_id=1)
    return [d.code for d in deliveries if d.code.startswith(LADDER)]


async def opened(helpdesk, world):
    """A ticket accepted by its engineer, the messages about that already delivered."""
    ticket = await report(helpdesk, world)
    await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    await send_all(helpdesk, "earlier")
    return ticket


async def test_a_manager_alert_waits_for_the_page_a_dead_instance_held(helpdesk, world, clock):
    await opened(helpdesk, world)
    survivor = helpdesk.runner(owner="survivor")
    clock.set(local(2, 10, 36))
    await survivor.sweep()
    assert await send_all(helpdesk, "survivor") == ["sla.reminder"]
    clock.set(local(2, 11))  # the arrival deadline: pages to engineer, backup, dispatcher
    await survivor.sweep()
    # The instance that is about to die claims the pages, and never sends them; its
    # lease runs past the manager's step.
    held = timedelta(hours=1, minutes=10)
    assert await claimed_codes(helpdesk, "dead", lease=held) == MISSED

    clock.set(local(2, 12))  # 150 %: the survivor fires the manager's alert on time
    await survivor.sweep()
    assert len(await rows(helpdesk, "sla.manager_alert")) == 1
    # While the pages are in the dead instance's hand, the alert is not handed out...
    assert await claimed_codes(helpdesk, "survivor", lease=timedelta(seconds=10)) == []
    # and the waiting alert does not make a sender look again at once, without end.
    assert await outbox.next_available(helpdesk.core, "survivor") > local(2, 12)
    # ...nor after the lease ran out, before the pages themselves went out.
    clock.set(local(2, 11) + held)
    rounds = []
    while sent := await send_all(helpdesk, "survivor"):
        rounds.append(sorted(sent))
    # The pages first, then their first repeats (queued at 12:00 with the alert), then
    # the alert that escalates them.
    assert rounds == [MISSED, ["sla.page"] * 3, ["sla.manager_alert"]]
    alert = (await rows(helpdesk, "sla.manager_alert"))[0]
    assert alert.params["severity"] == 1  # the level the missed page raised it to


async def test_a_step_claimed_by_a_dead_runner_fires_before_the_next_and_raises_first(
    helpdesk, world, clock
):
    await opened(helpdesk, world)
    clock.set(local(2, 11))
    dead = helpdesk.runner(owner="dead")
    assert await dead.claim()  # the 100 % step (and the 80 %), leased, never fired
    clock.set(local(2, 12))
    await helpdesk.runner(owner="survivor").sweep()

    assert sorted(await send_all(helpdesk, "survivor")) == MISSED
    assert await send_all(helpdesk, "survivor") == ["sla.manager_alert"]
    alert = (await rows(helpdesk, "sla.manager_alert"))[0]
    assert alert.params["severity"] == 1 and alert.params["clock"] == "arrival"
    assert await rows(helpdesk, "sla.reminder") == []  # the 80 % step was overtaken


async def test_a_reminder_still_unsent_when_the_deadline_passes_is_dropped(helpdesk, world, clock):
    ticket = await opened(helpdesk, world)
    runner = helpdesk.runner()
    clock.set(local(2, 10, 36))
    await runner.sweep()  # 80 %: the reminder is queued; the senders are down
    assert len(await rows(helpdesk, "sla.reminder")) == 1

    clock.set(local(2, 11, 5))  # back after the deadline: the page fires
    await runner.sweep()
    assert sorted(await send_all(helpdesk, "restarted")) == MISSED
    assert await send_all(helpdesk, "restarted") == []
    reminder = (await rows(helpdesk, "sla.reminder"))[0]
    assert reminder.status == OutboxStatus.DROPPED and reminder.sent_at is None
    async with helpdesk.core.reading() as session:
        dropped = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "sla.reminder_dropped")
            )
        ).one()
    assert dropped.entity_id == ticket.id
    assert dropped.data == {"clock": "arrival", "percent": 80, "messages": 1}


async def test_a_reminder_that_went_out_in_time_is_left_as_sent(helpdesk, world, clock):
    await opened(helpdesk, world)
    runner = helpdesk.runner()
    clock.set(local(2, 10, 36))
    await runner.sweep()
    assert await send_all(helpdesk, "sender") == ["sla.reminder"]
    clock.set(local(2, 11))
    await runner.sweep()
    assert (await rows(helpdesk, "sla.reminder"))[0].status == OutboxStatus.SENT
    assert sorted(await send_all(helpdesk, "sender")) == MISSED


async def test_a_reminder_is_not_sent_once_its_deadline_passed_even_before_the_page_fires(
    helpdesk, world, clock
):
    await opened(helpdesk, world)
    clock.set(local(2, 10, 36))
    await helpdesk.runner().sweep()  # the reminder is queued; the senders are down
    clock.set(local(2, 11, 1))  # a sender is back first, before any runner sweeps
    assert await send_all(helpdesk, "sender") == []
    reminder = (await rows(helpdesk, "sla.reminder"))[0]
    assert reminder.status == OutboxStatus.DROPPED and reminder.sent_at is None
