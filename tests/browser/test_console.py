"""The web console in a real browser: the board and the ticket page on a phone-sized and a
desktop-sized window, its actions, live updates, and forged sign-ins."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from urllib.parse import quote

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from bot.web.auth import sign_init_data
from core.console import ConsoleService
from core.enums import Impact, TicketStatus
from core.sla.policy import PauseReason
from tests.browser.conftest import DESKTOP, PHONE, TOKEN, Browser

WAIT = 20.0  # seconds: a safety net only; every wait ends as soon as its condition holds
THEME = {"bg_color": "#17212b", "text_color": "#f5f5f5", "hint_color": "#708499",
         "link_color": "#6ab3f3", "button_color": "#5288c1", "button_text_color": "#ffffff",
         "secondary_bg_color": "#232e3c"}  # fmt: skip


def mini_app_url(base: str, telegram_id: int, *, token: str = TOKEN, age: float = 0) -> str:
    """The address Telegram opens a Mini App at: initData and theme in the fragment."""
    user = json.dumps({"id": telegram_id, "first_name": "T", "language_code": "en"})
    data = sign_init_data({"auth_date": str(int(time.time() - age)), "user": user}, token)
    return f"{base}#tgWebAppData={quote(data)}&tgWebAppVersion=8.0&tgWebAppThemeParams={quote(json.dumps(THEME))}"


def until(driver: WebDriver, poll: float = 0.1) -> WebDriverWait[WebDriver]:
    """Wait for a condition; the board re-renders, so a stale element just means look again."""
    return WebDriverWait(
        driver, WAIT, poll_frequency=poll, ignored_exceptions=[StaleElementReferenceException]
    )


def ready(driver: WebDriver) -> bool:
    return driver.execute_script("return document.body.dataset.ready === '1'") is True


def fresh_page(driver: WebDriver) -> None:
    """Forget the last page's initData; a new fragment alone would not reload the page."""
    if driver.current_url.startswith("http"):
        driver.execute_script("sessionStorage.clear()")
    driver.get("about:blank")


def text_of(driver: WebDriver, css: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, css).text)


def colour(clock, now) -> str:
    """A board clock's colour at `now`, by the rule the page paints it."""
    moment = int(now.timestamp())
    if clock.paused or clock.due is None:
        return "paused"
    if clock.breached or moment >= clock.due:
        return "red"
    if clock.amber is not None:
        return "amber" if moment >= clock.amber else "green"
    return "amber" if moment >= clock.started + 0.8 * (clock.due - clock.started) else "green"


async def seed(helpdesk, world, clock) -> dict[str, int]:
    """Tickets whose deadlines are missed, near (amber), far (green) and paused."""
    tickets = helpdesk.tickets

    async def report(symptom: str, impact: Impact = Impact.DEGRADED, **more) -> int:
        return (
            await tickets.report_fault(world.reporter_id, symptom=symptom, impact=impact, **more)
        ).id

    late = await report("Printer jams on every page", Impact.CANNOT_WORK)
    clock.advance(timedelta(minutes=20))
    near = await report("Projector flickers in room 5")
    clock.advance(timedelta(minutes=30))
    far = await report("Desktop will not boot", Impact.CANNOT_WORK, asset_tag="PC-0001")
    paused = await report("Scanner needs a new roller")
    await tickets.acknowledge(paused, actor_id=(await tickets.card(paused)).assignee_id)
    await tickets.pause(
        paused, actor_id=(await tickets.card(paused)).assignee_id, reason=PauseReason.PARTS
    )
    clock.advance(timedelta(minutes=20))  # 70 min after the first report
    return {"late": late, "near": near, "far": far, "paused": paused}


