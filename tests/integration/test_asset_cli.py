"""The asset register from the command line, as an admin keeps it, on every backend.

Each command runs as a child process (`python -m bot.cli`); the database is then read
back through the core, and files with the library a reader would use (openpyxl).
"""

from __future__ import annotations

import asyncio
import codecs
import os
import pty
import subprocess
import sys
from datetime import date

import pytest
from command_line import ROOT, TRACEBACK_MARKS, environment, faultdesk
from openpyxl import load_workbook
from sqlalchemy import func, select

from core.enums import AssetKind
from core.models import Asset, AuditEvent

# The seed's register (000 §2.2.1-1) as a Chinese office keeps it in Excel: a title row,
# a numbering column the register does not know, dates typed three ways.
GBK_REGISTER = [
    "资产巡检维修设备登记表,,,,,,,,,,,,,",
    "序号,营业所,所属部门,使用人,资产编号,设备类型,机器品牌,机器型号,保修状况,机器出厂日期,机器序列号,显示器序列号,IP地址,操作系统",
    "1,HQ,Finance,李娜,ZC-0001,台式电脑,联想,M720,2027/01/01,2021-1-1,SN001,MSN001,10.0.0.11,Windows 10",
    "2,Head office,Finance,王伟,ZC-0002,笔记本电脑,戴尔,Latitude 5420,2027年1月1日,,SN002,,10.0.0.12,Windows 11",
    "3,hq,,,财务部/PC 03.1,Printer,惠普,M404dn,,,SN003,,10.0.0.13,",
]


def run(*args: str, url: str, **kwargs):
    return faultdesk(*args, "--database-url", url, **kwargs)


async def in_thread(*args: str, url: str, **kwargs):
    """A command from an async test, without blocking its event loop."""
    return await asyncio.to_thread(run, *args, url=url, **kwargs)


def write_gbk(path, lines):
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    return path


async def test_a_register_saved_by_excel_on_chinese_windows_imports_as_it_is(
    database_url, helpdesk, world, tmp_path
):
    register = write_gbk(tmp_path / "资产登记表.csv", GBK_REGISTER)
    done = await in_thread("asset", "import", str(register), url=database_url)
    assert done.code == 0, done.output
    assert "3 devices imported (3 new, 0 updated, 0 already as given)." in done.stdout
    assert "read as GB18030 text" in done.stderr
    assert "Columns not imported (not part of the register): 序号" in done.stderr
    pc = await helpdesk.assets.view("ZC-0002")
    assert (pc.kind, pc.site, pc.department, pc.user_name) == (
        AssetKind.LAPTOP,
        "HQ",
        "Finance",
        "王伟",
    )
    assert (pc.brand, pc.model, pc.warranty_until) == ("戴尔", "Latitude 5420", date(2027, 1, 1))
    first = await helpdesk.assets.view("zc-0001")
    assert (first.warranty_until, first.manufactured_on) == (date(2027, 1, 1), date(2021, 1, 1))
    printer = await helpdesk.assets.view("财务部/PC 03.1")
    assert (printer.kind, printer.department, printer.warranty_until) == (
        AssetKind.PRINTER,
        "",
        None,
    )
    async with helpdesk.core.reading() as session:
        registered = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "asset.registered")
        )
    assert registered == 1 + 3  # the world's PC-0001, then one event per imported device


