"""From an `Incoming` to handlers and dialogs, identically for every runtime.

The router only parses and dispatches; what a handler works with is in `bot.context`.

The router claims the update id (a redelivered update is handled once; an update
taken from its chat's lane comes claimed, `bot.lanes`), finds the
registered person and their language, and hands the update to a button handler, the
person's open dialog, or a command. The person and their dialog state are read once
(`prefetch`; for an update from a lane, inside the transaction that claims it) and the
state is not read again while the update is handled (`ConversationStore.remembering`). Domain errors become translated answers; any other
failure is logged and answered with an apology, and nothing half-done is left behind
because each core call is its own transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from bot.callbacks import Callback
from bot.chat import BotCommand, Incoming, Kind, SetCommands, Transport
from bot.context import BotApp, Ctx, not_registered_text
from bot.dialogs.engine import DIALOG_BUTTON, Dialog, press_dialog_button
from bot.errors import error_text
from bot.i18n import SUPPORTED, I18n
from core.conversations import DialogState, LaneLost, Prefetch, StateKey
from core.enums import Role
from core.errors import DomainError
from core.people import PeopleService, Profile

log = logging.getLogger(__name__)

ALWAYS_ALLOWED = frozenset({"start", "help", "lang", "cancel"})


Handler = Callable[[Ctx], Awaitable[None]]
CallbackHandler = Callable[[Ctx, Callback], Awaitable[None]]
# Tried in order for a private message no command or dialog takes; True: it was handled.
Fallback = Callable[[Ctx], Awaitable[bool]]


@dataclass(frozen=True)
class CommandSpec:
    """A slash command: who may use it and how the menu describes it."""

    name: str
    handler: Handler
    roles: frozenset[Role] | None  # None: anyone, registered or not
    description: str | None  # msgid for the menu; None keeps it out of the menu
    in_groups: bool = False  # also answered in group chats (where nothing personal is said)


@dataclass(frozen=True)
class CallbackSpec:
    """A button action and who may press it."""

    action: str
    handler: CallbackHandler
    roles: frozenset[Role] | None


@dataclass(frozen=True)
class Prefetched:
    """What handling an update needs read first: who sent it and, if wanted, their dialog state.

    Read in one go (inside the transaction that claims the update, when it comes from
    its chat's lane), so the handler does not open a transaction for each.
    """

    profile: Profile | None
    states: dict[StateKey, DialogState | None] = field(default_factory=dict)


@dataclass
class Router:
    """Routes updates to handlers; handler modules register themselves on it."""

    commands: dict[str, CommandSpec] = field(default_factory=dict)
    callbacks: dict[str, CallbackSpec] = field(default_factory=dict)
    dialogs: dict[str, Dialog[Any]] = field(default_factory=dict)
    fallbacks: list[Fallback] = field(default_factory=list)
    # What a group chat gets for a command or button meant for a private chat.
    outside_private: Handler | None = None
    # What a kind of update does outside any dialog (a contact shared: the phone is saved).
    kinds: dict[Kind, Handler] = field(default_factory=dict)

    def fallback(self, handler: Fallback) -> Fallback:
        """Register a handler for registered people's messages that nothing else takes."""
        self.fallbacks.append(handler)
        return handler

    def command(
        self,
        name: str,
        *,
        roles: frozenset[Role] | set[Role] | None = None,
        description: str | None = None,
        in_groups: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Register a /command handler (`in_groups`: answered in group chats too)."""

        def register(handler: Handler) -> Handler:
            if name in self.commands:
                raise ValueError(f"command /{name} registered twice")
            self.commands[name] = CommandSpec(
                name, handler, frozenset(roles) if roles else None, description, in_groups
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

    def add_dialog(self, dialog: Dialog[Any]) -> None:
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

    def wants_state(self, app: BotApp, incoming: Incoming) -> bool:
        """True if handling `incoming` starts by reading the sender's dialog state.

        Typed input in a private chat goes to the open dialog, and so does a dialog's
        button; commands and other buttons may never look at it.
        """
        if not incoming.is_private or incoming.kind is Kind.COMMAND:
            return False
        if incoming.kind is Kind.CALLBACK:
            callback = app.codec.unpack(incoming.callback_data)
            return callback is not None and callback.action == DIALOG_BUTTON
        return True

    def prefetch(self, app: BotApp, connection: Connection, incoming: Incoming) -> Prefetched:
        """Read, on `connection`, the sender's profile and (if wanted) their dialog state."""
        profile = PeopleService.profile_in(connection, incoming.user.id)
        states: dict[StateKey, DialogState | None] = {}
        if self.wants_state(app, incoming):
            key = (incoming.chat_id, incoming.user.id)
            states[key] = app.conversations.load_in(connection, *key)
        return Prefetched(profile, states)

    def prefetcher(self, app: BotApp) -> Prefetch:
        """`prefetch` for a chat lane: reads for a journaled update in the claiming transaction."""

        def read(connection: Connection, payload: dict[str, Any]) -> Prefetched | None:
            try:
                incoming = Incoming.from_json(payload)
            except (KeyError, TypeError, ValueError):
                return None  # the lane skips an unreadable update
            return self.prefetch(app, connection, incoming)

        return read

    async def handle(
        self,
        app: BotApp,
        transport: Transport,
        incoming: Incoming,
        *,
        claimed: bool = False,
        prefetched: Prefetched | None = None,
    ) -> Ctx | None:
        """Handle one update; None when it was a duplicate.

        `claimed`: the caller claimed the update and records it as finished (in the
        transaction that claims the chat's next one). `prefetched`: what `prefetch`
        read for it while claiming it (read here when not given).
        """
        if not claimed and not await app.conversations.claim_update(incoming.update_id):
            log.info("update %s already handled; skipped", incoming.update_id)
            return None
        if prefetched is None:
            async with app.helpdesk.core.reading() as session:
                prefetched = await session.run_sync(
                    lambda sync: self.prefetch(app, sync.connection(), incoming)
                )
        profile = prefetched.profile
        lang = app.i18n.choose(profile.language if profile else None, incoming.user.language_code)
        if profile is not None and profile.language is None:
            # Remember the app's language on first contact, so messages sent later
            # (pages, updates) come in the language the person reads the chat in.
            await app.helpdesk.people.set_language(profile.id, lang)
        ctx = Ctx(app, transport, incoming, profile, app.i18n.get(lang), self.dialogs)
        with app.conversations.remembering(prefetched.states):
            return await self._handle(app, ctx, claimed=claimed)

    async def _handle(self, app: BotApp, ctx: Ctx, *, claimed: bool) -> Ctx:
        incoming = ctx.incoming
        try:
            await self._dispatch(ctx)
        except LaneLost:
            raise  # another instance took the chat over and handles this update again
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
        if not claimed:
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
        if not incoming.is_private:
            await self._in_group(ctx)
            return
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
        if ctx.profile is None:
            await ctx.say(not_registered_text(ctx))
            return
        handler = self.kinds.get(incoming.kind)
        if handler is not None:
            await handler(ctx)
            return
        for fallback in self.fallbacks:
            if await fallback(ctx):
                return
        await ctx.say(ctx._("I did not understand that. Send /help to see what I can do."))

    async def _in_group(self, ctx: Ctx) -> None:
        """In a group only the group's own commands run; personal ones get a private link.

        Whatever a person's commands, buttons and dialogs show (their tickets, an
        engineer's card with phone numbers) must never be posted where others read it.
        """
        incoming = ctx.incoming
        if incoming.kind is Kind.COMMAND:
            spec = self.commands.get(incoming.command)
            if spec is not None and spec.in_groups:
                await self._command(ctx)
                return
        elif incoming.kind is not Kind.CALLBACK:
            return  # chatter in a group is not for the bot
        if self.outside_private is not None:
            await self.outside_private(ctx)

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
            await press_dialog_button(ctx, callback)
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
