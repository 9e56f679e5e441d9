"""The asset register as administrators keep it (000 §2.2.1-1 资产巡检维修设备登记表).

A register is a table: a header row naming the columns, then one device per row. The
columns are the seed's (资产编号, 设备类型, 机器品牌 ...) or their English names (tag,
kind, brand ...); device types are written as codes (`pc`), in Chinese (`台式电脑`) or in
English (`Desktop PC`); dates as people type them (2027/01/01, 2027-1-1, 2027年1月1日,
or a date cell of a workbook); the site by its code or name, the department by name.

This module turns such rows into `RegisterEntry` values and names every problem by
row and column (`RowProblem`, a code with parameters the command line words). Whether
the sites, departments and tags exist is checked against the database by
`core.assets.AssetService.import_register`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as default
from datetime import date, datetime
from typing import Any, Final

from core.asset_tags import normalize_tag
from core.enums import AssetKind
from core.errors import InvalidInput

# --- columns ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of the register: the field it fills and the headers that name it."""

    field: str
    english: str  # the header `asset export` writes in English
    chinese: str  # the seed's header, written by `asset export` in Chinese
    aliases: tuple[str, ...] = ()
    required: bool = False


# In the seed's order: location, department, user, then the device (000 §2.2.1-1).
COLUMNS: Final[tuple[Column, ...]] = (
    Column("site", "site_code", "办公点", ("site", "site code", "营业所", "站点", "地点代码")),
    Column("location", "location", "具体位置", ("位置", "物理位置", "安装位置", "room", "place")),
    Column("department", "department", "所属部门", ("部门", "部门信息", "使用部门", "dept")),
    Column("user_name", "user", "使用人", ("用户", "个人姓名", "用户姓名", "user name")),
    Column("tag", "tag", "资产编号", ("asset tag", "asset number", "asset no", "资产号"), True),
    Column("kind", "kind", "设备类型", ("type", "device type", "设备种类"), True),
    Column("brand", "brand", "机器品牌", ("品牌", "make", "manufacturer")),
    Column("model", "model", "机器型号", ("型号",)),
    Column(
        "warranty_until",
        "warranty_until",
        "保修状况",
        ("warranty", "保修", "保修期", "保修截止日期", "保修到期", "保修至"),
    ),
    Column(
        "manufactured_on",
        "manufactured_on",
        "机器出厂日期",
        ("manufactured", "manufacture date", "出厂日期", "生产日期"),
    ),
    Column("serial", "serial", "机器序列号", ("serial number", "sn", "序列号")),
    Column("monitor_serial", "monitor_serial", "显示器序列号", ("monitor serial number",)),
    Column("health", "health", "健康状态", ("health status", "状态")),
    Column(
        "hardware_config",
        "hardware_config",
        "硬件配置",
        ("hardware", "configuration", "硬件信息", "配置信息", "硬件信息配置信息"),
    ),
    Column("ip_address", "ip_address", "IP地址", ("ip", "ip 地址")),
    Column("subnet_mask", "subnet_mask", "子网掩码", ("mask", "netmask", "subnet")),
    Column("os", "os", "操作系统", ("operating system",)),
    Column("antivirus", "antivirus", "防病毒软件", ("anti-virus", "杀毒软件", "防病毒")),
    Column(
        "office_software",
        "office_software",
        "办公软件",
        ("office", "标准办公软件", "应用软件", "应用软件信息"),
    ),
)
COLUMN_BY_FIELD: Final = {column.field: column for column in COLUMNS}
TEXT_FIELDS: Final = tuple(
    c.field for c in COLUMNS if c.field not in ("tag", "kind", "warranty_until", "manufactured_on")
)
DATE_FIELDS: Final = ("warranty_until", "manufactured_on")


