"""What a site's alert group is told: its escalation alerts, with nothing to press.

A group copy carries the alert's text (the ticket, the missed deadline, who holds it)
but no buttons and no phone numbers: acknowledging and acting stay in each person's
private chat, where the page with its buttons went.
"""

from __future__ import annotations

from bot.notifications.escalation import manager_alert_text, page_text
from bot.notifications.registry import Notice, RenderCtx, renders
from core.messages import SiteGroupAlert


@renders(SiteGroupAlert)
async def site_group_alert(m: SiteGroupAlert, r: RenderCtx) -> Notice:
    """The alert's text for everyone in the group, and where to act on it."""
    if m.level == "manager":
        text = manager_alert_text(r.t, r.tz, m, phone=False)
    else:
        text = page_text(r.t, r.tz, m, phone=False)
    where = r._("Those paged acknowledge and act in their private chat with me.")
    return Notice(f"📢 {text}\n\n{where}")
