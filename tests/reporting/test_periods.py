"""Report intervals stepped in local wall time: daylight-saving days, half-hour zones, weeks."""

from datetime import UTC, date, datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from reporting.periods import first_instant, local_range, periods

ROME = ZoneInfo("Europe/Rome")
KOLKATA = ZoneInfo("Asia/Kolkata")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_moscow_keeps_one_offset_all_year():
    # Moscow has had no daylight saving since 2014: every day there has 96 quarter-hours.
    for day in (date(2026, 3, 29), date(2026, 10, 25)):
        assert len(periods(day, day, "15", ZoneInfo("Europe/Moscow"))) == 96


def test_the_spring_day_skips_the_missing_hour():
    rows = periods(date(2026, 3, 29), date(2026, 3, 29), "15", ROME)
    assert len(rows) == 92  # 23 hours x 4
    assert (rows[0].start, rows[-1].end) == (utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))
    assert [(r.label, r.start, r.end) for r in rows[7:9]] == [
        ("2026-03-29 01:45+01:00", utc(2026, 3, 29, 0, 45), utc(2026, 3, 29, 1, 0)),
        ("2026-03-29 03:00+02:00", utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 15)),
    ]
    assert len(periods(date(2026, 3, 29), date(2026, 3, 29), "60", ROME)) == 23


def test_the_autumn_day_repeats_the_hour_with_each_offset():
    rows = periods(date(2026, 10, 25), date(2026, 10, 25), "15", ROME)
    assert len(rows) == 100  # 25 hours x 4
    assert (rows[0].start, rows[-1].end) == (utc(2026, 10, 24, 22), utc(2026, 10, 25, 23))
    labels = [r.label for r in rows]
    assert labels[8:13] == [
        "2026-10-25 02:00+02:00",
        "2026-10-25 02:15+02:00",
        "2026-10-25 02:30+02:00",
        "2026-10-25 02:45+02:00",
        "2026-10-25 02:00+01:00",
    ]
    assert (rows[8].start, rows[12].start) == (utc(2026, 10, 25, 0), utc(2026, 10, 25, 1))
    hours = periods(date(2026, 10, 25), date(2026, 10, 25), "60", ROME)
    assert len(hours) == 25
    assert len(periods(date(2026, 10, 25), date(2026, 10, 25), "30", ROME)) == 50


def test_a_half_hour_zone_has_its_boundaries_at_half_past_in_utc():
    rows = periods(date(2026, 11, 23), date(2026, 11, 23), "60", KOLKATA)
    assert len(rows) == 24
    assert (rows[0].label, rows[0].start, rows[0].end) == (
        "2026-11-23 00:00+05:30",
        utc(2026, 11, 22, 18, 30),
        utc(2026, 11, 22, 19, 30),
    )
    assert rows[9].start == utc(2026, 11, 23, 3, 30)  # 09:00 in India


def test_rows_tile_the_range_without_gap_or_overlap():
    for size in ("15", "30", "60", "day", "week", "month"):
        rows = periods(date(2026, 3, 1), date(2026, 4, 30), size, ROME)
        assert all(a.end == b.start for a, b in pairwise(rows))
        assert (rows[0].start, rows[-1].end) == local_range(
            date(2026, 3, 1), date(2026, 4, 30), ROME
        )


def test_days_of_a_range_across_the_change():
    rows = periods(date(2026, 3, 28), date(2026, 3, 30), "day", ROME)
    assert [(r.label, (r.end - r.start).total_seconds() / 3600) for r in rows] == [
        ("2026-03-28", 24),
        ("2026-03-29", 23),
        ("2026-03-30", 24),
    ]


def test_weeks_start_on_monday_and_are_clipped_to_the_range():
    rows = periods(date(2026, 11, 18), date(2026, 12, 2), "week", ROME)
    assert [(r.label, r.local_start.date()) for r in rows] == [
        ("2026-W47", date(2026, 11, 18)),  # a Wednesday: the range starts there
        ("2026-W48", date(2026, 11, 23)),  # Monday
        ("2026-W49", date(2026, 11, 30)),
    ]
    assert rows[-1].end == utc(2026, 12, 2, 23)  # the end of the range, not of the week


def test_months_are_clipped_to_the_range():
    rows = periods(date(2026, 1, 15), date(2026, 3, 31), "month", ROME)
    assert [(r.label, r.start) for r in rows] == [
        ("2026-01", utc(2026, 1, 14, 23)),
        ("2026-02", utc(2026, 1, 31, 23)),
        ("2026-03", utc(2026, 2, 28, 23)),
    ]
    assert rows[-1].end == utc(2026, 3, 31, 22)  # CEST by then


def test_a_day_that_starts_after_a_gap_at_midnight():
    # Sao Paulo, 4 November 2018: clocks went from 00:00 straight to 01:00.
    sao_paulo = ZoneInfo("America/Sao_Paulo")
    assert first_instant(datetime(2018, 11, 4), sao_paulo) == utc(2018, 11, 4, 3)
    rows = periods(date(2018, 11, 4), date(2018, 11, 4), "60", sao_paulo)
    assert (len(rows), rows[0].label) == (23, "2018-11-04 01:00-02:00")


def test_a_range_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValueError, match=r"the range starts \(2026-11-24\) after it ends"):
        periods(date(2026, 11, 24), date(2026, 11, 23), "day", ROME)


def test_an_unknown_interval_is_refused():
    with pytest.raises(ValueError, match="'45' is not a valid IntervalSize"):
        periods(date(2026, 11, 23), date(2026, 11, 23), "45", ROME)
