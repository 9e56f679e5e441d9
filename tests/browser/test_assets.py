"""The asset register in a real browser: the list with its search and flags, a device's
page, an administrator's edit, the QR labels PDF downloaded for a selection, and who is
kept out; each on a phone-sized and a desktop-sized window, asserted on the page and in
the database."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from pypdf import PdfReader
from selenium.common.exceptions import (
    ElementNotInteractableException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import func, select

from core.assets import AssetRecord
from core.enums import AssetKind, Impact, Role
from core.models import Asset, AuditEvent
from tests.browser.conftest import DESKTOP, PHONE, Browser
from tests.browser.test_console import fresh_page, mini_app_url, ready, text_of, until
from tests.integration.test_web_assets import inspected, second_site

ADMIN = 5001


async def office(helpdesk, world, clock) -> tuple[int, int]:
    """A projector beside the PC, two faults on the PC ten days apart, one inspection."""
    await helpdesk.assets.register(
        AssetRecord(tag="PJ-0002", kind=AssetKind.PROJECTOR, site_code="HQ", location="Room 5")
    )
    await helpdesk.assets.edit(
        "PC-0001", {"warranty_until": clock.now().date() + timedelta(days=90)}
    )
    first = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="Will not boot", impact=Impact.DEGRADED, asset_tag="PC-0001"
    )
    clock.advance(timedelta(days=10))
    second = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="Boots then freezes", impact=Impact.DEGRADED, asset_tag="PC-0001"
    )
    await inspected(helpdesk, world, clock)
    await second_site(helpdesk)
    return first.id, second.id


def tags_listed(driver: WebDriver) -> list[str]:
    return [
        str(node.get_attribute("data-asset"))
        for node in driver.find_elements(By.CSS_SELECTOR, "#assets li")
    ]


async def test_the_register_lists_searches_and_downloads_labels_for_a_selection(
    helpdesk, world, clock, browser: Browser, console_url: str, backend: str, tmp_path: Path
):
    await office(helpdesk, world, clock)
    await browser.run(
        lambda d: d.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)}
        )
    )
    url = mini_app_url(f"{console_url}?view=assets", 3001)
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        await browser.size(*size)
        await browser.run(fresh_page)
        await browser.run(lambda d: d.get(url))
        await browser.run(lambda d: until(d).until(ready))
        assert await browser.run(lambda d: text_of(d, "#title")) == "Asset register"
        # The HQ dispatcher sees HQ's devices only; the branch's printer is not listed.
        assert await browser.run(tags_listed) == ["PC-0001", "PJ-0002"]
        pc = await browser.run(lambda d: text_of(d, 'li[data-asset="PC-0001"]'))
        assert "repeat failure within 30 days" in pc and "Repairs: 2" in pc
        assert "Lenovo M720" in pc and "Room 301" in pc
        assert "repeat failure" not in await browser.run(
            lambda d: text_of(d, 'li[data-asset="PJ-0002"]')
        )
        overflow = await browser.run(
            lambda d: d.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
        )
        assert overflow <= 0
        await browser.screenshot(f"assets-{name}-{backend}")

    def search(driver: WebDriver) -> None:
        box = driver.find_element(By.ID, "asset-q")
        box.send_keys("room 5\n")
        until(driver).until(lambda d: tags_listed(d) == ["PJ-0002"])

    await browser.run(search)

    def pick_and_download(driver: WebDriver) -> None:
        click(driver, 'li[data-asset="PJ-0002"] input.pick')
        until(driver).until(empty_search)
        until(driver).until(lambda d: len(tags_listed(d)) == 2)
        click(driver, 'li[data-asset="PC-0001"] input.pick')
        until(driver).until(lambda d: "2 selected" in text_of(d, "#labels"))
        click(driver, "#labels")
        until(driver).until(lambda _d: (tmp_path / "faultdesk-labels.pdf").is_file())

    await browser.run(pick_and_download)
    pdf = tmp_path / "faultdesk-labels.pdf"
    await browser.run(lambda _d: until(_d).until(lambda _: pdf.stat().st_size > 1000))
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "PC-0001" in text and "PJ-0002" in text and "PR-0900" not in text


async def test_a_devices_page_shows_repairs_repeats_warranty_and_inspections(
    helpdesk, world, clock, browser: Browser, console_url: str, backend: str
):
    first, second = await office(helpdesk, world, clock)
    url = mini_app_url(f"{console_url}?asset=PC-0001", 4001)  # the manager
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        await browser.size(*size)
        await browser.run(fresh_page)
        await browser.run(lambda d: d.get(url))
        await browser.run(lambda d: until(d).until(ready))
        assert await browser.run(lambda d: text_of(d, "#title")) == "PC-0001"
        fields = await browser.run(lambda d: text_of(d, "#fields"))
        assert "Head office" in fields and "Room 301" in fields and "Lenovo" in fields
        assert (await browser.run(lambda d: text_of(d, "#warranty"))).startswith("valid until")
        # The heading says "Warranty" and its value does not say it again.
        assert fields.lower().count("warranty") == 1
        repairs = await browser.run(
            lambda d: [
                str(li.get_attribute("data-ticket"))
                for li in d.find_elements(By.CSS_SELECTOR, "#repairs li")
            ]
        )
        assert repairs == [str(second), str(first)]
        assert f"repeats #{first}" in await browser.run(
            lambda d: text_of(d, f'#repairs li[data-ticket="{second}"]')
        )
        inspections = await browser.run(lambda d: text_of(d, "#inspections"))
        assert "Desktop health check 2026-H1" in inspections and "fault" in inspections
        assert "fan noisy" in inspections
        # A manager reads the register but does not edit it.
        assert await browser.run(lambda d: d.find_elements(By.ID, "edit")) == []
        assert "null" not in await browser.run(lambda d: text_of(d, "#main"))
        await browser.screenshot(f"asset-{name}-{backend}")


async def test_an_administrator_edits_a_device_and_others_are_kept_out(
    helpdesk, world, clock, browser: Browser, console_url: str, backend: str
):
    await office(helpdesk, world, clock)
    await helpdesk.people.create_person(
        name="Sun Mei", role=Role.ADMIN, site_id=None, telegram_user_id=ADMIN, language="en"
    )
    await browser.size(*DESKTOP)
    await browser.run(lambda d: d.get(mini_app_url(f"{console_url}?asset=PC-0001", ADMIN)))
    await browser.run(lambda d: until(d).until(ready))

    def edit(driver: WebDriver) -> None:
        driver.find_element(By.ID, "edit").click()
        field = driver.find_element(By.CSS_SELECTOR, '#dialog input[name="location"]')
        field.clear()
        field.send_keys("Room 305")
        driver.find_element(By.ID, "dialog-ok").click()
        until(driver).until(lambda d: text_of(d, 'dd[data-field="location"]') == "Room 305")

    await browser.run(edit)
    await browser.screenshot(f"asset-edited-desktop-{backend}")
    async with helpdesk.core.reading() as session:
        asset = await session.scalar(select(Asset).where(Asset.tag == "PC-0001"))
        edits = await session.scalar(
            select(func.count()).where(AuditEvent.action == "asset.edited")
        )
    assert asset is not None and asset.location == "Room 305"
    assert edits == 2  # the warranty set by the seed, then this edit

    # The branch's printer is out of the HQ dispatcher's reach; staff have no register;
    # a forged signature is turned away. None of them changes anything.
    cases = [
        (mini_app_url(f"{console_url}?asset=PR-0900", 3001), "No device with the tag PR-0900"),
        (mini_app_url(f"{console_url}?view=assets", 1001), "This screen is for dispatchers"),
        (
            mini_app_url(f"{console_url}?asset=PC-0001", ADMIN, token="654321:" + "x" * 30),
            "Open the console again",
        ),
    ]
    for url, expected in cases:
        await browser.run(fresh_page)
        await browser.run(lambda d, url=url: d.get(url))
        await browser.run(
            lambda d, expected=expected: until(d).until(lambda d: expected in text_of(d, "#main"))
        )
        assert await browser.run(lambda d: d.find_elements(By.ID, "edit")) == []
    async with helpdesk.core.reading() as session:
        assert (
            await session.scalar(select(func.count()).where(AuditEvent.action == "asset.edited"))
            == 2
        )


def click(driver: WebDriver, selector: str) -> None:
    """Click `selector` once the page lets a person do it (the list may be redrawn meanwhile)."""

    def clicked(d: WebDriver) -> bool:
        try:
            d.find_element(By.CSS_SELECTOR, selector).click()
        except (ElementNotInteractableException, StaleElementReferenceException):
            return False
        return True

    until(driver).until(clicked)


def empty_search(driver: WebDriver) -> bool:
    """Empty the search box as a person does (select all, delete, Enter); False if redrawn."""
    try:
        box = driver.find_element(By.ID, "asset-q")
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.DELETE, "\n")
    except (ElementNotInteractableException, StaleElementReferenceException):
        return False
    return True
