"""The KPI report pages (issue 4, items 2 and 3): queues, agents, intervals and client companies
side by side, each with its filters in the URL, the notes that say what the figures mean, a
sortable table with its total, plotly charts, CSV and XLSX exports, and drill-down to the calls.

The figures are those of reporting/queries.py (design.md, "KPI definitions"); this module only
reads the filters, runs one report and shapes it. reporting/api_reports.py answers the same
parameters as JSON through `report_form`, `run_report` and `report_data`.

Drill-down. Every count of calls links to the call log (telephony/views/calls.py) with the
filters of CallFilterForm that list exactly the calls behind it: the row's companies, queue (or
"queued" for every queue), agent, team and direction; its range as local days where the
viewer's zone reads them as the report does, else as two instants (`start`, `end`: sub-day
intervals, a viewer in another zone); "state" over or open where calls still going on would
otherwise be listed; the figure's outcome, "transferred". A queue that calls overflowed from
counts them in its offered and timed-out figures (queries.py, `_overflow_offers`): those two
link with `visited_queue`. A figure stays plain text only where the call log cannot list its
calls exactly:

- a total over companies whose zones count different days (no one range selects them);
- the agent page's total without a team or agent filter (the call log cannot tell every
  agent's calls from those no agent answered);
- a queue where a call of the range is offered twice (it came back to the queue after
  overflowing from it): its offered and timed-out figures count it twice, the call log once;
- ring-no-answer and durations, which are not counts of calls.

Who: supervisors, client managers and administrators (`KPI_ROLES`), each for the companies
where they hold such a role; a user with none gets 403, a company slug they may not read 404.
"""

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import django_tables2 as tables
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Q
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from django_tables2 import RequestConfig

from contactcenter.tenancy.models import Company
from reporting import charts
from reporting.exports import FORMATS, export_response
from reporting.forms import ReportFilterForm
from reporting.queries import (
    AgentReport,
    IntervalReport,
    QueueReport,
    Ratio,
    ReportError,
    ReportFilter,
    _agents_in,
    _in_range,
    agent_report,
    interval_report,
    queue_report,
    report_companies,
)
from reporting.report_tables import TEXT, Column, ReportTable, display, table_class
from reporting.states import state_seconds
from reporting.ticket_queries import CHANNEL, GROUPS, TIER, ticket_report
from telephony.forms import OPEN, OTHER_ENDINGS, OVER, day_range
from telephony.models import AgentState, Call, QueueVisit

QUEUES, AGENTS, INTERVALS, COMPANIES, TICKETS = (
    "queues",
    "agents",
    "intervals",
    "companies",
    "tickets",
)
PER_PAGE = 100
TEMPLATE = "reporting/report.html"

# Hidden keys of a page's table rows (django-tables2 and the exports read only the columns').
ROW_KEY, LINKS = "_row", "_links"


@dataclass(frozen=True)
class ReportKind:
    name: str
    title: Promise
    url_name: str
    with_interval: bool = False


KINDS = {
    QUEUES: ReportKind(QUEUES, gettext_lazy("Queue report"), "reporting:queues"),
    AGENTS: ReportKind(AGENTS, gettext_lazy("Agent report"), "reporting:agents"),
    INTERVALS: ReportKind(
        INTERVALS, gettext_lazy("Interval report"), "reporting:intervals", with_interval=True
    ),
    COMPANIES: ReportKind(COMPANIES, gettext_lazy("Client companies"), "reporting:companies"),
    TICKETS: ReportKind(TICKETS, gettext_lazy("Ticket report"), "reporting:tickets"),
}


# --- filters and reports, shared with the API ---------------------------------------------------


def report_form(params, user, *, kind: str) -> ReportFilterForm:
    """The filter form over the companies whose KPIs the user reads: 403 if there are none (an
    agent everywhere), 404 for a company slug among the parameters that is not one of them (as
    `queries.report_companies` answers: "not yours" looks like "missing")."""
    companies = report_companies(user)
    if not companies:
        raise PermissionDenied
    readable = {c.slug for c in companies}
    if any(slug not in readable for slug in params.getlist("company") if slug):
        raise Http404
    return ReportFilterForm(params, companies=companies, with_interval=KINDS[kind].with_interval)


