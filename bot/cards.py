"""The ticket card and the other ticket texts engineers, dispatchers and managers see.

The ticket card is the engineer's control panel: every press edits the same message to
the ticket's new state, with the buttons the state allows
(`core.lifecycle.allowed_actions`) and the person may press (`core.permissions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from bot.callback_ids import ASSIGN_PREFIX, CARD_ACTION, CONSENT_PREFIX, LEVEL_PREFIX
from bot.chat import Attachment, SendMediaGroup, SendPhoto, SendVenue
from bot.context import Ctx
from bot.i18n import N_, Translator
from bot.labels import ASSET_KIND, CLOCK, SERVICE_RESULT, SEVERITY, STATUS, label
from bot.screens import AppLink, ButtonSpec, Screen, rows_of, show_screen
from bot.web.links import card_console, ticket_page
from core import permissions
from core.enums import COMING_STATUSES, OPEN_STATUSES, ArrivalCheck, Role, TicketStatus
from core.lifecycle import Action, allowed_actions
from core.models import Person
from core.views import ClockView, TicketCard

MAX_SYMPTOM_SHOWN = 600
MAX_ENGINEER_BUTTONS = 40  # Telegram shows at most 100 buttons; a site has far fewer engineers
ALBUM_SIZE = 10  # Telegram's limit of pictures in one album
LOCATION_VERIFIED = N_("✅ location verified ({distance} from the site)")
PHOTOS_CAPTION = N_("📷 Ticket #{ticket}")  # on the photos (or album) sent with a card
VENUE_TITLE = N_("Ticket #{ticket} · {site}")  # the site on the map, sent with a card

CONSENT_OPERATION = {
    "os_reinstall": N_("OS reinstall"),
    "disk_format": N_("Disk format"),
    "disk_swap": N_("Disk swap"),
}

DECLINE_REASON = {
    "on_leave": N_("On leave"),
    "too_far": N_("Too far"),
    "no_parts": N_("Lacking parts"),
}


class Op(StrEnum):
    """What a card button does (kept short: it travels in the callback data)."""

    VIEW = "v"
    ACCEPT = "ack"
    DECLINE = "dec"
    DEPART = "dep"
    ARRIVE = "arr"
    PAUSE = "pau"
    RESUME = "res"
    RESTORE = "rst"
    RESOLVE = "fix"
    REMOTE = "rem"
    CONSENT = "con"
    LEVEL = "lv"
    ASSIGN = "as"
    ETA = "eta"  # a new arrival time


class Mode(StrEnum):
    """Which keyboard a card shows."""

    CARD = "card"
    CONSENT = "consent"
    LEVEL = "level"
    ASSIGN = "assign"


@dataclass(frozen=True)
class WorkButton:
    """A card button for the engineer: shown when its action is legal and the state offers it."""

    op: Op
    text: str
    action: Action | None  # None: not a status change (asking for consent)
    offered_in: frozenset[TicketStatus]


S = TicketStatus
NEW_ARRIVAL_TIME = N_("🕐 New arrival time")
# The engineer's buttons in display order, laid out PER_ROW to a row.
WORK_BUTTONS: tuple[WorkButton, ...] = (
    WorkButton(Op.ACCEPT, N_("✅ Accept"), Action.ACKNOWLEDGE, frozenset({S.ASSIGNED})),
    WorkButton(Op.DECLINE, N_("↩️ Decline"), Action.DECLINE, frozenset({S.ASSIGNED})),
    WorkButton(Op.DEPART, N_("🚗 On the way"), Action.DEPART, frozenset({S.ACKNOWLEDGED})),
    WorkButton(Op.ARRIVE, N_("📍 Arrived"), Action.ARRIVE, frozenset({S.ACKNOWLEDGED, S.EN_ROUTE})),
    WorkButton(Op.ETA, NEW_ARRIVAL_TIME, None, frozenset({S.ACKNOWLEDGED, S.EN_ROUTE})),
    WorkButton(Op.RESTORE, N_("🩹 Restored"), Action.RESTORE, frozenset({S.ON_SITE})),
    WorkButton(Op.RESOLVE, N_("🏁 Resolved"), Action.RESOLVE, frozenset({S.ON_SITE, S.RESTORED})),
    WorkButton(
        Op.PAUSE,
        N_("⏸ Pause"),
        Action.PAUSE,
        frozenset({S.ACKNOWLEDGED, S.ON_SITE, S.RESTORED}),
    ),
    WorkButton(Op.RESUME, N_("▶️ Resume"), Action.RESUME, frozenset({S.PAUSED})),
    WorkButton(
        Op.CONSENT, N_("💾 Ask backup consent"), None, frozenset({S.ACKNOWLEDGED, S.ON_SITE})
    ),
    WorkButton(
        Op.REMOTE, N_("📞 Resolved remotely"), Action.RESOLVE_REMOTELY, frozenset({S.ACKNOWLEDGED})
    ),
)


# The label of each work button, by what it does (the journeys press them by label).
WORK_BUTTON_TEXT: dict[Op, str] = {button.op: button.text for button in WORK_BUTTONS}
CARD_TITLE = N_("🔧 <b>Ticket #{ticket}</b> · {level}")
OPEN_IN_CONSOLE = N_("🖥 Open in console")  # a Mini App button to the ticket's page


@dataclass(frozen=True)
class Viewer:
    """Who looks at a card: their buttons depend on it."""

    person_id: int | None
    role: Role | None
    site_id: int | None = None  # their home site; a dispatcher with none serves every site

    @staticmethod
    def of(person: Person | None) -> Viewer:
        """The viewer behind a recipient."""
        if person is None:
            return Viewer(None, None)
        return Viewer(person.id, person.role, person.site_id)

    def dispatches_for(self, card: TicketCard) -> bool:
        """Dispatchers of the ticket's site (and admins) assign and set levels."""
        return permissions.dispatches_at(self.role, self.site_id, card.site_id)

    def opens_console(self, card: TicketCard) -> bool:
        """Has the ticket's console page: its site's dispatchers and managers, admins, and
        the engineer who has it."""
        if self.role is Role.ADMIN:
            return True
        if self.role in (Role.DISPATCHER, Role.MANAGER):
            return self.site_id in (None, card.site_id)
        return (
            self.role is Role.ENGINEER
            and card.assignee_id is not None
            and self.person_id == card.assignee_id
        )

    def may_work(self, card: TicketCard) -> bool:
        """The assignee, or a dispatcher of the site, may act on the ticket."""
        return permissions.may_work(
            self.person_id,
            self.role,
            card.assignee_id,
            home_site_id=self.site_id,
            ticket_site_id=card.site_id,
        )


