"""Group chats: nothing personal is said there, and a site's alert group is set from one.

Whatever a person's commands, buttons and dialogs show (their tickets, an engineer's
card with phone numbers) belongs in their private chat. In a group the bot answers a
personal command (/my, /queue, /report, an invitation's /start...) only with a link to a
private chat, and a button press with the same advice; invitations are redeemed only
in private chats (the core refuses any other).

`/sitegroup SITE` (administrators, in the group itself) makes a group the place where
the site's escalation alerts are also posted; `/sitegroup SITE off` stops it. It is a
command in the group rather than a command-line option because the bot learns the
group's chat id from the command itself (nobody has to look it up), and the core checks
that the sender is one of the helpdesk's administrators.
"""

from __future__ import annotations

from bot.chat import Button, InlineKeyboard, Kind
from bot.context import Ctx
from bot.handlers.common import INVITE_PREFIX
from bot.router import Router
from core.enums import Role
from core.errors import NotFound

ADMINS = frozenset({Role.ADMIN})
OFF = "off"


def private_chat_keyboard(ctx: Ctx) -> InlineKeyboard:
    """💬 Open a private chat (a t.me link: it opens the chat, it tells nobody anything)."""
    link = f"https://t.me/{ctx.app.bot_username}"
    return InlineKeyboard.of([Button(ctx._("💬 Open a private chat"), url=link)])


async def private_only(ctx: Ctx) -> None:
    """A command or button meant for a private chat, used in a group: point there."""
    incoming = ctx.incoming
    if incoming.kind is Kind.CALLBACK:
        await ctx.answer(ctx._("Please use your private chat with me for this."), alert=True)
        return
    if incoming.command == "start" and incoming.args.strip().startswith(INVITE_PREFIX):
        text = ctx._(
            "🔒 Invitations are redeemed only in a private chat with me, so that your "
            "notices reach only you. Nothing was registered here: open your invitation "
            "link again and press Start in the private chat."
        )
    else:
        text = ctx._(
            "🔒 I answer /{command} only in a private chat, so that nothing about you is "
            "posted in this group.",
            command=incoming.command[:32],
        )
    await ctx.say(text, private_chat_keyboard(ctx))


def usage(ctx: Ctx) -> str:
    """How to use /sitegroup."""
    return ctx._(
        "Send <code>/sitegroup SITE</code> in a group to post that site's escalation alerts "
        "there too, or <code>/sitegroup SITE off</code> to stop."
    )


async def site_group(ctx: Ctx) -> None:
    """/sitegroup SITE [off]: in a group, an administrator starts (or stops) posting alerts there."""
    if ctx.incoming.is_private:
        await ctx.say(usage(ctx))
        return
    args = ctx.incoming.args.split()
    if not args or len(args) > 2 or (len(args) == 2 and args[1].lower() != OFF):
        codes = await ctx.app.helpdesk.people.alert_group_sites(ctx.chat_id)
        now = (
            ctx._("Alerts of {sites} are posted here now.", sites=", ".join(codes))
            if codes
            else ctx._("No site's alerts are posted here now.")
        )
        await ctx.say(usage(ctx) + "\n" + now)
        return
    code, posting = args[0], len(args) == 1
    try:
        site, before = await ctx.app.helpdesk.people.set_alert_group(
            code, ctx.chat_id, actor_id=ctx.person_id, posting=posting
        )
    except NotFound:
        await ctx.say(ctx._("No site has the code {code}.", code=code[:32]))
        return
    if posting:
        text = ctx._(
            "🔔 Escalation alerts of {site} will also be posted in this group. Acknowledging "
            "and acting on them stays in each person's private chat.",
            site=site.name,
        )
        if before is not None and before != ctx.chat_id:
            text += "\n" + ctx._("They are no longer posted in the group that had them before.")
    elif before == ctx.chat_id:
        text = ctx._("🔕 Escalation alerts of {site} are no longer posted here.", site=site.name)
    else:
        text = ctx._("Escalation alerts of {site} are not posted here.", site=site.name)
    await ctx.say(text)


def register(router: Router) -> None:
    """Add the group commands and the answer to personal requests made in a group."""
    router.command("sitegroup", roles=ADMINS, in_groups=True)(site_group)
    router.outside_private = private_only
