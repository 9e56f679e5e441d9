"""Asset tags (资产编号) and the sticker link that carries one.

A tag is what the register and the sticker say: letters, digits, spaces, slashes, dots,
Chinese characters. It reaches the bot inside a Telegram deep link,
`https://t.me/<bot>?start=<payload>`, whose payload may hold only `A-Za-z0-9_-` and at
most 64 characters. So a tag travels as:

- `asset_<TAG>` when it is made of those characters already (`asset_PC-0001`; stickers
  printed before tags could hold anything else read the same);
- `asset-<base64url of its UTF-8, unpadded>` otherwise (`财务部/PC 01` ->
  `asset-6LSi5Yqh6YOoL1BDIDAx`), which any tag maps to and back without loss.

A tag is accepted only if its payload fits, which allows 58 plain characters or 43 bytes
of UTF-8 (14 Chinese characters).
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from typing import Final

from core.errors import InvalidInput

PAYLOAD_LIMIT: Final = 64  # Telegram: a /start payload holds at most 64 characters
PLAIN_PREFIX: Final = "asset_"
ENCODED_PREFIX: Final = "asset-"
_PLAIN: Final = re.compile(r"[A-Z0-9_-]+")
_PAYLOAD: Final = re.compile(r"[A-Za-z0-9_-]+")


def _canonical(text: str) -> str:
    """Full-width forms as ASCII (ＰＣ－０１ is PC-01), runs of spaces as one, upper case."""
    return " ".join(unicodedata.normalize("NFKC", text).split()).upper()


def sticker_payload(tag: str) -> str:
    """The /start payload that names this (normalized) tag."""
    if _PLAIN.fullmatch(tag):
        return PLAIN_PREFIX + tag
    encoded = base64.urlsafe_b64encode(tag.encode("utf-8")).decode("ascii").rstrip("=")
    return ENCODED_PREFIX + encoded


def normalize_tag(text: str) -> str:
    """The tag as stored; InvalidInput when it is empty, has control characters or is too long."""
    tag = _canonical(text)
    if not tag or any(unicodedata.category(ch)[0] == "C" for ch in tag):
        raise InvalidInput("asset.bad_tag", tag=text.strip()[:64])
    if len(sticker_payload(tag)) > PAYLOAD_LIMIT:
        raise InvalidInput("asset.tag_too_long", tag=tag[:64], limit=PAYLOAD_LIMIT)
    return tag


def is_sticker_payload(payload: str) -> bool:
    """True when a /start payload is meant as a device sticker (well formed or not)."""
    return payload.startswith((PLAIN_PREFIX, ENCODED_PREFIX))


def tag_of_payload(payload: str) -> str | None:
    """The tag a sticker payload names, or None when the payload is damaged."""
    if len(payload) > PAYLOAD_LIMIT or not _PAYLOAD.fullmatch(payload):
        return None
    if payload.startswith(PLAIN_PREFIX):
        text = payload[len(PLAIN_PREFIX) :]
    elif payload.startswith(ENCODED_PREFIX):
        body = payload[len(ENCODED_PREFIX) :]
        try:
            text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
    else:
        return None
    try:
        tag = normalize_tag(text)
    except InvalidInput:
        return None
    # Only the canonical spelling is a valid payload, so each tag has exactly one link.
    return tag if sticker_payload(tag) == payload or payload.startswith(PLAIN_PREFIX) else None
