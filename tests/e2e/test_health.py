"""Health, readiness and Prometheus metrics over HTTP, in polling and webhook mode, on both runtimes.

Metrics are read back with prometheus_client's own parser, as Prometheus would read them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from test_journeys import Office, open_ticket
from test_journeys import office as office_fixture  # noqa: F401 - the `office` fixture

from bot.app import build_application
from core.enums import OutboxStatus
from core.migrate import head_revision
from demo import journeys

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:.*`retry_after`.*:telegram.warnings.PTBDeprecationWarning"),
]

ALICE = 1001


def health_url(app: Any, path: str) -> str:
    server = app.health_server
    assert server is not None, "the health server is not running"
    return f"http://127.0.0.1:{server.port}{path}"


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def readiness(app: Any) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(health_url(app, "/readyz")) as r:
        return r.status, await r.json()


def samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample by (name, sorted labels)."""
    found = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def metrics(app: Any) -> dict:
    status, body = await get(health_url(app, "/metrics"))
    assert status == 200
    return samples(body)


async def until_ready(deployment) -> dict[str, Any]:
    body: dict[str, Any] = {}

    async def ready() -> bool:
        nonlocal body
        status, body = await readiness(deployment.running)
        return status == 200

    await deployment.until(ready, timeout=15.0, message="never ready")
    return body


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_health_readiness_and_metrics_answer_in_both_modes(deployment, emulator, mode):
    if mode == "webhook":
        deployment.use_webhook("s3cret-token")
    await deployment.start()
    app = deployment.running
    assert await get(health_url(app, "/healthz")) == (200, "ok")
    body = await until_ready(deployment)
    assert body["status"] == "ready" and body["failed"] == []
    assert set(body["checks"]) == {
        "serving",
        "database",
        "migrations",
        "due_work_runner",
        "outbox_sender",
        "pages",
    }
    assert body["checks"]["migrations"]["detail"] == f"at {head_revision()}"

    await deployment.register(ALICE, "Alice", language="en")
    alice = emulator.person(user_id=ALICE, first_name="Alice", language_code="en")
    await alice.send("/help")
    await alice.wait_for("/report")

    found = await metrics(app)
    assert value(found, "faultdesk_updates_handled_total", outcome="handled") >= 1
    assert value(found, "faultdesk_update_handler_seconds_count") >= 1
    assert (
        value(found, "faultdesk_telegram_requests_total", method="sendMessage", outcome="ok") >= 1
    )
    assert value(found, "faultdesk_telegram_requests_total", method="setMyCommands", outcome="ok")
    assert value(found, "faultdesk_update_journal_rows") >= 1
    assert value(found, "faultdesk_database_up") == 1
    assert value(found, "faultdesk_info", runtime=deployment.runtime, version="0.1.0") == 1
    assert ("faultdesk_worker_heartbeat_age_seconds", (("worker", "outbox_sender"),)) in found


async def test_readiness_fails_while_start_up_waits_for_the_api(deployment, emulator):
    emulator.set_outage(True)
    deployment.overrides.update(startup_backoff_max=0.5)
    app = build_application(deployment.settings(), clock=deployment.clock, policy=deployment.policy)
    starting = asyncio.create_task(app.start(deployment.runtime))
    try:

        async def listening() -> bool:
            return app.health_server is not None  # up before the first try

        await deployment.until(listening)
        assert await get(health_url(app, "/healthz")) == (200, "ok")
        status, body = await readiness(app)
        assert status == 503
        assert "serving" in body["failed"]
        assert body["checks"]["serving"]["detail"] in {"waiting for the Bot API", "starting"}
        emulator.set_outage(False)
        await asyncio.wait_for(starting, 30)
    finally:
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        await app.stop()


async def test_readiness_names_a_schema_behind_the_code_and_stale_workers(bot):
    app = bot.running
    await until_ready(bot)
    async with app.core.db.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '0002'"))
    status, body = await readiness(app)
    assert status == 503 and body["failed"] == ["migrations"]
    assert body["checks"]["migrations"]["detail"] == f"database at 0002, code at {head_revision()}"
    async with app.core.db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE alembic_version SET version_num = :head"), {"head": head_revision()}
        )

    # Workers that hang: no beat from now on, and their last one an hour old. (Moving the
    # health clock instead would let a worker's next beat land in the future, fresh.)
    health = app.health
    beat = health.beat
    health.beat = lambda worker: None  # type: ignore[method-assign]
    health.beats = {worker: at - 3600 for worker, at in health.beats.items()}
    status, body = await readiness(app)
    assert status == 503 and body["failed"] == ["due_work_runner", "outbox_sender"]
    assert body["checks"]["outbox_sender"]["detail"].startswith("no progress for 36")
    health.beat = beat  # type: ignore[method-assign]
    beat("due_work_runner")
    beat("outbox_sender")
    assert (await readiness(app))[0] == 200


async def test_a_page_held_back_by_telegram_fails_readiness_and_shows_in_the_metrics(
    office_fixture: Office,  # noqa: F811 - the fixture imported above
    emulator,
):
    office = office_fixture  # the demo office of test_journeys, registered in English
    app = office.deployment.running
    ticket_id = await open_ticket(office)  # level 2: on site by 11:00
    await journeys.accept(office.wang, await journeys.dispatch_card(office.wang, ticket_id))
    # Telegram throttles Wang's chat for an hour: his page waits.
    emulator.inject_flood(chat_id=office.wang.person.chat_id, retry_after=3600, count=50)

    await office.later(minutes=120)  # the arrival deadline passes: pages go out
    for person in (office.zhao, office.chen):
        await journeys.deadline_page(person, ticket_id, raised_to=1)

    async def page_waiting() -> bool:
        async with app.core.reading() as session:
            row = await session.scalar(
                text(
                    "SELECT count(*) FROM outbox WHERE page_id IS NOT NULL AND status = :s"
                    " AND last_error IS NOT NULL"
                ),
                {"s": OutboxStatus.PENDING.value},
            )
            return bool(row)

    await office.deployment.until(page_waiting, message="Wang's page was not held back")
    found = await metrics(app)
    assert value(found, "faultdesk_telegram_429_total") >= 1
    assert value(found, "faultdesk_escalation_lateness_seconds_count", kind="escalation") >= 1
    assert value(found, "faultdesk_open_tickets", level="1") == 1  # raised to level 1
    assert value(found, "faultdesk_outbox_pending") >= 1
    assert (
        value(
            found, "faultdesk_telegram_requests_total", method="sendMessage", outcome="retry_after"
        )
        >= 1
    )
    assert (
        sum(
            v
            for (name, labels), v in found.items()
            if name == "faultdesk_outbox_deliveries_total" and ("outcome", "retried") in labels
        )
        >= 1
    )
    assert (await readiness(app))[0] == 200  # just queued: not yet a problem

    await office.later(minutes=11)  # still held back: older than the 10-minute bound
    status, body = await readiness(app)
    assert status == 503 and body["failed"] == ["pages"]
    assert body["checks"]["pages"]["detail"].startswith("oldest unsent page waiting")
    assert value(await metrics(app), "faultdesk_oldest_unsent_page_age_seconds") > 600
    async with app.core.reading() as session:
        assert (
            await session.scalar(
                text("SELECT count(*) FROM outbox WHERE status = :s AND page_id IS NOT NULL"),
                {"s": OutboxStatus.PENDING.value},
            )
        ) >= 1
