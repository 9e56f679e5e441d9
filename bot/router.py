"""From an `Incoming` to handlers and dialogs, identically for every runtime.

The router claims the update id (a redelivered update is handled once), finds the
registered person and their language, and hands the update to a button handler, the
person's open dialog, or a command. Domain errors become translated answers; any other
failure is logged and answered with an apology, and nothing half-done is left behind
because each core call is its own transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.callbacks import Callback, CallbackCodec
from bot.chat import (
    MAX_CALLBACK_ANSWER,
    MAX_TEXT,
    Action,
    AnswerCallback,
    BotCommand,
    Button,
    EditMessage,
    Incoming,
    InlineKeyboard,
    Keyboard,
    Kind,
    RetryAfter,
    SendDocument,
    SendMessage,
    SendPhoto,
    Sent,
    SetCommands,
    Transport,
)
from bot.errors import error_text
from bot.i18n import SUPPORTED, I18n, Translator
from bot.notifications import Renderer
from bot.ratelimit import SendLimiter
from core.clock import DEFAULT_TIMEZONE
from core.conversations import ConversationStore, DialogState
from core.enums import Role
from core.errors import DomainError
from core.people import Profile
from core.services import Helpdesk

if TYPE_CHECKING:
    from bot.dialogs.engine import Dialog

log = logging.getLogger(__name__)

DIALOG_BUTTON = "d"  # callback action of buttons inside dialogs
REPLY_PRIORITY = 0  # someone is waiting for a reply: ahead of pages (1) and notices (5)
REPLY_ATTEMPTS = 3
MAX_REPLY_WAIT = 30.0  # seconds; a longer flood fails the reply (the router apologises)
ALWAYS_ALLOWED = frozenset({"start", "help", "lang", "cancel"})


@dataclass
class BotApp:
    """What handlers may use: the core services and the chat infrastructure."""

    helpdesk: Helpdesk
    conversations: ConversationStore
    codec: CallbackCodec
    i18n: I18n
    bot_username: str = "faultdesk_bot"
    admin_telegram_ids: frozenset[int] = frozenset()
    # Shared with the outbox sender, so replies and queued messages keep to one pace.
    limiter: SendLimiter | None = None


class Ctx:
    """One update being handled: who, in which language, and how to answer."""

    def __init__(
        self,
        app: BotApp,
        transport: Transport,
        incoming: Incoming,
        profile: Profile | None,
        t: Translator,
        router: Router | None = None,
    ) -> None:
        self.app = app
        self.router = router
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
        if self.router is None or name not in self.router.dialogs:
            raise LookupError(f"no dialog {name!r} registered")
        await self.router.dialogs[name].start(self, **data)

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


Handler = Callable[[Ctx], Awaitable[None]]
CallbackHandler = Callable[[Ctx, Callback], Awaitable[None]]


@dataclass(frozen=True)
class CommandSpec:
    """A slash command: who may use it and how the menu describes it."""

    name: str
    handler: Handler
    roles: frozenset[Role] | None  # None: anyone, registered or not
    description: str | None  # msgid for the menu; None keeps it out of the menu


@dataclass(frozen=True)
class CallbackSpec:
    """A button action and who may press it."""

    action: str
    handler: CallbackHandler
    roles: frozenset[Role] | None


@dataclass
class Router:
    """Routes updates to handlers; handler modules register themselves on it."""

    commands: dict[str, CommandSpec] = field(default_factory=dict)
    callbacks: dict[str, CallbackSpec] = field(default_factory=dict)
    dialogs: dict[str, Dialog] = field(default_factory=dict)
    renderers: dict[str, Renderer] = field(default_factory=dict)

    def command(
        self,
        name: str,
        *,
        roles: frozenset[Role] | set[Role] | None = None,
        description: str | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register a /command handler."""

        def register(handler: Handler) -> Handler:
            if name in self.commands:
                raise ValueError(f"command /{name} registered twice")
            self.commands[name] = CommandSpec(
                name, handler, frozenset(roles) if roles else None, description
            )
            return handler

        return register

    def callback(
        self, action: str, *, roles: frozenset[Role] | set[Role] | None = None
    ) -> Callable[[CallbackHandler], CallbackHandler]:
        """Register a button handler for callback action `action`."""

        def register(handler: CallbackHandler) -> CallbackHandler:
            if action in self.callbacks or action == DIALOG_BUTTON:
                raise ValueError(f"callback action {action!r} registered twice or reserved")
            self.callbacks[action] = CallbackSpec(
                action, handler, frozenset(roles) if roles else None
            )
            return handler

        return register

    def renders(self, code: str) -> Callable[[Renderer], Renderer]:
        """Register how outbox messages of `code` are shown."""

        def register(renderer: Renderer) -> Renderer:
            if code in self.renderers:
                raise ValueError(f"renderer for {code!r} registered twice")
            self.renderers[code] = renderer
            return renderer

        return register

    def add_dialog(self, dialog: Dialog) -> None:
        """Register a dialog under its name."""
        if dialog.name in self.dialogs:
            raise ValueError(f"dialog {dialog.name!r} registered twice")
        self.dialogs[dialog.name] = dialog

    def menus(self, i18n: I18n) -> list[SetCommands]:
        """The commands menu in every language (and the default, in the default language)."""
        menus = []
        for lang in (None, *SUPPORTED):
            t = i18n.get(lang)
            entries = tuple(
                BotCommand(spec.name, t(spec.description))
                for spec in self.commands.values()
                if spec.description is not None
            )
            menus.append(SetCommands(entries, None if lang is None else lang.split("_")[0]))
        return menus

    async def handle(self, app: BotApp, transport: Transport, incoming: Incoming) -> Ctx | None:
        """Handle one update; None when it was a duplicate."""
        if not await app.conversations.claim_update(incoming.update_id):
            log.info("update %s already handled; skipped", incoming.update_id)
            return None
        profile = await app.helpdesk.people.profile_by_telegram(incoming.user.id)
        lang = app.i18n.choose(profile.language if profile else None, incoming.user.language_code)
        if profile is not None and profile.language is None:
            # Remember the app's language on first contact, so messages sent later
            # (pages, updates) come in the language the person reads the chat in.
            await app.helpdesk.people.set_language(profile.id, lang)
        ctx = Ctx(app, transport, incoming, profile, app.i18n.get(lang), self)
        try:
            await self._dispatch(ctx)
        except DomainError as error:
            text = error_text(ctx.t, error)
            if incoming.kind is Kind.CALLBACK and not ctx.answered:
                await ctx.answer(text, alert=True)
            else:
                await ctx.say(text)
        except Exception:
            log.exception("update %s failed", incoming.update_id)
            await self._apologise(ctx)
        if incoming.kind is Kind.CALLBACK and not ctx.answered:
            await ctx.answer()
        await app.conversations.finish_update(incoming.update_id)
        return ctx

    @staticmethod
    async def _apologise(ctx: Ctx) -> None:
        text = ctx._(
            "Sorry, something went wrong on our side. Nothing you sent was lost; please try again."
        )
        try:
            if ctx.incoming.kind is Kind.CALLBACK and not ctx.answered:
                await ctx.answer(text, alert=True)
            else:
                await ctx.say(text)
        except Exception:  # the apology itself could not be delivered; already logged above
            log.exception("could not apologise for update %s", ctx.incoming.update_id)

    async def _dispatch(self, ctx: Ctx) -> None:
        incoming = ctx.incoming
        if incoming.kind is Kind.CALLBACK:
            await self._button(ctx)
            return
        if incoming.kind is Kind.COMMAND:
            await self._command(ctx)
            return
        state = await ctx.dialog_state()
        if state is not None and state.dialog in self.dialogs:
            await self.dialogs[state.dialog].handle(ctx, state, None)
            return
        if not incoming.is_private:
            return  # chatter in a group is not for the bot
        if ctx.profile is None:
            await ctx.say(not_registered_text(ctx))
            return
        await ctx.say(ctx._("I did not understand that. Send /help to see what I can do."))

    async def _command(self, ctx: Ctx) -> None:
        name = ctx.incoming.command
        spec = self.commands.get(name)
        if ctx.profile is None and name not in ALWAYS_ALLOWED:
            await ctx.say(not_registered_text(ctx))
            return
        if spec is None:
            await ctx.say(
                ctx._("Unknown command /{name}. Send /help to see what I can do.", name=name[:32])
            )
            return
        if spec.roles is not None and name not in ALWAYS_ALLOWED:
            if ctx.profile is None:
                await ctx.say(not_registered_text(ctx))
                return
            if ctx.profile.role not in spec.roles:
                await ctx.say(ctx._("/{name} is not available for your role.", name=name))
                return
        await spec.handler(ctx)

    async def _button(self, ctx: Ctx) -> None:
        callback = ctx.app.codec.unpack(ctx.incoming.callback_data)
        if callback is None:
            await ctx.answer(ctx._("This button is not valid."), alert=True)
            return
        if callback.action == DIALOG_BUTTON:
            await self._dialog_button(ctx, callback)
            return
        spec = self.callbacks.get(callback.action)
        if spec is None:
            await ctx.answer(ctx._("This button is no longer in use."), alert=True)
            return
        if spec.roles is not None:
            if ctx.profile is None:
                await ctx.answer(not_registered_text(ctx), alert=True)
                return
            if ctx.profile.role not in spec.roles:
                await ctx.answer(ctx._("This button is not for you."), alert=True)
                return
        await spec.handler(ctx, callback)

    async def _dialog_button(self, ctx: Ctx, callback: Callback) -> None:
        if len(callback.args) < 3:
            await ctx.answer(ctx._("This button is not valid."), alert=True)
            return
        dialog_name, step, value = callback.args[0], callback.args[1], callback.args[2]
        state = await ctx.dialog_state()
        if (
            state is None
            or state.dialog != dialog_name
            or state.step != step
            or dialog_name not in self.dialogs
        ):
            await ctx.answer(
                ctx._("This button belongs to a step that is already over."), alert=True
            )
            return
        await self.dialogs[dialog_name].handle(ctx, state, value)


def not_registered_text(ctx: Ctx) -> str:
    """What an unregistered user is told."""
    return ctx._(
        "You are not registered yet. Open the invitation link your administrator sent you, then try again."
    )
