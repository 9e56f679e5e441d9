"""Managers and admins: engineer replacement requests (000 §4, 002).

Commands: `/replace` (dialog "replace": which engineer, why, file) and `/replacements`
(the requests of the manager's site, open ones with their buttons). Buttons (callback
action: arguments):

- `rpd:request`: record the replacement (dialog "replaced": successor, confirm)
- `rpw:request`: withdraw a request before its deadline
"""

from __future__ import annotations

from bot.callback_ids import REPLACEMENT_DONE_ACTION, REPLACEMENT_WITHDRAW_ACTION
from bot.callbacks import Callback
from bot.chat import InlineKeyboard
from bot.context import Ctx
from bot.dialogs.replace import REPLACE_DIALOG, ReplaceDialog, request_text
from bot.dialogs.replaced import REPLACED_DIALOG, ReplacedDialog
from bot.i18n import N_
from bot.router import Router
from core.enums import Role
from core.replacements import OPEN

FILERS = frozenset({Role.MANAGER, Role.ADMIN})
SHOWN = 10


async def replace(ctx: Ctx) -> None:
    """Start a replacement request."""
    await ctx.start_dialog(REPLACE_DIALOG)


async def replacements(ctx: Ctx) -> None:
    """The site's requests, newest first; open ones with Replaced and Withdraw."""
    assert ctx.profile is not None
    views = await ctx.app.helpdesk.replacements.listing(site_id=ctx.profile.site_id, limit=SHOWN)
    if not views:
        await ctx.say(ctx._("No replacement requests. Send /replace to file one."))
        return
    await ctx.say(ctx._("🔄 <b>Engineer replacement requests</b> (newest first)"))
    for view in views:
        keyboard = None
        if view.status == OPEN:
            keyboard = InlineKeyboard.of(
                [
                    ctx.button(ctx._("✅ Replaced…"), REPLACEMENT_DONE_ACTION, view.id),
                    ctx.button(ctx._("↩️ Withdraw"), REPLACEMENT_WITHDRAW_ACTION, view.id),
                ]
            )
        await ctx.say(request_text(ctx, view), keyboard)


async def replaced(ctx: Ctx, callback: Callback) -> None:
    """Open the dialog that records the replacement."""
    await ctx.answer()
    await ctx.start_dialog(REPLACED_DIALOG, request_id=callback.int_arg(0))


async def withdraw(ctx: Ctx, callback: Callback) -> None:
    """Withdraw the request (the core refuses once the deadline has passed)."""
    view = await ctx.app.helpdesk.replacements.withdraw(callback.int_arg(0), actor_id=ctx.person_id)
    await ctx.answer(ctx._("Withdrawn. It costs nothing."))
    await ctx.edit(request_text(ctx, view))


def register(router: Router) -> None:
    """Add the replacement commands, buttons and dialogs."""
    router.command(
        "replace", roles=FILERS, description=N_("Ask for an engineer to be replaced (002)")
    )(replace)
    router.command("replacements", roles=FILERS, description=N_("Engineer replacement requests"))(
        replacements
    )
    router.callback(REPLACEMENT_DONE_ACTION, roles=FILERS)(replaced)
    router.callback(REPLACEMENT_WITHDRAW_ACTION, roles=FILERS)(withdraw)
    router.add_dialog(ReplaceDialog())
    router.add_dialog(ReplacedDialog())
