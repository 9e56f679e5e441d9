"""How fast `faultdesk asset import` takes a whole asset register.

A register of `--rows` devices (default 10 000) is written the way admins keep it: the
seed's Chinese headers (000 §2.2.1-1) with a title row above them, Chinese device types,
dates as typed (2027/01/01, 2027年1月1日), departments by name; once as a CSV saved by Excel
on Chinese Windows (GBK) and once as an XLSX workbook. Each is imported into a fresh
database with one site and its departments by the real command, `python -m bot.cli asset
import`, in a child process, and the wall time of that process is measured (start-up,
reading, checking every row, writing all rows and their audit events in one transaction).
Then the same file is imported again (every device already there: checked, nothing
written) and the audit chain is verified. Finally the phases are timed in this process
on a fresh database: reading the file, checking its rows, and the one transaction that
checks them against the database and writes devices and audit events (the command adds
its start-up, about a second, to these).

    python -m benchmarks.import_bench                  # SQLite, 10 000 rows
    python -m benchmarks.import_bench --rows 2000 --backend both

Figures go to stdout, progress to stderr. Exit status 1 when an import fails or the
database does not hold exactly the rows of the file.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import func, select

from benchmarks.common import (
    add_backend_options,
    backends_to_measure,
    helpdesk_over,
    progress_printer,
    scratch_database,
)
from bot.cli.asset_files import read_register
from core.asset_register import CHINESE_KIND_NAME, COLUMNS, is_empty_row, match_header, parse_row
from core.assets import field_limits
from core.audit import verify_chain
from core.db import Database
from core.enums import AssetKind
from core.models import Asset, AuditEvent

progress = progress_printer("import")
ROOT = Path(__file__).resolve().parent.parent
DEPARTMENTS = [f"部门{number:02d}" for number in range(1, 21)]


def register_rows(count: int) -> tuple[list[str], list[list[object]]]:
    """A register of `count` devices with the seed's headers, as an office would fill it."""
    header = ["序号", *(column.chinese for column in COLUMNS)]
    kinds = list(AssetKind)
    rows: list[list[object]] = []
    for number in range(1, count + 1):
        kind = kinds[number % len(kinds)]
        values = {
            "site": "HQ",
            "location": f"{number % 30 + 1}楼 {number % 40 + 1:02d}室",
            "department": DEPARTMENTS[number % len(DEPARTMENTS)],
            "user_name": f"员工{number:05d}",
            "tag": f"ZC-{number:06d}",
            "kind": CHINESE_KIND_NAME[kind],
            "brand": ("联想", "戴尔", "惠普", "爱普生")[number % 4],
            "model": f"M{700 + number % 90}",
            "warranty_until": f"{2026 + number % 4}/{number % 12 + 1:02d}/01"
            if number % 3
            else f"{2027 + number % 3}年{number % 12 + 1}月{number % 28 + 1}日",
            "manufactured_on": f"{2019 + number % 6}-{number % 12 + 1}-{number % 28 + 1}",
            "serial": f"SN{number:010d}",
            "monitor_serial": f"MSN{number:09d}" if kind is AssetKind.PC else "",
            "health": "良好",
            "hardware_config": "i5-8500, 8 GB, 256 GB SSD",
            "ip_address": f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}",
            "subnet_mask": "255.255.255.0",
            "os": "Windows 10",
            "antivirus": "火绒",
            "office_software": "WPS Office",
        }
        rows.append([number, *(values[column.field] for column in COLUMNS)])
    return header, rows


def write_files(directory: Path, count: int) -> dict[str, Path]:
    """The register as a GBK CSV and as an XLSX workbook, each with a title row."""
    header, rows = register_rows(count)
    title = "资产巡检维修设备登记表"
    csv_path = directory / "register-gbk.csv"
    lines = [title + "," * (len(header) - 1), ",".join(header)]
    lines += [
        ",".join(f'"{value}"' if "," in str(value) else str(value) for value in row) for row in rows
    ]
    csv_path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    xlsx_path = directory / "register.xlsx"
    book = Workbook(write_only=True)
    sheet = book.create_sheet("资产登记表")
    sheet.append([title])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(xlsx_path)
    return {"CSV (GBK)": csv_path, "XLSX": xlsx_path}