# --- small pieces of text ----------------------------------------------------------------------


def short(text: str, limit: int) -> str:
    """Cut a text to `limit` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def device_text(t: Translator, card: TicketCard) -> str:
    """'Desktop PC · PC-0001 · Lenovo M720'."""
    parts = []
    if card.asset_kind is not None:
        parts.append(label(t, ASSET_KIND, card.asset_kind))
    if card.asset_tag:
        parts.append(card.asset_tag)
    if card.brand_model:
        parts.append(card.brand_model)
    return " · ".join(parts) or t("device not given")


def place_text(card: TicketCard) -> str:
    """'Head office, Room 301 · 1 Main St'."""
    where = ", ".join(part for part in (card.site_name, card.location) if part)
    return " · ".join(part for part in (where, card.site_address) if part)


def clock_line(t: Translator, tz: str, view: ClockView) -> str:
    """One deadline with its state."""
    name = label(t, CLOCK, view.kind)
    if view.cancelled:
        return t("• {clock}: not needed", clock=name)
    if view.stopped_at is not None:
        done = t.moment(view.stopped_at, tz)
        if view.met:
            return t("• {clock}: ✅ {done}", clock=name, done=done)
        due = t.moment(view.due_at, tz) if view.due_at else "—"
        return t("• {clock}: ❌ {done}, was due {due}", clock=name, done=done, due=due)
    if view.paused or view.due_at is None:
        return t("• {clock}: ⏸ paused", clock=name)
    due = t.moment(view.due_at, tz)
    if view.breached:
        return t("• {clock}: by {due} ⚠️ overdue", clock=name, due=due)
    return t("• {clock}: by {due}", clock=name, due=due)


def consent_line(t: Translator, tz: str, card: TicketCard) -> str | None:
    """The latest data-backup request, if any."""
    consent = card.consent
    if consent is None:
        return None
    operation = label(t, CONSENT_OPERATION, consent.operation)
    if consent.answered_at is None:
        return t("💾 Backup consent ({operation}): waiting for the reporter", operation=operation)
    if consent.confirmed:
        return t(
            "💾 Backup consent ({operation}): ✅ confirmed {at}",
            operation=operation,
            at=t.moment(consent.answered_at, tz),
        )
    return t(
        "💾 Backup consent ({operation}): ❌ refused {at}; do not go ahead",
        operation=operation,
        at=t.moment(consent.answered_at, tz),
    )


def warranty_line(t: Translator, card: TicketCard) -> str | None:
    """The device's warranty as the asset register has it (None without a registered device)."""
    if card.asset_tag is None:
        return None
    if card.warranty_until is None:
        return t("🛡 Warranty: not recorded in the register")
    until = card.warranty_until.isoformat()
    if card.under_warranty:
        return t("🛡 Under warranty until {date}", date=until)
    return t("🛡 Out of warranty since {date}", date=until)


