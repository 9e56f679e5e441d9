"""Admins: /invite makes a one-person deep link for a role, site and department.

The three choices travel in the buttons (`ai:<role>`, `as:<role>:<site>`,
`ad:<role>:<site>:<department or 0>`), so the flow needs no dialog state; each press
edits the same message to the next question, the last one to the link.
"""

from __future__ import annotations

from bot.callback_ids import DEPARTMENT_ACTION, ROLE_ACTION, SITE_ACTION
from bot.callbacks import Callback
from bot.chat import Button, InlineKeyboard
from bot.context import Ctx
from bot.handlers.common import INVITE_PREFIX
from bot.i18n import N_
from bot.labels import ROLE, label
from bot.router import Router
from core.enums import Role
from core.errors import NotFound

NO_DEPARTMENT = 0
NO_DEPARTMENT_BUTTON = N_("No department")
ADMINS = frozenset({Role.ADMIN})
INVITABLE = (Role.STAFF, Role.ENGINEER, Role.DISPATCHER, Role.MANAGER, Role.ADMIN)


def _rows(buttons: list[Button]) -> InlineKeyboard:
    return InlineKeyboard(tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2)))


async def invite(ctx: Ctx) -> None:
    """/invite: first choose the role."""
    buttons = [
        ctx.button(label(ctx.t, ROLE, role.value).capitalize(), ROLE_ACTION, role.value)
        for role in INVITABLE
    ]
    await ctx.say(ctx._("✉️ New invitation. Which role?"), _rows(buttons))


def _role(ctx: Ctx, callback: Callback) -> Role | None:
    try:
        return Role(callback.args[0])
    except (IndexError, ValueError):
        return None


async def choose_role(ctx: Ctx, callback: Callback) -> None:
    """Role chosen: which site?"""
    role = _role(ctx, callback)
    if role is None:
        await ctx.answer(ctx._("This button is not valid."), alert=True)
        return
    sites = await ctx.app.helpdesk.people.sites()
    await ctx.answer()
    role_name = label(ctx.t, ROLE, role.value)
    if not sites:
        await ctx.edit(ctx._("No site is registered yet; register a site first."))
        return
    buttons = [ctx.button(site.name, SITE_ACTION, role.value, site.id) for site in sites]
    await ctx.edit(ctx._("✉️ Invitation · {role}. Which site?", role=role_name), _rows(buttons))


async def choose_site(ctx: Ctx, callback: Callback) -> None:
    """Site chosen: which department (or none)?"""
    role = _role(ctx, callback)
    try:
        site_id = callback.int_arg(1)
    except (IndexError, ValueError):
        site_id = None
    if role is None or site_id is None:
        await ctx.answer(ctx._("This button is not valid."), alert=True)
        return
    site = await ctx.app.helpdesk.people.site_name(site_id)
    if site is None:
        raise NotFound(entity="site", id=site_id)
    departments = await ctx.app.helpdesk.people.departments(site_id)
    await ctx.answer()
    buttons = [
        ctx.button(department.name, DEPARTMENT_ACTION, role.value, site_id, department.id)
        for department in departments
    ]
    buttons.append(
        ctx.button(
            ctx._(NO_DEPARTMENT_BUTTON), DEPARTMENT_ACTION, role.value, site_id, NO_DEPARTMENT
        )
    )
    await ctx.edit(
        ctx._(
            "✉️ Invitation · {role} · {site}. Which department?",
            role=label(ctx.t, ROLE, role.value),
            site=site,
        ),
        _rows(buttons),
    )


async def choose_department(ctx: Ctx, callback: Callback) -> None:
    """Department chosen: create the invitation and show its link."""
    role = _role(ctx, callback)
    try:
        site_id = callback.int_arg(1)
        department_id = callback.int_arg(2)
    except (IndexError, ValueError):
        role = None
    if role is None:
        await ctx.answer(ctx._("This button is not valid."), alert=True)
        return
    department = None
    if department_id != NO_DEPARTMENT:
        department = next(
            (
                d
                for d in await ctx.app.helpdesk.people.departments(site_id)
                if d.id == department_id
            ),
            None,
        )
        if department is None:
            raise NotFound(entity="department", id=department_id)
    created = await ctx.app.helpdesk.people.create_invite(
        role=role,
        site_id=site_id,
        department_id=department.id if department else None,
        actor_id=ctx.person_id,
    )
    site = await ctx.app.helpdesk.people.site_name(site_id) or "?"
    where = f"{site}, {department.name}" if department else site
    link = ctx.deep_link(f"{INVITE_PREFIX}{created.code}")
    lines = [
        ctx._(
            "✉️ <b>Invitation</b>: {role} at {where}",
            role=label(ctx.t, ROLE, role.value),
            where=where,
        ),
        link,
    ]
    if created.expires_at is not None:
        lines.append(
            ctx._(
                "Valid until {until}, for one person. Send it to them; opening it registers them.",
                until=ctx.when(created.expires_at),
            )
        )
    else:
        lines.append(ctx._("Valid for one person. Send it to them; opening it registers them."))
    await ctx.answer(ctx._("Invitation created."))
    await ctx.edit("\n".join(lines))


def register(router: Router) -> None:
    """Add this audience's commands, buttons, dialogs and message renderers."""
    router.command("invite", roles=ADMINS, description=N_("Create an invitation link"))(invite)
    router.callback(ROLE_ACTION, roles=ADMINS)(choose_role)
    router.callback(SITE_ACTION, roles=ADMINS)(choose_site)
    router.callback(DEPARTMENT_ACTION, roles=ADMINS)(choose_department)