def run_report(kind: str, form: ReportFilterForm):
    """The report for a valid form, or None with the refusal added to the form's errors."""
    try:
        report_filter = form.report_filter()
        if kind in (QUEUES, COMPANIES):
            return queue_report(report_filter)
        if kind == AGENTS:
            return agent_report(report_filter)
        if kind == TICKETS:
            return ticket_report(report_filter)
        return interval_report(report_filter, form.cleaned_data["interval"])
    except ReportError as error:
        # The form has already checked the dates and the direction: what is left is about the
        # companies chosen (intervals need one time zone).
        form.add_error("company", str(error))
        return None


def companies_data(report: QueueReport) -> dict:
    """The client companies side by side: each company's total of the queue report."""
    data = report.as_dict()
    return {
        "report": COMPANIES,
        "from": data["from"],
        "to": data["to"],
        "companies": data["companies"],
        "rows": data["company_totals"],
        "total": data["total"],
    }


def report_table(kind: str, report, group: str = CHANNEL) -> ReportTable:
    if kind == TICKETS:
        return report.table(group)
    return companies_table(report) if kind == COMPANIES else report.table()


def report_data(kind: str, report) -> dict:
    """The API's answer: the report with every ratio's numerator and denominator, and the notes
    that say what the figures mean."""
    data = companies_data(report) if kind == COMPANIES else report.as_dict()
    return {**data, "notes": report_table(kind, report).as_json()["notes"]}


# The queue table's columns that describe a queue rather than count its calls.
_QUEUE_ONLY = ("company", "queue", "threshold", "short_abandon_threshold")


def _figure_value(figures, service_level: Ratio, key: str):
    value = service_level if key == "service_level" else figures.figure(key)
    return value.value if isinstance(value, Ratio) else value


def companies_table(report: QueueReport) -> ReportTable:
    queue_table = report.table()
    figure_columns = [c for c in queue_table.columns if c.key not in _QUEUE_ONLY]
    totals = {t.company_id: t for t in report.company_totals}
    rows = []
    for info in report.companies:
        total = totals[info.id]
        rows.append(
            {
                "company": info.name,
                **{
                    c.key: _figure_value(total.figures, total.service_level, c.key)
                    for c in figure_columns
                },
                ROW_KEY: f"company-{info.slug}",
            }
        )
    return ReportTable(
        title=_("Client companies"),
        columns=[Column("company", _("Client company"), TEXT), *figure_columns],
        rows=rows,
        total={
            "company": _("Total"),
            **{c.key: queue_table.total[c.key] for c in figure_columns},
        },
        notes=queue_table.notes,
    )


# --- drill-down ---------------------------------------------------------------------------------

# The call log's filters (telephony.forms.CallFilterForm) that pick each figure's calls among
# a row's calls.
CALL_LOG_FILTERS = {
    "offered": {},
    "answered": {"outcome": Call.Outcome.ANSWERED},
    "handled": {"outcome": Call.Outcome.ANSWERED},
    "abandoned": {"outcome": Call.Outcome.ABANDONED},
    "short_abandons": {"outcome": Call.Outcome.SHORT_ABANDON},
    "timeouts": {"outcome": Call.Outcome.TIMEOUT},
    "exits_key": {"outcome": Call.Outcome.EXIT_KEY},
    "exits_empty": {"outcome": Call.Outcome.EXIT_EMPTY},
    "other_outcomes": {"outcome": OTHER_ENDINGS},
    "transferred": {"outcome": Call.Outcome.ANSWERED, "transferred": "1"},
    "open_calls": {"state": OPEN},
}
# Figures of calls that are over whose filters alone would also list the row's open calls
# (the other outcomes are only ever those of calls that have ended).
_OVER_ONLY = ("offered", "answered", "handled", "transferred")
# A queue's figures that count the offers of calls that overflowed from it (QueueVisit).
_WITH_OVERFLOWS = ("offered", "timeouts")

Window = tuple[datetime, datetime]


def _query(params: dict) -> str:
    # Colons stay as they are: start=2026-11-16T09:00:00%2B03:00 reads as a time.
    return urlencode(params, doseq=True, safe=":")


