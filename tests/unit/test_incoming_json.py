"""An update journaled as JSON comes back as the same update."""

from __future__ import annotations

import json
from dataclasses import asdict

from hypothesis import given
from hypothesis import strategies as st

from bot.chat import ChatUser, Incoming, Kind

TEXT = st.text(max_size=20)
USERS = st.builds(
    ChatUser,
    id=st.integers(1, 2**40),
    first_name=TEXT,
    last_name=TEXT,
    username=st.none() | TEXT,
    language_code=st.none() | st.sampled_from(["en", "zh-hans"]),
)
INCOMING = st.builds(
    Incoming,
    update_id=st.integers(1, 2**31),
    user=USERS,
    chat_id=st.integers(-(2**40), 2**40),
    kind=st.sampled_from(list(Kind)),
    text=TEXT,
    callback_data=st.none() | TEXT,
    message_id=st.none() | st.integers(1, 2**31),
    photo_file_id=st.none() | TEXT,
    latitude=st.none() | st.floats(-90, 90),
    media_group_id=st.none() | TEXT,
    forwarded=st.booleans(),
)


@given(INCOMING)
def test_the_journaled_form_is_asdict_with_the_kind_as_text_and_reads_back(incoming):
    data = incoming.to_json()
    assert data == {**asdict(incoming), "kind": incoming.kind.value}
    assert Incoming.from_json(json.loads(json.dumps(data))) == incoming


def test_keys_a_later_version_added_are_ignored():
    incoming = Incoming(7, ChatUser(5, "Li"), 5, Kind.TEXT, text="hi")
    data = incoming.to_json()
    data["mood"] = "fine"
    data["user"]["is_premium"] = True
    assert Incoming.from_json(data) == incoming
