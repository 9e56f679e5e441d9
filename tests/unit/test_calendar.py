"""Business calendars against real dates: China 2026 holidays, 5x8, 7x24, 7x8."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.sla.calendar import (
    BusinessCalendar,
    CountryHolidays,
    NoHolidays,
    WorkingHours,
    standard_hours,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
CHINA = CountryHolidays("CN")


def local(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    *,
    tz: ZoneInfo = SHANGHAI,
) -> datetime:
    """An aware local datetime, e.g. local(2026, 3, 13, 17) for Friday 17:00 in Shanghai."""
    return datetime(year, month, day, hour, minute, second, tzinfo=tz)


def five_by_eight(tz: ZoneInfo = SHANGHAI) -> BusinessCalendar:
    """Mon-Fri 09:00-18:00 with China's holidays."""
    return BusinessCalendar(standard_hours("5x8"), tz, CHINA)


def seven_by_24(tz: ZoneInfo = SHANGHAI) -> BusinessCalendar:
    """Around the clock."""
    return BusinessCalendar(standard_hours("7x24"), tz, NoHolidays())


def seven_by_eight(tz: ZoneInfo = SHANGHAI) -> BusinessCalendar:
    """Every day 09:00-17:00, holidays included."""
    return BusinessCalendar(standard_hours("7x8"), tz, CHINA)


class AlwaysHoliday:
    """A holiday source where every day is off: a broken calendar."""

    def is_holiday(self, day: date) -> bool:
        return True

    def is_adjusted_workday(self, day: date) -> bool:
        return False


# -- the holidays package's view of Spring Festival 2026 ---------------------------------


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 2, 16),  # Chinese New Year's Eve (Mon)
        date(2026, 2, 17),
        date(2026, 2, 18),
        date(2026, 2, 19),
        date(2026, 2, 20),  # day off, substituted from Sat 2026-02-14
        date(2026, 2, 23),  # day off, substituted from Sat 2026-02-28
    ],
)
def test_spring_festival_2026_days_are_holidays(day: date) -> None:
    assert CHINA.is_holiday(day)
    assert five_by_eight().segments_on(day) == ()


@pytest.mark.parametrize("day", [date(2026, 2, 14), date(2026, 2, 28)])
def test_spring_festival_2026_saturdays_are_adjusted_working_days(day: date) -> None:
    assert CHINA.is_adjusted_workday(day)
    assert not CHINA.is_holiday(day)
    assert five_by_eight().segments_on(day) == (
        (local(day.year, day.month, day.day, 9), local(day.year, day.month, day.day, 18)),
    )


@pytest.mark.parametrize("day", [date(2026, 2, 13), date(2026, 2, 24), date(2026, 3, 2)])
def test_ordinary_weekdays_around_spring_festival_are_working_days(day: date) -> None:
    assert not CHINA.is_holiday(day)
    assert five_by_eight().working_time_on(day) == timedelta(hours=9)


@pytest.mark.parametrize("day", [date(2026, 2, 15), date(2026, 2, 21), date(2026, 2, 22)])
def test_ordinary_weekend_days_stay_off(day: date) -> None:
    assert not CHINA.is_adjusted_workday(day)
    assert five_by_eight().segments_on(day) == ()


def test_country_without_shifted_weekends_has_no_adjusted_workdays() -> None:
    germany = CountryHolidays("DE")
    assert germany.is_holiday(date(2026, 12, 25))
    assert not germany.is_adjusted_workday(date(2026, 2, 14))


def test_unknown_country_is_rejected_when_configured() -> None:
    with pytest.raises(ValueError, match="XX"):
        CountryHolidays("XX")


# -- 5x8 --------------------------------------------------------------------------------


def test_two_hours_reported_friday_at_five_is_due_monday_at_ten() -> None:
    # 2026-03-13 is an ordinary Friday, far from any holiday.
    due = five_by_eight().add(local(2026, 3, 13, 17), timedelta(hours=2))
    assert due == local(2026, 3, 16, 10)
    assert due.tzinfo is UTC