async def test_the_board_on_a_phone_and_a_desktop_acts_and_updates_live(
    helpdesk, world, clock, browser: Browser, console_url: str, backend: str
):
    ids = await seed(helpdesk, world, clock)

    await browser.size(*PHONE)
    await browser.run(lambda d: d.get(mini_app_url(console_url, 3001)))
    await browser.run(lambda d: until(d).until(ready))
    rows = await browser.run(
        lambda d: [
            int(row.get_attribute("data-ticket"))
            for row in d.find_elements(By.CSS_SELECTOR, "tr.row")
        ]
    )
    # Nearest deadline first: the missed one, then the amber one; the paused one last.
    assert rows[0] == ids["late"] and rows[1] == ids["near"] and rows[-1] == ids["paused"]

    def colours(driver: WebDriver, ticket: int) -> list[str]:
        return [
            str(node.get_attribute("data-state"))
            for node in driver.find_elements(By.CSS_SELECTOR, f'tr[data-ticket="{ticket}"] .clock')
        ]

    assert "red" in await browser.run(lambda d: colours(d, ids["late"]))
    assert "amber" in await browser.run(lambda d: colours(d, ids["near"]))
    assert set(await browser.run(lambda d: colours(d, ids["far"]))) == {"green"}
    assert "paused" in await browser.run(lambda d: colours(d, ids["paused"]))
    assert "missed" in await browser.run(
        lambda d: text_of(d, f'tr[data-ticket="{ids["late"]}"] .clock')
    )
    # Telegram's theme colours are applied.
    background = await browser.run(
        lambda d: d.execute_script("return getComputedStyle(document.body).backgroundColor")
    )
    assert background == "rgb(23, 33, 43)"
    # Nothing sticks out of a 360 px phone.
    overflow = await browser.run(
        lambda d: d.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    )
    assert overflow <= 0
    await browser.screenshot(f"board-phone-{backend}")

    # Desktop: reassign a ticket and set its level through the page.
    await browser.size(*DESKTOP)
    target = ids["far"]
    before = await helpdesk.tickets.card(target)
    other = world.backup_id if before.assignee_id == world.engineer_id else world.engineer_id

    def reassign(driver: WebDriver) -> None:
        driver.find_element(
            By.CSS_SELECTOR, f'tr[data-ticket="{target}"] button[data-action="assign"]'
        ).click()
        Select(driver.find_element(By.CSS_SELECTOR, "#dialog select")).select_by_value(str(other))
        driver.find_element(By.ID, "dialog-ok").click()
        until(driver).until(
            lambda d: d.find_element(By.ID, "dialog").get_attribute("hidden") is not None
        )

    await browser.run(reassign)
    other_name = "Zhao Lei" if other == world.backup_id else "Wang Wei"
    await browser.run(
        lambda d: until(d).until(
            lambda d: text_of(d, f'tr[data-ticket="{target}"] .assignee') == other_name
        )
    )
    assert (await helpdesk.tickets.card(target)).assignee_id == other

    def set_level(driver: WebDriver) -> None:
        driver.find_element(
            By.CSS_SELECTOR, f'tr[data-ticket="{target}"] button[data-action="level"]'
        ).click()
        Select(driver.find_element(By.CSS_SELECTOR, "#dialog select")).select_by_value("1")
        driver.find_element(By.ID, "dialog-ok").click()

    await browser.run(set_level)
    await browser.run(
        lambda d: until(d).until(lambda d: text_of(d, f'tr[data-ticket="{target}"] .lvl') == "1")
    )
    assert (await helpdesk.tickets.card(target)).severity == 1

    # A refused action shows the chat's own sentence and changes nothing.
    def cancel_without_reason(driver: WebDriver) -> str:
        driver.find_element(
            By.CSS_SELECTOR, f'tr[data-ticket="{ids["near"]}"] button[data-action="cancel"]'
        ).click()
        driver.find_element(By.ID, "dialog-ok").click()
        until(driver).until(lambda d: text_of(d, "#dialog .error"))
        shown = text_of(driver, "#dialog .error")
        driver.find_element(By.CSS_SELECTOR, "#dialog button.quiet").click()
        return shown

    assert await browser.run(cancel_without_reason) == "Please give a reason."
    assert (await helpdesk.tickets.card(ids["near"])).status is TicketStatus.ASSIGNED

    # A change made elsewhere (here: the core service the chat calls) reaches the open
    # page without a reload.
    await browser.run(lambda d: d.execute_script("window.__sameDocument = true"))
    started = time.monotonic()
    await helpdesk.tickets.set_severity(ids["near"], 2, actor_id=world.dispatcher_id)
    await browser.run(
        lambda d: until(d, poll=0.05).until(
            lambda d: text_of(d, f'tr[data-ticket="{ids["near"]}"] .lvl') == "2"
        )
    )
    latency = time.monotonic() - started
    assert await browser.run(lambda d: d.execute_script("return window.__sameDocument === true"))
    print(f"board updated {latency:.2f} s after a change made elsewhere")
    # Filters: overdue only, then a search by asset tag.
    await browser.run(lambda d: d.find_element(By.NAME, "overdue").click())
    await browser.run(
        lambda d: until(d).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr.row")) == 1)
    )
    assert await browser.run(
        lambda d: d.find_element(By.CSS_SELECTOR, "tr.row").get_attribute("data-ticket")
    ) == str(ids["late"])
    await browser.run(lambda d: d.find_element(By.NAME, "overdue").click())
    await browser.run(
        lambda d: until(d).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr.row")) == 4)
    )
    await browser.run(lambda d: d.find_element(By.NAME, "q").send_keys("pc-0001"))
    await browser.run(
        lambda d: until(d).until(
            lambda d: (
                [r.get_attribute("data-ticket") for r in d.find_elements(By.CSS_SELECTOR, "tr.row")]
                == [str(target)]
            )
        )
    )
    await browser.run(lambda d: d.find_element(By.NAME, "q").clear())
    await browser.run(
        lambda d: d.execute_script(
            "const q=document.querySelector('input[name=q]'); q.value='';"
            "q.dispatchEvent(new Event('input'))"
        )
    )
    await browser.run(
        lambda d: until(d).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr.row")) == 4)
    )
    await browser.screenshot(f"board-desktop-{backend}")


