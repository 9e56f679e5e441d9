"""`/web`: a one-time login link to the web console, for a desktop browser.

The link works once and for `FAULTDESK_WEB_LOGIN_MINUTES`; it sets the console's session
cookie (`bot.web.server`). Inside Telegram the console opens as a Mini App instead, which
needs no link.
"""

from __future__ import annotations

from datetime import timedelta

from bot.chat import Button, InlineKeyboard
from bot.context import Ctx
from bot.i18n import N_
from bot.router import Router
from core.console import CONSOLE_ROLES, ConsoleService


async def web_command(ctx: Ctx) -> None:
    """/web: the login link, or why there is none."""
    base = ctx.app.web_url
    if not base:
        await ctx.say(
            ctx._("The web console is not switched on for this bot; ask your administrator.")
        )
        return
    minutes = ctx.app.web_login_minutes
    token = await ConsoleService(ctx.app.helpdesk.core).issue_login(
        ctx.person_id, valid_for=timedelta(minutes=minutes)
    )
    link = f"{base}login/{token}"
    await ctx.say(
        ctx._(
            "🖥 Your link to the web console. It works once, within {minutes} minutes, and only "
            "for you: do not pass it on.",
            minutes=int(minutes),
        ),
        InlineKeyboard.of([Button(ctx._("Open the console"), url=link)]),
    )


def register(router: Router) -> None:
    """Add /web."""
    router.command("web", roles=CONSOLE_ROLES, description=N_("The web console: a login link"))(
        web_command
    )