def test_a_full_five_by_eight_day_is_nine_hours_and_ends_at_six() -> None:
    # The standard 5x8 day is 09:00-18:00 with no lunch break (see test below for one).
    calendar = five_by_eight()
    assert calendar.add(local(2026, 3, 10, 9), timedelta(hours=8)) == local(2026, 3, 10, 17)
    assert calendar.add(local(2026, 3, 10, 9), timedelta(hours=9)) == local(2026, 3, 10, 18)
    assert calendar.between(local(2026, 3, 10, 0), local(2026, 3, 11, 0)) == timedelta(hours=9)


def test_with_a_lunch_break_eight_hours_is_exactly_one_working_day() -> None:
    hours = WorkingHours(
        name="5x8-lunch",
        days=(((time(9), time(12)), (time(13), time(18))),) * 5 + ((), ()),
        observe_holidays=True,
    )
    calendar = BusinessCalendar(hours, SHANGHAI, CHINA)
    assert calendar.add(local(2026, 3, 10, 9), timedelta(hours=8)) == local(2026, 3, 10, 18)
    assert calendar.add(local(2026, 3, 10, 11), timedelta(hours=2)) == local(2026, 3, 10, 14)
    assert calendar.add(local(2026, 3, 10, 11), timedelta(hours=1)) == local(2026, 3, 10, 12)
    assert not calendar.is_working_time(local(2026, 3, 10, 12, 30))


def test_deadline_lands_on_the_segment_end_not_the_next_morning() -> None:
    calendar = five_by_eight()
    assert calendar.add(local(2026, 3, 10, 17), timedelta(hours=1)) == local(2026, 3, 10, 18)
    assert calendar.add(local(2026, 3, 10, 18), timedelta(0)) == local(2026, 3, 10, 18)
    assert calendar.add(local(2026, 3, 10, 18), timedelta(minutes=1)) == local(2026, 3, 11, 9, 1)


def test_adding_zero_returns_the_start_even_outside_working_time() -> None:
    start = local(2026, 3, 14, 3)  # Saturday night
    assert five_by_eight().add(start, timedelta(0)) == start


def test_a_report_on_a_holiday_starts_counting_the_next_working_morning() -> None:
    calendar = five_by_eight()
    reported = local(2026, 10, 1, 10)  # National Day; Oct 1-7 are off, Oct 8 is a Thursday
    assert not calendar.is_working_time(reported)
    assert calendar.next_working_moment(reported) == local(2026, 10, 8, 9)
    assert calendar.add(reported, timedelta(hours=2)) == local(2026, 10, 8, 11)


def test_adjusted_working_saturday_counts_and_spring_festival_does_not() -> None:
    calendar = five_by_eight()
    # Fri 2026-02-13 17:00: one hour that day, the next on the adjusted Saturday.
    assert calendar.add(local(2026, 2, 13, 17), timedelta(hours=2)) == local(2026, 2, 14, 10)
    # Sat 2026-02-14 17:00: then Sunday, Feb 16-20 holidays, weekend, Feb 23 holiday.
    assert calendar.add(local(2026, 2, 14, 17), timedelta(hours=2)) == local(2026, 2, 24, 10)
    assert calendar.between(local(2026, 2, 14, 17), local(2026, 2, 24, 10)) == timedelta(hours=2)


def test_working_time_boundaries_are_half_open() -> None:
    calendar = five_by_eight()
    assert calendar.is_working_time(local(2026, 3, 10, 9))
    assert calendar.is_working_time(local(2026, 3, 10, 17, 59, 59))
    assert not calendar.is_working_time(local(2026, 3, 10, 18))
    assert not calendar.is_working_time(local(2026, 3, 10, 8, 59, 59))


