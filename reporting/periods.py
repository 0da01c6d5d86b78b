"""Report intervals in a company's time zone, correct on daylight-saving days.

design.md, "KPI definitions": intervals of 15, 30 and 60 minutes, days, weeks and months, in the
client company's time zone; daylight-saving days have 23 or 25 hours and half-hour zones exist:
bucket in the local zone, never by shifting UTC buckets. Storage is UTC.

Every boundary is a local wall time converted to UTC on its own (zoneinfo), stepping in wall
time, so that:

- a wall time that does not exist (the hour skipped in spring) is no boundary: a 23-hour day
  has 92 quarter-hours;
- a wall time that happens twice (the hour repeated in autumn) is a boundary twice, once per
  offset: a 25-hour day has 100 quarter-hours, and the labels keep the offset apart
  ("02:00+02:00", then "02:00+01:00");
- a day, week or month starts at the first instant whose local time is at or after its midnight
  (in the few zones whose clocks jump at midnight, the end of the gap).

Weeks start on Monday. Week and month intervals are clipped to the date range, so that the rows
of any report always add up to the range.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from django.db import models
from django.utils.translation import gettext_lazy as _


class IntervalSize(models.TextChoices):
    MINUTES_15 = "15", _("15 minutes")
    MINUTES_30 = "30", _("30 minutes")
    MINUTES_60 = "60", _("60 minutes")
    DAY = "day", _("day")
    WEEK = "week", _("week")
    MONTH = "month", _("month")


_MINUTES = {IntervalSize.MINUTES_15: 15, IntervalSize.MINUTES_30: 30, IntervalSize.MINUTES_60: 60}


@dataclass(frozen=True)
class Period:
    label: str  # the local start, as people read it
    local_start: datetime  # aware, in the company's zone
    start: datetime  # UTC, included
    end: datetime  # UTC, excluded


def _utc(wall: datetime, tz: ZoneInfo, fold: int) -> datetime:
    return wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)


def _wall(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def _occurrences(wall: datetime, tz: ZoneInfo) -> set[datetime]:
    """The UTC instants at which the clock shows `wall`: none, one, or two (autumn)."""
    instants = {_utc(wall, tz, fold) for fold in (0, 1)}
    return {u for u in instants if _wall(u, tz) == wall}


def first_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first UTC instant at which the local clock shows `wall` or later."""
    found = _occurrences(wall, tz)
    if found:
        return min(found)
    # In a spring gap: fold=1 reads the wall time with the later offset (an instant before the
    # jump), fold=0 with the earlier one (after it); the jump lies between, to the second.
    low, high = sorted((_utc(wall, tz, 1), _utc(wall, tz, 0)))
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) // 2
        if _wall(middle, tz) >= wall:
            high = middle
        else:
            low = middle
    return high


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min)


def local_range(date_from: date, date_to: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants [start, end) of the local days date_from to date_to, both included."""
    if date_from > date_to:
        raise ValueError(
            f"the range starts ({date_from.isoformat()}) after it ends ({date_to.isoformat()})"
        )
    return (
        first_instant(_midnight(date_from), tz),
        first_instant(_midnight(date_to + timedelta(days=1)), tz),
    )


def _calendar_starts(date_from: date, date_to: date, size: str) -> list[date]:
    """The local dates on which a day, week or month interval starts within the range."""
    starts, day = [date_from], date_from + timedelta(days=1)
    while day <= date_to:
        if (
            size == IntervalSize.DAY
            or (size == IntervalSize.WEEK and day.weekday() == 0)
            or (size == IntervalSize.MONTH and day.day == 1)
        ):
            starts.append(day)
        day += timedelta(days=1)
    return starts


def _label(local_start: datetime, size: str) -> str:
    if size == IntervalSize.DAY:
        return local_start.date().isoformat()
    if size == IntervalSize.WEEK:
        year, week, _weekday = local_start.date().isocalendar()
        return f"{year}-W{week:02d}"
    if size == IntervalSize.MONTH:
        return local_start.strftime("%Y-%m")
    return local_start.isoformat(sep=" ", timespec="minutes")


def periods(date_from: date, date_to: date, size: str, tz: ZoneInfo) -> list[Period]:
    """Every interval of `size` over the local days date_from to date_to, in order, tiling
    the range with no gap and no overlap."""
    size = IntervalSize(size)
    start, end = local_range(date_from, date_to, tz)
    boundaries = {start, end}
    if size in _MINUTES:
        step = timedelta(minutes=_MINUTES[size])
        wall, last = _midnight(date_from), _midnight(date_to + timedelta(days=1))
        while wall < last:
            boundaries |= _occurrences(wall, tz)
            wall += step
    else:
        boundaries |= {
            first_instant(_midnight(day), tz) for day in _calendar_starts(date_from, date_to, size)
        }
    ordered = sorted(b for b in boundaries if start <= b <= end)
    result = []
    for lower, upper in pairwise(ordered):
        local_start = lower.astimezone(tz)
        result.append(
            Period(label=_label(local_start, size), local_start=local_start, start=lower, end=upper)
        )
    return result
