"""Setting up for real, through the real bot over HTTP, on aiogram and python-telegram-bot.

The command line makes the sticker labels; the PDF is rendered to an image and every QR
code on it is decoded with a real decoder (zxing-cpp) and opened on a simulated phone:
the report starts with that device. Invitations for many people are made in the chat,
strangers learn their Telegram id, and a sticker scanned before registering leads to
its report after the invitation is opened.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from command_line import ROOT, faultdesk
from sqlalchemy import select

from core.asset_tags import normalize_tag, sticker_payload
from core.enums import Role
from core.migrate import upgrade
from core.models import Invite

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:.*`retry_after`.*:telegram.warnings.PTBDeprecationWarning"),
]

TOKEN = "123456789:AAE2eTokenForFaultdeskRuntimes-0123"  # the e2e emulator's bot
ARTEFACTS = ROOT / "build" / "test-artefacts"
# Tags as offices write them: a space, slashes, dots, Chinese, and a plain one.
TAGS = ["PC 0001", "HQ/3F/PRN-2", "PJ.501", "财务部-台式机-01", "PC-0002"]
REGISTER = (
    "资产编号,设备类型,营业所,具体位置,机器品牌,机器型号\n"
    "PC 0001,台式电脑,HQ,301室,联想,M720\n"
    "HQ/3F/PRN-2,打印机,HQ,3F corridor,HP,M404dn\n"
    "PJ.501,投影仪,HQ,Meeting room 501,Epson,CB-2247U\n"
    "财务部-台式机-01,台式电脑,HQ,财务部,Dell,OptiPlex 7090\n"
    "PC-0002,laptop,HQ,302室,Lenovo,X1\n"
)


async def cli(*args: str, **kwargs):
    return await asyncio.to_thread(faultdesk, *args, **kwargs)


def decode_pages(pdf: Path) -> tuple[list[str], list[str], list]:
    """The QR codes on every page (zxing-cpp), the text of every page (PDFium), the images."""
    document = pdfium.PdfDocument(pdf)
    codes: list[str] = []
    texts: list[str] = []
    images = []
    for page in document:
        image = page.render(scale=300 / 72).to_pil()
        images.append(image)
        codes += [found.text for found in zxingcpp.read_barcodes(image)]
        texts.append(page.get_textpage().get_text_range())
    document.close()
    return codes, texts, images


async def test_sticker_labels_decode_to_links_that_open_the_report_for_their_device(
    bot, alice, emulator, tmp_path
):
    register = tmp_path / "register.csv"
    register.write_text(REGISTER, encoding="utf-8")
    imported = await cli("asset", "import", str(register), "--database-url", bot.database_url)
    assert imported.code == 0, imported.output
    pdf = tmp_path / "labels.pdf"
    made = await cli(
        "asset",
        "labels",
        "--site",
        "HQ",
        "--out",
        str(pdf),
        "--database-url",
        bot.database_url,
        env={"FAULTDESK_BOT_TOKEN": TOKEN, "FAULTDESK_API_BASE_URL": emulator.base_url},
    )
    assert made.code == 0, made.output
    assert "5 stickers on 1 page written" in made.stdout

    codes, texts, images = decode_pages(pdf)
    expected = {
        f"https://t.me/faultdesk_bot?start={sticker_payload(normalize_tag(tag))}" for tag in TAGS
    }
    assert sorted(codes) == sorted(expected)  # every sticker's code, each once
    page = texts[0]
    for tag in TAGS:
        assert tag in page
    for words in ("台式电脑 Desktop PC", "打印机 Printer", "投影仪 Projector", "Meeting room 501"):
        assert words in page
    assert page.count("扫码报修此设备") == 5
    assert page.count("Scan to report a fault with this device") == 5
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    images[0].save(ARTEFACTS / f"labels-page-1-{bot.runtime}.png")

    for link in sorted(codes):
        await alice.open_link(link)
        tag = next(t for t in TAGS if sticker_payload(normalize_tag(t)) in link)
        opened = await alice.wait_for("What is wrong?")
        device = opened.text.splitlines()[0]
        assert device.startswith("Device: ") and f" · {normalize_tag(tag)} · " in device, device
        await alice.send("/cancel")
        await alice.wait_for("Cancelled.")


async def test_one_invitation_made_in_the_chat_registers_a_whole_department(bot, emulator):
    await bot.register(3001, "Admin Ma", role=Role.ADMIN, language="en")
    await bot.running.helpdesk.people.create_department(site_id=bot.site_id, name="Finance")
    admin = emulator.person(user_id=3001, first_name="Ma", language_code="en")
    await admin.send("/invite")
    await admin.wait_for("Which role?")
    await admin.press("Staff")
    await admin.wait_for("Which site?")
    await admin.press("Head office")
    await admin.wait_for("Which department?")
    await admin.press("Finance")
    asked = await admin.wait_for("For how many people?")
    assert asked.button_labels() == [
        "1 person",
        "10 people",
        "50 people",
        "100 people",
        "500 people",
    ]
    await admin.press("50 people")
    asked = await admin.wait_for("Valid for how long?")
    assert asked.button_labels() == ["1 day", "7 days", "14 days", "30 days", "90 days"]
    await admin.press("30 days")
    made = await admin.wait_for("Invitation: staff at Head office, Finance")
    assert "Valid until Apr 1 09:00, for up to 50 people." in made.text
    link = re.search(r"https://t\.me/faultdesk_bot\?start=inv_[A-Za-z0-9_-]+", made.text)
    assert link is not None
    for number in range(3):
        colleague = emulator.person(
            user_id=7000 + number, first_name=f"Colleague{number}", language_code="en"
        )
        await colleague.open_link(link.group(0))
        await colleague.wait_for("You are registered as staff.")
    async with bot.running.core.reading() as session:
        invite = await session.scalar(select(Invite))
    assert (invite.uses, invite.max_uses) == (3, 50)
    for number in range(3):
        profile = await bot.running.helpdesk.people.profile_by_telegram(7000 + number)
        assert profile is not None and profile.role is Role.STAFF
        assert profile.department_id is not None


async def test_a_stranger_learns_their_id_and_a_scanned_sticker_waits_for_registration(
    bot, alice, emulator
):
    await bot.register_device("PC-0001")
    stranger = emulator.person(user_id=987654321, first_name="Sun", language_code="en")
    await stranger.send("hello")
    told = await stranger.wait_for("You are not registered yet.")
    assert "Your Telegram id is 987654321" in told.text

    await stranger.open_link("https://t.me/faultdesk_bot?start=asset_PC-0001")
    await stranger.wait_for("You scanned a device sticker.")
    await stranger.wait_for("Your Telegram id is 987654321")
    invite = await bot.running.helpdesk.people.create_invite(role=Role.STAFF, site_id=bot.site_id)
    await stranger.open_link(f"https://t.me/faultdesk_bot?start=inv_{invite.code}")
    await stranger.wait_for("Welcome, Sun! You are registered as staff.")
    report = await stranger.wait_for("What is wrong?")
    assert "Device: Desktop PC · PC-0001 · Room 301" in report.text
    await stranger.send("The screen stays black")
    await stranger.wait_for("A photo helps the engineer.")


async def test_a_link_to_another_bot_or_with_a_payload_telegram_refuses_is_not_opened(alice):
    with pytest.raises(ValueError, match="not this bot"):
        await alice.open_link("https://t.me/someone_elses_bot?start=asset_PC-0001")
    with pytest.raises(ValueError, match="would not pass on"):
        await alice.open_link("https://t.me/faultdesk_bot?start=asset_PC 0001")


async def test_the_bot_upgrades_an_older_database_on_start_and_says_so(
    deployment, emulator, tmp_path, caplog
):
    older = tmp_path / "older.sqlite3"
    await asyncio.to_thread(upgrade, f"sqlite:///{older}", "0002")
    deployment.database_url = f"sqlite:///{older}"
    with caplog.at_level(logging.INFO, logger="bot.app"):
        await deployment.start()
        upgraded = [r.getMessage() for r in caplog.records if "schema" in r.getMessage()]
        assert upgraded and upgraded[0].startswith(
            "database schema upgraded from revision 0002 to "
        )
        # The upgraded bot serves before it is restarted, as an operator would see it.
        stranger = emulator.person(user_id=555, first_name="Zhou", language_code="en")
        await stranger.send("hello")
        await stranger.wait_for("You are not registered yet.")
        caplog.clear()
        await deployment.restart()
        again = [r.getMessage() for r in caplog.records if "schema" in r.getMessage()]
        assert again and again[0].startswith("database schema up to date (revision ")


async def test_the_links_the_bot_makes_name_the_bot_telegram_says_it_is(deployment, emulator):
    # Not the old default "faultdesk_bot": the username getMe answers for this token.
    other = "987654321:AAOtherBotTokenForTheSameEmulator-01"
    emulator.register_bot(other, username="hq_desk_bot", first_name="HQ desk")
    deployment.overrides["bot_token"] = other
    await deployment.start()
    await deployment.register(3001, "Admin Ma", role=Role.ADMIN, language="en")
    admin = emulator.person(user_id=3001, first_name="Ma", language_code="en", bot=other)
    await admin.send("/invite")
    await admin.wait_for("Which role?")
    for choice, question in (
        ("Engineer", "Which site?"),
        ("Head office", "Which department?"),
        ("No department", "For how many people?"),
        ("1 person", "Valid for how long?"),
    ):
        await admin.press(choice)
        await admin.wait_for(question)  # the next button is there once its question is
    await admin.press("7 days")
    made = await admin.wait_for("Invitation: engineer at Head office")
    assert "https://t.me/hq_desk_bot?start=inv_" in made.text
