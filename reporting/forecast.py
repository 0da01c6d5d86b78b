"""The staffing forecast: a week's calls per interval from the same weekday and interval of past
weeks, turned into agents with Erlang C, beside the agents who were logged in (issue 4, item 6).

The figures, in the words of `/work/shared/design.md` ("KPI definitions", "Staffing"):

- *Forecast calls* of an interval = the mean of the offered calls (calls that entered a queue and
  are over; open calls are left out) of the history intervals with the same local weekday and
  the same local wall-clock start. Intervals are the company's local ones (reporting/periods.py)
  and are matched by local time, never by UTC offset, so that 09:00 stays 09:00 across a
  daylight-saving change. The mean is over the history intervals that existed: a day whose clock
  repeats an hour (autumn) has that wall time twice, each a real interval of the cell (N + 1 of
  them); a day whose clock skips an hour (spring) has it N - 1 times; a cell that never occurred
  in the history has no forecast.
- *Forecast AHT* = (talk + hold + after-call work) / handled calls over the same history
  intervals. A cell with no handled call takes the company's AHT over the whole history (every
  queue), as the notes say.
- *Agents required*: Erlang C (`reporting.erlang.agents_required`) for the forecast calls and AHT
  over the interval's length, with the target answer time and service level and, if given, the
  maximum occupancy; *agents to schedule* add shrinkage, ceil(N / (1 - s)). The service level and
  occupancy shown are Erlang C's for the agents required.
- *Logged in last week*: the average number of agents logged in (any state but offline) during
  the same interval of the last week of history = logged-in agent-seconds / interval seconds,
  whatever queue the agents served.

The history is the N whole weeks just before the target week, or before the current week when
the target is this week or a later one: a week still going on would pull every mean down.

Everything over calls and agent states is aggregate SQL, grouped by UTC slots that each lie
within one local interval (the approach of queries.interval_report); Python folds the aggregate
rows, one per slot, into cells.
"""

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from contactcenter.tenancy.models import Company
from reporting.erlang import StaffingRequirement, agents_required
from reporting.periods import IntervalSize, Period, periods
from reporting.queries import (
    _AGGREGATES,
    CallFigures,
    Ratio,
    ReportFilter,
    _company_calls,
    _grain,
    _queue_offers,
    slot_start,
    slotted,
)
from reporting.report_tables import COUNT, RATIO, SECONDS, TEXT, Column, ReportTable
from reporting.states import state_seconds
from telephony.models import AgentState, Queue

INTERVAL_MINUTES = (15, 30, 60)
DEFAULT_WEEKS = 4
MAX_WEEKS = 12
DEFAULT_SERVICE_LEVEL = 0.8
# design.md: "Service level within T seconds (default 20)".
DEFAULT_ANSWER_SECONDS = 20
WEEK = timedelta(days=7)

# A cell of the week: the local weekday (Monday 0) and wall-clock start (hour, minute).
Cell = tuple[int, int, int]

_CALL_AGGREGATES = {
    name: _AGGREGATES[name]
    for name in ("k_offered", "k_answered", "k_talk_seconds", "k_hold_seconds", "k_wrap_up_seconds")
}


def _cell(period: Period) -> Cell:
    local = period.local_start
    return local.weekday(), local.hour, local.minute


def next_monday(today: date) -> date:
    """The Monday after `today` (a week later when `today` is a Monday): next week."""
    return today + timedelta(days=7 - today.weekday())


def history_mondays(week: date, weeks: int, today: date) -> list[date]:
    """The Mondays of the N whole weeks of history, oldest first (see the module's docstring)."""
    end = min(week, today - timedelta(days=today.weekday()))
    return [end - WEEK * n for n in range(weeks, 0, -1)]


# --- aggregate SQL ------------------------------------------------------------------------------


def _history_cells(f: ReportFilter, history: list[Period]) -> dict[Cell, CallFigures]:
    """Offered, handled and handle seconds of each cell, summed over the history's intervals."""
    starts = [p.start for p in history]
    grain, kind = _grain([*starts, history[-1].end])
    calls = _queue_offers(f) if f.queue_ids else _company_calls(f)
    cells: dict[Cell, CallFigures] = defaultdict(CallFigures)
    slots = slotted(calls, "offered_at", grain, kind).values("k_slot", "k_part")
    for row in slots.annotate(**_CALL_AGGREGATES):
        period = history[bisect.bisect_right(starts, slot_start(row, grain)) - 1]
        cells[_cell(period)] += CallFigures.from_row(row)
    return cells


def _company_history(f: ReportFilter) -> CallFigures:
    """The company's calls of the history, every queue, each call once."""
    whole = ReportFilter(companies=f.companies, date_from=f.date_from, date_to=f.date_to)
    return CallFigures.from_row(_company_calls(whole).aggregate(**_CALL_AGGREGATES))


