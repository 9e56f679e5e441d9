"""The console's own words: gettext messages, translated with the chat's catalogs.

The page receives them as one JSON object in the viewer's language (`texts_for`), keyed
as console.js reads them. Each is marked with a message context ("console", or a narrower
one where the same English names two things) so the console keeps its own wording where
the chat says the same English differently, and `tests/unit/test_catalogs.py` checks
every one in zh_CN, en and ru like any other message. Domain names (states, deadlines,
levels, device types) and error sentences come from `bot.labels` and `bot.errors`, so the
console and the chat name things alike.
"""

from __future__ import annotations

from typing import Final

from bot.i18n import NC_, InContext, Translator

TEXTS: Final[dict[str, InContext]] = {
    "title": NC_("console", "Dispatch board"),
    "ticket_title": NC_("console", "Ticket #{id}"),
    "open_count": NC_("console", "{open} open · {overdue} overdue"),
    "all_sites": NC_("console", "All sites"),
    "all_levels": NC_("console", "All levels"),
    "all_states": NC_("console", "All states"),
    "all_engineers": NC_("console", "All engineers"),
    "overdue_only": NC_("console", "Overdue only"),
    "search": NC_("console", "Ticket no., asset tag or text"),
    "level": NC_("console", "Level"),
    "state": NC_("console", "State"),
    "assignee": NC_("console", "Engineer"),
    "site": NC_("console", "Site"),
    "device": NC_("console", "Device"),
    "deadlines": NC_("console", "Deadlines"),
    "unassigned": NC_("console", "not assigned"),
    "paused": NC_("console", "paused"),
    "missed": NC_("console", "missed {time} ago"),
    "left": NC_("console", "{time} left"),
    "none_open": NC_("console", "No open ticket matches."),
    "more": NC_("console", "Show {n} more"),
    "assign": NC_("console", "Assign"),
    "reassign": NC_("console", "Reassign"),
    "set_level": NC_("console", "Set level"),
    "cancel": NC_("console", "Cancel ticket"),
    "reason": NC_("console", "Reason"),
    "ok": NC_("console", "OK"),
    "close": NC_("console", "Close"),
    "done": NC_("console", "Done."),
    "back": NC_("console", "← Board"),
    "reported": NC_("console", "Reported"),
    "reporter": NC_("console", "Reporter"),
    "phone": NC_("console", "Phone"),
    "location": NC_("console", "Location"),
    "symptom": NC_("console", "Fault"),
    "timeline": NC_("console", "Timeline"),
    "photos": NC_("console", "Photos"),
    "repairs": NC_("console", "Earlier repairs"),
    "warranty": NC_("console", "Warranty until"),
    "system": NC_("console", "system"),
    "due": NC_("console", "due"),
    "live": NC_("console", "live"),
    "offline": NC_("console", "connection lost, retrying"),
    "signed_out": NC_(
        "console", "Your session has ended. Open the console again from the bot (/web)."
    ),
    "forbidden": NC_("console", "This screen is for dispatchers and managers."),
    "link_invalid": NC_(
        "console",
        "This login link is not valid any more: links work once and for a few minutes. Send /web to the bot for a new one.",
    ),
    "bad_request": NC_("console", "That request is not valid."),
    "server_error": NC_(
        "console", "Something went wrong on the server; nothing was changed. Please try again."
    ),
    "mine_title": NC_("console", "My tickets"),
    "mine_none": NC_("console", "No open ticket is assigned to you."),
    "map": NC_("console", "Map"),
    "dashboard": NC_("console", "Dashboard"),
    "now_line": NC_(
        "console",
        "Now: {open} open · {overdue} overdue · today {opened} opened, {resolved} resolved",
    ),
    "month_kpis": NC_("console", "This month ({month})"),
    "score": NC_("console", "On-site support {score}/100 (−{points})"),
    "trend": NC_("console", "Last 12 months"),
    "by_site": NC_("console", "By site, this month"),
    "sheet": NC_("console", "Service sheet (PDF)"),
    "h": NC_("console", "h"),
    "min": NC_("console", "min"),
    "d": NC_("console", "d"),
    "assets": NC_("console", "Asset register"),
    "asset_search": NC_("console", "Tag, place, model, serial, user or IP"),
    "all_kinds": NC_("console", "All types"),
    "assets_count": NC_("console", "{shown} of {total} devices"),
    "assets_none": NC_("console", "No device matches."),
    "repairs_count": NC_("console", "Repairs"),
    "repeat_flag": NC_("console", "repeat failure within 30 days"),
    "repeat_of": NC_("console", "repeats #{id}"),
    # The device page shows these after the heading "warranty_state": no word twice.
    "warranty_state": NC_("console", "Warranty"),
    "in_warranty": NC_("console", "valid until {date}"),
    "out_of_warranty": NC_("console", "ended {date}"),
    "no_warranty": NC_("console", "no date recorded"),
    "inspections": NC_("console", "Inspections"),
    "no_inspections": NC_("console", "Not inspected yet."),
    "no_repairs": NC_("console", "No repairs."),
    "outcome_ok": NC_("console: inspection outcome", "OK"),
    "outcome_fault": NC_("console: inspection outcome", "fault"),
    "outcome_skipped": NC_("console: inspection outcome", "skipped"),
    "retired": NC_("console", "retired"),
    "edit": NC_("console", "Edit"),
    "save": NC_("console", "Save"),
    "labels_pdf": NC_("console", "QR labels (PDF) for {n} selected"),
    "labels_none": NC_("console", "Select the devices to print labels for."),
    "labels_too_many": NC_("console", "Too many devices for one PDF: select at most 1000."),
    "labels_no_username": NC_(
        "console",
        "The labels need the bot's username (FAULTDESK_BOT_USERNAME); the bot has not learned it yet.",
    ),
    "labels_no_font": NC_(
        "console",
        "The labels cannot be made: no Chinese font is installed on the server (fonts-wqy-microhei).",
    ),
    "quarter_title": NC_("console", "Quarter {quarter} so far"),
    "quarter_score": NC_("console", "Score {score} · payment {payment}"),
    "quarter_range": NC_(
        "console",
        "Score {low}–{high} (survey still open) · payment {payment_low} to {payment_high}",
    ),
    "quarter_parts": NC_("console", "On-site {onsite} · other {other} · survey {survey}"),
    "escalations_week": NC_("console", "Escalations per week"),
    "week_line": NC_("console", "week of {week}: {fired} steps, {paged} pages"),
    "rounds": NC_("console", "Inspection rounds"),
    "check_device": NC_("console", "Check"),
    "check_note": NC_("console", "Note (optional)"),
    "check_impact_needed": NC_("console", "A fault was found: please choose how bad it is."),
    "check_impact": NC_("console", "How bad is the fault?"),
    "round_progress": NC_("console", "{done} of {total} checked · due {due}"),
    "photo_missing": NC_("console", "No such photo."),
    "photo_unavailable": NC_("console", "The photo cannot be fetched from Telegram right now."),
    "business_time": NC_("console", "Business time used"),
    "used_of": NC_("console", "{used} of {target} ({percent}%)"),
    "escalation": NC_("console", "Escalation"),
    "step_pending": NC_("console", "due {time}"),
    "step_done": NC_("console", "fired {time}"),
    "step_skipped": NC_("console", "not sent: its moment had passed when it was reached ({time})"),
    "step_cancelled": NC_("console", "withdrawn"),
    "paged": NC_("console", "{to} paged {sent}"),
    "acknowledged": NC_("console", "acknowledged by {by} {time}"),
    "not_acknowledged": NC_("console", "not acknowledged"),
    "asset_unknown": NC_("console", "No device with the tag {tag} was found."),
    "asset_other_site": NC_(
        "console", "This device belongs to another site; its people look after it."
    ),
    "asset_edit_admins": NC_("console", "Only administrators change the asset register."),
    "bad_value": NC_("console", "{field}: this value cannot be used."),
    "field_department": NC_("console: asset field", "Department"),
    "field_location": NC_("console: asset field", "Location"),
    "field_user_name": NC_("console: asset field", "User"),
    "field_brand": NC_("console: asset field", "Brand"),
    "field_model": NC_("console: asset field", "Model"),
    "field_serial": NC_("console: asset field", "Serial no."),
    "field_monitor_serial": NC_("console: asset field", "Monitor serial no."),
    "field_warranty_until": NC_("console: asset field", "Warranty until"),
    "field_manufactured_on": NC_("console: asset field", "Made on"),
    "field_health": NC_("console: asset field", "Condition"),
    "field_hardware_config": NC_("console: asset field", "Hardware"),
    "field_ip_address": NC_("console: asset field", "IP address"),
    "field_subnet_mask": NC_("console: asset field", "Subnet mask"),
    "field_os": NC_("console: asset field", "Operating system"),
    "field_antivirus": NC_("console: asset field", "Antivirus"),
    "field_office_software": NC_("console: asset field", "Office software"),
}


def texts_for(t: Translator) -> dict[str, str]:
    """Every word of the console in the translator's language, keyed as the page reads them."""
    return {key: t(message) for key, message in TEXTS.items()}


def word(t: Translator, key: str) -> str:
    """One word of the console in the translator's language."""
    return t(TEXTS[key])
