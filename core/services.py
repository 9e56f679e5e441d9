"""The helpdesk's services over one Core, and the due-work handlers they bring."""

from __future__ import annotations

from datetime import timedelta

from core import inspections, reminders, replacements
from core.anchors import AuditAnchors
from core.assets import AssetService
from core.complaints import ComplaintService
from core.pages import PAGE_REPEAT, fire_page_repeat
from core.people import PeopleService
from core.retention import RetentionPolicy
from core.scheduling import DEFAULT_LEASE, DueWorkRunner, Handler
from core.service_sheets import ServiceSheets
from core.sla import batch
from core.sla.deadlines import ESCALATION
from core.sla.escalation import fire_escalation
from core.tickets import PROGRESS, TicketService, fire_progress
from core.unit_of_work import Core


class Helpdesk:
    """Every core service, wired to one database, clock and policy."""

    def __init__(self, core: Core, *, audit_channel: int | None = None) -> None:
        self.core = core
        self.people = PeopleService(core)
        self.assets = AssetService(core)
        self.tickets = TicketService(core)
        self.complaints = ComplaintService(core)
        self.inspections = inspections.InspectionService(core, self.tickets)
        self.retention = RetentionPolicy()  # what the daily retention job keeps; see bootstrap
        self.replacements = replacements.ReplacementService(core)
        self.sheets = ServiceSheets(core)
        self.anchors = AuditAnchors(core, audit_channel)

    def due_work_handlers(self) -> dict[str, Handler]:
        """What the runner calls for each kind of due work."""
        return {
            ESCALATION: fire_escalation,
            PROGRESS: fire_progress,
            PAGE_REPEAT: fire_page_repeat,
            **inspections.HANDLERS,
            **reminders.HANDLERS,
            **replacements.HANDLERS,
        }

    def runner(
        self, *, owner: str | None = None, max_idle: float = 5.0, lease: timedelta = DEFAULT_LEASE
    ) -> DueWorkRunner:
        """A due-work runner over this helpdesk's handlers."""
        return DueWorkRunner(
            self.core,
            self.due_work_handlers(),
            owner=owner,
            max_idle=max_idle,
            lease=lease,
            # Ladder steps due together fire as a batch (see core.sla.batch).
            prefetch={ESCALATION: batch.prefetch_escalations},
            forget=batch.forget,
        )
