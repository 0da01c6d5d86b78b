"""The staffing forecast page (issue 4, item 6): next week's calls per interval from the same
weekday and interval of past weeks, the agents Erlang C asks for, and the agents who were logged
in, as a table, a chart and CSV/XLSX exports. The figures are reporting/forecast.py's.

The page and the API (reporting/api_forecast.py) take the same parameters in the same units as
the Erlang C calculator (percentages as typed, the interval in minutes) and share
`forecast_company` (who may read which company) and `forecast_for` (the units turned into the
forecast's).

Who: supervisors, client managers and administrators (`KPI_ROLES`), for the companies where they
hold such a role; a user with none gets 403, a company slug they may not read 404.
"""

from collections.abc import Mapping
from datetime import date
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from django_tables2 import RequestConfig

from contactcenter.tenancy.models import Company
from reporting.exports import FORMATS, export_response
from reporting.forecast import (
    DEFAULT_WEEKS,
    MAX_WEEKS,
    StaffingForecast,
    staffing_forecast,
)
from reporting.queries import report_companies
from reporting.report_tables import SECONDS, display, table_class
from reporting.staffing_forms import (
    MAX_ANSWER_SECONDS,
    StaffingLimitsForm,
    interval_choices,
    more_than_zero,
)
from telephony.models import Queue

TABLE_TEMPLATE = "crm/table.html"
# Far enough apart for any planning, near enough that the history's dates stay valid dates.
FIRST_WEEK = date(2000, 1, 3)
LAST_WEEK = date(2099, 12, 28)


def a_monday(value: date) -> None:
    if value.weekday() != 0:
        raise ValidationError(
            gettext_lazy("%(date)s is not a Monday: enter the Monday the week starts on."),
            code="not_monday",
            params={"date": value.isoformat()},
        )


WEEK_VALIDATORS = [a_monday, MinValueValidator(FIRST_WEEK), MaxValueValidator(LAST_WEEK)]


def forecast_companies(user, slug: str | None) -> tuple[list[Company], Company | None]:
    """The companies whose KPIs the user reads (403 if none: an agent everywhere), and the one
    named by `slug` among them: 404 for any other, "not yours" looks like "missing"; None
    without a slug."""
    companies = report_companies(user)
    if not companies:
        raise PermissionDenied
    if not slug:
        return companies, None
    for company in companies:
        if company.slug == slug:
            return companies, company
    raise Http404


def forecast_for(company: Company, data: Mapping[str, Any]) -> StaffingForecast:
    """The forecast for valid parameters (a form's cleaned data or a serializer's validated
    data): percentages and minutes turned into the fractions and minutes of the forecast."""

    def fraction(name: str) -> float | None:
        value = data.get(name)
        return None if value is None else float(value / 100)

    return staffing_forecast(
        company,
        queue=data.get("queue"),
        interval_minutes=data.get("interval") or 30,
        week=data.get("week"),
        weeks=data.get("weeks") or DEFAULT_WEEKS,
        answer_seconds=data.get("answer_seconds"),
        service_level=fraction("service_level") or 0.8,
        max_occupancy=fraction("max_occupancy"),
        shrinkage=fraction("shrinkage") or 0.0,
        now=timezone.now(),
    )


class QueueChoiceField(forms.ModelChoiceField):
    several_companies = False

    def label_from_instance(self, obj: Queue) -> str:
        return f"{obj.company.name}: {obj.name}" if self.several_companies else obj.name


