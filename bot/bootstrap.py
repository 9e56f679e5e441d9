"""The composition root: the one function that builds the helpdesk from settings.

The bot (`bot.app.build_application`), every command of the command line, the report
command and the benchmarks call `bootstrap`; nothing else wires a database, a clock and
a policy together. Tests pass a frozen or accelerated clock and, where they need one,
a policy of their own.
"""

from __future__ import annotations

from datetime import timedelta

from bot.settings import Settings
from core.clock import Clock, SystemClock
from core.db import Database
from core.retention import RetentionPolicy
from core.services import Helpdesk
from core.sla.policy import Policy, load_policy
from core.unit_of_work import Core


def bootstrap(
    settings: Settings,
    *,
    clock: Clock | None = None,
    policy: Policy | None = None,
    database: Database | None = None,
) -> Helpdesk:
    """Every core service over the configured database, clock and SLA policy.

    Raises PolicyError for a policy file that does not validate. `database` lends an
    engine that is already open (a benchmark's scratch database); by default one is
    opened on `settings.database_url`.
    """
    policy = policy if policy is not None else load_policy(settings.policy_file)
    db = database if database is not None else Database(settings.database_url)
    helpdesk = Helpdesk(
        Core(db, clock or SystemClock(), policy), audit_channel=settings.audit_channel
    )
    helpdesk.retention = RetentionPolicy(
        journal=timedelta(days=settings.journal_retention_days),
        outbox=timedelta(days=settings.outbox_retention_days),
        due_work=timedelta(days=settings.due_work_retention_days),
    )
    return helpdesk
