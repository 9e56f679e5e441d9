"""The monthly chart (PNG): tickets by service type, level and site, and the four KPIs.

Charts are drawn with matplotlib's Agg backend (no display) on a Figure object, never
pyplot's global state, so renders in worker threads do not interfere. A chart needs a
font with the reader's script: when the machine has no CJK font, a Chinese reader's
chart is labelled in English (the message and the workbook stay in Chinese).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from bot.i18n import Translator, default_i18n
from bot.labels import SEVERITY, label
from bot.rendering.wording import category_label, monthly_caption, plain
from core.reports.monthly import MonthlySummary

CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "AR PL UMing CN",
)


def cjk_font() -> str | None:
    """The name of an installed font with Chinese glyphs, if any."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


def needs_cjk(texts: Iterable[str]) -> bool:
    """Any CJK character among the texts."""
    return any(ord(char) >= 0x2E80 for text in texts for char in text)


def chart_translator(t: Translator) -> Translator:
    """The reader's translator, or English when their script has no installed font."""
    if cjk_font() is None and needs_cjk([t("On-time arrival"), t("Tickets")]):
        return default_i18n().get("en")
    return t


def monthly_chart(t: Translator, summary: MonthlySummary) -> bytes:
    """A PNG: tickets by service type, level and site, and the KPIs against their targets."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t = chart_translator(t)
    families = [family for family in (cjk_font(), "DejaVu Sans") if family]
    figure = Figure(figsize=(11, 8), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(
        plain(monthly_caption(t, summary)), fontsize=14, fontweight="bold", family=families
    )
    (types, levels), (sites, kpis) = figure.subplots(2, 2)

    def bars(axes: Any, title: str, labels: Sequence[str], values: Sequence[int]) -> None:
        axes.set_title(title, family=families)
        if not values or not any(values):
            axes.text(0.5, 0.5, "—", ha="center", va="center", transform=axes.transAxes)
            axes.set_axis_off()
            return
        positions = list(range(len(values)))
        drawn = axes.barh(positions, values, color="#4C72B0")
        axes.set_yticks(positions, labels=labels, family=families)
        axes.invert_yaxis()
        axes.bar_label(drawn, padding=3)
        axes.set_xlabel(t("Tickets"), family=families)
        axes.margins(x=0.15)

    category_items = list(summary.by_category.items())
    bars(
        types,
        t("By service type"),
        [category_label(t, code) for code, _ in category_items],
        [n for _, n in category_items],
    )
    severity_items = list(summary.by_severity.items())
    bars(
        levels,
        t("By level"),
        [label(t, SEVERITY, level) for level, _ in severity_items],
        [n for _, n in severity_items],
    )
    top_sites = sorted(summary.sites, key=lambda line: -line.tickets)[:12]
    bars(
        sites,
        t("By site"),
        [line.name for line in top_sites],
        [line.tickets for line in top_sites],
    )

    report = summary.kpis
    rows = [
        (t("On-time arrival"), report.arrival, 0.90),
        (t("On-site fix"), report.fix, 0.95),
        (t("Rated 3-5"), report.satisfaction, 0.90),
        (t("Repeat repairs"), report.repeat, 0.15),
    ]
    kpis.set_title(t("Service levels (dashed: target or limit)"), family=families)
    positions = list(range(len(rows)))
    values = [(rate.as_float() or 0.0) * 100 for _, rate, _ in rows]
    colours = []
    for index, (_, rate, target) in enumerate(rows):
        value = rate.as_float()
        ok = value is None or (value <= target if index == 3 else value >= target)
        colours.append("#55A868" if ok else "#C44E52")
    kpis.barh(positions, values, color=colours)
    for position, (_, _, target) in zip(positions, rows, strict=True):
        kpis.vlines(target * 100, position - 0.4, position + 0.4, colors="black", linestyles="--")
    kpis.set_yticks(
        positions,
        labels=[f"{name}\n{t.percent(rate.as_float())}" for name, rate, _ in rows],
        family=families,
    )
    kpis.invert_yaxis()
    kpis.set_xlim(0, 100)
    kpis.set_xlabel("%")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
