"""After a raise, each person gets one alert per ticket: the level, what is missed, what is next."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.enums import Impact

SHANGHAI = ZoneInfo("Asia/Shanghai")


def october(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=SHANGHAI)


async def test_the_holiday_backlog_pages_once_saying_what_is_missed_and_what_is_next(
    chat, helpdesk, world, clock
):
    for person_id, language in (
        (world.engineer_id, "en"),
        (world.backup_id, "en"),
        (world.dispatcher_id, "zh_CN"),
        (world.manager_id, "ru"),
        (world.reporter_id, "en"),
    ):
        await helpdesk.people.set_language(person_id, language)
    # Reported on the last day of National Day: its clocks start at 09:00 on 8 October.
    clock.set(october(7, 10, 5))
    ticket = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="PC does not start", impact=Impact.CANNOT_WORK, location="R1"
    )
    clock.set(october(8, 9, 48))
    await helpdesk.runner().sweep()
    await chat.deliver()
    wang, zhao = chat.person(2001), chat.person(2002)
    chen, liu, li = chat.person(3001), chat.person(4001), chat.person(1001)
    seen = {p: len(p.messages) for p in (wang, zhao, chen, liu, li)}

    clock.set(october(8, 10))  # the acknowledge deadline: the raise to level 1
    await helpdesk.runner().sweep()
    await chat.deliver()
    new = {p: p.messages[seen[p] :] for p in seen}
    assert [len(new[p]) for p in (wang, zhao, chen, liu, li)] == [1, 1, 1, 1, 1]
    page = new[wang][0].text
    assert f"Ticket #{ticket.id}</b>: the acceptance deadline (Oct 8 10:00) was missed." in page
    assert "Level raised to Level 1 (critical)." in page
    # Level 1 counts around the clock from the report (7 Oct 10:05).
    assert (
        "⚠️ At this level the arrival on site deadline (Oct 7 12:05) is missed by 21 h 55 min too."
        in page
    )
    assert "⚠️ At this level the service restored deadline (Oct 7 15:05) is missed by" in page
    assert "⏭ Next: full fix due Oct 8 10:05." in page
    assert new[zhao][0].text == page  # the backup reads the same page
    # The dispatcher reads it in Chinese, the manager's alert in Russian.
    paged = new[chen][0].text
    assert "已升为一级故障（紧急）。" in paged
    assert "⚠️ 按此级别，到场时限（10月7日 12:05）也已超时21小时55分钟。" in paged
    assert "⏭ 下一个：彻底修复时限 10月8日 10:05。" in paged
    alert = new[liu][0].text
    assert alert.startswith("🚨 <b>Эскалация: заявка №1</b>")
    assert "Уровень 1 (критический)" in alert
    assert (
        "⚠️ На этом уровне срок «прибытие на место» (7 окт. 12:05) тоже пропущен на 21 ч 55 мин."
        in alert
    )
    assert "⏭ Далее: «полное устранение» до 8 окт. 10:05." in alert
    # The reporter hears how it stands from the hourly progress message, once.
    assert new[li][0].text.startswith(f"⏳ <b>Ticket #{ticket.id}</b>: dispatched")
