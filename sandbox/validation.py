"""Request validation for the Bot API emulator: parameter decoding, model checks, Telegram limits.

Everything here is pure (no emulator state): the emulator calls these functions and turns the
`ApiError` they raise into a Telegram-shaped error answer plus a recorded violation.

Facts copied from the Bot API 10.1 description (parameter names, types, required flags) live in
`METHOD_PARAMS`; nothing reads the machine-readable spec at run time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from aiogram import methods as aiogram_methods
from aiogram.methods.base import TelegramMethod
from pydantic import ValidationError

JsonDict = dict[str, Any]

# Telegram's documented limits.
MAX_TEXT_LENGTH: Final = 4096
MAX_CAPTION_LENGTH: Final = 1024
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_INLINE_BUTTONS: Final = 100
MAX_CALLBACK_ANSWER_LENGTH: Final = 200
MAX_COMMANDS: Final = 100
MAX_COMMAND_DESCRIPTION: Final = 256
MAX_SECRET_TOKEN: Final = 256

QUERY_TOO_OLD: Final = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup are"
    " exactly the same as a current content and reply markup of the message"
)
CHAT_NOT_FOUND: Final = "Bad Request: chat not found"


class ApiError(Exception):
    """A Telegram error answer: HTTP status = error_code, plus the description Telegram gives.

    `detail` is extra context that only goes into the recorded violation (Telegram's own
    description stays faithful). `violation` says whether the call was the product's fault:
    by default 400/401/404/409 are, 403 (blocked) and 429 (flood) are runtime conditions.
    """

    def __init__(
        self,
        error_code: int,
        description: str,
        *,
        detail: str = "",
        retry_after: int | None = None,
        violation: bool | None = None,
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.detail = detail
        self.retry_after = retry_after
        self.violation = error_code in {400, 401, 404, 409} if violation is None else violation

    def payload(self) -> JsonDict:
        """The JSON body Telegram answers with."""
        body: JsonDict = {"ok": False, "error_code": self.error_code}
        body["description"] = self.description
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(description: str, detail: str = "") -> ApiError:
    """A 400 error; `description` is given without the 'Bad Request: ' prefix."""
    return ApiError(400, f"Bad Request: {description}", detail=detail)


@dataclass(frozen=True)
class UploadedFile:
    """One multipart file part of a request."""

    field: str
    filename: str
    content_type: str
    data: bytes


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

SEND_METHODS: Final = frozenset({"sendMessage", "sendPhoto", "sendDocument"})

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

CHAT_ACTIONS: Final = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

ENTITY_TYPES: Final = frozenset(
    {
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
        "date_time",
    }
)

_INLINE_BUTTON_ACTIONS: Final = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_BUTTON_STYLES: Final = frozenset({"danger", "success", "primary"})
_COMMAND_SCOPES: Final = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_INT_RE: Final = re.compile(r"-?[0-9]+")
_COMMAND_RE: Final = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE_RE: Final = re.compile(r"[a-z]{2}")
_SECRET_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,256}")
_BUTTON_URL_RE: Final = re.compile(r"(?:https?|tg)://\S+", re.IGNORECASE)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for entity offsets."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


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


def _to_int(name: str, value: object) -> int:
    if isinstance(value, bool):
        raise bad_request(f"invalid {name} specified", f"{name}={value!r} is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
        return int(value.strip())
    raise bad_request(f"invalid {name} specified", f"{name}={value!r} is not an integer")


def _to_bool(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "1", "false", "0"}:
        return value.lower() in {"true", "1"}
    if isinstance(value, int) and value in {0, 1}:
        return bool(value)
    raise bad_request(f"invalid {name} specified", f"{name}={value!r} is not a boolean")


def _decode_value(name: str, kind: str | None, value: object) -> object:
    if isinstance(value, UploadedFile):
        if kind in {"file", "file|str"}:
            return value
        raise bad_request(f"unexpected file in parameter {name}")
    if kind is None:
        return value
    if kind == "str":
        # JSON bodies may carry numbers where a string is expected; Telegram accepts them.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value
    if kind == "int":
        return _to_int(name, value)
    if kind == "int|str":
        if isinstance(value, str) and not _INT_RE.fullmatch(value.strip()):
            return value
        return _to_int(name, value)
    if kind == "bool":
        return _to_bool(name, value)
    if kind == "float":
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            try:
                return float(value)
            except ValueError:
                pass
        raise bad_request(f"invalid {name} specified", f"{name}={value!r} is not a number")
    if kind == "json" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(
                f"can't parse {name} JSON object", f"{name}={value[:80]!r} is not JSON"
            ) from None
    return value


def decode_params(method: str, raw: Mapping[str, object]) -> JsonDict:
    """Turn wire values into typed values, the way Telegram reads them.

    Both client libraries send every string parameter verbatim and every other value
    JSON-serialized (so `chat_id=42` arrives as "42", `true` as "true", reply_markup as a JSON
    string), whether as form fields or as multipart parts; a JSON body already carries typed
    values. Decoding therefore has to follow the parameter's declared type: a text "123" must
    stay a string while a chat_id "123" becomes an int.
    """
    decoded: JsonDict = {}
    for name, value in raw.items():
        kind = param_kind(method, name)
        # An empty form field means "not given" for non-string parameters.
        if value == "" and kind not in {None, "str", "int|str"}:
            continue
        decoded[name] = _decode_value(name, kind, value)
    return decoded


def check_known_params(method: str, params: Mapping[str, object]) -> None:
    """Reject parameters the method does not have.

    Telegram silently ignores unknown parameters; the emulator rejects them because a
    misspelled parameter is a product bug that would otherwise pass unnoticed.
    """
    unknown = sorted(name for name in params if param_kind(method, name) is None)
    if unknown:
        raise bad_request(
            f"unknown parameter {unknown[0]}",
            f"{method} has no parameter(s) {', '.join(unknown)} (Telegram would ignore them)",
        )


def check_with_model(method: str, params: Mapping[str, object]) -> None:
    """Validate types and required fields with aiogram's pydantic model of the method."""
    model = AIOGRAM_MODELS[method]
    data = {
        name: (f"attach://{value.field}" if isinstance(value, UploadedFile) else value)
        for name, value in params.items()
    }
    try:
        model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(part) for part in first["loc"]]
        name = loc[0] if loc else "parameters"
        where = ".".join(loc)
        if first["type"] == "missing" and len(loc) == 1:
            raise bad_request(f"{name} is empty", f"required parameter {name} missing") from None
        raise bad_request(f"invalid {name} specified", f"{where}: {first['msg']}") from None
    for name, spec in METHOD_PARAMS[method].items():
        # aiogram is newer than some tables and vice versa; the API table has the last word.
        if spec.endswith("!") and params.get(name) in (None, ""):
            raise bad_request(f"{name} is empty", f"required parameter {name} missing")


