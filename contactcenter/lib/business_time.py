"""Adding working time to an instant: SLA due times in a company's business hours.

Pure: the caller passes the calendar. Spans are wall-clock times in the company's zone, so a
09:00-18:00 day stays 09:00-18:00 across a daylight-saving change; elapsed time is measured in
UTC so that the 23- and 25-hour days count the hours that really pass.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Ten years of days without a single open hour means the calendar is unusable, not slow.
_MAX_DAYS = 3660


@dataclass(frozen=True)
class Calendar:
    tz: ZoneInfo
    # weekday (Monday = 0) -> opening spans as (opens, closes) wall-clock times
    hours: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    @classmethod
    def always_open(cls, tz: ZoneInfo, holidays: frozenset[date] = frozenset()) -> "Calendar":
        day = ((time.min, time.max),)
        return cls(tz=tz, hours=dict.fromkeys(range(7), day), holidays=holidays)


def _at(day: date, moment: time, tz: ZoneInfo) -> datetime:
    if moment == time.max:
        # "Until midnight": the start of the next day, so no microsecond is lost.
        return datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    return datetime.combine(day, moment, tzinfo=tz).astimezone(UTC)


def add_business_time(start: datetime, duration: timedelta, calendar: Calendar) -> datetime:
    """The instant at which `duration` of open time has passed since `start` (aware, any zone)."""
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    remaining = duration
    current = start.astimezone(UTC)
    day = current.astimezone(calendar.tz).date()
    if remaining <= timedelta(0):
        return current
    for _ in range(_MAX_DAYS):
        if day not in calendar.holidays:
            for opens, closes in sorted(calendar.hours.get(day.weekday(), ())):
                span_start = max(_at(day, opens, calendar.tz), current)
                span_end = _at(day, closes, calendar.tz)
                if span_end <= span_start:
                    continue
                available = span_end - span_start
                if remaining <= available:
                    return span_start + remaining
                remaining -= available
                current = span_end
        day += timedelta(days=1)
    raise ValueError("the business calendar has no open hours in ten years")
