"""Business calendars: working hours, public holidays and business-time arithmetic.

Everything here is pure: no wall clock is read. Datetimes going in must be aware;
datetimes coming out are aware and in UTC. Local time only decides *which* hours of
which days are working time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib

from core.clock import DEFAULT_TIMEZONE, ensure_utc

__all__ = [
    "STANDARD_CALENDARS",
    "BusinessCalendar",
    "CountryHolidays",
    "HolidaySource",
    "NoHolidays",
    "Segment",
    "WorkingHours",
    "standard_hours",
]

Interval = tuple[time, time]
Segment = tuple[datetime, datetime]

_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
_MIDNIGHT = time(0, 0)
# A calendar with no working time for this long is broken (e.g. every day a holiday);
# fail loudly instead of looping forever.
_MAX_IDLE_DAYS = 3 * 366


def _end_offset(end: time) -> timedelta:
    """Offset of an interval end from midnight; 00:00 as an end means 24:00."""
    if end == _MIDNIGHT:
        return _ONE_DAY
    return timedelta(hours=end.hour, minutes=end.minute, seconds=end.second)


def _start_offset(start: time) -> timedelta:
    """Offset of an interval start from midnight."""
    return timedelta(hours=start.hour, minutes=start.minute, seconds=start.second)


@dataclass(frozen=True)
class WorkingHours:
    """Weekly pattern: per weekday (0=Mon..6=Sun) the local (start, end) working intervals.

    An end of time(0, 0) means 24:00. With `observe_holidays`, public holidays are off
    and adjusted working weekends (China's 调休) are on, using that weekday's own pattern
    if it has one, else the first non-empty weekday pattern.
    """

    name: str
    days: tuple[tuple[Interval, ...], ...]
    observe_holidays: bool

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError(f"{self.name}: need 7 weekday patterns, got {len(self.days)}")
        for weekday, pattern in enumerate(self.days):
            previous_end = _ZERO
            for start, end in pattern:
                if start.tzinfo is not None or end.tzinfo is not None:
                    raise ValueError(f"{self.name}: working hours are local, naive times")
                begin, finish = _start_offset(start), _end_offset(end)
                if begin >= finish:
                    raise ValueError(
                        f"{self.name}: weekday {weekday}: {start:%H:%M}-{end:%H:%M} is empty "
                        "or runs past midnight (split overnight shifts at 24:00)"
                    )
                if begin < previous_end:
                    raise ValueError(
                        f"{self.name}: weekday {weekday}: intervals overlap or are unsorted"
                    )
                previous_end = finish
        if not any(self.days):
            raise ValueError(f"{self.name}: no working time on any weekday")

    @property
    def adjusted_workday_pattern(self) -> tuple[Interval, ...]:
        """The pattern used on an adjusted working weekend day that is normally off."""
        return next(pattern for pattern in self.days if pattern)

    @property
    def weekly_hours(self) -> timedelta:
        """Nominal working time in a week without holidays (ignores DST)."""
        return sum(
            (_end_offset(end) - _start_offset(start) for day in self.days for start, end in day),
            _ZERO,
        )


def _every_day(*intervals: Interval) -> tuple[tuple[Interval, ...], ...]:
    """The same intervals on all seven weekdays."""
    return (tuple(intervals),) * 7


STANDARD_CALENDARS: dict[str, WorkingHours] = {
    # 002: normal reporting and on-site service run 5x8 on working days.
    "5x8": WorkingHours(
        name="5x8",
        days=(((time(9), time(18)),),) * 5 + ((), ()),
        observe_holidays=True,
    ),
    # 002: emergency line 7x24; level-1 clocks run on it.
    "7x24": WorkingHours(
        name="7x24", days=_every_day((_MIDNIGHT, _MIDNIGHT)), observe_holidays=False
    ),
    # 001: 7x8 hotline, holidays included.
    "7x8": WorkingHours(name="7x8", days=_every_day((time(9), time(17))), observe_holidays=False),
}


def standard_hours(name: str) -> WorkingHours:
    """The built-in working hours "5x8", "7x24" or "7x8"."""
    try:
        return STANDARD_CALENDARS[name]
    except KeyError:
        known = ", ".join(STANDARD_CALENDARS)
        raise ValueError(f"unknown standard calendar {name!r} (known: {known})") from None


class HolidaySource(Protocol):
    """Which local dates are public holidays and which weekend days are made working days."""

    def is_holiday(self, day: date) -> bool:
        """True if `day` is a public holiday (a day off)."""
        ...

    def is_adjusted_workday(self, day: date) -> bool:
        """True if `day` is a weekend day made a working day (China's 调休)."""
        ...


class NoHolidays:
    """A holiday source with no holidays and no adjusted working days."""

    def is_holiday(self, day: date) -> bool:
        """Never a holiday."""
        return False

    def is_adjusted_workday(self, day: date) -> bool:
        """Never an adjusted working day."""
        return False


class CountryHolidays:
    """Public holidays of a country from the `holidays` package, expanded one year at a time."""

    def __init__(self, country: str = "CN", subdiv: str | None = None) -> None:
        try:
            # Built once with no years only to reject an unknown country/subdivision now,
            # at configuration time, rather than at the first deadline computation.
            holidays_lib.country_holidays(country, subdiv=subdiv, years=())
        except NotImplementedError as exc:
            raise ValueError(str(exc)) from exc
        self.country = country
        self.subdiv = subdiv
        self._years: dict[int, tuple[frozenset[date], frozenset[date]]] = {}

    def _year(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        """(holidays, adjusted workdays) of one year, computed once."""
        cached = self._years.get(year)
        if cached is None:
            table = holidays_lib.country_holidays(self.country, subdiv=self.subdiv, years=year)
            days_off = frozenset(day for day in table if day.year == year)
            # `weekend_workdays` exists for countries with shifted weekends (CN); it also
            # carries a few static dates of other years, hence the year filter.
            shifted: Iterable[date] = getattr(table, "weekend_workdays", ())
            workdays = frozenset(day for day in shifted if day.year == year)
            cached = (days_off, workdays)
            self._years[year] = cached
        return cached

    def is_holiday(self, day: date) -> bool:
        """True if `day` is a public holiday in this country."""
        return day in self._year(day.year)[0]

    def is_adjusted_workday(self, day: date) -> bool:
        """True if `day` is a weekend day officially made a working day."""
        return day in self._year(day.year)[1]


class BusinessCalendar:
    """Working hours in a time zone with holidays; does business-time arithmetic."""

    def __init__(self, hours: WorkingHours, tz: str | ZoneInfo, holidays: HolidaySource) -> None:
        if isinstance(tz, str):
            try:
                tz = ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {tz!r}") from exc
        self._hours = hours
        self._tz = tz
        self._holidays = holidays
        # Segments of a local date never change, so each date is computed once. The
        # week cache lets add()/between() skip a whole Monday-to-Sunday week at once.
        self._day_cache: dict[date, tuple[tuple[Segment, ...], timedelta]] = {}
        self._week_cache: dict[date, timedelta] = {}

    def __repr__(self) -> str:
        return f"BusinessCalendar({self._hours.name!r}, {self._tz.key!r})"

    @property
    def name(self) -> str:
        """Name of the working-hours pattern, e.g. "5x8"."""
        return self._hours.name

    @property
    def hours(self) -> WorkingHours:
        """The weekly working-hours pattern."""
        return self._hours

    @property
    def tz(self) -> ZoneInfo:
        """The local time zone that decides the working hours."""
        return self._tz

    # -- per-day segments -------------------------------------------------------------

    def _pattern(self, day: date) -> tuple[Interval, ...]:
        """Local working intervals of `day` after holidays and adjusted workdays."""
        pattern = self._hours.days[day.weekday()]
        if self._hours.observe_holidays:
            if self._holidays.is_holiday(day):
                return ()
            if not pattern and self._holidays.is_adjusted_workday(day):
                return self._hours.adjusted_workday_pattern
        return pattern

    def _day(self, day: date) -> tuple[tuple[Segment, ...], timedelta]:
        """(UTC segments, their total length) of a local date, cached."""
        cached = self._day_cache.get(day)
        if cached is not None:
            return cached
        segments: list[Segment] = []
        previous_end: datetime | None = None
        for start, end in self._pattern(day):
            begin = datetime.combine(day, start, tzinfo=self._tz).astimezone(UTC)
            end_day = day + _ONE_DAY if end == _MIDNIGHT else day
            finish = datetime.combine(end_day, end, tzinfo=self._tz).astimezone(UTC)
            # A local time inside a DST gap maps non-monotonically; clamp so segments stay
            # sorted and disjoint, and drop any that vanish.
            if previous_end is not None and begin < previous_end:
                begin = previous_end
            if finish <= begin:
                continue
            segments.append((begin, finish))
            previous_end = finish
        frozen = tuple(segments)
        cached = (frozen, sum((e - s for s, e in frozen), _ZERO))
        self._day_cache[day] = cached
        return cached

    def _week_total(self, monday: date) -> timedelta:
        """Working time of the seven local days starting at `monday`, cached."""
        total = self._week_cache.get(monday)
        if total is None:
            total = sum((self._day(monday + timedelta(days=i))[1] for i in range(7)), _ZERO)
            self._week_cache[monday] = total
        return total

    def _local_date(self, moment: datetime) -> date:
        """The local calendar date of a UTC moment."""
        return moment.astimezone(self._tz).date()

    def segments_on(self, day: date) -> tuple[Segment, ...]:
        """UTC-aware working intervals [start, end) of a local date, in order."""
        return self._day(day)[0]

    def working_time_on(self, day: date) -> timedelta:
        """Total working time of a local date."""
        return self._day(day)[1]

    # -- queries ----------------------------------------------------------------------

    def is_working_time(self, moment: datetime) -> bool:
        """True if `moment` lies inside [start, end) of a working segment."""
        current = ensure_utc(moment)
        return any(s <= current < e for s, e in self.segments_on(self._local_date(current)))

    def next_working_moment(self, moment: datetime) -> datetime:
        """`moment` itself if it is working time, else the start of the next segment."""
        current = ensure_utc(moment)
        day = self._local_date(current)
        for _ in range(_MAX_IDLE_DAYS):
            for start, end in self.segments_on(day):
                if current < end:
                    return max(start, current)
            day += _ONE_DAY
        raise self._idle_error(current)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of business time after `start`.

        The result is inside a working segment or exactly at a segment end: when the
        remaining time equals the rest of a segment, the deadline is that segment's end,
        not the start of the next one.
        """
        current = ensure_utc(start)
        if duration < _ZERO:
            raise ValueError(f"cannot add a negative business duration: {duration}")
        if duration == _ZERO:
            return current
        remaining = duration
        day = self._local_date(current)
        for begin, end in self.segments_on(day):
            if end <= current:
                continue
            begin = max(begin, current)
            available = end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        day += _ONE_DAY
        idle_days = 0
        while True:
            if day.weekday() == 0:
                week = self._week_total(day)
                if remaining > week:
                    remaining -= week
                    day += _WEEK
                    idle_days = idle_days + 7 if week == _ZERO else 0
                    if idle_days > _MAX_IDLE_DAYS:
                        raise self._idle_error(current)
                    continue
            segments, total = self._day(day)
            if remaining > total:
                remaining -= total
                day += _ONE_DAY
                idle_days = idle_days + 1 if total == _ZERO else 0
                if idle_days > _MAX_IDLE_DAYS:
                    raise self._idle_error(current)
                continue
            for begin, end in segments:
                available = end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
            raise AssertionError("unreachable: remaining time exceeded the day total")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time in [start, end); negative (-between(end, start)) if end < start."""
        first, last = ensure_utc(start), ensure_utc(end)
        if last < first:
            return -self.between(last, first)
        if last == first:
            return _ZERO
        first_day, last_day = self._local_date(first), self._local_date(last)
        if first_day == last_day:
            return _overlap(self.segments_on(first_day), first, last)
        # Segments of the first day all end by the next local midnight, which is <= last.
        total = _overlap(self.segments_on(first_day), first, None)
        day = first_day + _ONE_DAY
        while day < last_day:
            if day.weekday() == 0 and day + _WEEK <= last_day:
                total += self._week_total(day)
                day += _WEEK
            else:
                total += self._day(day)[1]
                day += _ONE_DAY
        return total + _overlap(self.segments_on(last_day), None, last)

    def working_days_after(self, start: datetime, days: int) -> datetime:
        """End (UTC) of the `days`-th working day after the local day of `start`."""
        if days < 1:
            raise ValueError(f"need at least one working day, got {days}")
        current = ensure_utc(start)
        day = self._local_date(current)
        counted = 0
        idle_days = 0
        while True:
            day += _ONE_DAY
            segments = self.segments_on(day)
            if not segments:
                idle_days += 1
                if idle_days > _MAX_IDLE_DAYS:
                    raise self._idle_error(current)
                continue
            idle_days = 0
            counted += 1
            if counted == days:
                return segments[-1][1]

    def _idle_error(self, moment: datetime) -> ValueError:
        """The error for a calendar that has no working time in sight."""
        return ValueError(
            f"calendar {self.name!r} has no working time within {_MAX_IDLE_DAYS} days "
            f"after {moment.isoformat()}"
        )


def _overlap(
    segments: tuple[Segment, ...], lower: datetime | None, upper: datetime | None
) -> timedelta:
    """Total length of `segments` clipped to [lower, upper) (None: unbounded)."""
    total = _ZERO
    for begin, end in segments:
        if lower is not None and begin < lower:
            begin = lower
        if upper is not None and end > upper:
            end = upper
        if end > begin:
            total += end - begin
    return total


if __name__ == "__main__":  # pragma: no cover - manual benchmark
    import random
    import time as timer

    def _benchmark() -> None:
        """Print add()/between() throughput on the standard calendars."""
        rng = random.Random(7)
        base = datetime(2024, 1, 1, tzinfo=UTC)
        starts = [base + timedelta(seconds=rng.randrange(4 * 365 * 86_400)) for _ in range(2000)]
        spans = [timedelta(seconds=rng.randrange(30 * 86_400)) for _ in range(2000)]
        short = [timedelta(minutes=rng.randrange(1, 48 * 60)) for _ in range(2000)]
        for name in STANDARD_CALENDARS:
            hours = standard_hours(name)
            source: HolidaySource = (
                CountryHolidays("CN") if hours.observe_holidays else NoHolidays()
            )
            calendar = BusinessCalendar(hours, DEFAULT_TIMEZONE, source)
            for label, durations in (("0..30d", spans), ("1m..48h", short)):
                for s, d in zip(starts, durations, strict=True):  # warm the caches
                    calendar.add(s, d)
                rounds = 10
                began = timer.perf_counter()
                for _ in range(rounds):
                    for s, d in zip(starts, durations, strict=True):
                        calendar.add(s, d)
                elapsed = timer.perf_counter() - began
                rate = rounds * len(starts) / elapsed
                print(f"add()     {name:>5} durations {label:>8}: {rate:>10,.0f} calls/s")
            ends = [calendar.add(s, d) for s, d in zip(starts, spans, strict=True)]
            began = timer.perf_counter()
            for _ in range(10):
                for s, e in zip(starts, ends, strict=True):
                    calendar.between(s, e)
            rate = 10 * len(starts) / (timer.perf_counter() - began)
            print(f"between() {name:>5} spans     0..30d: {rate:>10,.0f} calls/s")

    _benchmark()
