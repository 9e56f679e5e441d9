"""The part of the Telegram Bot API the emulator serves: methods, their parameters, updates.

Facts copied from the Bot API 10.1 description (parameter names, types, required flags) live in
`METHOD_PARAMS`; nothing reads the machine-readable spec at run time. aiogram's pydantic model
of each method (`AIOGRAM_MODELS`) complements the tables.
"""

from __future__ import annotations

from typing import Any, Final

from aiogram import methods as aiogram_methods
from aiogram.methods.base import TelegramMethod

# Parameter kinds, copied from the Bot API 10.1 method tables. Kinds: str, int, bool, float,
# int|str (chat ids), file (InputFile only), file|str (upload or file_id), json (objects and
# arrays, which form-encoded clients send as JSON-serialized strings). "!" marks required.
METHOD_PARAMS: Final[dict[str, dict[str, str]]] = {
    "getUpdates": {
        "offset": "int",
        "limit": "int",
        "timeout": "int",
        "allowed_updates": "json",
    },
    "setWebhook": {
        "url": "str!",
        "certificate": "file",
        "ip_address": "str",
        "max_connections": "int",
        "allowed_updates": "json",
        "drop_pending_updates": "bool",
        "secret_token": "str",
    },
    "deleteWebhook": {"drop_pending_updates": "bool"},
    "getWebhookInfo": {},
    "getMe": {},
    "sendMessage": {
        "business_connection_id": "str",
        "chat_id": "int|str!",
        "message_thread_id": "int",
        "direct_messages_topic_id": "int",
        "text": "str!",
        "parse_mode": "str",
        "entities": "json",
        "link_preview_options": "json",
        "disable_notification": "bool",
        "protect_content": "bool",
        "allow_paid_broadcast": "bool",
        "message_effect_id": "str",
        "suggested_post_parameters": "json",
        "reply_parameters": "json",
        "reply_markup": "json",
    },
    "editMessageText": {
        "business_connection_id": "str",
        "chat_id": "int|str",
        "message_id": "int",
        "inline_message_id": "str",
        "text": "str",
        "parse_mode": "str",
        "entities": "json",
        "link_preview_options": "json",
        "rich_message": "json",
        "reply_markup": "json",
    },
    "editMessageReplyMarkup": {
        "business_connection_id": "str",
        "chat_id": "int|str",
        "message_id": "int",
        "inline_message_id": "str",
        "reply_markup": "json",
    },
    "deleteMessage": {"chat_id": "int|str!", "message_id": "int!"},
    "answerCallbackQuery": {
        "callback_query_id": "str!",
        "text": "str",
        "show_alert": "bool",
        "url": "str",
        "cache_time": "int",
    },
    "sendPhoto": {
        "business_connection_id": "str",
        "chat_id": "int|str!",
        "message_thread_id": "int",
        "direct_messages_topic_id": "int",
        "photo": "file|str!",
        "caption": "str",
        "parse_mode": "str",
        "caption_entities": "json",
        "show_caption_above_media": "bool",
        "has_spoiler": "bool",
        "disable_notification": "bool",
        "protect_content": "bool",
        "allow_paid_broadcast": "bool",
        "message_effect_id": "str",
        "suggested_post_parameters": "json",
        "reply_parameters": "json",
        "reply_markup": "json",
    },
    "sendDocument": {
        "business_connection_id": "str",
        "chat_id": "int|str!",
        "message_thread_id": "int",
        "direct_messages_topic_id": "int",
        "document": "file|str!",
        "thumbnail": "file|str",
        "caption": "str",
        "parse_mode": "str",
        "caption_entities": "json",
        "disable_content_type_detection": "bool",
        "disable_notification": "bool",
        "protect_content": "bool",
        "allow_paid_broadcast": "bool",
        "message_effect_id": "str",
        "suggested_post_parameters": "json",
        "reply_parameters": "json",
        "reply_markup": "json",
    },
    "sendMediaGroup": {
        "business_connection_id": "str",
        "chat_id": "int|str!",
        "message_thread_id": "int",
        "direct_messages_topic_id": "int",
        "media": "json!",
        "disable_notification": "bool",
        "protect_content": "bool",
        "allow_paid_broadcast": "bool",
        "message_effect_id": "str",
        "reply_parameters": "json",
    },
    "sendLocation": {
        "business_connection_id": "str",
        "chat_id": "int|str!",
        "message_thread_id": "int",
        "direct_messages_topic_id": "int",
        "latitude": "float!",
        "longitude": "float!",
        "horizontal_accuracy": "float",
        "live_period": "int",
        "heading": "int",
        "proximity_alert_radius": "int",
        "disable_notification": "bool",
        "protect_content": "bool",
        "allow_paid_broadcast": "bool",
        "message_effect_id": "str",
        "suggested_post_parameters": "json",
        "reply_parameters": "json",
        "reply_markup": "json",
    },
    "sendVenue": {
        "business_connection_id": "str",
        "chat_id": "int|str!",
        "message_thread_id": "int",
        "direct_messages_topic_id": "int",
        "latitude": "float!",
        "longitude": "float!",
        "title": "str!",
        "address": "str!",
        "foursquare_id": "str",
        "foursquare_type": "str",
        "google_place_id": "str",
        "google_place_type": "str",
        "disable_notification": "bool",
        "protect_content": "bool",
        "allow_paid_broadcast": "bool",
        "message_effect_id": "str",
        "suggested_post_parameters": "json",
        "reply_parameters": "json",
        "reply_markup": "json",
    },
    "getFile": {"file_id": "str!"},
    "sendChatAction": {
        "business_connection_id": "str",
        "chat_id": "int|str!",
        "message_thread_id": "int",
        "action": "str!",
    },
    "setMyCommands": {"commands": "json!", "scope": "json", "language_code": "str"},
    "getMyCommands": {"scope": "json", "language_code": "str"},
    "deleteMyCommands": {"scope": "json", "language_code": "str"},
    "setChatMenuButton": {"chat_id": "int", "menu_button": "json"},
    "close": {},
    "logOut": {},
}

