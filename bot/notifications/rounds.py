"""Texts about inspection rounds that several audiences share: the round's name, its days,
the report (engineers, managers and admins all see it), and the start button."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton

from bot.callback_ids import INSPECTION_START_ACTION, OPEN_ACTION
from bot.chat import Button, InlineKeyboard
from bot.dialogs.inspection import check_label
from bot.i18n import Translator
from bot.labels import ASSET_KIND, label
from bot.notifications.registry import RenderCtx
from core.enums import Role
from core.inspections import Answer
from core.messages import ConsumableDue, ConsumableReplaced, RoundMessage, RoundReportMessage

INSPECTORS = frozenset({Role.ENGINEER, Role.ADMIN})
MAX_TICKET_BUTTONS = 8


def round_moment(t: Translator, tz: str, value: datetime | None) -> str:
    """A moment in the reader's zone, or a dash."""
    return t.moment(value, tz) if value is not None else "—"


def round_day(t: Translator, tz: str, value: datetime | None) -> str:
    """The local date of a moment: 'Sun, Mar 1'."""
    if value is None:
        return "—"
    local: date = value.astimezone(ZoneInfo(tz)).date()
    return str(format_skeleton("MMMEd", local, locale=t.locale))


def round_name(t: Translator, m: RoundMessage) -> str:
    """'Meeting rooms (2026-03) at Head office'."""
    return t("{plan} ({period}) at {site}", plan=m.plan, period=m.period, site=m.site)


def start_button(r: RenderCtx, m: RoundMessage) -> InlineKeyboard | None:
    """▶️ Start inspection, for engineers and admins only."""
    if r.recipient is None or r.recipient.role not in INSPECTORS:
        return None
    return InlineKeyboard.of(
        [r.button(r._("▶️ Start inspection"), INSPECTION_START_ACTION, m.inspection_id)]
    )


def _consumable_line(t: Translator, entry: ConsumableDue | ConsumableReplaced) -> str:
    where = f"{label(t, ASSET_KIND, entry.kind)} {entry.tag}"
    if entry.location:
        where += f" ({entry.location})"
    item = check_label(t, entry.item)
    if isinstance(entry, ConsumableDue) and entry.limit is not None:
        return t(
            "• {where}: {item} {value} (replace over {limit})",
            where=where,
            item=item,
            value=entry.value,
            limit=int(entry.limit),
        )
    if isinstance(entry, ConsumableDue) and entry.value == Answer.LOW.value:
        return t("• {where}: {item} low", where=where, item=item)
    return t("• {where}: {item}", where=where, item=item)


def report_text(t: Translator, tz: str, m: RoundReportMessage) -> str:
    """The inspection report: totals, consumables, tickets and skipped devices."""
    lines = [
        t("📋 <b>Inspection report</b>: {round}", round=round_name(t, m)),
        t(
            "Completed {completed} by {engineer} · {timing}",
            completed=round_moment(t, tz, m.completed_at),
            engineer=m.engineer or "—",
            timing=t("on time")
            if m.on_time
            else t("late (due {due})", due=round_moment(t, tz, m.due_at)),
        ),
        t(
            "✅ {ok} OK · ❌ {fault} with a fault · ⏭ {skipped} skipped (of {devices})",
            ok=m.ok,
            fault=m.fault,
            skipped=m.skipped,
            devices=m.devices,
        ),
    ]
    if m.consumables_due:
        lines += ["", t("<b>Consumables to replace</b>:")]
        lines += [_consumable_line(t, entry) for entry in m.consumables_due]
    if m.consumables_replaced:
        lines += ["", t("<b>Replaced during the round</b>:")]
        lines += [_consumable_line(t, entry) for entry in m.consumables_replaced]
    if m.tickets:
        lines += ["", t("<b>Tickets opened</b>:")]
        lines += [
            t(
                "• #{ticket}: {kind} {tag} ({location})",
                ticket=entry.ticket_id,
                kind=label(t, ASSET_KIND, entry.kind),
                tag=entry.tag,
                location=entry.location or "—",
            )
            for entry in m.tickets
        ]
    if m.skipped_devices:
        lines += ["", t("<b>Skipped</b>:")]
        lines += [
            t(
                "• {kind} {tag}: {reason}",
                kind=label(t, ASSET_KIND, entry.kind),
                tag=entry.tag,
                reason=entry.reason or "—",
            )
            for entry in m.skipped_devices
        ]
    return "\n".join(lines)


def ticket_buttons(r: RenderCtx, m: RoundReportMessage) -> InlineKeyboard | None:
    """One button per ticket the round opened (the first few)."""
    buttons: list[Button] = [
        r.button(f"#{entry.ticket_id}", OPEN_ACTION, entry.ticket_id)
        for entry in m.tickets[:MAX_TICKET_BUTTONS]
    ]
    return InlineKeyboard.of(buttons[:4], buttons[4:]) if buttons else None
