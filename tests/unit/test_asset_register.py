"""The register's rows as admins write them: seed headers, device types and dates in their words."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.i18n import I18n
from bot.labels import ASSET_KIND
from core.asset_register import (
    COLUMNS,
    match_header,
    parse_date,
    parse_kind,
    parse_row,
)
from core.assets import field_limits
from core.enums import AssetKind
from core.errors import InvalidInput

# The seed's register (000 §2.2.1-1), as its columns are named there.
SEED_HEADER = [
    "营业所",
    "所属部门",
    "个人姓名",
    "资产编号",
    "设备类型",
    "机器品牌",
    "机器型号",
    "保修状况",
    "机器出厂日期",
    "机器序列号",
    "显示器序列号",
    "健康状态",
    "硬件信息",
    "IP地址",
    "子网掩码",
    "操作系统",
    "防病毒软件",
    "标准办公软件",
]


def test_the_seed_registers_chinese_headers_name_every_field():
    header = match_header(SEED_HEADER)
    assert header.missing == () and header.ignored == () and header.repeated == ()
    assert set(header.fields) == {c.field for c in COLUMNS if c.field != "location"}


def test_english_headers_and_loose_spellings_are_accepted():
    header = match_header(["Tag", "Device Type", "site_code", "IP Address", "Serial Number"])
    assert header.fields == ("tag", "kind", "site", "ip_address", "serial")
    wide = match_header(["ＴＡＧ", "kind", "site"])  # full-width letters
    assert wide.fields[0] == "tag"


def test_unknown_missing_and_repeated_columns_are_named():
    header = match_header(["序号", "资产编号", "备注", "tag"])
    assert header.ignored == ("序号", "备注")
    assert header.repeated == ("tag",)
    assert header.missing == ("kind", "site")
    assert match_header(["资产编号", "设备类型"], site_given=True).missing == ()


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("台式电脑", AssetKind.PC),
        ("台式机", AssetKind.PC),
        ("Desktop PC", AssetKind.PC),
        ("pc", AssetKind.PC),
        ("笔记本电脑", AssetKind.LAPTOP),
        ("打印机", AssetKind.PRINTER),
        ("投影仪", AssetKind.PROJECTOR),
        ("conference_terminal", AssetKind.CONFERENCE_TERMINAL),
        ("Conference terminal", AssetKind.CONFERENCE_TERMINAL),
        ("中控", AssetKind.CENTRAL_CONTROL),
        (" 功放 ", AssetKind.AMPLIFIER),
    ],
)
def test_device_types_are_read_from_codes_chinese_and_english_names(text, kind):
    assert parse_kind(text) is kind


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_bots_own_device_type_labels_are_accepted(lang):
    t = I18n().get(lang)
    for kind, msgid in ASSET_KIND.items():
        assert parse_kind(t(msgid)) is kind, t(msgid)


def test_an_unknown_device_type_lists_the_valid_ones():
    with pytest.raises(InvalidInput) as refused:
        parse_kind("咖啡机")
    assert refused.value.code == "asset.unknown_kind"
    assert refused.value.params["choices"] == list(AssetKind)


@pytest.mark.parametrize(
    "value",
    [
        "2027/01/01",
        "2027-1-1",
        "2027年1月1日",
        "2027.01.01",
        "20270101",
        "２０２７/１/１",
        "2027-01-01 00:00:00",
        datetime(2027, 1, 1, 0, 0),
        date(2027, 1, 1),
    ],
)
def test_dates_are_read_as_people_type_them(value):
    assert parse_date(value) == date(2027, 1, 1)


@pytest.mark.parametrize("value", [None, "", "  ", "-", "无", "N/A"])
def test_a_blank_date_is_none(value):
    assert parse_date(value) is None


@pytest.mark.parametrize("value", ["2027-13-01", "2027/02/30", "在保", "soon"])
def test_a_date_that_is_no_date_is_refused(value):
    with pytest.raises(InvalidInput) as refused:
        parse_date(value)
    assert refused.value.code == "asset.bad_date"


def test_a_row_names_each_bad_cell_by_line_and_field():
    header = match_header(["资产编号", "设备类型", "营业所", "保修状况", "机器型号"])
    limits = field_limits()
    entry, problems = parse_row(
        7, header, ["PC-1", "台式电脑", "HQ", "2027/1/1", "M720"], max_lengths=limits
    )
    assert problems == [] and entry is not None
    assert (entry.line, entry.tag, entry.kind, entry.site) == (7, "PC-1", AssetKind.PC, "HQ")
    assert entry.values == {"warranty_until": date(2027, 1, 1), "model": "M720"}
    assert entry.department is None  # no department column: departments stay as they are
    entry, problems = parse_row(
        8, header, ["", "咖啡机", "", "明年", "x" * 101], max_lengths=limits
    )
    assert entry is None
    assert [(p.line, p.field, p.code) for p in problems] == [
        (8, "tag", "asset.bad_tag"),
        (8, "kind", "asset.unknown_kind"),
        (8, "warranty_until", "asset.bad_date"),
        (8, "model", "text.too_long"),
        (8, "site", "asset.site_required"),
    ]


def test_a_site_given_on_the_command_line_fills_rows_without_one():
    header = match_header(["tag", "kind"], site_given=True)
    entry, problems = parse_row(2, header, ["PC-1", "pc"], site="HQ", max_lengths={})
    assert problems == [] and entry is not None and entry.site == "HQ"