def _logged_in_seconds(company: Company, week: list[Period]) -> list[float]:
    """The agent-seconds logged in (any state but offline) within each interval of one week
    that is over (reporting/states.py: two aggregate queries)."""
    logged_in = [state for state in AgentState.values if state != AgentState.OFFLINE]
    by_state = state_seconds([company.pk], week, logged_in)
    return [sum(seconds) for seconds in zip(*by_state.values(), strict=True)] or [0.0] * len(week)


# --- the forecast -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForecastRow:
    period: Period
    history_intervals: int  # the history intervals of its cell (N, or N ± 1 around DST)
    calls: float | None  # None: the cell never occurred in the history
    aht_seconds: float | None  # None: no handled call in the whole history
    aht_is_fallback: bool  # the company's AHT over the history, for want of handled calls
    requirement: StaffingRequirement | None
    logged_in: float | None  # None: the cell did not occur in the last week of history

    @property
    def weekday(self) -> int:
        return self.period.local_start.weekday()


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _percent(fraction: float | None) -> float | None:
    return None if fraction is None else round(fraction * 100, 2)


def _percent_text(fraction: float) -> str:
    return f"{round(fraction * 100, 2):g} %"


@dataclass(frozen=True)
class StaffingForecast:
    company: Company
    queue: Queue | None
    interval_minutes: int
    week: date
    history: list[date]  # the Mondays of the history weeks, oldest first
    answer_seconds: int
    answer_seconds_source: str
    service_level: float
    max_occupancy: float | None
    shrinkage: float
    history_aht: Ratio  # the company's, over the whole history: the fallback
    rows: list[ForecastRow]

    @property
    def logged_in_week(self) -> date:
        return self.history[-1]

    @property
    def total_calls(self) -> float:
        return sum(r.calls for r in self.rows if r.calls is not None)

    def total_aht(self) -> float | None:
        """The forecast handle seconds over the forecast calls of the week."""
        timed = [r for r in self.rows if r.calls and r.aht_seconds is not None]
        calls = sum(r.calls for r in timed)
        return sum(r.calls * r.aht_seconds for r in timed) / calls if calls else None

    def notes(self) -> list[tuple[str, str]]:
        last_day = self.week + timedelta(days=6)
        history_end = self.history[-1] + timedelta(days=6)
        notes = [
            (_("Client company"), self.company.name),
            (_("Time zone"), self.company.time_zone),
            (_("Queue"), self.queue.name if self.queue else _("All queues")),
            (_("Interval"), str(IntervalSize(str(self.interval_minutes)).label)),
            (_("Forecast week"), f"{self.week.isoformat()} - {last_day.isoformat()}"),
            (
                _("History"),
                ngettext(
                    "%(weeks)s week, %(start)s - %(end)s: the offered calls of the same "
                    "weekday and local interval",
                    "%(weeks)s weeks, %(start)s - %(end)s: the mean of the offered calls of the "
                    "same weekday and local interval",
                    len(self.history),
                )
                % {
                    "weeks": len(self.history),
                    "start": self.history[0].isoformat(),
                    "end": history_end.isoformat(),
                },
            ),
            (
                _("Target answer time"),
                _("%(seconds)s s (%(source)s)")
                % {"seconds": self.answer_seconds, "source": self.answer_seconds_source},
            ),
            (_("Target service level"), _percent_text(self.service_level)),
            (
                _("Maximum occupancy"),
                _("No limit") if self.max_occupancy is None else _percent_text(self.max_occupancy),
            ),
            (_("Shrinkage"), _percent_text(self.shrinkage)),
        ]
        fallbacks = sum(1 for r in self.rows if r.aht_is_fallback)
        if fallbacks:
            notes.append(
                (
                    _("AHT fallback"),
                    ngettext(
                        "%(intervals)s interval with no handled call in its history takes the "
                        "company's AHT over the whole history: %(aht)s s",
                        "%(intervals)s intervals with no handled call in their history take the "
                        "company's AHT over the whole history: %(aht)s s",
                        fallbacks,
                    )
                    % {"intervals": fallbacks, "aht": f"{self.history_aht.value:.2f}"},
                )
            )
        unstaffed = sum(1 for r in self.rows if r.calls and r.requirement is None)
        if unstaffed:
            notes.append(
                (
                    _("No AHT"),
                    ngettext(
                        "No call of the history was handled: %(intervals)s interval with "
                        "forecast calls has no staffing.",
                        "No call of the history was handled: %(intervals)s intervals with "
                        "forecast calls have no staffing.",
                        unstaffed,
                    )
                    % {"intervals": unstaffed},
                )
            )
        unknown = sum(1 for r in self.rows if r.calls is None)
        if unknown:
            notes.append(
                (
                    _("No history"),
                    ngettext(
                        "%(intervals)s interval never occurred in the history (a "
                        "daylight-saving change): no forecast.",
                        "%(intervals)s intervals never occurred in the history (a "
                        "daylight-saving change): no forecast.",
                        unknown,
                    )
                    % {"intervals": unknown},
                )
            )
        notes.append(
            (
                _("Logged in"),
                _(
                    "Average agents logged in (any state but offline) in the same interval of "
                    "the week of %(week)s"
                )
                % {"week": self.logged_in_week.isoformat()},
            )
        )
        notes.append(
            (
                _("Model"),
                _(
                    "Erlang C: service level and occupancy of the agents required; agents to "
                    "schedule = agents required / (1 - shrinkage), rounded up."
                ),
            )
        )
        return notes

    def table(self) -> ReportTable:
        columns = [
            Column("interval", _("Interval"), TEXT),
            Column("weekday", _("Weekday"), TEXT),
            Column("calls", _("Forecast calls"), COUNT),
            Column("aht", _("Forecast AHT"), SECONDS),
            Column("agents", _("Agents required"), COUNT),
            Column("scheduled_agents", _("Agents to schedule (with shrinkage)"), COUNT),
            Column("service_level", _("Service level (Erlang C)"), RATIO),
            Column("occupancy", _("Occupancy"), RATIO),
            Column("logged_in", _("Logged in last week (agents)"), COUNT),
        ]
        rows = []
        for row in self.rows:
            requirement = row.requirement
            rows.append(
                {
                    "interval": row.period.label,
                    "weekday": str(WEEKDAYS[row.weekday]),
                    "calls": _rounded(row.calls, 2),
                    "aht": _rounded(row.aht_seconds, 2),
                    "agents": requirement and requirement.agents,
                    "scheduled_agents": requirement and requirement.scheduled_agents,
                    "service_level": requirement and requirement.service_level,
                    "occupancy": requirement and requirement.occupancy,
                    "logged_in": _rounded(row.logged_in, 2),
                }
            )
        total = dict.fromkeys(c.key for c in columns) | {
            "interval": _("Total"),
            "calls": round(self.total_calls, 2),
            "aht": _rounded(self.total_aht(), 2),
        }
        return ReportTable(
            title=_("Staffing forecast"),
            columns=columns,
            rows=rows,
            total=total,
            notes=self.notes(),
        )

    def as_dict(self) -> dict:
        def row_dict(row: ForecastRow) -> dict:
            requirement = row.requirement
            return {
                "interval": row.period.label,
                "start": row.period.start.isoformat(),
                "end": row.period.end.isoformat(),
                "weekday": row.period.local_start.isoweekday(),
                "history_intervals": row.history_intervals,
                "forecast_calls": _rounded(row.calls, 2),
                "forecast_aht_seconds": _rounded(row.aht_seconds, 2),
                "aht_is_fallback": row.aht_is_fallback,
                "traffic_erlangs": requirement and round(requirement.traffic_erlangs, 4),
                "agents": requirement and requirement.agents,
                "scheduled_agents": requirement and requirement.scheduled_agents,
                "service_level_percent": requirement and _percent(requirement.service_level),
                "occupancy_percent": requirement and _percent(requirement.occupancy),
                "logged_in_agents": _rounded(row.logged_in, 2),
            }

        return {
            "report": "staffing_forecast",
            "company": self.company.slug,
            "time_zone": self.company.time_zone,
            "queue": self.queue.code if self.queue else None,
            "interval": self.interval_minutes,
            "week": self.week.isoformat(),
            "history_weeks": [monday.isoformat() for monday in self.history],
            "logged_in_week": self.logged_in_week.isoformat(),
            "answer_seconds": self.answer_seconds,
            "service_level_percent": _percent(self.service_level),
            "max_occupancy_percent": _percent(self.max_occupancy),
            "shrinkage_percent": _percent(self.shrinkage),
            "history_aht_seconds": _rounded(self.history_aht.value, 2),
            "notes": [{"label": str(k), "value": str(v)} for k, v in self.notes()],
            "rows": [row_dict(r) for r in self.rows],
            "total": {
                "forecast_calls": round(self.total_calls, 2),
                "forecast_aht_seconds": _rounded(self.total_aht(), 2),
            },
        }