def repairs_lines(t: Translator, tz: str, card: TicketCard) -> list[str]:
    """The device's latest earlier repairs: date, symptom, result."""
    if not card.repairs:
        return [t("🧰 No earlier repairs of this device.")] if card.asset_tag else []
    lines = [t("🧰 Earlier repairs of this device:")]
    for repair in card.repairs:
        if repair.result is not None:
            outcome = label(t, SERVICE_RESULT, repair.result)
        else:
            outcome = label(t, STATUS, repair.status)
        lines.append(
            t(
                "• {date} #{ticket}: {symptom} → {result}",
                date=t.day_short(repair.reported_at, tz),
                ticket=repair.ticket_id,
                symptom=short(repair.symptom, 60),
                result=outcome,
            )
        )
    return lines


def arrival_check_text(t: Translator, check: ArrivalCheck | None, distance_m: int | None) -> str:
    """'✅ location verified (120 m from the site)', '⚠️ 2.4 km from the site', '❔ no location'."""
    if check is None:
        return t("no site location to check against")
    if check is ArrivalCheck.NOT_GIVEN:
        return t("❔ no location shared")
    where = distance_text(t, distance_m or 0)
    if check is ArrivalCheck.VERIFIED:
        return t(LOCATION_VERIFIED, distance=where)
    return t("⚠️ location {distance} from the site, outside its radius", distance=where)


def distance_text(t: Translator, metres: int) -> str:
    """'120 m' or '2.4 km'."""
    if metres < 1000:
        return t("{n} m", n=metres)
    return t("{n} km", n=t.number(metres / 1000, 1))


def arrival_line(t: Translator, tz: str, card: TicketCard) -> str | None:
    """When the engineer arrived and what the shared location showed."""
    if card.arrived_at is None or card.arrival_check is None:
        return None  # not arrived, or a site without coordinates: nothing to check
    return t(
        "📍 Arrived {at}: {check}",
        at=t.moment(card.arrived_at, tz),
        check=arrival_check_text(t, card.arrival_check, card.arrival_distance_m),
    )


def card_media(t: Translator, card: TicketCard, chat_id: int) -> list[Attachment]:
    """What follows a card: the reporter's photos (an album when several) and the site's map."""
    media: list[Attachment] = []
    caption = t(PHOTOS_CAPTION, ticket=card.id)
    photos = card.photo_ids
    for start in range(0, len(photos), ALBUM_SIZE):
        chunk = photos[start : start + ALBUM_SIZE]
        if len(chunk) == 1:
            media.append(SendPhoto(chat_id, chunk[0], caption=caption))
        else:
            media.append(SendMediaGroup(chat_id, tuple(chunk), caption=caption))
    if card.site_latitude is not None and card.site_longitude is not None:
        address = ", ".join(part for part in (card.location, card.site_address) if part)
        media.append(
            SendVenue(
                chat_id,
                card.site_latitude,
                card.site_longitude,
                title=short(
                    t("Ticket #{ticket} · {site}", ticket=card.id, site=card.site_name), 100
                ),
                address=short(address or card.site_name, 200),
            )
        )
    return media


