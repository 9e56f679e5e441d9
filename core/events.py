"""One log line per business event, for the operator: ids and codes, never personal data.

Every audit event is a business event (a person registered, a ticket opened, dispatched,
accepted, arrived, resolved, an escalation step fired, a page acknowledged, a report
posted...). After its transaction commits, each is written to the `core.events` logger
as `action key=value ...`: the entity's id (`ticket=12`), the actor's, and only those
fields of the event that are ids, counts or codes (`SAFE_FIELDS`). Free text (symptoms,
notes, names, phone numbers) never reaches the log. An event caused by due work carries
how late the work fired (`late_s`). The same fields travel as structured attributes,
so the JSON log format has them as keys.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

log = logging.getLogger(__name__)

# Fields whose values are ids, numbers, flags or codes from a fixed set: safe to log.
SAFE_FIELDS: Final = frozenset(
    {
        "actions",
        "asset_id",
        "backup_id",
        "before",
        "by",
        "charged",
        "clock",
        "clocks",
        "confirmed",
        "consent_id",
        "cycle",
        "department_id",
        "engineer_id",
        "impact",
        "invite_id",
        "key",
        "kind",
        "level",
        "max_uses",
        "met",
        "percent",
        "period",
        "previous",
        "raised_to",
        "recipients",
        "remaining",
        "remote",
        "repeats",
        "result",
        "role",
        "score",
        "service_type",
        "severity",
        "site_id",
        "spare_lent",
        "ticket_id",
        "under_warranty",
    }
)
# Attributes a LogRecord has already: an event field of that name would clash.
_RECORD_ATTRIBUTES: Final = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
}


@dataclass(frozen=True)
class BusinessEvent:
    """What the log tells of one committed audit event."""

    action: str
    entity: str
    entity_id: int | None
    actor_id: int | None
    data: Mapping[str, Any]
    late_seconds: float | None = None  # how late the due work that caused it fired

    def fields(self) -> dict[str, Any]:
        """The loggable fields: ids, then the safe part of the event's data."""
        fields: dict[str, Any] = {}
        if self.entity_id is not None:
            fields[self.entity] = self.entity_id
        if self.actor_id is not None:
            fields["actor"] = self.actor_id
        for key, value in sorted(self.data.items()):
            if key in SAFE_FIELDS and _plain(value):
                fields[key] = value
        if self.late_seconds is not None:
            fields["late_s"] = round(self.late_seconds, 3)
        return {key: value for key, value in fields.items() if key not in _RECORD_ATTRIBUTES}


def _plain(value: Any) -> bool:
    """Numbers, flags, short codes, and lists or maps of those."""
    if value is None or isinstance(value, bool | int | float):
        return True
    if isinstance(value, str):
        return len(value) <= 64
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _plain(item) for key, item in value.items())
    return False


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(_text(item) for item in value)
    if isinstance(value, dict):
        return ",".join(f"{key}:{_text(item)}" for key, item in value.items())
    return str(value)


def emit(action: str, fields: Mapping[str, Any]) -> None:
    """Write one event line: `action key=value ...`, the fields also as record attributes."""
    line = " ".join(f"{key}={_text(value)}" for key, value in fields.items())
    log.info("%s %s", action, line, extra={"event": action, **fields})


def log_committed(events: Iterable[BusinessEvent]) -> None:
    """Log the events of a transaction that has just committed."""
    if not log.isEnabledFor(logging.INFO):
        return
    for event in events:
        emit(event.action, event.fields())
