"""Managers: /stats, today's tickets and this month's KPIs (alerts: `bot.notifications.manager`)."""

from __future__ import annotations

from collections.abc import Sequence

from babel.dates import format_skeleton

from bot.context import Ctx
from bot.i18n import N_, Translator
from bot.router import Router
from core.enums import Role
from core.reports.counts import DayFigures, day_figures, kpi_reports_by_site
from core.reports.kpi import KpiReport, Rate
from core.reports.periods import day_bounds, month_bounds

STATS_ROLES = frozenset({Role.MANAGER, Role.DISPATCHER, Role.ADMIN})
STATS_TITLE = N_("📊 <b>{place}</b> · {now}")


def rate_line(t: Translator, name: str, rate: Rate, goal: str, deduction: int) -> str:
    """'On-time arrival: 90.0% (9 of 10) · target 90%' with the points it costs."""
    if rate.denominator == 0:
        line = t("{name}: — (nothing counted yet) · {goal}", name=name, goal=goal)
    else:
        line = t(
            "{name}: <b>{value}</b> ({n} of {total}) · {goal}",
            name=name,
            value=t.percent(rate.as_float()),
            n=rate.numerator,
            total=rate.denominator,
            goal=goal,
        )
    if deduction:
        line += " · " + t("−{points} points", points=deduction)
    return line


def stats_text(
    t: Translator,
    *,
    place: str,
    now_text: str,
    month_start: str,
    today: DayFigures,
    kpis: KpiReport,
    sites: Sequence[tuple[str, KpiReport]] = (),
) -> str:
    """The /stats message; `sites` (name, KPIs) adds each site's deductions explained."""
    from bot.rendering.text import explained_lines, site_lines  # one wording with the reports

    lines = [
        t(STATS_TITLE, place=place, now=now_text),
        t(
            "<b>Now</b>: {open} open · {overdue} overdue",
            open=today.open_now,
            overdue=today.overdue_now,
        ),
        t(
            "<b>Today</b>: {opened} opened · {resolved} resolved · {closed} closed",
            opened=today.opened,
            resolved=today.resolved,
            closed=today.closed,
        ),
        "",
        t("<b>This month</b> (since {start}):", start=month_start),
        rate_line(t, t("On-time arrival"), kpis.arrival, t("target 90%"), kpis.arrival_deduction),
        rate_line(t, t("On-site fix"), kpis.fix, t("target 95%"), kpis.fix_deduction),
        rate_line(
            t,
            t("Rated 3-5"),
            kpis.satisfaction,
            t("target 90%"),
            kpis.satisfaction_deduction,
        ),
        rate_line(
            t,
            t("30-day repeat repairs (software)"),
            kpis.repeat,
            t("limit 15%"),
            kpis.repeat_deduction,
        ),
        t(
            "Deductions so far: −{points} · on-site support {score}/100",
            points=kpis.total_deduction,
            score=kpis.score,
        ),
        *explained_lines(t, kpis),
    ]
    if len(sites) > 1:
        lines += site_lines(t, sites)
    return "\n".join(lines)


async def stats(ctx: Ctx) -> None:
    """/stats: open and overdue now, today's flow, and the month's KPIs so far."""
    core = ctx.app.helpdesk.core
    now = core.clock.now()
    assert ctx.profile is not None  # the router lets only registered roles in
    site_id = ctx.profile.site_id
    day_start, day_end = day_bounds(now, ctx.tz)
    month_start, month_end = month_bounds(now, ctx.tz)
    today = await day_figures(core, day_start, day_end, site_id=site_id)
    kpis, by_site = await kpi_reports_by_site(
        core, month_start, month_end, site_id=site_id, as_of=now
    )
    place = ctx.profile.site_name if site_id is not None else None
    names = {place.id: place.name for place in await ctx.app.helpdesk.people.sites()}
    sites = sorted(
        ((names.get(key, str(key)), report) for key, report in by_site.items()),
        key=lambda pair: pair[0],
    )
    await ctx.say(
        stats_text(
            ctx.t,
            place=place or ctx._("All sites"),
            now_text=ctx.when(now),
            month_start=format_skeleton("MMMd", month_start.date(), locale=ctx.t.locale),
            today=today,
            kpis=kpis,
            sites=sites if site_id is None else (),
        )
    )


def register(router: Router) -> None:
    """Add this audience's commands, buttons, dialogs and message renderers."""
    router.command(
        "stats", roles=STATS_ROLES, description=N_("Today's tickets and this month's KPIs")
    )(stats)