def status_text(t: Translator, card: TicketCard) -> str:
    """'dispatched · Wang Wei' or 'waiting for dispatch'."""
    status = label(t, STATUS, card.status)
    if card.assignee_name:
        return t("{status} · {engineer}", status=status, engineer=card.assignee_name)
    return status


def card_text(t: Translator, tz: str, card: TicketCard, *, header: str | None = None) -> str:
    """Everything an engineer needs about a ticket, deadlines included."""
    lines = []
    if header:
        lines += [header, ""]
    lines.append(t(CARD_TITLE, ticket=card.id, level=label(t, SEVERITY, card.severity)))
    if card.repeat_of_id is not None:
        lines.append(
            t(
                "⚠️ <b>Repeat failure</b>: this device had ticket #{previous} within 30 days.",
                previous=card.repeat_of_id,
            )
        )
    lines.append(t("Status: <b>{status}</b>", status=status_text(t, card)))
    lines.append(t("🖥 {device}", device=device_text(t, card)))
    lines.append(t("📍 {place}", place=place_text(card) or "—"))
    lines.append(
        t("👤 {reporter} · {phone}", reporter=card.reporter_name, phone=card.contact_phone or "—")
    )
    lines.append(t("📝 <i>{symptom}</i>", symptom=short(card.symptom, MAX_SYMPTOM_SHOWN)))
    if card.photo_ids:
        lines.append(
            t.plural(
                "📷 {n} photo from the reporter (sent with this card)",
                "📷 {n} photos from the reporter (sent with this card)",
                len(card.photo_ids),
            )
        )
    warranty = warranty_line(t, card)
    if warranty:
        lines.append(warranty)
    lines += repairs_lines(t, tz, card)
    if card.promised_arrival_at is not None and not card.remote:
        lines.append(t("🕐 Promised arrival: {at}", at=t.moment(card.promised_arrival_at, tz)))
    if card.expected_arrival_at is not None and card.status in COMING_STATUSES:
        lines.append(
            t("🕐 Expected arrival (engineer): {at}", at=t.moment(card.expected_arrival_at, tz))
        )
    if card.clocks:
        lines.append(t("Deadlines:"))
        lines += [clock_line(t, tz, view) for view in card.clocks]
    arrival = arrival_line(t, tz, card)
    if arrival:
        lines.append(arrival)
    consent = consent_line(t, tz, card)
    if consent:
        lines.append(consent)
    if card.spare_due_back_at is not None:
        lines.append(
            t(
                "🔁 Spare device lent; the original is due back by {at}",
                at=t.moment(card.spare_due_back_at, tz),
            )
        )
    return "\n".join(lines)


def nearest_clock(card: TicketCard) -> ClockView | None:
    """The running deadline that falls due first."""
    running = [
        (c.due_at, index, c)
        for index, c in enumerate(card.clocks)
        if c.stopped_at is None and not c.cancelled and c.due_at is not None
    ]
    return min(running)[2] if running else None


def time_left(t: Translator, due: datetime, now: datetime) -> str:
    """'1 h 20 min left', 'due now' or 'overdue by 20 min' (whole minutes)."""
    if abs(due - now) < timedelta(minutes=1):
        return t("due now")
    if due >= now:
        return t("{left} left", left=t.duration(due - now))
    return t("overdue by {late}", late=t.duration(now - due))


def queue_entry(
    t: Translator, tz: str, card: TicketCard, now: datetime, *, number: int, with_assignee: bool
) -> str:
    """Three lines of a queue: number and state, what and where, the nearest deadline."""
    head = t(
        "{n}. <b>#{ticket}</b> · {level} · {status}",
        n=number,
        ticket=card.id,
        level=label(t, SEVERITY, card.severity),
        status=status_text(t, card) if with_assignee else label(t, STATUS, card.status),
    )
    what = t(
        "   {symptom} · {place}",
        symptom=short(card.symptom, 40),
        place=short(", ".join(p for p in (card.site_name, card.location) if p), 40),
    )
    clock = nearest_clock(card)
    if clock is None or clock.due_at is None:
        due = t("   ⏸ no deadline running")
    else:
        mark = "⚠️" if clock.due_at < now else "⏱"
        due = t(
            "   {mark} {clock} by {due} · {left}",
            mark=mark,
            clock=label(t, CLOCK, clock.kind),
            due=t.moment(clock.due_at, tz),
            left=time_left(t, clock.due_at, now),
        )
    return "\n".join((head, what, due))


