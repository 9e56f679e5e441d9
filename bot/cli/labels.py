"""`faultdesk asset labels`: QR sticker labels for the registered devices, as a PDF.

faultdesk asset labels --site HQ --out labels.pdf
faultdesk asset labels --tags PC-0001,PJ-01 --layout l7160 --out labels.pdf
faultdesk asset labels --layout "cols=2,rows=6,width=90,height=45" --out labels.pdf
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from bot.cli.helpdesk import DatabaseOption, run_helpdesk
from bot.cli.speech import fail, say, words
from bot.cli.telegram import bot_username, deep_link
from bot.i18n import N_, default_i18n
from bot.rendering.label_sheets import (
    DEFAULT_LAYOUT,
    LAYOUTS,
    FontFile,
    find_cjk_font,
    font_face,
    parse_layout,
)
from core.asset_tags import sticker_payload
from core.assets import AssetView
from core.services import Helpdesk

FONT_VARIABLE = "FAULTDESK_LABEL_FONT"


def _font(given: str | None) -> FontFile:
    """The font named (--font, FAULTDESK_LABEL_FONT) or a CJK font of the machine."""
    chosen = given or os.environ.get(FONT_VARIABLE)
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            fail(N_("The font file {file} does not exist."), file=chosen)
        try:
            return font_face(path)
        except ValueError as error:
            fail(
                N_("{file} is not a font file that can be used ({problem})."),
                file=chosen,
                problem=str(error),
            )
    found = find_cjk_font()
    if found is None:
        fail(
            N_(
                "No Chinese font was found on this machine: install one (apt-get install fonts-noto-cjk) or name a .ttf/.otf/.ttc file with --font."
            )
        )
    return found


def _place(view: AssetView) -> str:
    return " · ".join(part for part in (view.department, view.location) if part)


def labels_command(
    out: Path = typer.Option(..., "--out", help="The PDF to write, e.g. labels.pdf"),
    site: str | None = typer.Option(None, "--site", help="One site's devices (default: all)"),
    tags: str | None = typer.Option(
        None, "--tags", help="Only these devices: comma-separated tags"
    ),
    layout: str = typer.Option(
        DEFAULT_LAYOUT,
        "--layout",
        help=f"{', '.join(LAYOUTS)} or cols=3,rows=8,width=70,height=37[,top,left,hgap,vgap] (mm)",
    ),
    skip: int = typer.Option(0, "--skip", min=0, help="Stickers already used on the first sheet"),
    bot: str | None = typer.Option(
        None,
        "--bot-username",
        help="The bot's @username (default: FAULTDESK_BOT_USERNAME, or asked from Telegram with the token)",
    ),
    font: str | None = typer.Option(
        None, "--font", help=f"A CJK font file (default: {FONT_VARIABLE} or the machine's)"
    ),
    database_url: str | None = DatabaseOption,
) -> None:
    """A4 sheets of QR sticker labels: scanning one reports a fault with that device."""
    from bot.rendering.labels import Sticker, render_labels  # fpdf2 only when labels are made

    try:
        sheet = parse_layout(layout)
    except ValueError as error:
        fail(
            N_(
                "{layout} is not a label layout ({problem}); use {choices} or cols=3,rows=8,width=70,height=37 in millimetres."
            ),
            layout=layout,
            problem=str(error),
            choices=list(LAYOUTS),
        )
    if skip >= sheet.per_sheet:
        fail(N_("--skip must be less than the {n} stickers of a sheet."), n=sheet.per_sheet)
    wanted = [tag for tag in (tags or "").replace("，", ",").split(",") if tag.strip()] or None
    font_file = _font(font)
    username = bot_username(bot)

    async def work(helpdesk: Helpdesk) -> list[AssetView]:
        return await helpdesk.assets.views(site=site, tags=wanted)

    views = run_helpdesk(database_url, work)
    if not views:
        fail(N_("There are no devices to make stickers for; import the register first."))
    stickers = [
        Sticker(
            url=deep_link(username, sticker_payload(view.tag)),
            tag=view.tag,
            kind=view.kind,
            place=_place(view),
            site=view.site_name,
        )
        for view in views
    ]
    i18n = default_i18n()
    try:
        data = render_labels(
            stickers, sheet, font_file, chinese=i18n.get("zh_CN"), english=i18n.get("en"), skip=skip
        )
    except ValueError as error:
        fail(
            N_("The font {file} cannot be used ({problem}); name another with --font."),
            file=str(font_file.path),
            problem=str(error),
        )
    out.write_bytes(data)
    pages = (skip + len(stickers) + sheet.per_sheet - 1) // sheet.per_sheet
    say(
        N_("{stickers} on {pages} written to {file} (layout {layout})."),
        stickers=words().plural("{n} sticker", "{n} stickers", len(stickers)),
        pages=words().plural("{n} page", "{n} pages", pages),
        file=str(out),
        layout=sheet.name,
    )


def register(asset_app: typer.Typer) -> None:
    """Add `labels` to the `asset` commands."""
    asset_app.command("labels")(labels_command)
