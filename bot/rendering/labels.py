"""QR sticker labels for devices: A4 sheets of self-adhesive labels, as a PDF.

Each sticker carries a QR code of the device's deep link
(`https://t.me/<bot>?start=asset_<TAG>`, see `core.asset_tags`), the tag, the device type
and where the device is, in Chinese and English, and one line saying what scanning does.
Scanning opens the bot with a fault report for that very device.

fpdf2 draws the PDF (pure Python; it embeds and subsets OpenType CJK fonts, so the file
is small and its text can be searched and copied); segno makes the QR code, drawn as
vector squares so it stays sharp at any printer resolution. Layouts and fonts are in
`bot.rendering.label_sheets`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import segno
from fpdf import FPDF

from bot.i18n import N_, Translator
from bot.labels import ASSET_KIND, label
from bot.rendering.label_sheets import FontFile, SheetLayout
from core.enums import AssetKind

PADDING: Final = 2.0  # mm inside each sticker's edge
FONT_FAMILY: Final = "cjk"
# What a person reads under the code; both languages on every sticker.
SCAN_LINE: Final = N_("Scan to report a fault with this device")


@dataclass(frozen=True)
class Sticker:
    """What one sticker says."""

    url: str
    tag: str
    kind: AssetKind
    place: str  # department and location, as registered
    site: str  # the site's name


class _Labels(FPDF):
    """An A4 document without automatic page breaks: stickers are placed by hand."""

    def __init__(self, font: FontFile) -> None:
        super().__init__(unit="mm", format="A4")
        self.set_auto_page_break(False)
        self.set_margins(0, 0, 0)
        self.c_margin = 0
        try:
            self.add_font(FONT_FAMILY, fname=str(font.path), collection_font_number=font.face)
        except Exception as error:  # fpdf2/fontTools raise many kinds for a bad font file
            raise ValueError(str(error)) from error
        self.set_title("faultdesk device stickers")
        self.set_creator("faultdesk")

    def fitted(self, text: str, width: float, size: float, smallest: float) -> tuple[str, float]:
        """The text at the largest size (down to `smallest`) that fits; cut with … if need be."""
        current = size
        while current > smallest:
            self.set_font(FONT_FAMILY, size=current)
            if self.get_string_width(text) <= width:
                return text, current
            current -= 0.5
        self.set_font(FONT_FAMILY, size=smallest)
        if self.get_string_width(text) <= width:
            return text, smallest
        while text and self.get_string_width(text + "…") > width:
            text = text[:-1]
        return text + "…", smallest

    def write_line(
        self, text: str, x: float, y: float, width: float, size: float, smallest: float
    ) -> float:
        """Write one fitted line with its top at `y`; the y below it."""
        fitted, used = self.fitted(text, width, size, smallest)
        self.set_font(FONT_FAMILY, size=used)
        height = used * 0.3528 * 1.25  # points to mm, with line spacing
        self.set_xy(x, y)
        self.cell(w=width, h=height, text=fitted)
        return y + height


def _qr(pdf: FPDF, url: str, x: float, y: float, side: float) -> None:
    """Draw the QR code of `url` as filled squares in a `side` mm square (quiet zone included)."""
    code = segno.make_qr(url, error="m", boost_error=True)
    border = 2  # modules of quiet zone inside the square; the sticker's padding adds more
    modules = len(code.matrix) + 2 * border
    size = side / modules
    pdf.set_fill_color(0, 0, 0)
    for row_index, row in enumerate(code.matrix):
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            run = column
            while run < len(row) and row[run]:
                run += 1
            pdf.rect(
                x + (border + column) * size,
                y + (border + row_index) * size,
                (run - column) * size,
                size,
                style="F",
            )
            column = run


def render_labels(
    stickers: Sequence[Sticker],
    layout: SheetLayout,
    font: FontFile,
    *,
    chinese: Translator,
    english: Translator,
    skip: int = 0,
) -> bytes:
    """The PDF: stickers placed row by row from position `skip` of the first sheet."""
    pdf = _Labels(font)
    scan = (chinese(SCAN_LINE), english(SCAN_LINE))
    for number, sticker in enumerate(stickers, start=skip):
        if number % layout.per_sheet == 0 or number == skip:
            pdf.add_page()
        left, top = layout.position(number)
        side = min(layout.height - 2 * PADDING, layout.width * 0.45)
        _qr(pdf, sticker.url, left + PADDING, top + (layout.height - side) / 2, side)
        x = left + PADDING + side + PADDING
        width = layout.width - (x - left) - PADDING
        scale = min(1.6, layout.height / 37.0)
        y = top + PADDING
        y = pdf.write_line(sticker.tag, x, y, width, 12 * scale, 6)
        kind = (
            f"{label(chinese, ASSET_KIND, sticker.kind)} {label(english, ASSET_KIND, sticker.kind)}"
        )
        y = pdf.write_line(kind, x, y + 0.6, width, 7.5 * scale, 5)
        for text in (sticker.place, sticker.site):
            if text:
                y = pdf.write_line(text, x, y, width, 7 * scale, 5)
        bottom = top + layout.height - PADDING
        size = 5.5 * scale
        height = size * 0.3528 * 1.25
        for index, text in enumerate(scan):
            pdf.write_line(text, x, bottom - (2 - index) * height, width, size, 4)
    buffer = io.BytesIO()
    pdf.output(buffer)
    return buffer.getvalue()