async def test_one_bad_row_writes_nothing_and_every_bad_row_is_named(
    database_url, helpdesk, world, tmp_path
):
    # PC-0001 is registered (world) as a Lenovo M720 in Room 301.
    register = tmp_path / "register.csv"
    register.write_text(
        "tag,kind,site_code,department,model,warranty_until\n"
        "PC-0002,pc,HQ,Finance,M720,2027/01/01\n"
        "PC-0001,pc,HQ,Finance,M920,\n"
        "PC-0003,toaster,HQ,,M720,\n"
        "PC-0004,pc,HQ,Accounting,M720,\n"
        "PC-0005,pc,HQ,,M720,2027-13-01\n"
        "PC-0006,pc,MOON,,M720,\n"
        "PC-0002,pc,HQ,,M720,\n",
        encoding="utf-8",
    )
    done = await in_thread("asset", "import", str(register), url=database_url)
    assert done.code == 2, done.output
    lines = done.stderr.splitlines()
    expected = {
        3: "register.csv:3: PC-0001 is registered with other values"
        " (department — → Finance; model M720 → M920); import with --update to change them.",
        4: "register.csv:4: kind: toaster is not a device type; use Desktop PC (pc), Laptop (laptop)",
        5: "register.csv:5: department: Site HQ has no department Accounting; it has Finance",
        6: "register.csv:6: warranty_until: 2027-13-01 is not a date",
        7: "register.csv:7: site_code: There is no site MOON; the sites are HQ",
        8: "register.csv:8: tag: The tag PC-0002 repeats line 2.",
    }
    for line, start in expected.items():
        assert any(text.startswith(start) for text in lines), (line, done.stderr)
    assert "Nothing was imported: 6 rows of register.csv need fixing" in done.stderr
    assert not any(mark in done.output for mark in TRACEBACK_MARKS)
    async with helpdesk.core.reading() as session:
        tags = set(await session.scalars(select(Asset.tag)))
    assert tags == {"PC-0001"}  # PC-0002 on the first line was not written either
    assert (await helpdesk.assets.view("PC-0001")).model == "M720"


async def test_importing_again_changes_nothing_and_update_changes_what_differs(
    database_url, helpdesk, world, tmp_path
):
    register = tmp_path / "register.csv"
    register.write_text(
        "资产编号,设备类型,营业所,机器型号\nPC-0001,台式电脑,HQ,M720\nPC-0002,pc,HQ,M720\n",
        encoding="utf-8-sig",
    )
    first = await in_thread("asset", "import", str(register), url=database_url)
    assert first.code == 0, first.output
    assert "1 device imported (1 new, 0 updated, 1 already as given)." in first.stdout
    again = await in_thread("asset", "import", str(register), url=database_url)
    assert (
        again.code == 0
        and "Nothing changed: all 2 devices are registered as given." in again.stdout
    )
    register.write_text(
        "资产编号,设备类型,营业所,机器型号\nPC-0001,台式电脑,HQ,M920\nPC-0002,pc,HQ,M720\n",
        encoding="utf-8-sig",
    )
    refused = await in_thread("asset", "import", str(register), url=database_url)
    assert refused.code == 2 and "import with --update to change them" in refused.stderr
    updated = await in_thread("asset", "import", str(register), "--update", url=database_url)
    assert updated.code == 0, updated.output
    assert "1 device imported (0 new, 1 updated, 1 already as given)." in updated.stdout
    pc = await helpdesk.assets.view("PC-0001")
    # Columns the file does not have (location, brand) are left as they were.
    assert (pc.model, pc.location, pc.brand) == ("M920", "Room 301", "Lenovo")
    async with helpdesk.core.reading() as session:
        edits = list(
            await session.scalars(
                select(AuditEvent.data).where(AuditEvent.action == "asset.edited")
            )
        )
    assert edits == [{"tag": "PC-0001", "changes": {"model": ["M720", "M920"]}}]


async def test_an_unclosed_quote_is_reported_on_its_line_and_nothing_is_lost(
    database_url, helpdesk, world, tmp_path
):
    register = tmp_path / "register.csv"
    register.write_text(
        'tag,kind,site,location\nPC-0002,pc,HQ,"Room 301\nPC-0003,pc,HQ,Room 302"\nPC-0004,pc,HQ,Room 303\n',
        encoding="utf-8",
    )
    done = await in_thread("asset", "import", str(register), url=database_url)
    assert done.code == 2, done.output
    assert 'register.csv:2: a quote (") opened on this line is not closed' in done.stderr
    assert await helpdesk.assets.count() == 1


