"""For everyone: /start (invitations and device stickers), /help, /lang, /cancel.

A device sticker opens `/start asset_<TAG>` (or `asset-<encoded tag>`, see
`core.asset_tags`): a registered person gets the fault report with the device filled
in. Someone not registered yet is told their Telegram id and how to get an invitation,
and the sticker is remembered: once they register through an invitation, the report
continues with that device.
"""

from __future__ import annotations

from bot.callback_ids import LANG_ACTION
from bot.callbacks import Callback
from bot.chat import InlineKeyboard, Kind, RemoveKeyboard, ReplyKeyboard
from bot.context import Ctx, not_registered_text
from bot.dialogs.report import SHARE_PHONE_BUTTON, normalize_phone
from bot.i18n import LANGUAGE_NAMES, N_, SUPPORTED
from bot.labels import ROLE, label
from bot.router import Router
from core.asset_tags import PLAIN_PREFIX, is_sticker_payload, tag_of_payload
from core.conversations import DialogState
from core.enums import Role
from core.errors import InvalidInput
from core.models import Person

INVITE_PREFIX = "inv_"
ASSET_PREFIX = PLAIN_PREFIX  # /start asset_<TAG>; encoded tags use core.asset_tags
REPORT_DIALOG = "report"
WELCOME = N_("Welcome, {name}! You are registered as {role}.")
# The chat state of someone who scanned a sticker before registering; it is no dialog
# (the router ignores it), only a note for after the invitation.
AFTER_REGISTRATION = "after_registration"
ASKED_FOR_PHONE = frozenset({Role.ENGINEER})
ASK_OWN_PHONE = N_(
    "📱 Please share your phone number, so that dispatchers can call you about your tickets."
)
PHONE_SAVED = N_("📱 Saved your phone number: {phone}.")

HELP_BY_ROLE = {
    Role.STAFF: N_(
        "/report: report a broken device\n/my: your open tickets\n/complain: make a complaint\n"
        "/lang: change language\n/cancel: stop what you are doing"
    ),
    Role.ENGINEER: N_(
        "/queue: your tickets by deadline\n/inspect: your inspection rounds\n/report: report a fault yourself\n/lang: change language\n"
        "/cancel: stop what you are doing\nDispatch messages carry buttons for each step of the work."
    ),
    Role.DISPATCHER: N_(
        "/queue: open tickets of your sites by deadline; assign, reassign and set levels there\n"
        "/report: open a ticket for someone\n/stats: today and this month\n/lang: change language"
    ),
    Role.MANAGER: N_(
        "/stats: today's open and overdue tickets and this month's KPIs\n/queue: open tickets\n"
        "/lang: change language\nEscalation alerts arrive here with an acknowledge button."
    ),
    Role.ADMIN: N_(
        "/invite: create an invitation link\n/queue: open tickets\n/stats: figures\n/lang: change language\n"
        "/sitegroup SITE (sent in a group): post the site's escalation alerts there too"
    ),
}


async def start(ctx: Ctx) -> None:
    """Registration through an invite link, or a report prefilled from a device sticker."""
    payload = ctx.incoming.args.strip()
    if payload.startswith(INVITE_PREFIX):
        await _redeem(ctx, payload[len(INVITE_PREFIX) :])
        return
    sticker = is_sticker_payload(payload)
    if ctx.profile is None and sticker:
        await _remember_sticker(ctx, payload)
    if ctx.profile is None and ctx.incoming.user.id in ctx.app.admin_telegram_ids:
        await _register_admin(ctx)
        return
    if ctx.profile is None:
        await ctx.say(not_registered_text(ctx))
        return
    if sticker:
        await _report_from_sticker(ctx, payload)
        return
    await ctx.say(
        ctx._(
            "Welcome back, {name}. You are registered as {role} at {site}.",
            name=ctx.profile.name,
            role=label(ctx.t, ROLE, ctx.profile.role.value),
            site=ctx.profile.site_name or "—",
        )
        + "\n\n"
        + ctx._(HELP_BY_ROLE[ctx.profile.role])
    )


async def _report_from_sticker(ctx: Ctx, payload: str) -> None:
    """The sticker on a device links here: open a report with the device filled in."""
    tag = tag_of_payload(payload)
    if tag is None:
        await ctx.say(
            ctx._(
                "This sticker's link is damaged. Type the asset tag printed on it, or choose the device."
            )
        )
    await ctx.start_dialog(REPORT_DIALOG, asset_tag=tag or "")


async def _remember_sticker(ctx: Ctx, payload: str) -> None:
    """Keep the scanned sticker until the person registers (and say what happens then)."""
    await ctx.app.conversations.save(
        ctx.chat_id,
        ctx.incoming.user.id,
        DialogState(AFTER_REGISTRATION, "sticker", {"payload": payload}),
    )
    if ctx.incoming.user.id not in ctx.app.admin_telegram_ids:
        await ctx.say(
            ctx._(
                "You scanned a device sticker. Once you have registered with your invitation link, "
                "your fault report for this device continues here."
            )
        )


