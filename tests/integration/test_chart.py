"""The monthly chart in the reader's language: a CJK font found by fontconfig, or English.

The machine's set-up (scripts/setup.sh, scripts/test.sh) installs a CJK font from its
packages; a machine without one is made by pointing fontconfig at an empty
configuration, as a stock server would answer.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.i18n import default_i18n
from bot.rendering import chart
from core.enums import Impact, Role
from core.reports.monthly import monthly_summary

EMPTY_FONTCONFIG = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig></fontconfig>
"""


@pytest.fixture(autouse=True)
def fresh_font_lookup() -> Iterator[None]:
    chart.cjk_font.cache_clear()
    yield
    chart.cjk_font.cache_clear()


async def march_at_a_chinese_site(helpdesk, world, clock):
    site = await helpdesk.people.create_site(code="ZB", name="总部大楼", region="city")
    staff = await helpdesk.people.create_person(
        name="王芳", role=Role.STAFF, site_id=site.id, telegram_user_id=5001, language="zh_CN"
    )
    for symptom in ("打印机卡纸", "投影仪不亮"):
        await helpdesk.tickets.report_fault(
            staff.id, symptom=symptom, impact=Impact.DEGRADED, site_id=site.id
        )
    await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="No network", impact=Impact.DEGRADED, asset_tag=world.asset_tag
    )
    return await monthly_summary(helpdesk.core, "2026-03")


def drawn_texts(figure) -> list:
    from matplotlib.text import Text

    figure.canvas.draw()
    return [text for text in figure.findobj(Text) if text.get_text()]


def missing_glyphs(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


async def test_a_chinese_reader_gets_a_chinese_chart_drawn_with_the_cjk_font(
    helpdesk, world, clock
):
    summary = await march_at_a_chinese_site(helpdesk, world, clock)
    font_file = chart.find_cjk_font_file()
    assert font_file is not None, "the set-up scripts install a CJK font; none is found"
    from matplotlib.font_manager import FontProperties

    family = FontProperties(fname=font_file).get_name()
    t = default_i18n().get("zh_CN")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure = chart.monthly_figure(t, summary)
        texts = drawn_texts(figure)
        png = chart.monthly_chart(t, summary)
    assert missing_glyphs(caught) == []  # no glyph fell back to an empty box
    assert png.startswith(b"\x89PNG")
    labels = [text.get_text() for text in texts]
    assert t("Tickets") in labels and t("Tickets") != "Tickets"  # in Chinese
    assert "总部大楼" in labels  # the site's own name
    for text in texts:
        if chart.needs_cjk([text.get_text()]):
            assert text.get_fontfamily()[0] == family, text.get_text()
    # Counts on integer axes: 0, 1, 2 tickets, never 0.5.
    for axes in figure.axes[:3]:
        ticks = [label.get_text() for label in axes.get_xticklabels() if label.get_text()]
        assert ticks and all(tick.lstrip("−-").isdigit() for tick in ticks), ticks


async def test_without_a_cjk_font_the_chart_is_english_and_says_so_once(
    helpdesk, world, clock, tmp_path: Path, monkeypatch, caplog
):
    summary = await march_at_a_chinese_site(helpdesk, world, clock)
    config = tmp_path / "fonts.conf"
    config.write_text(EMPTY_FONTCONFIG, encoding="utf-8")
    monkeypatch.setenv("FONTCONFIG_FILE", str(config))
    t = default_i18n().get("zh_CN")
    with (
        caplog.at_level(logging.INFO, logger="bot.rendering.chart"),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        texts = drawn_texts(chart.monthly_figure(t, summary))
        chart.monthly_chart(t, summary)  # a second chart: no second log line
    assert missing_glyphs(caught) == []
    said = [
        r.getMessage() for r in caplog.records if "no font with Chinese glyphs" in r.getMessage()
    ]
    assert len(said) == 1
    assert "install fonts-noto-cjk or fonts-wqy-microhei" in said[0]
    labels = [text.get_text() for text in texts]
    assert "Tickets" in labels and "By site" in labels  # English
    assert "ZB" in labels and "总部大楼" not in labels  # the site's code, drawable
    assert not any(chart.needs_cjk([label]) for label in labels)
