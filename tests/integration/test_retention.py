"""Retention on every backend: old handled updates and delivered messages go, nothing else does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, update

from bot.jobs import JOBS, run_job
from bot.settings import Settings
from core import outbox
from core.audit import verify_chain
from core.conversations import UPDATE_LEASE, ConversationStore
from core.enums import Impact, OutboxStatus, ServiceResult, ServiceType, WorkStatus
from core.messages import SurveyQuestion
from core.models import (
    AuditEvent,
    DueWork,
    OutboxMessage,
    ProcessedUpdate,
    Rating,
    SlaClock,
    Ticket,
)
from core.retention import Pruned, RetentionPolicy, prune
from core.scheduling import schedule
from core.tickets import ServiceSheet

POLICY = RetentionPolicy(journal=timedelta(days=14), outbox=timedelta(days=30))
SHEET = ServiceSheet(
    service_type=ServiceType.HARDWARE_FAULT,
    result=ServiceResult.FIXED_ON_SITE,
    solution="Replaced the video cable",
)


async def count(helpdesk, model, *where) -> int:
    async with helpdesk.core.reading() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def a_rated_fix(helpdesk, world) -> int:
    """One ticket through its whole life: audit events, messages, a rating."""
    tickets = helpdesk.tickets
    ticket = await tickets.report_fault(
        world.reporter_id,
        symptom="The screen stays black",
        impact=Impact.CANNOT_WORK,
        asset_tag=world.asset_tag,
    )
    await tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    await tickets.arrive(ticket.id, actor_id=world.engineer_id)
    await tickets.resolve(ticket.id, actor_id=world.engineer_id, sheet=SHEET)
    await tickets.confirm_fix(ticket.id, actor_id=world.reporter_id, confirmed=True)
    await tickets.rate(ticket.id, actor_id=world.reporter_id, score=5)
    return ticket.id


async def mark_all_sent(helpdesk) -> None:
    async with helpdesk.core.transaction() as tx:
        await tx.session.execute(
            update(OutboxMessage).values(status=OutboxStatus.SENT, sent_at=tx.now, message_id=1)
        )


async def test_pruning_removes_only_old_handled_updates_and_old_delivered_messages(
    helpdesk, world, clock
):
    store = ConversationStore(helpdesk.core, bot_id=42)
    # Handled long ago: may go.
    for update_id in (1, 2):
        assert await store.claim_update(update_id)
        await store.finish_update(update_id)
    await a_rated_fix(helpdesk, world)
    await mark_all_sent(helpdesk)
    delivered = await count(helpdesk, OutboxMessage)
    assert delivered > 0

    clock.advance(timedelta(days=40))
    # Still being handled: a lease held, not done (its process may be slow, or dead).
    assert await store.claim_update(3)
    await store.journal_updates([(3, {"update_id": 3})])
    # Received, never claimed, and its handler died: waiting to be recovered.
    await store.journal_updates([(4, {"update_id": 4})])
    # Messages not delivered: waiting, leased by a sender, failed.
    async with helpdesk.core.transaction() as tx:
        question = SurveyQuestion(round_id=1, period="2026-H1", closes_at=tx.now)
        for key in ("leased", "failed", "waiting"):  # claimed in this order
            await outbox.enqueue(tx, question, key=key, chat_id=7)
    claimed = await outbox.claim(helpdesk.core, owner="a-sender", limit=1, lease=UPDATE_LEASE)
    assert len(claimed) == 1
    failed = await outbox.claim(helpdesk.core, owner="a-sender", limit=1, lease=UPDATE_LEASE)
    await outbox.mark_failed(helpdesk.core, failed[0].id, owner="a-sender", error="blocked")
    # A recent handled update and a recent delivered message stay too.
    assert await store.claim_update(5)
    await store.finish_update(5)
    audit_before = await count(helpdesk, AuditEvent)
    tickets_before = await count(helpdesk, Ticket)
    ratings_before = await count(helpdesk, Rating)

    clock.advance(timedelta(days=1))
    # The stuck ones are older than any retention age by now, and still kept.
    pruned = await prune(helpdesk.core, POLICY, clock.now() + timedelta(days=400))
    kept_updates = await count(helpdesk, ProcessedUpdate)
    assert pruned.journal == 3 and kept_updates == 2  # 1, 2 and 5 go; 3 and 4 stay
    async with helpdesk.core.reading() as session:
        left = set(await session.scalars(select(ProcessedUpdate.update_id)))
    assert left == {3, 4}
    assert pruned.outbox == delivered  # every delivered message; none of the others
    async with helpdesk.core.reading() as session:
        rows = (await session.execute(select(OutboxMessage.key, OutboxMessage.status))).all()
    statuses = dict(rows)
    assert statuses["waiting"] is OutboxStatus.PENDING
    assert statuses["leased"] is OutboxStatus.PENDING
    assert statuses["failed"] is OutboxStatus.FAILED
    assert all(status is not OutboxStatus.SENT for status in statuses.values())
    # The record the KPIs rest on is untouched, and its chain still verifies.
    assert await count(helpdesk, AuditEvent) == audit_before
    assert await count(helpdesk, Ticket) == tickets_before == 1
    assert await count(helpdesk, Rating) == ratings_before == 1
    async with helpdesk.core.reading() as session:
        assert (await verify_chain(session)).ok
    # The update still in hand is handled to the end; the recovered one too.
    await store.finish_update(3)
    clock.advance(UPDATE_LEASE * 2)
    assert [p["update_id"] for p in await store.unfinished_updates()] == [4]


async def test_ages_are_counted_from_when_each_row_was_done(helpdesk, world, clock):
    store = ConversationStore(helpdesk.core)
    assert await store.claim_update(1)
    await store.finish_update(1)
    await a_rated_fix(helpdesk, world)
    await mark_all_sent(helpdesk)

    clock.advance(timedelta(days=13, hours=23))
    assert await prune(helpdesk.core, POLICY, clock.now()) == Pruned(journal=0, outbox=0)
    clock.advance(timedelta(hours=2))  # 14 days and an hour: the journal row goes
    first = await prune(helpdesk.core, POLICY, clock.now())
    assert (first.journal, first.outbox) == (1, 0)
    clock.advance(timedelta(days=16))  # 30 days and more: the messages go
    second = await prune(helpdesk.core, POLICY, clock.now())
    assert second.journal == 0 and second.outbox > 0
    assert await count(helpdesk, OutboxMessage) == 0


async def test_the_daily_job_prunes_with_the_configured_ages(helpdesk, world, clock):
    assert JOBS["retention"].at_start and JOBS["retention"].cron == {"hour": 3, "minute": 20}
    helpdesk.retention = RetentionPolicy(journal=timedelta(days=2), outbox=timedelta(days=3))
    store = ConversationStore(helpdesk.core)
    assert await store.claim_update(1)
    await store.finish_update(1)
    await a_rated_fix(helpdesk, world)
    await mark_all_sent(helpdesk)

    clock.advance(timedelta(days=2, minutes=1))
    result = await run_job("retention", helpdesk, clock)
    assert (result.journal, result.outbox) == (1, 0)
    clock.advance(timedelta(days=1))
    result = await run_job("retention", helpdesk, clock)
    assert result.outbox > 0 and await count(helpdesk, OutboxMessage) == 0


def test_retention_ages_are_settings_with_safe_bounds():
    settings = Settings(_env_file=None, journal_retention_days=3, outbox_retention_days=7)
    assert (settings.journal_retention_days, settings.outbox_retention_days) == (3, 7)
    defaults = Settings(_env_file=None)
    assert (defaults.journal_retention_days, defaults.outbox_retention_days) == (14, 30)
    with pytest.raises(ValidationError, match="at least 2 days"):
        Settings(_env_file=None, journal_retention_days=1)  # Telegram redelivers for 24 h
    with pytest.raises(ValidationError, match="greater than 0"):
        Settings(_env_file=None, outbox_retention_days=0)


async def due_work_by_ticket(helpdesk) -> dict[int | None, dict[WorkStatus, int]]:
    async with helpdesk.core.reading() as session:
        rows = (
            await session.execute(
                select(DueWork.ticket_id, DueWork.status, func.count()).group_by(
                    DueWork.ticket_id, DueWork.status
                )
            )
        ).all()
    counts: dict[int | None, dict[WorkStatus, int]] = {}
    for ticket_id, status, number in rows:
        counts.setdefault(ticket_id, {})[status] = number
    return counts


async def test_a_finished_tickets_due_work_goes_after_its_age_and_nothing_still_to_fire(
    helpdesk, world, clock
):
    closed = await a_rated_fix(helpdesk, world)
    still_open = await helpdesk.tickets.report_fault(
        world.reporter_id,
        symptom="The printer jams",
        impact=Impact.DEGRADED,
        asset_tag=world.asset_tag,
    )
    async with helpdesk.core.transaction() as tx:
        # Work of no ticket (a job's or an inspection's key) is not the tickets' to prune.
        await schedule(tx, key="job:x", kind="bench", due_at=tx.now + timedelta(days=1))
    before = await due_work_by_ticket(helpdesk)
    # Fired or cancelled: the ladder steps and progress messages; the survey reminder
    # (due after the close, finding the rating given) is still to fire.
    finished = {status: n for status, n in before[closed].items() if status != WorkStatus.PENDING}
    assert sum(finished.values()) > 5 and before[closed][WorkStatus.PENDING] == 1
    assert before[still_open.id][WorkStatus.PENDING] > 5

    clock.advance(timedelta(days=29, hours=23))
    assert (await prune(helpdesk.core, POLICY, clock.now())).due_work == 0
    clock.advance(timedelta(hours=2))
    pruned = await prune(helpdesk.core, POLICY, clock.now())
    assert pruned.due_work == sum(finished.values())
    after = await due_work_by_ticket(helpdesk)
    assert after[closed] == {WorkStatus.PENDING: 1}  # never one still to fire
    assert after[still_open.id] == before[still_open.id]
    assert after[None] == {WorkStatus.PENDING: 1}
    # The record stays whole: the ticket, its clocks and the audit chain.
    assert await count(helpdesk, Ticket) == 2
    assert await count(helpdesk, SlaClock, SlaClock.ticket_id == closed) == 4
    async with helpdesk.core.reading() as session:
        assert (await verify_chain(session)).ok


async def test_the_due_work_age_is_a_setting_the_daily_job_uses(tmp_path):
    from bot.bootstrap import bootstrap

    settings = Settings(
        _env_file=None, database_url=f"sqlite:///{tmp_path}/x.sqlite3", due_work_retention_days=7
    )
    helpdesk = bootstrap(settings)
    assert helpdesk.retention.due_work == timedelta(days=7)
    await helpdesk.core.db.dispose()
    assert Settings(_env_file=None).due_work_retention_days == 30
    with pytest.raises(ValidationError, match="greater than 0"):
        Settings(_env_file=None, due_work_retention_days=0)


async def test_dropped_messages_go_after_the_outbox_age_and_nothing_still_to_send(
    helpdesk, world, clock
):
    async with helpdesk.core.transaction() as tx:
        question = SurveyQuestion(round_id=1, period="2026-H1", closes_at=tx.now)
        for key in ("dropped-old", "waiting-old"):
            await outbox.enqueue(tx, question, key=key, chat_id=7)
    clock.advance(timedelta(days=20))
    async with helpdesk.core.transaction() as tx:
        await outbox.enqueue(tx, question, key="dropped-new", chat_id=7)
        # What a later step does to a reminder it made late: dropped, never to be sent.
        await tx.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.key.in_(("dropped-old", "dropped-new")))
            .values(status=OutboxStatus.DROPPED)
        )

    clock.advance(timedelta(days=10, hours=1))  # the old ones are 30 days and an hour old
    pruned = await prune(helpdesk.core, POLICY, clock.now())
    assert pruned.outbox == 1
    async with helpdesk.core.reading() as session:
        rows = dict((await session.execute(select(OutboxMessage.key, OutboxMessage.status))).all())
    assert rows == {"waiting-old": OutboxStatus.PENDING, "dropped-new": OutboxStatus.DROPPED}
    clock.advance(timedelta(days=20))
    assert (await prune(helpdesk.core, POLICY, clock.now())).outbox == 1
    async with helpdesk.core.reading() as session:
        assert set(await session.scalars(select(OutboxMessage.key))) == {"waiting-old"}
