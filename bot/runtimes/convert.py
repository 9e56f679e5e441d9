"""Framework-neutral halves of the runtime adapters: commands, kinds of messages, error texts.

Each adapter reads its framework's objects into plain values and calls these, so what
counts as a command, which kind a message is, and which Telegram error means what is
decided once for aiogram and python-telegram-bot alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.chat import ChatUser, Incoming, Kind

# The updates the router understands; everything else (edits, chat-member changes,
# reactions) is not even requested from Telegram.
ALLOWED_UPDATES = ("message", "callback_query")

_COMMAND = re.compile(r"^/(?P<name>[A-Za-z0-9_]{1,32})(?:@(?P<bot>[A-Za-z0-9_]{1,64}))?$")

# Telegram's descriptions of the "bad requests" that in truth mean the chat is gone.
# (PTB strips the "Bad Request: " prefix and capitalises: "Chat not found".)
_GONE = ("chat not found", "user not found", "peer_id_invalid", "bot was kicked")
_NOT_MODIFIED = "message is not modified"


def split_command(text: str, bot_username: str) -> tuple[str, str] | None:
    """('name', 'args') when `text` is a command for this bot; None for anything else.

    The name is lower-cased and stripped of '@botname'; a command addressed to another
    bot ('/help@otherbot' in a group) is not ours and yields None.
    """
    match = _command_head(text)
    if match is None:
        return None
    addressed = match.group("bot")
    if addressed is not None and addressed.lower() != bot_username.lower():
        return None
    parts = text.split(maxsplit=1)
    return match.group("name").lower(), parts[1].strip() if len(parts) > 1 else ""


def _command_head(text: str) -> re.Match[str] | None:
    if not text.startswith("/"):
        return None
    return _COMMAND.match(text.split(maxsplit=1)[0])


@dataclass(frozen=True)
class MessageFields:
    """What the adapters read off a framework's Message, as plain values."""

    update_id: int
    user: ChatUser
    chat_id: int
    chat_type: str
    message_id: int
    text: str | None = None
    caption: str | None = None
    photo_file_id: str | None = None  # the largest size
    contact_phone: str | None = None
    contact_user_id: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    has_document: bool = False
    media_group_id: str | None = None
    reply_to_message_id: int | None = None
    forwarded: bool = False


def message_incoming(fields: MessageFields, bot_username: str) -> Incoming:
    """The neutral update for a message: command, text, photo, contact, location, document."""
    base = Incoming(
        update_id=fields.update_id,
        user=fields.user,
        chat_id=fields.chat_id,
        chat_type=fields.chat_type,
        message_id=fields.message_id,
        kind=Kind.OTHER,
        media_group_id=fields.media_group_id,
        reply_to_message_id=fields.reply_to_message_id,
        forwarded=fields.forwarded,
    )
    if fields.text is not None:
        command = split_command(fields.text, bot_username)
        if command is not None:
            name, args = command
            return replace(base, kind=Kind.COMMAND, text=fields.text, command=name, args=args)
        if _command_head(fields.text) is not None:
            # A command for another bot (in a group): not ours to answer.
            return replace(base, text=fields.text)
        return replace(base, kind=Kind.TEXT, text=fields.text)
    caption = fields.caption or ""
    if fields.photo_file_id is not None:
        return replace(base, kind=Kind.PHOTO, text=caption, photo_file_id=fields.photo_file_id)
    if fields.contact_phone is not None:
        return replace(
            base,
            kind=Kind.CONTACT,
            contact_phone=fields.contact_phone,
            contact_user_id=fields.contact_user_id,
        )
    if fields.latitude is not None and fields.longitude is not None:
        return replace(
            base, kind=Kind.LOCATION, latitude=fields.latitude, longitude=fields.longitude
        )
    if fields.has_document:
        return replace(base, kind=Kind.DOCUMENT, text=caption)
    return replace(base, text=caption)


def callback_incoming(
    *,
    update_id: int,
    user: ChatUser,
    callback_id: str,
    data: str | None,
    chat_id: int | None,
    chat_type: str | None,
    message_id: int | None,
) -> Incoming:
    """The neutral update for a button press (on a message the bot sent, or an old one)."""
    return Incoming(
        update_id=update_id,
        user=user,
        # Presses on inline-mode messages carry no chat; the presser's private chat answers.
        chat_id=chat_id if chat_id is not None else user.id,
        chat_type=chat_type or "private",
        kind=Kind.CALLBACK,
        callback_id=callback_id,
        callback_data=data,
        message_id=message_id,
    )


def is_not_modified(description: str) -> bool:
    """An edit that changed nothing: harmless, treated as success."""
    return _NOT_MODIFIED in description.lower()


def means_chat_gone(description: str) -> bool:
    """A bad request that really says the chat cannot be reached (so: Unreachable)."""
    lowered = description.lower()
    return any(marker in lowered for marker in _GONE)
