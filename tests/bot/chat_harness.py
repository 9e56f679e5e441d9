"""An in-memory chat for fast handler tests: a transport that enforces Telegram's limits,
and people who type, share contacts and press buttons by their label.

The end-to-end suite runs the same scenarios over real HTTP against the sandbox
emulator with both runtimes; this one checks handler behaviour in milliseconds.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from bot.chat import (
    MAX_CALLBACK_ANSWER,
    MAX_CALLBACK_DATA,
    MAX_CAPTION,
    MAX_TEXT,
    Action,
    AnswerCallback,
    ChatUser,
    EditMessage,
    Incoming,
    InlineKeyboard,
    Keyboard,
    Kind,
    ReplyKeyboard,
    SendDocument,
    SendLocation,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SendVenue,
    Sent,
    SetCommands,
)
from bot.context import BotApp, Ctx
from bot.ratelimit import RateLimits, SendLimiter
from bot.router import Router
from bot.sender import OutboxSender


@dataclass
class ChatMessage:
    """A bot message as the person currently sees it."""

    message_id: int
    chat_id: int
    text: str
    keyboard: Keyboard | None
    edits: list[str] = field(default_factory=list)
    kind: str = "text"
    data: bytes | None = None
    filename: str | None = None

    def buttons(self) -> list[str]:
        """Labels of the inline buttons (or reply-keyboard buttons)."""
        if isinstance(self.keyboard, InlineKeyboard):
            return [b.text for row in self.keyboard.rows for b in row]
        if isinstance(self.keyboard, ReplyKeyboard):
            labels = [label for row in self.keyboard.rows for label in row]
            return (
                [*labels, self.keyboard.request_contact]
                if self.keyboard.request_contact
                else labels
            )
        return []


class RecordingTransport:
    """Performs actions in memory and fails loudly on anything Telegram would refuse."""

    def __init__(self, first_message_id: int = 1000) -> None:
        self.messages: dict[int, list[ChatMessage]] = {}
        self.answers: list[AnswerCallback] = []
        self.menus: list[SetCommands] = []
        self.violations: list[str] = []
        self._ids = itertools.count(first_message_id)

    def _check_keyboard(self, keyboard: Keyboard | None) -> None:
        if isinstance(keyboard, InlineKeyboard):
            for row in keyboard.rows:
                for button in row:
                    if not button.text:
                        self.violations.append("empty button text")
                    if button.data is not None and len(button.data.encode()) > MAX_CALLBACK_DATA:
                        self.violations.append(f"callback data over 64 bytes: {button.data!r}")

    async def perform(self, action: Action) -> Sent:
        """Record `action` as Telegram would apply it."""
        if isinstance(action, SendMessage):
            if not 0 < len(action.text) <= MAX_TEXT:
                self.violations.append(f"text length {len(action.text)}")
            self._check_keyboard(action.keyboard)
            message = ChatMessage(next(self._ids), action.chat_id, action.text, action.keyboard)
            self.messages.setdefault(action.chat_id, []).append(message)
            return Sent(message.message_id)
        if isinstance(action, EditMessage):
            self._check_keyboard(action.keyboard)
            target = next(
                (
                    m
                    for m in self.messages.get(action.chat_id, [])
                    if m.message_id == action.message_id
                ),
                None,
            )
            if target is None:
                self.violations.append(f"edit of unknown message {action.message_id}")
                return Sent(None)
            if target.text == action.text and target.keyboard == action.keyboard:
                self.violations.append(f"message is not modified: {action.text[:60]!r}")
            target.edits.append(target.text)
            target.text, target.keyboard = action.text, action.keyboard
            return Sent(target.message_id)
        if isinstance(action, AnswerCallback):
            if action.text and len(action.text) > MAX_CALLBACK_ANSWER:
                self.violations.append("callback answer over 200 characters")
            self.answers.append(action)
            return Sent(None)
        if isinstance(action, SendPhoto | SendDocument):
            if len(action.caption) > MAX_CAPTION:
                self.violations.append("caption over 1024 characters")
            data = action.photo if isinstance(action, SendPhoto) else action.document
            message = ChatMessage(
                next(self._ids),
                action.chat_id,
                action.caption,
                None,
                kind="photo" if isinstance(action, SendPhoto) else "document",
                data=data if isinstance(data, bytes) else None,
                filename=action.filename,
            )
            self.messages.setdefault(action.chat_id, []).append(message)
            return Sent(message.message_id)
        if isinstance(action, SendMediaGroup):
            if not 2 <= len(action.photos) <= 10:
                self.violations.append(f"album of {len(action.photos)} photos")
            first: int | None = None
            for index, _photo in enumerate(action.photos):
                caption = action.caption if index == 0 else ""
                message = ChatMessage(next(self._ids), action.chat_id, caption, None, kind="photo")
                self.messages.setdefault(action.chat_id, []).append(message)
                first = first or message.message_id
            return Sent(first)
        if isinstance(action, SendLocation | SendVenue):
            text = f"{action.title}\n{action.address}" if isinstance(action, SendVenue) else ""
            kind = "venue" if isinstance(action, SendVenue) else "location"
            message = ChatMessage(next(self._ids), action.chat_id, text, None, kind=kind)
            self.messages.setdefault(action.chat_id, []).append(message)
            return Sent(message.message_id)
        self.menus.append(action)
        return Sent(None)


class Person:
    """Someone chatting with the bot in a private chat."""

    def __init__(self, chat: ChatHarness, user_id: int, name: str, language_code: str) -> None:
        self.chat = chat
        self.user = ChatUser(id=user_id, first_name=name, language_code=language_code)

    @property
    def messages(self) -> list[ChatMessage]:
        """Bot messages in this person's chat."""
        return self.chat.transport.messages.get(self.user.id, [])

    def last(self) -> ChatMessage:
        """The newest bot message here."""
        assert self.messages, "the bot has sent nothing to this person"
        return self.messages[-1]

    def texts(self) -> list[str]:
        """Current texts of every bot message here."""
        return [m.text for m in self.messages]

    async def _send(self, kind: Kind, **fields: object) -> Ctx | None:
        fields.setdefault("message_id", next(self.chat.transport._ids))
        incoming = Incoming(
            update_id=self.chat.next_update_id(),
            user=self.user,
            chat_id=self.user.id,
            kind=kind,
            **fields,  # type: ignore[arg-type]
        )
        return await self.chat.feed(incoming)

    async def send(self, text: str) -> Ctx | None:
        """Type a message (a command when it starts with '/')."""
        if text.startswith("/"):
            head, _, args = text[1:].partition(" ")
            return await self._send(
                Kind.COMMAND, text=text, command=head.split("@")[0].lower(), args=args.strip()
            )
        return await self._send(Kind.TEXT, text=text)

    async def send_photo(self, file_id: str = "photo-file-1") -> Ctx | None:
        """Send a photo."""
        return await self._send(Kind.PHOTO, photo_file_id=file_id)

    async def send_contact(self, phone: str) -> Ctx | None:
        """Share own contact (request_contact button)."""
        return await self._send(Kind.CONTACT, contact_phone=phone, contact_user_id=self.user.id)

    async def send_other(self) -> Ctx | None:
        """Send something the bot does not expect (a sticker, a voice note)."""
        return await self._send(Kind.OTHER)

    async def press(self, label: str, *, message: ChatMessage | None = None) -> Ctx | None:
        """Press the inline button with this label on the newest message that has it."""
        candidates = [message] if message else list(reversed(self.messages))
        for candidate in candidates:
            if isinstance(candidate.keyboard, InlineKeyboard):
                for row in candidate.keyboard.rows:
                    for button in row:
                        if button.text == label and button.data is not None:
                            return await self.press_data(
                                button.data, message_id=candidate.message_id
                            )
        visible = [m.buttons() for m in self.messages if m.buttons()]
        raise AssertionError(f"no button {label!r}; visible: {visible}")

    async def press_data(self, data: str, *, message_id: int | None = None) -> Ctx | None:
        """Send callback data directly (e.g. forged data)."""
        target = message_id if message_id is not None else self.last().message_id
        return await self._send(
            Kind.CALLBACK,
            callback_id=f"cb{self.chat.next_update_id()}",
            callback_data=data,
            message_id=target,
        )

    def answers(self) -> list[AnswerCallback]:
        """Every callback answer the bot gave (all people)."""
        return self.chat.transport.answers


