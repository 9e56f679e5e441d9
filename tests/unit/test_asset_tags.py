"""Asset tags travel in sticker links: any tag maps to a Telegram start payload and back."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.asset_tags import (
    PAYLOAD_LIMIT,
    normalize_tag,
    sticker_payload,
    tag_of_payload,
)
from core.errors import InvalidInput

TELEGRAM_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")


@pytest.mark.parametrize(
    "tag",
    [
        "PC 0001",  # a space
        "HQ/3F/PC-12",  # slashes
        "PC.0001.A",  # dots
        "财务部-台式机-01",  # Chinese
        "财务部/PC 03.1",  # all of them
        "IT_PRN#7 (old)",  # signs Telegram would not carry
        "ÄÖÜ-ÉÈ",  # accents
    ],
)
def test_a_tag_with_any_characters_travels_in_a_payload_telegram_accepts(tag):
    payload = sticker_payload(normalize_tag(tag))
    assert TELEGRAM_PAYLOAD.fullmatch(payload), payload
    assert tag_of_payload(payload) == normalize_tag(tag)


def test_plain_tags_keep_the_payload_printed_before_any_tag_could_be_encoded():
    assert sticker_payload("PC-0001") == "asset_PC-0001"
    assert sticker_payload("PC_0001") == "asset_PC_0001"
    assert tag_of_payload("asset_PC-0001") == "PC-0001"
    assert tag_of_payload("asset_pc-0001") == "PC-0001"  # typed by hand, lower case


def test_tags_are_read_as_people_type_them():
    assert normalize_tag("  pc-0001 ") == "PC-0001"
    assert normalize_tag("ＰＣ－０００１") == "PC-0001"  # full-width, from a Chinese keyboard
    assert normalize_tag("PC   0001") == "PC 0001"
    assert normalize_tag("PC\n0001") == "PC 0001"  # a line break in a cell is a space
    assert normalize_tag("财务部\u3000PC 1") == "财务部 PC 1"  # the ideographic space


@pytest.mark.parametrize("text", ["", "   ", "PC\x00001", "PC\x070001", "PC\u200b1"])
def test_empty_tags_and_control_characters_are_refused(text):
    with pytest.raises(InvalidInput) as refused:
        normalize_tag(text)
    assert refused.value.code == "asset.bad_tag"


def test_a_tag_too_long_for_a_sticker_link_is_refused_with_its_own_reason():
    assert len(sticker_payload(normalize_tag("A" * 58))) == PAYLOAD_LIMIT
    with pytest.raises(InvalidInput) as long_plain:
        normalize_tag("A" * 59)
    assert long_plain.value.code == "asset.tag_too_long"
    assert len(sticker_payload(normalize_tag("资" * 14))) <= PAYLOAD_LIMIT
    with pytest.raises(InvalidInput):
        normalize_tag("资" * 15)


@pytest.mark.parametrize(
    "payload",
    [
        "asset-!!",  # outside the alphabet
        "asset-_w",  # base64 that is not UTF-8
        "asset-" + "A" * 80,  # too long
        "asset-UEMtMDAwMQ",  # "PC-0001" encoded: only the plain spelling is a link
        "asset-cGMgMQ",  # "pc 1": not the canonical (upper-case) tag
        "other_PC-1",
        "asset_",
    ],
)
def test_damaged_or_foreign_payloads_name_no_tag(payload):
    assert tag_of_payload(payload) is None


@given(st.text(min_size=1, max_size=40))
def test_every_acceptable_tag_has_exactly_one_payload_and_comes_back(text):
    try:
        tag = normalize_tag(text)
    except InvalidInput:
        return
    payload = sticker_payload(tag)
    assert TELEGRAM_PAYLOAD.fullmatch(payload)
    assert tag_of_payload(payload) == tag
    assert normalize_tag(tag) == tag
