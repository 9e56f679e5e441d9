"""The aiogram 3 adapter: a Dispatcher whose only handlers queue neutral updates.

No aiogram FSM, filters or routers: conversation state lives in our database and
routing in `bot.router`, so the Dispatcher's job is to poll (or take webhook posts)
and pass every message and button press to `UpdateLanes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, cast

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetUpdates, Response, TelegramMethod
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
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
from aiogram.utils.token import TokenValidationError
from aiohttp import FormData
from aiohttp.payload import JsonPayload

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
    """aiogram User -> ChatUser."""
    return chat.ChatUser(
        id=user.id,
        first_name=user.first_name,
        last_name=user.last_name or "",
        username=user.username,
        language_code=user.language_code,
    )


def to_incoming(update: Update, bot_username: str) -> chat.Incoming | None:
    """aiogram Update -> Incoming; None for updates the bot ignores (edits, channel posts...)."""
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
            chat_type=message.chat.type,
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
        chat_type=message.chat.type if message is not None else None,
        message_id=message.message_id if message is not None else None,
    )


# --- sending -----------------------------------------------------------------------------


def markup(keyboard: chat.Keyboard | None) -> Markup | None:
    """Neutral keyboard -> aiogram reply markup."""
    if keyboard is None:
        return None
    if isinstance(keyboard, chat.InlineKeyboard):
        return inline_markup(keyboard)
    if isinstance(keyboard, chat.ReplyKeyboard):
        rows = [[KeyboardButton(text=label) for label in row] for row in keyboard.rows]
        if keyboard.request_contact is not None:
            rows.append([KeyboardButton(text=keyboard.request_contact, request_contact=True)])
        if keyboard.request_location is not None:
            rows.append([KeyboardButton(text=keyboard.request_location, request_location=True)])
        return ReplyKeyboardMarkup(
            keyboard=rows, resize_keyboard=True, one_time_keyboard=keyboard.one_time
        )
    return ReplyKeyboardRemove(remove_keyboard=True)


def inline_markup(keyboard: chat.InlineKeyboard | None) -> InlineKeyboardMarkup | None:
    """Neutral inline keyboard -> aiogram InlineKeyboardMarkup."""
    if keyboard is None:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[[inline_button(button) for button in row] for row in keyboard.rows]
    )


def inline_button(button: chat.Button) -> InlineKeyboardButton:
    """Neutral inline button -> aiogram's (a URL, a Mini App or callback data)."""
    if button.url is not None:
        return InlineKeyboardButton(text=button.text, url=button.url)
    if button.web_app is not None:
        return InlineKeyboardButton(text=button.text, web_app=WebAppInfo(url=button.web_app))
    return InlineKeyboardButton(text=button.text, callback_data=button.data)


def transport_error(error: AiogramError) -> chat.TransportError:
    """aiogram's exception -> the neutral TransportError the sender and router understand."""
    if isinstance(error, TelegramRetryAfter):
        return chat.RetryAfter(float(error.retry_after))
    if isinstance(error, TelegramForbiddenError):
        return chat.Unreachable(error.message)
    if isinstance(error, TelegramBadRequest):
        if means_chat_gone(error.message):
            return chat.Unreachable(error.message)
        return chat.BadRequest(error.message)
    if isinstance(error, TelegramEntityTooLarge):  # a subclass of TelegramNetworkError
        return chat.BadRequest(error.message)
    if isinstance(error, TelegramNetworkError | TelegramServerError):
        return chat.NetworkError(error.message)
    if isinstance(error, TelegramAPIError):  # 401, 404, 409, chat migrated, unknown codes
        return chat.BadRequest(error.message)
    # ClientDecodeError: an answer that is not the Bot API's JSON (a proxy's error page).
    return chat.NetworkError(str(error))