async def test_the_ticket_page_shows_fields_deadlines_and_timeline(
    helpdesk, world, clock, browser: Browser, console_url: str, backend: str
):
    ids = await seed(helpdesk, world, clock)
    await helpdesk.tickets.assign(ids["far"], world.backup_id, actor_id=world.dispatcher_id)
    url = mini_app_url(f"{console_url}?ticket={ids['far']}", 3001)
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        await browser.size(*size)
        await browser.run(lambda d: d.get(url))
        await browser.run(lambda d: until(d).until(ready))
        assert await browser.run(lambda d: text_of(d, "#title")) == f"Ticket #{ids['far']}"
        fields = await browser.run(lambda d: text_of(d, "#fields"))
        for expected in ("Desktop will not boot", "Li Na", "PC-0001", "Head office"):
            assert expected in fields
        timeline = await browser.run(lambda d: text_of(d, "#timeline"))
        assert "reported by Li Na" in timeline and "assigned to Zhao Lei" in timeline
        assert "null" not in await browser.run(lambda d: text_of(d, "#main"))
        await browser.screenshot(f"ticket-{name}-{backend}")


async def test_forged_and_foreign_sign_ins_show_a_clear_page_and_change_nothing(
    helpdesk, world, clock, browser: Browser, console_url: str
):
    ids = await seed(helpdesk, world, clock)
    before = await helpdesk.tickets.card(ids["late"])
    await browser.size(*PHONE)
    cases = [
        (mini_app_url(console_url, 3001, token="654321:" + "x" * 30), "Open the console again"),
        (mini_app_url(console_url, 3001, age=3 * 3600), "Open the console again"),
        (mini_app_url(console_url, 999), "Open the console again"),
        (console_url, "Open the console again"),
        (mini_app_url(console_url, 1001), "This screen is for dispatchers and managers."),
    ]
    for url, expected in cases:
        await browser.run(fresh_page)
        await browser.run(lambda d, url=url: d.get(url))
        await browser.run(
            lambda d, expected=expected: until(d).until(lambda d: expected in text_of(d, "#main"))
        )
        assert await browser.run(lambda d: d.find_elements(By.CSS_SELECTOR, "tr.row")) == []
    assert await helpdesk.tickets.card(ids["late"]) == before


