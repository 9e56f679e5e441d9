"""Measured figures for several instances under faults: takeover, duplicates, lateness.

    python -m benchmarks.fault_bench [--backend postgresql|sqlite|both] [--tickets 60]
        [--faults kill,restart] [--outage 3] [--quick] [--lease 5]

For each backend, a fresh world (benchmarks/fleet.py): the sandbox emulator, a bulk office
(`--tickets` x 2 staff, eight engineers), a policy whose acknowledge target is 15 s, and
`faultdesk run` processes in webhook mode behind a round-robin balancer, three on
PostgreSQL (a server of its own, started by scripts/pg-throwaway.sh) and two on SQLite,
alternating aiogram and python-telegram-bot. Then, per fault, a wave of `--tickets`
faults reported at one instant (each dispatched at once: a dispatch card, a reminder at
12 s and a page at 15 s for its engineer):

- kill: the other instances are paused (SIGSTOP) while the wave falls due, so one
  instance claims it; once its first page is delivered it gets SIGKILL and the others
  resume;
- restart (PostgreSQL only): once the first page is delivered, the server stops
  (immediate mode) for `--outage` seconds and starts again. Its commits are durable
  (`synchronous_commit` on, as in production): a crash forgets nothing acknowledged.
  An outage longer than the outbox lease (`--outage 12`) is the case the grace after a
  restart is for (`core.outbox`).

Figures, counted at the emulator (what the engineers received, not the outbox):
expected pages and cards, duplicates (deliveries beyond the first), missing, how long
the fault lasted (PostgreSQL's stop, pause and start, crash recovery included), lease
(kill only: seconds from the kill until the killed instance's last lease on an outbox
row, a chat or due work ran out), first and takeover (seconds from the kill, or from the
server being back, to the first and to the last page delivered after it: after the
leases, a chat's taken-over pages go out at Telegram's per-chat pace, 1.15 s apart), and
page lateness p50/p99/max (first delivery minus the step's due time in the database). The exit status is 1 when a message was missing or repeated.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.common import percentile, progress_printer
from benchmarks.fleet import (
    Outcome,
    ThrowawayPostgres,
    World,
    create_database,
    kill_mid_wave,
    restart_postgres_mid_wave,
    running_world,
)
from core.migrate import upgrade_async

progress = progress_printer("fault_bench")
FAULTS = ("kill", "restart")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="both")
    parser.add_argument("--tickets", type=int, default=None, help="faults per wave (60)")
    parser.add_argument("--faults", default=",".join(FAULTS), help="kill,restart")
    parser.add_argument("--outage", type=float, default=3.0, help="seconds PostgreSQL is down")
    parser.add_argument("--quick", action="store_true", help="16 faults per wave")
    parser.add_argument(
        "--lease",
        type=float,
        default=None,
        help="outbox and due-work lease of the instances, seconds (the settings' default)",
    )
    args = parser.parse_args(argv)
    if args.tickets is None:
        args.tickets = 16 if args.quick else 60
    faults = [fault.strip() for fault in args.faults.split(",") if fault.strip()]
    unknown = sorted(set(faults) - set(FAULTS))
    if unknown:
        parser.error(f"unknown fault(s) {', '.join(unknown)}; choose from {', '.join(FAULTS)}")
    args.faults = faults
    if args.tickets < 1:
        parser.error("--tickets must be at least 1")
    return args


def row(backend: str, instances: int, fault: str, outcome: Outcome) -> str:
    """One line of figures."""
    seen = outcome.seen
    pages = seen.delivered("page")
    cards = seen.delivered("card")
    reminders = seen.delivered("reminder")
    lateness = seen.lateness(("page",))
    missing = len(seen.missing("page")) + len(seen.missing("card"))

    def ms(value: float | None) -> str:
        return "     -" if value is None or math.isnan(value) else f"{value:6.1f}"

    return (
        f"{backend:<10} {instances:>3} {fault:<8} {len(pages):>5} {len(cards):>5}"
        f" {sum(1 for n in reminders.values() if n):>5} {seen.duplicates():>5} {missing:>5}"
        f" {(outcome.fault_over_at - outcome.fault_at).total_seconds():>6.1f}"
        f" {ms(outcome.leases_ran_out())} {ms(outcome.first_taken_over())}"
        f" {outcome.takeover():>9.1f} {ms(percentile(lateness, 0.5))} {ms(percentile(lateness, 0.99))}"
        f" {ms(max(lateness, default=float('nan')))}"
    )


HEADER = (
    f"{'backend':<10} {'N':>3} {'fault':<8} {'pages':>5} {'cards':>5} {'remd':>5} {'dup':>5}"
    f" {'miss':>5} {'down s':>6} {'lease':>6} {'first':>6} {'takeover':>9}"
    f" {'p50 s':>6} {'p99 s':>6} {'max s':>6}"
)


async def measure(
    backend: str, args: argparse.Namespace, folder: Path
) -> list[tuple[str, Outcome]]:
    """Run the chosen faults on one backend; the outcomes."""
    postgres: ThrowawayPostgres | None = None
    if backend == "postgresql":
        postgres = ThrowawayPostgres()
        progress("starting a PostgreSQL server of its own")
        url = await create_database(await postgres.start(), "faultdesk_fault_bench")
        runtimes: tuple[str, ...] = ("aiogram", "ptb", "aiogram")
    else:
        path = folder / "faultdesk.sqlite3"
        url = f"sqlite:///{path}"
        await upgrade_async(url)
        runtimes = ("aiogram", "ptb")
    outcomes: list[tuple[str, Outcome]] = []
    try:
        staff = args.tickets * (len(args.faults) + 1)
        extra = {}
        if args.lease is not None:
            extra = {
                "FAULTDESK_OUTBOX_LEASE": str(args.lease),
                "FAULTDESK_DUE_WORK_LEASE": str(args.lease),
            }
        async with running_world(
            folder, url, runtimes, postgres, staff=staff, extra=extra
        ) as world:
            progress(f"{backend}: {len(runtimes)} instances serving")
            for fault in args.faults:
                if fault == "restart" and postgres is None:
                    continue
                await world.heal()
                progress(f"{backend}: wave of {args.tickets} with {fault}")
                outcome = await run_fault(world, fault, args)
                outcomes.append((fault, outcome))
                print(row(backend, len(runtimes), fault, outcome), flush=True)
    finally:
        if postgres is not None:
            await postgres.remove()
    return outcomes


async def run_fault(world: World, fault: str, args: argparse.Namespace) -> Outcome:
    """One wave through one fault."""
    if fault == "kill":
        return await kill_mid_wave(world, tickets=args.tickets)
    return await restart_postgres_mid_wave(world, tickets=args.tickets, outage=args.outage)


async def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 1 when a message was missing or repeated."""
    args = parse(argv)
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    lease = "default" if args.lease is None else f"{args.lease:g} s"
    print(f"waves of {args.tickets} faults; PostgreSQL outage {args.outage:.0f} s; leases {lease}")
    print(HEADER, flush=True)
    failed = False
    for backend in backends:
        folder = Path(tempfile.mkdtemp(prefix=f"fault-bench-{backend}-"))
        try:
            for _, outcome in await measure(backend, args, folder):
                seen = outcome.seen
                failed |= bool(seen.duplicates() or seen.missing("page") or seen.missing("card"))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
