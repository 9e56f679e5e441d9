"""Every lease a running bot takes names its `instance` row, so leases join to processes."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from core.enums import OutboxStatus
from core.models import Instance, OutboxLane

pytestmark = pytest.mark.e2e


async def test_the_chat_a_message_went_through_is_leased_to_the_sending_instance(bot, alice):
    app = bot.running
    assert app.sender is not None and app.runner is not None
    assert app.sender.owner == app.runner.owner == app.instance_id

    alice.opened_chat_before()
    await bot.queue_notice("owner-probe", "Printer toner is on its way", chat_id=alice.user_id)

    async def sent() -> bool:
        return (await bot.outbox_row("owner-probe")).status == OutboxStatus.SENT

    await bot.until(sent, message="the notice was not sent")
    assert any("toner" in (m.text or "") for m in alice.messages())
    async with app.core.reading() as session:
        holder = (
            await session.execute(
                select(Instance.pid, Instance.host)
                .join(OutboxLane, OutboxLane.owner == Instance.id)
                .where(OutboxLane.chat_id == alice.user_id)
            )
        ).one()
    assert holder.pid == os.getpid()
