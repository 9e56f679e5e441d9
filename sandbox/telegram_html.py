"""Telegram's HTML subset: text with tags in, plain text and message entities out.

The parser is as strict as the Bot API, and stricter in one respect (see `_HtmlParser`); it
raises `HtmlError` with Telegram's wording, which the validation turns into a 400 answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from sandbox.json_types import JsonDict


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for entity offsets."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


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
    """Parse Telegram HTML into plain text + entities; raises HtmlError on malformed input."""
    return _HtmlParser(text).parse()
