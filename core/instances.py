"""Running bot processes announce themselves in the database with a heartbeat.

A process registers at start, beats every few seconds and removes its row when it
stops. The times are the wall clock the caller passes (liveness is about real
processes, not domain time). `faultdesk restore` asks `live_instances` whether a bot
still uses a database: a heartbeat row works on SQLite and PostgreSQL alike, across
machines, and a crashed process leaves no lock behind, only a heartbeat that goes stale.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Instance
from core.unit_of_work import Core

# Every few seconds: a killed instance's share of Telegram's budget goes back to the
# others once its beat is stale, within about the leases its work is taken over after.
HEARTBEAT: Final = timedelta(seconds=3)
# A process whose last beat is older than this is taken for dead (three beats missed,
# and a second for a beat slowed by a busy machine).
STALE_AFTER: Final = HEARTBEAT * 3 + timedelta(seconds=1)


async def register(
    core: Core, instance_id: str, *, host: str, pid: int, version: str, now: datetime
) -> None:
    """Announce a running process."""
    async with core.transaction() as tx:
        tx.session.add(
            Instance(
                id=instance_id, host=host, pid=pid, version=version, started_at=now, beat_at=now
            )
        )


async def beat(core: Core, instance_id: str, now: datetime) -> bool:
    """Say the process is still alive; False if its row is gone (register it again)."""
    async with core.transaction() as tx:
        result = await tx.session.execute(
            update(Instance).where(Instance.id == instance_id).values(beat_at=now)
        )
        return bool(getattr(result, "rowcount", 0))


async def unregister(core: Core, instance_id: str) -> None:
    """The process stops: remove its row."""
    async with core.transaction() as tx:
        await tx.session.execute(delete(Instance).where(Instance.id == instance_id))


async def live_instances(session: AsyncSession, now: datetime) -> list[Instance]:
    """Processes whose heartbeat is fresh, newest first."""
    rows = await session.scalars(
        select(Instance)
        .where(Instance.beat_at >= now - STALE_AFTER)
        .order_by(Instance.beat_at.desc())
    )
    return list(rows)
