"""Dispatchers and managers through the real bot over HTTP, on aiogram and on python-telegram-bot.

The demo office (demo.seed) speaking English: everyone registers through their
invitation link. The clock is frozen at Monday 09:00 in Shanghai and moved by hand.
"""

from __future__ import annotations

from typing import Any

import pytest
from seeded_office import Office, answer_to, open_ticket, seeded_office, the

from core.enums import Role, TicketStatus
from demo import seed
from sandbox import BotApiEmulator

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:.*`retry_after`.*:telegram.warnings.PTBDeprecationWarning"),
]


@pytest.fixture
async def office(bot: Any, emulator: BotApiEmulator) -> Office:
    """The demo office; everyone registered through their invitation link, in English."""
    return await seeded_office(bot, emulator)


# --- point 9: dispatchers act on their own sites ---------------------------------------------


async def test_a_dispatcher_acts_on_their_own_site_and_one_without_a_site_on_all(
    office: Office,
):
    chen = office.chen  # dispatcher at the head office
    hq = await open_ticket(office, await office.person_id(seed.LI_NA), "Projector flickers.")
    branch_staff = await office.newcomer(1101, "He Yu", Role.STAFF, site=seed.BRANCH)
    he_yu = await office.helpdesk.people.find_by_telegram(branch_staff.user_id)
    branch = await open_ticket(office, he_yu.id, "Printer jams on every page.")
    gao = await office.newcomer(3101, "Gao Fei", Role.DISPATCHER)  # no site: all sites

    await chen.send("/queue")
    own = await chen.wait_for("Open tickets")
    assert f"#{hq}" in own.text and f"#{branch}" not in own.text

    await gao.send("/queue")
    every = await gao.wait_for("Open tickets")
    assert f"#{hq}" in every.text and f"#{branch}" in every.text
    await gao.press(f"#{branch}", message=every)
    card = await gao.wait_for(lambda m: m.button("🎚 Set level") is not None)
    level_data = str(card.button("🎚 Set level")["callback_data"])

    # The branch's card button pressed by the head office's dispatcher: refused, unchanged.
    refused = await chen.press_data(level_data, message=own)
    assert await answer_to(office, refused) == (
        f"Ticket #{branch} belongs to another site; that site's dispatchers handle it."
    )
    assert refused.show_alert
    assert (await office.ticket(branch)).severity == 3
    await gao.press("🎚 Set level", message=card)
    await gao.wait_for(the(card, "Choose the new level:"))
    await gao.press("Level 1 (critical)", message=card)
    await gao.wait_for(the(card, f"Ticket #{branch} · Level 1 (critical)"))
    assert (await office.ticket(branch)).severity == 1
    assert (await office.ticket(branch)).status is TicketStatus.ASSIGNED
