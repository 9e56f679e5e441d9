"""Simulated people and group chats: the user side of the emulator that tests and demos drive.

A `SimulatedPerson` types messages, presses buttons and reads what the bot sent; every action
becomes an Update queued for the bot exactly as Telegram would produce it. Each chat keeps an
ordered event log (`sandbox.state.ChatLog`) from which `transcript()` renders a readable
conversation and `wait_for()` picks bot messages. People act on the state the server keeps;
they never call the server.
"""

from __future__ import annotations

import asyncio
import re
import zlib
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from sandbox.images import make_png
from sandbox.json_types import JsonDict
from sandbox.keyboards import inline_keyboard_of
from sandbox.state import BotState, CallbackQueryRecord, ChatLog, SentMessage
from sandbox.telegram_html import utf16_len
from sandbox.transcript import indent_continuation, render_keyboard

MessageMatch = str | Callable[[SentMessage], bool]
# Telegram's rule for a deep link's start parameter.
START_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")

TINY_PNG = make_png(4, 3)
TINY_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _predicate(match: MessageMatch) -> Callable[[SentMessage], bool]:
    if isinstance(match, str):
        return lambda message: match in message.text
    return match


class ChatView:
    """Reading side shared by people (their private chat) and groups."""

    _bot: BotState

    def _log(self) -> ChatLog:
        raise NotImplementedError

    def messages(self, *, include_deleted: bool = False) -> list[SentMessage]:
        """Everything the bot sent to this chat, in order, with edits applied."""
        return [m for m in self._log().messages() if include_deleted or not m.deleted]

    def last(self) -> SentMessage:
        """The newest message the bot sent to this chat (AssertionError when there is none)."""
        messages = self.messages()
        if not messages:
            raise AssertionError(f"the bot has sent nothing here\n{self.transcript()}")
        return messages[-1]

    def transcript(self) -> str:
        """A readable transcript of this chat."""
        return self._log().transcript()

    async def wait_for(self, match: MessageMatch, timeout: float = 30.0) -> SentMessage:  # noqa: ASYNC109  # the documented API
        """Wait for a bot message, new or edited, that contains `match` or satisfies it.

        Only messages that appeared or changed after the latest action in this chat (or after
        the previous wait_for match) count, so waiting for a reply never returns a stale one.
        Raises AssertionError with the transcript on timeout (a generous safety net).
        """
        log = self._log()
        predicate = _predicate(match)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = log.find_after_cursor(predicate)
            if found is not None:
                event, message = found
                log.cursor = event.seq
                return message
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await log.wait_changed(remaining)
        earlier = [m for m in self.messages() if predicate(m)]
        hint = (
            f"\n(an earlier message matches: #{earlier[-1].message_id}; only messages after the"
            " last action or the previous match are considered)"
            if earlier
            else ""
        )
        raise AssertionError(
            f"no bot message matching {match!r} within {timeout}s{hint}\n"
            f"--- transcript ---\n{self.transcript()}"
        )


class SimulatedGroup(ChatView):
    """A group chat the bot is a member of."""

    def __init__(
        self,
        bot: BotState,
        chat_id: int,
        title: str,
        *,
        username: str | None,
        bot_is_admin: bool,
    ) -> None:
        self._bot = bot
        self.chat_id = chat_id
        self.title = title
        self.username = username
        self.bot_is_admin = bot_is_admin

    @property
    def chat(self) -> JsonDict:
        """The Telegram Chat object."""
        return dict(self._log().chat)

    def _log(self) -> ChatLog:
        return self._bot.chats[self.chat_id]

    def __repr__(self) -> str:
        return f"SimulatedGroup({self.chat_id}, {self.title!r})"