def _window_params(start: datetime, end: datetime, zone: str) -> dict:
    """The call log's filter for calls offered in [start, end): its days where they select
    exactly that (it reads days in the viewer's zone), else the two instants, written in the
    report's zone."""
    first = timezone.localdate(start)
    last = timezone.localdate(end) - timedelta(days=1)
    if first <= last and day_range(first, last) == (start, end):
        return {"date_from": first.isoformat(), "date_to": last.isoformat()}
    tz = ZoneInfo(zone)
    return {"start": start.astimezone(tz).isoformat(), "end": end.astimezone(tz).isoformat()}


def _common_window(ranges: dict[int, Window], companies: Sequence[Company]) -> Window | None:
    """The range of the companies' local days (`ranges`: ReportFilter.utc_ranges), or None when
    they count different days (zones apart): then no one call-log range selects their calls."""
    found = {ranges[c.pk] for c in companies}
    return found.pop() if len(found) == 1 else None


def _call_log_params(
    f: ReportFilter,
    companies: Sequence[Company],
    window: Window | None,
    *,
    queue_id: int | None = None,
    agent_id: int | None = None,
    queued: bool = True,
    overflows: bool = False,
) -> dict | None:
    """The call log's filters for the calls of one row: those of `companies` offered within
    `window` (None: they cannot be selected), with the row's queue or agent pinned and the
    report's other filters. `queued`: the row counts only calls that went through a queue.
    `overflows`: with the calls that overflowed from the row's queue."""
    if window is None:
        return None
    params: dict[str, Any] = {"company": [c.slug for c in companies]}
    if queue_id is not None:
        params["visited_queue" if overflows else "queue"] = queue_id
    elif f.queue_ids:
        params["queue"] = list(f.queue_ids)
    elif queued:
        params["queued"] = "1"
    params |= _window_params(*window, companies[0].time_zone)
    if f.direction:
        params["direction"] = f.direction
    if agent_id is not None:
        params["agent"] = agent_id
    else:
        if f.team_ids:
            params["team"] = list(f.team_ids)
        if f.agent_ids:
            params["agent"] = list(f.agent_ids)
    return params


def _links(
    columns: list[Column], params: dict | None, *, any_open: bool, path: str
) -> dict[str, str]:
    """{column key: call-log URL} for a row; `any_open`: some call of the row is still open;
    `path`: the call log's (reversed once per table: a month of quarter-hours is 3,000 rows)."""
    if params is None:
        return {}
    row = f"{path}?{_query(params)}"
    links = {}
    for column in columns:
        if column.drill in CALL_LOG_FILTERS:
            figure = _figure_query(column.drill, over=column.drill in _OVER_ONLY and any_open)
            links[column.key] = f"{row}&{figure}" if figure else row
    return links


@functools.cache
def _figure_query(drill: str, *, over: bool) -> str:
    return _query(({"state": OVER} if over else {}) | CALL_LOG_FILTERS[drill])


def _with_drills(columns: list[Column]) -> list[Column]:
    return [
        replace(c, drill=c.key) if c.key in CALL_LOG_FILTERS and c.kind != TEXT else c
        for c in columns
    ]


def _offered_twice(f: ReportFilter, queue_ids) -> set[int]:
    """Queues among `queue_ids` where a call of the report is offered more than once: it left
    the queue twice, or came back to it to end there. The queue's offered counts it twice, the
    call log lists it once. (One small query, made only when calls overflowed.)"""
    visits = QueueVisit.objects.filter(
        _in_range(f.utc_ranges(), "entered_at"),
        queue_id__in=queue_ids,
        call__ended_at__isnull=False,
    ).order_by()
    agents = _agents_in(f)
    if agents is not None:
        visits = visits.filter(call__agent_id__in=agents)
    if f.direction:
        visits = visits.filter(call__direction=f.direction)
    repeated = (
        visits.values("queue_id", "call_id")
        .annotate(k_visits=Count("id"), k_back=Count("id", filter=Q(call__queue_id=F("queue_id"))))
        .filter(Q(k_visits__gt=1) | Q(k_back__gt=0))
    )
    return {row["queue_id"] for row in repeated}


