"""The board a page at a time in a real browser: the first screen shows the first 100
tickets with the counts over all of them, "Show more" fetches the next ones, and search
finds a ticket that is not on the first page."""

from __future__ import annotations

from datetime import timedelta

from selenium.webdriver.common.by import By

from core.console import ConsoleService
from core.enums import Impact
from tests.browser.conftest import DESKTOP, Browser
from tests.browser.test_console import mini_app_url, ready, text_of, until

TICKETS = 103  # one page (100) and three more


def shown(driver) -> list[int]:
    return [
        int(row.get_attribute("data-ticket"))
        for row in driver.find_elements(By.CSS_SELECTOR, "#board tbody tr.row")
    ]


async def test_the_board_shows_a_page_then_more_and_searches_all(
    helpdesk, world, clock, browser: Browser, console_url: str
):
    for n in range(TICKETS):
        await helpdesk.tickets.report_fault(
            world.reporter_id, symptom=f"Fault number {n}", impact=Impact.DEGRADED
        )
        clock.advance(timedelta(seconds=30))
    whole = await ConsoleService(helpdesk.core).board(world.dispatcher_id)
    order = [row.id for row in whole.rows]
    await browser.size(*DESKTOP)
    await browser.run(lambda d: d.get(mini_app_url(console_url, 3001)))
    await browser.run(lambda d: until(d).until(ready))
    assert await browser.run(shown) == order[:100]
    # The page asked only for the rows it shows.
    asked = await browser.run(
        lambda d: d.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
            ".filter(n => n.includes('/web/api/board'))"
        )
    )
    assert [name.split("/web/api/")[1] for name in asked] == ["board?limit=100"]
    summary = await browser.run(lambda d: text_of(d, "#summary"))
    assert summary.startswith(f"{TICKETS} open")
    assert await browser.run(lambda d: text_of(d, "#more")) == "Show 3 more"
    await browser.run(lambda d: d.find_element(By.ID, "more").click())
    await browser.run(lambda d: until(d).until(lambda d: len(shown(d)) == TICKETS))
    assert await browser.run(shown) == order
    assert await browser.run(
        lambda d: d.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
            ".some(n => n.endsWith('/web/api/board?limit=200'))"
        )
    )
    assert await browser.run(lambda d: d.find_elements(By.ID, "more")) == []
    # The search runs over every ticket: the last one is found by its number.
    last = order[-1]
    await browser.run(
        lambda d: d.find_element(By.CSS_SELECTOR, "input[name=q]").send_keys(f"#{last}")
    )
    await browser.run(lambda d: until(d).until(lambda d: shown(d) == [last]))