def test_next_working_moment_keeps_a_working_moment_and_skips_an_end() -> None:
    calendar = five_by_eight()
    assert calendar.next_working_moment(local(2026, 3, 10, 10)) == local(2026, 3, 10, 10)
    assert calendar.next_working_moment(local(2026, 3, 10, 18)) == local(2026, 3, 11, 9)
    assert calendar.next_working_moment(local(2026, 3, 13, 20)) == local(2026, 3, 16, 9)


def test_between_counts_only_working_time_and_is_antisymmetric() -> None:
    calendar = five_by_eight()
    friday_five, monday_ten = local(2026, 3, 13, 17), local(2026, 3, 16, 10)
    assert calendar.between(friday_five, monday_ten) == timedelta(hours=2)
    assert calendar.between(monday_ten, friday_five) == -timedelta(hours=2)
    assert calendar.between(friday_five, friday_five) == timedelta(0)
    # Four ordinary weeks: 20 days x 9 h.
    assert calendar.between(local(2026, 3, 2), local(2026, 3, 30)) == timedelta(hours=180)


def test_segments_are_utc_and_cached_per_date() -> None:
    calendar = five_by_eight()
    segments = calendar.segments_on(date(2026, 3, 10))
    assert segments == (
        (datetime(2026, 3, 10, 1, tzinfo=UTC), datetime(2026, 3, 10, 10, tzinfo=UTC)),
    )
    assert all(moment.tzinfo is UTC for segment in segments for moment in segment)
    assert calendar.segments_on(date(2026, 3, 10)) is segments


# -- 7x24 and 7x8 --------------------------------------------------------------------------


@pytest.mark.parametrize("tz", [SHANGHAI, BERLIN])
@pytest.mark.parametrize(
    ("start", "duration"),
    [
        (datetime(2026, 10, 1, 3, 17, tzinfo=UTC), timedelta(hours=5)),
        (datetime(2026, 3, 28, 22, tzinfo=UTC), timedelta(days=2)),  # across Berlin DST start
        (datetime(2026, 10, 24, 12, tzinfo=UTC), timedelta(days=3, minutes=7)),  # DST end
        (datetime(2026, 2, 16, 0, tzinfo=UTC), timedelta(days=10)),  # Spring Festival
    ],
)
def test_seven_by_24_is_plain_wall_time(tz: ZoneInfo, start: datetime, duration: timedelta) -> None:
    calendar = seven_by_24(tz)
    assert calendar.add(start, duration) == start + duration
    assert calendar.between(start, start + duration) == duration
    assert calendar.is_working_time(start)


def test_seven_by_24_days_follow_daylight_saving_in_berlin() -> None:
    calendar = seven_by_24(BERLIN)
    assert calendar.working_time_on(date(2026, 3, 29)) == timedelta(hours=23)
    assert calendar.working_time_on(date(2026, 10, 25)) == timedelta(hours=25)


def test_seven_by_eight_ignores_holidays_and_weekends() -> None:
    calendar = seven_by_eight()
    national_day = local(2026, 10, 1, 10)
    assert calendar.is_working_time(national_day)
    assert calendar.add(national_day, timedelta(hours=2)) == local(2026, 10, 1, 12)
    assert calendar.add(local(2026, 10, 3, 16), timedelta(hours=2)) == local(2026, 10, 4, 10)
    assert calendar.between(local(2026, 2, 16), local(2026, 2, 23)) == timedelta(hours=56)


def test_seven_by_eight_in_berlin_keeps_local_hours_across_dst() -> None:
    calendar = seven_by_eight(BERLIN)
    before = local(2026, 3, 28, 16, tz=BERLIN)  # CET
    assert calendar.add(before, timedelta(hours=2)) == local(2026, 3, 29, 10, tz=BERLIN)  # CEST


# -- working days ---------------------------------------------------------------------------


def test_seven_working_days_skip_the_national_day_week() -> None:
    # Tue 2026-09-29: Sep 30 (1); Oct 1-7 off; Oct 8 (2), 9 (3), Sat 10 adjusted (4),
    # 12 (5), 13 (6), 14 (7) -> the loaned device is due back by 18:00 on Oct 14.
    due = five_by_eight().working_days_after(local(2026, 9, 29, 10), 7)
    assert due == local(2026, 10, 14, 18)
    assert due.tzinfo is UTC


