"""Superseded steps over HTTP on both runtimes: a reminder that missed its moment is dropped.

The instance that fired the 80 % reminder died before sending it; when one comes back
after the deadline, the engineer gets the page, and never the stale reminder after it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from test_journeys import Office, office, open_ticket  # noqa: F401  (the fixture)

from bot.bootstrap import bootstrap
from core.enums import OutboxStatus
from core.models import OutboxMessage
from demo import journeys

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:.*`retry_after`.*:telegram.warnings.PTBDeprecationWarning"),
]


async def test_a_reminder_fired_before_a_crash_is_not_sent_after_the_page(
    office: Office,  # noqa: F811
):
    wang, deployment = office.wang, office.deployment
    ticket_id = await open_ticket(office)  # 09:00: on site by 11:00
    card = await journeys.dispatch_card(wang, ticket_id)
    await journeys.accept(wang, card)
    await office.later(minutes=95)
    await deployment.stop()
    # The instance that dies: it fires the 80 % step at 10:36 and never sends the reminder.
    dying = bootstrap(deployment.settings(), clock=deployment.clock, policy=deployment.policy)
    try:
        deployment.clock.advance(timedelta(minutes=1))
        assert (await dying.runner().sweep()).fired >= 1
        async with dying.core.reading() as session:
            reminder = await session.scalar(
                select(OutboxMessage).where(
                    OutboxMessage.code == "sla.reminder", OutboxMessage.ticket_id == ticket_id
                )
            )
        assert reminder is not None and reminder.status is OutboxStatus.PENDING
    finally:
        await dying.core.db.dispose()

    deployment.clock.advance(timedelta(minutes=29))  # 11:05: back after the deadline
    await deployment.start()
    page = await journeys.deadline_page(wang, ticket_id, raised_to=1)
    assert "the arrival on site deadline (Mar 2 11:00) was missed" in page.text
    await office.later(seconds=1)  # everything due is out
    assert not [m.text for m in wang.person.messages() if m.text.startswith("⏰")]
    async with office.deployment.running.core.reading() as session:
        status = await session.scalar(
            select(OutboxMessage.status).where(OutboxMessage.id == reminder.id)
        )
    assert status is OutboxStatus.DROPPED