# ---------------------------------------------------------------------------------------------
# Formatted text


@dataclass(frozen=True)
class FormattedText:
    """Text as the recipient sees it plus its entities (offsets in UTF-16 code units)."""

    plain: str
    entities: list[JsonDict] = field(default_factory=list)


_HTML_TAGS: Final[dict[str, str]] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITY_RE: Final = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_HTML_NAMED: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_NAME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_ATTR_NAME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_UNQUOTED_VALUE_RE: Final = re.compile(r"[^\s>\"']+")


class HtmlError(Exception):
    """The text is not valid Telegram HTML; the message mirrors Telegram's wording."""


@dataclass
class _OpenTag:
    name: str
    entity: JsonDict
    start: int
    byte_offset: int
    language: str | None = None


class _HtmlParser:
    """Telegram's HTML subset, parsed strictly.

    Stricter than Telegram in one respect, on purpose: a bare '&' or '>' that is not part of an
    entity is rejected (Telegram's docs require escaping them; its parser happens to tolerate
    them), so a missing html.escape() on user text shows up in tests, not in production when a
    user first types '<'.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.out: list[str] = []
        self.pos16 = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[JsonDict] = []

    def byte_offset(self, index: int) -> int:
        return len(self.text[:index].encode("utf-8"))

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.pos16 += utf16_len(chunk)

    def parse(self) -> FormattedText:
        text = self.text
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "<":
                i = self.tag(i)
            elif ch == "&":
                i = self.entity(i)
            elif ch == ">":
                raise HtmlError(
                    f'Unescaped ">" at byte offset {self.byte_offset(i)}: replace it with &gt;'
                )
            else:
                j = i
                while j < len(text) and text[j] not in "<&>":
                    j += 1
                self.emit(text[i:j])
                i = j
        if self.stack:
            raise HtmlError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return FormattedText("".join(self.out), self.entities)

    def decode_entity(self, match: re.Match[str], at: int) -> str:
        named, decimal, hexadecimal = match.groups()
        if named:
            return _HTML_NAMED[named]
        code = int(decimal) if decimal else int(hexadecimal, 16)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise HtmlError(f"Invalid character reference at byte offset {self.byte_offset(at)}")
        return chr(code)

    def entity(self, i: int) -> int:
        match = _HTML_ENTITY_RE.match(self.text, i)
        if match is None:
            raise HtmlError(
                f'Unescaped "&" at byte offset {self.byte_offset(i)}: replace it with &amp;'
            )
        self.emit(self.decode_entity(match, i))
        return match.end()

    def skip_space(self, j: int) -> int:
        while j < len(self.text) and self.text[j].isspace():
            j += 1
        return j

    def attr_value(self, j: int, tag: str, at: int) -> tuple[str, int]:
        text = self.text
        if j < len(text) and text[j] in "\"'":
            end = text.find(text[j], j + 1)
            if end < 0:
                raise HtmlError(f'Unclosed start tag "{tag}" at byte offset {at}')
            raw, j = text[j + 1 : end], end + 1
        else:
            match = _UNQUOTED_VALUE_RE.match(text, j)
            if match is None:
                raise HtmlError(f'Empty attribute value in the tag "{tag}" at byte offset {at}')
            raw, j = match.group(0), match.end()
        value: list[str] = []
        k = 0
        while k < len(raw):
            if raw[k] == "&":
                match = _HTML_ENTITY_RE.match(raw, k)
                if match is None:
                    raise HtmlError(f'Unescaped "&" in an attribute of "{tag}" at byte offset {at}')
                value.append(self.decode_entity(match, j))
                k = match.end()
            else:
                value.append(raw[k])
                k += 1
        return "".join(value), j

    def tag(self, i: int) -> int:
        text = self.text
        at = self.byte_offset(i)
        j = i + 1
        closing = j < len(text) and text[j] == "/"
        if closing:
            j += 1
        name_match = _TAG_NAME_RE.match(text, j)
        if name_match is None:
            raise HtmlError(f'Unescaped "<" at byte offset {at}: replace it with &lt;')
        name = name_match.group(0).lower()
        j = name_match.end()
        if closing:
            j = self.skip_space(j)
            if j >= len(text) or text[j] != ">":
                raise HtmlError(f"Unclosed end tag at byte offset {at}")
            self.close(name, at)
            return j + 1
        if name not in _HTML_TAGS:
            raise HtmlError(f'Unsupported start tag "{name}" at byte offset {at}')
        attrs: dict[str, str | None] = {}
        while True:
            j = self.skip_space(j)
            if j >= len(text):
                raise HtmlError(f'Unclosed start tag "{name}" at byte offset {at}')
            if text[j] == ">":
                j += 1
                break
            attr_match = _ATTR_NAME_RE.match(text, j)
            if attr_match is None:
                raise HtmlError(f'Empty attribute name in the tag "{name}" at byte offset {at}')
            attr = attr_match.group(0).lower()
            j = self.skip_space(attr_match.end())
            if j < len(text) and text[j] == "=":
                value, j = self.attr_value(self.skip_space(j + 1), name, at)
                attrs[attr] = value
            elif name == "blockquote" and attr == "expandable":
                attrs[attr] = None
            else:
                raise HtmlError(
                    "Expected equal sign in declaration of an attribute of the tag"
                    f' "{name}" at byte offset {at}'
                )
        self.open(name, attrs, at)
        return j

    def open(self, name: str, attrs: dict[str, str | None], at: int) -> None:
        entity: JsonDict = {"type": _HTML_TAGS[name]}
        language: str | None = None
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlError(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
        if name == "a":
            href = (attrs.get("href") or "").strip()
            if not href or any(ch.isspace() for ch in href):
                raise HtmlError(f'Tag "a" needs a valid "href" attribute at byte offset {at}')
            entity["url"] = href
        if name == "tg-emoji":
            emoji_id = attrs.get("emoji-id") or ""
            if not emoji_id.isdigit():
                raise HtmlError(
                    f'Tag "tg-emoji" must have a numeric "emoji-id" at byte offset {at}'
                )
            entity["custom_emoji_id"] = emoji_id
        if name == "blockquote" and "expandable" in attrs:
            entity["type"] = "expandable_blockquote"
        if name == "code":
            css = attrs.get("class") or ""
            if css.startswith("language-"):
                language = css.removeprefix("language-")
        self.stack.append(_OpenTag(name, entity, self.pos16, at, language))

    def close(self, name: str, at: int) -> None:
        if not self.stack:
            raise HtmlError(f"Unexpected end tag at byte offset {at}")
        top = self.stack.pop()
        if top.name != name:
            raise HtmlError(
                f'Unmatched end tag at byte offset {at}, expected "</{top.name}>",'
                f' found "</{name}>"'
            )
        length = self.pos16 - top.start
        if length <= 0:
            return  # Telegram drops empty entities
        entity = {**top.entity, "offset": top.start, "length": length}
        if name == "pre":
            # <pre><code class="language-x">…</code></pre> is one pre entity with a language.
            for inner in list(self.entities):
                if (
                    inner["type"] == "code"
                    and inner["offset"] == top.start
                    and inner["length"] == length
                    and "language" in inner
                ):
                    self.entities.remove(inner)
                    entity["language"] = inner["language"]
        if name == "code" and top.language:
            entity["language"] = top.language
        self.entities.append(entity)


def parse_html(text: str) -> FormattedText:
    """Parse Telegram HTML into plain text + entities; raises ApiError 400 on malformed input."""
    try:
        return _HtmlParser(text).parse()
    except HtmlError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None


def normalize_parse_mode(parse_mode: object) -> str | None:
    """'HTML' | 'Markdown' | 'MarkdownV2' | None; Telegram matches the name case-insensitively."""
    if parse_mode in (None, ""):
        return None
    modes = {"html": "HTML", "markdown": "Markdown", "markdownv2": "MarkdownV2"}
    if isinstance(parse_mode, str) and parse_mode.lower() in modes:
        return modes[parse_mode.lower()]
    raise bad_request("unsupported parse_mode", f"parse_mode={parse_mode!r}")


def check_entities(text: str, entities: object) -> list[JsonDict]:
    """Validate explicitly given entities (instead of parse_mode) against the text."""
    if not isinstance(entities, list):
        raise bad_request("can't parse entities JSON object")
    total = utf16_len(text)
    checked: list[JsonDict] = []
    for entity in entities:
        if not isinstance(entity, dict) or entity.get("type") not in ENTITY_TYPES:
            raise bad_request("can't parse entities: unsupported entity type", repr(entity))
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int):
            raise bad_request("can't parse entities: offset and length must be integers")
        if offset < 0 or length <= 0 or offset + length > total:
            raise bad_request(
                "can't parse entities: entity is out of the text",
                f"entity {entity} but the text has {total} UTF-16 code units",
            )
        checked.append(entity)
    return checked


def format_text(text: str, parse_mode: object, entities: object) -> FormattedText:
    """Apply parse_mode (or explicit entities) to a text or caption.

    HTML is parsed fully. Markdown and MarkdownV2 are accepted but not parsed: their text is
    counted raw (an upper bound) and no entities are produced.
    """
    mode = normalize_parse_mode(parse_mode)
    if mode == "HTML":
        return parse_html(text)
    if mode is not None:
        return FormattedText(text)
    if entities is not None:
        return FormattedText(text, check_entities(text, entities))
    return FormattedText(text)


def check_message_text(text: str, parse_mode: object, entities: object) -> FormattedText:
    """A message text: 1-4096 characters after entity parsing.

    Length is counted in Unicode code points (Python len) of the text after tags are removed
    and entities decoded, which is what "characters after entities parsing" means; for BMP text
    (Latin, Cyrillic, Chinese) this equals the UTF-16 count Telegram uses for offsets.
    """
    formatted = format_text(text, parse_mode, entities)
    if not formatted.plain.strip():
        raise bad_request("message text is empty")
    if len(formatted.plain) > MAX_TEXT_LENGTH:
        raise bad_request(
            "message is too long",
            f"{len(formatted.plain)} characters after entity parsing, limit {MAX_TEXT_LENGTH}",
        )
    return formatted


def check_caption(caption: object, parse_mode: object, entities: object) -> FormattedText:
    """A media caption: 0-1024 characters after entity parsing."""
    if caption is None or caption == "":
        return FormattedText("")
    if not isinstance(caption, str):
        raise bad_request("invalid caption specified")
    formatted = format_text(caption, parse_mode, entities)
    if len(formatted.plain) > MAX_CAPTION_LENGTH:
        raise bad_request(
            "message caption is too long",
            f"{len(formatted.plain)} characters after entity parsing, limit {MAX_CAPTION_LENGTH}",
        )
    return formatted


# ---------------------------------------------------------------------------------------------
# Keyboards


def _rows(markup: JsonDict, key: str) -> list[list[JsonDict]]:
    rows = markup.get(key)
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(f"can't parse reply keyboard markup JSON object: {key} must be rows")
    for row in rows:
        for button in row:
            if not isinstance(button, dict):
                raise bad_request("can't parse keyboard button: button must be an object")
    return rows


def _check_inline_button(button: JsonDict) -> None:
    text = button.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID", f"inline button with empty text: {button}")
    actions = [name for name in _INLINE_BUTTON_ACTIONS if button.get(name) is not None]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
            f"button {text!r} has no action field",
        )
    if len(actions) > 1:
        raise bad_request(
            "can't parse inline keyboard button: exactly one of the optional fields must be used",
            f"button {text!r} has {', '.join(actions)}",
        )
    data = button.get("callback_data")
    if data is not None:
        size = len(data.encode("utf-8")) if isinstance(data, str) else -1
        if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request(
                "BUTTON_DATA_INVALID",
                f"callback_data of button {text!r} is {size} bytes (UTF-8), allowed 1-64",
            )
    url = button.get("url")
    if url is not None and (not isinstance(url, str) or not _BUTTON_URL_RE.fullmatch(url)):
        raise bad_request("BUTTON_URL_INVALID", f"button {text!r} url={url!r}")
    style = button.get("style")
    if style is not None and style not in _BUTTON_STYLES:
        raise bad_request("BUTTON_STYLE_INVALID", f"button {text!r} style={style!r}")


def check_reply_markup(markup: object, *, inline_only: bool = False) -> None:
    """Validate any reply_markup: inline keyboard, reply keyboard, removal or force-reply."""
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = _rows(markup, "inline_keyboard")
        count = sum(len(row) for row in rows)
        if count > MAX_INLINE_BUTTONS:
            raise bad_request("reply markup is too long", f"{count} buttons, limit 100")
        for row in rows:
            for button in row:
                _check_inline_button(button)
        return
    if inline_only:
        raise bad_request("inline keyboard expected", f"reply_markup={markup}")
    if "keyboard" in markup:
        for row in _rows(markup, "keyboard"):
            for button in row:
                text = button.get("text")
                if not isinstance(text, str) or not text.strip():
                    raise bad_request("BUTTON_TEXT_INVALID", f"keyboard button {button}")
                requests = [k for k in ("request_contact", "request_location") if button.get(k)]
                if len(requests) > 1:
                    raise bad_request("BUTTON_TYPE_INVALID", f"keyboard button {button}")
        return
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return
    raise bad_request("can't parse reply keyboard markup JSON object", f"reply_markup={markup}")


def inline_keyboard_of(markup: object) -> list[list[JsonDict]]:
    """The inline keyboard rows of a reply_markup, or [] when it is not an inline keyboard."""
    if isinstance(markup, dict) and isinstance(markup.get("inline_keyboard"), list):
        return [row for row in markup["inline_keyboard"] if isinstance(row, list)]
    return []


# ---------------------------------------------------------------------------------------------
# Commands, menu, misc


def check_language_code(code: object) -> str:
    """A two-letter ISO 639-1 code or the empty string."""
    if code is None or code == "":
        return ""
    if not isinstance(code, str) or not _LANGUAGE_RE.fullmatch(code):
        raise bad_request("LANG_CODE_INVALID", f"language_code={code!r} is not ISO 639-1")
    return code


def check_commands(commands: object) -> list[JsonDict]:
    """setMyCommands' list: at most 100 commands, names [a-z0-9_]{1,32}, descriptions 1-256."""
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > MAX_COMMANDS:
        raise bad_request("BOT_COMMANDS_TOO_MUCH", f"{len(commands)} commands, limit 100")
    seen: set[str] = set()
    checked: list[JsonDict] = []
    for item in commands:
        if not isinstance(item, dict):
            raise bad_request("can't parse BotCommand JSON object")
        name, description = item.get("command"), item.get("description")
        if not isinstance(name, str) or not _COMMAND_RE.fullmatch(name):
            raise bad_request(
                "BOT_COMMAND_INVALID",
                f"command {name!r}: 1-32 chars of lowercase English letters, digits, underscores",
            )
        if name in seen:
            raise bad_request("BOT_COMMAND_INVALID", f"command {name!r} appears twice")
        seen.add(name)
        if not isinstance(description, str) or not (
            len(description.strip()) >= 1 and len(description) <= MAX_COMMAND_DESCRIPTION
        ):
            raise bad_request(
                "BOT_COMMAND_DESCRIPTION_INVALID",
                f"description of {name!r} must have 1-256 characters",
            )
        checked.append({"command": name, "description": description})
    return checked


