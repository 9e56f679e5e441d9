"""The update journal keeps each bot's updates apart, on every backend."""

from __future__ import annotations

from datetime import timedelta

from core.conversations import UPDATE_LEASE, ConversationStore


async def test_the_same_update_id_from_two_bots_is_two_updates(helpdesk, clock):
    test_bot = ConversationStore(helpdesk.core, bot_id=111)
    production = ConversationStore(helpdesk.core, bot_id=222)
    for update_id in (1, 2):
        assert await test_bot.claim_update(update_id)
        await test_bot.finish_update(update_id)

    assert await production.claim_update(1)  # not "already handled"
    assert not await production.claim_update(1)  # but once per bot
    await production.finish_update(1)
    assert not await test_bot.claim_update(1)

    # Recovery looks only at its own bot's unfinished updates.
    await production.journal_updates([(2, {"update_id": 2})])
    clock.advance(UPDATE_LEASE + timedelta(seconds=1))
    assert await test_bot.unfinished_updates() == []
    assert await production.unfinished_updates() == [{"update_id": 2}]
