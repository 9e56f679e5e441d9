"""Domain errors carry a stable code and parameters; the chat layer translates them."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule of the domain was broken. `code` is stable and translatable."""

    code = "error"

    def __init__(self, code: str | None = None, **params: Any) -> None:
        self.code = code or self.code
        self.params = params
        super().__init__(f"{self.code} {params}" if params else self.code)


class IllegalTransition(DomainError):
    """A ticket cannot move from its state by the requested action."""

    code = "ticket.illegal_transition"


class NotFound(DomainError):
    """The referenced record does not exist."""

    code = "not_found"


class PermissionDenied(DomainError):
    """The acting person may not do this."""

    code = "permission_denied"


class InvalidInput(DomainError):
    """A value given by a person or a file is not acceptable."""

    code = "invalid_input"


class Conflict(DomainError):
    """The record changed under the caller (stale button, concurrent edit)."""

    code = "conflict"