# The reporter's view of the deadlines: what they wait for, in their words.
DEADLINE = {
    "arrival": N_("arrive by {time}"),
    "restore": N_("restore by {time}"),
    "resolve": N_("fix by {time}"),
}


def deadlines_line(t: Translator, tz: str, card: TicketCard) -> str:
    """The running deadlines (arrival, restore, fix) in the reader's zone."""
    if card.status is TicketStatus.RESOLVED:
        return t("✅ Resolved: please confirm the fix.")
    parts = []
    for kind, message in DEADLINE.items():
        clock = card.clock(kind)
        if clock is None or clock.stopped_at is not None:
            continue
        if clock.paused or clock.due_at is None:
            parts.append(t(message, time=t("paused")))
            continue
        mark = "⚠️ " if clock.breached else ""
        parts.append(mark + t(message, time=t.moment(clock.due_at, tz)))
    return "⏱ " + " · ".join(parts) if parts else "⏱ —"


# --- the card's buttons ------------------------------------------------------------------------


def work_specs(t: Translator, card: TicketCard) -> list[ButtonSpec]:
    """The assignee's buttons: legal in the ticket's state and offered there."""
    legal = allowed_actions(card.status)
    return [
        ButtonSpec(t(button.text), CARD_ACTION, (card.id, button.op.value))
        for button in WORK_BUTTONS
        if card.status in button.offered_in and (button.action is None or button.action in legal)
    ]


def engineer_specs(card: TicketCard, engineers: Sequence[Person]) -> list[ButtonSpec]:
    """One button per engineer who could take the ticket (at most MAX_ENGINEER_BUTTONS)."""
    return [
        ButtonSpec(
            f"👷 {short(person.name, 30)}", CARD_ACTION, (card.id, f"{ASSIGN_PREFIX}{person.id}")
        )
        for person in engineers
        if person.id != card.assignee_id
    ][:MAX_ENGINEER_BUTTONS]


def dispatcher_specs(
    t: Translator, card: TicketCard, engineers: Sequence[Person]
) -> list[tuple[ButtonSpec, ...]]:
    """Assign (engineers shown directly while nobody has it) or Reassign, and Set level."""
    rows: list[tuple[ButtonSpec, ...]] = []
    if card.status in (S.REPORTED, S.REOPENED):
        rows += rows_of(engineer_specs(card, engineers))
    elif Action.ASSIGN in allowed_actions(card.status):
        rows.append((ButtonSpec(t("🔀 Reassign"), CARD_ACTION, (card.id, Op.ASSIGN.value)),))
    if card.status in OPEN_STATUSES:
        rows.append((ButtonSpec(t("🎚 Set level"), CARD_ACTION, (card.id, Op.LEVEL.value)),))
    return rows


def back_spec(t: Translator, card: TicketCard) -> ButtonSpec:
    """Back to the card's main buttons."""
    return ButtonSpec(t("⬅️ Back"), CARD_ACTION, (card.id, Op.VIEW.value))


def console_link(
    t: Translator, card: TicketCard, viewer: Viewer, console: str | None
) -> AppLink | None:
    """ "Open in console" to the ticket's page, for those who have it (None: no Mini App)."""
    if console is None or not viewer.opens_console(card):
        return None
    return AppLink(t(OPEN_IN_CONSOLE), ticket_page(console, card.id))


