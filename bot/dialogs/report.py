"""The /report dialog: which device, what is wrong, photos, how bad, a phone, confirm.

Opened by /report, or by /start asset_<tag> from the sticker on a device, which skips
the device step, or by a registered staff member who simply types what is wrong: that
text is offered as the report's symptom (kept with one press at the symptom step). Every step takes /cancel or the ✖ Cancel button (and, up to the
impact question, ◀ Back to the previous question; from the phone on, where a reply
keyboard is showing, only Cancel), and answers wrong
input (a sticker, a photo where text is expected, an oversized text, an unknown tag)
by saying what was wrong and asking again, keeping everything collected so far. The
state is saved after every step, so a restart of the bot loses nothing. On Confirm one
call to `TicketService.report_fault` opens, times and dispatches the ticket.

```mermaid
stateDiagram-v2
    [*] --> device: /report
    [*] --> symptom: /start asset_TAG (device found)
    [*] --> device: /start asset_TAG (unknown tag)
    [*] --> offer: staff types a sentence
    offer --> offer: typed instead of pressed
    offer --> device: 📝 Report it
    device --> device: unknown tag / wrong input
    device --> symptom: asset tag typed and found
    device --> location: device type chosen
    location --> location: wrong input / too long
    location --> symptom: place typed
    symptom --> symptom: wrong input / too long
    symptom --> photos: Keep the offered text
    symptom --> photos: fault described
    photos --> photos: photo received (an album's photos update one prompt) / wrong input
    photos --> impact: No photo / Done
    impact --> impact: typed instead of pressed
    impact --> phone: impact chosen (sets the level)
    phone --> phone: not a phone number
    phone --> confirm: phone shared, typed, or "Use <phone>"
    confirm --> confirm: typed instead of pressed
    confirm --> [*]: ✅ Confirm (ticket opened)
    confirm --> [*]: ✖ Cancel or /cancel (at any step)
```
"""

from __future__ import annotations

import html
import re
from enum import StrEnum
from typing import Any

from bot.chat import InlineKeyboard, Kind, RemoveKeyboard, ReplyKeyboard
from bot.context import Ctx
from bot.dialogs.engine import DONE, STAY, Dialog, Outcome, StepSpec, step_table
from bot.dialogs.inputs import noted, typed_text
from bot.errors import error_text
from bot.i18n import N_, Safe, Translator
from bot.labels import ASSET_KIND, IMPACT, SEVERITY, label
from core.assets import normalize_tag
from core.conversations import DialogState
from core.enums import IMPACT_SEVERITY, AssetKind, Impact
from core.errors import InvalidInput
from core.models import Asset
from core.tickets import MAX_SYMPTOM

REPORT_DIALOG = "report"
MAX_LOCATION = 200
MAX_PHOTOS = 10
DONE_VALUE = "done"
KEEP_VALUE = "keep"
REPORT_VALUE = "report"
USE_PHONE = "use"
CONFIRM = "yes"
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 ()-]*$")

# What the reporter reads and presses; named so that the journeys of the demo and the
# end-to-end tests wait for and press exactly what the dialog shows.
ASK_DEVICE = N_(
    "🛠 <b>Which device is broken?</b>\n"
    "Type the asset tag from its sticker (like <code>PC-0001</code>), or choose the type:"
)
ASK_SYMPTOM = N_(
    "✏️ <b>What is wrong?</b> Describe the fault in a few words (up to {limit} characters)."
)
ASK_PHOTOS = N_("📷 A photo helps the engineer. Send one or more, or press No photo.")
ASK_IMPACT = N_("⚖️ <b>How badly does it affect work?</b>")
ASK_PHONE = N_(
    "📞 <b>A phone number for the engineer?</b> Tap <b>Share my phone</b> below, or type a number."
)
NO_PHOTO_BUTTON = N_("No photo")
DONE_BUTTON = N_("✅ Done")
SHARE_PHONE_BUTTON = N_("📱 Share my phone")
USE_PHONE_BUTTON = N_("Use {phone}")
CONFIRM_BUTTON = N_("✅ Confirm")
TICKET_OPENED = N_("✅ <b>Ticket #{ticket} is open.</b>")
OFFER_REPORT = N_(
    "📝 <b>Report this as a fault?</b>\n<i>{symptom}</i>\n"
    "I will ask which device it is, for a photo and how badly it affects work."
)
REPORT_IT_BUTTON = N_("📝 Report it")
KEEP_IT_BUTTON = N_("✅ Keep it")
DISPATCHED = N_("👷 {engineer} is dispatched. Promised arrival: <b>{promised}</b>.")

