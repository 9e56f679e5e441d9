"""Posted reports: `ReportRun` rows keyed by kind and period, created once.

A run is keyed like `monthly-summary:YYYY-MM` or `quarterly-scorecard:YYYY-Qn`, its
figures frozen as JSON; the insert that creates the key also queues the managers'
messages, so a report goes out once however many times or instances the job runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core import outbox
from core.enums import Role
from core.messages import MonthlySummaryPosted, QuarterlyScorecardPosted
from core.models import Person, ReportRun
from core.people import people_with_role
from core.unit_of_work import Core


def run_key(kind: str, period: str) -> str:
    """The idempotency key of a posted report: 'monthly-summary:2026-11'."""
    return f"{kind}:{period}"


@dataclass(frozen=True)
class PostedRun:
    """A report run as stored: its key, when it was created, and the frozen figures."""

    key: str
    kind: str
    period: str
    created_at: datetime
    figures: dict[str, Any]


@dataclass(frozen=True)
class PostResult:
    """What a report job did: posted now (with how many recipients) or found it posted."""

    key: str
    posted: bool
    recipients: int = 0
    reason: str = ""


async def find_run(core: Core, key: str) -> PostedRun | None:
    """The stored run with this key, if any."""
    async with core.reading() as session:
        run = await session.scalar(select(ReportRun).where(ReportRun.key == key))
    if run is None:
        return None
    return PostedRun(run.key, run.kind, run.period, run.created_at, dict(run.figures))


async def service_start(core: Core) -> datetime | None:
    """When the helpdesk started: the first person registered (None: nobody yet)."""
    async with core.reading() as session:
        first: datetime | None = await session.scalar(select(func.min(Person.created_at)))
    return first


async def post_run(
    core: Core,
    *,
    kind: str,
    period: str,
    key: str,
    message_class: type[MonthlySummaryPosted | QuarterlyScorecardPosted],
    figures: dict[str, Any],
) -> PostResult:
    """Insert the run unless its key exists and queue it to every active manager, atomically.

    Two instances (or two runs) racing here both compute figures, but only the one whose
    insert creates the row queues messages; outbox keys per manager guard the rest.
    """
    async with core.transaction() as tx:
        insert = pg_insert if tx.dialect == "postgresql" else sqlite_insert
        created = (
            await tx.session.execute(
                insert(ReportRun)
                .values(
                    key=key,
                    kind=kind,
                    period=period,
                    site_id=None,
                    created_at=tx.now,
                    figures=figures,
                )
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(ReportRun.id)
            )
        ).scalar_one_or_none()
        if created is None:
            return PostResult(key, posted=False, reason="already_posted")
        managers = await people_with_role(tx, Role.MANAGER, None)
        message = message_class(key=key, period=period, figures=figures)
        for manager in managers:
            await outbox.enqueue(tx, message, key=f"{key}:{manager.id}", recipient_id=manager.id)
        await tx.audit("report_run", created, "report.posted", key=key, recipients=len(managers))
        return PostResult(key, posted=True, recipients=len(managers))
