"""Request validation for the Bot API emulator: parameter decoding, model checks, Telegram limits.

Everything here is pure (no emulator state): the emulator calls these functions and turns the
`ApiError` they raise into a Telegram-shaped error answer plus a recorded violation. What the
methods and their parameters are is described in `sandbox.bot_api`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from pydantic import ValidationError

from sandbox.bot_api import (
    AIOGRAM_MODELS,
    DEFAULT_EXCLUDED_UPDATES,
    METHOD_PARAMS,
    UPDATE_TYPES,
    param_kind,
)
from sandbox.errors import bad_request
from sandbox.json_types import JsonDict
from sandbox.telegram_html import FormattedText, HtmlError, parse_html, utf16_len

# Telegram's documented limits.
MAX_TEXT_LENGTH: Final = 4096
MAX_CAPTION_LENGTH: Final = 1024
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_INLINE_BUTTONS: Final = 100
MAX_CALLBACK_ANSWER_LENGTH: Final = 200
MAX_COMMANDS: Final = 100
MAX_COMMAND_DESCRIPTION: Final = 256
MAX_SECRET_TOKEN: Final = 256


@dataclass(frozen=True)
class UploadedFile:
    """One multipart file part of a request."""

    field: str
    filename: str
    content_type: str
    data: bytes


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
_WEB_APP_URL_RE: Final = re.compile(r"https://\S+", re.IGNORECASE)  # Mini Apps need https


# ---------------------------------------------------------------------------------------------
# Parameters


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
        try:
            return parse_html(text)
        except HtmlError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
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


def _check_inline_button(button: JsonDict, *, private: bool) -> None:
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
    web_app = button.get("web_app")
    if web_app is not None:
        app_url = web_app.get("url") if isinstance(web_app, dict) else None
        if not isinstance(app_url, str) or not _WEB_APP_URL_RE.fullmatch(app_url):
            raise bad_request("BUTTON_URL_INVALID", f"button {text!r} web_app={web_app!r}")
        if not private:  # Telegram allows Mini App buttons only in private chats
            raise bad_request(
                "BUTTON_TYPE_INVALID", f"web_app button {text!r} outside a private chat"
            )
    style = button.get("style")
    if style is not None and style not in _BUTTON_STYLES:
        raise bad_request("BUTTON_STYLE_INVALID", f"button {text!r} style={style!r}")


def check_reply_markup(markup: object, *, inline_only: bool = False, private: bool = True) -> None:
    """Validate any reply_markup: inline keyboard, reply keyboard, removal or force-reply
    (`private`: sent to a private chat, where alone Mini App buttons are allowed)."""
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
                _check_inline_button(button, private=private)
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