async def test_a_login_link_opens_the_board_in_a_desktop_browser_once(
    helpdesk, world, clock, browser: Browser, console_url: str
):
    ids = await seed(helpdesk, world, clock)
    token = await ConsoleService(helpdesk.core).issue_login(
        world.dispatcher_id, valid_for=timedelta(minutes=10)
    )
    link = f"{console_url}login/{token}"
    await browser.run(lambda d: d.get(link))
    await browser.run(lambda d: until(d).until(ready))
    assert await browser.run(lambda d: d.current_url) == console_url
    assert str(ids["late"]) in await browser.run(lambda d: text_of(d, "#board"))
    # The cookie is out of the page's reach (HttpOnly) and survives a reload.
    assert await browser.run(lambda d: d.execute_script("return document.cookie")) == ""
    await browser.run(lambda d: d.refresh())
    await browser.run(lambda d: until(d).until(ready))
    assert str(ids["late"]) in await browser.run(lambda d: text_of(d, "#board"))
    # The link is spent: opened again (another browser, the cookie gone), it says so.
    await browser.run(lambda d: d.delete_all_cookies())
    await browser.run(lambda d: d.get(link))
    assert "not valid any more" in await browser.run(lambda d: text_of(d, "#message"))


async def test_the_board_speaks_the_persons_language(
    helpdesk, world, clock, browser: Browser, console_url: str, backend: str
):
    ids = await seed(helpdesk, world, clock)
    await helpdesk.people.set_language(world.dispatcher_id, "zh_CN")
    await browser.size(*PHONE)
    await browser.run(lambda d: d.get(mini_app_url(console_url, 3001)))
    await browser.run(lambda d: until(d).until(ready))
    assert await browser.run(lambda d: text_of(d, "#title")) == "调度看板"
    late = await browser.run(lambda d: text_of(d, f'tr[data-ticket="{ids["late"]}"]'))
    assert "已超时" in late and "改派" in late
    assert (
        await browser.run(lambda d: d.execute_script("return document.documentElement.lang"))
        == "zh-CN"
    )
    await browser.screenshot(f"board-phone-zh-{backend}")