def _header_key(text: str) -> str:
    """A header compared loosely: width, case, spaces, '_' and '-' do not matter."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\s_\-()（）:：]+", "", folded)


_HEADER_FIELDS: Final[dict[str, str]] = {
    _header_key(name): column.field
    for column in COLUMNS
    for name in (column.field, column.english, column.chinese, *column.aliases)
}


@dataclass(frozen=True)
class Header:
    """Which field each column of a file fills, and what did not match."""

    fields: tuple[str | None, ...]  # per column; None: not imported
    ignored: tuple[str, ...]  # headers of columns that are not imported
    missing: tuple[str, ...]  # required fields no column names
    repeated: tuple[str, ...]  # fields named by more than one column


def match_header(cells: Sequence[str], *, site_given: bool = False) -> Header:
    """Map a header row to fields; the site column may be left out when a site is given."""
    fields: list[str | None] = []
    ignored: list[str] = []
    seen: dict[str, int] = {}
    repeated: list[str] = []
    for cell in cells:
        name = _header_key(cell)
        found = _HEADER_FIELDS.get(name) if name else None
        if found is not None and found in seen:
            repeated.append(found)
            found = None
        elif found is None and name:
            ignored.append(cell.strip())
        elif found is not None:
            seen[found] = len(fields)
        fields.append(found)
    required = [c.field for c in COLUMNS if c.required]
    if not site_given:
        required.append("site")
    missing = tuple(f for f in required if f not in seen)
    return Header(tuple(fields), tuple(ignored), missing, tuple(dict.fromkeys(repeated)))


# --- device types ------------------------------------------------------------------------------

# The names people write in a register, besides the codes themselves (and the bot's own
# labels in Chinese and English, which are among them).
KIND_NAMES: Final[dict[AssetKind, tuple[str, ...]]] = {
    AssetKind.PC: (
        "台式电脑",
        "台式机",
        "台式计算机",
        "电脑",
        "计算机",
        "主机",
        "desktop",
        "desktop pc",
        "computer",
        "pc",
    ),
    AssetKind.LAPTOP: ("笔记本电脑", "笔记本", "手提电脑", "laptop", "notebook"),
    AssetKind.PRINTER: ("打印机", "多功能一体机", "一体机", "复印机", "printer", "mfp"),
    AssetKind.SCANNER: ("扫描仪", "扫描机", "scanner"),
    AssetKind.PROJECTOR: ("投影仪", "投影机", "projector", "beamer"),
    AssetKind.TV: (
        "电视/显示屏",
        "电视",
        "电视机",
        "显示屏",
        "大屏",
        "tv",
        "tv / display",
        "display",
    ),
    AssetKind.MICROPHONE: ("麦克风", "话筒", "microphone", "mic"),
    AssetKind.CONFERENCE_TERMINAL: (
        "会议终端",
        "视频会议终端",
        "视频终端",
        "conference terminal",
        "video conference terminal",
    ),
    AssetKind.AMPLIFIER: ("功放", "功放机", "功率放大器", "扩音器", "amplifier", "amp"),
    AssetKind.CENTRAL_CONTROL: ("中控", "中控系统", "中控主机", "central control"),
    AssetKind.OTHER: ("其他设备", "其他", "其它", "other", "other equipment"),
}
CHINESE_KIND_NAME: Final = {kind: names[0] for kind, names in KIND_NAMES.items()}


def _kind_key(text: str) -> str:
    return re.sub(r"[\s_\-/]+", "", unicodedata.normalize("NFKC", text).casefold())


_KINDS: Final[dict[str, AssetKind]] = {
    _kind_key(name): kind for kind, names in KIND_NAMES.items() for name in (kind.value, *names)
}


def parse_kind(text: str) -> AssetKind:
    """A device type from its code, Chinese or English name; InvalidInput lists the choices."""
    kind = _KINDS.get(_kind_key(text))
    if kind is None:
        raise InvalidInput("asset.unknown_kind", text=text.strip()[:40], choices=list(AssetKind))
    return kind


# --- dates ------------------------------------------------------------------------------------

_DATE_PATTERNS: Final = (
    re.compile(r"^(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})(?:[ T]00:00(?::00)?)?$"),
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
# Cells that say "nothing here" in a register.
_EMPTY: Final = frozenset({"", "-", "—", "--", "/", "无", "n/a", "na", "none"})


def is_blank(value: object) -> bool:
    """A cell with nothing in it (or a dash, 无, N/A)."""
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    text = value.strip()
    # Only short texts can be one of the blank words; most cells skip the normalizing.
    return not text or (len(text) <= 4 and unicodedata.normalize("NFKC", text).casefold() in _EMPTY)


def parse_date(value: object) -> date | None:
    """A date as people write it, or as a workbook stores it; None for a blank cell."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = unicodedata.normalize("NFKC", str(value)).strip()
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            try:
                return date(year, month, day)
            except ValueError:
                break
    raise InvalidInput("asset.bad_date", text=text[:40])