def target_answer_seconds(company: Company, queue: Queue | None, entered: int | None):
    """The target answer time T, and where it comes from: as entered, else the queue's
    threshold, else the company's queues' (the strictest, when they differ), else 20 s."""
    if entered is not None:
        return entered, _("as entered")
    if queue is not None:
        return queue.service_level_seconds, _("the %(queue)s queue's threshold") % {
            "queue": queue.name
        }
    thresholds = sorted(
        set(Queue.objects.for_tenant(company).values_list("service_level_seconds", flat=True))
    )
    if len(thresholds) == 1:
        return thresholds[0], _("the threshold of every queue")
    if thresholds:
        return thresholds[0], _("the strictest of the queues' thresholds: %(seconds)s s") % {
            "seconds": ", ".join(str(t) for t in thresholds)
        }
    return DEFAULT_ANSWER_SECONDS, _("the default: the company has no queue")


def _requirement(
    calls: float | None, aht: float | None, seconds: float, targets: dict
) -> StaffingRequirement | None:
    if calls is None or (calls and aht is None):
        return None
    if not calls or not aht:
        # No traffic (no calls, or calls that take no time) needs no agents; agents_required
        # wants an AHT above 0 all the same, and reads none of it.
        return agents_required(calls=0, interval_seconds=seconds, aht_seconds=1, **targets)
    return agents_required(calls=calls, interval_seconds=seconds, aht_seconds=aht, **targets)