async def test_the_engineers_view_lists_my_tickets_with_map_links_and_deadlines(
    helpdesk, world, clock, browser: Browser, console_url: str, backend: str
):
    await helpdesk.people.locate_site("HQ", latitude=31.2399, longitude=121.4906)
    ids = await seed(helpdesk, world, clock)
    # The engineer holding the ticket whose deadline is near (amber on the board).
    holder = (await helpdesk.tickets.card(ids["near"])).assignee_id
    telegram_id = 2001 if holder == world.engineer_id else 2002
    mine = {t for t in ids.values() if (await helpdesk.tickets.card(t)).assignee_id == holder}
    assert mine
    # This month's meeting-room round, the projector checked, the microphone not yet.
    from core.assets import AssetRecord
    from core.enums import AssetKind
    from tests.integration.test_inspections import PROJECTOR_OK

    for tag, kind in (("PJ-01", AssetKind.PROJECTOR), ("MIC-01", AssetKind.MICROPHONE)):
        await helpdesk.assets.register(
            AssetRecord(tag=tag, kind=kind, site_code="HQ", location="Meeting room A")
        )
    await helpdesk.inspections.create_plan(
        code="HQ-ROOMS", name="Meeting rooms", cadence="monthly", site_id=world.site_id,
        engineer_id=holder,
    )  # fmt: skip
    (round_,) = await helpdesk.inspections.open_rounds_for(holder)
    walk = await helpdesk.inspections.start(round_.id, actor_id=holder)
    projector = next(d.asset_id for d in walk.devices if d.tag == "PJ-01")
    await helpdesk.inspections.record_device(
        round_.id, projector, actor_id=holder, answers=PROJECTOR_OK
    )
    await browser.size(*PHONE)
    await browser.run(lambda d: d.get(mini_app_url(console_url, telegram_id)))
    await browser.run(lambda d: until(d).until(ready))
    assert await browser.run(lambda d: text_of(d, "#title")) == "My tickets"
    shown = await browser.run(
        lambda d: {
            int(item.get_attribute("data-ticket"))
            for item in d.find_elements(By.CSS_SELECTOR, "#mine li")
        }
    )
    assert shown == mine
    first = min(mine)
    link = await browser.run(
        lambda d: d.find_element(By.CSS_SELECTOR, f'li[data-ticket="{first}"] a.map').get_attribute(
            "href"
        )
    )
    assert link.startswith("https://www.openstreetmap.org/?mlat=31.239900&mlon=121.490600")
    clocks = await browser.run(lambda d: text_of(d, f'li[data-ticket="{first}"]'))
    assert "left" in clocks or "missed" in clocks
    # The countdowns are coloured as on the board: amber from the ladder's 80 % step.
    board = await ConsoleService(helpdesk.core).board(world.dispatcher_id)
    expected = {row.id: [colour(c, clock.now()) for c in row.clocks] for row in board.rows}
    for ticket in mine:
        shown_colours = await browser.run(
            lambda d, ticket=ticket: [
                str(node.get_attribute("data-state"))
                for node in d.find_elements(By.CSS_SELECTOR, f'li[data-ticket="{ticket}"] .clock')
            ]
        )
        assert shown_colours == expected[ticket], ticket
    assert "amber" in {state for ticket in mine for state in expected[ticket]}
    # The round's checklist: what the database holds for each device.
    saved = (await helpdesk.inspections.round(round_.id)).items
    checklist = await browser.run(
        lambda d: {
            str(li.get_attribute("data-asset")): str(li.get_attribute("data-outcome"))
            for li in d.find_elements(By.CSS_SELECTOR, f'[data-round="{round_.id}"] li')
        }
    )
    assert checklist == {"MIC-01": "pending", "PJ-01": "ok"}
    assert [item.outcome for item in saved.values()] == ["ok"]
    progress = await browser.run(lambda d: text_of(d, f'[data-round="{round_.id}"] p'))
    assert progress == "Meeting rooms 2026-03 · 1 of 2 checked · due Mar 10 18:00"
    # The board is not theirs.
    headers_refused = await browser.run(
        lambda d: d.execute_script(
            "return fetch('/web/api/board', {headers: {'X-Telegram-Init-Data':"
            " sessionStorage.getItem('tgWebAppData')}}).then(r => r.status)"
        )
    )
    assert headers_refused == 403
    await browser.screenshot(f"engineer-phone-{backend}")
    await browser.size(*DESKTOP)
    assert await browser.run(lambda d: text_of(d, f'[data-round="{round_.id}"] p')) == progress
    await browser.screenshot(f"engineer-desktop-{backend}")


