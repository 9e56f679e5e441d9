"""The python-telegram-bot 22 adapter: an Application with one TypeHandler that queues updates.

We drive the Application's lifecycle ourselves (initialize, start, updater.start_polling;
updater.stop, stop, shutdown) instead of `run_polling`, because the event loop, the
signals and the other background tasks (due-work runner, outbox sender) belong to
`bot.app.Application`. No ConversationHandler or JobQueue: state and timers live in
the database.
"""

from __future__ import annotations

import logging
import os
import warnings
from datetime import timedelta
from typing import Any

# Opt in to PTB 23's timedelta durations now (PTB_TIMEDELTA is PTB's documented switch):
# PTB 22 otherwise warns inside its own RetryAfter on every 429. retry_seconds() below
# reads either form.
os.environ.setdefault("PTB_TIMEDELTA", "1")

import telegram
import telegram.error
from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    KeyboardButton,
    MenuButtonDefault,
    MenuButtonWebApp,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
    WebAppInfo,
)
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot import chat
from bot.runtimes import (
    ApiUnreachable,
    Runtime,
    RuntimeConfig,
    StartupError,
    TokenRejected,
    UpdateHandler,
)
from bot.runtimes.convert import (
    ALLOWED_UPDATES,
    MessageFields,
    callback_incoming,
    is_not_modified,
    means_chat_gone,
    message_incoming,
)

log = logging.getLogger(__name__)

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


# --- updates -----------------------------------------------------------------------------


def chat_user(user: User) -> chat.ChatUser:
    """PTB User -> ChatUser."""
    return chat.ChatUser(
        id=user.id,
        first_name=user.first_name,
        last_name=user.last_name or "",
        username=user.username,
        language_code=user.language_code,
    )


def to_incoming(update: Update, bot_username: str) -> chat.Incoming | None:
    """PTB Update -> Incoming; None for updates the bot ignores (edits, channel posts...)."""
    if update.message is not None:
        return _message(update.update_id, update.message, bot_username)
    if update.callback_query is not None:
        return _callback(update.update_id, update.callback_query)
    return None


def _message(update_id: int, message: Message, bot_username: str) -> chat.Incoming | None:
    if message.from_user is None:  # sent on behalf of a channel or anonymous admin
        return None
    contact, location = message.contact, message.location
    return message_incoming(
        MessageFields(
            update_id=update_id,
            user=chat_user(message.from_user),
            chat_id=message.chat.id,
            chat_type=str(message.chat.type),
            message_id=message.message_id,
            text=message.text,
            caption=message.caption,
            # Telegram lists the sizes of a photo smallest first.
            photo_file_id=message.photo[-1].file_id if message.photo else None,
            contact_phone=contact.phone_number if contact else None,
            contact_user_id=contact.user_id if contact else None,
            latitude=location.latitude if location else None,
            longitude=location.longitude if location else None,
            has_document=message.document is not None,
            media_group_id=message.media_group_id,
            reply_to_message_id=(
                message.reply_to_message.message_id if message.reply_to_message else None
            ),
            forwarded=message.forward_origin is not None,
        ),
        bot_username,
    )


def _callback(update_id: int, query: CallbackQuery) -> chat.Incoming:
    message = query.message  # a Message, or an InaccessibleMessage when it is too old
    return callback_incoming(
        update_id=update_id,
        user=chat_user(query.from_user),
        callback_id=query.id,
        data=query.data,
        chat_id=message.chat.id if message is not None else None,
        chat_type=str(message.chat.type) if message is not None else None,
        message_id=message.message_id if message is not None else None,
    )


# --- sending -----------------------------------------------------------------------------


def markup(keyboard: chat.Keyboard | None) -> Markup | None:
    """Neutral keyboard -> PTB reply markup."""
    if keyboard is None:
        return None
    if isinstance(keyboard, chat.InlineKeyboard):
        return inline_markup(keyboard)
    if isinstance(keyboard, chat.ReplyKeyboard):
        rows = [[KeyboardButton(label) for label in row] for row in keyboard.rows]
        if keyboard.request_contact is not None:
            rows.append([KeyboardButton(keyboard.request_contact, request_contact=True)])
        if keyboard.request_location is not None:
            rows.append([KeyboardButton(keyboard.request_location, request_location=True)])
        return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=keyboard.one_time)
    return ReplyKeyboardRemove()


def inline_markup(keyboard: chat.InlineKeyboard | None) -> InlineKeyboardMarkup | None:
    """Neutral inline keyboard -> PTB InlineKeyboardMarkup."""
    if keyboard is None:
        return None
    return InlineKeyboardMarkup(
        [[inline_button(button) for button in row] for row in keyboard.rows]
    )


