"""Signed callback data: `action:arg:arg~sig`, at most 64 bytes.

Telegram clients can send any callback data they like, so every button carries a
short HMAC; data that does not verify is answered as an invalid button and never
reaches a handler.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from bot.chat import MAX_CALLBACK_DATA

SEPARATOR = ":"
SIGNATURE_MARK = "~"
SIGNATURE_LENGTH = 8  # base64 characters: 48 bits, ample against guessing


@dataclass(frozen=True)
class Callback:
    """A verified button press."""

    action: str
    args: tuple[str, ...]

    def int_arg(self, index: int) -> int:
        """Argument `index` as an int (ValueError if absent or not a number)."""
        return int(self.args[index])


class CallbackCodec:
    """Packs and verifies callback data with a secret shared by every instance."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._secret, payload.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii")[:SIGNATURE_LENGTH]

    def pack(self, action: str, *args: object) -> str:
        """Build signed data; raises ValueError if it would exceed Telegram's 64 bytes."""
        parts = [action, *(str(arg) for arg in args)]
        if any(SEPARATOR in part or SIGNATURE_MARK in part for part in parts):
            raise ValueError(f"callback parts may not contain {SEPARATOR!r} or {SIGNATURE_MARK!r}")
        payload = SEPARATOR.join(parts)
        data = f"{payload}{SIGNATURE_MARK}{self._sign(payload)}"
        if len(data.encode("utf-8")) > MAX_CALLBACK_DATA:
            raise ValueError(f"callback data over {MAX_CALLBACK_DATA} bytes: {data!r}")
        return data

    def unpack(self, data: str | None) -> Callback | None:
        """The verified callback, or None for forged, truncated or foreign data."""
        if not data or SIGNATURE_MARK not in data:
            return None
        payload, _, signature = data.rpartition(SIGNATURE_MARK)
        # Anyone can send any callback data: compare only what could be ours, as bytes
        # (compare_digest refuses non-ASCII text, and a lone surrogate cannot be encoded).
        if len(signature) != SIGNATURE_LENGTH or not signature.isascii():
            return None
        try:
            expected = self._sign(payload)
        except UnicodeEncodeError:
            return None
        if not hmac.compare_digest(signature.encode("ascii"), expected.encode("ascii")):
            return None
        action, *args = payload.split(SEPARATOR)
        return Callback(action, tuple(args))


def secret_from_token(token: str, extra: str = "") -> bytes:
    """A signing key every instance of one bot derives alike."""
    return hashlib.sha256(f"faultdesk-callbacks:{token}:{extra}".encode()).digest()
