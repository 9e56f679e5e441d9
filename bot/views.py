"""Ticket cards and the other texts engineers, dispatchers and managers see.

A *screen* is a message's text plus its buttons. The ticket card is the engineer's
control panel: every press edits the same message to the ticket's new state, with the
buttons the state allows (`core.lifecycle.allowed_actions`) for the person looking.

Telegram refuses an edit that changes nothing ("message is not modified"), and a
callback does not tell us what its message shows now. So every button of a screen
carries a short fingerprint of that screen, and this process remembers the
fingerprint of each message it last edited: a refresh edits only when the new screen
differs from what the message shows. Without a memory entry (the message was sent
through the outbox, or another instance edited it) the pressed button's fingerprint
is the best knowledge, and exact except for two presses racing across instances.
"""

from __future__ import annotations

import base64
import hashlib
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.chat import Button, InlineKeyboard
from bot.context import Ctx
from bot.i18n import N_, Translator
from bot.labels import ASSET_KIND, CLOCK, PAUSE_REASON, SEVERITY, STATUS, label
from core.enums import OPEN_STATUSES, Role, TicketStatus
from core.lifecycle import Action, allowed_actions
from core.models import Person
from core.tickets import WORKERS, ClockView, TicketCard

CARD_ACTION = "ec"  # ec:<ticket>:<op>:<fingerprint>
OPEN_ACTION = "qo"  # qo:<ticket>[:<fingerprint>]: send a ticket's card as a new message
PAGE_ACK_ACTION = "ep"  # ep:<page>[:<fingerprint>]: acknowledge an escalation page
MAX_SYMPTOM_SHOWN = 600
MAX_ENGINEER_BUTTONS = 40  # Telegram shows at most 100 buttons; a site has far fewer engineers

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


class Mode(StrEnum):
    """Which keyboard a card shows."""

    CARD = "card"
    CONSENT = "consent"
    LEVEL = "level"
    ASSIGN = "assign"


CONSENT_PREFIX = "c_"  # c_<operation index>: ask the reporter about that operation
LEVEL_PREFIX = "l"  # l1..l4: set the level
ASSIGN_PREFIX = "a"  # a<engineer id>: assign to that engineer


@dataclass(frozen=True)
class WorkButton:
    """A card button for the engineer: shown when its action is legal and the state offers it."""

    op: Op
    text: str
    action: Action | None  # None: not a status change (asking for consent)
    offered_in: frozenset[TicketStatus]


