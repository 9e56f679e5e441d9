"""Turning outbox messages into chat messages, one renderer per message class, by audience.

- `reporter`: the person who reported a fault (every step of their ticket, the fix
  verdict, the rating, data-backup consent, complaints), and staff told of inspections.
- `engineer`: dispatch cards, deadline reminders and pages, consent answers, inspection
  rounds, spare devices due back.
- `dispatcher`: tickets that need an engineer, declined dispatches.
- `manager`: escalation alerts, repeat failures, second visits, complaints, inspection
  reports, spare devices overdue.
- `admin`: messages that could not be delivered, inspection reports that reached nobody.
- `groups`: a site's alert group (its escalation alerts, with nothing to press).
- `reports`: the monthly summary, the quarterly scorecard, the semiannual survey.
- `thread`: a message one party of a ticket wrote to the others, relayed.
- `replacements`: engineer replacement requests (managers, dispatchers, admins).

`registry` holds `Notice`, `RenderCtx` and the registry itself; importing this package
registers every renderer.
"""

from __future__ import annotations

from bot.notifications import (
    admin,
    dispatcher,
    engineer,
    groups,
    manager,
    replacements,
    reporter,
    reports,
    thread,
)
from bot.notifications.registry import (
    RENDERERS,
    LiveLookups,
    Notice,
    RenderCtx,
    render,
    renders,
)

__all__ = [
    "RENDERERS",
    "LiveLookups",
    "Notice",
    "RenderCtx",
    "admin",
    "dispatcher",
    "engineer",
    "groups",
    "manager",
    "render",
    "renders",
    "replacements",
    "reporter",
    "reports",
    "thread",
]
