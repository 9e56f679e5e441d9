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


class FakeMonotonic:
    """Real seconds a test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_accelerated_clock_runs_faster_and_converts_waits_back_to_real_seconds():
    real = FakeMonotonic()
    clock = AcceleratedClock(START, factor=3600, monotonic=real)  # an hour a second
    assert clock.now() == START
    real.now += 0.05
    assert clock.now() - START == timedelta(minutes=3)
    assert clock.real_seconds_until(clock.now() + timedelta(hours=1)) == pytest.approx(1.0)
    assert clock.real_seconds_until(START) == 0.0  # the past is due now
    clock.jump(timedelta(hours=5))
    assert clock.now() - START == timedelta(hours=5, minutes=3)


def test_an_accelerated_clock_runs_on_the_wall_clock_by_default():
    before = time.monotonic()
    clock = AcceleratedClock(START, factor=3600)
    elapsed = clock.now() - START
    assert timedelta(0) <= elapsed <= timedelta(hours=(time.monotonic() - before))