S = TicketStatus
# The engineer's buttons in display order, laid out PER_ROW to a row.
WORK_BUTTONS: tuple[WorkButton, ...] = (
    WorkButton(Op.ACCEPT, N_("✅ Accept"), Action.ACKNOWLEDGE, frozenset({S.ASSIGNED})),
    WorkButton(Op.DECLINE, N_("↩️ Decline"), Action.DECLINE, frozenset({S.ASSIGNED})),
    WorkButton(Op.DEPART, N_("🚗 On the way"), Action.DEPART, frozenset({S.ACKNOWLEDGED})),
    WorkButton(Op.ARRIVE, N_("📍 Arrived"), Action.ARRIVE, frozenset({S.ACKNOWLEDGED, S.EN_ROUTE})),
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
PER_ROW = 2


@dataclass(frozen=True)
class Viewer:
    """Who looks at a card: their buttons depend on it."""

    person_id: int | None
    role: Role | None

    @staticmethod
    def of(person: Person | None) -> Viewer:
        """The viewer behind a recipient."""
        return Viewer(person.id if person else None, person.role if person else None)

    @property
    def dispatches(self) -> bool:
        """Dispatchers and admins assign and set levels."""
        return self.role in WORKERS


def may_work(viewer: Viewer, card: TicketCard) -> bool:
    """The assignee, or a dispatcher, may act on the ticket."""
    return viewer.dispatches or (
        viewer.person_id is not None and viewer.person_id == card.assignee_id
    )


# --- screens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ButtonSpec:
    """A button before signing: label, callback action and arguments."""

    text: str
    action: str
    args: tuple[object, ...]


@dataclass(frozen=True)
class Screen:
    """A message's text and button rows; buttons carry the screen's fingerprint."""

    text: str
    rows: tuple[tuple[ButtonSpec, ...], ...] = ()

    def fingerprint(self) -> str:
        """Six characters that change whenever the text or a button changes."""
        body = repr((self.text, self.rows)).encode("utf-8")
        digest = hashlib.blake2b(body, digest_size=4).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def keyboard(self, make: Callable[..., Button]) -> InlineKeyboard | None:
        """Signed buttons, each with the fingerprint as last argument."""
        if not self.rows:
            return None
        fp = self.fingerprint()
        return InlineKeyboard.of(
            *[[make(spec.text, spec.action, *spec.args, fp) for spec in row] for row in self.rows]
        )


def rows_of(
    specs: Sequence[ButtonSpec], per_row: int = PER_ROW
) -> tuple[tuple[ButtonSpec, ...], ...]:
    """Lay buttons out `per_row` to a row."""
    return tuple(tuple(specs[i : i + per_row]) for i in range(0, len(specs), per_row))


class ShownMessages:
    """The fingerprint each message got from this process's last edit (bounded)."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._fps: OrderedDict[tuple[int, int], str] = OrderedDict()

    def get(self, chat_id: int, message_id: int) -> str | None:
        """The remembered fingerprint, if any."""
        return self._fps.get((chat_id, message_id))

    def put(self, chat_id: int, message_id: int, fp: str) -> None:
        """Remember what a message shows now."""
        key = (chat_id, message_id)
        self._fps[key] = fp
        self._fps.move_to_end(key)
        while len(self._fps) > self._size:
            self._fps.popitem(last=False)


# One memory per transport (per Telegram connection); tests make a transport per test.
_shown: weakref.WeakKeyDictionary[Any, ShownMessages] = weakref.WeakKeyDictionary()


def shown_messages(transport: Any) -> ShownMessages:
    """The memory of edits made through `transport`."""
    memory = _shown.get(transport)
    if memory is None:
        memory = _shown[transport] = ShownMessages()
    return memory


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
    lines.append(
        t(
            "🔧 <b>Ticket #{ticket}</b> · {level}",
            ticket=card.id,
            level=label(t, SEVERITY, card.severity),
        )
    )
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
    if card.promised_arrival_at is not None and not card.remote:
        lines.append(t("🕐 Promised arrival: {at}", at=t.moment(card.promised_arrival_at, tz)))
    if card.clocks:
        lines.append(t("Deadlines:"))
        lines += [clock_line(t, tz, view) for view in card.clocks]
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
        "{n}. <b>#{ticket}</b> · L{level} · {status}",
        n=number,
        ticket=card.id,
        level=card.severity,
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


def card_screen(
    t: Translator,
    tz: str,
    card: TicketCard,
    viewer: Viewer,
    *,
    mode: Mode = Mode.CARD,
    engineers: Sequence[Person] = (),
    header: str | None = None,
) -> Screen:
    """The card with the buttons `viewer` may press in `mode`."""
    text = card_text(t, tz, card, header=header)
    if viewer.dispatches:
        if mode is Mode.LEVEL:
            levels = tuple(
                ButtonSpec(
                    f"• {level}" if level == card.severity else str(level),
                    CARD_ACTION,
                    (card.id, f"{LEVEL_PREFIX}{level}"),
                )
                for level in (1, 2, 3, 4)
            )
            prompt = t("Choose the new level (1 critical … 4 low):")
            return Screen(f"{text}\n\n{prompt}", (levels, (back_spec(t, card),)))
        if mode is Mode.ASSIGN:
            prompt = t("Choose the engineer:")
            rows = (*rows_of(engineer_specs(card, engineers)), (back_spec(t, card),))
            return Screen(f"{text}\n\n{prompt}", rows)
        return Screen(text, tuple(dispatcher_specs(t, card, engineers)))
    if not may_work(viewer, card):
        return Screen(text)
    if mode is Mode.CONSENT:
        operations = [
            ButtonSpec(t(name), CARD_ACTION, (card.id, f"{CONSENT_PREFIX}{index}"))
            for index, name in enumerate(CONSENT_OPERATION.values())
        ]
        prompt = t(
            "Which operation may lose data? The reporter will be asked to confirm the backup."
        )
        return Screen(f"{text}\n\n{prompt}", (*rows_of(operations), (back_spec(t, card),)))
    return Screen(text, rows_of(work_specs(t, card)))


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


# --- escalation texts ------------------------------------------------------------------------


def _moment(t: Translator, tz: str, value: str | None) -> str:
    return t.moment(datetime.fromisoformat(value), tz) if value else "—"


def reminder_text(t: Translator, tz: str, params: dict[str, Any], now: datetime) -> str:
    """80 %: the deadline is near."""
    due_at = datetime.fromisoformat(params["due_at"])
    lines = [
        t(
            "⏰ <b>Ticket #{ticket}</b>: {clock} due {due}, {left}.",
            ticket=params["ticket_id"],
            clock=label(t, CLOCK, params.get("clock")),
            due=t.moment(due_at, tz),
            left=time_left(t, due_at, now),
        ),
        _summary(t, params),
    ]
    return "\n".join(lines)


def _summary(t: Translator, params: dict[str, Any]) -> str:
    return t(
        "📝 {symptom} · {location}",
        symptom=short(str(params.get("symptom") or ""), 120),
        location=params.get("location") or "—",
    )


def missed_by(t: Translator, params: dict[str, Any]) -> str:
    """'missed by 1 h' or just 'missed' when paged right at the deadline."""
    late = int(params.get("overdue_seconds") or 0)
    if late < 60:
        return t("missed")
    return t("missed by {late}", late=t.duration(timedelta(seconds=late)))


def page_text(t: Translator, tz: str, params: dict[str, Any]) -> str:
    """100 %: the deadline passed; the level may have been raised."""
    lines = [
        *_repeat_mark(t, params),
        t(
            "🚨 <b>Ticket #{ticket}</b>: the {clock} deadline ({due}) was {missed}.",
            ticket=params["ticket_id"],
            clock=label(t, CLOCK, params.get("clock")),
            due=_moment(t, tz, params.get("due_at")),
            missed=missed_by(t, params),
        ),
    ]
    if params.get("raised_to"):
        lines.append(
            t(
                "Level raised to {level}.",
                level=label(t, SEVERITY, int(params["raised_to"])),
            )
        )
    lines.append(t("Engineer: {name}", name=params.get("assignee") or t("nobody yet")))
    lines.append(_summary(t, params))
    return "\n".join(lines)


def manager_alert_text(t: Translator, tz: str, params: dict[str, Any]) -> str:
    """150 %: for managers, the ticket and how late it is."""
    level = params.get("raised_to") or params.get("severity")
    lines = [
        *_repeat_mark(t, params),
        t(
            "🚨 <b>Escalation: ticket #{ticket}</b>",
            ticket=params["ticket_id"],
        ),
        t(
            "The {clock} deadline ({due}) was {missed}.",
            clock=label(t, CLOCK, params.get("clock")),
            due=_moment(t, tz, params.get("due_at")),
            missed=missed_by(t, params),
        ),
        label(t, SEVERITY, int(level)) if level else "—",
        t("Engineer: {name}", name=params.get("assignee") or t("nobody yet")),
        _summary(t, params),
    ]
    return "\n".join(lines)


def _repeat_mark(t: Translator, params: dict[str, Any]) -> list[str]:
    """A repeated page says so, so it is not mistaken for a new escalation."""
    if not params.get("repeat"):
        return []
    return [t("🔁 Reminder {n}: not acknowledged yet.", n=params["repeat"])]


def acknowledged_line(t: Translator, tz: str, at: datetime) -> str:
    """Added to a page once it is acknowledged."""
    return t("✅ Acknowledged at {at}.", at=t.moment(at, tz))


def pause_reason_text(t: Translator, reason: str) -> str:
    """A pause reason's label."""
    return label(t, PAUSE_REASON, reason)


# --- showing screens -------------------------------------------------------------------------


async def card_screen_for(
    app: Any,
    t: Translator,
    tz: str,
    card: TicketCard,
    viewer: Viewer,
    *,
    mode: Mode = Mode.CARD,
    header: str | None = None,
) -> Screen:
    """The card screen, loading the engineers a dispatcher may choose when they are shown."""
    engineers: list[Person] = []
    if viewer.dispatches and (mode is Mode.ASSIGN or card.status in (S.REPORTED, S.REOPENED)):
        engineers = await app.helpdesk.tickets.engineers_for(card.id)
    return card_screen(t, tz, card, viewer, mode=mode, engineers=engineers, header=header)


def viewer_of(ctx: Ctx) -> Viewer:
    """The person pressing, as a card viewer."""
    profile = ctx.profile
    return Viewer(profile.id if profile else None, profile.role if profile else None)


async def show_screen(ctx: Ctx, screen: Screen, *, message_id: int | None, assumed_fp: str) -> None:
    """Edit a message to `screen`, unless it already shows exactly that."""
    if message_id is None:
        await send_screen(ctx, screen)
        return
    fp = screen.fingerprint()
    memory = shown_messages(ctx.transport)
    if (memory.get(ctx.chat_id, message_id) or assumed_fp) == fp:
        return
    await ctx.edit(screen.text, screen.keyboard(ctx.button), message_id=message_id)
    memory.put(ctx.chat_id, message_id, fp)


async def send_screen(ctx: Ctx, screen: Screen) -> int | None:
    """Send `screen` as a new message and remember what it shows."""
    message_id = await ctx.say(screen.text, screen.keyboard(ctx.button))
    if message_id is not None:
        shown_messages(ctx.transport).put(ctx.chat_id, message_id, screen.fingerprint())
    return message_id


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
    screen = await card_screen_for(ctx.app, ctx.t, ctx.tz, card, viewer_of(ctx), mode=mode)
    target = message_id if message_id is not None else ctx.incoming.message_id
    await show_screen(ctx, screen, message_id=target, assumed_fp=assumed_fp)
