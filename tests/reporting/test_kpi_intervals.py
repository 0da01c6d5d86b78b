"""The interval report: every interval a row, in the company's zone, adding up to the day."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from contactcenter.tenancy.models import Company
from reporting.periods import periods
from reporting.queries import (
    CallFigures,
    Ratio,
    ReportError,
    ReportFilter,
    _grain,
    interval_report,
    queue_report,
)
from telephony.models import PbxConnection, Queue
from telephony.pbx.events import CallEventKind as K
from telephony.pbx.events import HangupCause
from tests.reporting.conftest import DAY, Pbx


def day_filter(*companies, day=DAY, to=None) -> ReportFilter:
    return ReportFilter(companies=tuple(companies), date_from=day, date_to=to or day)


def test_hourly_rows_of_the_day(company, synthetic_day):
    report = interval_report(day_filter(company), "60")
    assert len(report.rows) == 24
    assert [r.period.label for r in report.rows[8:11]] == [
        "2026-11-16 08:00+03:00",
        "2026-11-16 09:00+03:00",
        "2026-11-16 10:00+03:00",
    ]
    nine, ten = report.rows[9], report.rows[10]
    # 09:00-10:00: c1-c6.
    assert (nine.figures.offered, nine.figures.answered, nine.figures.abandoned) == (6, 2, 2)
    assert (nine.figures.short_abandons, nine.figures.timeouts) == (1, 1)
    # c1 within T / (c1, c2 answered + c4 abandoned after T; c5 abandoned within T is not)
    assert nine.service_level == Ratio(1, 3)
    assert nine.figures.asa() == Ratio(41, 2)  # (20 + 21) / 2
    assert nine.figures.aht() == Ratio(370, 2)  # c1 150 + 30 + 40, c2 120 + 0 + 30
    # 10:00-11:00: c7 (cards, 8 s) and c8 (loans, 30 s), each within its own queue's T.
    assert (ten.figures.offered, ten.service_level) == (2, Ratio(2, 2))
    assert ten.figures.asa() == Ratio(38, 2)
    assert ten.figures.aht() == Ratio(570, 2)  # c7 300 + 60, c8 180 + 30
    # c10 (16:59:50) and c9 (17:05) are still open: in no figure, told apart.
    assert (report.rows[16].figures.offered, report.rows[16].figures.open_calls) == (0, 1)
    assert (report.rows[17].figures.offered, report.rows[17].figures.open_calls) == (0, 1)
    empty = report.rows[3]
    assert (empty.figures, empty.service_level.value) == (CallFigures(), None)


def test_interval_rows_add_up_to_the_day(company, synthetic_day):
    day = queue_report(day_filter(company)).total
    for size in ("15", "30", "60", "day"):
        report = interval_report(day_filter(company), size)
        summed = sum((r.figures for r in report.rows), CallFigures())
        assert summed == day.figures == report.total.figures
        service_level = sum((r.service_level for r in report.rows), Ratio(0, 0))
        assert service_level == day.service_level == report.total.service_level == Ratio(3, 5)
    quarter_hours = interval_report(day_filter(company), "15").rows
    assert len(quarter_hours) == 96
    assert [r.figures.offered for r in quarter_hours[36:43]] == [2, 1, 2, 1, 1, 0, 1]


def test_days_weeks_and_months_over_a_range(company, synthetic_day):
    three_days = day_filter(company, day=date(2026, 11, 15), to=date(2026, 11, 17))
    days = interval_report(three_days, "day")
    assert [(r.period.label, r.figures.offered) for r in days.rows] == [
        ("2026-11-15", 1),  # c0
        ("2026-11-16", 8),
        ("2026-11-17", 1),  # c11
    ]
    weeks = interval_report(three_days, "week")
    # Weeks start on Monday the 16th; the first is clipped to the range's Sunday.
    assert [(r.period.label, r.figures.offered) for r in weeks.rows] == [
        ("2026-W46", 1),
        ("2026-W47", 9),
    ]
    two_months = day_filter(company, day=date(2026, 11, 1), to=date(2026, 12, 31))
    months = interval_report(two_months, "month")
    assert [(r.period.label, r.figures.offered) for r in months.rows] == [
        ("2026-11", 10),
        ("2026-12", 0),
    ]


def test_companies_in_different_zones_are_refused(company, other_company):
    with pytest.raises(ReportError, match="Intervals need one time zone"):
        interval_report(day_filter(company, other_company), "60")


def _shop_calls(company: Company, starts: list[datetime]) -> None:
    pbx = Pbx(PbxConnection.objects.create(name="PBX", company=company, format="native"))
    Queue.objects.create(company=company, name="Orders", code="orders")
    for n, start in enumerate(starts):
        pbx(f"x{n}", K.QUEUED, start, queue="orders")
        pbx(f"x{n}", K.HANGUP, start.replace(second=30), cause=HangupCause.CALLER_ABANDONED)


def test_the_spring_daylight_saving_day_has_92_quarter_hours(other_company):
    # Rome, 29 March 2026: 02:00 jumps to 03:00. A call at 01:10 UTC is at 03:10 CEST.
    _shop_calls(other_company, [datetime(2026, 3, 29, 1, 10, tzinfo=UTC)])
    report = interval_report(day_filter(other_company, day=date(2026, 3, 29)), "15")
    assert len(report.rows) == 92  # 23 hours
    assert [r.period.label for r in report.rows[7:9]] == [
        "2026-03-29 01:45+01:00",
        "2026-03-29 03:00+02:00",
    ]
    assert [i for i, r in enumerate(report.rows) if r.figures.abandoned] == [8]
    assert report.total.figures.abandoned == 1


def test_the_autumn_daylight_saving_day_has_100_quarter_hours(other_company):
    # Rome, 25 October 2026: 03:00 CEST goes back to 02:00 CET; 02:10 happens twice.
    _shop_calls(
        other_company,
        [datetime(2026, 10, 25, 0, 10, tzinfo=UTC), datetime(2026, 10, 25, 1, 10, tzinfo=UTC)],
    )
    report = interval_report(day_filter(other_company, day=date(2026, 10, 25)), "15")
    assert len(report.rows) == 100  # 25 hours
    hits = [(i, r.period.label) for i, r in enumerate(report.rows) if r.figures.abandoned]
    assert hits == [(8, "2026-10-25 02:00+02:00"), (12, "2026-10-25 02:00+01:00")]
    hours = interval_report(day_filter(other_company, day=date(2026, 10, 25)), "60")
    assert len(hours.rows) == 25
    assert sum(r.figures.abandoned for r in hours.rows) == 2


def test_a_half_hour_zone_buckets_on_its_own_hours(db):
    delhi = Company.objects.create(name="Delhi", slug="delhi", time_zone="Asia/Kolkata")
    _shop_calls(
        delhi,
        [
            datetime(2026, 11, 22, 18, 29, 0, tzinfo=UTC),  # 23:59 on the 22nd in India
            datetime(2026, 11, 22, 18, 30, 0, tzinfo=UTC),  # 00:00 on the 23rd
            datetime(2026, 11, 23, 3, 29, 0, tzinfo=UTC),  # 08:59
            datetime(2026, 11, 23, 3, 30, 0, tzinfo=UTC),  # 09:00
        ],
    )
    report = interval_report(day_filter(delhi, day=date(2026, 11, 23)), "60")
    hits = [(r.period.label, r.figures.offered) for r in report.rows if r.figures.offered]
    assert hits == [
        ("2026-11-23 00:00+05:30", 1),
        ("2026-11-23 08:00+05:30", 1),
        ("2026-11-23 09:00+05:30", 1),
    ]
    assert report.total.figures.offered == 3


def test_the_database_groups_by_the_coarsest_grain_all_boundaries_share():
    def grain(zone, size):
        rows = periods(date(2026, 10, 25), date(2026, 10, 25), size, ZoneInfo(zone))
        return _grain([r.start for r in rows] + [rows[-1].end])

    assert grain("UTC", "day") == (86400, "day")
    assert grain("Europe/Rome", "day") == (3600, "hour")
    assert grain("Europe/Rome", "15") == (900, "hour")
    assert grain("Asia/Kolkata", "60") == (1800, "hour")
    assert grain("Asia/Kathmandu", "60") == (900, "hour")  # UTC+05:45
    assert grain("Africa/Monrovia", "60") == (3600, "hour")
    # Monrovia kept UTC-00:44:30 until 1972: boundaries off the minute, grouped by second.
    rows = periods(date(1970, 1, 2), date(1970, 1, 2), "60", ZoneInfo("Africa/Monrovia"))
    assert _grain([r.start for r in rows] + [rows[-1].end]) == (1, "second")


def test_a_zone_off_the_minute_still_buckets_exactly(db):
    monrovia = Company.objects.create(name="Old", slug="old", time_zone="Africa/Monrovia")
    # 09:00 local was 09:44:30 UTC: one second before and at the boundary.
    _shop_calls(
        monrovia,
        [
            datetime(1970, 1, 2, 9, 44, 29, tzinfo=UTC),
            datetime(1970, 1, 2, 9, 44, 30, tzinfo=UTC),
        ],
    )
    report = interval_report(day_filter(monrovia, day=date(1970, 1, 2)), "60")
    assert [(r.period.label, r.figures.offered) for r in report.rows if r.figures.offered] == [
        ("1970-01-02 08:00-00:44:30", 1),
        ("1970-01-02 09:00-00:44:30", 1),
    ]