def _queue_page_table(report: QueueReport) -> ReportTable:
    table = report.table()
    columns = _with_drills(table.columns)
    path = reverse("telephony:call_list")
    f = report.filter
    ranges = f.utc_ranges()
    companies = {c.pk: c for c in f.companies}
    overflowed = report.overflowed_queue_ids
    offered_twice = _offered_twice(f, overflowed) if overflowed else set()
    overflow_columns = [c for c in columns if c.drill in _WITH_OVERFLOWS]
    for values, row in zip(table.rows, report.rows, strict=True):
        company = companies[row.company_id]
        window = ranges[row.company_id]
        params = _call_log_params(f, [company], window, queue_id=row.queue_id)
        values[ROW_KEY] = f"queue-{row.queue_id}"
        links = _links(columns, params, any_open=row.figures.open_calls > 0, path=path)
        if row.queue_id in overflowed:
            # Offered and timed out here are also the calls that overflowed to another queue,
            # which the call log lists under their last queue unless asked for this one's
            # visits; those figures count offers, over calls only.
            for key in _WITH_OVERFLOWS:
                links.pop(key, None)
            if row.queue_id not in offered_twice:
                visits = _call_log_params(
                    f, [company], window, queue_id=row.queue_id, overflows=True
                )
                links |= _links(
                    overflow_columns, visits | {"state": OVER}, any_open=False, path=path
                )
        values[LINKS] = links
    params = _call_log_params(f, f.companies, _common_window(ranges, f.companies))
    table.total[LINKS] = _links(
        columns, params, any_open=report.total.figures.open_calls > 0, path=path
    )
    return replace(table, columns=columns)


def _open_answered_agents(f: ReportFilter) -> set[int]:
    """Agents on an answered call still going on among the report's calls: the call log would
    list it beside their handled calls. (One small query; the agent report does not count
    open calls per agent.)"""
    calls = Call.objects.filter(
        _in_range(f.utc_ranges(), "offered_at"),
        outcome=Call.Outcome.ANSWERED,
        ended_at__isnull=True,
        agent__isnull=False,
    )
    if f.queue_ids:
        calls = calls.filter(queue_id__in=f.queue_ids)
    if f.direction:
        calls = calls.filter(direction=f.direction)
    return set(calls.order_by().values_list("agent_id", flat=True).distinct())


def _agent_page_table(report: AgentReport) -> ReportTable:
    table = report.table()
    columns = [replace(c, drill="handled") if c.key == "handled" else c for c in table.columns]
    path = reverse("telephony:call_list")
    f = report.filter
    ranges = f.utc_ranges()
    companies = {c.pk: c for c in f.companies}
    still_on_calls = _open_answered_agents(f) if report.rows else set()
    for values, row in zip(table.rows, report.rows, strict=True):
        params = _call_log_params(
            f,
            [companies[row.company_id]],
            ranges[row.company_id],
            agent_id=row.agent_id,
            queued=False,
        )
        values[ROW_KEY] = f"agent-{row.agent_id}"
        values[LINKS] = _links(columns, params, any_open=row.agent_id in still_on_calls, path=path)
    if f.team_ids or f.agent_ids:
        # The total's calls are those of the team or the agents chosen. Without either, they
        # are every agent's, which the call log cannot tell from the calls no agent answered.
        params = _call_log_params(f, f.companies, _common_window(ranges, f.companies), queued=False)
        table.total[LINKS] = _links(columns, params, any_open=bool(still_on_calls), path=path)
    return replace(table, columns=columns)


def _interval_page_table(report: IntervalReport) -> ReportTable:
    table = report.table()
    columns = _with_drills(table.columns)
    path = reverse("telephony:call_list")
    f = report.filter
    ranges = f.utc_ranges()
    for values, row in zip(table.rows, report.rows, strict=True):
        values[ROW_KEY] = row.period.label
        params = _call_log_params(f, f.companies, (row.period.start, row.period.end))
        values[LINKS] = _links(columns, params, any_open=row.figures.open_calls > 0, path=path)
    params = _call_log_params(f, f.companies, _common_window(ranges, f.companies))
    table.total[LINKS] = _links(
        columns, params, any_open=report.total.figures.open_calls > 0, path=path
    )
    return replace(table, columns=columns)


