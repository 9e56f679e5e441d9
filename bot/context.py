"""What a handler works with: the app's dependencies and the update being handled.

`BotApp` holds what every handler may use (core services, dialog state store, callback
codec, translations, the send limiter shared with the outbox sender). `Ctx` is one
update in flight: who sent it, in which language they read, and how to answer them
(replies go out at once, ahead of queued messages, under Telegram's limits).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.callbacks import CallbackCodec
from bot.chat import (
    MAX_CALLBACK_ANSWER,
    MAX_TEXT,
    Action,
    AnswerCallback,
    Button,
    EditMessage,
    Incoming,
    InlineKeyboard,
    Keyboard,
    RetryAfter,
    SendDocument,
    SendMessage,
    SendPhoto,
    Sent,
    Transport,
)
from bot.i18n import I18n, Translator
from bot.ratelimit import SendLimiter
from bot.screens import ShownMessages
from core.clock import DEFAULT_TIMEZONE
from core.conversations import ConversationStore, DialogState
from core.enums import Role
from core.people import Profile
from core.services import Helpdesk

if TYPE_CHECKING:
    from bot.dialogs.engine import Dialog

log = logging.getLogger(__name__)

REPLY_PRIORITY = 0  # someone is waiting for a reply: ahead of pages (1) and notices (5)
REPLY_ATTEMPTS = 3
MAX_REPLY_WAIT = 30.0  # seconds; a longer flood fails the reply (the router apologises)


@dataclass
class BotApp:
    """What handlers may use: the core services and the chat infrastructure."""

    helpdesk: Helpdesk
    conversations: ConversationStore
    codec: CallbackCodec
    i18n: I18n
    # From Telegram's getMe when the runtime opens (FAULTDESK_BOT_USERNAME before that);
    # never a guess, so no link points at somebody else's bot.
    bot_username: str = ""
    admin_telegram_ids: frozenset[int] = frozenset()
    # Shared with the outbox sender, so replies and queued messages keep to one pace.
    limiter: SendLimiter | None = None
    # The web console's public address ending in /web/ ("" when it is not served).
    web_url: str = ""
    web_login_minutes: float = 10.0  # how long a /web login link works
    # What each message this process edited last shows (see bot.screens).
    shown: ShownMessages = field(default_factory=ShownMessages)


class Ctx:
    """One update being handled: who, in which language, and how to answer."""

    def __init__(
        self,
        app: BotApp,
        transport: Transport,
        incoming: Incoming,
        profile: Profile | None,
        t: Translator,
        dialogs: Mapping[str, Dialog[Any]] | None = None,
    ) -> None:
        self.app = app
        self.dialogs: Mapping[str, Dialog[Any]] = dialogs or {}
        self.transport = transport
        self.incoming = incoming
        self.profile = profile
        self.t = t
        self.answered = False
        self.sent: list[Action] = []

    # --- identity -----------------------------------------------------------------------

    @property
    def person_id(self) -> int:
        """The registered person's id (handlers that reach here require registration)."""
        assert self.profile is not None
        return self.profile.id

    @property
    def role(self) -> Role | None:
        """The person's role, None when unregistered."""
        return self.profile.role if self.profile else None

    @property
    def tz(self) -> str:
        """The reader's time zone."""
        return self.profile.timezone if self.profile else DEFAULT_TIMEZONE

    @property
    def chat_id(self) -> int:
        """Where to answer."""
        return self.incoming.chat_id

    # --- text ---------------------------------------------------------------------------

    def _(self, message: str, /, **params: Any) -> str:
        """Translate into the reader's language."""
        return self.t(message, **params)

    def when(self, moment: Any) -> str:
        """A moment in the reader's time zone and locale."""
        return self.t.moment(moment, self.tz)

    # --- buttons ------------------------------------------------------------------------

    def button(self, text: str, action: str, *args: object) -> Button:
        """A signed callback button (text already translated)."""
        return Button(text=text, data=self.app.codec.pack(action, *args))

    def deep_link(self, payload: str) -> str:
        """A t.me link that opens the bot with /start <payload>."""
        if not self.app.bot_username:
            raise RuntimeError("the bot's username is not known yet (getMe has not answered)")
        return f"https://t.me/{self.app.bot_username}?start={payload}"

    # --- answering ----------------------------------------------------------------------

    async def perform(self, action: Action) -> Sent:
        """Carry out one action now and remember it; a 429 is waited out, not lost."""
        self.sent.append(action)
        chat_id = getattr(action, "chat_id", None)
        limiter = self.app.limiter
        for attempt in range(1, REPLY_ATTEMPTS + 1):
            try:
                if limiter is None or chat_id is None:
                    return await self.transport.perform(action)
                async with limiter.sending(chat_id, REPLY_PRIORITY, paced=False):
                    return await self.transport.perform(action)
            except RetryAfter as error:
                if limiter is not None and chat_id is not None:
                    limiter.flooded(chat_id, error.seconds)
                if attempt == REPLY_ATTEMPTS or error.seconds > MAX_REPLY_WAIT:
                    raise
                log.warning("reply to %s throttled; retrying in %s s", chat_id, error.seconds)
                await asyncio.sleep(error.seconds)
        raise AssertionError("unreachable: the loop returns or raises")

    async def say(
        self, text: str, keyboard: Keyboard | None = None, *, chat_id: int | None = None
    ) -> int | None:
        """Send a message (split into several when over Telegram's 4096 characters)."""
        target = self.chat_id if chat_id is None else chat_id
        chunks = split_text(text)
        sent = Sent(None)
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            sent = await self.perform(SendMessage(target, chunk, keyboard if last else None))
        return sent.message_id

    async def edit(
        self, text: str, keyboard: InlineKeyboard | None = None, *, message_id: int | None = None
    ) -> None:
        """Edit a bot message in place (by default the one whose button was pressed)."""
        target = message_id or self.incoming.message_id
        if target is None:
            await self.say(text, keyboard)
            return
        await self.perform(EditMessage(self.chat_id, target, split_text(text)[0], keyboard))

    async def answer(self, text: str | None = None, *, alert: bool = False) -> None:
        """Answer the pressed button (once); a short notice or an alert box."""
        if self.incoming.callback_id is None or self.answered:
            if text:
                await self.say(text)
            return
        self.answered = True
        if text is not None and len(text) > MAX_CALLBACK_ANSWER:
            await self.perform(AnswerCallback(self.incoming.callback_id))
            await self.say(text)
            return
        await self.perform(AnswerCallback(self.incoming.callback_id, text, alert))

    async def send_photo(
        self, photo: bytes | str, caption: str = "", *, chat_id: int | None = None
    ) -> None:
        """Send a picture."""
        await self.perform(SendPhoto(self.chat_id if chat_id is None else chat_id, photo, caption))

    async def send_document(
        self, data: bytes, filename: str, caption: str = "", *, chat_id: int | None = None
    ) -> None:
        """Send a file."""
        await self.perform(
            SendDocument(self.chat_id if chat_id is None else chat_id, data, filename, caption)
        )

    # --- dialogs ------------------------------------------------------------------------

    async def start_dialog(self, name: str, **data: Any) -> None:
        """Open a registered dialog for this person."""
        if name not in self.dialogs:
            raise LookupError(f"no dialog {name!r} registered")
        await self.dialogs[name].start(self, **data)

    async def dialog_state(self) -> DialogState | None:
        """The person's open dialog here, if any."""
        return await self.app.conversations.load(self.chat_id, self.incoming.user.id)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut a long text at line breaks into pieces Telegram accepts."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces


def not_registered_text(ctx: Ctx) -> str:
    """What an unregistered user is told: how to get in, and their id for the administrator."""
    return ctx._(
        "You are not registered yet. Ask your administrator for an invitation link and open it; "
        "then try again.\nYour Telegram id is <code>{id}</code> (an administrator may ask for it).",
        id=ctx.incoming.user.id,
    )
