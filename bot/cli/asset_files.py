"""Register files as admins keep them: CSV in any encoding Excel writes, or XLSX workbooks.

Reading:
- a workbook (`.xlsx`, `.xls` or `.ods`, recognised by its content) is read with
  python-calamine (Rust; twenty times faster than openpyxl on a 10 000-row register): the
  first sheet, date cells as dates;
- any other file is text: UTF-8 (with or without the BOM Excel writes), UTF-16 with a BOM
  (Excel's "Unicode text"), or, when it is not UTF-8, whatever charset-normalizer finds
  among the encodings Excel writes on Chinese, Russian and Western Windows (GB18030,
  which reads every GBK file, Big5, CP1251, CP1252). The separator (comma, semicolon or
  tab) is taken from the header line. Quotes are read strictly: a quote that is never
  closed, or one that swallows the rows after it, is a problem on its line, not a row
  silently lost.
- The header is the first of the first ten rows that names the tag and type columns,
  so a title row above it (资产巡检维修设备登记表) does no harm.

Writing (`asset export`): the same columns back, as CSV in UTF-8 with a BOM (Excel opens it
right) or as XLSX (openpyxl), so an exported file imports to the same register.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Final

from charset_normalizer import from_bytes
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from python_calamine import CalamineError, CalamineWorkbook

from bot.cli.speech import fail
from bot.i18n import N_
from core.asset_register import (
    CHINESE_KIND_NAME,
    COLUMNS,
    Header,
    RowProblem,
    cell_text,
    is_empty_row,
    match_header,
)
from core.assets import AssetView

ZIP_MAGIC: Final = b"PK\x03\x04"  # .xlsx and .ods
OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old .xls format
# Encodings Excel saves CSV in on the Windows an office here runs (GB18030 reads all GBK).
LEGACY_ENCODINGS: Final = ["gb18030", "big5", "cp1251", "cp1252"]
HEADER_SEARCH: Final = 10  # rows looked at for the header
SEPARATORS: Final = ",;\t"


@dataclass
class Sheet:
    """A register file's rows: the header and its line, then (line, cells) per data row."""

    header: list[str]
    header_line: int
    rows: list[tuple[int, list[object]]]
    problems: list[RowProblem] = field(default_factory=list)
    encoding: str | None = None  # text files: what the bytes were read as
    workbook: bool = False

    def column(self, fields: Header, name: str | None, line: int) -> str:
        """How a person finds a field's cell: its header (and, in a workbook, its cell)."""
        if name is None or name not in fields.fields:
            return ""
        index = fields.fields.index(name)
        title = self.header[index] if index < len(self.header) else name
        if self.workbook:
            return f"{title} ({get_column_letter(index + 1)}{line})"
        return title


