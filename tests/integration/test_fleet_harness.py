"""The fleet harness (benchmarks/fleet.py) polls the database over connections of its own."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import fleet
from benchmarks.fleet import ApiTap, Expected, Wave, World, answered_sends_recorded


async def test_polling_for_recorded_sends_reuses_one_engine(
    sqlite_template: Path, tmp_path: Path, monkeypatch
):
    path = tmp_path / "fleet.sqlite3"
    shutil.copy(sqlite_template, path)
    nothing: Any = None
    world = World(nothing, nothing, nothing, tmp_path, f"sqlite:///{path}", {})
    opened: list[str] = []

    class Counted(fleet.Database):
        def __init__(self, url: str, **options: Any) -> None:
            opened.append(url)
            super().__init__(url, **options)

    monkeypatch.setattr(fleet, "Database", Counted)
    now = datetime.now(UTC)
    wave = Wave(now, [Expected(ticket_id=1, chat_id=77, kind="page", due_at=now)])
    tap = ApiTap("http://127.0.0.1:9")
    tap.sent.add((77, 5))
    try:
        for _ in range(5):
            assert not await answered_sends_recorded(world, tap, wave)
        assert await world.count(fleet.OutboxMessage) == 0
    finally:
        await world.db.dispose()

    assert opened == []