class ChatHarness:
    """A router, its app and an in-memory Telegram."""

    def __init__(
        self, app: BotApp, router: Router, *, first_update_id: int = 1, first_message_id: int = 1000
    ) -> None:
        self.app = app
        self.router = router
        self.transport = RecordingTransport(first_message_id)
        # The in-memory chat has no rate limits to respect; pacing here would only slow tests.
        self.sender = OutboxSender(app, self.transport, limiter=SendLimiter(RateLimits.unlimited()))
        self._update_ids = itertools.count(first_update_id)

    def next_update_id(self) -> int:
        """A fresh update id."""
        return next(self._update_ids)

    def person(self, user_id: int, name: str = "", language_code: str = "en") -> Person:
        """Someone who will talk to the bot."""
        return Person(self, user_id, name or f"user{user_id}", language_code)

    async def feed(self, incoming: Incoming) -> Ctx | None:
        """Handle one update, then deliver whatever it queued."""
        ctx = await self.router.handle(self.app, self.transport, incoming)
        await self.sender.deliver_once()
        return ctx

    async def deliver(self) -> None:
        """Send queued outbox messages (e.g. after the clock moved and due work fired).

        A pass leaves rows that waited behind others of their chain (a manager's alert
        behind the page repeats queued with it) to the next pass, as the running sender
        does; pass again until one sends nothing.
        """
        for _ in range(10):
            if not (await self.sender.deliver_once()).sent:
                return

    def assert_clean(self) -> None:
        """No call Telegram would have refused."""
        assert not self.transport.violations, self.transport.violations
