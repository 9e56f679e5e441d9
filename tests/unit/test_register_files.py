"""Register files as Excel and people leave them: any encoding, workbooks, broken quotes."""

from __future__ import annotations

import codecs
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from bot.cli.asset_files import read_register
from bot.cli.speech import CommandError

ROWS = [
    ["资产编号", "设备类型", "营业所", "所属部门", "具体位置"],
    ["PC-0001", "台式电脑", "HQ", "财务部", "301室"],
    ["PC-0002", "笔记本电脑", "HQ", "行政部", "会议室 “A”"],
]


def csv_text(rows, separator=","):
    return "\r\n".join(separator.join(row) for row in rows) + "\r\n"


@pytest.mark.parametrize(
    ("encoded", "encoding"),
    [
        (csv_text(ROWS).encode("utf-8"), "UTF-8"),
        (codecs.BOM_UTF8 + csv_text(ROWS).encode("utf-8"), "UTF-8 (BOM)"),
        (csv_text(ROWS).encode("gbk"), "GB18030"),  # Excel on Chinese Windows
        (csv_text(ROWS).encode("gb18030"), "GB18030"),
        (csv_text(ROWS, "\t").encode("utf-16"), "UTF-16"),  # Excel's "Unicode text"
    ],
)
def test_every_encoding_excel_writes_reads_to_the_same_rows(tmp_path, encoded, encoding):
    path = tmp_path / "register.csv"
    path.write_bytes(encoded)
    sheet = read_register(path)
    assert sheet.encoding == encoding
    assert sheet.header == ROWS[0]
    assert [cells for _, cells in sheet.rows] == ROWS[1:]
    assert [line for line, _ in sheet.rows] == [2, 3]
    assert sheet.problems == []


def test_a_semicolon_separated_file_and_a_title_row_above_the_header(tmp_path):
    path = tmp_path / "register.csv"
    path.write_text("资产巡检维修设备登记表;;;;\n" + csv_text(ROWS, ";"), encoding="utf-8")
    sheet = read_register(path)
    assert sheet.header_line == 2 and sheet.header == ROWS[0]
    assert [line for line, _ in sheet.rows] == [3, 4]


def test_a_workbook_keeps_its_date_cells_its_lines_and_its_cell_names(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["资产巡检维修设备登记表"])
    sheet.append([None, "资产编号", "设备类型", "保修状况", "机器序列号"])
    sheet.append([None, "PC-0001", "台式电脑", datetime(2027, 1, 1), 12345678901])
    sheet.append([None, "PC-0002", "打印机", date(2028, 6, 30), "00123"])
    path = tmp_path / "register.xlsx"
    book.save(path)
    read = read_register(path, site_given=True)
    assert read.workbook and read.header_line == 2
    assert read.rows[0][0] == 3
    assert read.rows[0][1][3] == date(2027, 1, 1)
    assert read.rows[1][1][4] == "00123"  # a text cell stays text
    from core.asset_register import match_header

    header = match_header(read.header, site_given=True)
    assert read.column(header, "kind", 3) == "设备类型 (C3)"


def test_an_unterminated_quote_that_runs_to_the_end_is_a_problem_on_its_line(tmp_path):
    path = tmp_path / "register.csv"
    path.write_text(
        'tag,kind,site,location\nPC-0002,pc,HQ,"Room 301\nPC-0001,pc,HQ,Room 302\nPC-0003,pc,HQ,Room 303\n',
        encoding="utf-8",
    )
    sheet = read_register(path)
    assert [(p.line, p.code) for p in sheet.problems] == [(2, "register.bad_quotes")]


def test_an_unterminated_quote_that_swallows_the_next_row_is_a_problem(tmp_path):
    path = tmp_path / "register.csv"
    path.write_text(
        'tag,kind,site,location\nPC-0002,pc,HQ,"Room 301\nPC-0001,pc,HQ,Room 302"\nPC-0003,pc,HQ,Room 303\n',
        encoding="utf-8",
    )
    sheet = read_register(path)
    assert [(p.line, p.code, p.params) for p in sheet.problems] == [
        (2, "register.open_quote", {"end": 3})
    ]


def test_a_cell_written_over_two_lines_on_purpose_is_kept(tmp_path):
    path = tmp_path / "register.csv"
    path.write_text(
        'tag,kind,site,hardware_config\nPC-0002,pc,HQ,"i5-8500, 8 GB\nSSD 256 GB"\nPC-0003,pc,HQ,\n',
        encoding="utf-8",
    )
    sheet = read_register(path)
    assert sheet.problems == []
    assert sheet.rows[0][1][3] == "i5-8500, 8 GB\nSSD 256 GB"
    assert [line for line, _ in sheet.rows] == [2, 4]


def test_a_row_with_more_cells_than_the_header_is_a_problem(tmp_path):
    path = tmp_path / "register.csv"
    path.write_text("tag,kind,site\nPC-1,pc,HQ,extra\nPC-2,pc,HQ,,\n", encoding="utf-8")
    sheet = read_register(path)
    # An empty trailing cell (Excel writes them) is no problem; a filled one is.
    assert [(p.line, p.code) for p in sheet.problems] == [(2, "register.extra_cells")]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("register.csv", bytes(range(256)) * 4),  # no text at all
        ("register.xlsx", b"PK\x03\x04 not really a workbook"),
        ("register.xlsx", "资产编号,设备类型\n".encode()),  # a CSV named .xlsx
    ],
)
def test_files_that_are_neither_text_nor_workbooks_are_refused_in_a_sentence(
    tmp_path, name, content
):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CommandError):
        read_register(path)