async def test_departments_by_name_can_be_added_and_rows_take_the_site_given(
    database_url, helpdesk, world, tmp_path
):
    register = tmp_path / "register.csv"
    register.write_text(
        "资产编号,设备类型,所属部门\nPJ-01,投影仪,行政部\nPJ-02,投影仪,finance\n", encoding="utf-8"
    )
    refused = await in_thread("asset", "import", str(register), "--site", "HQ", url=database_url)
    assert refused.code == 2
    assert "Site HQ has no department 行政部" in refused.stderr
    dry = await in_thread(
        "asset",
        "import",
        str(register),
        "--site",
        "hq",
        "--add-departments",
        "--dry-run",
        url=database_url,
    )
    assert dry.code == 0 and "The file is fine: 2 devices would be imported" in dry.stdout
    assert await helpdesk.assets.count() == 1
    done = await in_thread(
        "asset", "import", str(register), "--site", "hq", "--add-departments", url=database_url
    )
    assert done.code == 0, done.output
    assert "Department added: HQ: 行政部" in done.stdout
    assert (await helpdesk.assets.view("PJ-01")).department == "行政部"
    assert (await helpdesk.assets.view("PJ-02")).department == "Finance"  # case ignored


async def test_export_writes_the_register_back_and_a_round_trip_loses_nothing(
    database_url, helpdesk, world, tmp_path
):
    register = write_gbk(tmp_path / "register.csv", GBK_REGISTER)
    assert (await in_thread("asset", "import", str(register), url=database_url)).code == 0
    csv_out, xlsx_out = tmp_path / "out.csv", tmp_path / "out.xlsx"
    done = await in_thread(
        "asset", "export", "--out", str(csv_out), "--headers", "zh", url=database_url
    )
    assert done.code == 0 and "4 devices written" in done.stdout, done.output
    data = csv_out.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)  # Excel opens it as UTF-8
    header = data.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("办公点,具体位置,所属部门,使用人,资产编号,设备类型,机器品牌")
    assert (await in_thread("asset", "export", "--out", str(xlsx_out), url=database_url)).code == 0
    sheet = load_workbook(xlsx_out).active
    assert [cell.value for cell in sheet[1]][:6] == [
        "site_code",
        "location",
        "department",
        "user",
        "tag",
        "kind",
    ]
    rows = {row[4]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["ZC-0002"][5] == "laptop" and rows["ZC-0002"][8].date() == date(2027, 1, 1)

    # Back into the same register: every field reads as stored.
    for exported in (csv_out, xlsx_out):
        again = await in_thread("asset", "import", str(exported), url=database_url)
        assert "Nothing changed: all 4 devices are registered as given." in again.stdout, (
            again.output
        )
    # Into a fresh database: the export of the copy is the export of the original, byte for byte.
    for exported in (csv_out, xlsx_out):
        fresh = f"sqlite:///{tmp_path / f'fresh-{exported.suffix[1:]}.sqlite3'}"
        for command in (
            ("db", "upgrade"),
            ("site", "add", "HQ", "Head office", "--region", "city", "--address", "1 Main St"),
            ("department", "add", "HQ", "Finance"),
            ("asset", "import", str(exported)),
            ("asset", "export", "--out", str(tmp_path / "copy.csv"), "--headers", "zh"),
        ):
            step = await in_thread(*command, url=fresh)
            assert step.code == 0, (command, step.output)
        assert (tmp_path / "copy.csv").read_bytes() == data


async def test_a_device_is_listed_shown_edited_retired_and_brought_back(
    database_url, helpdesk, world
):
    listed = await in_thread("asset", "list", url=database_url)
    assert listed.stdout.splitlines() == [
        "PC-0001\tDesktop PC\tHQ\t-\tRoom 301\tLenovo M720\tin service"
    ]
    edited = await in_thread(
        "asset",
        "edit",
        "pc-0001",
        "--location",
        "Room 302",
        "--warranty",
        "2028年6月30日",
        "--kind",
        "笔记本电脑",
        "--department",
        "finance",
        url=database_url,
    )
    assert edited.code == 0, edited.output
    assert "  location: Room 301 → Room 302" in edited.stdout
    assert "  warranty_until: — → 2028-06-30" in edited.stdout
    view = await helpdesk.assets.view("PC-0001")
    assert (view.location, view.kind, view.department) == ("Room 302", AssetKind.LAPTOP, "Finance")
    shown = await in_thread("asset", "show", "PC-0001", url=database_url)
    assert "warranty_until: 2028-06-30" in shown.stdout and "kind: Laptop (laptop)" in shown.stdout
    same = await in_thread("asset", "edit", "PC-0001", "--location", "Room 302", url=database_url)
    assert "already has these values; nothing changed" in same.stdout
    bad = await in_thread("asset", "edit", "PC-0001", "--warranty", "soon", url=database_url)
    assert bad.code == 2 and "soon is not a date" in bad.stderr
    retired = await in_thread("asset", "retire", "PC-0001", url=database_url)
    assert retired.code == 0 and "PC-0001 is retired." in retired.stdout
    assert await helpdesk.assets.by_tag("PC-0001") is None  # its sticker no longer reports
    assert (await in_thread("asset", "list", url=database_url)).stdout == ""
    everything = await in_thread("asset", "list", "--all", url=database_url)
    assert everything.stdout.strip().endswith("retired")
    back = await in_thread("asset", "retire", "PC-0001", "--undo", url=database_url)
    assert back.code == 0 and "PC-0001 is back in service." in back.stdout
    assert await helpdesk.assets.by_tag("PC-0001") is not None


def test_a_long_import_shows_a_progress_bar_on_a_terminal(sqlite_template, tmp_path):
    import shutil

    database = tmp_path / "faultdesk.sqlite3"
    shutil.copy(sqlite_template, database)
    url = f"sqlite:///{database}"
    assert faultdesk("site", "add", "HQ", "Head office", "--region", "city", "-d", url).code == 0
    register = tmp_path / "register.csv"
    register.write_text(
        "tag,kind,site\n" + "".join(f"PC-{n:05d},pc,HQ\n" for n in range(1, 1201)),
        encoding="utf-8",
    )
    # stderr on a pseudo-terminal, as when an admin runs it in a console.
    leader, follower = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "asset", "import", str(register), "-d", url],
        stdout=subprocess.PIPE,
        stderr=follower,
        env={**environment(), "COLUMNS": "100", "TERM": "xterm"},
        cwd=ROOT,
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    stdout, _ = child.communicate(timeout=120)
    os.close(leader)
    assert child.returncode == 0, seen.decode(errors="replace")
    assert b"1200 devices imported" in stdout
    screen = seen.decode("utf-8", errors="replace")
    assert "Writing devices" in screen and "1200/1200" in screen and "100%" in screen


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_register_without_its_key_columns_says_which_headers_it_needs(
    sqlite_template, tmp_path, suffix
):
    import shutil

    from openpyxl import Workbook

    database = tmp_path / "faultdesk.sqlite3"
    shutil.copy(sqlite_template, database)
    register = tmp_path / f"register{suffix}"
    if suffix == ".csv":
        register.write_text("编号,类型\n1,pc\n", encoding="utf-8")
    else:
        book = Workbook()
        book.active.append(["编号", "类型"])
        book.save(register)
    done = faultdesk("asset", "import", str(register), "-d", f"sqlite:///{database}")
    assert done.code == 2
    assert (
        "has no column for tag, kind, and site (header line 1); name them 资产编号 / tag"
        in done.stderr
    )
