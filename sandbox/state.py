"""What the emulator keeps, shared by the server and the simulated people.

Per bot token a `BotState`: the update queue, the webhook, and one `ChatLog` per chat with
the messages the bot sent (`SentMessage`) and the people's callback queries. The server
(`sandbox.emulator`) changes it when the bot calls the API; the simulated people
(`sandbox.people`) change it when they act. Neither imports the other's private names:
what they both need is public here.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final, Protocol

from sandbox.bot_api import DEFAULT_EXCLUDED_UPDATES, UPDATE_TYPES
from sandbox.files import FileStore
from sandbox.json_types import JsonDict
from sandbox.keyboards import inline_keyboard_of

FIRST_UPDATE_ID: Final = 100_000_001


class Clocks:
    """The emulator's time: `wall` gives `date` fields, `monotonic` measures ages and rates.

    Both are replaceable while the emulator runs: demos put `wall` on an accelerated clock,
    tests fake `monotonic`.
    """

    def __init__(self, wall: Callable[[], datetime], monotonic: Callable[[], float]) -> None:
        self.wall = wall
        self.monotonic = monotonic

    def timestamp(self) -> int:
        """The wall clock as Unix seconds, as Telegram's `date` fields carry it."""
        now = self.wall()
        if now.tzinfo is None:
            raise ValueError("the emulator clock must return an aware datetime")
        return int(now.timestamp())


class Participant(Protocol):
    """A simulated person as the state needs them: a name for the chat log, a User object."""

    @property
    def first_name(self) -> str:
        """The name the chat log shows."""
        ...

    @property
    def user(self) -> JsonDict:
        """The Telegram User object."""
        ...


class GroupSettings(Protocol):
    """A simulated group as the state needs it: whether the bot is an admin there."""

    @property
    def bot_is_admin(self) -> bool:
        """An admin bot sees every message and may delete people's messages."""
        ...


@dataclass(eq=False)
class SentMessage:
    """A message the bot sent to a chat, as the person sees it now (edits applied)."""

    message_id: int
    chat_id: int
    kind: str  # "text" | "photo" | "document" | "location" | "venue"
    text: str  # what the person reads: plain text, or the caption of a photo/document
    date: datetime
    reply_markup: JsonDict | None = None
    entities: list[JsonDict] = field(default_factory=list)
    source: str = ""  # the text exactly as the bot sent it (HTML source when parse_mode=HTML)
    parse_mode: str | None = None
    file: bytes | None = None
    file_id: str | None = None
    file_name: str | None = None
    edits: list[str] = field(default_factory=list)  # the text after each edit, oldest first
    original_text: str = ""
    deleted: bool = False
    raw: JsonDict = field(default_factory=dict)  # the Telegram Message object, current version

    @property
    def caption(self) -> str | None:
        """The caption of a photo/document (None for text messages)."""
        return None if self.kind == "text" else self.text

    @property
    def location(self) -> tuple[float, float] | None:
        """(latitude, longitude) of a location or venue message (None for others)."""
        where = self.raw.get("location")
        if not isinstance(where, dict):
            return None
        return float(where["latitude"]), float(where["longitude"])

    @property
    def media_group_id(self) -> str | None:
        """The album this message belongs to, if any."""
        group = self.raw.get("media_group_id")
        return str(group) if group is not None else None

    @property
    def edited(self) -> bool:
        """Whether the bot edited this message (text or keyboard)."""
        return "edit_date" in self.raw

    def buttons(self) -> list[list[str]]:
        """Inline keyboard labels, row by row ([] when there is no inline keyboard)."""
        return [
            [str(b.get("text", "")) for b in row] for row in inline_keyboard_of(self.reply_markup)
        ]

    def button_labels(self) -> list[str]:
        """All inline keyboard labels in reading order."""
        return [label for row in self.buttons() for label in row]

    def button(self, label: str, *, contains: bool = False) -> JsonDict | None:
        """The inline button with exactly this label (or containing it), if any."""
        for row in inline_keyboard_of(self.reply_markup):
            for button in row:
                text = str(button.get("text", ""))
                if text == label or (contains and label in text):
                    return button
        return None


@dataclass
class CallbackQueryRecord:
    """One callback query a person produced and how the bot answered it."""

    query_id: str
    chat_id: int
    message_id: int
    user_id: int
    data: str
    created: float  # emulator monotonic time
    forged: bool = False
    answered: bool = False
    answer_text: str | None = None
    show_alert: bool = False