class AiogramTransport:
    """Carries out neutral actions with an aiogram Bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def perform(self, action: chat.Action) -> chat.Sent:
        """Do one action; TransportError subclasses on failure."""
        try:
            return await self._perform(action)
        except TelegramBadRequest as error:
            if isinstance(action, chat.EditMessage) and is_not_modified(error.message):
                log.debug("edit of message %s changed nothing", action.message_id)
                return chat.Sent(action.message_id)
            raise transport_error(error) from error
        except AiogramError as error:
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
                text=action.text,
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
                BufferedInputFile(action.photo, filename=action.filename)
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
                        media=photo,
                        caption=(action.caption or None) if index == 0 else None,
                        parse_mode=ParseMode.HTML if index == 0 and action.caption else None,
                    )
                    for index, photo in enumerate(action.photos)
                ],
            )
            return chat.Sent(album[0].message_id if album else None)
        if isinstance(action, chat.SendLocation):
            sent = await bot.send_location(action.chat_id, action.latitude, action.longitude)
            return chat.Sent(sent.message_id)
        if isinstance(action, chat.SendVenue):
            sent = await bot.send_venue(
                action.chat_id, action.latitude, action.longitude, action.title, action.address
            )
            return chat.Sent(sent.message_id)
        if isinstance(action, chat.SendDocument):
            sent = await bot.send_document(
                action.chat_id,
                BufferedInputFile(action.document, filename=action.filename),
                caption=action.caption or None,
                parse_mode=ParseMode.HTML if action.caption else None,
            )
            return chat.Sent(sent.message_id)
        if isinstance(action, chat.SetMenuButton):
            button: MenuButtonWebApp | MenuButtonDefault = (
                MenuButtonDefault()
                if action.url is None
                else MenuButtonWebApp(text=action.text or "", web_app=WebAppInfo(url=action.url))
            )
            await bot.set_chat_menu_button(chat_id=action.chat_id, menu_button=button)
            return chat.Sent(None)
        await bot.set_my_commands(
            [BotCommand(command=c.command, description=c.description) for c in action.commands],
            language_code=action.language_code,
        )
        return chat.Sent(None)


# --- receiving ---------------------------------------------------------------------------

# aiogram reads each answer as `Response[<the method's result type>]`, a pydantic generic
# class that pydantic keeps only weakly: once garbage collected, the next call rebuilds it
# (5-15 ms of CPU, on about one call in four under load). A strong reference per result
# type keeps each built once per process.
_RESPONSE_TYPES: dict[Any, Any] = {}


async def keep_response_types(
    make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
) -> Response[Any]:
    """Session middleware: hold the method's Response class before aiogram asks for it."""
    returning = method.__returning__
    if returning not in _RESPONSE_TYPES:
        _RESPONSE_TYPES[returning] = Response[returning]  # type: ignore[valid-type]
    return await make_request(bot, method)


class JsonBodySession(AiohttpSession):
    """aiogram's session, sending a call that uploads no file as a JSON body.

    aiogram sends every call as a form, and urlencoding a message's text and keyboard
    (in Python, byte by byte) cost more CPU than anything else in a send. The Bot API
    takes the same parameters as JSON; a call with a file still goes as multipart.
    """

    def build_form_data(  # type: ignore[override]  # a JSON payload where no file goes
        self, bot: Bot, method: TelegramMethod[Any]
    ) -> FormData | JsonPayload:
        files: dict[str, InputFile] = {}
        body: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            # Left out as aiogram leaves out an empty form field (an empty list or
            # object is a value there: its JSON text).
            if not prepared and not isinstance(prepared, dict | list):
                continue
            body[key] = prepared
        if files:
            return super().build_form_data(bot, method)
        return JsonPayload(body, dumps=self.json_dumps)


