"""The console's dashboard over HTTP on every backend: this quarter's score and payment by
the /scorecard code, and escalation steps counted per week."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.i18n import I18n
from bot.rendering.text import payment_text
from bot.rendering.wording import score_text
from bot.web.server import INIT_HEADER, WebConfig, WebConsole
from core.reports.quarterly import quarterly_scorecard
from core.reports.sites import find_site
from tests.integration.test_escalation import local, report
from tests.integration.test_web_console import TOKEN, init_data


@pytest.fixture
async def client(helpdesk) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    console = WebConsole(helpdesk, I18n(default="en"), WebConfig(bot_token=TOKEN))
    root = web.Application()
    console.mount(root)
    async with TestClient(TestServer(root)) as test_client:
        yield test_client


async def dashboard(client, who: int = 4001) -> dict:
    response = await client.get("/web/api/dashboard", headers={INIT_HEADER: init_data(who)})
    assert response.status == 200, await response.text()
    return await response.json()


async def test_the_quarter_so_far_is_the_scorecards_own_figures(helpdesk, world, clock, client):
    clock.set(local(2, 9))
    ticket = await report(helpdesk, world)
    await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    clock.set(local(2, 12))
    await helpdesk.runner().sweep()  # arrival missed: the quarter's on-time arrival drops

    data = await dashboard(client)
    now = helpdesk.core.clock.now()
    site = await find_site(helpdesk.core, "HQ")
    card = await quarterly_scorecard(helpdesk.core, "2026-Q1", site=site, as_of=now)
    t = I18n(default="en").get("en")
    quarter = data["quarter"]
    assert quarter["label"] == "2026-Q1"
    assert quarter["score_low"] == score_text(t, card.score.low)
    assert quarter["score_high"] == score_text(t, card.score.high)
    assert quarter["payment_low"] == payment_text(t, card.paid_low)
    assert quarter["onsite"] == card.onsite and quarter["other"] == card.other
    # The survey has not run: the score is a range, and the page says so.
    assert quarter["known"] is False and card.survey is None
    assert quarter["percent_low"] == float(card.paid_low.percent)


async def test_escalations_are_counted_per_week(helpdesk, world, clock, client):
    clock.set(local(2, 9))  # Monday 2 March
    first = await report(helpdesk, world)
    await helpdesk.tickets.acknowledge(first.id, actor_id=world.engineer_id)
    runner = helpdesk.runner()
    clock.set(local(2, 10, 36))
    await runner.sweep()  # arrival 80 %: a reminder
    clock.set(local(2, 11))
    await runner.sweep()  # arrival 100 %: pages
    # Withdrawn, so that its later deadlines escalate no more.
    await helpdesk.tickets.cancel(first.id, actor_id=world.dispatcher_id, reason="duplicate")
    clock.set(local(10, 9))  # the next week, Tuesday
    second = await report(helpdesk, world)
    await helpdesk.tickets.acknowledge(second.id, actor_id=second.assignee_id)
    clock.set(local(10, 10, 36))
    await runner.sweep()

    weeks = (await dashboard(client))["escalations"]
    assert len(weeks) == 12 and weeks[-1]["week"] == "2026-03-09"
    by_week = {w["week"]: (w["fired"], w["paged"]) for w in weeks}
    fired_first, paged_first = by_week["2026-03-02"]
    assert paged_first >= 1 and fired_first >= paged_first + 1
    assert by_week["2026-03-09"] == (1, 0)
    assert all(by_week[w["week"]] == (0, 0) for w in weeks[:-2])
    # The same counts from the audit log, the record every step leaves.
    from sqlalchemy import func, select

    from core.models import AuditEvent

    async with helpdesk.core.reading() as session:
        total = await session.scalar(
            select(func.count()).where(AuditEvent.action == "sla.escalated")
        )
    assert fired_first + 1 == total
    clock.advance(timedelta(days=7))
    later = (await dashboard(client))["escalations"]
    assert later[-1] == {"week": "2026-03-16", "fired": 0, "paged": 0}
