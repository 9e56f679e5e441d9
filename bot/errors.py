"""Translated answers for the core's error codes."""

from __future__ import annotations

from string import Formatter

from bot.i18n import N_, Translator
from bot.labels import STATUS, label
from core.enums import TicketStatus
from core.errors import DomainError

MESSAGES = {
    "ticket.illegal_transition": N_("That is not possible now: ticket #{ticket} is {status}."),
    "permission_denied": N_("Only the assigned engineer or a dispatcher can do that."),
    "not_found": N_("That no longer exists."),
    "conflict": N_("Someone changed this at the same moment; please look again."),
    "invalid_input": N_("That input is not valid."),
    "board.bad_page": N_("There is no such page of the board."),
    "invite.unknown": N_(
        "This invitation link is not valid. Ask your administrator for a new one."
    ),
    "invite.expired": N_("This invitation link has expired. Ask your administrator for a new one."),
    "invite.private_only": N_(
        "Invitations are redeemed only in a private chat with me. Open the link again there."
    ),
    "permission_denied.site_group": N_(
        "Only an administrator can choose where a site's alerts go."
    ),
    "invite.used_up": N_(
        "This invitation link has already been used. Ask your administrator for a new one."
    ),
    "asset.unknown_tag": N_(
        "No device with the tag {tag} is registered. Check the sticker, or choose the device by type."
    ),
    "asset.bad_tag": N_("{tag} cannot be an asset tag."),
    "asset.tag_too_long": N_(
        "{tag} is too long for an asset tag: at most 58 letters and digits, or 14 Chinese characters."
    ),
    "report.symptom_required": N_("Please describe the fault in a few words."),
    "site.unknown": N_("There is no site {site}; the sites are {choices}."),
    "report.site_required": N_("Your account has no site; ask your administrator."),
    "text.too_long": N_("That is too long: at most {limit} characters, please."),
    "decline.reason_required": N_("Please give a reason for declining."),
    "arrival.time_past": N_("That time has already passed; please give a time ahead."),
    "arrival.time_far": N_("That is more than {days} days ahead; please give a nearer time."),
    "assign.not_an_engineer": N_("That person is not an engineer."),
    "assign.already_assigned": N_("The ticket is already assigned to that engineer."),
    "rating.out_of_range": N_("Please choose a score from 1 to 5."),
    "rating.already_given": N_("This fix has already been rated. Thank you!"),
    "rating.bad_dimension": N_("That rating is not valid."),
    "rating.missing": N_("There is no rating to follow up yet."),
    "ticket.not_resolved": N_("Ticket #{ticket_id} is not resolved yet."),
    "ticket.closed": N_("Ticket #{ticket_id} is already closed."),
    "ticket.fix_already_confirmed": N_(
        "You already confirmed the fix for ticket #{ticket_id}. Thank you!"
    ),
    "consent.already_answered": N_("You already answered this request."),
    "page.already_acknowledged": N_("This page was already acknowledged."),
    "severity.out_of_range": N_("The level must be 1 to 4."),
    "sheet.amount_required": N_("A charged service needs an amount."),
    "sheet.amount_without_charge": N_("An amount was given but the service is not charged."),
    "sheet.amount_invalid": N_("{text} is not an amount; write it like 120 or 99.50."),
    "sheet.second_visit_time_required": N_("A second visit needs a date and time."),
    "complaint.text_required": N_("Please write what went wrong."),
    "complaint.already_confirmed": N_("This complaint was already confirmed."),
    "complaint.already_answered": N_("This complaint was already answered."),
    "complaint.answer_required": N_("Please write the answer to the complaint."),
    "replacement.reason_required": N_("Please give the reason for the replacement."),
    "replacement.not_an_engineer": N_("That person is not an active engineer."),
    "replacement.already_requested": N_(
        "A replacement of this engineer is already requested (#{request_id})."
    ),
    "replacement.not_open": N_("Replacement request #{request_id} is no longer open."),
    "replacement.overdue": N_(
        "The deadline of replacement request #{request_id} has passed: it can no longer be withdrawn."
    ),
    "replacement.bad_successor": N_(
        "The successor must be another active engineer (person {person_id} is not)."
    ),
    "replacement.no_successor": N_(
        "Nobody can take over: no other active engineer at the site. Register the new engineer first."
    ),
    "permission_denied.replacement": N_(
        "Only a manager of the engineer's site or an administrator can do that."
    ),
    "sheet.not_resolved": N_(
        "Ticket #{ticket_id} has no service sheet yet: it is filed when the ticket is resolved."
    ),
    "permission_denied.service_sheet": N_(
        "Only the person who reported ticket #{ticket_id}, or a dispatcher or manager of its site, can see its service sheet."
    ),
    "permission_denied.reporter_only": N_("Only the person who reported this fault can do that."),
    "permission_denied.consent": N_(
        "Only the person who reported this fault can answer this request."
    ),
    "permission_denied.ack_page": N_("This page was sent to someone else."),
    "permission_denied.cancel": N_(
        "Only the person who reported this fault or a dispatcher of its site can cancel it."
    ),
    "permission_denied.note": N_("You do not take part in ticket #{ticket_id}."),
    "cancel.reason_required": N_("Please give a reason."),
    "cancel.engineer_arrived": N_(
        "The engineer is already on site for ticket #{ticket_id}; it can no longer be withdrawn. "
        "Write to them instead, or ask the dispatcher."
    ),
    "note.empty": N_("Please write a message or send a photo."),
    "arrival.bad_location": N_("That location cannot be right; please share it again."),
    "permission_denied.other_site": N_(
        "Ticket #{ticket_id} belongs to another site; that site's dispatchers handle it."
    ),
}


def error_text(t: Translator, error: DomainError) -> str:
    """A clear sentence for a domain error in the reader's language."""
    params = dict(error.params)
    if error.code == "ticket.illegal_transition":
        status = params.get("status")
        params = {
            "ticket": params.get("ticket_id", "?"),
            "status": label(t, STATUS, TicketStatus(status)) if status else "?",
        }
    specific = f"{error.code}.{params['action']}" if "action" in params else None
    message = (
        (MESSAGES.get(specific) if specific else None)
        or MESSAGES.get(error.code)
        or MESSAGES.get(error.code.split(".")[0], N_("That did not work."))
    )
    # A code raised with fewer parameters than its sentence names still reads sensibly.
    names = {name for _, name, _, _ in Formatter().parse(t(message)) if name}
    return t(message, **{name: _shown(params.get(name, "?")) for name in names})


def _shown(value: object) -> object:
    """A parameter as a person reads it: a list of choices joined ("HQ, B2")."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value) or "—"
    return value