IMPACT_MARK = {
    Impact.BUSINESS_STOPPED: "🔴",
    Impact.CANNOT_WORK: "🟠",
    Impact.DEGRADED: "🟡",
    Impact.INTERMITTENT: "🟢",
}

# 003 §2.1.1 and 004 §1.2.5, in the reporter's words.
IMPACT_DEFINITION = {
    Impact.BUSINESS_STOPPED: N_(
        "system down or service interrupted, work stopped for over an hour, or key data lost"
    ),
    Impact.CANNOT_WORK: N_(
        "directly affects your work, works only partly, or may soon stop completely"
    ),
    Impact.DEGRADED: N_("function or speed is affected, but key work goes on"),
    Impact.INTERMITTENT: N_("happens now and then, or affects work only indirectly"),
}


def normalize_phone(text: str) -> str | None:
    """A phone number as typed, trimmed; None when it cannot be one."""
    phone = " ".join(text.split())
    digits = sum(ch.isdigit() for ch in phone)
    if not PHONE_PATTERN.fullmatch(phone) or not 5 <= digits <= 20 or len(phone) > 32:
        return None
    return phone


class Step(StrEnum):
    """The report's steps (the values are stored in the dialog state)."""

    OFFER = "offer"
    DEVICE = "device"
    LOCATION = "location"
    SYMPTOM = "symptom"
    PHOTOS = "photos"
    IMPACT = "impact"
    PHONE = "phone"
    CONFIRM = "confirm"


