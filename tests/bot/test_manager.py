"""Managers and admins in chat: /stats figures and /invite links."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from core.enums import AssetKind, Impact, Role, ServiceResult, ServiceType
from core.tickets import ServiceSheet

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


async def seed_small_month(helpdesk, world, clock) -> None:
    """Monday 2 March: six tickets; four arrive on time, one late, one not at all."""
    t = helpdesk.tickets
    desk = world.dispatcher_id
    tickets = []
    for number in range(5):
        tickets.append(
            await t.report_fault(
                world.reporter_id,
                symptom=f"Printer {number + 1} jams",
                impact=Impact.CANNOT_WORK,
                asset_kind=AssetKind.PRINTER,
                location=f"Room {number + 1}",
            )
        )
    tickets.append(
        await t.report_fault(
            world.reporter_id,
            symptom="PC will not boot",
            impact=Impact.CANNOT_WORK,
            asset_tag=world.asset_tag,
        )
    )
    for ticket in tickets:
        await t.acknowledge(ticket.id, actor_id=desk)
    clock.set(local(2, 9, 30))
    for ticket in tickets[:4]:
        await t.arrive(ticket.id, actor_id=desk)
    clock.set(local(2, 10))
    for ticket, kind in zip(
        tickets[:3],
        (ServiceType.SOFTWARE_FAULT, ServiceType.HARDWARE_FAULT, ServiceType.HARDWARE_FAULT),
        strict=True,
    ):
        await t.resolve(
            ticket.id,
            actor_id=desk,
            sheet=ServiceSheet(kind, ServiceResult.FIXED_ON_SITE, solution="fixed"),
        )
    for ticket, score in zip(tickets[:3], (5, 4, 3), strict=True):
        await t.rate(ticket.id, actor_id=world.reporter_id, score=score)
    await t.confirm_fix(tickets[0].id, actor_id=world.reporter_id, confirmed=True)
    clock.set(local(2, 11, 30))
    await t.arrive(tickets[4].id, actor_id=desk)  # half an hour late
    clock.set(local(2, 14))  # the PC ticket is still waiting: 3 h past its arrival deadline


async def test_stats_shows_today_and_the_months_kpis(chat, helpdesk, world, clock):
    await seed_small_month(helpdesk, world, clock)
    liu = chat.person(4001, "Liu")
    await liu.send("/stats")
    text = liu.last().text
    expected = [
        "📊 <b>Head office</b> · Mar 2 14:00",
        "<b>Now</b>: 3 open · 1 overdue",
        "<b>Today</b>: 6 opened · 3 resolved · 1 closed",
        "",
        "<b>This month</b> (since Mar 1):",
        "On-time arrival: <b>66.7%</b> (4 of 6) · target 90% · −50 points",
        "On-site fix: <b>100.0%</b> (3 of 3) · target 95%",
        "Rated 3-5: <b>100.0%</b> (3 of 3) · target 90%",
        "30-day repeat repairs (software): <b>0.0%</b> (0 of 1) · limit 15%",
        "Deductions so far: −50 · on-site support 50/100",
        # Each deduction explained (issue 13): 90 % - 66.7 % = 23.3 points, 5 started steps.
        "↳ On-time arrival 66.7% (4 of 6): 23.3 points under 90% → 5 step(s) of 5% × 10 = −50",
    ]
    assert text.split("\n") == expected


async def test_stats_for_every_site_explains_each_sites_deductions(chat, helpdesk, world, clock):
    await seed_small_month(helpdesk, world, clock)
    branch = await helpdesk.people.create_site(code="BR", name="Branch", region="city")
    sun = await helpdesk.people.create_person(
        name="Sun", role=Role.STAFF, site_id=branch.id, telegram_user_id=1002
    )
    gao = await helpdesk.people.create_person(
        name="Gao", role=Role.ENGINEER, site_id=branch.id, telegram_user_id=2009
    )
    ticket = await helpdesk.tickets.report_fault(
        sun.id, symptom="No network", impact=Impact.CANNOT_WORK, asset_kind=AssetKind.PC
    )
    clock.set(local(2, 15))  # the branch's ticket was due on site at 16:00: not yet counted
    # The branch's own engineer (the head office's dispatcher acts on its own site only).
    await helpdesk.tickets.resolve_remotely(
        ticket.id,
        actor_id=gao.id,
        sheet=ServiceSheet(ServiceType.NETWORK, ServiceResult.FIXED_REMOTELY, solution="reset"),
    )
    await helpdesk.tickets.rate(ticket.id, actor_id=sun.id, score=2)
    await helpdesk.people.create_person(
        name="Boss", role=Role.MANAGER, site_id=None, telegram_user_id=4009, language="en"
    )
    boss = chat.person(4009, "Boss")
    await boss.send("/stats")
    lines = boss.last().text.split("\n")
    assert lines[0] == "📊 <b>All sites</b> · Mar 2 15:00"
    assert lines[-5:] == [
        "",
        "<b>Service levels by site</b>:",
        "<b>Branch</b>: on-site support 100/100 (−0)",
        "<b>Head office</b>: on-site support 50/100 (−50)",
        "  ↳ On-time arrival 66.7% (4 of 6): 23.3 points under 90% → 5 step(s) of 5% × 10 = −50",
    ]


async def test_stats_on_an_empty_month_says_nothing_is_counted_yet(chat, world):
    chen = chat.person(3001, "Chen")  # dispatchers see the figures too
    await chen.send("/stats")
    text = chen.last().text
    assert "<b>Now</b>: 0 open · 0 overdue" in text
    assert "On-time arrival: — (nothing counted yet) · target 90%" in text
    assert "Deductions so far: −0 · on-site support 100/100" in text


async def test_stats_is_not_for_engineers_or_staff(chat, world):
    wang = chat.person(2001, "Wang")
    await wang.send("/stats")
    assert wang.last().text == "/stats is not available for your role."


async def test_an_admin_invites_an_engineer_and_the_link_registers_them(chat, helpdesk, world):
    await helpdesk.people.create_person(
        name="Admin Ma", role=Role.ADMIN, site_id=world.site_id, telegram_user_id=5001
    )
    ma = chat.person(5001, "Ma")
    await ma.send("/invite")
    panel = ma.last()
    assert panel.buttons() == ["Staff", "Engineer", "Dispatcher", "Manager", "Administrator"]
    await ma.press("Engineer")
    assert "Which site?" in panel.text and panel.buttons() == ["Head office"]
    await ma.press("Head office")
    assert "engineer · Head office. Which department?" in panel.text
    assert panel.buttons() == ["Finance", "No department"]
    await ma.press("Finance")
    await ma.press("1 person")
    await ma.press("14 days")
    assert ma.messages == [panel]  # every step edited the same message
    assert "<b>Invitation</b>: engineer at Head office, Finance" in panel.text
    assert "Valid until Mar 16 09:00, for one person." in panel.text
    match = re.search(r"https://t\.me/faultdesk_bot\?start=(inv_[A-Za-z0-9_-]+)", panel.text)
    assert match is not None

    newcomer = chat.person(6001, "Sun", language_code="en")
    await newcomer.send(f"/start {match.group(1)}")
    assert "Welcome, Sun! You are registered as engineer." in newcomer.last().text
    profile = await helpdesk.people.profile_by_telegram(6001)
    assert profile is not None
    assert (profile.role, profile.site_id, profile.department_id) == (
        Role.ENGINEER,
        world.site_id,
        world.department_id,
    )


async def test_an_invite_without_a_department_and_only_for_admins(chat, helpdesk, world):
    await helpdesk.people.create_person(
        name="Admin Ma", role=Role.ADMIN, site_id=world.site_id, telegram_user_id=5001
    )
    ma = chat.person(5001, "Ma")
    await ma.send("/invite")
    await ma.press("Manager")
    await ma.press("Head office")
    await ma.press("No department")
    await ma.press("1 person")
    await ma.press("14 days")
    assert "<b>Invitation</b>: manager at Head office\n" in ma.last().text
    code = re.search(r"start=(inv_\S+)", ma.last().text)
    assert code is not None
    boss = chat.person(6002, "Boss")
    await boss.send(f"/start {code.group(1)}")
    profile = await helpdesk.people.profile_by_telegram(6002)
    assert profile is not None and profile.role is Role.MANAGER and profile.department_id is None

    liu = chat.person(4001, "Liu")
    await liu.send("/invite")
    assert liu.last().text == "/invite is not available for your role."


async def test_the_manager_hears_of_a_repeat_failure_and_can_open_the_ticket(
    chat, helpdesk, world, clock
):
    from datetime import timedelta

    from core.enums import Impact

    first = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="Fan noise", impact=Impact.DEGRADED, asset_tag=world.asset_tag
    )
    clock.advance(timedelta(days=3))
    second = await helpdesk.tickets.report_fault(
        world.reporter_id,
        symptom="Fan noise again",
        impact=Impact.DEGRADED,
        asset_tag=world.asset_tag,
    )
    await chat.deliver()
    liu = chat.person(4001, "Liu")
    alert = liu.last()
    assert (
        f"ticket #{second.id} is for a device already reported in ticket #{first.id}" in alert.text
    )
    assert "PC-0001" in alert.text
    await liu.press(f"🔎 Open ticket #{second.id}")
    assert f"#{second.id}" in liu.last().text


async def test_the_manager_hears_when_a_reporter_rates_a_fix_badly(chat, helpdesk, world):
    from core.enums import Impact, ServiceResult, ServiceType
    from core.tickets import ServiceSheet

    ticket = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="No sound", impact=Impact.DEGRADED, asset_tag=world.asset_tag
    )
    await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    await helpdesk.tickets.arrive(ticket.id, actor_id=world.engineer_id)
    await helpdesk.tickets.resolve(
        ticket.id,
        actor_id=world.engineer_id,
        sheet=ServiceSheet(
            ServiceType.SOFTWARE_FAULT, ServiceResult.FIXED_ON_SITE, solution="driver"
        ),
    )
    await helpdesk.tickets.rate(ticket.id, actor_id=world.reporter_id, score=1)
    await chat.deliver()
    liu = chat.person(4001, "Liu")
    assert (
        f"Second visit</b> for ticket #{ticket.id}: the reporter rated the fix 1 of 5."
        in liu.last().text
    )