def test_three_working_days_for_a_complaint_count_the_adjusted_saturday() -> None:
    due = five_by_eight().working_days_after(local(2026, 9, 30, 15), 3)
    assert due == local(2026, 10, 10, 18)


def test_working_days_after_counts_from_the_next_day_even_on_a_weekend() -> None:
    assert five_by_eight().working_days_after(local(2026, 3, 14, 10), 1) == local(2026, 3, 16, 18)
    assert seven_by_eight().working_days_after(local(2026, 3, 14, 10), 1) == local(2026, 3, 15, 17)


def test_working_days_after_needs_at_least_one_day() -> None:
    with pytest.raises(ValueError, match="at least one"):
        five_by_eight().working_days_after(local(2026, 3, 10, 10), 0)


# -- rejected inputs ------------------------------------------------------------------------


def test_naive_datetimes_are_rejected_everywhere() -> None:
    calendar = five_by_eight()
    naive = datetime(2026, 3, 10, 10)
    aware = local(2026, 3, 10, 10)
    with pytest.raises(ValueError, match="naive"):
        calendar.add(naive, timedelta(hours=1))
    with pytest.raises(ValueError, match="naive"):
        calendar.between(naive, aware)
    with pytest.raises(ValueError, match="naive"):
        calendar.between(aware, naive)
    with pytest.raises(ValueError, match="naive"):
        calendar.is_working_time(naive)
    with pytest.raises(ValueError, match="naive"):
        calendar.next_working_moment(naive)
    with pytest.raises(ValueError, match="naive"):
        calendar.working_days_after(naive, 3)


def test_negative_durations_are_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        five_by_eight().add(local(2026, 3, 10, 10), timedelta(seconds=-1))


def test_a_calendar_without_any_working_time_fails_instead_of_looping() -> None:
    calendar = BusinessCalendar(standard_hours("5x8"), SHANGHAI, AlwaysHoliday())
    with pytest.raises(ValueError, match="no working time"):
        calendar.add(local(2026, 3, 10, 10), timedelta(hours=1))
    with pytest.raises(ValueError, match="no working time"):
        calendar.next_working_moment(local(2026, 3, 10, 10))
    with pytest.raises(ValueError, match="no working time"):
        calendar.working_days_after(local(2026, 3, 10, 10), 1)


def test_unknown_time_zone_is_rejected() -> None:
    with pytest.raises(ValueError, match="time zone"):
        BusinessCalendar(standard_hours("7x24"), "Mars/Olympus", NoHolidays())


def test_unknown_standard_calendar_is_rejected() -> None:
    with pytest.raises(ValueError, match="5x8, 7x24, 7x8"):
        standard_hours("6x12")


@pytest.mark.parametrize(
    ("days", "message"),
    [
        (((),) * 6, "7 weekday patterns"),
        (((),) * 7, "no working time"),
        ((((time(18), time(9)),),) + ((),) * 6, "past midnight"),
        ((((time(9), time(12)), (time(11), time(18))),) + ((),) * 6, "overlap"),
        ((((time(13), time(18)), (time(9), time(12))),) + ((),) * 6, "unsorted"),
    ],
)
def test_working_hours_reject_impossible_patterns(
    days: tuple[tuple[tuple[time, time], ...], ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        WorkingHours(name="bad", days=days, observe_holidays=False)


def test_standard_calendars_have_their_nominal_weekly_hours() -> None:
    assert standard_hours("5x8").weekly_hours == timedelta(hours=45)
    assert standard_hours("7x24").weekly_hours == timedelta(hours=168)
    assert standard_hours("7x8").weekly_hours == timedelta(hours=56)
    assert standard_hours("5x8").observe_holidays
    assert not standard_hours("7x8").observe_holidays