async def _continue_after_registration(ctx: Ctx) -> None:
    """A sticker scanned before registering: its report starts now."""
    state = await ctx.dialog_state()
    if state is None or state.dialog != AFTER_REGISTRATION:
        return
    await ctx.app.conversations.clear(ctx.chat_id, ctx.incoming.user.id)
    await _report_from_sticker(ctx, str(state.data.get("payload", "")))


async def _welcome(ctx: Ctx, person: Person, lang: str) -> None:
    """Greet a newly registered person in their language, with what their role can do.

    Engineers are asked for their phone (a reply keyboard shares it): pages about their
    tickets show it to the dispatchers and managers who need to call them.
    """
    ctx.profile = await ctx.app.helpdesk.people.profile_by_telegram(ctx.incoming.user.id)
    ctx.t = ctx.app.i18n.get(lang)
    text = (
        ctx._(WELCOME, name=person.name, role=label(ctx.t, ROLE, person.role.value))
        + "\n\n"
        + ctx._(HELP_BY_ROLE[person.role])
    )
    keyboard = None
    if person.role in ASKED_FOR_PHONE and not person.phone:
        text += "\n\n" + ctx._(ASK_OWN_PHONE)
        keyboard = ReplyKeyboard(rows=(), request_contact=ctx._(SHARE_PHONE_BUTTON))
    await ctx.say(text, keyboard)


async def shared_contact(ctx: Ctx) -> None:
    """A contact shared outside a dialog: the person's own number is kept as their phone."""
    incoming = ctx.incoming
    phone = normalize_phone(incoming.contact_phone or "")
    if incoming.contact_user_id != incoming.user.id or phone is None:
        await ctx.say(ctx._("Please share your own contact with the button below."))
        return
    await ctx.app.helpdesk.people.set_phone(ctx.person_id, phone)
    await ctx.say(ctx._(PHONE_SAVED, phone=phone), RemoveKeyboard())


async def _register_admin(ctx: Ctx) -> None:
    """The operator named this account in FAULTDESK_ADMIN_TELEGRAM_IDS: it becomes an admin.

    This is how a fresh installation gets its first administrator, who then invites
    everyone else with /invite.
    """
    lang = ctx.app.i18n.choose(None, ctx.incoming.user.language_code)
    person = await ctx.app.helpdesk.people.create_person(
        name=ctx.incoming.user.full_name,
        role=Role.ADMIN,
        telegram_user_id=ctx.incoming.user.id,
        language=lang,
    )
    await _welcome(ctx, person, lang)
    await _continue_after_registration(ctx)


async def _redeem(ctx: Ctx, code: str) -> None:
    if ctx.profile is not None:
        await ctx.say(ctx._("You are already registered, {name}.", name=ctx.profile.name))
        return
    if not code:
        raise InvalidInput("invite.unknown")
    lang = ctx.app.i18n.choose(None, ctx.incoming.user.language_code)
    person = await ctx.app.helpdesk.people.redeem_invite(
        code,
        telegram_user_id=ctx.incoming.user.id,
        chat_id=ctx.chat_id,
        name=ctx.incoming.user.full_name,
        language=lang,
    )
    await _welcome(ctx, person, lang)
    await _continue_after_registration(ctx)


async def help_(ctx: Ctx) -> None:
    """What the person can do, by role."""
    if ctx.profile is None:
        await ctx.say(not_registered_text(ctx))
        return
    await ctx.say(ctx._(HELP_BY_ROLE[ctx.profile.role]))


async def lang(ctx: Ctx) -> None:
    """Offer the languages as buttons."""
    buttons = [ctx.button(LANGUAGE_NAMES[code], LANG_ACTION, code) for code in SUPPORTED]
    await ctx.say(ctx._("Choose your language:"), InlineKeyboard.of(buttons))


async def choose_lang(ctx: Ctx, callback: Callback) -> None:
    """Store the chosen language and confirm in it."""
    code = callback.args[0] if callback.args else ""
    if code not in SUPPORTED:
        await ctx.answer(ctx._("This button is not valid."), alert=True)
        return
    if ctx.profile is None:
        await ctx.answer(not_registered_text(ctx), alert=True)
        return
    await ctx.app.helpdesk.people.set_language(ctx.person_id, code)
    ctx.t = ctx.app.i18n.get(code)
    await ctx.answer()
    await ctx.edit(ctx._("Language set: {language}.", language=LANGUAGE_NAMES[code]))


async def cancel(ctx: Ctx) -> None:
    """Leave the open dialog, if any."""
    state = await ctx.dialog_state()
    if state is None:
        await ctx.say(ctx._("There is nothing to cancel."))
        return
    await ctx.app.conversations.clear(ctx.chat_id, ctx.incoming.user.id)
    # A dialog step may have shown a reply keyboard (share phone); take it away.
    await ctx.say(ctx._("Cancelled. Nothing was changed."), RemoveKeyboard())


def register(router: Router) -> None:
    """Add the common commands."""
    router.command("start")(start)
    router.command("help", description=N_("What I can do"))(help_)
    router.command("lang", description=N_("Change language"))(lang)
    router.command("cancel", description=N_("Stop the current step"))(cancel)
    router.callback(LANG_ACTION)(choose_lang)
    router.kinds[Kind.CONTACT] = shared_contact