def _companies_page_table(report: QueueReport, query: dict) -> ReportTable:
    """Each company's name links to its queue report for the same filters, its figures to
    their calls."""
    table = companies_table(report)
    columns = [replace(table.columns[0], drill=QUEUES), *_with_drills(table.columns[1:])]
    path = reverse("telephony:call_list")
    f = report.filter
    ranges = f.utc_ranges()
    companies = {c.pk: c for c in f.companies}
    totals = {t.company_id: t for t in report.company_totals}
    queues_url = reverse(KINDS[QUEUES].url_name)
    for values, info in zip(table.rows, report.companies, strict=True):
        params = _call_log_params(f, [companies[info.id]], ranges[info.id])
        any_open = totals[info.id].figures.open_calls > 0
        values[LINKS] = {
            "company": queues_url + "?" + urlencode(query | {"company": [info.slug]}, doseq=True),
            **_links(columns, params, any_open=any_open, path=path),
        }
    params = _call_log_params(f, f.companies, _common_window(ranges, f.companies))
    table.total[LINKS] = _links(
        columns, params, any_open=report.total.figures.open_calls > 0, path=path
    )
    return replace(table, columns=columns)


# --- the pages ----------------------------------------------------------------------------------


def _page_table(kind: str, report, query: dict) -> ReportTable:
    if kind == TICKETS:
        # Tickets by channel, or by support tier with ?group=tier: no call log behind them.
        group = (query.get("group") or [CHANNEL])[0]
        return report.table(group if group in GROUPS else CHANNEL)
    if kind == QUEUES:
        return _queue_page_table(report)
    if kind == AGENTS:
        return _agent_page_table(report)
    if kind == INTERVALS:
        return _interval_page_table(report)
    return _companies_page_table(report, query)


def _charts(kind: str, report, table: ReportTable) -> list[dict[str, Any]]:
    if kind == TICKETS:
        return []
    if kind == QUEUES:
        several = len(report.companies) > 1
        names = {c.id: c.name for c in report.companies}
        rows = [
            {
                "queue": f"{r.name} ({names[r.company_id]})" if several else r.name,
                "avg_talk": r.figures.average_talk().value,
                "avg_hold": r.figures.average_hold().value,
                "avg_wrap_up": r.figures.average_wrap_up().value,
            }
            for r in report.rows
        ]
        return [{"id": "chart-aht-parts", "figure": charts.handle_time_parts(rows, "queue")}]
    if kind == AGENTS:
        states = [(s, label) for s, label in AgentState.choices if s != AgentState.OFFLINE]
        rows = [
            {"agent": r.name, **{f"state_{s}": r.figures.seconds_in(s) for s, _label in states}}
            for r in report.rows
        ]
        return [{"id": "chart-agent-states", "figure": charts.agent_states(rows, states, "agent")}]
    label_key = "interval" if kind == INTERVALS else "company"
    figure = charts.volume_and_service_level(table.rows, label_key=label_key)
    found = [{"id": "chart-volume", "figure": figure}]
    if kind == INTERVALS and report.rows:
        found.append({"id": "chart-states", "figure": _states_over_time(report)})
    return found


def _states_over_time(report) -> dict:
    """Agent states over the range, interval by interval: where the agents' time went."""
    states = [(s, label) for s, label in AgentState.choices if s != AgentState.OFFLINE]
    periods = [row.period for row in report.rows]
    seconds = state_seconds(
        report.filter.company_ids,
        periods,
        [s for s, _label in states],
        agents=_agents_in(report.filter),
    )
    rows = [
        {
            "interval": period.label,
            **{f"state_{s}": seconds.get(s, [0.0] * len(periods))[i] for s, _label in states},
        }
        for i, period in enumerate(periods)
    ]
    return charts.agent_states(rows, states, "interval")


def _html_table(request, table: ReportTable) -> tables.Table:
    base = table_class(table, link=lambda column, row: row.get(LINKS, {}).get(column.key))
    meta = type(
        "Meta",
        (base.Meta,),
        {
            "attrs": {"class": "report-table", "id": "report-table"},
            "row_attrs": {"data-row": lambda record: record.get(ROW_KEY, "")},
            "empty_text": _("No figures for these filters."),
        },
    )
    html_table = type("ReportPageTable", (base,), {"Meta": meta})(table.rows)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(html_table)
    # The total stays below whatever order the rows are sorted in (report_table.html).
    html_table.total_cells = (
        [_total_cell(c, table.total) for c in table.columns] if table.total else []
    )
    return html_table


