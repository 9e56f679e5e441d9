"""Properties of business-time arithmetic over the standard calendars, incl. a DST zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.sla.calendar import (
    BusinessCalendar,
    CountryHolidays,
    HolidaySource,
    NoHolidays,
    standard_hours,
)

CHINA = CountryHolidays("CN")
FIRST_DAY, LAST_DAY = date(2024, 1, 1), date(2027, 12, 31)


def _calendar(name: str, tz: str) -> BusinessCalendar:
    """A standard calendar; 5x8 observes China's holidays, the others none."""
    hours = standard_hours(name)
    source: HolidaySource = CHINA if hours.observe_holidays else NoHolidays()
    return BusinessCalendar(hours, tz, source)


# Built once per module so the per-date caches are shared by all examples.
CALENDARS = {
    f"{name}@{tz}": _calendar(name, tz)
    for name in ("5x8", "7x24", "7x8")
    for tz in ("Asia/Shanghai", "Europe/Berlin")
}
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, database=None)
calendars = pytest.mark.parametrize("calendar", list(CALENDARS.values()), ids=list(CALENDARS))

# Random instants, plus instants exactly on a segment boundary, where off-by-one errors live.
random_moments = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2027, 12, 31, 23, 59, 59),
    timezones=st.just(UTC),
)


@st.composite
def moments(draw: st.DrawFn, calendar: BusinessCalendar) -> datetime:
    """A start anywhere in 2024-2027, often exactly at a segment start or end."""
    if draw(st.booleans()):
        return draw(random_moments)
    day = draw(st.dates(min_value=FIRST_DAY, max_value=LAST_DAY))
    segments = calendar.segments_on(day)
    if not segments:
        return draw(random_moments)
    return draw(st.sampled_from(draw(st.sampled_from(segments))))


# Arbitrary durations, and whole quarter-hours, which hit segment ends exactly.
durations = st.one_of(
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
    st.integers(min_value=0, max_value=30 * 24 * 4).map(lambda n: timedelta(minutes=15 * n)),
)


def is_segment_end(calendar: BusinessCalendar, moment: datetime) -> bool:
    """True if `moment` is the end of a working segment (of its local day or the one before)."""
    day = moment.astimezone(calendar.tz).date()
    return any(
        end == moment
        for candidate in (day - timedelta(days=1), day)
        for _, end in calendar.segments_on(candidate)
    )


@calendars
@PROPERTY_SETTINGS
@given(data=st.data(), duration=durations)
def test_between_undoes_add(
    calendar: BusinessCalendar, data: st.DataObject, duration: timedelta
) -> None:
    start = data.draw(moments(calendar))
    assert calendar.between(start, calendar.add(start, duration)) == duration


@calendars
@PROPERTY_SETTINGS
@given(data=st.data(), duration=durations)
def test_add_lands_in_working_time_or_exactly_at_a_segment_end(
    calendar: BusinessCalendar, data: st.DataObject, duration: timedelta
) -> None:
    start = data.draw(moments(calendar))
    due = calendar.add(start, duration)
    assert due.tzinfo is UTC
    if duration == timedelta(0):
        assert due == start
    else:
        assert due > start
        assert calendar.is_working_time(due) or is_segment_end(calendar, due)
        # The deadline is the earliest such moment: never the next segment's start when
        # the time ran out exactly at a segment's end.
        assert calendar.between(start, due - timedelta(microseconds=1)) < duration


@calendars
@PROPERTY_SETTINGS
@given(data=st.data(), first=durations, second=durations)
def test_add_is_monotone_in_the_duration(
    calendar: BusinessCalendar, data: st.DataObject, first: timedelta, second: timedelta
) -> None:
    start = data.draw(moments(calendar))
    shorter, longer = sorted((first, second))
    assert calendar.add(start, shorter) <= calendar.add(start, longer)


@calendars
@PROPERTY_SETTINGS
@given(data=st.data(), gap_1=durations, gap_2=durations)
def test_between_is_additive(
    calendar: BusinessCalendar, data: st.DataObject, gap_1: timedelta, gap_2: timedelta
) -> None:
    a = data.draw(moments(calendar))
    b = a + gap_1
    c = b + gap_2
    assert calendar.between(a, c) == calendar.between(a, b) + calendar.between(b, c)
    assert calendar.between(c, a) == -calendar.between(a, c)


@calendars
@PROPERTY_SETTINGS
@given(data=st.data())
def test_next_working_moment_skips_only_idle_time(
    calendar: BusinessCalendar, data: st.DataObject
) -> None:
    start = data.draw(moments(calendar))
    upcoming = calendar.next_working_moment(start)
    assert upcoming >= start
    assert calendar.is_working_time(upcoming)
    assert calendar.between(start, upcoming) == timedelta(0)
    assert (upcoming == start) == calendar.is_working_time(start)
