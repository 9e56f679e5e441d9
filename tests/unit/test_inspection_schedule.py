"""Inspection periods, windows and the announcement and reminder dates, across China's holidays.

Pure functions over a business calendar: no database, no clock.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from core.enums import AssetKind
from core.errors import InvalidInput
from core.inspections import (
    MONTHLY,
    SEMIANNUAL,
    Answer,
    checklist,
    consumables_due,
    next_period,
    outcome_of,
    parse_reading,
    period_of,
    round_schedule,
    round_window,
    validate_answers,
)
from core.reminders import start_of_working_day, working_days_before
from core.sla.calendar import BusinessCalendar, CountryHolidays, standard_hours

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def cal() -> BusinessCalendar:
    return BusinessCalendar(standard_hours("5x8"), "Asia/Shanghai", CountryHolidays("CN"))


def schedule(cal: BusinessCalendar, cadence: str, period: str, notice: int):
    remind = 2 if cadence == MONTHLY else 5
    return round_schedule(
        cadence, period, cal, due_day=10, notice_working_days=notice, remind_working_days=remind
    )


# --- periods and windows -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cadence", "day", "period"),
    [
        (MONTHLY, local(2026, 3, 2).date(), "2026-03"),
        (MONTHLY, local(2026, 12, 31).date(), "2026-12"),
        (SEMIANNUAL, local(2026, 6, 30).date(), "2026-H1"),
        (SEMIANNUAL, local(2026, 7, 1).date(), "2026-H2"),
    ],
)
def test_a_local_date_falls_in_one_period(cadence, day, period):
    assert period_of(cadence, day) == period


@pytest.mark.parametrize(
    ("cadence", "period", "following"),
    [
        (MONTHLY, "2026-03", "2026-04"),
        (MONTHLY, "2026-12", "2027-01"),
        (SEMIANNUAL, "2026-H1", "2026-H2"),
        (SEMIANNUAL, "2026-H2", "2027-H1"),
    ],
)
def test_the_next_period_rolls_over_the_year(cadence, period, following):
    assert next_period(cadence, period) == following


@pytest.mark.parametrize("period", ["2026-13", "2026-H3", "March", "2026-Q1"])
def test_a_malformed_period_is_refused(period):
    with pytest.raises(InvalidInput):
        next_period(MONTHLY if "H" not in period else SEMIANNUAL, period)


def test_a_monthly_window_opens_on_the_first_and_is_due_on_the_tenth_at_six():
    assert round_window(MONTHLY, "2026-03", SHANGHAI) == (local(2026, 3, 1), local(2026, 3, 10, 18))


def test_a_due_day_past_the_end_of_the_month_means_its_last_day():
    assert round_window(MONTHLY, "2026-02", SHANGHAI, due_day=31)[1] == local(2026, 2, 28, 18)


def test_semiannual_windows_are_the_last_two_months_of_each_half():
    assert round_window(SEMIANNUAL, "2026-H1", SHANGHAI) == (
        local(2026, 5, 1),
        local(2026, 6, 30, 18),
    )
    assert round_window(SEMIANNUAL, "2026-H2", SHANGHAI) == (
        local(2026, 11, 1),
        local(2026, 12, 31, 18),
    )


# --- counting working days back ------------------------------------------------------------------


def test_working_days_back_skip_the_national_day_week_and_count_the_adjusted_saturday(cal):
    # Before Mon 12 Oct 2026: Sat 10 Oct is worked (调休), 1-7 Oct are off.
    assert working_days_before(cal, local(2026, 10, 12), 1) == local(2026, 10, 10, 9)
    assert working_days_before(cal, local(2026, 10, 12), 4) == local(2026, 9, 30, 9)
    # 15 back also skips Fri 25 Sep (Mid-Autumn) and counts Sun 20 Sep (worked).
    assert working_days_before(cal, local(2026, 10, 12), 15) == local(2026, 9, 15, 9)


def test_the_start_of_a_working_day_is_nine_and_a_day_off_moves_to_the_next_one(cal):
    assert start_of_working_day(cal, local(2026, 3, 11, 18)) == local(2026, 3, 11, 9)
    assert start_of_working_day(cal, local(2026, 10, 3, 12)) == local(2026, 10, 8, 9)


# --- round timelines -----------------------------------------------------------------------------


def test_the_march_round_is_announced_on_the_thursday_before_counting_the_worked_saturday(cal):
    timeline = schedule(cal, MONTHLY, "2026-03", 3)
    # Sat 28 Feb 2026 is worked (Spring Festival 调休): 28, 27, 26 Feb.
    assert timeline.announce_at == local(2026, 2, 26, 9)
    assert timeline.starts_on == local(2026, 3, 1)
    assert timeline.start_reminder_at == local(2026, 3, 2, 9)  # Sunday 1st: Monday morning
    assert timeline.due_reminder_at == local(2026, 3, 6, 9)  # two working days before Tue 10th
    assert timeline.due_at == local(2026, 3, 10, 18)


def test_the_may_round_opens_after_labour_day_and_counts_the_worked_saturday_9_may(cal):
    timeline = schedule(cal, MONTHLY, "2026-05", 3)
    assert timeline.announce_at == local(2026, 4, 28, 9)
    assert timeline.start_reminder_at == local(2026, 5, 6, 9)  # 1-5 May are off
    assert timeline.due_reminder_at == local(2026, 5, 8, 9)  # Sat 9th worked, then Fri 8th
    assert timeline.due_at == local(2026, 5, 10, 18)


def test_the_october_round_has_one_reminder_because_the_holiday_eats_the_window(cal):
    timeline = schedule(cal, MONTHLY, "2026-10", 3)
    assert timeline.announce_at == local(2026, 9, 28, 9)
    assert timeline.start_reminder_at == local(2026, 10, 8, 9)
    # Two working days before Sat 10 Oct (worked) is Thu 8 Oct: the start reminder itself.
    assert timeline.due_reminder_at is None


def test_a_semiannual_round_is_announced_fifteen_working_days_before_its_window(cal):
    h1 = schedule(cal, SEMIANNUAL, "2026-H1", 15)
    assert h1.announce_at == local(2026, 4, 10, 9)  # 003 §2.4
    assert h1.start_reminder_at == local(2026, 5, 6, 9)  # after Labour Day
    assert h1.due_reminder_at == local(2026, 6, 23, 9)
    assert h1.due_at == local(2026, 6, 30, 18)
    h2 = schedule(cal, SEMIANNUAL, "2026-H2", 15)
    assert h2.announce_at == local(2026, 10, 12, 9)
    assert h2.start_reminder_at == local(2026, 11, 2, 9)
    assert h2.due_reminder_at == local(2026, 12, 24, 9)


# --- checklists ----------------------------------------------------------------------------------


def test_every_kind_of_device_has_a_checklist_and_projectors_record_lamp_hours():
    for kind in AssetKind:
        assert checklist(kind)
    codes = [item.code for item in checklist(AssetKind.PROJECTOR)]
    assert codes == ["image", "lamp_hours", "filter_clean", "remote_batteries"]
    assert [item.code for item in checklist(AssetKind.PC)] == [
        "boots",
        "os_patched",
        "antivirus",
        "disk_health",
        "dust_cleaned",
        "peripherals",
    ]


def test_answers_are_checked_and_consumables_kept_apart():
    answers, consumables = validate_answers(
        AssetKind.PROJECTOR,
        {
            "image": "ok",
            "lamp_hours": "2,100",
            "filter_clean": "ok",
            "remote_batteries": "replaced",
        },
    )
    assert answers["lamp_hours"] == 2100
    assert consumables == {"lamp_hours": 2100, "remote_batteries": "replaced"}
    assert outcome_of(answers) == "ok"
    assert consumables_due(AssetKind.PROJECTOR, consumables) == [("lamp_hours", 2100, 2000.0)]
    assert consumables_due(AssetKind.PROJECTOR, {"lamp_hours": 1999}) == []
    assert consumables_due(AssetKind.PRINTER, {"toner": Answer.LOW.value}) == [
        ("toner", "low", None)
    ]


@pytest.mark.parametrize(
    "answers",
    [
        {"image": "ok", "lamp_hours": 10, "filter_clean": "ok"},  # an item missing
        {"image": "maybe", "lamp_hours": 10, "filter_clean": "ok", "remote_batteries": "ok"},
        {"image": "ok", "lamp_hours": 10, "filter_clean": "low", "remote_batteries": "ok"},
        {"image": "ok", "lamp_hours": 10, "filter_clean": "ok", "remote_batteries": "ok", "x": 1},
    ],
)
def test_incomplete_or_unknown_answers_are_refused(answers):
    with pytest.raises(InvalidInput):
        validate_answers(AssetKind.PROJECTOR, answers)


@pytest.mark.parametrize("text", ["abc", "-5", "100001", "nan", ""])
def test_a_reading_must_be_a_sensible_number(text):
    with pytest.raises(InvalidInput):
        parse_reading(text)


def test_a_fault_in_any_item_makes_the_device_a_fault():
    answers, _ = validate_answers(
        AssetKind.MICROPHONE, {"sound_clear": "fault", "batteries": "ok", "cables": "ok"}
    )
    assert outcome_of(answers) == "fault"
