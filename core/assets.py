"""The asset register (000 §2.2.1-1): devices with a unique tag, found from their sticker.

Devices are added one by one (`register`) or a whole register at once
(`import_register`): every row is checked against the sites, departments and devices
already known before anything is written, and then all rows are written in one
transaction, so a bad row leaves the database as it was. Devices are edited, retired
(kept for history, no longer reportable) and read back for the command line's list,
show, export and sticker labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any, Final, cast

from sqlalchemy import String, Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.asset_register import (
    DATE_FIELDS,
    TEXT_FIELDS,
    RegisterEntry,
    RegisterRejected,
    RowProblem,
)
from core.asset_tags import normalize_tag, sticker_payload, tag_of_payload
from core.enums import AssetKind
from core.errors import Conflict, InvalidInput, NotFound
from core.models import Asset, Department, Site
from core.people import add_department
from core.unit_of_work import Core, Tx

__all__ = [
    "AssetRecord",
    "AssetService",
    "AssetView",
    "Change",
    "ImportResult",
    "field_limits",
    "normalize_tag",
    "sticker_payload",
    "tag_of_payload",
]

# Rows written per flush in an import: large enough for batched INSERTs, small enough
# that progress moves.
IMPORT_CHUNK: Final = 500
# Register fields stored as text on the asset row (the site and department are ids).
STORED_TEXT: Final = tuple(name for name in TEXT_FIELDS if name not in ("site", "department"))
EDITABLE: Final = ("kind", "site", "department", *STORED_TEXT, *DATE_FIELDS)


def field_limits() -> dict[str, int]:
    """The longest text each register field may hold (the database columns' lengths)."""
    limits = {
        column.name: int(column.type.length)
        for column in Asset.__table__.columns
        if isinstance(column.type, String) and column.type.length
    }
    name = Department.__table__.c.name.type
    if isinstance(name, String) and name.length:
        limits["department"] = int(name.length)
    return limits


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
    user_name: str = ""
    department: str = ""  # a department of the site, by name
    department_id: int | None = None
    user_id: int | None = None


@dataclass(frozen=True)
class AssetView:
    """A registered device as the command line shows and exports it."""

    tag: str
    kind: AssetKind
    site: str  # the site's code
    site_name: str
    department: str
    location: str
    user_name: str
    brand: str
    model: str
    serial: str
    monitor_serial: str
    warranty_until: date | None
    manufactured_on: date | None
    health: str
    hardware_config: str
    ip_address: str
    subnet_mask: str
    os: str
    antivirus: str
    office_software: str
    active: bool

    def value(self, name: str) -> Any:
        """A register field by name."""
        return getattr(self, name)


@dataclass(frozen=True)
class Change:
    """One field of a device before and after."""

    field: str
    before: Any
    after: Any


@dataclass
class ImportResult:
    """What an import did (or, checked only, would do)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    departments_added: list[str] = field(default_factory=list)  # "HQ: Finance"
    dry_run: bool = False


Progress = Callable[[int, int], None]  # (rows written so far, rows to write)


class _Places:
    """Sites and departments by code or name, case-insensitively, for one transaction."""

    def __init__(self, sites: Sequence[Site], departments: Sequence[Department]) -> None:
        self.sites = sorted(sites, key=lambda s: s.code)
        self._by_code = {s.code.casefold(): s for s in sites}
        self._by_name = {s.name.casefold(): s for s in sites}
        self._departments: dict[tuple[int, str], Department] = {
            (d.site_id, d.name.casefold()): d for d in departments
        }
        self._names = {d.id: d.name for d in departments}

    @classmethod
    async def load(cls, session: AsyncSession) -> _Places:
        return cls(
            list(await session.scalars(select(Site))),
            list(await session.scalars(select(Department))),
        )

    def site(self, text: str) -> Site | None:
        key = text.strip().casefold()
        return self._by_code.get(key) or self._by_name.get(key)

    def site_codes(self) -> list[str]:
        return [s.code for s in self.sites]

    def department(self, site_id: int, name: str) -> Department | None:
        return self._departments.get((site_id, name.strip().casefold()))

    def department_names(self, site_id: int) -> list[str]:
        return sorted(d.name for (sid, _), d in self._departments.items() if sid == site_id)

    def department_name(self, department_id: int | None) -> str:
        return self._names.get(department_id, "") if department_id is not None else ""

    def add_department(self, department: Department) -> None:
        self._departments[(department.site_id, department.name.casefold())] = department
        self._names[department.id] = department.name


def _check_lengths(values: Mapping[str, Any]) -> None:
    """InvalidInput for a text longer than its column holds."""
    limits = field_limits()
    for name, value in values.items():
        limit = limits.get(name)
        if isinstance(value, str) and limit is not None and len(value) > limit:
            raise InvalidInput("asset.field_too_long", field=name, limit=limit)


def _stored(asset: Asset, name: str) -> Any:
    return getattr(asset, name)


class AssetService:
    """Register, import, edit, retire and look up devices."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def register(self, record: AssetRecord, *, actor_id: int | None = None) -> Asset:
        """Add a device; its tag must be new and its site (and department) known."""
        tag = normalize_tag(record.tag)
        stored = {
            f.name: getattr(record, f.name)
            for f in fields(record)
            if f.name not in ("tag", "site_code", "department")
        }
        _check_lengths(stored)
        async with self.core.transaction(actor_id) as tx:
            if await tx.session.scalar(select(Asset.id).where(Asset.tag == tag)) is not None:
                raise Conflict("asset.duplicate_tag", tag=tag)
            places = await _Places.load(tx.session)
            site = places.site(record.site_code)
            if site is None:
                raise InvalidInput(
                    "asset.unknown_site", site=record.site_code, choices=places.site_codes()
                )
            if record.department and stored["department_id"] is None:
                department = places.department(site.id, record.department)
                if department is None:
                    raise InvalidInput(
                        "asset.unknown_department",
                        department=record.department,
                        site=site.code,
                        choices=places.department_names(site.id),
                    )
                stored["department_id"] = department.id
            asset = Asset(tag=tag, site_id=site.id, active=True, **stored)
            tx.session.add(asset)
            await tx.session.flush()
            await self._audit_registered(tx, asset, site.code)
            return asset

    @staticmethod
    async def _audit_registered(tx: Tx, asset: Asset, site_code: str) -> None:
        await tx.audit(
            "asset",
            asset.id,
            "asset.registered",
            tag=asset.tag,
            kind=asset.kind.value,
            site=site_code,
        )

    async def import_register(
        self,
        entries: Sequence[RegisterEntry],
        *,
        update: bool = False,
        add_departments: bool = False,
        dry_run: bool = False,
        actor_id: int | None = None,
        progress: Progress | None = None,
    ) -> ImportResult:
        """Check every entry, then write them all in one transaction, or raise RegisterRejected.

        A device already registered with the same values is left alone; with other values
        it is a problem unless `update`. A department the site does not have is a problem
        unless `add_departments`. `dry_run` checks and counts without writing.
        """
        result = ImportResult(dry_run=dry_run)
        async with self.core.transaction(actor_id) as tx:
            places = await _Places.load(tx.session)
            existing = await self._existing(tx.session, [e.tag for e in entries])
            problems: list[RowProblem] = []
            first_line: dict[str, int] = {}
            new: list[tuple[RegisterEntry, Site]] = []
            changed: list[tuple[RegisterEntry, Site, Asset, list[Change]]] = []
            for entry in entries:
                if entry.tag in first_line:
                    problems.append(
                        RowProblem(
                            entry.line,
                            "tag",
                            "asset.repeated_tag",
                            {"tag": entry.tag, "line": first_line[entry.tag]},
                        )
                    )
                    continue
                first_line[entry.tag] = entry.line
                site = places.site(entry.site)
                if site is None:
                    problems.append(
                        RowProblem(
                            entry.line,
                            "site",
                            "asset.unknown_site",
                            {"site": entry.site, "choices": places.site_codes()},
                        )
                    )
                    continue
                if (
                    entry.department
                    and places.department(site.id, entry.department) is None
                    and not add_departments
                ):
                    problems.append(
                        RowProblem(
                            entry.line,
                            "department",
                            "asset.unknown_department",
                            {
                                "department": entry.department,
                                "site": site.code,
                                "choices": places.department_names(site.id),
                            },
                        )
                    )
                    continue
                asset = existing.get(entry.tag)
                if asset is None:
                    new.append((entry, site))
                    continue
                if not asset.active:
                    problems.append(
                        RowProblem(entry.line, "tag", "asset.retired", {"tag": entry.tag})
                    )
                    continue
                changes = self._entry_changes(asset, entry, site, places)
                if not changes:
                    result.unchanged += 1
                elif update:
                    changed.append((entry, site, asset, changes))
                else:
                    problems.append(
                        RowProblem(
                            entry.line,
                            None,
                            "asset.registered_differently",
                            {"tag": entry.tag, "changes": changes},
                        )
                    )
            if problems:
                raise RegisterRejected(sorted(problems, key=lambda p: p.line))
            result.added, result.updated = len(new), len(changed)
            departments = [(site, e.department) for e, site in new if e.department]
            departments += [(site, e.department) for e, site, _, _ in changed if e.department]
            for site, name in departments:
                if places.department(site.id, name) is None:
                    result.departments_added.append(f"{site.code}: {name.strip()}")
                    if not dry_run:
                        places.add_department(await add_department(tx, site.id, name.strip()))
                    else:
                        places.add_department(Department(id=-1, site_id=site.id, name=name))
            if dry_run:
                return result
            await self._write(tx, new, changed, places, progress)
        return result

    @staticmethod
    async def _existing(session: AsyncSession, tags: Sequence[str]) -> dict[str, Asset]:
        found: dict[str, Asset] = {}
        unique = sorted(set(tags))
        for start in range(0, len(unique), IMPORT_CHUNK):
            chunk = unique[start : start + IMPORT_CHUNK]
            for asset in await session.scalars(select(Asset).where(Asset.tag.in_(chunk))):
                found[asset.tag] = asset
        return found

    @staticmethod
    def _entry_changes(
        asset: Asset, entry: RegisterEntry, site: Site, places: _Places
    ) -> list[Change]:
        """The fields the entry would change (only the columns the file has)."""
        changes: list[Change] = []
        if asset.kind is not entry.kind:
            changes.append(Change("kind", asset.kind, entry.kind))
        if asset.site_id != site.id:
            before = next((s.code for s in places.sites if s.id == asset.site_id), "")
            changes.append(Change("site", before, site.code))
        if entry.department is not None:
            before = places.department_name(asset.department_id)
            if before.casefold() != entry.department.strip().casefold() and (
                before or entry.department
            ):
                changes.append(Change("department", before, entry.department))
        for name, value in entry.values.items():
            if _stored(asset, name) != value:
                changes.append(Change(name, _stored(asset, name), value))
        return changes

    async def _write(
        self,
        tx: Tx,
        new: Sequence[tuple[RegisterEntry, Site]],
        changed: Sequence[tuple[RegisterEntry, Site, Asset, list[Change]]],
        places: _Places,
        progress: Progress | None,
    ) -> None:
        """Insert and update in batches (one statement per chunk), each with its audit events."""
        total = len(new) + len(changed)
        done = 0
        for start in range(0, len(new), IMPORT_CHUNK):
            chunk = new[start : start + IMPORT_CHUNK]
            rows = []
            for entry, site in chunk:
                department = places.department(site.id, entry.department or "")
                row: dict[str, Any] = {
                    name: None if name in DATE_FIELDS else ""
                    for name in (*STORED_TEXT, *DATE_FIELDS)
                }
                row.update(entry.values)
                row.update(
                    tag=entry.tag,
                    kind=entry.kind,
                    site_id=site.id,
                    department_id=department.id if department else None,
                    user_id=None,
                    active=True,
                )
                rows.append(row)
            # A plain executemany (RETURNING in parameter order would cost SQLite one
            # statement per row), then the new ids by tag.
            await tx.session.execute(insert(cast(Table, Asset.__table__)), rows)
            found = await tx.session.execute(
                select(Asset.tag, Asset.id).where(Asset.tag.in_([row["tag"] for row in rows]))
            )
            ids = {tag: asset_id for tag, asset_id in found}
            await tx.audit_many(
                [
                    (
                        "asset",
                        ids[entry.tag],
                        "asset.registered",
                        {"tag": entry.tag, "kind": entry.kind.value, "site": site.code},
                    )
                    for entry, site in chunk
                ]
            )
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        for start in range(0, len(changed), IMPORT_CHUNK):
            batch = changed[start : start + IMPORT_CHUNK]
            updates = []
            for entry, site, asset, _ in batch:
                row = {"id": asset.id, "kind": entry.kind, "site_id": site.id, **entry.values}
                if entry.department is not None:
                    department = places.department(site.id, entry.department)
                    row["department_id"] = department.id if department else None
                updates.append(row)
            for row in updates:
                await tx.session.execute(
                    update(Asset).where(Asset.id == row.pop("id")).values(**row)
                )
            await tx.audit_many(
                [
                    ("asset", asset.id, "asset.edited", _edited(asset.tag, changes))
                    for _, _, asset, changes in batch
                ]
            )
            done += len(batch)
            if progress is not None:
                progress(done, total)

    @staticmethod
    async def _audit_edited(tx: Tx, asset: Asset, changes: Iterable[Change]) -> None:
        await tx.audit("asset", asset.id, "asset.edited", **_edited(asset.tag, changes))

    async def edit(
        self, tag: str, changes: Mapping[str, Any], *, actor_id: int | None = None
    ) -> list[Change]:
        """Change fields of a device (site by code or name, department by name at its site).

        Moving a device to another site clears its department unless a new one is given.
        Returns what changed (nothing when every value was already so).
        """
        unknown = sorted(set(changes) - set(EDITABLE))
        if unknown:
            raise InvalidInput("asset.not_editable", field=unknown[0], choices=list(EDITABLE))
        _check_lengths({k: v for k, v in changes.items() if k not in ("site", "department")})
        normalized = normalize_tag(tag)
        async with self.core.transaction(actor_id) as tx:
            asset = await tx.session.scalar(select(Asset).where(Asset.tag == normalized))
            if asset is None:
                raise NotFound("asset.unknown", tag=normalized)
            places = await _Places.load(tx.session)
            done: list[Change] = []
            site_id = asset.site_id
            if "site" in changes:
                site = places.site(str(changes["site"]))
                if site is None:
                    raise InvalidInput(
                        "asset.unknown_site", site=changes["site"], choices=places.site_codes()
                    )
                if site.id != asset.site_id:
                    before = next((s.code for s in places.sites if s.id == asset.site_id), "")
                    done.append(Change("site", before, site.code))
                    site_id = site.id
            department_id = asset.department_id
            if "department" in changes:
                name = str(changes["department"] or "").strip()
                department = places.department(site_id, name) if name else None
                if name and department is None:
                    site_code = next(s.code for s in places.sites if s.id == site_id)
                    raise InvalidInput(
                        "asset.unknown_department",
                        department=name,
                        site=site_code,
                        choices=places.department_names(site_id),
                    )
                department_id = department.id if department else None
            elif site_id != asset.site_id:
                department_id = None
            if department_id != asset.department_id:
                done.append(
                    Change(
                        "department",
                        places.department_name(asset.department_id),
                        places.department_name(department_id),
                    )
                )
            for name, value in changes.items():
                if name in ("site", "department"):
                    continue
                if _stored(asset, name) != value:
                    done.append(Change(name, _stored(asset, name), value))
                    setattr(asset, name, value)
            asset.site_id, asset.department_id = site_id, department_id
            if done:
                await self._audit_edited(tx, asset, done)
            return done

    async def set_retired(
        self, tag: str, retired: bool = True, *, actor_id: int | None = None
    ) -> bool:
        """Retire a device (kept for history, no longer reportable) or bring it back.

        Returns False when it already was so.
        """
        normalized = normalize_tag(tag)
        async with self.core.transaction(actor_id) as tx:
            asset = await tx.session.scalar(select(Asset).where(Asset.tag == normalized))
            if asset is None:
                raise NotFound("asset.unknown", tag=normalized)
            if asset.active is not retired:
                return False
            asset.active = not retired
            await tx.audit(
                "asset",
                asset.id,
                "asset.retired" if retired else "asset.reinstated",
                tag=asset.tag,
            )
            return True

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

    async def view(self, tag: str) -> AssetView:
        """One device (retired ones too); NotFound otherwise."""
        normalized = normalize_tag(tag)
        found = await self.views(tags=[normalized], include_retired=True)
        if not found:
            raise NotFound("asset.unknown", tag=normalized)
        return found[0]

    async def views(
        self,
        *,
        site: str | None = None,
        tags: Sequence[str] | None = None,
        include_retired: bool = False,
    ) -> list[AssetView]:
        """Devices by site (code or name) and tags, in site and tag order.

        Unknown sites and tags raise NotFound naming them, so a typo is never an empty list.
        """
        async with self.core.reading() as session:
            places = await _Places.load(session)
            query = (
                select(Asset, Site)
                .join(Site, Site.id == Asset.site_id)
                .order_by(Site.code, Asset.tag)
            )
            if site is not None:
                found = places.site(site)
                if found is None:
                    raise NotFound("site.unknown", site=site, choices=places.site_codes())
                query = query.where(Asset.site_id == found.id)
            wanted: list[str] = []
            if tags is not None:
                wanted = [normalize_tag(tag) for tag in tags]
                query = query.where(Asset.tag.in_(wanted))
            if not include_retired:
                query = query.where(Asset.active.is_(True))
            rows = (await session.execute(query)).all()
            if tags is not None:
                missing = sorted(set(wanted) - {asset.tag for asset, _ in rows})
                if missing:
                    raise NotFound("asset.unknown", tag=", ".join(missing))
            return [self._view(asset, site_row, places) for asset, site_row in rows]

    @staticmethod
    def _view(asset: Asset, site: Site, places: _Places) -> AssetView:
        return AssetView(
            tag=asset.tag,
            kind=asset.kind,
            site=site.code,
            site_name=site.name,
            department=places.department_name(asset.department_id),
            active=asset.active,
            **{name: getattr(asset, name) for name in (*STORED_TEXT, *DATE_FIELDS)},
        )

    async def count(self) -> int:
        """How many devices are registered (retired ones too)."""
        async with self.core.reading() as session:
            return int(await session.scalar(select(func.count()).select_from(Asset)) or 0)


def _edited(tag: str, changes: Iterable[Change]) -> dict[str, Any]:
    """An edit as the audit log keeps it: each field's value before and after."""
    return {"tag": tag, "changes": {c.field: [_plain(c.before), _plain(c.after)] for c in changes}}


def _plain(value: Any) -> Any:
    """A value as the audit log keeps it (JSON)."""
    if isinstance(value, AssetKind):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value
