"""The monthly chart (PNG): tickets by service type, level and site, and the four KPIs.

Charts are drawn with matplotlib's Agg backend (no display) on a Figure object, never
pyplot's global state, so renders in worker threads do not interfere. A chart is drawn
in the reader's language, which for a Chinese reader needs a font with Chinese glyphs:
it is found the way the rest of the system finds fonts, by fontconfig (`fc-list
:lang=zh-cn` for the fonts that cover Chinese, `fc-match` for the best of them), and
handed to matplotlib by its file, so a font installed after matplotlib built its own
font cache is found too. `scripts/setup.sh` installs one from the machine's packages
where missing. Without one, the log says so once, and a Chinese reader's chart is
labelled in English, with site codes for site names it could not draw (the message
and the workbook stay in Chinese). Counts are on integer axes.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from bot.i18n import Translator, default_i18n
from bot.labels import SEVERITY, label
from bot.rendering.wording import category_label, monthly_caption, plain
from core.reports.monthly import MonthlySummary, SiteLine

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

LATIN_FAMILY: Final = "DejaVu Sans"  # matplotlib's own, always there
FONTCONFIG_TIMEOUT: Final = 10.0


def _fontconfig(*args: str) -> str:
    """Run a fontconfig tool; its output, or "" when it is missing or fails."""
    tool = shutil.which(args[0])
    if tool is None:
        return ""
    try:
        done = subprocess.run(
            [tool, *args[1:]],
            capture_output=True,
            text=True,
            timeout=FONTCONFIG_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


def find_cjk_font_file() -> str | None:
    """The file of fontconfig's best font for Simplified Chinese, if any covers it."""
    listed = _fontconfig("fc-list", "--format=%{file}\n", ":lang=zh-cn")
    covering = {line.strip() for line in listed.splitlines() if line.strip()}
    if not covering:
        return None
    best = _fontconfig("fc-match", "--format=%{file}", "sans-serif:lang=zh-cn").strip()
    # fc-match always answers with something; only a font that covers Chinese will do.
    return best if best in covering else sorted(covering)[0]


@cache
def cjk_font() -> str | None:
    """The family name matplotlib knows the CJK font by, registered from its file; None
    (logged once) when the machine has none."""
    path = find_cjk_font_file()
    if path is None:
        log.warning(
            "no font with Chinese glyphs found by fontconfig (fc-list :lang=zh-cn): charts for"
            " Chinese readers are drawn in English; install fonts-noto-cjk or fonts-wqy-microhei"
        )
        return None
    from matplotlib import font_manager

    font_manager.fontManager.addfont(path)
    family = str(font_manager.FontProperties(fname=path).get_name())
    log.info("charts use the font %s (%s) for Chinese", family, path)
    return family


def needs_cjk(texts: Iterable[str]) -> bool:
    """Any CJK character among the texts."""
    return any(ord(char) >= 0x2E80 for text in texts for char in text)


def chart_translator(t: Translator) -> Translator:
    """The reader's translator, or English when their script has no installed font."""
    if cjk_font() is None and needs_cjk([t("On-time arrival"), t("Tickets")]):
        return default_i18n().get("en")
    return t


def site_label(line: SiteLine) -> str:
    """A site's name, or its code when the name needs a font the machine lacks."""
    if needs_cjk([line.name]) and cjk_font() is None:
        return line.code
    return line.name


def chart_families() -> list[str]:
    """The font families text is drawn with, first choice first (fallback per glyph)."""
    return [family for family in (cjk_font(), LATIN_FAMILY) if family]


def monthly_chart(t: Translator, summary: MonthlySummary) -> bytes:
    """A PNG: tickets by service type, level and site, and the KPIs against their targets."""
    buffer = io.BytesIO()
    monthly_figure(t, summary).savefig(buffer, format="png")
    return buffer.getvalue()


def monthly_figure(t: Translator, summary: MonthlySummary) -> Figure:
    """The chart as a matplotlib Figure (what `monthly_chart` saves as PNG)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    t = chart_translator(t)
    families = chart_families()
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
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 2.5 tickets
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
        [site_label(line) for line in top_sites],
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
    return figure
