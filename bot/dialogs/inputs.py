"""Reading a typed answer in a dialog, and telling the person what was wrong with one."""

from __future__ import annotations

from bot.chat import Kind
from bot.context import Ctx
from bot.errors import error_text
from core.errors import InvalidInput


def typed_text(
    ctx: Ctx, limit: int | None = None, *, missing: str | None = None
) -> tuple[str | None, str]:
    """The typed text of the update (stripped) and "", or None and why it cannot be used.

    Not text (a sticker, a photo, a button) and empty text get `missing` (by default
    "Please type it as text."); text over `limit` characters gets the core's "too long"
    sentence with the limit.
    """
    text = ctx.incoming.text.strip() if ctx.incoming.kind is Kind.TEXT else ""
    if not text:
        return None, missing if missing is not None else ctx._("Please type it as text.")
    if limit is not None and len(text) > limit:
        return None, error_text(ctx.t, InvalidInput("text.too_long", limit=limit))
    return text, ""


def noted(note: str, text: str) -> str:
    """A prompt with what was wrong above it."""
    return f"⚠️ {note}\n\n{text}" if note else text
