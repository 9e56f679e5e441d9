"""Label sheets for device stickers: where the stickers sit on A4, and the font they use.

Layouts are the common A4 sheets by name, or a custom one
(`cols=3,rows=8,width=70,height=37[,top=..,left=..,hgap=..,vgap=..]`, millimetres). The
font is a CJK font of the machine (Debian's fonts-noto-cjk, else fonts-wqy-microhei;
`scripts/fonts.sh` installs one) or a file the admin names. The PDF itself is drawn by
`bot.rendering.labels`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

A4_WIDTH: Final = 210.0  # mm
A4_HEIGHT: Final = 297.0


@dataclass(frozen=True)
class SheetLayout:
    """Where the stickers sit on an A4 sheet (millimetres)."""

    name: str
    columns: int
    rows: int
    width: float  # one sticker
    height: float
    top: float  # the first sticker's top edge from the page's
    left: float
    h_gap: float = 0.0  # between stickers side by side
    v_gap: float = 0.0  # between rows

    @property
    def per_sheet(self) -> int:
        """Stickers on one sheet."""
        return self.columns * self.rows

    def position(self, index: int) -> tuple[float, float]:
        """The top-left corner of sticker `index` on its sheet (row by row)."""
        row, column = divmod(index % self.per_sheet, self.columns)
        return (
            self.left + column * (self.width + self.h_gap),
            self.top + row * (self.height + self.v_gap),
        )

    def check(self) -> None:
        """ValueError when the stickers do not fit on A4."""
        if self.columns < 1 or self.rows < 1 or self.width < 25 or self.height < 15:
            raise ValueError("at least 1x1 stickers of 25 x 15 mm")
        right = self.left + self.columns * self.width + (self.columns - 1) * self.h_gap
        bottom = self.top + self.rows * self.height + (self.rows - 1) * self.v_gap
        if self.left < 0 or self.top < 0 or right > A4_WIDTH + 0.01 or bottom > A4_HEIGHT + 0.01:
            raise ValueError("the stickers do not fit on an A4 page (210 x 297 mm)")


LAYOUTS: Final[dict[str, SheetLayout]] = {
    # The everyday A4 sheet of 24 (3 x 8, 70 x 37 mm, no margins) sold by every office shop.
    "a4-24": SheetLayout("a4-24", 3, 8, 70.0, 37.0, top=0.5, left=0.0),
    # Avery L7160 / J8160: 21 per sheet, 63.5 x 38.1 mm.
    "l7160": SheetLayout("l7160", 3, 7, 63.5, 38.1, top=15.15, left=7.25, h_gap=2.54),
    # Avery L7163 / J8163: 14 per sheet, 99.1 x 38.1 mm.
    "l7163": SheetLayout("l7163", 2, 7, 99.1, 38.1, top=15.15, left=4.65, h_gap=2.5),
    # 10 per sheet, 105 x 57 mm: big stickers for printers and projectors.
    "a4-10": SheetLayout("a4-10", 2, 5, 105.0, 57.0, top=6.0, left=0.0),
}
DEFAULT_LAYOUT: Final = "a4-24"
_CUSTOM_KEYS: Final = ("cols", "rows", "width", "height", "top", "left", "hgap", "vgap")


def parse_layout(text: str) -> SheetLayout:
    """A layout by name, or `cols=3,rows=8,width=70,height=37[,top,left,hgap,vgap]` in mm.

    A custom layout without top or left is centred on the page. ValueError says what is
    wrong.
    """
    if text in LAYOUTS:
        return LAYOUTS[text]
    values: dict[str, float] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in _CUSTOM_KEYS:
            raise ValueError(f"{part.strip()!r}")
        try:
            values[key] = float(value)
        except ValueError:
            raise ValueError(f"{part.strip()!r}") from None
    missing = [key for key in ("cols", "rows", "width", "height") if key not in values]
    if missing:
        raise ValueError(", ".join(missing))
    columns, rows = int(values["cols"]), int(values["rows"])
    h_gap, v_gap = values.get("hgap", 0.0), values.get("vgap", 0.0)
    width, height = values["width"], values["height"]
    used_width = columns * width + (columns - 1) * h_gap
    used_height = rows * height + (rows - 1) * v_gap
    layout = SheetLayout(
        "custom",
        columns,
        rows,
        width,
        height,
        top=values.get("top", (A4_HEIGHT - used_height) / 2),
        left=values.get("left", (A4_WIDTH - used_width) / 2),
        h_gap=h_gap,
        v_gap=v_gap,
    )
    layout.check()
    return layout


@dataclass(frozen=True)
class FontFile:
    """A font file and, in a collection (.ttc), the face to use."""

    path: Path
    face: int = 0


# Where Debian (fonts-wqy-microhei, fonts-noto-cjk) and other distributions put CJK fonts.
# WenQuanYi Micro Hei first: TrueType outlines, which every PDF reader and text extractor
# handles (scripts/fonts.sh installs it); Noto's CFF outlines are the fallback.
FONT_CANDIDATES: Final = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc"),
)


def font_face(path: Path) -> FontFile:
    """The font at `path`; in a collection, the Simplified Chinese face when there is one.

    ValueError when the file is not a font.
    """
    if path.suffix.lower() not in (".ttc", ".otc"):
        return FontFile(path)
    from fontTools.ttLib import TTCollection, TTLibError  # only for font collections

    try:
        collection = TTCollection(str(path), lazy=True)
    except (TTLibError, OSError, AssertionError) as error:
        raise ValueError(str(error)) from error
    names = [str(font["name"].getDebugName(1) or "") for font in collection.fonts]
    for index, name in enumerate(names):
        if name.endswith(" SC") and "Mono" not in name:
            return FontFile(path, index)
    return FontFile(path, 0)


def find_cjk_font() -> FontFile | None:
    """A CJK font installed on this machine, or None."""
    for candidate in FONT_CANDIDATES:
        if candidate.is_file():
            return font_face(candidate)
    return None
