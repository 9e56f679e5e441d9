"""Turning outbox rows into chat messages in the recipient's language.

Handler modules register a renderer per message code (`@router.renders("dispatch.new")`);
the sender looks it up when it delivers a row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.chat import Button, InlineKeyboard, SendDocument, SendPhoto
from bot.i18n import Translator
from core.models import Person


@dataclass
class Notice:
    """What to send for one outbox row: the text, then any attachments (a chart, a file).

    Attachments go to the row's chat whatever `chat_id` they were built with
    (`RenderCtx.chat_id` is there to build them with the right one). An empty text with
    attachments sends only the attachments.
    """

    text: str
    keyboard: InlineKeyboard | None = None
    attachments: list[SendPhoto | SendDocument] = field(default_factory=list)


class RenderCtx:
    """What a renderer needs: the row's parameters and the recipient's language and zone."""

    def __init__(
        self,
        app: Any,
        t: Translator,
        recipient: Person | None,
        tz: str,
        params: dict[str, Any],
        chat_id: int | None = None,
    ) -> None:
        self.app = app
        self.t = t
        self.recipient = recipient
        self.tz = tz
        self.params = params
        self.chat_id = chat_id  # where the message goes (a person's chat or a group)

    def _(self, message: str, /, **params: Any) -> str:
        """Translate into the recipient's language."""
        return self.t(message, **params)

    def when(self, moment: datetime | str | None) -> str:
        """A moment (or ISO string) in the recipient's zone and locale; a dash when absent."""
        if moment is None:
            return "—"
        value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        return self.t.moment(value, self.tz)

    def button(self, text: str, action: str, *args: object) -> Button:
        """A signed callback button."""
        return Button(text=text, data=self.app.codec.pack(action, *args))


Renderer = Callable[[RenderCtx], Awaitable[Notice]]