def _total_cell(column: Column, total: dict) -> dict:
    value = total.get(column.key)
    text = display(value, column.kind)
    url = total.get(LINKS, {}).get(column.key) if value else None
    return {
        "kind": column.kind,
        "text": format_html('<a href="{}">{}</a>', url, text) if url else text,
    }


def _filename(kind: str, f: ReportFilter) -> str:
    who = f.companies[0].slug if len(f.companies) == 1 else "all"
    return f"{kind}-{who}-{f.date_from.isoformat()}-{f.date_to.isoformat()}"


def _tabs(current: str, query: dict) -> list[dict]:
    """The four reports, each with the same filters (the interval only where it applies)."""
    shared = {k: v for k, v in query.items() if k != "interval"}
    return [
        {
            "name": kind.name,
            "label": kind.title,
            "url": reverse(kind.url_name) + "?" + urlencode(shared, doseq=True),
            "current": kind.name == current,
        }
        for kind in KINDS.values()
    ]


def _page(request, kind: str):
    if kind == INTERVALS and not any(request.GET.getlist("company")):
        # Intervals need one time zone: a user of companies in several zones starts with the
        # first of them rather than with a refusal.
        companies = report_companies(request.user)
        if len({c.time_zone for c in companies}) > 1:
            params = request.GET.copy()
            params.setlist("company", [companies[0].slug])
            return redirect(f"{request.path}?{params.urlencode()}")
    form = report_form(request.GET, request.user, kind=kind)
    report = run_report(kind, form) if form.is_valid() else None
    context = {"title": KINDS[kind].title, "kind": kind, "form": form}
    if report is None:
        asked = {k: v for k, v in request.GET.lists() if k in form.fields}
        return render(request, TEMPLATE, context | {"tabs": _tabs(kind, asked)})
    query = form.query()
    if kind == TICKETS and request.GET.get("group") in GROUPS:
        query["group"] = [request.GET["group"]]
    table = _page_table(kind, report, query)
    export = request.GET.get("export")
    if export:
        if export not in FORMATS:
            return HttpResponseBadRequest(
                _("Unknown export format %(format)s: choose csv or xlsx.") % {"format": export}
            )
        return export_response(table, export, _filename(kind, report.filter))
    here = reverse(KINDS[kind].url_name) + "?" + urlencode(query, doseq=True)
    # The inputs show the range the report covers, also when the URL named no dates.
    form.data = form.data.copy()
    for name in ("date_from", "date_to", "interval"):
        if name in query:
            form.data[name] = query[name][0]
    context |= {
        "table": _html_table(request, table),
        "notes": table.notes,
        "charts": _charts(kind, report, table),
        "permalink": here,
        "exports": [
            {
                "format": file_format,
                "label": file_format.upper(),
                "url": f"{here}&export={file_format}",
            }
            for file_format in FORMATS
        ],
        "tabs": _tabs(kind, query),
        "groups": _groups(kind, query),
    }
    return render(request, TEMPLATE, context)


def _groups(kind: str, query: dict) -> list[dict]:
    """The ticket report's two groupings, as links keeping the filters."""
    if kind != TICKETS:
        return []
    current = (query.get("group") or [CHANNEL])[0]
    labels = {CHANNEL: _("By channel"), TIER: _("By support tier")}
    return [
        {
            "label": labels[group],
            "url": reverse(KINDS[kind].url_name)
            + "?"
            + urlencode({**query, "group": [group]}, doseq=True),
            "current": group == current,
        }
        for group in GROUPS
    ]


@login_required
@require_GET
def queues(request):
    return _page(request, QUEUES)


@login_required
@require_GET
def agents(request):
    return _page(request, AGENTS)


@login_required
@require_GET
def intervals(request):
    return _page(request, INTERVALS)


@login_required
@require_GET
def companies(request):
    return _page(request, COMPANIES)


@login_required
@require_GET
def tickets(request):
    return _page(request, TICKETS)
