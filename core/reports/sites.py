"""The site a report is scoped to (every site when there is none)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.clock import DEFAULT_TIMEZONE
from core.errors import NotFound
from core.models import Site
from core.unit_of_work import Core


@dataclass(frozen=True)
class SiteRef:
    """A site picked for a report."""

    id: int
    code: str
    name: str
    timezone: str


def report_timezone(site: SiteRef | None) -> str:
    """The zone a report's days and months are counted in: the site's own, or for every
    site together the default one."""
    return site.timezone if site is not None else DEFAULT_TIMEZONE


async def find_site(core: Core, code: str) -> SiteRef:
    """The site with this code; NotFound otherwise."""
    async with core.reading() as session:
        site = await session.scalar(select(Site).where(Site.code == code))
        if site is None:
            codes = list(await session.scalars(select(Site.code).order_by(Site.code)))
            raise NotFound("site.unknown", site=code[:32], choices=codes)
    return SiteRef(site.id, site.code, site.name, site.timezone)