@dataclass
class ChatEvent:
    """One line-worthy thing that happened in a chat, in order."""

    seq: int
    kind: str  # person | bot | edit | press | answer | delete | link | block | system
    line: str
    message: SentMessage | None = None
    text: str = ""  # snapshot of the bot message text at this event
    reply_markup: JsonDict | None = None  # snapshot of its keyboard at this event


class ChatLog:
    """One chat between the bot and people: the shared message-id sequence and the event log."""

    def __init__(self, chat: JsonDict, *, started: bool) -> None:
        self.chat = chat
        self.chat_id: int = chat["id"]
        self.chat_type: str = chat["type"]
        self.started = started  # a private chat is known to the bot after the person's 1st message
        self.bot_messages: dict[int, SentMessage] = {}
        self.person_messages: dict[int, JsonDict] = {}
        self.deleted_person_messages: set[int] = set()
        self.events: list[ChatEvent] = []
        self.cursor = 0  # wait_for() only looks at events after this one
        self.hidden_keyboards: set[int] = set()  # one-time reply keyboards already used
        self._next_message_id = 1
        self._changed = asyncio.Event()

    def allocate_message_id(self) -> int:
        """Next message id; people's and the bot's messages share one sequence, like Telegram."""
        message_id = self._next_message_id
        self._next_message_id += 1
        return message_id

    def record(
        self, kind: str, line: str, message: SentMessage | None = None, *, action: bool = False
    ) -> ChatEvent:
        """Append an event and wake waiters; a person's action also moves the wait cursor."""
        event = ChatEvent(len(self.events) + 1, kind, line, message)
        if message is not None:
            event.text = message.text
            event.reply_markup = message.reply_markup
        self.events.append(event)
        if action:
            self.cursor = event.seq
        self._changed.set()
        self._changed = asyncio.Event()
        return event

    async def wait_changed(self, timeout: float) -> None:  # noqa: ASYNC109  # mirrors wait_for's
        """Sleep until the next event or `timeout` seconds."""
        changed = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), timeout)

    def messages(self) -> list[SentMessage]:
        """The bot's messages in this chat in order (deleted ones included, flagged)."""
        return [self.bot_messages[key] for key in sorted(self.bot_messages)]

    def transcript(self) -> str:
        """All events rendered as a readable conversation."""
        return "\n".join(event.line for event in self.events)

    def find_after_cursor(
        self, predicate: Callable[[SentMessage], bool]
    ) -> tuple[ChatEvent, SentMessage] | None:
        """The first bot message (new or edited) after the cursor whose version then matches."""
        for event in self.events[self.cursor :]:
            if event.kind not in {"bot", "edit"} or event.message is None:
                continue
            if event.message.deleted:
                continue
            snapshot = replace(event.message, text=event.text, reply_markup=event.reply_markup)
            if predicate(snapshot):
                return event, event.message
        return None

    def current_reply_keyboard(self) -> tuple[SentMessage, JsonDict] | None:
        """The reply keyboard the person currently sees, if any."""
        for message in reversed(self.messages()):
            markup = message.reply_markup
            if not isinstance(markup, dict):
                continue
            if markup.get("remove_keyboard"):
                return None
            if "keyboard" in markup:
                if message.message_id in self.hidden_keyboards:
                    return None
                return message, markup
        return None


@dataclass
class QueuedUpdate:
    """An update waiting to be confirmed (getUpdates offset) or delivered (webhook)."""

    update_id: int
    kind: str
    payload: JsonDict
    redelivery: bool = False
    delivered: bool = False

    def as_json(self) -> JsonDict:
        """The Update object."""
        return {"update_id": self.update_id, self.kind: copy.deepcopy(self.payload)}


@dataclass
class WebhookConfig:
    """What setWebhook configured."""

    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    ip_address: str | None
    last_error_date: int | None = None
    last_error_message: str | None = None
    delivered: int = 0


@dataclass
class SendRecord:
    """A successful message send, for rate-limit observation."""

    at: float
    chat_id: int
    chat_type: str
    method: str


@dataclass
class LongPoll:
    """The getUpdates call waiting for updates; a newer call supersedes it."""

    superseded: bool = False


