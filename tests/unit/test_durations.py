"""Compact duration strings: parsing, canonical formatting, round trips."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.sla.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("7d", timedelta(days=7)),
        ("15m", timedelta(minutes=15)),
        ("45s", timedelta(seconds=45)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        (" 1h 30m ", timedelta(hours=1, minutes=30)),
        ("1 h 30 m", timedelta(hours=1, minutes=30)),
        ("2H", timedelta(hours=2)),
        ("0h15m", timedelta(minutes=15)),
    ],
)
def test_parse_accepts_unit_combinations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "   ", "0", "0m", "0h0m", "2x", "h", "1.5h", "-1h", "30m1h", "1h1h", "90", "1w"]
)
def test_parse_rejects_malformed_or_zero_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_parse_error_message_shows_the_input_and_examples() -> None:
    with pytest.raises(ValueError, match=r"^'2x' is not a duration \(use e\.g\. 90m, 2h, 7d\)$"):
        parse_duration("2x")


def test_parse_rejects_non_strings() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(90)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(minutes=90), "1h30m"),
        (timedelta(hours=2), "2h"),
        (timedelta(days=7), "7d"),
        (timedelta(seconds=45), "45s"),
        (timedelta(days=1, seconds=1), "1d1s"),
        (timedelta(0), "0s"),
        (timedelta(minutes=15, microseconds=999_999), "15m"),
    ],
)
def test_format_is_canonical(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


def test_format_rejects_negative_durations() -> None:
    with pytest.raises(ValueError, match="negative"):
        format_duration(timedelta(minutes=-1))


@settings(max_examples=200, deadline=None, database=None)
@given(st.integers(min_value=1, max_value=400 * 86_400))
def test_format_then_parse_round_trips_whole_seconds(seconds: int) -> None:
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value