def decode_text(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was in."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "UTF-8 (BOM)"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "UTF-16"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    guess = from_bytes(data, cp_isolation=LEGACY_ENCODINGS).best()
    if guess is None or b"\x00" in data:
        raise UnicodeError("no encoding fits")
    return str(guess), guess.encoding.upper().replace("_", "-")


def _find_header(rows: Sequence[tuple[int, list[object]]], site_given: bool) -> int:
    """The index of the header among the first rows (the first non-empty one by default)."""
    first = None
    for index, (_, cells) in enumerate(rows[:HEADER_SEARCH]):
        if is_empty_row(cells):
            continue
        if first is None:
            first = index
        header = match_header([cell_text(c) for c in cells], site_given=site_given)
        if "tag" in header.fields and "kind" in header.fields:
            return index
    return first if first is not None else 0


def _split(rows: list[tuple[int, list[object]]], site_given: bool) -> tuple[int, int]:
    index = _find_header(rows, site_given)
    return index, rows[index][0] if rows else 1


def read_register(path: Path, *, site_given: bool = False) -> Sheet:
    """Read a register file; a file that is neither a workbook nor readable text stops here."""
    data = path.read_bytes()
    if data.startswith((ZIP_MAGIC, OLE_MAGIC)):
        return _read_workbook(path, data, site_given)
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods"):
        fail(
            N_("{file} is not a workbook that can be read: its content is not one."), file=path.name
        )
    try:
        text, encoding = decode_text(data)
    except UnicodeError:
        fail(
            N_(
                "{file} is not a text file in UTF-8 or GBK, nor an Excel workbook; save the register from Excel as CSV UTF-8 or .xlsx."
            ),
            file=path.name,
        )
    sheet = _read_csv(text, site_given)
    sheet.encoding = encoding
    return sheet


def _read_workbook(path: Path, data: bytes, site_given: bool) -> Sheet:
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        # From A1 (no skipping of empty rows and columns), so lines and cells are as shown.
        rows: list[tuple[int, list[object]]] = [
            (line, list[object](values))
            for line, values in enumerate(
                book.get_sheet_by_index(0).to_python(skip_empty_area=False), start=1
            )
        ]
    except (CalamineError, IndexError, ValueError) as error:
        fail(
            N_("{file} is not a workbook that can be read ({problem})."),
            file=path.name,
            problem=str(error),
        )
    if not rows:
        return Sheet([], 1, [], workbook=True)
    index, line = _split(rows, site_given)
    header = [cell_text(cell) for cell in rows[index][1]]
    return Sheet(header, line, rows[index + 1 :], workbook=True)


def _separator(text: str) -> str:
    """The separator the header line uses most (comma when none)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {sep: first.count(sep) for sep in SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _read_csv(text: str, site_given: bool) -> Sheet:
    separator = _separator(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    rows: list[tuple[int, list[object]]] = []
    spans: dict[int, int] = {}  # first line -> last line of rows written over several lines
    problems: list[RowProblem] = []
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            problems.append(RowProblem(start, None, "register.bad_quotes"))
            break  # the reader cannot find its way back into the rows
        if reader.line_num > start:
            spans[start] = reader.line_num
        rows.append((start, list(cells)))
    if not rows:
        return Sheet([], 1, [], problems)
    index, line = _split(rows, site_given)
    header = [cell_text(cell) for cell in rows[index][1]]
    body = rows[index + 1 :]
    width = len(header)
    for start, row in body:
        if is_empty_row(row):
            continue
        extra = [c for c in row[width:] if cell_text(c)]
        if extra:
            problems.append(
                RowProblem(start, None, "register.extra_cells", {"count": len(row), "width": width})
            )
        elif start in spans and (len(row) < width or _holds_a_row(row, separator, width)):
            problems.append(RowProblem(start, None, "register.open_quote", {"end": spans[start]}))
    return Sheet(header, line, body, problems)


def _holds_a_row(cells: Sequence[object], separator: str, width: int) -> bool:
    """A cell over several lines whose later lines look like rows of their own."""
    least = max(3, (width + 1) // 2)
    for cell in cells:
        lines = str(cell).splitlines()[1:]
        if any(len(line.split(separator)) >= least for line in lines):
            return True
    return False


# --- writing --------------------------------------------------------------------------------


def register_rows(
    views: Sequence[AssetView], *, chinese: bool
) -> tuple[list[str], list[list[object]]]:
    """The header and rows `asset export` writes: every column, in the seed's order."""
    header = [column.chinese if chinese else column.english for column in COLUMNS]
    rows: list[list[object]] = []
    for view in views:
        row: list[object] = []
        for column in COLUMNS:
            value = view.value(column.field)
            if column.field == "kind":
                value = CHINESE_KIND_NAME[view.kind] if chinese else view.kind.value
            row.append(value)
        rows.append(row)
    return header, rows


def write_register(path: Path, views: Sequence[AssetView], *, chinese: bool) -> None:
    """Write the register as XLSX (by the file's suffix) or CSV in UTF-8 with a BOM."""
    header, rows = register_rows(views, chinese=chinese)
    if path.suffix.lower() == ".xlsx":
        book = Workbook(write_only=True)
        sheet = book.create_sheet("资产登记表" if chinese else "Assets")
        sheet.append(header)
        for row in rows:
            sheet.append([_xlsx_value(value) for value in row])
        book.save(path)
        return
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
    path.write_bytes(codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8"))


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _xlsx_value(value: object) -> object:
    # Text that looks like a number (a serial "00123") stays text: the cell keeps it as is.
    return "" if value is None else value
