from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from contactcenter.lib.business_time import Calendar, add_business_time

ROME = ZoneInfo("Europe/Rome")
WEEKDAYS_9_TO_18 = {d: ((time(9), time(18)),) for d in range(5)}


def calendar(**kwargs) -> Calendar:
    return Calendar(tz=ROME, hours=WEEKDAYS_9_TO_18, **kwargs)


def test_time_within_the_same_day():
    start = datetime(2026, 11, 23, 10, 0, tzinfo=ROME)  # Monday
    assert add_business_time(start, timedelta(hours=4), calendar()) == datetime(
        2026, 11, 23, 14, 0, tzinfo=ROME
    )


def test_friday_evening_rolls_over_the_weekend():
    start = datetime(2026, 11, 27, 17, 0, tzinfo=ROME)  # Friday: 1 h left that day
    due = add_business_time(start, timedelta(hours=3), calendar())
    assert due == datetime(2026, 11, 30, 11, 0, tzinfo=ROME)  # Monday 09:00 + 2 h


def test_start_before_opening_counts_from_opening():
    start = datetime(2026, 11, 28, 23, 30, tzinfo=ROME)  # Saturday night
    due = add_business_time(start, timedelta(minutes=30), calendar())
    assert due == datetime(2026, 11, 30, 9, 30, tzinfo=ROME)


def test_a_holiday_is_skipped_like_a_weekend_day():
    # Thursday 24 Dec 17:00: 1 h that day; Friday 25 is a holiday; weekend; Monday 28.
    start = datetime(2026, 12, 24, 17, 0, tzinfo=ROME)
    due = add_business_time(
        start, timedelta(hours=4), calendar(holidays=frozenset({date(2026, 12, 25)}))
    )
    assert due == datetime(2026, 12, 28, 12, 0, tzinfo=ROME)


def test_split_shifts_skip_the_lunch_break():
    hours = {0: ((time(9), time(13)), (time(14), time(18)))}
    start = datetime(2026, 11, 23, 12, 0, tzinfo=ROME)
    due = add_business_time(start, timedelta(hours=2), Calendar(tz=ROME, hours=hours))
    assert due == datetime(2026, 11, 23, 15, 0, tzinfo=ROME)


def test_business_day_keeps_its_wall_clock_hours_across_daylight_saving():
    # Clocks go forward on Sunday 29 March 2026: Friday 17:00 + 2 h -> Monday 10:00 (CEST).
    start = datetime(2026, 3, 27, 17, 0, tzinfo=ROME)
    due = add_business_time(start, timedelta(hours=2), calendar())
    assert due == datetime(2026, 3, 30, 10, 0, tzinfo=ROME)
    assert due == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_calendar_hours_count_real_elapsed_time_on_a_23_hour_day():
    start = datetime(2026, 3, 28, 12, 0, tzinfo=ROME)  # 11:00 UTC
    due = add_business_time(start, timedelta(hours=24), Calendar.always_open(ROME))
    assert due == datetime(2026, 3, 29, 11, 0, tzinfo=UTC)  # 13:00 CEST wall clock
    assert due.astimezone(ROME).hour == 13


def test_always_open_calendar_still_skips_holidays():
    start = datetime(2026, 12, 24, 22, 0, tzinfo=ROME)
    cal = Calendar.always_open(ROME, holidays=frozenset({date(2026, 12, 25)}))
    due = add_business_time(start, timedelta(hours=3), cal)
    assert due == datetime(2026, 12, 26, 1, 0, tzinfo=ROME)


def test_naive_start_is_refused():
    with pytest.raises(ValueError, match="aware"):
        add_business_time(datetime(2026, 1, 1), timedelta(hours=1), calendar())


def test_a_calendar_with_no_open_hours_is_refused():
    with pytest.raises(ValueError, match="no open hours"):
        add_business_time(
            datetime(2026, 1, 1, tzinfo=ROME), timedelta(hours=1), Calendar(tz=ROME, hours={})
        )
