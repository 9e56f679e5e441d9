"""Group chats through the real bot over HTTP, on aiogram and on python-telegram-bot.

Nothing personal is said in a group: invitations are redeemed only in private chats,
personal commands get a link to a private chat, and a site's alert group (set by an
administrator with /sitegroup in the group) gets the site's escalation alerts with
nothing to press and no phone numbers.
"""

from __future__ import annotations

from typing import Any

import pytest
from seeded_office import Office, answer_to, open_ticket, seeded_office
from sqlalchemy import select

from core.errors import InvalidInput
from core.models import AuditEvent, ChatState, Invite, Person, Site
from demo import seed
from sandbox import BotApiEmulator

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:.*`retry_after`.*:telegram.warnings.PTBDeprecationWarning"),
]

GROUP = -1002223334445
PRIVATE_LINK = "https://t.me/faultdesk_bot"


@pytest.fixture
async def office(bot: Any, emulator: BotApiEmulator) -> Office:
    """The demo office; everyone registered through their invitation link, in English."""
    return await seeded_office(bot, emulator)


async def test_an_invitation_opened_in_a_group_registers_nobody_until_opened_in_private(
    bot, emulator: BotApiEmulator
):
    seeded = await seed.seed_office(bot.running.helpdesk, people=(seed.LI_NA,))
    li = emulator.person(seed.LI_NA.telegram_id, seed.LI_NA.name, "en")
    group = emulator.group(GROUP, "Finance team")

    await li.send_in(group, f"/start {seeded.invite_payload(seed.LI_NA)}")

    refusal = await group.wait_for("Invitations are redeemed only in a private chat")
    button = refusal.button("💬 Open a private chat")
    assert button is not None and button["url"] == PRIVATE_LINK
    assert seeded.invites["li_na"] not in refusal.text  # the code is not repeated to the group
    async with bot.running.core.reading() as session:
        assert (
            await session.scalar(select(Person).where(Person.telegram_user_id == li.user_id))
            is None
        )
        invite = await session.scalar(select(Invite).where(Invite.code == seeded.invites["li_na"]))
        assert invite is not None and invite.uses == 0

    await li.start(seeded.invite_payload(seed.LI_NA))  # the same link, in the private chat
    await li.wait_for("Welcome, Li Na! You are registered as staff.")
    async with bot.running.core.reading() as session:
        person = await session.scalar(select(Person).where(Person.telegram_user_id == li.user_id))
    assert person is not None and person.chat_id == li.user_id
    assert [m.text for m in group.messages()] == [refusal.text]


async def test_the_core_redeems_an_invitation_only_for_a_private_chat(bot):
    seeded = await seed.seed_office(bot.running.helpdesk, people=(seed.LI_NA,))

    with pytest.raises(InvalidInput) as refused:
        await bot.running.helpdesk.people.redeem_invite(
            seeded.invites["li_na"],
            telegram_user_id=seed.LI_NA.telegram_id,
            chat_id=GROUP,
            name="Li Na",
            language="en",
        )
    assert refused.value.code == "invite.private_only"


async def test_personal_commands_in_a_group_get_only_a_link_to_a_private_chat(office: Office):
    li = office.li
    ticket_id = await open_ticket(
        office, await office.person_id(seed.LI_NA), "Salary spreadsheet will not open."
    )
    await li.wait_for(f"Ticket #{ticket_id}")
    group = office.emulator.group(GROUP, "Finance team")
    before = len(li.messages())

    for command in ("/my", "/report", "/queue", "/help@faultdesk_bot", "/lang", "/complain"):
        await li.send_in(group, command)
        answer = await group.wait_for(
            f"I answer /{command[1:].split('@')[0]} only in a private chat"
        )
        assert answer.button("💬 Open a private chat")["url"] == PRIVATE_LINK
    await office.wang.send_in(group, "/queue")
    await group.wait_for("I answer /queue only in a private chat")

    said = "\n".join(m.text for m in group.messages())
    assert "Salary spreadsheet" not in said and f"#{ticket_id}" not in said
    assert len(li.messages()) == before  # nothing was started in the private chat either
    async with office.deployment.running.core.reading() as session:
        assert (await session.scalars(select(ChatState))).all() == []

    # A button pressed in the group is answered privately, and nothing happens.
    await li.send("/lang")
    choose = await li.wait_for("Choose your language:")
    data = str(choose.button("Русский")["callback_data"])
    pressed = await li.press_data(data, message=group.messages()[-1])
    assert await answer_to(office, pressed) == "Please use your private chat with me for this."
    assert pressed.show_alert
    async with office.deployment.running.core.reading() as session:
        person = await session.get(Person, await office.person_id(seed.LI_NA))
    assert person is not None and person.language == "en"


async def test_an_administrator_makes_a_group_the_home_of_a_sites_escalation_alerts(
    office: Office,
):
    emulator = office.emulator
    zhou = emulator.person(seed.ADMIN.telegram_id, seed.ADMIN.name, "en")
    group = emulator.group(GROUP, "HQ escalations")

    await office.chen.send_in(group, "/sitegroup HQ")  # a dispatcher is no administrator
    await group.wait_for("/sitegroup is not available for your role.")
    await zhou.send_in(group, "/sitegroup NOPE")
    await group.wait_for("No site has the code NOPE.")
    await zhou.send_in(group, "/sitegroup HQ")
    await group.wait_for("🔔 Escalation alerts of Head office will also be posted in this group.")
    async with office.deployment.running.core.reading() as session:
        hq = await session.scalar(select(Site).where(Site.code == "HQ"))
        assert hq is not None and hq.alert_chat_id == GROUP

    ticket_id = await open_ticket(office, await office.person_id(seed.LI_NA), "Projector dark.")
    card = await office.wang.wait_for(f"Ticket #{ticket_id}")
    await office.wang.press("✅ Accept", message=card)
    await office.wang.wait_for(lambda m: m.message_id == card.message_id and "accepted" in m.text)
    await office.later(minutes=96)  # 80 %: a reminder to Wang only, nothing in the group
    await office.wang.wait_for("arrival on site due Mar 2 11:00")
    await office.later(minutes=24)  # 100 %: pages, and one post in the group
    page = await group.wait_for(f"Ticket #{ticket_id}: the arrival on site deadline")
    assert page.text.startswith("📢 ")
    assert "Those paged acknowledge and act in their private chat with me." in page.text
    assert page.buttons() == []
    assert seed.WANG_WEI.phone not in page.text
    await office.chen.wait_for(f"Ticket #{ticket_id}: the arrival on site deadline")
    await office.later(hours=1)  # 150 %: the managers' alert, and one post in the group
    alert = await group.wait_for(f"Escalation: ticket #{ticket_id}")
    assert alert.buttons() == []
    await office.later(minutes=15)  # pages repeat to people, never to the group
    await office.wang.wait_for("Reminder 1: not acknowledged yet.")
    posts = [m.text for m in group.messages() if f"#{ticket_id}" in m.text]
    assert len(posts) == 2, group.transcript()

    await zhou.send_in(group, "/sitegroup HQ off")
    await group.wait_for("🔕 Escalation alerts of Head office are no longer posted here.")
    async with office.deployment.running.core.reading() as session:
        hq = await session.scalar(select(Site).where(Site.code == "HQ"))
        assert hq is not None and hq.alert_chat_id is None
        changes = list(
            await session.scalars(
                select(AuditEvent.data).where(AuditEvent.action == "site.alert_group_set")
            )
        )
    assert [change["chat_id"] for change in changes] == [GROUP, None]
