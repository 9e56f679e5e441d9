"""A local Telegram Bot API server (aiohttp) for offline tests and demos.

Real aiogram and python-telegram-bot clients talk to it unmodified. It keeps per-bot state in
memory (see state.py), validates every call strictly (see validation.py), records each invalid
call in `violations`, and offers fault injection (flood 429s, outages, blocked users) and
rate-limit observation for the product's sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import math
import mimetypes
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Final, Self
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

from sandbox.bot_api import (
    SEND_METHODS,
    canonical_method,
    is_file_param,
)
from sandbox.errors import CHAT_NOT_FOUND, NOT_MODIFIED, QUERY_TOO_OLD, ApiError, bad_request
from sandbox.files import FileStore, StoredFile
from sandbox.images import image_size, is_image
from sandbox.json_types import JsonDict
from sandbox.keyboards import inline_keyboard_of
from sandbox.people import SimulatedChannel, SimulatedGroup, SimulatedPerson
from sandbox.rate_limits import (
    GLOBAL_LIMIT,
    GROUP_CHAT_LIMIT,
    PRIVATE_CHAT_LIMIT,
    window_excess,
    window_wait,
)
from sandbox.state import (
    BotState,
    CallbackQueryRecord,
    ChatLog,
    Clocks,
    LongPoll,
    QueuedUpdate,
    SendRecord,
    SentMessage,
    WebhookConfig,
)
from sandbox.telegram_html import FormattedText
from sandbox.transcript import render_bot_message, render_keyboard
from sandbox.validation import (
    UploadedFile,
    check_allowed_updates,
    check_callback_answer,
    check_caption,
    check_chat_action,
    check_command_scope,
    check_commands,
    check_known_params,
    check_language_code,
    check_menu_button,
    check_message_text,
    check_reply_markup,
    check_webhook,
    check_with_model,
    decode_params,
    normalize_parse_mode,
    summarize,
)

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES: Final = 50 * 1024 * 1024
MAX_PHOTO_BYTES: Final = 10 * 1024 * 1024
MAX_DOWNLOAD_BYTES: Final = 20 * 1024 * 1024
MAX_MEDIA_GROUP: Final = 10


def utc_now() -> datetime:
    """Real current time, aware, UTC: the default emulator clock."""
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------------------
# Call records


@dataclass
class ApiCall:
    """One API call as the emulator saw it."""

    token: str
    method: str
    params: JsonDict
    status: int
    description: str
    at: float  # emulator monotonic time


@dataclass
class _FloodRule:
    chat_id: int | None
    retry_after: int
    remaining: int


@dataclass
class _Ctx:
    files: dict[str, UploadedFile]
    request: web.Request | None


def _connected(request: web.Request | None) -> bool:
    transport = request.transport if request is not None else None
    return transport is not None and not transport.is_closing()


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _markup_or_none(markup: object) -> JsonDict | None:
    """An inline keyboard without buttons is the same as none (Telegram drops it)."""
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        return markup if any(inline_keyboard_of(markup)) else None
    return markup if isinstance(markup, dict) else None


ApiHandler = Callable[[BotState, JsonDict, _Ctx], Awaitable[object]]


# ---------------------------------------------------------------------------------------------
# The emulator


class BotApiEmulator:
    """A fake Telegram Bot API server with simulated people, strict validation and faults."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] | None = None,
        strict_rate_limits: bool = False,
        webhook_retry_delay: float = 0.05,
        webhook_max_retry_delay: float = 1.0,
        webhook_timeout: float = 10.0,
        callback_query_ttl: float = 15 * 60.0,
    ) -> None:
        # `clock` gives `date` fields (replaceable: demos run on an accelerated clock);
        # `monotonic` measures callback-query age and send rates (tests may fake it).
        # Every bot's state shares them, so the simulated people stamp with the same clocks.
        self._clocks = Clocks(clock, monotonic or time.monotonic)
        self.strict_rate_limits = strict_rate_limits
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_max_retry_delay = webhook_max_retry_delay
        self.webhook_timeout = webhook_timeout
        self.callback_query_ttl = callback_query_ttl
        self.violations: list[str] = []
        self.api_calls: list[ApiCall] = []
        self.files = FileStore()
        self._bots: dict[str, BotState] = {}
        self._floods: list[_FloodRule] = []
        self._outage = False
        self._outage_mode = "disconnect"
        self._stopping = False
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._base_url: str | None = None
        self._handlers: dict[str, ApiHandler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendMediaGroup": self._send_media_group,
            "sendLocation": self._send_location,
            "sendVenue": self._send_venue,
            "getFile": self._get_file,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "close": self._ok,
            "logOut": self._ok,
        }

    # -- clocks ------------------------------------------------------------------------------

    @property
    def clock(self) -> Callable[[], datetime]:
        """Gives the `date` fields; replaceable at any time, also after people were created."""
        return self._clocks.wall

    @clock.setter
    def clock(self, clock: Callable[[], datetime]) -> None:
        self._clocks.wall = clock

    @property
    def monotonic(self) -> Callable[[], float]:
        """Measures callback-query ages and send rates; replaceable at any time."""
        return self._clocks.monotonic

    @monotonic.setter
    def monotonic(self, monotonic: Callable[[], float]) -> None:
        self._clocks.monotonic = monotonic

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving; returns the base URL (port 0 picks a free port)."""
        app = web.Application(
            middlewares=[self._outage_middleware], client_max_size=MAX_UPLOAD_BYTES + 1024**2
        )
        app.router.add_route("*", "/bot{token}/{method}", self._api_route)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file_route)
        app.router.add_route("*", "/{tail:.*}", self._not_found_route)
        # handler_cancellation: a long poll whose client went away must not linger.
        runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        self._runner = runner
        self._session = aiohttp.ClientSession()
        self._stopping = False
        self._base_url = f"http://{bound_host}:{bound_port}"
        return self._base_url

    async def stop(self) -> None:
        """Stop serving: end long polls, stop webhook senders, close the server."""
        self._stopping = True
        tasks = []
        for bot in self._bots.values():
            bot.notify()
            if bot.webhook_task is not None:
                bot.webhook_task.cancel()
                tasks.append(bot.webhook_task)
                bot.webhook_task = None
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """http://host:port of the running server."""
        if self._base_url is None:
            raise RuntimeError("the emulator is not started")
        return self._base_url

    # -- setup: bots, people, groups -------------------------------------------------------

    def register_bot(
        self,
        token: str,
        username: str = "faultdesk_bot",
        first_name: str = "faultdesk",
        *,
        privacy_mode: bool = True,
    ) -> BotState:
        """Accept `token` (any other token gets 401); privacy_mode as BotFather's default."""
        if token in self._bots:
            raise ValueError(f"bot token {token!r} is already registered")
        state = BotState(
            token,
            username,
            first_name,
            privacy_mode=privacy_mode,
            clocks=self._clocks,
            files=self.files,
        )
        self._bots[token] = state
        return state

    def bot_state(self, bot: str | None = None) -> BotState:
        """The state of a registered bot (the only one when `bot` is None)."""
        if bot is not None:
            return self._bots[bot]
        if len(self._bots) != 1:
            raise ValueError(f"{len(self._bots)} bots registered: pass bot=<token> to choose one")
        return next(iter(self._bots.values()))

    def person(
        self,
        user_id: int,
        first_name: str,
        language_code: str = "en",
        username: str | None = None,
        *,
        last_name: str | None = None,
        phone_number: str | None = None,
        bot: str | None = None,
    ) -> SimulatedPerson:
        """A simulated user who can talk to the bot (their private chat id == user_id)."""
        state = self.bot_state(bot)
        if user_id <= 0:
            raise ValueError("user ids are positive")
        if user_id in state.people:
            raise ValueError(f"person {user_id} already exists")
        person = SimulatedPerson(
            state,
            user_id,
            first_name,
            language_code,
            username=username,
            last_name=last_name,
            phone_number=phone_number,
        )
        chat: JsonDict = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name:
            chat["last_name"] = last_name
        if username:
            chat["username"] = username
        state.people[user_id] = person
        state.chats[user_id] = ChatLog(chat, started=False)
        return person

    def group(
        self,
        chat_id: int,
        title: str,
        *,
        username: str | None = None,
        bot_is_admin: bool = False,
        bot: str | None = None,
    ) -> SimulatedGroup:
        """A group chat the bot is a member of (-100… ids are supergroups)."""
        state = self.bot_state(bot)
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if chat_id in state.chats:
            raise ValueError(f"chat {chat_id} already exists")
        chat: JsonDict = {
            "id": chat_id,
            "type": "supergroup" if str(chat_id).startswith("-100") else "group",
            "title": title,
        }
        if username:
            chat["username"] = username
        group = SimulatedGroup(state, chat_id, title, username=username, bot_is_admin=bot_is_admin)
        state.groups[chat_id] = group
        state.chats[chat_id] = ChatLog(chat, started=True)
        return group

    def channel(
        self,
        chat_id: int,
        title: str,
        *,
        username: str | None = None,
        bot_is_admin: bool = True,
        bot: str | None = None,
    ) -> SimulatedChannel:
        """A channel (-100… id) the bot posts to; only an administrator bot may post there."""
        state = self.bot_state(bot)
        if not str(chat_id).startswith("-100"):
            raise ValueError("channel ids start with -100")
        if chat_id in state.chats:
            raise ValueError(f"chat {chat_id} already exists")
        chat: JsonDict = {"id": chat_id, "type": "channel", "title": title}
        if username:
            chat["username"] = username
        channel = SimulatedChannel(
            state, chat_id, title, username=username, bot_is_admin=bot_is_admin
        )
        state.groups[chat_id] = channel
        state.chats[chat_id] = ChatLog(chat, started=True)
        return channel

    # -- test helpers --------------------------------------------------------------------------

    def assert_no_violations(self, *, include_rate_limits: bool = False) -> None:
        """Raise AssertionError listing every invalid call (and rate-limit excess if asked)."""
        problems = list(self.violations)
        if include_rate_limits:
            problems += [f"rate limit: {line}" for line in self.rate_violations()]
        if problems:
            listing = "\n".join(f"  - {line}" for line in problems)
            raise AssertionError(f"{len(problems)} Bot API violation(s):\n{listing}")

    def take_violations(self) -> list[str]:
        """Return and clear the recorded violations (for tests that provoke them on purpose)."""
        taken, self.violations = self.violations, []
        return taken

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """Recorded API calls, optionally of one method."""
        return [call for call in self.api_calls if method is None or call.method == method]

    def redeliver(self, update_id: int, *, bot: str | None = None) -> None:
        """Queue an already delivered update again with the SAME update_id (a duplicate)."""
        state = self.bot_state(bot)
        original = state.history.get(update_id)
        if original is None:
            raise ValueError(f"no update {update_id} was ever produced")
        if any(entry.update_id == update_id and not entry.delivered for entry in state.queue):
            raise ValueError(f"update {update_id} is still waiting for its first delivery")
        duplicate = QueuedUpdate(update_id, original.kind, original.payload, redelivery=True)
        # Duplicates go first so that clients computing "last id + 1" do not skip newer ones.
        position = sum(1 for entry in state.queue if entry.redelivery)
        state.queue.insert(position, duplicate)
        state.notify()

    def pending_updates(self, *, bot: str | None = None) -> list[JsonDict]:
        """Updates not yet confirmed by the bot."""
        return [entry.as_json() for entry in self.bot_state(bot).queue]

    def unanswered_callback_queries(self, *, bot: str | None = None) -> list[CallbackQueryRecord]:
        """Callback queries the bot never answered (the user's button keeps spinning)."""
        return [q for q in self.bot_state(bot).callbacks.values() if not q.answered]

    def commands(
        self,
        scope: JsonDict | None = None,
        language_code: str = "",
        *,
        bot: str | None = None,
    ) -> list[JsonDict]:
        """The commands the bot set for a scope and language (exact match, like getMyCommands)."""
        state = self.bot_state(bot)
        key = self._commands_key(state, {"scope": scope, "language_code": language_code})
        return list(state.commands.get(key, []))

    def menu_button(self, chat_id: int | None = None, *, bot: str | None = None) -> JsonDict:
        """The menu button set for a chat (or the default one)."""
        return self.bot_state(bot).menu_buttons.get(chat_id, {"type": "default"})

    # -- fault injection -------------------------------------------------------------------

    def inject_flood(
        self, chat_id: int | None = None, retry_after: int = 5, count: int = 1
    ) -> None:
        """The next `count` send* calls (to `chat_id`, or to any chat) answer 429 retry_after."""
        self._floods.append(_FloodRule(chat_id, retry_after, count))

    def set_outage(self, on: bool, *, mode: str = "disconnect") -> None:
        """While on, every request fails: the connection is dropped ("disconnect") or 502."""
        if mode not in {"disconnect", "502"}:
            raise ValueError("mode is 'disconnect' or '502'")
        self._outage = on
        self._outage_mode = mode
        if not on:
            for state in self._bots.values():
                state.notify()  # the webhook sender resumes at once

    def block(self, chat_id: int, *, bot: str | None = None) -> None:
        """The person blocks the bot: sends to them answer 403 until they write again."""
        self.bot_state(bot).set_blocked(chat_id, blocked=True)

    def unblock(self, chat_id: int, *, bot: str | None = None) -> None:
        """The person unblocks the bot."""
        self.bot_state(bot).set_blocked(chat_id, blocked=False)

    # -- rate limits -------------------------------------------------------------------------

    def rate_violations(self) -> list[str]:
        """Where the bot exceeded Telegram's limits: 1/s per private chat, 20/min per group,
        30/s overall. Computed from the log of successful sends; nothing is rejected for it
        unless strict_rate_limits is on."""
        found: list[str] = []
        for state in self._bots.values():
            by_chat: dict[int, list[SendRecord]] = {}
            for record in state.sends:
                by_chat.setdefault(record.chat_id, []).append(record)
            for chat_id, records in by_chat.items():
                kind = records[0].chat_type
                limit, window = PRIVATE_CHAT_LIMIT if kind == "private" else GROUP_CHAT_LIMIT
                for count, span in window_excess([r.at for r in records], limit, window):
                    found.append(
                        f"{kind} chat {chat_id}: {count} messages within {span:.3f}s"
                        f" (limit {limit} per {window:g}s)"
                    )
            limit, window = GLOBAL_LIMIT
            for count, span in window_excess([r.at for r in state.sends], limit, window):
                found.append(
                    f"bot {state.username}: {count} messages within {span:.3f}s"
                    f" (limit {limit} per {window:g}s overall)"
                )
        return found

    def _rate_wait(self, state: BotState, log: ChatLog) -> float:
        """Seconds until one more send to `log` stays within the limits (0 when it does now)."""
        now = self._clocks.monotonic()
        chat_limit = PRIVATE_CHAT_LIMIT if log.chat_type == "private" else GROUP_CHAT_LIMIT
        chat_times = [r.at for r in state.sends if r.chat_id == log.chat_id]
        waits = [
            window_wait(chat_times, *chat_limit, now),
            window_wait([r.at for r in state.sends], *GLOBAL_LIMIT, now),
        ]
        return max(waits)

    # -- HTTP layer -------------------------------------------------------------------------

    @web.middleware
    async def _outage_middleware(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        if not self._outage:
            return await handler(request)
        if self._outage_mode == "502":
            body = {"ok": False, "error_code": 502, "description": "Bad Gateway"}
            return web.json_response(body, status=502)
        if request.transport is not None:
            request.transport.abort()  # the client sees the connection drop mid-request
        return web.Response(status=502)  # never reaches the client: the socket is gone

    async def _not_found_route(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    async def _file_route(self, request: web.Request) -> web.StreamResponse:
        state = self._bots.get(request.match_info["token"])
        stored = self.files.by_path(request.match_info["path"])
        if state is None or stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        content_type = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.data, content_type=content_type)

    async def _api_route(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        name = request.match_info["method"]
        method = canonical_method(name) or name
        try:
            raw, files = await self._read_params(request, method)
        except ApiError as err:
            self._record_failure(token, method, {}, err)
            return web.json_response(err.payload(), status=err.error_code, dumps=_dumps)
        status, body = await self._call(token, name, raw, files, request)
        return web.json_response(body, status=status, dumps=_dumps)

    async def _read_params(
        self, request: web.Request, method: str
    ) -> tuple[dict[str, object], dict[str, UploadedFile]]:
        """Collect parameters from the query string and a JSON, urlencoded or multipart body."""
        raw: dict[str, object] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.method != "POST" or not request.body_exists:
            return raw, files
        content_type = request.content_type
        if content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON request body") from None
            if not isinstance(body, dict):
                raise bad_request("JSON request body must be an object")
            raw.update(body)
        elif content_type in {"multipart/form-data", "application/x-www-form-urlencoded"}:
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    upload = UploadedFile(
                        name, value.filename, value.content_type, value.file.read()
                    )
                    files[name] = upload
                    # PTB names the part after the parameter; aiogram sends "attach://<part>".
                    if canonical_method(method) and is_file_param(method, name):
                        raw[name] = upload
                else:
                    raw[name] = value
        else:
            raise bad_request("unsupported Content-Type", f"Content-Type {content_type!r}")
        return raw, files

    async def _call(
        self,
        token: str,
        name: str,
        raw: Mapping[str, object],
        files: dict[str, UploadedFile],
        request: web.Request | None,
    ) -> tuple[int, JsonDict]:
        """Run one API method: auth, decode, validate, execute; Telegram-shaped answer."""
        method = canonical_method(name) or name
        params: JsonDict = dict(raw)
        try:
            state = self._bots.get(token)
            if state is None:
                raise ApiError(401, "Unauthorized", detail=f"unknown bot token {token!r}")
            if canonical_method(name) is None:
                raise ApiError(404, "Not Found", detail=f"method {name!r} is not served")
            params = decode_params(method, raw)
            check_known_params(method, params)
            check_with_model(method, params)
            result = await self._handlers[method](state, params, _Ctx(files, request))
        except ApiError as err:
            self._record_failure(token, method, params, err)
            return err.error_code, err.payload()
        except Exception as exc:
            # A bug in the emulator must fail the test run loudly, not pass as a 500.
            logger.exception("emulator failed on %s", method)
            self.violations.append(f"{method}: emulator internal error: {exc!r}")
            self._log_call(token, method, params, 500, "Internal Server Error")
            return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        self._log_call(token, method, params, 200, "")
        return 200, {"ok": True, "result": result}

    def _record_failure(self, token: str, method: str, params: JsonDict, err: ApiError) -> None:
        if err.violation:
            where = summarize(params)
            detail = f" ({err.detail})" if err.detail else ""
            self.violations.append(f"{method}({where}): {err.description}{detail}")
        self._log_call(token, method, params, err.error_code, err.description)

    def _log_call(
        self, token: str, method: str, params: JsonDict, status: int, description: str
    ) -> None:
        shown = {
            key: f"<file {value.filename} {len(value.data)} bytes>"
            if isinstance(value, UploadedFile)
            else value
            for key, value in params.items()
        }
        self.api_calls.append(
            ApiCall(token, method, shown, status, description, self._clocks.monotonic())
        )

    # -- helpers for handlers ----------------------------------------------------------------

    def _target_chat(self, state: BotState, chat_id: object) -> ChatLog:
        """The chat a call addresses; unknown -> 400, a person who never wrote -> 403."""
        if isinstance(chat_id, str):
            wanted = chat_id.removeprefix("@").lower()
            for group_log in state.chats.values():
                if (
                    str(group_log.chat.get("username", "")).lower() == wanted
                    and group_log.chat_type != "private"
                ):
                    return group_log
            raise ApiError(400, CHAT_NOT_FOUND, detail=f"no chat {chat_id!r}")
        if not isinstance(chat_id, int):
            raise bad_request("chat_id is empty")
        log = state.chats.get(chat_id)
        if log is None:
            raise ApiError(400, CHAT_NOT_FOUND, detail=f"no chat {chat_id} is known")
        if not log.started:
            # Telegram's answer when a bot writes first to a user who never started it.
            raise ApiError(
                403, "Forbidden: bot can't initiate conversation with a user", violation=False
            )
        return log

    def _guard_delivery(self, state: BotState, log: ChatLog, method: str) -> None:
        """Faults hitting a valid call: blocked user (403), a channel the bot may not post
        to (403), injected flood, rate limits (429)."""
        if log.chat_id in state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user", violation=False)
        if log.chat_type == "channel" and method in SEND_METHODS:
            channel = state.groups.get(log.chat_id)
            if channel is not None and not channel.bot_is_admin:
                raise ApiError(
                    400,
                    "Bad Request: need administrator rights in the channel chat",
                    violation=False,
                )
        if method not in SEND_METHODS:
            return
        for rule in self._floods:
            if rule.remaining > 0 and rule.chat_id in (None, log.chat_id):
                rule.remaining -= 1
                self._floods = [r for r in self._floods if r.remaining > 0]
                raise _too_many(rule.retry_after)
        if self.strict_rate_limits:
            wait = self._rate_wait(state, log)
            if wait > 0:
                raise _too_many(max(1, math.ceil(wait)))

    def _record_send(self, state: BotState, log: ChatLog, method: str) -> None:
        state.sends.append(SendRecord(self._clocks.monotonic(), log.chat_id, log.chat_type, method))

    def _reply_target(self, log: ChatLog, params: JsonDict) -> JsonDict | None:
        """The message being replied to (reply_parameters or the legacy reply_to_message_id)."""
        reply = params.get("reply_parameters")
        allow_missing = bool(params.get("allow_sending_without_reply"))
        message_id: object = params.get("reply_to_message_id")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
            other_chat = reply.get("chat_id")
            if other_chat not in (None, log.chat_id):
                raise bad_request("message to be replied not found", "cross-chat replies")
        if message_id is None:
            return None
        if not isinstance(message_id, int):
            raise bad_request("invalid reply_parameters specified")
        bot_message = log.bot_messages.get(message_id)
        if bot_message is not None and not bot_message.deleted:
            return copy.deepcopy(bot_message.raw)
        person_message = log.person_messages.get(message_id)
        if person_message is not None and message_id not in log.deleted_person_messages:
            return copy.deepcopy(person_message)
        if allow_missing:
            return None
        raise bad_request("message to be replied not found", f"message_id={message_id}")

    def _new_bot_message(
        self,
        state: BotState,
        log: ChatLog,
        *,
        kind: str,
        formatted: FormattedText,
        params: JsonDict,
        source: str,
        reply_to: JsonDict | None,
        stored: StoredFile | None = None,
        content: JsonDict | None = None,
        media_group_id: str | None = None,
    ) -> SentMessage:
        now = self._clocks.wall()
        markup = params.get("reply_markup")
        raw: JsonDict = {
            "message_id": log.allocate_message_id(),
            "chat": dict(log.chat),
            "date": self._clocks.timestamp(),
        }
        if log.chat_type == "channel":
            raw["sender_chat"] = dict(log.chat)  # a channel post has no sending user
        else:
            raw["from"] = state.user
        if reply_to is not None:
            raw["reply_to_message"] = reply_to
        if media_group_id is not None:
            raw["media_group_id"] = media_group_id
        if content is not None:  # a location or a venue: no text, no file
            raw.update(content)
        elif kind == "text":
            raw["text"] = formatted.plain
            if formatted.entities:
                raw["entities"] = formatted.entities
        else:
            assert stored is not None  # media messages always carry a file
            if kind == "photo":
                raw["photo"] = [stored.photo_size()]
            else:
                raw["document"] = stored.document()
            if formatted.plain:
                raw["caption"] = formatted.plain
                if formatted.entities:
                    raw["caption_entities"] = formatted.entities
        if inline_keyboard_of(markup):
            raw["reply_markup"] = markup  # Message.reply_markup only ever holds inline keyboards
        message = SentMessage(
            message_id=raw["message_id"],
            chat_id=log.chat_id,
            kind=kind,
            text=formatted.plain,
            date=now,
            reply_markup=markup if isinstance(markup, dict) else None,
            entities=list(formatted.entities),
            source=source,
            parse_mode=normalize_parse_mode(params.get("parse_mode")),
            file=stored.data if stored is not None else None,
            file_id=stored.file_id if stored is not None else None,
            file_name=stored.file_name if stored is not None else None,
            original_text=formatted.plain,
            raw=raw,
        )
        log.bot_messages[message.message_id] = message
        log.record("bot", render_bot_message(message), message)
        return message

    def _editable(self, state: BotState, params: JsonDict) -> tuple[ChatLog, SentMessage]:
        """The bot message an edit addresses."""
        if params.get("inline_message_id") is not None:
            raise bad_request("MESSAGE_ID_INVALID", "inline messages do not exist in the emulator")
        if params.get("chat_id") is None or params.get("message_id") is None:
            raise bad_request("message identifier is not specified")
        log = self._target_chat(state, params["chat_id"])
        message_id = params["message_id"]
        message = log.bot_messages.get(message_id)
        if message is None or message.deleted:
            if message_id in log.person_messages:
                raise bad_request("message can't be edited", "it was sent by a person, not the bot")
            raise bad_request("message to edit not found", f"message_id={message_id}")
        return log, message

    def _input_file(
        self, params: JsonDict, name: str, ctx: _Ctx, kind: str
    ) -> StoredFile | UploadedFile:
        """An existing file (by file_id) or a validated upload not yet stored."""
        value = params.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            part = ctx.files.get(value.removeprefix("attach://"))
            if part is None:
                raise bad_request("wrong file identifier/HTTP URL specified", f"missing {value}")
            value = part
        if isinstance(value, UploadedFile):
            if not value.data:
                raise bad_request("file must be non-empty")
            if len(value.data) > (MAX_PHOTO_BYTES if kind == "photo" else MAX_UPLOAD_BYTES):
                raise ApiError(413, "Request Entity Too Large", violation=True)
            if kind == "photo":
                if not is_image(value.data):
                    raise bad_request("IMAGE_PROCESS_FAILED", f"{value.filename} is not an image")
                size = image_size(value.data)
                if size is not None and (sum(size) > 10_000 or max(size) > 20 * max(1, min(size))):
                    raise bad_request("PHOTO_INVALID_DIMENSIONS", f"{size[0]}x{size[1]}")
            return value
        if not isinstance(value, str) or not value:
            raise bad_request(f"there is no {name} in the request")
        if value.startswith(("http://", "https://")):
            raise bad_request(
                "wrong file identifier/HTTP URL specified",
                "the emulator is offline and cannot fetch URLs: upload bytes or use a file_id",
            )
        stored = self.files.get(value)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified", f"file_id {value!r}")
        if kind == "photo" and stored.kind != "photo":
            raise bad_request("type of file mismatch", f"{stored.kind} file sent as photo")
        return stored

    def _store_upload(self, item: StoredFile | UploadedFile, kind: str) -> StoredFile:
        if isinstance(item, StoredFile):
            return item
        mime = item.content_type
        if not mime or mime == "application/octet-stream":
            mime = mimetypes.guess_type(item.filename)[0] or mime
        return self.files.add(item.data, kind=kind, file_name=item.filename, mime_type=mime)

    # -- methods ---------------------------------------------------------------------------------

    async def _ok(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        return True

    async def _get_me(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        return {
            **state.user,
            "can_join_groups": True,
            "can_read_all_group_messages": not state.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        if state.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
            )
        allowed = check_allowed_updates(params.get("allowed_updates"))
        if allowed is not None:
            state.allowed_updates = allowed
        limit = min(max(int(params.get("limit", 100)), 1), 100)  # Telegram clamps silently
        timeout = max(int(params.get("timeout", 0)), 0)
        state.confirm(params.get("offset"))
        poll = LongPoll()
        if state.active_poll is not None:
            state.active_poll.superseded = True
            state.notify()
        state.active_poll = poll
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout  # real time: long polls must not depend on a fake clock
        try:
            while True:
                if poll.superseded:
                    if _connected(ctx.request):
                        raise ApiError(
                            409,
                            "Conflict: terminated by other getUpdates request;"
                            " make sure that only one bot instance is running",
                        )
                    return []
                if self._stopping or state.webhook is not None:
                    return []
                ready = state.take_ready(limit)
                if ready:
                    return ready
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return []
                await state.wait_changed(remaining)
        finally:
            if state.active_poll is poll:
                state.active_poll = None

    async def _set_webhook(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        url = params.get("url")
        check_webhook(url, params.get("secret_token"), params.get("max_connections"))
        allowed = check_allowed_updates(params.get("allowed_updates"))
        if params.get("drop_pending_updates"):
            state.queue.clear()
        if not url:
            self._remove_webhook(state)
            return True
        assert isinstance(url, str)  # check_webhook accepted it
        if allowed is not None:
            state.allowed_updates = allowed
        raw_allowed = params.get("allowed_updates")
        state.webhook = WebhookConfig(
            url=url,
            secret_token=params.get("secret_token"),
            max_connections=int(params.get("max_connections") or 40),
            allowed_updates=list(raw_allowed) if isinstance(raw_allowed, list) else None,
            ip_address=params.get("ip_address"),
        )
        if state.webhook_task is None or state.webhook_task.done():
            state.webhook_task = asyncio.create_task(self._webhook_sender(state))
        state.notify()
        return True

    def _remove_webhook(self, state: BotState) -> None:
        state.webhook = None
        task = state.webhook_task
        state.webhook_task = None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        state.notify()

    async def _delete_webhook(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        if params.get("drop_pending_updates"):
            state.queue.clear()
        self._remove_webhook(state)
        return True

    async def _get_webhook_info(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        config = state.webhook
        info: JsonDict = {
            "url": config.url if config else "",
            "has_custom_certificate": False,
            "pending_update_count": len(state.queue),
        }
        if config is not None:
            info["max_connections"] = config.max_connections
            if config.allowed_updates is not None:
                info["allowed_updates"] = config.allowed_updates
            if config.ip_address:
                info["ip_address"] = config.ip_address
            if config.last_error_date is not None:
                info["last_error_date"] = config.last_error_date
                info["last_error_message"] = config.last_error_message
        return info

    async def _send_message(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        log = self._target_chat(state, params["chat_id"])
        text = params["text"]
        formatted = check_message_text(text, params.get("parse_mode"), params.get("entities"))
        check_reply_markup(params.get("reply_markup"), private=log.chat_type == "private")
        reply_to = self._reply_target(log, params)
        self._guard_delivery(state, log, "sendMessage")
        message = self._new_bot_message(
            state,
            log,
            kind="text",
            formatted=formatted,
            params=params,
            source=text,
            reply_to=reply_to,
        )
        self._record_send(state, log, "sendMessage")
        return message.raw

    async def _send_media(
        self, state: BotState, params: JsonDict, ctx: _Ctx, *, kind: str, method: str
    ) -> object:
        log = self._target_chat(state, params["chat_id"])
        caption = params.get("caption")
        formatted = check_caption(caption, params.get("parse_mode"), params.get("caption_entities"))
        check_reply_markup(params.get("reply_markup"), private=log.chat_type == "private")
        item = self._input_file(params, kind, ctx, kind)
        reply_to = self._reply_target(log, params)
        self._guard_delivery(state, log, method)
        stored = self._store_upload(item, kind)
        message = self._new_bot_message(
            state,
            log,
            kind=kind,
            formatted=formatted,
            params=params,
            source=caption if isinstance(caption, str) else "",
            reply_to=reply_to,
            stored=stored,
        )
        self._record_send(state, log, method)
        return message.raw

    async def _send_photo(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        return await self._send_media(state, params, ctx, kind="photo", method="sendPhoto")

    async def _send_document(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        return await self._send_media(state, params, ctx, kind="document", method="sendDocument")

    async def _send_media_group(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        log = self._target_chat(state, params["chat_id"])
        media = params["media"]
        if not isinstance(media, list) or not 2 <= len(media) <= MAX_MEDIA_GROUP:
            count = len(media) if isinstance(media, list) else "no"
            raise bad_request(
                "wrong number of media specified", f"{count} items; an album takes 2-10"
            )
        kinds = {item.get("type") if isinstance(item, dict) else None for item in media}
        if not kinds <= {"photo", "document"} or len(kinds) != 1:
            raise bad_request(
                "MEDIA_INVALID", f"albums of {sorted(map(str, kinds))}: photos or documents only"
            )
        reply_to = self._reply_target(log, params)
        items: list[tuple[str, FormattedText, StoredFile | UploadedFile, str]] = []
        for item in media:
            kind = str(item["type"])
            caption = item.get("caption")
            formatted = check_caption(caption, item.get("parse_mode"), item.get("caption_entities"))
            file = self._input_file(item, "media", ctx, kind)
            items.append((kind, formatted, file, caption if isinstance(caption, str) else ""))
        self._guard_delivery(state, log, "sendMediaGroup")
        group_id = str(10_000_000_000_000 + len(self.api_calls))
        sent = []
        for kind, formatted, file, source in items:
            message = self._new_bot_message(
                state,
                log,
                kind=kind,
                formatted=formatted,
                params={"parse_mode": params.get("parse_mode")},
                source=source,
                reply_to=reply_to,
                stored=self._store_upload(file, kind),
                media_group_id=group_id,
            )
            # Telegram counts every message of an album against the rate limits.
            self._record_send(state, log, "sendMediaGroup")
            sent.append(message.raw)
        return sent

    @staticmethod
    def _check_coordinates(params: JsonDict) -> JsonDict:
        latitude, longitude = params["latitude"], params["longitude"]
        assert isinstance(latitude, float) and isinstance(longitude, float)  # decoded
        if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
            raise bad_request("wrong latitude or longitude", f"({latitude}, {longitude})")
        return {"latitude": latitude, "longitude": longitude}

    async def _send_location(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        log = self._target_chat(state, params["chat_id"])
        location = self._check_coordinates(params)
        check_reply_markup(params.get("reply_markup"), private=log.chat_type == "private")
        reply_to = self._reply_target(log, params)
        self._guard_delivery(state, log, "sendLocation")
        message = self._new_bot_message(
            state,
            log,
            kind="location",
            formatted=FormattedText(""),
            params=params,
            source="",
            reply_to=reply_to,
            content={"location": location},
        )
        self._record_send(state, log, "sendLocation")
        return message.raw

    async def _send_venue(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        log = self._target_chat(state, params["chat_id"])
        location = self._check_coordinates(params)
        title, address = params["title"], params["address"]
        if not isinstance(title, str) or not title.strip():
            raise bad_request("title is empty")
        if not isinstance(address, str) or not address.strip():
            raise bad_request("address is empty")
        check_reply_markup(params.get("reply_markup"), private=log.chat_type == "private")
        reply_to = self._reply_target(log, params)
        self._guard_delivery(state, log, "sendVenue")
        venue = {"location": location, "title": title, "address": address}
        message = self._new_bot_message(
            state,
            log,
            kind="venue",
            formatted=FormattedText(f"{title}\n{address}"),
            params=params,
            source="",
            reply_to=reply_to,
            content={"location": location, "venue": venue},
        )
        self._record_send(state, log, "sendVenue")
        return message.raw

    async def _edit_message_text(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        log, message = self._editable(state, params)
        if message.kind != "text":
            raise bad_request("there is no text in the message to edit")
        text = params.get("text")
        if not isinstance(text, str):
            raise bad_request("text is empty")
        formatted = check_message_text(text, params.get("parse_mode"), params.get("entities"))
        markup = params.get("reply_markup")
        check_reply_markup(markup, inline_only=True, private=log.chat_type == "private")
        current_markup = _markup_or_none(message.reply_markup)
        is_inline_now = current_markup is None or "inline_keyboard" in current_markup
        # Telegram drops the inline keyboard when an edit does not repeat it.
        new_markup = _markup_or_none(markup) if is_inline_now else current_markup
        if (
            formatted.plain == message.text
            and formatted.entities == message.entities
            and new_markup == current_markup
        ):
            raise ApiError(
                400,
                NOT_MODIFIED,
                detail=f"pointless edit of message {message.message_id}: {message.text[:60]!r}",
            )
        self._guard_delivery(state, log, "editMessageText")
        message.text = formatted.plain
        message.entities = list(formatted.entities)
        message.source = text
        message.parse_mode = normalize_parse_mode(params.get("parse_mode"))
        message.edits.append(formatted.plain)
        message.reply_markup = new_markup
        raw = message.raw
        raw["text"] = formatted.plain
        raw["edit_date"] = self._clocks.timestamp()
        _set_or_drop(raw, "entities", formatted.entities or None)
        _set_or_drop(raw, "reply_markup", new_markup if inline_keyboard_of(new_markup) else None)
        log.record("edit", render_bot_message(message, edited=True), message)
        return raw

    async def _edit_message_reply_markup(
        self, state: BotState, params: JsonDict, ctx: _Ctx
    ) -> object:
        log, message = self._editable(state, params)
        markup = params.get("reply_markup")
        check_reply_markup(markup, inline_only=True, private=log.chat_type == "private")
        new_markup = _markup_or_none(markup)
        if new_markup == _markup_or_none(message.reply_markup):
            raise ApiError(
                400, NOT_MODIFIED, detail=f"keyboard of message {message.message_id} unchanged"
            )
        self._guard_delivery(state, log, "editMessageReplyMarkup")
        message.reply_markup = new_markup
        message.raw["edit_date"] = self._clocks.timestamp()
        _set_or_drop(message.raw, "reply_markup", new_markup)
        lines = ["✏️ bot (edited keyboard):", *render_keyboard(new_markup)]
        if new_markup is None:
            lines[0] += " (keyboard removed)"
        log.record("edit", "\n".join(lines), message)
        return message.raw

    async def _delete_message(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        log = self._target_chat(state, params["chat_id"])
        message_id = params["message_id"]
        message = log.bot_messages.get(message_id)
        if message is not None and not message.deleted:
            message.deleted = True
            log.record("delete", f"🗑 bot deleted its message: {message.text[:60]}")
            return True
        person_message = log.person_messages.get(message_id)
        if person_message is not None and message_id not in log.deleted_person_messages:
            group = state.groups.get(log.chat_id)
            if group is not None and not group.bot_is_admin:
                raise bad_request("message can't be deleted", "the bot is not a group admin")
            log.deleted_person_messages.add(message_id)
            log.record(
                "delete", f"🗑 bot deleted a message by {person_message['from']['first_name']}"
            )
            return True
        raise bad_request("message to delete not found", f"message_id={message_id}")

    async def _answer_callback_query(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        query_id = params["callback_query_id"]
        record = state.callbacks.get(query_id)
        if record is None:
            raise ApiError(400, QUERY_TOO_OLD, detail=f"unknown callback_query_id {query_id!r}")
        if record.answered:
            raise ApiError(400, QUERY_TOO_OLD, detail=f"callback query {query_id} answered twice")
        age = self._clocks.monotonic() - record.created
        if age > self.callback_query_ttl:
            raise ApiError(400, QUERY_TOO_OLD, detail=f"answered {age:.0f}s after the press")
        text = params.get("text")
        check_callback_answer(text, params.get("url"))
        record.answered = True
        record.answer_text = text if isinstance(text, str) else None
        record.show_alert = bool(params.get("show_alert"))
        if record.answer_text:
            kind = "⚠️ alert" if record.show_alert else "💬 toast"
            log = state.chats.get(record.chat_id)
            if log is not None:
                log.record("answer", f"   {kind}: {record.answer_text}")
        return True

    async def _get_file(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        stored = self.files.get(params["file_id"])
        if stored is None:
            raise bad_request("invalid file_id", f"file_id {params['file_id']!r}")
        if len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big", "bots can download files up to 20 MB")
        return stored.file_object()

    async def _send_chat_action(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        log = self._target_chat(state, params["chat_id"])
        check_chat_action(params["action"])
        self._guard_delivery(state, log, "sendChatAction")
        return True

    def _commands_key(self, state: BotState, params: JsonDict) -> tuple[str, str]:
        scope = check_command_scope(params.get("scope"))
        chat_id = scope.get("chat_id")
        if chat_id is not None and (not isinstance(chat_id, int) or chat_id not in state.chats):
            raise ApiError(400, CHAT_NOT_FOUND, detail=f"command scope chat {chat_id!r}")
        # Clients order the scope's fields differently; the key must not depend on that.
        identity = {key: scope[key] for key in ("type", "chat_id", "user_id") if key in scope}
        return json.dumps(identity, sort_keys=True), check_language_code(
            params.get("language_code")
        )

    async def _set_my_commands(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        commands = check_commands(params["commands"])
        key = self._commands_key(state, params)
        if commands:
            state.commands[key] = commands
        else:
            state.commands.pop(key, None)
        return True

    async def _get_my_commands(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        return state.commands.get(self._commands_key(state, params), [])

    async def _delete_my_commands(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        state.commands.pop(self._commands_key(state, params), None)
        return True

    async def _set_chat_menu_button(self, state: BotState, params: JsonDict, ctx: _Ctx) -> object:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            log = state.chats.get(chat_id)
            if log is None or log.chat_type != "private":
                raise ApiError(400, CHAT_NOT_FOUND, detail=f"menu button chat {chat_id!r}")
        state.menu_buttons[chat_id] = check_menu_button(params.get("menu_button"))
        return True

    # -- webhook delivery ----------------------------------------------------------------------

    async def _webhook_sender(self, state: BotState) -> None:
        """Deliver queued updates to the webhook in order, retrying each until it gets a 2xx."""
        delay = self.webhook_retry_delay
        while state.webhook is not None and not self._stopping:
            config = state.webhook
            if self._outage or not state.queue:
                await state.wait_changed(0.05 if self._outage else 1.0)
                continue
            entry = state.queue[0]
            entry.delivered = True
            error = await self._post_update(state, config, entry)
            if error is None:
                if entry in state.queue:
                    state.queue.remove(entry)
                config.delivered += 1
                delay = self.webhook_retry_delay
                continue
            config.last_error_date = self._clocks.timestamp()
            config.last_error_message = error
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.webhook_max_retry_delay)

    async def _post_update(
        self, state: BotState, config: WebhookConfig, entry: QueuedUpdate
    ) -> str | None:
        """POST one update; None on success, else Telegram-style last_error_message."""
        assert self._session is not None  # started
        headers = {"Content-Type": "application/json"}
        if config.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = config.secret_token
        try:
            async with self._session.post(
                config.url,
                data=_dumps(entry.as_json()).encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
            ) as response:
                if not 200 <= response.status < 300:
                    return f"Wrong response from the webhook: {response.status} {response.reason}"
                reply = await self._webhook_reply(response)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return f"Connection error: {type(exc).__name__}: {exc}"
        if reply is not None:
            # A webhook may answer with a method call; Telegram runs it and reports nothing back.
            name, params, files = reply
            await self._call(state.token, name, params, files, None)
        return None

    async def _webhook_reply(
        self, response: aiohttp.ClientResponse
    ) -> tuple[str, dict[str, object], dict[str, UploadedFile]] | None:
        """A method call in a webhook response body (JSON, urlencoded or multipart), if any."""
        content_type = response.content_type
        params: dict[str, object] = {}
        files: dict[str, UploadedFile] = {}
        if content_type == "application/json":
            body = await response.read()
            if not body.strip():
                return None
            decoded = json.loads(body)
            if not isinstance(decoded, dict):
                return None
            params.update(decoded)
        elif content_type == "application/x-www-form-urlencoded":
            params.update(parse_qsl(await response.text()))
        elif content_type == "multipart/form-data":
            reader = aiohttp.MultipartReader.from_response(response)
            async for part in reader:
                if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                    continue
                if part.filename:
                    upload = UploadedFile(
                        part.name,
                        part.filename,
                        part.headers.get("Content-Type", ""),
                        bytes(await part.read()),
                    )
                    files[part.name] = upload
                    params[part.name] = upload
                else:
                    params[part.name] = await part.text()
        method = params.pop("method", None)
        if not isinstance(method, str) or not method:
            return None
        name = canonical_method(method) or method
        params = {
            key: value
            for key, value in params.items()
            if not isinstance(value, UploadedFile) or is_file_param(name, key)
        }
        return method, params, files


def _set_or_drop(raw: JsonDict, key: str, value: object) -> None:
    if value is None:
        raw.pop(key, None)
    else:
        raw[key] = value


def _too_many(retry_after: int) -> ApiError:
    return ApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        retry_after=retry_after,
        violation=False,
    )
