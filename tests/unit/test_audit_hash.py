"""Hashing of audit events, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.audit import GENESIS_HASH, canonical_json, event_hash

BASE = {
    "prev_hash": GENESIS_HASH,
    "event_id": 1,
    "at": datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
    "actor_id": 7,
    "entity": "ticket",
    "entity_id": 3,
    "action": "ticket.reported",
    "data": {"severity": 2, "symptom": "黑屏"},
}


def test_the_hash_is_deterministic_and_ignores_key_order():
    shuffled = dict(BASE, data={"symptom": "黑屏", "severity": 2})
    assert event_hash(**BASE) == event_hash(**shuffled)
    assert len(event_hash(**BASE)) == 64


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("prev_hash", "1" * 64),
        ("event_id", 2),
        ("at", datetime(2026, 3, 2, 1, 0, 0, 1, tzinfo=UTC)),
        ("actor_id", None),
        ("entity", "asset"),
        ("entity_id", 4),
        ("action", "ticket.cancelled"),
        ("data", {"severity": 1, "symptom": "黑屏"}),
    ],
)
def test_changing_any_field_changes_the_hash(field, value):
    assert event_hash(**dict(BASE, **{field: value})) != event_hash(**BASE)


def test_canonical_json_keeps_chinese_readable():
    assert canonical_json({"b": 1, "a": "打印机"}) == '{"a":"打印机","b":1}'
