"""Rules the core keeps for dispatchers, managers and odd input, on every database backend."""

from __future__ import annotations

import pytest

from core.errors import NotFound


@pytest.mark.parametrize("number", [0, -5, 2**31, 10**22])
async def test_a_ticket_number_no_ticket_can_have_is_not_found(helpdesk, world, number):
    with pytest.raises(NotFound):
        await helpdesk.tickets.card(number)
    with pytest.raises(NotFound):
        await helpdesk.tickets.cancel(number, actor_id=world.dispatcher_id)
