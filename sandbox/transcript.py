"""Chat transcripts: bot messages and keyboards rendered as readable lines."""

from __future__ import annotations

from sandbox.json_types import JsonDict
from sandbox.keyboards import inline_keyboard_of
from sandbox.state import SentMessage


def render_keyboard(markup: JsonDict | None) -> list[str]:
    """Keyboard rows as transcript lines: inline '[A] [B]', reply keyboard '⌨ [A] [B]'."""
    if not isinstance(markup, dict):
        return []
    lines = [
        "   " + " ".join(f"[{button.get('text', '')}]" for button in row)
        for row in inline_keyboard_of(markup)
    ]
    rows = markup.get("keyboard")
    if isinstance(rows, list):
        for row in rows:
            labels = [f"[{b.get('text', '')}]" for b in row if isinstance(b, dict)]
            lines.append("   ⌨ " + " ".join(labels))
    if markup.get("remove_keyboard"):
        lines.append("   ⌨ (keyboard removed)")
    return lines


def indent_continuation(text: str) -> str:
    """Continuation lines of a multi-line message are indented under the speaker."""
    return text.replace("\n", "\n   ")


def render_bot_message(message: SentMessage, *, edited: bool = False) -> str:
    """A bot message as transcript lines."""
    head = "✏️ bot (edited):" if edited else "🤖 bot:"
    body = message.text
    if message.kind == "photo":
        body = f"[photo] {body}".rstrip()
    elif message.kind == "document":
        body = f"[document {message.file_name or ''}] {body}".rstrip()
    elif message.kind in {"location", "venue"}:
        where = message.raw.get("location") or {}
        pin = f"[{message.kind} {where.get('latitude')}, {where.get('longitude')}]"
        body = f"{pin} {body}".rstrip()
    if message.raw.get("media_group_id"):
        body = f"[album] {body}"
    return "\n".join(
        [f"{head} {indent_continuation(body)}", *render_keyboard(message.reply_markup)]
    )
