"""Clocks that tests and the demo inject."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from core.clock import AcceleratedClock, FrozenClock, ensure_utc

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def test_a_frozen_clock_moves_only_when_told():
    clock = FrozenClock(START)
    assert clock.now() == START
    assert clock.advance(timedelta(hours=2)) == START + timedelta(hours=2)
    assert clock.real_seconds_until(START) == 0.0
    assert clock.real_seconds_until(START + timedelta(days=1)) == float("inf")


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        ensure_utc(datetime(2026, 3, 2))


def test_an_accelerated_clock_runs_faster_and_converts_waits_back_to_real_seconds():
    clock = AcceleratedClock(START, factor=3600)  # an hour a second
    time.sleep(0.05)
    elapsed = clock.now() - START
    assert timedelta(minutes=2) < elapsed < timedelta(minutes=30)
    assert 0.9 < clock.real_seconds_until(clock.now() + timedelta(hours=1)) <= 1.0
    clock.jump(timedelta(hours=5))
    assert clock.now() - START > timedelta(hours=5)