def staffing_forecast(
    company: Company,
    *,
    queue: Queue | None = None,
    interval_minutes: int = 30,
    week: date | None = None,
    weeks: int = DEFAULT_WEEKS,
    answer_seconds: int | None = None,
    service_level: float = DEFAULT_SERVICE_LEVEL,
    max_occupancy: float | None = None,
    shrinkage: float = 0.0,
    now: datetime | None = None,
) -> StaffingForecast:
    """The forecast of one company (or one of its queues) for the week starting on `week` (a
    Monday; next week by default, in the company's zone). The service level, occupancy and
    shrinkage are fractions (0.8 for 80 %)."""
    if interval_minutes not in INTERVAL_MINUTES:
        raise ValueError(f"interval_minutes must be one of {INTERVAL_MINUTES}")
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"weeks must be from 1 to {MAX_WEEKS}")
    if queue is not None and queue.company_id != company.pk:
        raise ValueError("the queue is not one of the company's")
    tz = company.zoneinfo
    today = (now or timezone.now()).astimezone(tz).date()
    week = week or next_monday(today)
    if week.weekday() != 0:
        raise ValueError(f"the week must start on a Monday, not on {week.isoformat()}")
    size = str(interval_minutes)
    mondays = history_mondays(week, weeks, today)
    history = periods(mondays[0], mondays[-1] + timedelta(days=6), size, tz)
    f = ReportFilter(
        companies=(company,),
        date_from=mondays[0],
        date_to=mondays[-1] + timedelta(days=6),
        queue_ids=(queue.pk,) if queue else (),
    )
    cells = _history_cells(f, history)
    occurrences: dict[Cell, int] = defaultdict(int)
    for period in history:
        occurrences[_cell(period)] += 1
    history_aht = _company_history(f).aht()

    last_week = periods(mondays[-1], mondays[-1] + timedelta(days=6), size, tz)
    # {cell: [logged-in agent-seconds, interval seconds]} over the cell's intervals last week.
    logged: dict[Cell, list[float]] = {}
    for period, seconds in zip(last_week, _logged_in_seconds(company, last_week), strict=True):
        parts = logged.setdefault(_cell(period), [0.0, 0.0])
        parts[0] += seconds
        parts[1] += (period.end - period.start).total_seconds()

    answer_seconds, source = target_answer_seconds(company, queue, answer_seconds)
    targets = {
        "target_answer_seconds": answer_seconds,
        "target_service_level": service_level,
        "max_occupancy": max_occupancy,
        "shrinkage": shrinkage,
    }
    rows = []
    for period in periods(week, week + timedelta(days=6), size, tz):
        cell = _cell(period)
        figures = cells.get(cell, CallFigures())
        count = occurrences.get(cell, 0)
        calls = figures.offered / count if count else None
        if figures.answered:
            aht, fallback = figures.aht().value, False
        else:
            aht, fallback = history_aht.value, history_aht.value is not None
        seconds = (period.end - period.start).total_seconds()
        logged_in = logged[cell][0] / logged[cell][1] if cell in logged else None
        rows.append(
            ForecastRow(
                period=period,
                history_intervals=count,
                calls=calls,
                aht_seconds=aht,
                aht_is_fallback=fallback,
                requirement=_requirement(calls, aht, seconds, targets),
                logged_in=logged_in,
            )
        )
    return StaffingForecast(
        company=company,
        queue=queue,
        interval_minutes=interval_minutes,
        week=week,
        history=mondays,
        answer_seconds=answer_seconds,
        answer_seconds_source=source,
        service_level=service_level,
        max_occupancy=max_occupancy,
        shrinkage=shrinkage,
        history_aht=history_aht,
        rows=rows,
    )
