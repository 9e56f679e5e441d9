"""The board's JSON a page at a time: the page is the whole board's slice, and the counts,
filters and search still run over every open ticket, before and after changes."""

from __future__ import annotations

from datetime import timedelta

from core.console import BoardFilter, ConsoleService
from core.sla.policy import PauseReason
from tests.integration.test_board_patch import report_faults
from tests.integration.test_web_console import INIT_HEADER, client, init_data

__all__ = ["client"]  # the fixture, used by name


async def board(client, query: str = "") -> dict:
    response = await client.get(f"/web/api/board{query}", headers={INIT_HEADER: init_data(3001)})
    assert response.status == 200, await response.text()
    return await response.json()


async def test_a_page_is_the_whole_boards_slice_and_counts_cover_all(
    helpdesk, world, client, clock
):
    ids = await report_faults(helpdesk, world, clock, 7, every=timedelta(minutes=5))
    # One waits for parts: its clocks are paused (no deadline counts down).
    paused = ids[0]
    engineer = (await helpdesk.tickets.card(paused)).assignee_id
    await helpdesk.tickets.acknowledge(paused, actor_id=engineer)
    await helpdesk.tickets.pause(paused, actor_id=engineer, reason=PauseReason.PARTS)
    whole = await board(client)
    order = [t["id"] for t in whole["tickets"]]
    assert sorted(order) == sorted(ids) and whole["listed"] == 7
    nearest = [
        min((c[2] for c in t["clocks"] if c[2] is not None and not c[4]), default=2**62)
        for t in whole["tickets"]
    ]
    assert nearest == sorted(nearest) and order[-1] == paused

    first = await board(client, "?limit=3")
    assert first["tickets"] == whole["tickets"][:3]
    assert (first["listed"], first["total_open"]) == (7, 7)
    second = await board(client, "?offset=3&limit=3")
    assert second["tickets"] == whole["tickets"][3:6]
    # Search and filters run over every ticket, not the page: the last one is found.
    last = order[-1]
    found = await board(client, f"?limit=3&q=%23{last}")
    assert [t["id"] for t in found["tickets"]] == [last] and found["listed"] == 1

    # A ticket beyond the first page changes: the page and counts follow, and equal a
    # board read whole by a fresh service.
    await helpdesk.tickets.set_severity(order[-1], 1, actor_id=world.dispatcher_id)
    await helpdesk.tickets.cancel(order[1], actor_id=world.dispatcher_id, reason="duplicate")
    clock.advance(timedelta(hours=3))
    await helpdesk.runner().sweep()  # deadlines pass: overdue counted over all
    after = await board(client, "?limit=2")
    fresh = await ConsoleService(helpdesk.core).board(world.dispatcher_id, BoardFilter())
    assert [t["id"] for t in after["tickets"]] == [row.id for row in fresh.rows[:2]]
    assert after["listed"] == after["total_open"] == 6 == len(fresh.rows)
    assert after["overdue_open"] == fresh.overdue_open > 0
    assert {t["level"] for t in (await board(client))["tickets"] if t["id"] == order[-1]} == {1}
    overdue = await board(client, "?overdue=1&limit=1")
    assert overdue["listed"] == fresh.overdue_open and len(overdue["tickets"]) == 1


async def test_a_bad_page_is_refused(helpdesk, world, client):
    for query in ("?limit=0", "?limit=abc", "?offset=-1", "?limit=10000000000"):
        response = await client.get(
            f"/web/api/board{query}", headers={INIT_HEADER: init_data(3001)}
        )
        assert response.status == 400, query
        assert "error" in await response.json()