# Parameters Telegram still accepts although the current tables no longer list them
# (deprecated ones the client libraries may send), and ones newer than 10.1 that aiogram 3.31
# (Bot API 10.3) knows. They are accepted and ignored.
EXTRA_PARAMS: Final[dict[str, str]] = {
    "reply_to_message_id": "int",
    "allow_sending_without_reply": "bool",
    "disable_web_page_preview": "bool",
    "receiver_user_id": "int",
    "callback_query_id": "str",
    "ephemeral_message_parameters": "json",
}

CANONICAL_METHODS: Final[dict[str, str]] = {name.lower(): name for name in METHOD_PARAMS}

SEND_METHODS: Final = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "sendLocation", "sendVenue"}
)

UPDATE_TYPES: Final = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "guest_message",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
        "managed_bot",
    }
)
# Telegram's default when allowed_updates is not given or empty.
DEFAULT_EXCLUDED_UPDATES: Final = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)


def canonical_method(name: str) -> str | None:
    """The served method's canonical name (Telegram matches method names case-insensitively)."""
    return CANONICAL_METHODS.get(name.lower())


def _aiogram_models() -> dict[str, type[TelegramMethod[Any]]]:
    """aiogram's pydantic model for each served method, keyed by API method name."""
    classes: list[type[TelegramMethod[Any]]] = [
        aiogram_methods.GetUpdates,
        aiogram_methods.SetWebhook,
        aiogram_methods.DeleteWebhook,
        aiogram_methods.GetWebhookInfo,
        aiogram_methods.GetMe,
        aiogram_methods.SendMessage,
        aiogram_methods.EditMessageText,
        aiogram_methods.EditMessageReplyMarkup,
        aiogram_methods.DeleteMessage,
        aiogram_methods.AnswerCallbackQuery,
        aiogram_methods.SendPhoto,
        aiogram_methods.SendDocument,
        aiogram_methods.SendMediaGroup,
        aiogram_methods.SendLocation,
        aiogram_methods.SendVenue,
        aiogram_methods.GetFile,
        aiogram_methods.SendChatAction,
        aiogram_methods.SetMyCommands,
        aiogram_methods.GetMyCommands,
        aiogram_methods.DeleteMyCommands,
        aiogram_methods.SetChatMenuButton,
        aiogram_methods.Close,
        aiogram_methods.LogOut,
    ]
    return {cls.__api_method__: cls for cls in classes}


AIOGRAM_MODELS: Final = _aiogram_models()


def param_kind(method: str, name: str) -> str | None:
    """The kind of one parameter ("str", "int", ...) or None when the method has no such one."""
    spec = METHOD_PARAMS[method].get(name)
    if spec is not None:
        return spec.rstrip("!")
    model = AIOGRAM_MODELS.get(method)
    if name in EXTRA_PARAMS and model is not None and name in model.model_fields:
        return EXTRA_PARAMS[name]
    return None


def is_file_param(method: str, name: str) -> bool:
    """Whether a multipart file part with this name is the parameter itself (PTB's way)."""
    return param_kind(method, name) in {"file", "file|str"}
