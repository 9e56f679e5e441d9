"""What the several-instances tests check, on PostgreSQL (three processes) and SQLite (two).

The world (benchmarks/fleet.py, shared with the fault benchmark) is one database, the
sandbox emulator, a bulk office (staff with a PC each, eight engineers), a policy whose
acknowledge target is 15 s, and `faultdesk run` processes in webhook mode behind the
test's round-robin balancer. Messages are counted where the people read them, at the
emulator, never in the outbox.
"""

from __future__ import annotations

import asyncio

from benchmarks.fleet import Outcome, World
from core.models import Ticket, TicketPhoto

# What "bounded lateness" means here: the issue asks for work held by a dead instance to
# be taken over within about 10 s. Its leases (5 s by default, renewed every third of
# that) run out within MAX_LEASE_LEFT of the kill, and the others take its work then
# (after a restart: once the grace of one lease is over); on top come the time before the
# fault (the first page out, the others recorded), Telegram's pace of one message a
# second per chat (each engineer gets two pages) and a busy two-core machine. In the kill
# scenario the dead instance holds nearly the whole wave, so nearly every page is late by
# about the takeover: the bound is on the worst page, not the median.
MAX_LATENESS = 16.0
MAX_TAKEOVER = 12.0
MAX_LEASE_LEFT = 5.5


async def report_with_album(world: World, telegram_id: int, tag: str, photos: int) -> int:
    """One person reports a fault with an album, as in the chat; the ticket's number."""
    person = world.people[telegram_id]
    await person.start(f"asset_{tag}")
    await person.wait_for("What is wrong?")
    await person.send("The screen stays black after the update.")
    await person.wait_for("A photo helps the engineer")
    await person.send_album(photos)  # one update per photo, milliseconds apart
    await world.all_handled()
    try:
        await person.wait_for(f"{photos} photos received", timeout=10)
    except (AssertionError, TimeoutError):
        raise AssertionError(
            f"the album of {photos} lost photos on the way:\n{person.transcript()}"
        ) from None
    await person.press("✅ Done")
    await person.wait_for("How badly does it affect work?")
    await person.press("🟠 I cannot do my work with it")
    await person.wait_for("A phone number for the engineer?")
    await person.send("13800000000")
    summary = await person.wait_for(lambda m: m.button("✅ Confirm") is not None)
    assert f"Photos: {photos}" in summary.text, person.transcript()
    await person.press("✅ Confirm")
    opened = await person.wait_for(lambda m: " is open." in m.text and "Ticket #" in m.text)
    return int(opened.text.split("Ticket #", 1)[1].split(" ", 1)[0])


async def albums_keep_every_photo(world: World, *, reporters: int, photos: int = 5) -> None:
    """`reporters` people at once each report with an album; every photo is kept."""
    chosen = world.office.take(reporters)
    tickets = await asyncio.gather(
        *(report_with_album(world, telegram_id, tag, photos) for telegram_id, tag in chosen)
    )
    assert len(set(tickets)) == reporters
    for ticket in tickets:
        assert await world.count(Ticket, Ticket.id == ticket) == 1
        kept = await world.count(TicketPhoto, TicketPhoto.ticket_id == ticket)
        assert kept == photos, f"ticket #{ticket} kept {kept} of {photos} photos"
    # The updates were spread over every instance (otherwise this proves nothing).
    passed = world.fleet.balancer.passed
    assert len([n for n in passed.values() if n]) == len(world.fleet.instances), passed


def assert_exactly_once_and_on_time(world: World, outcome: Outcome) -> None:
    """Every card and page delivered once, every reminder at most once; pages on time.

    On time: none early, each within MAX_LATENESS of its due time, the last page after the
    fault within MAX_TAKEOVER of its end, and a killed instance's leases out within
    MAX_LEASE_LEFT of the kill.
    Every broken promise is listed at once, with the figures.
    """
    seen = outcome.seen
    problems = []
    for kind in ("card", "page"):
        wrong = {f"#{item.ticket_id}": n for item, n in seen.delivered(kind).items() if n != 1}
        if wrong:
            problems.append(f"{kind}s delivered other than once (ticket: times): {wrong}")
    twice = {f"#{i.ticket_id}": n for i, n in seen.delivered("reminder").items() if n > 1}
    if twice:
        problems.append(f"reminders delivered more than once: {twice}")
    ordered = sorted(seen.lateness(("page",)))
    if ordered and ordered[0] < -0.5:
        problems.append(f"a page went out {-ordered[0]:.1f} s before it was due")
    if ordered and ordered[-1] > MAX_LATENESS:
        problems.append(
            f"pages late by up to {ordered[-1]:.1f} s (bound {MAX_LATENESS:.0f} s):"
            f" {[round(x, 1) for x in ordered]}"
        )
    takeover = outcome.takeover()
    if takeover > MAX_TAKEOVER:
        problems.append(f"the last page went out {takeover:.1f} s after the fault")
    lease_left = outcome.leases_ran_out()
    if lease_left is not None and lease_left > MAX_LEASE_LEFT:
        problems.append(f"the killed instance's leases ran out {lease_left:.1f} s after the kill")
    assert not problems, "\n".join(problems) + "\n" + world.fleet.output()