class BotState:
    """Everything the emulator keeps for one bot token."""

    def __init__(
        self,
        token: str,
        username: str,
        first_name: str,
        *,
        privacy_mode: bool,
        clocks: Clocks,
        files: FileStore,
    ) -> None:
        self.token = token
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else zlib.crc32(token.encode())
        self.username = username
        self.first_name = first_name
        self.privacy_mode = privacy_mode
        self.clocks = clocks  # shared by all bots of one emulator
        self.files = files  # the emulator's one store: its file_ids work for every bot
        self.queue: list[QueuedUpdate] = []
        self.history: dict[int, QueuedUpdate] = {}
        self.next_update_id = FIRST_UPDATE_ID
        self.allowed_updates: frozenset[str] = UPDATE_TYPES - DEFAULT_EXCLUDED_UPDATES
        self.webhook: WebhookConfig | None = None
        self.webhook_task: asyncio.Task[None] | None = None
        self.active_poll: LongPoll | None = None
        self.chats: dict[int, ChatLog] = {}
        self.people: dict[int, Participant] = {}
        self.groups: dict[int, GroupSettings] = {}
        self.blocked: set[int] = set()
        self.callbacks: dict[str, CallbackQueryRecord] = {}
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}
        self.menu_buttons: dict[int | None, JsonDict] = {}
        self.sends: list[SendRecord] = []
        self._next_query = 1
        self._next_media_group = 0
        self._changed = asyncio.Event()

    @property
    def user(self) -> JsonDict:
        """The bot as a User object (the `from` of its messages)."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def notify(self) -> None:
        """Wake long polls and the webhook sender."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_changed(self, timeout: float) -> None:  # noqa: ASYNC109  # poll deadline
        """Sleep until the next notify() or `timeout` seconds."""
        changed = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), timeout)

    def enqueue(self, kind: str, payload: JsonDict) -> int | None:
        """Queue an update (a snapshot of `payload`); None when allowed_updates filters it out.

        Like Telegram, allowed_updates applies to updates created after it was set.
        """
        if kind not in self.allowed_updates:
            return None
        entry = QueuedUpdate(self.next_update_id, kind, copy.deepcopy(payload))
        self.next_update_id += 1
        self.history[entry.update_id] = entry
        self.queue.append(entry)
        self.notify()
        return entry.update_id

    def confirm(self, offset: int | None) -> None:
        """Apply getUpdates' offset: confirm (forget) everything before it."""
        if offset is None:
            return
        if offset < 0:
            # "-N" keeps only the last N updates; all previous ones are forgotten.
            self.queue = self.queue[offset:]
            return
        self.queue = [
            entry
            for entry in self.queue
            if (entry.redelivery and not entry.delivered)
            or (not entry.redelivery and entry.update_id >= offset)
        ]

    def take_ready(self, limit: int) -> list[JsonDict]:
        """Up to `limit` unconfirmed updates, oldest first (redeliveries first)."""
        batch = self.queue[:limit]
        for entry in batch:
            entry.delivered = True
        return [entry.as_json() for entry in batch]

    def set_blocked(self, chat_id: int, *, blocked: bool) -> None:
        """The person blocks or unblocks the bot: noted in the chat, queued as my_chat_member."""
        person = self.people.get(chat_id)
        if person is None:
            raise ValueError(f"{chat_id} is not a simulated person")
        if blocked == (chat_id in self.blocked):
            return
        if blocked:
            self.blocked.add(chat_id)
        else:
            self.blocked.discard(chat_id)
        log = self.chats[chat_id]
        verb = "blocked" if blocked else "unblocked"
        log.record("block", f"🚫 {person.first_name} {verb} the bot")
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        self.enqueue(
            "my_chat_member",
            {
                "chat": dict(log.chat),
                "from": person.user,
                "date": self.clocks.timestamp(),
                "old_chat_member": {"status": old, "user": self.user},
                "new_chat_member": {"status": new, "user": self.user, "until_date": 0}
                if blocked
                else {"status": new, "user": self.user},
            },
        )

    def new_media_group_id(self) -> int:
        """A fresh media group id for an album a person sends."""
        self._next_media_group += 1
        return 13_000_000_000_000_000 + self._next_media_group

    def new_query_id(self) -> str:
        """A fresh callback query id (Telegram's are long numeric strings)."""
        query_id = f"{self.bot_id % 1_000_000}{self._next_query:012d}"
        self._next_query += 1
        return query_id