def card_screen(
    t: Translator,
    tz: str,
    card: TicketCard,
    viewer: Viewer,
    *,
    mode: Mode = Mode.CARD,
    engineers: Sequence[Person] = (),
    header: str | None = None,
    console: str | None = None,
) -> Screen:
    """The card with the buttons `viewer` may press in `mode`; with `console` (the Mini
    App's https base, in a private chat) the main card also opens the ticket's page."""
    text = card_text(t, tz, card, header=header)
    link = console_link(t, card, viewer, console) if mode is Mode.CARD else None
    if viewer.dispatches_for(card):
        if mode is Mode.LEVEL:
            levels = [
                ButtonSpec(
                    ("• " if level == card.severity else "") + label(t, SEVERITY, level),
                    CARD_ACTION,
                    (card.id, f"{LEVEL_PREFIX}{level}"),
                )
                for level in (1, 2, 3, 4)
            ]
            prompt = t("Choose the new level:")
            return Screen(f"{text}\n\n{prompt}", (*rows_of(levels), (back_spec(t, card),)))
        if mode is Mode.ASSIGN:
            prompt = t("Choose the engineer:")
            rows = (*rows_of(engineer_specs(card, engineers)), (back_spec(t, card),))
            return Screen(f"{text}\n\n{prompt}", rows)
        return Screen(text, tuple(dispatcher_specs(t, card, engineers)), link)
    if not viewer.may_work(card):
        return Screen(text, app=link)
    if mode is Mode.CONSENT:
        operations = [
            ButtonSpec(t(name), CARD_ACTION, (card.id, f"{CONSENT_PREFIX}{index}"))
            for index, name in enumerate(CONSENT_OPERATION.values())
        ]
        prompt = t(
            "Which operation may lose data? The reporter will be asked to confirm the backup."
        )
        return Screen(f"{text}\n\n{prompt}", (*rows_of(operations), (back_spec(t, card),)))
    return Screen(text, rows_of(work_specs(t, card)), link)


def consent_operation(op: str) -> str | None:
    """The operation code behind a `c_<index>` op, None if unknown."""
    if not op.startswith(CONSENT_PREFIX):
        return None
    try:
        index = int(op[len(CONSENT_PREFIX) :])
    except ValueError:
        return None
    codes = list(CONSENT_OPERATION)
    return codes[index] if 0 <= index < len(codes) else None


# --- showing cards -------------------------------------------------------------------------------


class EngineerChoices(Protocol):
    """Where the engineers a dispatcher may choose come from (`TicketService`)."""

    async def engineers_for(self, ticket_id: int) -> list[Person]:
        """Active engineers of the ticket's site, as they are now."""
        ...


async def card_screen_for(
    choices: EngineerChoices,
    t: Translator,
    tz: str,
    card: TicketCard,
    viewer: Viewer,
    *,
    mode: Mode = Mode.CARD,
    header: str | None = None,
    console: str | None = None,
) -> Screen:
    """The card screen, with the engineers a dispatcher may choose (read now) when shown."""
    engineers: list[Person] = []
    if viewer.dispatches_for(card) and (
        mode is Mode.ASSIGN or card.status in (S.REPORTED, S.REOPENED)
    ):
        engineers = await choices.engineers_for(card.id)
    return card_screen(
        t, tz, card, viewer, mode=mode, engineers=engineers, header=header, console=console
    )


def console_of(ctx: Ctx) -> str | None:
    """The Mini App base for cards answered in this chat (None: not https, or a group)."""
    return card_console(ctx.app.web_url, ctx.chat_id if ctx.incoming.is_private else None)


def viewer_of(ctx: Ctx) -> Viewer:
    """The person pressing, as a card viewer."""
    profile = ctx.profile
    if profile is None:
        return Viewer(None, None)
    return Viewer(profile.id, profile.role, profile.site_id)


async def show_card(
    ctx: Ctx,
    ticket_id: int,
    *,
    assumed_fp: str,
    mode: Mode = Mode.CARD,
    message_id: int | None = None,
) -> None:
    """Refresh a card message (by default the pressed one) to the ticket's current state."""
    card = await ctx.app.helpdesk.tickets.card(ticket_id)
    screen = await card_screen_for(
        ctx.app.helpdesk.tickets,
        ctx.t,
        ctx.tz,
        card,
        viewer_of(ctx),
        mode=mode,
        console=console_of(ctx),
    )
    target = message_id if message_id is not None else ctx.incoming.message_id
    await show_screen(ctx, screen, message_id=target, assumed_fp=assumed_fp)