class ReportDialog(Dialog[Step]):
    """Collect a fault report step by step and open the ticket on Confirm."""

    name = REPORT_DIALOG
    steps = Step
    first = Step.DEVICE
    entries = frozenset({Step.DEVICE, Step.SYMPTOM, Step.OFFER})

    async def start(self, ctx: Ctx, **data: Any) -> None:
        """Open the report; with a tag from a sticker, start at the symptom; with typed text, offer it."""
        state = DialogState(self.name, self.first, {"photos": []})
        offered = str(data.get("symptom") or "").strip()
        if offered:
            state.data["symptom"] = offered[:MAX_SYMPTOM]
            await self.begin(ctx, state, Step.OFFER)
            return
        tag = str(data.get("asset_tag") or "")
        if not tag:
            await self.begin(ctx, state, Step.DEVICE)
            return
        asset, problem = await self._find(ctx, tag)
        if asset is None:
            await ctx.say(problem)
            await self.begin(ctx, state, Step.DEVICE)
            return
        self._take(state, asset)
        await self.begin(ctx, state, Step.SYMPTOM)

    # --- offer --------------------------------------------------------------------------

    async def ask_offer(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Offer to report what the person typed."""
        text = ctx._(OFFER_REPORT, symptom=state.data["symptom"][:600])
        report = self.choice(ctx, state, ctx._(REPORT_IT_BUTTON), REPORT_VALUE)
        keyboard = InlineKeyboard.of([report, self.cancel_button(ctx, state)])
        await self.show(ctx, state, noted(note, text), keyboard)

    async def on_offer(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Go on to the device, the text kept as the symptom."""
        if value != REPORT_VALUE:
            await self.ask_offer(ctx, state, ctx._("Please press one of the buttons."))
            return STAY
        return Step.DEVICE

    # --- device -------------------------------------------------------------------------

    async def ask_device(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Ask for the asset tag, or the device type."""
        text = ctx._(ASK_DEVICE)
        kinds = [self.choice(ctx, state, label(ctx.t, ASSET_KIND, k), k.value) for k in AssetKind]
        rows = [kinds[i : i + 2] for i in range(0, len(kinds), 2)]
        await self.show(
            ctx,
            state,
            noted(note, text),
            InlineKeyboard.of(*rows, self.nav_row(ctx, state)),
        )

    async def on_device(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """A typed tag (looked up) or a chosen type (then the place is asked)."""
        if value is not None:
            try:
                kind = AssetKind(value)
            except ValueError:
                await self.ask_device(ctx, state, ctx._("Please press one of the buttons."))
                return STAY
            state.data.update(tag=None, kind=kind.value, model="", location="")
            return Step.LOCATION
        if ctx.incoming.kind is not Kind.TEXT:
            await self.ask_device(
                ctx, state, ctx._("Please type the asset tag, or choose the type with a button.")
            )
            return STAY
        asset, problem = await self._find(ctx, ctx.incoming.text)
        if asset is None:
            await self.ask_device(ctx, state, problem)
            return STAY
        self._take(state, asset)
        return Step.SYMPTOM

    async def _find(self, ctx: Ctx, text: str) -> tuple[Asset | None, str]:
        """The active device with this tag, or why there is none."""
        try:
            tag = normalize_tag(text)
        except InvalidInput as error:
            return None, error_text(ctx.t, error)
        asset = await ctx.app.helpdesk.assets.by_tag(tag)
        if asset is None:
            return None, error_text(ctx.t, InvalidInput("asset.unknown_tag", tag=tag))
        return asset, ""

    @staticmethod
    def _take(state: DialogState, asset: Asset) -> None:
        state.data.update(
            tag=asset.tag,
            kind=asset.kind.value,
            model=f"{asset.brand} {asset.model}".strip(),
            location=asset.location,
        )

    # --- location -----------------------------------------------------------------------

    async def ask_location(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Ask where the device is (chosen by type, it has no registered place)."""
        text = ctx._(
            "📍 <b>Where is the {kind}?</b> Type the room or place, e.g. <i>Room 301</i>.",
            kind=label(ctx.t, ASSET_KIND, AssetKind(state.data["kind"])),
        )
        await self.show(ctx, state, noted(note, text), InlineKeyboard.of(self.nav_row(ctx, state)))

    async def on_location(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Keep the place."""
        place, problem = typed_text(ctx, MAX_LOCATION)
        if place is None:
            await self.ask_location(ctx, state, problem)
            return STAY
        state.data["location"] = place
        return Step.SYMPTOM

    # --- symptom ------------------------------------------------------------------------

    async def ask_symptom(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Show the device and ask what is wrong (offering what was typed already, if any)."""
        text = (
            ctx._("Device: {device}", device=Safe(device_line(ctx, state.data)))
            + "\n\n"
            + ctx._(ASK_SYMPTOM, limit=MAX_SYMPTOM)
        )
        rows = []
        if state.data.get("symptom"):
            text += "\n" + ctx._(
                "Or keep what you wrote: <i>{symptom}</i>", symptom=state.data["symptom"][:600]
            )
            rows.append([self.choice(ctx, state, ctx._(KEEP_IT_BUTTON), KEEP_VALUE)])
        keyboard = InlineKeyboard.of(*rows, self.nav_row(ctx, state))
        await self.show(ctx, state, noted(note, text), keyboard)

    async def on_symptom(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Keep the description (typed now, or the one offered)."""
        if value == KEEP_VALUE and state.data.get("symptom"):
            return Step.PHOTOS
        symptom, problem = typed_text(ctx, MAX_SYMPTOM)
        if symptom is None:
            await self.ask_symptom(ctx, state, problem)
            return STAY
        state.data["symptom"] = symptom
        return Step.PHOTOS

    # --- photos -------------------------------------------------------------------------

    async def ask_photos(
        self, ctx: Ctx, state: DialogState, note: str = "", *, in_place: bool = False
    ) -> None:
        """Invite photos; the button says 'No photo' until one arrives, then 'Done'.

        `in_place`: update the prompt already shown (the next photo of an album).
        """
        count = len(state.data["photos"])
        if count:
            text = ctx.t.plural(
                "📷 {n} photo received. Send more, or press Done.",
                "📷 {n} photos received. Send more, or press Done.",
                count,
            )
            button = self.choice(ctx, state, ctx._(DONE_BUTTON), DONE_VALUE)
        else:
            text = ctx._(ASK_PHOTOS)
            button = self.choice(ctx, state, ctx._(NO_PHOTO_BUTTON), DONE_VALUE)
        keyboard = InlineKeyboard.of([button], self.nav_row(ctx, state))
        if in_place and state.message_id is not None:
            await ctx.edit(noted(note, text), keyboard, message_id=state.message_id)
            return
        await self.show(ctx, state, noted(note, text), keyboard)

    async def on_photos(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Collect photos until Done (or the limit)."""
        if value == DONE_VALUE:
            return Step.IMPACT
        if ctx.incoming.kind is not Kind.PHOTO or not ctx.incoming.photo_file_id:
            await self.ask_photos(ctx, state, ctx._("Please send a photo, or press the button."))
            return STAY
        state.data["photos"].append(ctx.incoming.photo_file_id)
        if len(state.data["photos"]) >= MAX_PHOTOS:
            await ctx.say(ctx._("That is enough photos, thank you."))
            return Step.IMPACT
        # The photos of an album arrive one update each, a few milliseconds apart: one
        # prompt, counting up, instead of one prompt per photo.
        album = ctx.incoming.media_group_id
        same_album = album is not None and state.data.get("album") == album
        state.data["album"] = album
        await self.ask_photos(ctx, state, in_place=same_album)
        return STAY

    # --- impact -------------------------------------------------------------------------

    async def ask_impact(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Explain the four levels and let the reporter choose."""
        lines = [ctx._(ASK_IMPACT)]
        for impact in Impact:
            lines.append(
                ctx._(
                    "{mark} <b>{impact}</b>: {definition}. <i>{level}</i>",
                    mark=IMPACT_MARK[impact],
                    impact=label(ctx.t, IMPACT, impact),
                    definition=ctx._(IMPACT_DEFINITION[impact]),
                    level=label(ctx.t, SEVERITY, IMPACT_SEVERITY[impact]),
                )
            )
        buttons = [[self.choice(ctx, state, impact_button(ctx.t, i), i.value)] for i in Impact]
        await self.show(
            ctx,
            state,
            noted(note, "\n".join(lines)),
            InlineKeyboard.of(*buttons, self.nav_row(ctx, state)),
        )

    async def on_impact(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Keep the impact (it sets the level)."""
        try:
            impact = Impact(value or "")
        except ValueError:
            await self.ask_impact(ctx, state, ctx._("Please press one of the buttons."))
            return STAY
        state.data["impact"] = impact.value
        # The phone prompt brings a reply keyboard, so it cannot replace this message: settle it.
        await ctx.edit(impact_line(ctx, impact))
        state.message_id = None
        return Step.PHONE

    # --- phone --------------------------------------------------------------------------

    async def ask_phone(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Offer 'Share my phone' (reply keyboard), typing a number, or the number on record."""
        text = ctx._(ASK_PHONE)
        keyboard = ReplyKeyboard(rows=(), request_contact=ctx._(SHARE_PHONE_BUTTON))
        on_record = ctx.profile.phone if ctx.profile else None
        if not on_record:
            await self.show(
                ctx, state, noted(note, text + "\n" + ctx._("/cancel stops the report.")), keyboard
            )
            return
        await ctx.say(text, keyboard)
        # What was wrong goes on the last message, where the eye is.
        await self.show(
            ctx,
            state,
            noted(note, self._on_record_text(ctx)),
            self._on_record_keyboard(ctx, state, on_record),
        )

    def _on_record_text(self, ctx: Ctx) -> str:
        return ctx._("Or use the number we have:")

    def _on_record_keyboard(self, ctx: Ctx, state: DialogState, phone: str) -> InlineKeyboard:
        use = self.choice(ctx, state, ctx._(USE_PHONE_BUTTON, phone=phone), USE_PHONE)
        return InlineKeyboard.of([use], [self.cancel_button(ctx, state)])

    async def on_phone(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Take the shared, typed or recorded number."""
        incoming = ctx.incoming
        phone: str | None = None
        if value == USE_PHONE and ctx.profile and ctx.profile.phone:
            phone = ctx.profile.phone
            await ctx.edit(self._on_record_text(ctx) + f" ✔ {html.escape(phone)}")
        elif incoming.kind is Kind.CONTACT and incoming.contact_phone:
            phone = normalize_phone(incoming.contact_phone)
            if (
                phone
                and ctx.profile
                and not ctx.profile.phone
                and incoming.contact_user_id == incoming.user.id
            ):
                # Their own number, shared on purpose: offer it next time as "Use <phone>".
                await ctx.app.helpdesk.people.set_phone(ctx.person_id, phone)
        elif incoming.kind is Kind.TEXT:
            phone = normalize_phone(incoming.text)
        if phone is None:
            await self.ask_phone(
                ctx,
                state,
                ctx._(
                    "That is not a phone number. Tap Share my phone, or type digits like 13800000000."
                ),
            )
            return STAY
        state.data["phone"] = phone
        await ctx.say(ctx._("📞 Contact phone: {phone}", phone=phone), RemoveKeyboard())
        state.message_id = None  # the summary comes as a new message, below the phone
        return Step.CONFIRM

    # --- confirm ------------------------------------------------------------------------

    async def ask_confirm(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Show the summary with Confirm and Cancel."""
        confirm = self.choice(ctx, state, ctx._(CONFIRM_BUTTON), CONFIRM)
        await self.show(
            ctx,
            state,
            noted(note, summary(ctx, state.data)),
            InlineKeyboard.of([confirm, self.cancel_button(ctx, state)]),
        )

    async def on_confirm(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Open the ticket and tell the reporter its number, engineer and promised time."""
        if value != CONFIRM:
            await self.ask_confirm(
                ctx, state, ctx._("Please press Confirm to send the report, or Cancel.")
            )
            return STAY
        data = state.data
        tickets = ctx.app.helpdesk.tickets
        # The card comes from the reporting transaction itself: nothing is read twice.
        card = await tickets.report_fault_card(
            ctx.person_id,
            symptom=data["symptom"],
            impact=Impact(data["impact"]),
            asset_tag=data.get("tag"),
            asset_kind=None if data.get("tag") else AssetKind(data["kind"]),
            location=data.get("location") or "",
            contact_phone=data["phone"],
            photos=list(data["photos"]),
            # The Confirm press itself (Telegram's callback query ids are unique):
            # handled again after a crash, it finds this ticket instead of a second one.
            request_key=f"press:{ctx.incoming.callback_id or ctx.incoming.update_id}",
        )
        lines = [ctx._(TICKET_OPENED, ticket=card.id)]
        promised = ctx.when(card.promised_arrival_at) if card.promised_arrival_at else "—"
        if card.assignee_name:
            lines.append(ctx._(DISPATCHED, engineer=card.assignee_name, promised=promised))
        else:
            lines.append(
                ctx._(
                    "👷 An engineer will be assigned shortly. Promised arrival: <b>{promised}</b>.",
                    promised=promised,
                )
            )
        lines.append(ctx._("We will keep you posted here. /my shows your tickets."))
        await self.show(ctx, state, "\n".join(lines))
        return DONE

    # --- cancel -------------------------------------------------------------------------

    async def cancel(self, ctx: Ctx, state: DialogState) -> None:
        """Cancel; at the phone step also take the reply keyboard away."""
        if state.step != Step.PHONE:
            await super().cancel(ctx, state)
            return
        await ctx.app.conversations.clear(ctx.chat_id, ctx.incoming.user.id)
        await ctx.answer()
        if ctx.incoming.kind is Kind.CALLBACK and ctx.incoming.message_id == state.message_id:
            await ctx.edit(self._on_record_text(ctx) + " ✖")
        await ctx.say(ctx._("Cancelled. Nothing was changed."), RemoveKeyboard())

    table = step_table(
        {
            Step.OFFER: StepSpec(ask_offer, on_offer, to={Step.DEVICE}),
            Step.DEVICE: StepSpec(ask_device, on_device, to={Step.LOCATION, Step.SYMPTOM}),
            Step.LOCATION: StepSpec(ask_location, on_location, to={Step.SYMPTOM}),
            Step.SYMPTOM: StepSpec(ask_symptom, on_symptom, to={Step.PHOTOS}),
            Step.PHOTOS: StepSpec(ask_photos, on_photos, to={Step.IMPACT}),
            Step.IMPACT: StepSpec(ask_impact, on_impact, to={Step.PHONE}),
            Step.PHONE: StepSpec(ask_phone, on_phone, to={Step.CONFIRM}),
            Step.CONFIRM: StepSpec(ask_confirm, on_confirm),
        }
    )


def device_line(ctx: Ctx, data: dict[str, Any]) -> str:
    """'Desktop PC Lenovo M720 · PC-0001 · Room 301' (HTML-safe)."""
    kind = label(ctx.t, ASSET_KIND, AssetKind(data["kind"]))
    head = " ".join(part for part in (kind, data.get("model") or "") if part)
    parts = [html.escape(head)]
    if data.get("tag"):
        parts.append(f"<code>{html.escape(data['tag'])}</code>")
    if data.get("location"):
        parts.append(html.escape(data["location"]))
    return " · ".join(parts)


def impact_button(t: Translator, impact: Impact) -> str:
    """The label of an impact's button: '🟠 I cannot do my work with it'."""
    return f"{IMPACT_MARK[impact]} {label(t, IMPACT, impact)}"


def impact_line(ctx: Ctx, impact: Impact) -> str:
    """'Impact: 🟠 I cannot do my work with it · Level 2 (major)'."""
    return ctx._(
        "Impact: {mark} {impact} · {level}",
        mark=IMPACT_MARK[impact],
        impact=label(ctx.t, IMPACT, impact),
        level=label(ctx.t, SEVERITY, IMPACT_SEVERITY[impact]),
    )


def summary(ctx: Ctx, data: dict[str, Any]) -> str:
    """The report as it will be sent."""
    symptom = data["symptom"]
    if len(symptom) > 600:
        symptom = symptom[:600] + "…"
    lines = [
        ctx._("📋 <b>Please check your report</b>"),
        ctx._("Device: {device}", device=Safe(device_line(ctx, data))),
        ctx._("Fault: {symptom}", symptom=symptom),
        ctx._("Photos: {n}", n=len(data["photos"])),
        impact_line(ctx, Impact(data["impact"])),
        ctx._("Phone: {phone}", phone=data["phone"]),
    ]
    return "\n".join(lines)
