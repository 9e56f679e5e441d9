"""The neutral chat model: what a person did, and what the bot does back.

Runtime adapters translate their framework's update into `Incoming` and carry out the
`Action`s through a `Transport`. Everything between (router, handlers, dialogs) sees
only these types, so it behaves the same on aiogram and on python-telegram-bot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, Protocol

# Telegram's documented limits.
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes
MAX_CALLBACK_ANSWER = 200


class Kind(StrEnum):
    """What sort of thing a person sent."""

    TEXT = "text"
    COMMAND = "command"
    CALLBACK = "callback"
    PHOTO = "photo"
    CONTACT = "contact"
    LOCATION = "location"
    DOCUMENT = "document"
    OTHER = "other"


@dataclass(frozen=True)
class ChatUser:
    """The Telegram account behind an update."""

    id: int
    first_name: str = ""
    last_name: str = ""
    username: str | None = None
    language_code: str | None = None

    @property
    def full_name(self) -> str:
        """First and last name, as Telegram shows them."""
        return " ".join(part for part in (self.first_name, self.last_name) if part) or str(self.id)


@dataclass(frozen=True)
class Incoming:
    """One update from a person, stripped of framework types."""

    update_id: int
    user: ChatUser
    chat_id: int
    kind: Kind
    chat_type: str = "private"
    text: str = ""
    command: str = ""  # without the slash and without @botname
    args: str = ""  # text after the command
    callback_id: str | None = None
    callback_data: str | None = None
    message_id: int | None = None  # the message sent, or the one a pressed button belongs to
    photo_file_id: str | None = None
    contact_phone: str | None = None
    contact_user_id: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    media_group_id: str | None = None  # photos sent together as an album share one
    reply_to_message_id: int | None = None  # the message this one answers, if a reply
    forwarded: bool = False  # passed on from someone else (not the sender's own)

    @property
    def is_private(self) -> bool:
        """Sent in a one-to-one chat with the bot."""
        return self.chat_type == "private"

    def to_json(self) -> dict[str, Any]:
        """The update as JSON (for the journal in the database): what `dataclasses.asdict`
        gives, built field by field (every field is a scalar but the user)."""
        data = {name: getattr(self, name) for name in _INCOMING_FIELDS}
        data["user"] = {name: getattr(self.user, name) for name in _USER_FIELDS}
        data["kind"] = self.kind.value
        return data

    @staticmethod
    def from_json(data: dict[str, Any]) -> Incoming:
        """Back from `to_json`; keys this version does not know are ignored."""
        values = {key: value for key, value in data.items() if key in _INCOMING_FIELDS}
        user = dict(values.pop("user"))
        values["user"] = ChatUser(**{k: v for k, v in user.items() if k in _USER_FIELDS})
        values["kind"] = Kind(values["kind"])
        return Incoming(**values)


_INCOMING_FIELDS = tuple(f.name for f in fields(Incoming))
_USER_FIELDS = tuple(f.name for f in fields(ChatUser))


@dataclass(frozen=True)
class Button:
    """An inline button: callback data, a URL, or a Mini App (web_app; private chats only)."""

    text: str
    data: str | None = None
    url: str | None = None
    web_app: str | None = None  # the https address the Mini App opens


@dataclass(frozen=True)
class InlineKeyboard:
    """Rows of inline buttons under a message."""

    rows: tuple[tuple[Button, ...], ...]

    @staticmethod
    def of(*rows: Sequence[Button]) -> InlineKeyboard:
        """Build from rows, dropping empty ones."""
        return InlineKeyboard(tuple(tuple(row) for row in rows if row))


@dataclass(frozen=True)
class ReplyKeyboard:
    """A keyboard replacing the phone's keyboard; one button may ask for the contact."""

    rows: tuple[tuple[str, ...], ...]
    request_contact: str | None = None  # label of a button that shares the phone number
    one_time: bool = True
    request_location: str | None = None  # label of a button that shares where the phone is


@dataclass(frozen=True)
class RemoveKeyboard:
    """Take a reply keyboard away."""


Keyboard = InlineKeyboard | ReplyKeyboard | RemoveKeyboard


@dataclass(frozen=True)
class SendMessage:
    """Send a text message (HTML)."""

    chat_id: int
    text: str
    keyboard: Keyboard | None = None


@dataclass(frozen=True)
class EditMessage:
    """Replace the text and inline keyboard of an earlier bot message."""

    chat_id: int
    message_id: int
    text: str
    keyboard: InlineKeyboard | None = None


@dataclass(frozen=True)
class AnswerCallback:
    """Acknowledge a button press, optionally with a short notice."""

    callback_id: str
    text: str | None = None
    alert: bool = False


@dataclass(frozen=True)
class SendPhoto:
    """Send a picture: raw bytes (e.g. a chart) or a Telegram file id."""

    chat_id: int
    photo: bytes | str
    caption: str = ""
    filename: str = "chart.png"


@dataclass(frozen=True)
class SendMediaGroup:
    """Send 2-10 pictures as one album (Telegram file ids); the caption goes on the first."""

    chat_id: int
    photos: tuple[str, ...]
    caption: str = ""


@dataclass(frozen=True)
class SendLocation:
    """Send a point on the map."""

    chat_id: int
    latitude: float
    longitude: float


@dataclass(frozen=True)
class SendVenue:
    """Send a named place on the map (a site with its address)."""

    chat_id: int
    latitude: float
    longitude: float
    title: str
    address: str


@dataclass(frozen=True)
class SendDocument:
    """Send a file (CSV, XLSX reports)."""

    chat_id: int
    document: bytes
    filename: str
    caption: str = ""


@dataclass(frozen=True)
class BotCommand:
    """One entry of the commands menu."""

    command: str
    description: str


@dataclass(frozen=True)
class SetCommands:
    """Set the commands menu for a language (None: the default menu)."""

    commands: tuple[BotCommand, ...]
    language_code: str | None = None


@dataclass(frozen=True)
class SetMenuButton:
    """Set one private chat's menu button: a Mini App (text and https url) or the default."""

    chat_id: int
    text: str | None = None
    url: str | None = None  # None: Telegram's default menu button


Action = (
    SendMessage
    | EditMessage
    | AnswerCallback
    | SendPhoto
    | SendMediaGroup
    | SendLocation
    | SendVenue
    | SendDocument
    | SetCommands
    | SetMenuButton
)
# What a message may carry after its text (bot.notifications.Notice.attachments).
Attachment = SendPhoto | SendMediaGroup | SendLocation | SendVenue | SendDocument


@dataclass
class Sent:
    """What the transport reports back for a sent message."""

    message_id: int | None


class Transport(Protocol):
    """Carries out actions against Telegram; implemented by each runtime adapter."""

    async def perform(self, action: Action) -> Sent:
        """Do one action; raise a TransportError subclass on failure."""
        ...


class TransportError(Exception):
    """Sending failed."""


class RetryAfter(TransportError):
    """Telegram asked us to wait (HTTP 429)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class Unreachable(TransportError):
    """The chat cannot be reached for good (bot blocked, chat not found)."""


class NetworkError(TransportError):
    """A transient failure: timeout, connection reset, server error."""


class BadRequest(TransportError):
    """Telegram rejected the call (a bug on our side, or a stale edit)."""


@dataclass
class Reply:
    """Actions a handler wants performed, in order."""

    actions: list[Action] = field(default_factory=list)

    def add(self, action: Action) -> Reply:
        """Append one action."""
        self.actions.append(action)
        return self