def check_command_scope(scope: object) -> JsonDict:
    """A BotCommandScope object (default when absent); chat ids are checked by the emulator."""
    if scope is None:
        return {"type": "default"}
    if not isinstance(scope, dict) or scope.get("type") not in _COMMAND_SCOPES:
        raise bad_request("can't parse BotCommandScope JSON object", f"scope={scope!r}")
    kind = scope["type"]
    if kind in {"chat", "chat_administrators", "chat_member"} and scope.get("chat_id") is None:
        raise bad_request("chat_id is empty", f"scope {kind} needs chat_id")
    if kind == "chat_member" and not isinstance(scope.get("user_id"), int):
        raise bad_request("user_id is empty", "scope chat_member needs user_id")
    return dict(scope)


def check_menu_button(button: object) -> JsonDict:
    """A MenuButton object (default when absent)."""
    if button is None:
        return {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in {"commands", "web_app", "default"}:
        raise bad_request("can't parse menu button JSON object", f"menu_button={button!r}")
    if button["type"] == "web_app":
        web_app = button.get("web_app")
        url = web_app.get("url") if isinstance(web_app, dict) else None
        if not button.get("text") or not isinstance(url, str) or not url.startswith("https://"):
            raise bad_request("BUTTON_URL_INVALID", "web_app menu button needs text and https url")
    return dict(button)


def check_chat_action(action: object) -> str:
    """sendChatAction's action must be one of Telegram's action names."""
    if not isinstance(action, str) or action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request", f"action={action!r}")
    return action


def check_callback_answer(text: object, url: object) -> None:
    """answerCallbackQuery's notification text: 0-200 characters."""
    if isinstance(text, str) and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
        raise bad_request(
            "MESSAGE_TOO_LONG", f"callback answer text has {len(text)} characters, limit 200"
        )
    if url is not None and (not isinstance(url, str) or not _BUTTON_URL_RE.fullmatch(url)):
        raise bad_request("URL_INVALID", f"url={url!r}")


def check_allowed_updates(value: object) -> frozenset[str] | None:
    """allowed_updates: None keeps the previous setting; [] means Telegram's default set.

    Telegram ignores unknown names; the emulator rejects them because a misspelled update type
    silently starves the bot.
    """
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise bad_request("can't parse allowed_updates JSON object")
    unknown = sorted(set(value) - UPDATE_TYPES)
    if unknown:
        raise bad_request("unknown update type in allowed_updates", f"unknown: {unknown}")
    if not value:
        return UPDATE_TYPES - DEFAULT_EXCLUDED_UPDATES
    return frozenset(value)


def check_webhook(url: object, secret_token: object, max_connections: object) -> None:
    """setWebhook's url, secret_token (1-256 of A-Z a-z 0-9 _ -) and max_connections (1-100).

    Telegram requires HTTPS on ports 443/80/88/8443; the emulator also accepts plain http on
    any port because its test receivers listen on loopback without TLS.
    """
    if not isinstance(url, str):
        raise bad_request("url is empty")
    if url:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook", url)
    if secret_token is not None and (
        not isinstance(secret_token, str) or not _SECRET_RE.fullmatch(secret_token)
    ):
        raise bad_request(
            "secret token contains unallowed characters",
            "secret_token must be 1-256 characters of A-Z, a-z, 0-9, _ and -",
        )
    if max_connections is not None and (
        not isinstance(max_connections, int) or not 1 <= max_connections <= 100
    ):
        raise bad_request("bad webhook: max_connections must be 1-100")


def summarize(params: Mapping[str, object], keys: Sequence[str] = ("chat_id", "message_id")) -> str:
    """A short 'k=v' rendering of the identifying parameters of a call, for violation lines."""
    shown = [f"{key}={params[key]!r}" for key in keys if key in params]
    return ", ".join(shown)