def inline_button(button: chat.Button) -> InlineKeyboardButton:
    """Neutral inline button -> PTB's (a URL, a Mini App or callback data)."""
    if button.url is not None:
        return InlineKeyboardButton(button.text, url=button.url)
    if button.web_app is not None:
        return InlineKeyboardButton(button.text, web_app=WebAppInfo(button.web_app))
    return InlineKeyboardButton(button.text, callback_data=button.data)


def retry_seconds(error: telegram.error.RetryAfter) -> float:
    """The wait Telegram asked for, whichever type PTB_TIMEDELTA makes PTB report."""
    with warnings.catch_warnings():
        # PTB 22 warns that the int form is deprecated; both forms are handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def transport_error(error: telegram.error.TelegramError) -> chat.TransportError:
    """PTB's exception -> the neutral TransportError the sender and router understand."""
    if isinstance(error, telegram.error.RetryAfter):
        return chat.RetryAfter(retry_seconds(error))
    if isinstance(error, telegram.error.Forbidden):
        return chat.Unreachable(error.message)
    if isinstance(error, telegram.error.BadRequest):  # a subclass of NetworkError: first
        if means_chat_gone(error.message):
            return chat.Unreachable(error.message)
        return chat.BadRequest(error.message)
    if isinstance(error, telegram.error.NetworkError):  # also TimedOut, 5xx, odd 4xx
        return chat.NetworkError(error.message)
    # InvalidToken, EndPointNotFound, Conflict, ChatMigrated: not worth retrying soon.
    return chat.BadRequest(error.message)


class PtbTransport:
    """Carries out neutral actions with a PTB Bot."""

    def __init__(self, bot: telegram.Bot) -> None:
        self.bot = bot

    async def perform(self, action: chat.Action) -> chat.Sent:
        """Do one action; TransportError subclasses on failure."""
        try:
            return await self._perform(action)
        except telegram.error.BadRequest as error:
            if isinstance(action, chat.EditMessage) and is_not_modified(error.message):
                log.debug("edit of message %s changed nothing", action.message_id)
                return chat.Sent(action.message_id)
            raise transport_error(error) from error
        except telegram.error.TelegramError as error:
            raise transport_error(error) from error

    async def _perform(self, action: chat.Action) -> chat.Sent:
        bot = self.bot
        if isinstance(action, chat.SendMessage):
            sent = await bot.send_message(
                action.chat_id,
                action.text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup(action.keyboard),
            )
            return chat.Sent(sent.message_id)
        if isinstance(action, chat.EditMessage):
            edited = await bot.edit_message_text(
                action.text,
                chat_id=action.chat_id,
                message_id=action.message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=inline_markup(action.keyboard),
            )
            return chat.Sent(
                edited.message_id if isinstance(edited, Message) else action.message_id
            )
        if isinstance(action, chat.AnswerCallback):
            await bot.answer_callback_query(
                action.callback_id, text=action.text, show_alert=action.alert or None
            )
            return chat.Sent(None)
        if isinstance(action, chat.SendPhoto):
            photo = (
                InputFile(action.photo, filename=action.filename)
                if isinstance(action.photo, bytes)
                else action.photo
            )
            sent = await bot.send_photo(
                action.chat_id,
                photo,
                caption=action.caption or None,
                parse_mode=ParseMode.HTML if action.caption else None,
            )
            return chat.Sent(sent.message_id)
        if isinstance(action, chat.SendMediaGroup):
            album = await bot.send_media_group(
                action.chat_id,
                [
                    InputMediaPhoto(
                        photo,
                        caption=(action.caption or None) if index == 0 else None,
                        parse_mode=ParseMode.HTML if index == 0 and action.caption else None,
                    )
                    for index, photo in enumerate(action.photos)
                ],
            )
            return chat.Sent(album[0].message_id if album else None)
        if isinstance(action, chat.SendLocation):
            sent = await bot.send_location(
                action.chat_id, latitude=action.latitude, longitude=action.longitude
            )
            return chat.Sent(sent.message_id)
        if isinstance(action, chat.SendVenue):
            sent = await bot.send_venue(
                action.chat_id,
                latitude=action.latitude,
                longitude=action.longitude,
                title=action.title,
                address=action.address,
            )
            return chat.Sent(sent.message_id)
        if isinstance(action, chat.SendDocument):
            sent = await bot.send_document(
                action.chat_id,
                InputFile(action.document, filename=action.filename),
                caption=action.caption or None,
                parse_mode=ParseMode.HTML if action.caption else None,
            )
            return chat.Sent(sent.message_id)
        if isinstance(action, chat.SetMenuButton):
            button: MenuButtonWebApp | MenuButtonDefault = (
                MenuButtonDefault()
                if action.url is None
                else MenuButtonWebApp(action.text or "", WebAppInfo(action.url))
            )
            await bot.set_chat_menu_button(chat_id=action.chat_id, menu_button=button)
            return chat.Sent(None)
        await bot.set_my_commands(
            [BotCommand(c.command, c.description) for c in action.commands],
            language_code=action.language_code,
        )
        return chat.Sent(None)