class AiogramRuntime(Runtime):
    """aiogram: Dispatcher long polling, or Dispatcher.feed_update for webhook posts."""

    name = "aiogram"

    def __init__(self, config: RuntimeConfig, handle: UpdateHandler) -> None:
        super().__init__(config, handle)
        api = TelegramAPIServer.from_base(config.api_base_url) if config.api_base_url else None
        # aiogram reads no proxy from the environment: it gets the one bot.network chose.
        options: dict[str, Any] = {"proxy": config.proxy} if config.proxy else {}
        if api is not None:
            options["api"] = api
        session = JsonBodySession(**options)
        try:
            self.bot = Bot(config.token, session=session)
        except TokenValidationError as error:
            raise TokenRejected("the bot token is malformed") from error
        # No FSM: conversation state lives in the database, shared by every instance.
        self.dispatcher = Dispatcher(disable_fsm=True)
        self.dispatcher.message.register(self._on_event)
        self.dispatcher.callback_query.register(self._on_event)
        self._transport = AiogramTransport(self.bot)
        self._polling: asyncio.Task[None] | None = None
        self._polled = False  # a getUpdates was sent already (the first goes at once)
        # The offset that confirms the last batch received, until a getUpdates sends it.
        self._unconfirmed: int | None = None
        # The next getUpdates confirms the previous batch to Telegram: write it down first.
        self.bot.session.middleware(self._journal_before_polling)
        self.bot.session.middleware(keep_response_types)

    async def _journal_before_polling(
        self, make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Response[Any]:
        if isinstance(method, GetUpdates):
            # As python-telegram-bot's poll_interval: a pause after each answer, so what
            # arrives meanwhile comes in one batch (one poll, one journal write).
            if self._polled and self.config.poll_interval > 0:
                await asyncio.sleep(self.config.poll_interval)
            self._polled = True
            await self.flush_journal()
            if self._unconfirmed is not None and (method.offset or 0) >= self._unconfirmed:
                self._unconfirmed = None  # this request confirms the last batch
            answer = await make_request(bot, method)
            # (aiogram's middlewares are typed as passing Response on; it is the result.)
            received = cast(list[Update], answer)
            if received:  # confirmed to Telegram by the next getUpdates (or at stop)
                self._unconfirmed = received[-1].update_id + 1
            return answer
        return await make_request(bot, method)

    @property
    def transport(self) -> AiogramTransport:
        """Sends through this runtime's Bot."""
        return self._transport

    async def _on_event(self, event: Message | CallbackQuery, event_update: Update) -> None:
        """The catch-all handler: convert, journal and queue; handling happens in the chat's lane."""
        incoming = to_incoming(event_update, self.username)
        if incoming is not None:
            await self.receive(incoming)

    async def open(self, *, polling: bool) -> None:
        """Call getMe (the same Dispatcher serves polling and webhooks)."""
        try:
            me = await self.bot.me()
        except (TelegramUnauthorizedError, TelegramNotFound) as error:
            raise TokenRejected(f"Telegram refused the bot token ({error.message})") from error
        except (
            TelegramNetworkError,
            TelegramServerError,
            TelegramRetryAfter,
            ClientDecodeError,
        ) as error:
            raise ApiUnreachable(f"cannot reach the Bot API: {error}") from error
        except AiogramError as error:
            raise StartupError(f"the Bot API refused getMe: {error}") from error
        self.username = me.username or ""

    async def start_polling(self) -> None:
        """deleteWebhook, then poll in a background task."""
        try:
            await self.bot.delete_webhook(drop_pending_updates=False)
        except AiogramError as error:
            raise StartupError(f"cannot switch the bot to polling: {error}") from error
        self._polling = asyncio.create_task(
            self.dispatcher.start_polling(
                self.bot,
                polling_timeout=self.config.polling_timeout,
                # Updates are queued by the handler in a blink; awaiting it keeps their
                # order, and UpdateLanes gives the concurrency.
                handle_as_tasks=False,
                allowed_updates=list(ALLOWED_UPDATES),
                handle_signals=False,  # the application owns SIGINT/SIGTERM
                close_bot_session=False,  # the outbox sender still needs it while we stop
            ),
            name="aiogram-polling",
        )
        self._polling.add_done_callback(self._polling_ended)

    def _polling_ended(self, task: asyncio.Task[None]) -> None:
        if task is not self._polling:  # stopped on purpose
            return
        error = None if task.cancelled() else task.exception()
        log.error("aiogram polling ended by itself", exc_info=error)
        self.failed.set()

    async def start_webhook(self, url: str, secret: str) -> None:
        """setWebhook with the secret and our update types."""
        self.receiving_webhooks = True
        try:
            await self.bot.set_webhook(
                url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES)
            )
        except AiogramError as error:
            raise StartupError(f"Telegram refused the webhook {url}: {error}") from error

    async def feed(self, data: dict[str, Any]) -> None:
        """Validate the posted JSON as an Update and run it through the Dispatcher."""
        update = Update.model_validate(data, context={"bot": self.bot})
        await self.dispatcher.feed_update(self.bot, update)

    async def _stop_receiving(self) -> None:
        task, self._polling = self._polling, None
        if task is None:
            return
        if not task.done():
            with contextlib.suppress(RuntimeError):  # polling had not got going yet
                await self.dispatcher.stop_polling()
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception:  # already reported by _polling_ended; stopping anyway
            log.debug("aiogram polling had failed", exc_info=True)
        await self._confirm_received()

    async def _confirm_received(self) -> None:
        """Tell Telegram the last batch arrived, once it is written down (as PTB does at
        stop): polling stopped during the pause before the getUpdates that would have."""
        offset, self._unconfirmed = self._unconfirmed, None
        if offset is None:
            return
        await self.flush_journal()
        if self.journal_failed:
            return  # not written down: Telegram must send those again
        self._polled = False  # no pause before this one
        try:
            await self.bot.get_updates(offset=offset, limit=1, timeout=0, request_timeout=5)
        except Exception as error:  # sent again to the next process, journaled already
            log.warning("the last updates received were not confirmed: %s", error)

    async def close(self) -> None:
        """Close the aiohttp session."""
        await self.bot.session.close()

    async def download(self, file_id: str) -> bytes:
        """getFile, then the download through the Bot's session (and so its proxy)."""
        try:
            found = await self.bot.get_file(file_id)
            if not found.file_path:
                raise chat.BadRequest(f"file {file_id} has no download path")
            stream = await self.bot.download_file(found.file_path)
        except AiogramError as error:
            raise transport_error(error) from error
        if stream is None:
            raise chat.BadRequest(f"file {file_id} could not be downloaded")
        return stream.read()
