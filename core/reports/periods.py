"""Reporting periods: local days and months, labelled months and quarters, the report deadline.

Periods are half-open, `start <= t < end`, in the zone they are asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.errors import InvalidInput


def day_bounds(moment: datetime, tz: str) -> tuple[datetime, datetime]:
    """The local calendar day containing `moment`, as aware datetimes [start, end)."""
    zone = ZoneInfo(tz)
    day = moment.astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


def month_bounds(moment: datetime, tz: str) -> tuple[datetime, datetime]:
    """The local calendar month containing `moment`, as aware datetimes [start, end)."""
    zone = ZoneInfo(tz)
    local = moment.astimezone(zone)
    first = local.date().replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return (
        datetime.combine(first, time(0), tzinfo=zone),
        datetime.combine(following, time(0), tzinfo=zone),
    )


# ASCII digits, years 1970-2999 only (\d would take '٢٠٢٦'; a label like 0000-01 or
# 9999-12 would reach a datetime out of range).
MONTH_LABEL = re.compile(r"^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])$")
QUARTER_LABEL = re.compile(r"^(19[7-9][0-9]|2[0-9]{3})-Q([1-4])$")
REPORT_DAY = 15  # 003: the monthly report is due by the 15th of the following month


@dataclass(frozen=True)
class Period:
    """A labelled calendar period in one zone, [start, end)."""

    label: str  # "2026-11" or "2026-Q4"
    start: datetime
    end: datetime
    tz: str


def _local_midnight(year: int, month: int, day: int, tz: str) -> datetime:
    return datetime(year, month, day, tzinfo=ZoneInfo(tz))


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def month_period(label: str, tz: str) -> Period:
    """The month '2026-11' in zone `tz`; InvalidInput for anything else."""
    match = MONTH_LABEL.match(label.strip())
    if match is None:
        raise InvalidInput("report.bad_period", text=label[:20])
    year, month = int(match[1]), int(match[2])
    following = _next_month(year, month)
    return Period(
        label.strip(),
        _local_midnight(year, month, 1, tz),
        _local_midnight(*following, 1, tz),
        tz,
    )


def quarter_period(label: str, tz: str) -> Period:
    """The quarter '2026-Q4' in zone `tz`; InvalidInput for anything else."""
    match = QUARTER_LABEL.match(label.strip().upper())
    if match is None:
        raise InvalidInput("report.bad_period", text=label[:20])
    year, quarter = int(match[1]), int(match[2])
    first = 3 * quarter - 2
    end_year, end_month = (year + 1, 1) if quarter == 4 else (year, first + 3)
    return Period(
        f"{year}-Q{quarter}",
        _local_midnight(year, first, 1, tz),
        _local_midnight(end_year, end_month, 1, tz),
        tz,
    )


def previous_month_label(moment: datetime, tz: str) -> str:
    """The local month before the one containing `moment`."""
    local = moment.astimezone(ZoneInfo(tz))
    year, month = (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
    return f"{year:04d}-{month:02d}"


def quarter_label(moment: datetime, tz: str) -> str:
    """'2026-Q4' for the local quarter containing `moment`."""
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local.year:04d}-Q{(local.month - 1) // 3 + 1}"


def previous_quarter_label(label: str) -> str:
    """The quarter before '2026-Q1' is '2025-Q4'."""
    match = QUARTER_LABEL.match(label)
    if match is None:
        raise InvalidInput("report.bad_period", text=label[:20])
    year, quarter = int(match[1]), int(match[2])
    return f"{year - 1}-Q4" if quarter == 1 else f"{year}-Q{quarter - 1}"


def months_of_quarter(label: str) -> tuple[str, str, str]:
    """The three month labels of a quarter."""
    match = QUARTER_LABEL.match(label)
    if match is None:
        raise InvalidInput("report.bad_period", text=label[:20])
    year, quarter = int(match[1]), int(match[2])
    first = 3 * quarter - 2
    return (f"{year}-{first:02d}", f"{year}-{first + 1:02d}", f"{year}-{first + 2:02d}")


def half_of_quarter(label: str) -> str:
    """The half-year a quarter belongs to: Q1, Q2 → 'H1'; Q3, Q4 → 'H2' ('2026-H2')."""
    match = QUARTER_LABEL.match(label)
    if match is None:
        raise InvalidInput("report.bad_period", text=label[:20])
    return f"{match[1]}-H{1 if int(match[2]) <= 2 else 2}"


def report_deadline(month: str, tz: str) -> datetime:
    """When month `month`'s report is late: the end of the 15th of the following month."""
    period = month_period(month, tz)
    local = period.end.astimezone(ZoneInfo(tz))
    return _local_midnight(local.year, local.month, REPORT_DAY + 1, tz)
