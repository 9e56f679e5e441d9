"""The engineer walks an inspection round from the console in a real browser: each device
marked OK or at fault through the chat's own service, shown on the page and held in the
database; calls from anyone else are refused and change nothing."""

from __future__ import annotations

import json
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from bot.web.auth import sign_init_data
from tests.browser.conftest import DESKTOP, PHONE, Browser
from tests.browser.test_console import mini_app_url, ready, text_of, until
from tests.integration.test_web_inspections import a_round, items


def signed(telegram_id: int, token: str) -> str:
    user = json.dumps({"id": telegram_id, "first_name": "T", "language_code": "en"})
    return sign_init_data({"auth_date": str(int(time.time())), "user": user}, token)


def outcome(driver, tag: str) -> str:
    node = driver.find_element(By.CSS_SELECTOR, f'[data-asset="{tag}"]')
    return str(node.get_attribute("data-outcome"))


def choose(driver, name: str, value: str) -> None:
    Select(driver.find_element(By.CSS_SELECTOR, f'#dialog select[name="{name}"]')).select_by_value(
        value
    )


async def test_the_engineer_marks_devices_from_the_checklist(
    helpdesk, world, clock, browser: Browser, console_url: str, backend: str
):
    round_id, tags = await a_round(helpdesk, world)
    await browser.size(*PHONE)
    await browser.run(lambda d: d.get(mini_app_url(console_url, 2001)))
    await browser.run(lambda d: until(d).until(ready))
    assert await browser.run(lambda d: outcome(d, "MIC-01")) == "pending"

    # The microphone crackles: a fault, with a note and how bad it is.
    await browser.run(lambda d: d.find_element(By.CSS_SELECTOR, '[data-check="MIC-01"]').click())
    await browser.run(lambda d: until(d).until(lambda d: d.find_elements(By.ID, "dialog-ok")))
    impact_hidden = (
        'return document.querySelector("#dialog select[name=impact]").closest("label").hidden'
    )
    assert await browser.run(lambda d: d.execute_script(impact_hidden)) is True
    await browser.run(lambda d: choose(d, "sound_clear", "fault"))
    await browser.run(lambda d: choose(d, "batteries", "replaced"))
    assert await browser.run(lambda d: d.execute_script(impact_hidden)) is False
    await browser.screenshot(f"inspection-checklist-phone-{backend}")
    await browser.run(
        lambda d: d.find_element(By.CSS_SELECTOR, '#dialog textarea[name="note"]').send_keys(
            "crackles at high volume"
        )
    )
    # Saved without saying how bad: the page says what is missing, nothing is saved.
    await browser.run(lambda d: d.find_element(By.ID, "dialog-ok").click())
    await browser.run(
        lambda d: until(d).until(lambda d: "choose how bad" in text_of(d, "#dialog .error"))
    )
    assert await items(helpdesk) == []
    await browser.run(lambda d: choose(d, "impact", "degraded"))
    await browser.run(lambda d: d.find_element(By.ID, "dialog-ok").click())
    await browser.run(lambda d: until(d).until(lambda d: outcome(d, "MIC-01") == "fault"))
    (saved,) = await items(helpdesk)
    assert saved[:3] == (tags["MIC-01"], "fault", "crackles at high volume")
    ticket_id = saved[3]
    assert ticket_id is not None
    line = await browser.run(lambda d: text_of(d, '[data-asset="MIC-01"]'))
    assert f"#{ticket_id}" in line and "fault" in line
    toast = await browser.run(lambda d: text_of(d, ".toast"))
    assert toast == f"❌ MIC-01 saved with a fault; ticket #{ticket_id} opened."

    # The projector is fine; its lamp hours are typed.
    await browser.run(lambda d: d.find_element(By.CSS_SELECTOR, '[data-check="PJ-01"]').click())
    await browser.run(lambda d: until(d).until(lambda d: d.find_elements(By.ID, "dialog-ok")))
    await browser.run(
        lambda d: d.find_element(By.CSS_SELECTOR, '#dialog input[name="lamp_hours"]').send_keys(
            "1520"
        )
    )
    await browser.run(lambda d: d.find_element(By.ID, "dialog-ok").click())
    await browser.run(lambda d: until(d).until(lambda d: outcome(d, "PJ-01") == "ok"))
    progress = await browser.run(lambda d: text_of(d, f'[data-round="{round_id}"] p'))
    assert "2 of 2 checked" in progress
    stored = {row[0]: row[1] for row in await items(helpdesk)}
    assert stored == {tags["MIC-01"]: "fault", tags["PJ-01"]: "ok"}
    round_view = await helpdesk.inspections.round(round_id)
    assert round_view.items[tags["PJ-01"]].consumables == {
        "lamp_hours": 1520,
        "remote_batteries": "ok",
    }
    await browser.screenshot(f"inspection-phone-{backend}")
    await browser.size(*DESKTOP)
    assert "2 of 2 checked" in await browser.run(
        lambda d: text_of(d, f'[data-round="{round_id}"] p')
    )
    await browser.screenshot(f"inspection-desktop-{backend}")

    # Forged, and another role's, calls from the page are refused and change nothing.
    before = await items(helpdesk)
    path = f"/web/api/inspections/{round_id}/devices/{tags['PJ-01']}"
    fetch = (
        "return fetch(arguments[0], {method: 'POST', headers: {'Content-Type':"
        " 'application/json', 'X-Telegram-Init-Data': arguments[1]}, body:"
        " JSON.stringify({answers: {image: 'fault'}, impact: 'degraded'})}).then(r => r.status)"
    )
    forged = signed(2001, "654321:" + "x" * 30)
    dispatcher = signed(3001, "123456:TEST-token-for-the-web-console-abcdef")
    statuses = [
        await browser.run(lambda d, proof=proof: d.execute_script(fetch, path, proof))
        for proof in (forged, dispatcher)
    ]
    assert statuses == [401, 403]
    assert await items(helpdesk) == before
