"""One renderer per message class, and what a renderer gets to work with.

A renderer turns one `core.messages.Message` into a `Notice` (text, buttons,
attachments) in the recipient's language and time zone. It renders from what the
message carries; the only live reads it may make are the few a message cannot carry
(`LiveLookups`: who could take a ticket now). Renderers are registered by class with
`@renders(SomeMessage)`; `bot.notifications` imports every audience's module so the
registry is complete once the package is imported.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from bot.callbacks import CallbackCodec
from bot.chat import Attachment, Button, InlineKeyboard
from bot.i18n import Translator
from core.messages import Message
from core.models import Person
from core.reports.details import KpiDetails
from core.service_sheets import ServiceSheetView

M = TypeVar("M", bound=Message)


@dataclass
class Notice:
    """What to send for one outbox row: the text, then any attachments (a chart, a file).

    Attachments go to the row's chat whatever `chat_id` they were built with
    (`RenderCtx.chat_id` is there to build them with the right one). An empty text with
    attachments sends only the attachments.
    """

    text: str
    keyboard: InlineKeyboard | None = None
    attachments: list[Attachment] = field(default_factory=list)


class LiveLookups(Protocol):
    """What a renderer may read now because no message could carry it."""

    async def engineers_for(self, ticket_id: int) -> list[Person]:
        """The engineers a dispatcher may choose for a ticket at this moment."""
        ...

    async def kpi_details(
        self, start: datetime, end: datetime, *, site_id: int | None, as_of: datetime
    ) -> KpiDetails:
        """The tickets behind a period's KPIs (a report's detail sheets)."""
        ...

    async def service_sheets(
        self, start: datetime, end: datetime, *, site_id: int | None
    ) -> list[ServiceSheetView]:
        """The service sheets of the tickets resolved in a period (the month's sheets PDF)."""
        ...


class RenderCtx:
    """The recipient's language, zone and chat, the time of sending, and signed buttons."""

    def __init__(
        self,
        t: Translator,
        recipient: Person | None,
        tz: str,
        *,
        codec: CallbackCodec,
        now: datetime,
        lookups: LiveLookups,
        chat_id: int | None = None,
        web_url: str = "",
    ) -> None:
        self.t = t
        self.recipient = recipient
        self.tz = tz
        self.codec = codec
        self.now = now
        self.lookups = lookups
        self.chat_id = chat_id  # where the message goes (a person's chat or a group)
        self.web_url = web_url  # the console's public address ("" when not served)

    def _(self, message: str, /, **params: Any) -> str:
        """Translate into the recipient's language."""
        return self.t(message, **params)

    def when(self, moment: datetime | None) -> str:
        """A moment in the recipient's zone and locale; a dash when absent."""
        if moment is None:
            return "—"
        return self.t.moment(moment, self.tz)

    def button(self, text: str, action: str, *args: object) -> Button:
        """A signed callback button."""
        return Button(text=text, data=self.codec.pack(action, *args))


Renderer = Callable[[Any, RenderCtx], Awaitable[Notice]]
RENDERERS: dict[type[Message], Renderer] = {}


def renders(cls: type[M]) -> Callable[[Callable[[M, RenderCtx], Awaitable[Notice]]], Renderer]:
    """Register the renderer of one message class (once)."""

    def register(renderer: Callable[[M, RenderCtx], Awaitable[Notice]]) -> Renderer:
        if cls in RENDERERS:
            raise ValueError(f"a renderer for {cls.__name__} is registered already")
        RENDERERS[cls] = renderer
        return renderer

    return register


async def render(message: Message, r: RenderCtx) -> Notice:
    """The notice for `message`; LookupError when its class has no renderer."""
    renderer = RENDERERS.get(type(message))
    if renderer is None:
        raise LookupError(f"no renderer for {type(message).__name__} ({message.kind})")
    return await renderer(message, r)
