"""What renderers may read live (`bot.notifications.registry.LiveLookups`), over the helpdesk."""

from __future__ import annotations

from datetime import datetime

from core.models import Person
from core.reports.details import KpiDetails, kpi_details
from core.service_sheets import ServiceSheetView
from core.services import Helpdesk


class HelpdeskLookups:
    """Engineers free for a ticket, a period's KPI details and its service sheets."""

    def __init__(self, helpdesk: Helpdesk) -> None:
        self.helpdesk = helpdesk

    async def engineers_for(self, ticket_id: int) -> list[Person]:
        """The engineers a dispatcher may choose for a ticket at this moment."""
        return await self.helpdesk.tickets.engineers_for(ticket_id)

    async def kpi_details(
        self, start: datetime, end: datetime, *, site_id: int | None, as_of: datetime
    ) -> KpiDetails:
        """The tickets behind a period's KPIs."""
        return await kpi_details(self.helpdesk.core, start, end, site_id=site_id, as_of=as_of)

    async def service_sheets(
        self, start: datetime, end: datetime, *, site_id: int | None
    ) -> list[ServiceSheetView]:
        """The service sheets of the tickets resolved in a period."""
        return await self.helpdesk.sheets.resolved_between(start, end, site_id=site_id)
