"""Telegram-shaped error answers: what a refused Bot API call gets back.

The emulator turns every `ApiError` raised while serving a call into the JSON body and HTTP
status Telegram would answer with, and records it as a violation when the call was the
product's fault.
"""

from __future__ import annotations

from typing import Final

from sandbox.json_types import JsonDict

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