async def test_the_dashboard_shows_the_reports_own_figures_and_charts(
    helpdesk, world, clock, browser: Browser, console_url: str, backend: str
):
    from bot.handlers.manager import rate_line
    from bot.i18n import I18n
    from core.reports.counts import kpi_reports_by_site
    from core.reports.periods import month_bounds

    ids = await seed(helpdesk, world, clock)
    engineer = (await helpdesk.tickets.card(ids["far"])).assignee_id
    await helpdesk.tickets.acknowledge(ids["far"], actor_id=engineer)
    await helpdesk.tickets.arrive(ids["far"], actor_id=engineer)
    await helpdesk.runner().sweep()  # the missed deadline escalates
    await browser.size(*DESKTOP)
    await browser.run(lambda d: d.get(mini_app_url(f"{console_url}?view=dashboard", 4001)))
    await browser.run(lambda d: until(d).until(ready))
    title = await browser.run(lambda d: d.find_element(By.ID, "title").get_attribute("textContent"))
    assert title == "Dashboard"
    now_line = await browser.run(lambda d: text_of(d, "#now"))
    assert now_line.startswith("Now: 4 open · 1 overdue")
    # The same figures, in the same words, as /stats and the monthly summary compute them.
    start, end = month_bounds(clock.now(), "Asia/Shanghai")
    month, _sites = await kpi_reports_by_site(helpdesk.core, start, end, as_of=clock.now())
    t = I18n().get("en")
    expected = rate_line(
        t, t("On-time arrival"), month.arrival, t("target 90%"), month.arrival_deduction
    )
    shown = await browser.run(lambda d: text_of(d, '#kpis li[data-kpi="arrival"]'))
    assert shown == expected.replace("<b>", "").replace("</b>", "")
    assert month.arrival.denominator == 1  # the arrival above is counted
    paths = await browser.run(
        lambda d: [
            p.get_attribute("data-kpi")
            for p in d.find_elements(By.CSS_SELECTOR, "#trend-chart path")
        ]
    )
    assert "arrival" in paths
    assert "Head office" in await browser.run(lambda d: text_of(d, "#site-bars"))
    # This quarter so far by the /scorecard code: a range while the survey is open.
    from bot.rendering.text import payment_text
    from bot.rendering.wording import score_text
    from core.reports.quarterly import quarterly_scorecard
    from core.reports.sites import find_site

    card = await quarterly_scorecard(
        helpdesk.core, "2026-Q1", site=await find_site(helpdesk.core, "HQ"), as_of=clock.now()
    )
    quarter = await browser.run(lambda d: text_of(d, "#quarter"))
    assert quarter == (
        f"Score {score_text(t, card.score.low)}–{score_text(t, card.score.high)}"
        f" (survey still open) · payment {payment_text(t, card.paid_low)}"
        f" to {payment_text(t, card.paid_high)}"
    )
    # Escalations per week: twelve weekly bars, this week's counting the steps fired.
    bars = await browser.run(
        lambda d: [
            int(bar.get_attribute("data-fired"))
            for bar in d.find_elements(By.CSS_SELECTOR, "#escalations rect[data-week]")
        ]
    )
    assert len(bars) == 12 and bars[-1] >= 1 and sum(bars[:-1]) == 0
    header = await browser.run(
        lambda d: d.execute_script("return document.querySelector('header').offsetHeight")
    )
    assert header >= 30  # the page's own styles do not squash the title bar
    await browser.screenshot(f"dashboard-desktop-{backend}")
    await browser.size(*PHONE)
    await browser.screenshot(f"dashboard-phone-{backend}")
    # Staff and engineers are refused.
    status = await browser.run(
        lambda d: d.execute_script(
            "return fetch('/web/api/dashboard', {headers: {'X-Telegram-Init-Data':"
            f" {json.dumps(sign_init_data({'auth_date': str(int(time.time())), 'user': json.dumps({'id': 2001})}, TOKEN))}"
            "}}).then(r => r.status)"
        )
    )
    assert status == 403


async def test_the_ticket_page_shows_photos_business_time_and_escalation(
    helpdesk, world, clock, browser: Browser, console_url: str, backend: str
):
    from tests.integration.test_escalation import local

    clock.set(local(2, 9))
    ticket = await helpdesk.tickets.report_fault(
        world.reporter_id,
        symptom="Cracked screen",
        impact=Impact.CANNOT_WORK,
        asset_tag="PC-0001",
        photos=["photo-red", "photo-blue"],
    )
    await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    runner = helpdesk.runner()
    clock.set(local(2, 10, 36))
    await runner.sweep()
    clock.set(local(2, 11))
    await runner.sweep()
    url = mini_app_url(f"{console_url}?ticket={ticket.id}", 3001)
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        await browser.size(*size)
        await browser.run(fresh_page)
        await browser.run(lambda d: d.get(url))
        await browser.run(lambda d: until(d).until(ready))

        def pictures(driver: WebDriver) -> list[int]:
            return [
                int(driver.execute_script("return arguments[0].naturalWidth", img))
                for img in driver.find_elements(By.CSS_SELECTOR, "#photos img")
            ]

        # Both photos are drawn as pictures (fetched with the page's own proof of identity).
        await browser.run(lambda d: until(d).until(lambda d: pictures(d) == [160, 160]))
        usage = await browser.run(lambda d: text_of(d, '#usage li[data-clock="arrival"]'))
        assert usage == "arrival on site: 2 h 0 min of 2 h 0 min (100%)"
        steps = await browser.run(lambda d: text_of(d, "#escalation"))
        assert "arrival on site 80%: fired Mar 2 10:36" in steps
        assert "arrival on site 100%: fired Mar 2 11:00" in steps
        assert "Wang Wei paged Mar 2 11:00 · not acknowledged" in steps
        await browser.screenshot(f"ticket-escalated-{name}-{backend}")
