"""Turning outbox messages into chat messages, one renderer per message class, by audience.

- `reporter`: the person who reported a fault (every step of their ticket, the fix
  verdict, the rating, data-backup consent, complaints), and staff told of inspections.
- `engineer`: dispatch cards, deadline reminders and pages, consent answers, inspection
  rounds, spare devices due back.
- `dispatcher`: tickets that need an engineer, declined dispatches.
- `manager`: escalation alerts, repeat failures, second visits, complaints, inspection
  reports, spare devices overdue.
- `admin`: messages that could not be delivered, inspection reports that reached nobody.
- `reports`: the monthly summary, the quarterly scorecard, the semiannual survey.
- `replacements`: engineer replacement requests (managers, dispatchers, admins).

`registry` holds `Notice`, `RenderCtx` and the registry itself; importing this package
registers every renderer.
"""

from __future__ import annotations

from bot.notifications import (
    admin,
    dispatcher,
    engineer,
    manager,
    replacements,
    reporter,
    reports,
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
    "manager",
    "render",
    "renders",
    "replacements",
    "reporter",
    "reports",
]