def cell_text(value: object) -> str:
    """A cell's value as register text: trimmed; whole numbers without '.0'; dates in ISO."""
    if isinstance(value, str):
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


# --- rows --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    """Why one cell (or row) of a register cannot be imported; `field` None: the whole row."""

    line: int
    field: str | None
    code: str
    params: Mapping[str, Any] = default(default_factory=dict)


@dataclass(frozen=True)
class RegisterEntry:
    """One device as a register row gives it; the site and department still by name.

    `values` holds only the fields the file has a column for, so importing a file without,
    say, a serial column leaves the serials already registered alone.
    """

    line: int
    tag: str
    kind: AssetKind
    site: str  # code or name
    values: Mapping[str, Any]  # text, or a date (None when blank)
    department: str | None = None  # None: the file has no department column


class RegisterRejected(InvalidInput):
    """The register has bad rows; nothing was imported. `problems` names each."""

    code = "asset.register_rejected"

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        super().__init__(count=len(problems))
        self.problems = tuple(problems)


def parse_row(
    line: int,
    header: Header,
    cells: Sequence[object],
    *,
    site: str | None = None,
    max_lengths: Mapping[str, int],
) -> tuple[RegisterEntry | None, list[RowProblem]]:
    """One data row as an entry, or the problems of each of its cells."""
    raw: dict[str, object] = {}
    for index, name in enumerate(header.fields):
        if name is not None:
            raw[name] = cells[index] if index < len(cells) else None
    problems: list[RowProblem] = []
    values: dict[str, Any] = {}
    tag = ""
    kind: AssetKind | None = None
    try:
        tag = normalize_tag(cell_text(raw.get("tag")))
    except InvalidInput as error:
        problems.append(RowProblem(line, "tag", error.code, error.params))
    try:
        kind = parse_kind(cell_text(raw.get("kind")))
    except InvalidInput as error:
        problems.append(RowProblem(line, "kind", error.code, error.params))
    for name in DATE_FIELDS:
        if name in raw:
            try:
                values[name] = parse_date(raw[name])
            except InvalidInput as error:
                problems.append(RowProblem(line, name, error.code, error.params))
    for name in TEXT_FIELDS:
        if name not in raw:
            continue
        value = raw[name]
        text = "" if is_blank(value) else cell_text(value)
        limit = max_lengths.get(name)
        if limit is not None and len(text) > limit:
            problems.append(RowProblem(line, name, "text.too_long", {"limit": limit}))
        values[name] = text
    site_text = values.pop("site", "") or (site or "")
    if not site_text:
        problems.append(RowProblem(line, "site", "asset.site_required"))
    department = values.pop("department", None)
    if problems or kind is None:
        return None, problems
    return RegisterEntry(line, tag, kind, site_text, values, department), []


def is_empty_row(cells: Sequence[object]) -> bool:
    """A row with nothing in any cell (spreadsheets keep such rows at the end)."""
    return all(value is None or cell_text(value) == "" for value in cells)