# --- receiving ---------------------------------------------------------------------------


class PtbRuntime(Runtime):
    """python-telegram-bot: Updater long polling, or Application.process_update for webhooks."""

    name = "ptb"

    def __init__(self, config: RuntimeConfig, handle: UpdateHandler) -> None:
        super().__init__(config, handle)
        self._application: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._transport: PtbTransport | None = None

    def _request(self, *, pool: int) -> HTTPXRequest:
        """An HTTP client with exactly our proxy decision: httpx would otherwise also read
        the proxy environment variables by itself, and disagree with `FAULTDESK_PROXY=direct`."""
        return HTTPXRequest(
            connection_pool_size=pool,
            proxy=self.config.proxy,
            httpx_kwargs={"trust_env": False},
        )

    def _build(self, *, polling: bool) -> Application[Any, Any, Any, Any, Any, Any]:
        builder = (
            ApplicationBuilder()
            .token(self.config.token)
            .job_queue(None)
            # PTB's own defaults: a pool for sends, one connection for getUpdates.
            .request(self._request(pool=256))
            .get_updates_request(self._request(pool=1))
        )
        if self.config.api_base_url:
            api = self.config.api_base_url.rstrip("/")
            builder = builder.base_url(f"{api}/bot").base_file_url(f"{api}/file/bot")
        if not polling:
            builder = builder.updater(None)
        application = builder.build()
        # Updates are queued by the handler in a blink; PTB's sequential processing keeps
        # their order, and UpdateLanes gives the concurrency.
        application.add_handler(TypeHandler(Update, self._on_update))
        return application

    @property
    def application(self) -> Application[Any, Any, Any, Any, Any, Any]:
        """The PTB Application (built when polling or the webhook starts)."""
        if self._application is None:
            raise RuntimeError("the PTB runtime is not open")
        return self._application

    @property
    def transport(self) -> PtbTransport:
        """Sends through this runtime's Bot."""
        if self._transport is None:
            raise RuntimeError("the PTB runtime is not open")
        return self._transport

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """The catch-all handler: convert, journal and queue; handling happens in the chat's lane."""
        incoming = to_incoming(update, self.username)
        if incoming is not None:
            await self.receive(incoming)

    async def open(self, *, polling: bool) -> None:
        """Build the Application (with an Updater only for polling) and call getMe.

        May be called again after ApiUnreachable: the Application is built once.
        """
        if self._application is None:
            self._application = self._build(polling=polling)
        application = self._application
        try:
            await application.initialize()
        except telegram.error.InvalidToken as error:
            # PTB's message repeats the token; ours does not.
            raise TokenRejected("Telegram refused the bot token (401 Unauthorized)") from error
        except (telegram.error.NetworkError, telegram.error.RetryAfter) as error:
            raise ApiUnreachable(f"cannot reach the Bot API: {error.message}") from error
        except telegram.error.TelegramError as error:
            raise StartupError(f"the Bot API refused getMe: {error.message}") from error
        self._transport = PtbTransport(application.bot)
        self.username = application.bot.username

    async def start_polling(self) -> None:
        """Start the Application, then the Updater's long polling (it deletes any webhook)."""
        application = self.application
        updater = application.updater
        if updater is None:
            raise RuntimeError("open(polling=True) first")
        await application.start()
        try:
            await updater.start_polling(
                timeout=self.config.polling_timeout,
                poll_interval=self.config.poll_interval,
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,
            )
        except telegram.error.TelegramError as error:
            raise StartupError(f"cannot switch the bot to polling: {error.message}") from error

    async def start_webhook(self, url: str, secret: str) -> None:
        """Start the Application (built without an Updater) and call setWebhook."""
        application = self.application
        self.receiving_webhooks = True
        await application.start()
        try:
            await application.bot.set_webhook(
                url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES)
            )
        except telegram.error.TelegramError as error:
            raise StartupError(f"Telegram refused the webhook {url}: {error.message}") from error

    async def feed(self, data: dict[str, Any]) -> None:
        """De-serialise the posted JSON and run it through the Application."""
        application = self.application
        await application.process_update(Update.de_json(data, application.bot))

    async def _stop_receiving(self) -> None:
        application = self._application
        if application is None:
            return
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()

    async def close(self) -> None:
        """Shut the Application and its Bot's HTTP clients down."""
        application = self._application
        if application is None:
            return
        await application.shutdown()
        # After a failed initialize() the Application's shutdown does nothing; the Bot's
        # HTTP clients were opened all the same (closing twice is harmless).
        await application.bot.shutdown()

    async def download(self, file_id: str) -> bytes:
        """getFile, then the download through the Bot's HTTP client (and so its proxy)."""
        try:
            found = await self.application.bot.get_file(file_id)
            return bytes(await found.download_as_bytearray())
        except telegram.error.TelegramError as error:
            raise transport_error(error) from error
