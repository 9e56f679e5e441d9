"""Prometheus metrics, with the official client (prometheus_client).

Each Application has its own registry (several run side by side in tests and the demo).
Counters and histograms are fed as things happen: updates handled and how long each
took, every call to Telegram by method and outcome (429s apart), outbox deliveries by
message kind and outcome, how late each piece of due work fired. Gauges about the
backlog (outbox rows waiting and the age of the oldest, the oldest unsent page, open
tickets by level, the update journal's size) are read from the database at each scrape,
so every instance reports the shared truth.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot import chat
from core import monitoring
from core.scheduling import Fired
from core.unit_of_work import Core

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
HANDLER_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LATENESS_BUCKETS: Final = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

# The Bot API method each neutral action becomes.
METHODS: Final[dict[type[chat.Action], str]] = {
    chat.SendMessage: "sendMessage",
    chat.EditMessage: "editMessageText",
    chat.AnswerCallback: "answerCallbackQuery",
    chat.SendPhoto: "sendPhoto",
    chat.SendDocument: "sendDocument",
    chat.SetCommands: "setMyCommands",
    chat.SetMenuButton: "setChatMenuButton",
}


def outcome_of(error: chat.TransportError | None) -> str:
    """A label for how a call to Telegram ended."""
    if error is None:
        return "ok"
    if isinstance(error, chat.RetryAfter):
        return "retry_after"
    if isinstance(error, chat.Unreachable):
        return "unreachable"
    if isinstance(error, chat.BadRequest):
        return "bad_request"
    return "network_error"


class Metrics:
    """The instruments of one running bot, in a registry of its own."""

    def __init__(self, *, runtime: str = "", version: str = "") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        Info("faultdesk", "The running faultdesk.", registry=r).info(
            {"version": version, "runtime": runtime}
        )
        self.updates = Counter(
            "faultdesk_updates_handled",
            "Telegram updates handled, by outcome (handled, duplicate, error).",
            ["outcome"],
            registry=r,
        )
        self.handler_seconds = Histogram(
            "faultdesk_update_handler_seconds",
            "Time to handle one update, from its turn in its chat's lane to done.",
            buckets=HANDLER_BUCKETS,
            registry=r,
        )
        self.telegram_requests = Counter(
            "faultdesk_telegram_requests",
            "Calls to the Bot API by method and outcome (ok, retry_after, network_error,"
            " unreachable, bad_request).",
            ["method", "outcome"],
            registry=r,
        )
        self.telegram_429 = Counter(
            "faultdesk_telegram_429",
            "Calls Telegram refused with 429 Too Many Requests.",
            registry=r,
        )
        self.deliveries = Counter(
            "faultdesk_outbox_deliveries",
            "Outbox messages by message kind and outcome (sent, retried, failed).",
            ["kind", "outcome"],
            registry=r,
        )
        self.lateness = Histogram(
            "faultdesk_escalation_lateness_seconds",
            "How late due work (escalation steps, page repeats, reminders) fired after its"
            " due time, by kind.",
            ["kind"],
            buckets=LATENESS_BUCKETS,
            registry=r,
        )
        self.outbox_pending = Gauge(
            "faultdesk_outbox_pending", "Outbox messages not sent yet.", registry=r
        )
        self.outbox_oldest = Gauge(
            "faultdesk_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox message not sent yet (0 when none waits).",
            registry=r,
        )
        self.page_oldest = Gauge(
            "faultdesk_oldest_unsent_page_age_seconds",
            "Age of the oldest escalation page not sent yet (0 when none waits).",
            registry=r,
        )
        self.open_tickets = Gauge(
            "faultdesk_open_tickets", "Open tickets by fault level.", ["level"], registry=r
        )
        self.journal_rows = Gauge(
            "faultdesk_update_journal_rows",
            "Rows in the update journal (pruned daily by retention).",
            registry=r,
        )
        self.database_up = Gauge(
            "faultdesk_database_up",
            "1 when the last scrape could read the database, else 0.",
            registry=r,
        )
        self.heartbeat_age = Gauge(
            "faultdesk_worker_heartbeat_age_seconds",
            "Seconds since each background worker last made progress.",
            ["worker"],
            registry=r,
        )

    # --- fed as things happen -------------------------------------------------------------

    def update_handled(self, outcome: str, seconds: float) -> None:
        """One update went through the router."""
        self.updates.labels(outcome).inc()
        self.handler_seconds.observe(seconds)

    def telegram_call(self, action: chat.Action, error: chat.TransportError | None) -> None:
        """One call to the Bot API ended."""
        outcome = outcome_of(error)
        self.telegram_requests.labels(METHODS.get(type(action), "other"), outcome).inc()
        if outcome == "retry_after":
            self.telegram_429.inc()

    def delivery(self, kind: str, outcome: str) -> None:
        """One outbox row was sent, put back for a retry, or failed for good."""
        self.deliveries.labels(kind, outcome).inc()

    def fired(self, row: Fired) -> None:
        """One piece of due work fired."""
        self.lateness.labels(row.kind).observe(max(0.0, row.late_seconds))

    # --- read at each scrape --------------------------------------------------------------

    async def refresh(self, core: Core, heartbeats: dict[str, float]) -> None:
        """Read the backlog gauges from the database (database_up 0 when it cannot)."""
        for worker, age in heartbeats.items():
            self.heartbeat_age.labels(worker).set(age)
        try:
            figures = await monitoring.backlog(core)
        except Exception:  # a scrape must answer even when the database does not
            self.database_up.set(0)
            return
        self.database_up.set(1)
        self.outbox_pending.set(figures.outbox_pending)
        self.outbox_oldest.set(figures.age(figures.oldest_pending_at))
        self.page_oldest.set(figures.age(figures.oldest_page_at))
        self.open_tickets.clear()
        for level, count in sorted(figures.open_tickets.items()):
            self.open_tickets.labels(str(level)).set(count)
        self.journal_rows.set(figures.journal_rows)

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


class InstrumentedTransport:
    """A transport that counts every call to Telegram by method and outcome."""

    def __init__(self, inner: chat.Transport, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics

    async def perform(self, action: chat.Action) -> chat.Sent:
        """Do the action through the wrapped transport, counting how it ended."""
        try:
            sent = await self.inner.perform(action)
        except chat.TransportError as error:
            self.metrics.telegram_call(action, error)
            raise
        self.metrics.telegram_call(action, None)
        return sent