class SimulatedChannel(ChatView):
    """A channel the bot posts to as an administrator; its readers cannot write to the bot."""

    def __init__(
        self, bot: BotState, chat_id: int, title: str, *, username: str | None, bot_is_admin: bool
    ) -> None:
        self._bot = bot
        self.chat_id = chat_id
        self.title = title
        self.username = username
        self.bot_is_admin = bot_is_admin  # only an administrator may post in a channel

    @property
    def chat(self) -> JsonDict:
        """The Telegram Chat object."""
        return dict(self._log().chat)

    def _log(self) -> ChatLog:
        return self._bot.chats[self.chat_id]

    def __repr__(self) -> str:
        return f"SimulatedChannel({self.chat_id}, {self.title!r})"


class SimulatedPerson(ChatView):
    """A Telegram user talking to the bot in a private chat (and in groups)."""

    def __init__(
        self,
        bot: BotState,
        user_id: int,
        first_name: str,
        language_code: str,
        *,
        username: str | None = None,
        last_name: str | None = None,
        phone_number: str | None = None,
    ) -> None:
        self._bot = bot
        self.user_id = user_id
        self.first_name = first_name
        self.language_code = language_code
        self.username = username
        self.last_name = last_name
        self.phone_number = phone_number or f"+1555{user_id % 10_000_000:07d}"

    def __repr__(self) -> str:
        return f"SimulatedPerson({self.user_id}, {self.first_name!r})"

    @property
    def chat_id(self) -> int:
        """The private chat with the bot has the user's id."""
        return self.user_id

    @property
    def user(self) -> JsonDict:
        """The Telegram User object."""
        user: JsonDict = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def _log(self) -> ChatLog:
        return self._bot.chats[self.user_id]

    # -- sending ---------------------------------------------------------------------------

    def _open_private_chat(self) -> ChatLog:
        """First contact makes the chat known to the bot; writing again lifts a block."""
        log = self._log()
        log.started = True
        if self.user_id in self._bot.blocked:
            self._bot.set_blocked(self.user_id, blocked=False)
        return log

    def _deliver(
        self,
        log: ChatLog,
        content: JsonDict,
        line: str,
        *,
        reply_to: SentMessage | None = None,
    ) -> JsonDict:
        """Build the Message, log it, and queue the update if the bot can see it."""
        message: JsonDict = {
            "message_id": log.allocate_message_id(),
            "from": self.user,
            "chat": dict(log.chat),
            "date": self._bot.clocks.timestamp(),
            **content,
        }
        if reply_to is not None:
            message["reply_to_message"] = dict(reply_to.raw)
        log.person_messages[message["message_id"]] = message
        visible = log.chat_type == "private" or self._bot_sees_in_group(log, content, reply_to)
        suffix = "" if visible else "   (not seen by the bot: privacy mode)"
        log.record("person", line + suffix, action=True)
        if visible:
            self._bot.enqueue("message", message)
        return message

    def _bot_sees_in_group(
        self, log: ChatLog, content: JsonDict, reply_to: SentMessage | None
    ) -> bool:
        """Privacy mode: in groups a bot only gets commands, replies to it and mentions."""
        group = self._bot.groups.get(log.chat_id)
        if not self._bot.privacy_mode or (group is not None and group.bot_is_admin):
            return True
        if reply_to is not None:
            return True
        text = str(content.get("text", ""))
        return text.startswith("/") or f"@{self._bot.username}".lower() in text.lower()

    @staticmethod
    def _text_content(text: str) -> JsonDict:
        content: JsonDict = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        return content

    async def send(self, text: str, *, reply_to: SentMessage | None = None) -> int:
        """Send a text message to the bot; returns its message_id."""
        log = self._open_private_chat()
        message = self._deliver(
            log,
            self._text_content(text),
            f"👤 {self.first_name}: {indent_continuation(text)}",
            reply_to=reply_to,
        )
        await asyncio.sleep(0)  # let a waiting long poll run
        return int(message["message_id"])

    def opened_chat_before(self) -> None:
        """Make the private chat known to the bot without sending anything.

        For people seeded straight into the database: in real life they would have
        started the bot (redeeming an invitation) long before, so the bot may write first.
        """
        self._open_private_chat()

    async def start(self, payload: str | None = None) -> int:
        """Send /start, or /start <payload> as a deep link opens it."""
        return await self.send("/start" if payload is None else f"/start {payload}")

    async def open_link(self, url: str) -> int:
        """Open a deep link as a phone does (a scanned QR code, a tapped link): /start <payload>.

        Only `https://t.me/<this bot>?start=<payload>` opens this chat; Telegram allows a
        payload of at most 64 characters from A-Za-z0-9_-. Anything else raises ValueError,
        so a link the real Telegram would not carry fails the test that made it.
        """
        parsed = urlsplit(url)
        if parsed.scheme != "https" or parsed.netloc.lower() not in ("t.me", "telegram.me"):
            raise ValueError(f"not a Telegram link: {url!r}")
        username = parsed.path.strip("/")
        if username.lower() != self._bot.username.lower():
            raise ValueError(f"the link opens @{username}, not this bot (@{self._bot.username})")
        payloads = parse_qs(parsed.query, keep_blank_values=True).get("start")
        if payloads is None:
            return await self.start()
        payload = payloads[0]
        if not START_PAYLOAD.fullmatch(payload):
            raise ValueError(f"Telegram would not pass on the start payload {payload!r}")
        self._log().record("link", f"👤 {self.first_name} opened {url}")
        return await self.start(payload)

    async def send_in(self, group: SimulatedGroup, text: str) -> int:
        """Send a text message in a group chat."""
        log = self._bot.chats[group.chat_id]
        message = self._deliver(
            log, self._text_content(text), f"👤 {self.first_name}: {indent_continuation(text)}"
        )
        await asyncio.sleep(0)
        return int(message["message_id"])

    async def send_photo(
        self,
        data: bytes = TINY_PNG,
        *,
        caption: str | None = None,
        reply_to: SentMessage | None = None,
    ) -> int:
        """Send a photo (default: a tiny valid PNG), optionally as a reply to a bot message."""
        stored = self._bot.files.add(data, kind="photo", mime_type="image/png")
        content: JsonDict = {"photo": [stored.photo_size()]}
        if caption:
            content["caption"] = caption
        line = f"👤 {self.first_name}: [photo] {caption or ''}".rstrip()
        message = self._deliver(self._open_private_chat(), content, line, reply_to=reply_to)
        await asyncio.sleep(0)
        return int(message["message_id"])

    async def send_album(
        self,
        count: int = 2,
        *,
        caption: str | None = None,
        reply_to: SentMessage | None = None,
    ) -> list[int]:
        """Send several photos at once, as Telegram delivers an album.

        One message (and one update) per photo, all with the same `media_group_id`, queued
        back to back with nothing in between, the way a phone's album arrives; the caption,
        if any, is on the first.
        """
        if not 2 <= count <= 10:
            raise ValueError("an album holds 2 to 10 photos")
        log = self._open_private_chat()
        group_id = str(self._bot.new_media_group_id())
        sent = []
        for index in range(count):
            stored = self._bot.files.add(
                make_png(4 + index, 3), kind="photo", mime_type="image/png"
            )
            content: JsonDict = {"photo": [stored.photo_size()], "media_group_id": group_id}
            if caption and index == 0:
                content["caption"] = caption
            line = f"👤 {self.first_name}: [album photo {index + 1}/{count}] {caption or ''}"
            message = self._deliver(log, content, line.rstrip(), reply_to=reply_to)
            sent.append(int(message["message_id"]))
        await asyncio.sleep(0)
        return sent

    async def send_document(
        self,
        data: bytes = TINY_PDF,
        *,
        file_name: str = "document.pdf",
        mime_type: str = "application/pdf",
        caption: str | None = None,
    ) -> int:
        """Send a file as a document."""
        stored = self._bot.files.add(
            data, kind="document", file_name=file_name, mime_type=mime_type
        )
        content: JsonDict = {"document": stored.document()}
        if caption:
            content["caption"] = caption
        line = f"👤 {self.first_name}: [document {file_name}] {caption or ''}".rstrip()
        message = self._deliver(self._open_private_chat(), content, line)
        await asyncio.sleep(0)
        return int(message["message_id"])

    async def send_contact(self, phone: str | None = None, *, first_name: str | None = None) -> int:
        """Share a contact (default: the person's own, as a request_contact button does)."""
        own = phone is None or phone == self.phone_number
        contact: JsonDict = {
            "phone_number": phone or self.phone_number,
            "first_name": first_name or self.first_name,
        }
        if own:
            contact["user_id"] = self.user_id
        line = f"👤 {self.first_name}: [contact {contact['phone_number']}]"
        message = self._deliver(self._open_private_chat(), {"contact": contact}, line)
        await asyncio.sleep(0)
        return int(message["message_id"])

    async def send_location(
        self, latitude: float, longitude: float, *, forwarded_from: JsonDict | None = None
    ) -> int:
        """Share a location (or forward one someone else sent: `forwarded_from` is their User)."""
        location = {"latitude": latitude, "longitude": longitude}
        content: JsonDict = {"location": location}
        line = f"👤 {self.first_name}: [location {latitude}, {longitude}]"
        if forwarded_from is not None:
            content["forward_origin"] = {
                "type": "user",
                "date": self._bot.clocks.timestamp(),
                "sender_user": forwarded_from,
            }
            line += " (forwarded)"
        message = self._deliver(self._open_private_chat(), content, line)
        await asyncio.sleep(0)
        return int(message["message_id"])

    async def send_sticker(self, emoji: str = "👍") -> int:
        """Send a sticker: a message type a helpdesk bot does not expect."""
        stored = self._bot.files.add(TINY_PNG, kind="sticker", mime_type="image/webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        line = f"👤 {self.first_name}: [sticker {emoji}]"
        message = self._deliver(self._open_private_chat(), {"sticker": sticker}, line)
        await asyncio.sleep(0)
        return int(message["message_id"])

    async def reply_keyboard(self, label: str) -> int:
        """Tap a reply-keyboard button: sends its label, or the contact/location it requests."""
        log = self._log()
        current = log.current_reply_keyboard()
        if current is None:
            raise AssertionError(f"{self.first_name} sees no reply keyboard\n{self.transcript()}")
        source, markup = current
        for row in markup.get("keyboard", []):
            for button in row:
                if not isinstance(button, dict) or button.get("text") != label:
                    continue
                if markup.get("one_time_keyboard"):
                    log.hidden_keyboards.add(source.message_id)
                if button.get("request_contact"):
                    return await self.send_contact()
                if button.get("request_location"):
                    return await self.send_location(55.7558, 37.6173)
                return await self.send(label)
        visible = " ".join(render_keyboard(markup)).strip()
        raise AssertionError(f"no reply keyboard button {label!r}; visible: {visible}")

    # -- buttons -----------------------------------------------------------------------------

    async def press(
        self, label: str, *, message: SentMessage | None = None, contains: bool = False
    ) -> CallbackQueryRecord:
        """Press the inline button with exactly this label (or containing it, contains=True).

        Looks at `message`, or else at the bot's messages in this chat from the newest back.
        Raises AssertionError listing the visible buttons when no such button exists.
        """
        chat_id = message.chat_id if message is not None else self.user_id
        return await self._press(self._bot.chats[chat_id], label, message, contains)

    async def press_in(
        self,
        group: SimulatedGroup,
        label: str,
        *,
        message: SentMessage | None = None,
        contains: bool = False,
    ) -> CallbackQueryRecord:
        """Press an inline button on a bot message in a group chat."""
        return await self._press(self._bot.chats[group.chat_id], label, message, contains)

    async def _press(
        self, log: ChatLog, label: str, message: SentMessage | None, contains: bool
    ) -> CallbackQueryRecord:
        candidates = [message] if message is not None else list(reversed(log.messages()))
        for candidate in candidates:
            if candidate.deleted:
                continue
            matches = [
                button
                for row in inline_keyboard_of(candidate.reply_markup)
                for button in row
                if button.get("text") == label or (contains and label in str(button.get("text")))
            ]
            if len(matches) > 1:
                labels = [str(b.get("text")) for b in matches]
                raise AssertionError(f"{label!r} matches several buttons: {labels}")
            if not matches:
                continue
            button = matches[0]
            if "callback_data" not in button:
                kind = next((k for k in button if k != "text"), "?")
                raise AssertionError(
                    f"button {button.get('text')!r} is a {kind} button, not a callback button"
                )
            return await self._callback(log, candidate, str(button["callback_data"]), button)
        raise AssertionError(
            f"{self.first_name}: no button {label!r}{' (contains)' if contains else ''}."
            f" Visible buttons:\n{self._visible_buttons(log)}\n--- transcript ---\n"
            f"{log.transcript()}"
        )

    @staticmethod
    def _visible_buttons(log: ChatLog) -> str:
        lines = []
        for candidate in reversed(log.messages()):
            rows = render_keyboard(candidate.reply_markup)
            if candidate.deleted or not rows:
                continue
            lines.append(f"  #{candidate.message_id} {candidate.text[:60]!r}")
            lines.extend("  " + row for row in rows)
        return "\n".join(lines) or "  (none)"

    async def press_data(
        self, data: str, *, message: SentMessage | None = None
    ) -> CallbackQueryRecord:
        """Send forged callback data on the newest keyboard message (tests of forged input)."""
        log = self._log() if message is None else self._bot.chats[message.chat_id]
        if message is None:
            live = [m for m in log.messages() if not m.deleted]
            with_keyboard = [m for m in live if inline_keyboard_of(m.reply_markup)]
            pool = with_keyboard or live
            if not pool:
                raise AssertionError(f"no bot message to attach forged data to\n{log.transcript()}")
            message = pool[-1]
        return await self._callback(log, message, data, None)

    async def _callback(
        self, log: ChatLog, message: SentMessage, data: str, button: JsonDict | None
    ) -> CallbackQueryRecord:
        record = CallbackQueryRecord(
            query_id=self._bot.new_query_id(),
            chat_id=log.chat_id,
            message_id=message.message_id,
            user_id=self.user_id,
            data=data,
            created=self._bot.clocks.monotonic(),
            forged=button is None,
        )
        self._bot.callbacks[record.query_id] = record
        if button is None:
            line = f"👤 {self.first_name} sent forged callback data {data!r}"
        else:
            line = f"👤 {self.first_name} pressed [{button.get('text')}]"
        log.record("press", line, action=True)
        self._bot.enqueue(
            "callback_query",
            {
                "id": record.query_id,
                "from": self.user,
                "message": message.raw,
                "chat_instance": str(zlib.crc32(f"{self._bot.token}:{log.chat_id}".encode())),
                "data": data,
            },
        )
        await asyncio.sleep(0)
        return record

    def open_url(self, label: str) -> str:
        """The URL of a url button in the newest message that has it (no update is sent)."""
        for candidate in reversed(self._log().messages()):
            button = candidate.button(label)
            if button is not None and "url" in button and not candidate.deleted:
                self._log().record("link", f"👤 {self.first_name} opened [{label}]")
                return str(button["url"])
        raise AssertionError(f"no url button {label!r}\n{self._visible_buttons(self._log())}")

    def callback_queries(self) -> list[CallbackQueryRecord]:
        """Every callback query this person produced, oldest first."""
        return [q for q in self._bot.callbacks.values() if q.user_id == self.user_id]
