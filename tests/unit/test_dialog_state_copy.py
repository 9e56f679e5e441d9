"""A dialog state's copy shares nothing mutable with the original (what deepcopy gives)."""

from __future__ import annotations

import copy

from hypothesis import given
from hypothesis import strategies as st

from core.conversations import DialogState

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _mutables(value: object) -> list[int]:
    """The ids of every dict and list inside `value`."""
    if isinstance(value, dict):
        return [id(value), *(i for item in value.values() for i in _mutables(item))]
    if isinstance(value, list):
        return [id(value), *(i for item in value for i in _mutables(item))]
    return []


@given(st.dictionaries(st.text(), JSON, max_size=5))
def test_a_copy_equals_a_deep_copy_and_shares_no_dict_or_list(data):
    state = DialogState("report", "photos", data, message_id=7, version=3)
    copied = state.copy()
    assert copied == copy.deepcopy(state)
    assert not set(_mutables(copied.data)) & set(_mutables(state.data))


def test_a_value_that_is_not_json_is_still_copied_deeply():
    state = DialogState("report", "photos", {"seen": {1, 2}, "pair": ([1], "a")})
    copied = state.copy()
    copied.data["seen"].add(3)
    copied.data["pair"][0].append(2)
    assert state.data == {"seen": {1, 2}, "pair": ([1], "a")}