def faultdesk(url: str, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run the command line as an admin does; its wall time and outcome."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FAULTDESK_DEFAULT_LANGUAGE": "en"}
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args, "--database-url", url],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return time.perf_counter() - began, done


async def counts(url: str) -> tuple[int, int, bool]:
    """Devices, audit events, and whether the audit chain verifies."""
    db = Database(url)
    try:
        async with db.reading() as session:
            devices = await session.scalar(select(func.count()).select_from(Asset))
            events = await session.scalar(select(func.count()).select_from(AuditEvent))
            report = await verify_chain(session)
        return int(devices or 0), int(events or 0), report.ok
    finally:
        await db.dispose()


async def measure(backend: str, pg_url: str | None, files: dict[str, Path], rows: int) -> bool:
    """Import each file into a fresh database; print the figures; True when all held."""
    ok = True
    for name, path in files.items():
        async with scratch_database(backend, pg_url, "import") as url:
            for command in (("site", "add", "HQ", "总部", "--region", "city"),):
                faultdesk(url, *command)
            for department in DEPARTMENTS:
                faultdesk(url, "department", "add", "HQ", department)
            progress(f"{backend} {name}: importing {rows} rows")
            first, done = faultdesk(url, "asset", "import", str(path))
            if done.returncode != 0:
                print(done.stdout, done.stderr, file=sys.stderr)
                return False
            again, repeat = faultdesk(url, "asset", "import", str(path))
            devices, events, chain_ok = await counts(url)
            held = devices == rows and repeat.returncode == 0 and chain_ok
            ok = ok and held
            print(
                f"{backend:<10} {name:<10} {rows:>7} rows  first import {first:6.2f} s"
                f" ({rows / first:8.0f} rows/s)  again (all unchanged) {again:6.2f} s"
                f"  devices {devices}, audit events {events}, chain {'ok' if chain_ok else 'BROKEN'}"
            )
    return ok


async def phases(backend: str, pg_url: str | None, path: Path, rows: int) -> None:
    """Time reading, row checks and the writing transaction in this process."""
    began = time.perf_counter()
    sheet = read_register(path)
    read = time.perf_counter() - began
    began = time.perf_counter()
    header = match_header(sheet.header)
    limits = field_limits()
    entries = []
    for line, cells in sheet.rows:
        if not is_empty_row(cells):
            entry, problems = parse_row(line, header, cells, max_lengths=limits)
            assert entry is not None and not problems, problems
            entries.append(entry)
    parse = time.perf_counter() - began
    async with scratch_database(backend, pg_url, "phases") as url:
        db = Database(url)
        try:
            helpdesk = helpdesk_over(db)
            site = await helpdesk.people.create_site(code="HQ", name="总部", region="city")
            for name in DEPARTMENTS:
                await helpdesk.people.create_department(site_id=site.id, name=name)
            began = time.perf_counter()
            result = await helpdesk.assets.import_register(entries)
            write = time.perf_counter() - began
        finally:
            await db.dispose()
    assert result.added == rows
    print(
        f"{backend:<10} {path.suffix[1:].upper():<10} {rows:>7} rows  read {read:5.2f} s"
        f"  row checks {parse:5.2f} s  database check and write {write:5.2f} s"
        f"  total {read + parse + write:5.2f} s"
    )


def main() -> int:
    """Parse the options, build the files, measure each backend."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="devices in the register")
    add_backend_options(parser)
    args = parser.parse_args()
    backends = backends_to_measure(parser, args)
    with tempfile.TemporaryDirectory(prefix="faultdesk-import-bench-") as directory:
        progress(f"writing a register of {args.rows} devices as GBK CSV and XLSX")
        files = write_files(Path(directory), args.rows)
        print(
            "backend    file          rows  wall time of `faultdesk asset import` (a child process)"
        )
        ok = all(
            asyncio.run(measure(backend, args.pg_url, files, args.rows)) for backend in backends
        )
        print("\nphases, in this process (no start-up):")
        for backend in backends:
            for path in files.values():
                asyncio.run(phases(backend, args.pg_url, path, args.rows))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
