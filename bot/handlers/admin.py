"""Admins: /invite makes a deep link for a role, site and department, for one person or many.

The choices travel in the buttons (`ai:<role>`, `as:<role>:<site>`,
`ad:<role>:<site>:<department or 0>`, `au:...:<uses>`, `ae:...:<uses>:<days>`), so the
flow needs no dialog state; each press edits the same message to the next question
(role, site, department, how many people, how long), the last one to the link. A link
for many people (a whole department) is one link to post in the department's group.
"""

from __future__ import annotations

from datetime import timedelta

from bot.callback_ids import DAYS_ACTION, DEPARTMENT_ACTION, ROLE_ACTION, SITE_ACTION, USES_ACTION
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
USES_CHOICES = (1, 10, 50, 100, 500)  # people one link registers
DAYS_CHOICES = (1, 7, 14, 30, 90)  # days it stays valid
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


async def _where(ctx: Ctx, site_id: int, department_id: int) -> str:
    """'Head office, Finance' (NotFound when the site or department is gone)."""
    site = await ctx.app.helpdesk.people.site_name(site_id)
    if site is None:
        raise NotFound(entity="site", id=site_id)
    if department_id == NO_DEPARTMENT:
        return site
    department = next(
        (d for d in await ctx.app.helpdesk.people.departments(site_id) if d.id == department_id),
        None,
    )
    if department is None:
        raise NotFound(entity="department", id=department_id)
    return f"{site}, {department.name}"


def _choice(callback: Callback, count: int) -> tuple[Role, list[int]] | None:
    """The role and `count` numbers a button carries, None when it is not valid."""
    try:
        role = Role(callback.args[0])
        numbers = [callback.int_arg(index) for index in range(1, count + 1)]
    except (IndexError, ValueError):
        return None
    return role, numbers


def _people(ctx: Ctx, uses: int) -> str:
    return ctx.t.plural("{n} person", "{n} people", uses)


async def choose_department(ctx: Ctx, callback: Callback) -> None:
    """Department chosen: for how many people?"""
    chosen = _choice(callback, 2)
    if chosen is None:
        await ctx.answer(ctx._("This button is not valid."), alert=True)
        return
    role, (site_id, department_id) = chosen
    where = await _where(ctx, site_id, department_id)
    await ctx.answer()
    buttons = [
        ctx.button(_people(ctx, uses), USES_ACTION, role.value, site_id, department_id, uses)
        for uses in USES_CHOICES
    ]
    await ctx.edit(
        ctx._(
            "✉️ Invitation · {role} · {where}. For how many people? "
            "One link for many suits a whole department.",
            role=label(ctx.t, ROLE, role.value),
            where=where,
        ),
        _rows(buttons),
    )


async def choose_uses(ctx: Ctx, callback: Callback) -> None:
    """Number of people chosen: valid for how long?"""
    chosen = _choice(callback, 3)
    if chosen is None or chosen[1][2] not in USES_CHOICES:
        await ctx.answer(ctx._("This button is not valid."), alert=True)
        return
    role, (site_id, department_id, uses) = chosen
    where = await _where(ctx, site_id, department_id)
    await ctx.answer()
    buttons = [
        ctx.button(
            ctx.t.plural("{n} day", "{n} days", days),
            DAYS_ACTION,
            role.value,
            site_id,
            department_id,
            uses,
            days,
        )
        for days in DAYS_CHOICES
    ]
    await ctx.edit(
        ctx._(
            "✉️ Invitation · {role} · {where} · {people}. Valid for how long?",
            role=label(ctx.t, ROLE, role.value),
            where=where,
            people=_people(ctx, uses),
        ),
        _rows(buttons),
    )


async def choose_days(ctx: Ctx, callback: Callback) -> None:
    """Validity chosen: create the invitation and show its link."""
    chosen = _choice(callback, 4)
    if chosen is None or chosen[1][2] not in USES_CHOICES or chosen[1][3] not in DAYS_CHOICES:
        await ctx.answer(ctx._("This button is not valid."), alert=True)
        return
    role, (site_id, department_id, uses, days) = chosen
    where = await _where(ctx, site_id, department_id)
    created = await ctx.app.helpdesk.people.create_invite(
        role=role,
        site_id=site_id,
        department_id=None if department_id == NO_DEPARTMENT else department_id,
        max_uses=uses,
        valid_for=timedelta(days=days),
        actor_id=ctx.person_id,
    )
    link = ctx.deep_link(f"{INVITE_PREFIX}{created.code}")
    lines = [
        ctx._(
            "✉️ <b>Invitation</b>: {role} at {where}",
            role=label(ctx.t, ROLE, role.value),
            where=where,
        ),
        link,
    ]
    assert created.expires_at is not None  # made with a validity above
    if uses == 1:
        lines.append(
            ctx._(
                "Valid until {until}, for one person. Send it to them; opening it registers them.",
                until=ctx.when(created.expires_at),
            )
        )
    else:
        lines.append(
            ctx._(
                "Valid until {until}, for up to {people}. Post it where they will see it "
                "(their group chat, a notice); opening it registers each of them.",
                until=ctx.when(created.expires_at),
                people=_people(ctx, uses),
            )
        )
    await ctx.answer(ctx._("Invitation created."))
    await ctx.edit("\n".join(lines))


def register(router: Router) -> None:
    """Add this audience's commands, buttons, dialogs and message renderers."""
    router.command("invite", roles=ADMINS, description=N_("Create an invitation link"))(invite)
    router.callback(ROLE_ACTION, roles=ADMINS)(choose_role)
    router.callback(SITE_ACTION, roles=ADMINS)(choose_site)
    router.callback(DEPARTMENT_ACTION, roles=ADMINS)(choose_department)
    router.callback(USES_ACTION, roles=ADMINS)(choose_uses)
    router.callback(DAYS_ACTION, roles=ADMINS)(choose_days)