class ForecastForm(StaffingLimitsForm):
    """Every field but the company may be left out: the forecast's defaults apply (next week,
    4 weeks of history, 30 minutes, the queue's threshold, 80 %)."""

    field_order = [
        "company",
        "queue",
        "interval",
        "week",
        "weeks",
        "answer_seconds",
        "service_level",
    ]

    company = forms.ChoiceField(label=gettext_lazy("Client company"))
    queue = QueueChoiceField(
        label=gettext_lazy("Queue"),
        queryset=Queue.objects.none(),
        required=False,
        empty_label=gettext_lazy("All queues"),
    )
    interval = forms.TypedChoiceField(
        label=gettext_lazy("Interval length"),
        choices=interval_choices,
        coerce=int,
        required=False,
        empty_value=None,
        initial=30,
    )
    week = forms.DateField(
        label=gettext_lazy("Week starting on (Monday)"),
        required=False,
        validators=WEEK_VALIDATORS,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("YYYY-MM-DD. Leave empty for next week."),
    )
    weeks = forms.IntegerField(
        label=gettext_lazy("Weeks of history"),
        required=False,
        min_value=1,
        max_value=MAX_WEEKS,
        initial=DEFAULT_WEEKS,
    )
    answer_seconds = forms.IntegerField(
        label=gettext_lazy("Target answer time (seconds)"),
        required=False,
        min_value=0,
        max_value=MAX_ANSWER_SECONDS,
        help_text=gettext_lazy("Leave empty for the queue's service-level threshold."),
    )
    service_level = forms.DecimalField(
        label=gettext_lazy("Target service level (%)"),
        required=False,
        max_value=100,
        max_digits=5,
        decimal_places=2,
        validators=[more_than_zero],
        initial=80,
    )

    def __init__(self, *args, companies: list[Company], company: Company | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].choices = [(c.slug, c.name) for c in companies]
        # The chosen company's queues; before one is chosen, those of every company offered.
        queue = self.fields["queue"]
        queue.queryset = (
            Queue.objects.filter(company__in=[company] if company else companies)
            .select_related("company")
            .order_by("company__name", "name")
        )
        queue.several_companies = company is None and len(companies) > 1

    def clean(self):
        data = super().clean()
        export = self.data.get("export")
        if export and export not in FORMATS:
            raise ValidationError(
                _("Unknown export format %(format)s: choose csv or xlsx.") % {"format": export},
                code="export",
            )
        return data


def forecast_figure(forecast: StaffingForecast) -> dict:
    """Forecast calls as bars (left axis), agents required and agents logged in last week as
    lines (right axis), per interval: where the plan asks for more people than were there."""
    labels = [row.period.label for row in forecast.rows]
    return {
        "data": [
            {
                "type": "bar",
                "name": _("Forecast calls"),
                "x": labels,
                "y": [None if r.calls is None else round(r.calls, 2) for r in forecast.rows],
            },
            {
                "type": "scatter",
                "mode": "lines",
                "line": {"shape": "hv"},
                "name": _("Agents required"),
                "x": labels,
                "y": [r.requirement and r.requirement.agents for r in forecast.rows],
                "yaxis": "y2",
            },
            {
                "type": "scatter",
                "mode": "lines",
                "line": {"shape": "hv", "dash": "dot"},
                "name": _("Logged in last week (agents)"),
                "x": labels,
                "y": [
                    None if r.logged_in is None else round(r.logged_in, 2) for r in forecast.rows
                ],
                "yaxis": "y2",
            },
        ],
        "layout": {
            "margin": {"l": 50, "r": 50, "t": 40, "b": 60},
            "legend": {"orientation": "h", "y": -0.2},
            "hovermode": "x unified",
            "title": {"text": _("Forecast calls and agents")},
            "xaxis": {"type": "category"},
            "yaxis": {"title": {"text": _("Calls")}, "rangemode": "tozero"},
            "yaxis2": {
                "title": {"text": _("Agents")},
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
            },
        },
    }


def _filename(forecast: StaffingForecast) -> str:
    queue = f"-{forecast.queue.code}" if forecast.queue else ""
    return f"staffing-forecast-{forecast.company.slug}{queue}-{forecast.week.isoformat()}"


def _export_url(query, file_format: str) -> str:
    query = query.copy()
    query.pop("page", None)
    query["export"] = file_format
    return "?" + query.urlencode()


@login_required
@require_GET
def staffing_forecast_page(request):
    companies, company = forecast_companies(request.user, request.GET.get("company"))
    form = ForecastForm(request.GET or None, companies=companies, company=company)
    context = {"title": _("Staffing forecast"), "form": form}
    if form.is_valid():
        forecast = forecast_for(company, form.cleaned_data)
        report = forecast.table()
        export = request.GET.get("export")
        if export:
            return export_response(report, export, _filename(forecast))
        table = table_class(report)(report.rows, template_name=TABLE_TEMPLATE)
        # A day's intervals to a page (a daylight-saving day spills over by one to four rows).
        per_page = 24 * 60 // forecast.interval_minutes
        RequestConfig(request, paginate={"per_page": per_page}).configure(table)
        context |= {
            "forecast": forecast,
            "notes": report.notes,
            "table": table,
            "total_calls": report.total["calls"],
            "total_aht": display(report.total["aht"], SECONDS),
            "figure": forecast_figure(forecast),
            "exports": [
                {"format": file_format, "url": _export_url(request.GET, file_format)}
                for file_format in FORMATS
            ],
        }
    return render(request, "reporting/staffing_forecast.html", context)
