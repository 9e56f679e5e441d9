"""A real browser for the web console: headless Chromium from the machine's Debian packages,
driven by Selenium through Debian's chromedriver (scripts/test.sh installs both when
missing). Screenshots go to build/test-artefacts/web/ (git-ignored, like the suite's
other artefacts)."""

from __future__ import annotations

import asyncio
import io
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from bot.i18n import I18n
from bot.web.server import WebConfig, WebConsole, WebServer

ARTEFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artefacts" / "web"
TOKEN = "123456:TEST-token-for-the-web-console-abcdef"
BOT_USERNAME = "faultdesk_test_bot"
PHONE = (360, 780)
DESKTOP = (1280, 820)

T = TypeVar("T")


def chromium_paths() -> tuple[str, str]:
    """Debian's chromium and chromedriver; a clear failure when they are missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
    )
    if not browser or not driver:
        pytest.fail(
            "the browser tests need Debian's chromium and chromium-driver packages:"
            " scripts/test.sh installs them (apt-get install chromium chromium-driver)"
        )
    return browser, driver


class Browser:
    """One headless Chromium window; every call runs in a thread so the server keeps serving."""

    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver

    async def run(self, work: Callable[[webdriver.Chrome], T]) -> T:
        """Do something with the driver off the event loop."""
        return await asyncio.to_thread(work, self.driver)

    async def size(self, width: int, height: int) -> None:
        """Resize the window (the page's layout follows its width)."""
        await self.run(lambda d: d.set_window_size(width, height))

    async def screenshot(self, name: str) -> Path:
        """Keep a screenshot of the whole page as a test artefact."""
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTEFACTS / f"{name}.png"

        def shoot(driver: webdriver.Chrome) -> None:
            width = driver.get_window_size()["width"]
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(width, min(max(int(height) + 140, 600), 4000))
            driver.save_screenshot(str(path))

        await self.run(shoot)
        return path


@pytest.fixture
def browser() -> Iterator[Browser]:
    binary, driver_path = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",  # the test may run as root in a container
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield Browser(driver)
    finally:
        driver.quit()


def picture(colour: tuple[int, int, int]) -> bytes:
    """A small JPEG, as Telegram stores the photos people send."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (160, 120), colour).save(out, format="JPEG")
    return out.getvalue()


# What the sandbox's Telegram would return for the photos the tests attach.
PHOTOS: dict[str, bytes] = {
    "photo-red": picture((200, 40, 40)),
    "photo-blue": picture((40, 80, 200)),
}


async def telegram_photo(file_id: str) -> bytes:
    """The running bot's download, by file id."""
    return PHOTOS[file_id]


@pytest.fixture
async def console_url(helpdesk: Any) -> AsyncIterator[str]:
    """The console served by the same server class the bot runs, on a free port."""
    config = WebConfig(bot_token=TOKEN, username=lambda: BOT_USERNAME, download=telegram_photo)
    console = WebConsole(helpdesk, I18n(default="en"), config)
    server = WebServer(console, "127.0.0.1:0")
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.port}/web/"
    finally:
        await server.stop()
