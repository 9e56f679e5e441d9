"""The audit chain's head, published daily off the host (a read-only Telegram channel).

Someone able to rewrite the whole audit table could recompute every hash (see
`core.audit`); a fingerprint published where they cannot reach it catches that. Once a
day the head event and the first digits of its hash (`anchor_text`) go to the
configured channel through the outbox, keyed by the local day, so the post goes out
once however often or on however many instances the job runs. Anyone holding a post
can run `faultdesk audit verify --anchor 1234:5f3a…` against the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from core import outbox
from core.audit import anchor_text, chain_head
from core.clock import DEFAULT_TIMEZONE
from core.messages import AuditAnchorPosted
from core.unit_of_work import Core

ANCHOR_POSTED = "audit.anchor_posted"


@dataclass(frozen=True)
class AnchorResult:
    """What one run of the job did."""

    posted: bool
    anchor: str = ""
    reason: str = ""


class AuditAnchors:
    """Posts the chain's head to the configured channel, once a day."""

    def __init__(self, core: Core, channel_id: int | None = None) -> None:
        self.core = core
        self.channel_id = channel_id

    async def post_daily(self, now: datetime, *, tz: str = DEFAULT_TIMEZONE) -> AnchorResult:
        """Queue today's anchor to the channel (once per local day); nothing without a channel."""
        if self.channel_id is None:
            return AnchorResult(False, reason="no_channel")
        day = now.astimezone(ZoneInfo(tz)).date().isoformat()
        async with self.core.transaction() as tx:
            event_id, digest = await chain_head(tx.session)
            if event_id == 0:
                return AnchorResult(False, reason="empty_log")
            anchor = anchor_text(event_id, digest)
            message = AuditAnchorPosted(anchor=anchor, events=event_id, at=tx.now, tz=tz)
            added = await outbox.enqueue(
                tx, message, key=f"audit-anchor:{day}:{self.channel_id}", chat_id=self.channel_id
            )
            if not added:
                return AnchorResult(False, reason="already_posted")
            # Recorded in the chain itself, after the event it names.
            await tx.audit("audit", event_id, ANCHOR_POSTED, anchor=anchor, chat_id=self.channel_id)
            return AnchorResult(True, anchor=anchor)
