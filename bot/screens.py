"""Screens: a message's text with its buttons, and editing a message only when it changes.

Telegram refuses an edit that changes nothing ("message is not modified"), and a
callback does not tell us what its message shows now. So every button of a screen
carries a short fingerprint of that screen, and this process remembers the
fingerprint of each message it last edited (`ShownMessages`, one per app): a refresh
edits only when the new screen differs from what the message shows. Without a memory
entry (the message was sent through the outbox, or another instance edited it) the
pressed button's fingerprint is the best knowledge, and exact except for two presses
racing across instances.
"""

from __future__ import annotations

import base64
import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.chat import Button, InlineKeyboard

if TYPE_CHECKING:
    from bot.context import Ctx

PER_ROW = 2


@dataclass(frozen=True)
class ButtonSpec:
    """A button before signing: label, callback action and arguments."""

    text: str
    action: str
    args: tuple[object, ...]


@dataclass(frozen=True)
class AppLink:
    """A button opening the web console (a Mini App) at an https address; private chats only."""

    text: str
    url: str


@dataclass(frozen=True)
class Screen:
    """A message's text and button rows; buttons carry the screen's fingerprint."""

    text: str
    rows: tuple[tuple[ButtonSpec, ...], ...] = ()
    app: AppLink | None = None  # shown as the last row

    def fingerprint(self) -> str:
        """Six characters that change whenever the text or a button changes."""
        shown = (self.text, self.rows) if self.app is None else (self.text, self.rows, self.app)
        body = repr(shown).encode("utf-8")
        digest = hashlib.blake2b(body, digest_size=4).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def keyboard(self, make: Callable[..., Button]) -> InlineKeyboard | None:
        """Signed buttons, each with the fingerprint as last argument, then the app's."""
        if not self.rows and self.app is None:
            return None
        fp = self.fingerprint()
        rows = [[make(spec.text, spec.action, *spec.args, fp) for spec in row] for row in self.rows]
        if self.app is not None:
            rows.append([Button(text=self.app.text, web_app=self.app.url)])
        return InlineKeyboard.of(*rows)


def rows_of(
    specs: Sequence[ButtonSpec], per_row: int = PER_ROW
) -> tuple[tuple[ButtonSpec, ...], ...]:
    """Lay buttons out `per_row` to a row."""
    return tuple(tuple(specs[i : i + per_row]) for i in range(0, len(specs), per_row))


class ShownMessages:
    """The fingerprint each message got from this process's last edit (bounded)."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._fps: OrderedDict[tuple[int, int], str] = OrderedDict()

    def get(self, chat_id: int, message_id: int) -> str | None:
        """The remembered fingerprint, if any."""
        return self._fps.get((chat_id, message_id))

    def put(self, chat_id: int, message_id: int, fp: str) -> None:
        """Remember what a message shows now."""
        key = (chat_id, message_id)
        self._fps[key] = fp
        self._fps.move_to_end(key)
        while len(self._fps) > self._size:
            self._fps.popitem(last=False)


async def show_screen(ctx: Ctx, screen: Screen, *, message_id: int | None, assumed_fp: str) -> None:
    """Edit a message to `screen`, unless it already shows exactly that."""
    if message_id is None:
        await send_screen(ctx, screen)
        return
    fp = screen.fingerprint()
    memory = ctx.app.shown
    if (memory.get(ctx.chat_id, message_id) or assumed_fp) == fp:
        return
    await ctx.edit(screen.text, screen.keyboard(ctx.button), message_id=message_id)
    memory.put(ctx.chat_id, message_id, fp)


async def send_screen(ctx: Ctx, screen: Screen) -> int | None:
    """Send `screen` as a new message and remember what it shows."""
    message_id = await ctx.say(screen.text, screen.keyboard(ctx.button))
    if message_id is not None:
        ctx.app.shown.put(ctx.chat_id, message_id, screen.fingerprint())
    return message_id
