"""The asset register (000 §2.2.1-1): devices with a unique tag, found from their sticker."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from core.enums import AssetKind
from core.errors import Conflict, InvalidInput
from core.models import Asset, Site
from core.unit_of_work import Core

# Tags travel in /start deep links (asset_<tag>), whose payload allows only these.
TAG_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,48}$")


def normalize_tag(text: str) -> str:
    """Upper-case, trimmed tag; raises InvalidInput when it could not be on a sticker."""
    tag = text.strip().upper()
    if not TAG_PATTERN.fullmatch(tag):
        raise InvalidInput("asset.bad_tag", tag=text[:64])
    return tag


@dataclass(frozen=True)
class AssetRecord:
    """The register's fields for one device."""

    tag: str
    kind: AssetKind
    site_code: str
    location: str = ""
    brand: str = ""
    model: str = ""
    serial: str = ""
    monitor_serial: str = ""
    warranty_until: date | None = None
    manufactured_on: date | None = None
    health: str = ""
    hardware_config: str = ""
    ip_address: str = ""
    subnet_mask: str = ""
    os: str = ""
    antivirus: str = ""
    office_software: str = ""
    department_id: int | None = None
    user_id: int | None = None


class AssetService:
    """Register and look up devices."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def register(self, record: AssetRecord, *, actor_id: int | None = None) -> Asset:
        """Add a device; its tag must be new."""
        tag = normalize_tag(record.tag)
        async with self.core.transaction(actor_id) as tx:
            if await tx.session.scalar(select(Asset.id).where(Asset.tag == tag)) is not None:
                raise Conflict("asset.duplicate_tag", tag=tag)
            site = await tx.session.scalar(select(Site).where(Site.code == record.site_code))
            if site is None:
                raise InvalidInput("asset.unknown_site", site=record.site_code)
            fields = {k: v for k, v in record.__dict__.items() if k not in ("tag", "site_code")}
            asset = Asset(tag=tag, site_id=site.id, active=True, **fields)
            tx.session.add(asset)
            await tx.session.flush()
            await tx.audit(
                "asset",
                asset.id,
                "asset.registered",
                tag=tag,
                kind=record.kind.value,
                site=site.code,
            )
            return asset

    async def by_tag(self, tag: str) -> Asset | None:
        """The active device with this tag, if any."""
        try:
            normalized = normalize_tag(tag)
        except InvalidInput:
            return None
        async with self.core.reading() as session:
            return await session.scalar(
                select(Asset).where(Asset.tag == normalized, Asset.active.is_(True))
            )
