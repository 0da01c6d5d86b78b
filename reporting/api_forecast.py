"""GET /api/reports/staffing/forecast/: the staffing forecast as JSON, with the page's parameters,
limits, roles and figures (reporting/forecast.py, reporting/forecast_views.py)."""

from decimal import Decimal

from django.core.exceptions import PermissionDenied as NoCompanyToRead
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from reporting.api_staffing import StaffingLimitsSerializer
from reporting.forecast import DEFAULT_WEEKS, INTERVAL_MINUTES, MAX_WEEKS
from reporting.forecast_views import WEEK_VALIDATORS, forecast_companies, forecast_for
from reporting.staffing_forms import MAX_ANSWER_SECONDS, more_than_zero
from telephony.models import Queue


class ForecastQuerySerializer(StaffingLimitsSerializer):
    company = serializers.CharField(
        help_text="The client company's slug: one whose KPIs you read (404 for any other)."
    )
    queue = serializers.PrimaryKeyRelatedField(
        queryset=Queue.objects.none(),
        required=False,
        help_text="A queue's id, of that company; every queue (each call once) when left out.",
    )
    interval = serializers.ChoiceField(
        choices=list(INTERVAL_MINUTES),
        required=False,
        default=30,
        help_text="The interval's length in minutes.",
    )
    week = serializers.DateField(
        required=False,
        validators=WEEK_VALIDATORS,
        help_text=(
            "The Monday (YYYY-MM-DD) the forecast week starts on; next week, in the company's "
            "time zone, when left out."
        ),
    )
    weeks = serializers.IntegerField(
        min_value=1,
        max_value=MAX_WEEKS,
        required=False,
        default=DEFAULT_WEEKS,
        help_text=(
            "Weeks of history: the whole weeks just before the forecast week, never the week "
            "still going on."
        ),
    )
    answer_seconds = serializers.IntegerField(
        min_value=0,
        max_value=MAX_ANSWER_SECONDS,
        required=False,
        help_text=(
            "Target answer time in seconds; the queue's service-level threshold when left out "
            "(without a queue: the company's queues' threshold, the strictest if they differ)."
        ),
    )
    service_level = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        max_value=Decimal(100),
        validators=[more_than_zero],
        required=False,
        default=Decimal(80),
        help_text="Target service level in percent; 80 when left out.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        company = self.context.get("company")
        if company is not None:
            self.fields["queue"].queryset = Queue.objects.for_tenant(company)


class ForecastNoteSerializer(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.CharField()


def _nullable(field_class, help_text: str, **kwargs):
    return field_class(allow_null=True, help_text=help_text, **kwargs)


class ForecastRowSerializer(serializers.Serializer):
    interval = serializers.CharField(help_text="The interval's local start, with its UTC offset.")
    start = serializers.DateTimeField(help_text="The interval's start (UTC offset included).")
    end = serializers.DateTimeField(help_text="The interval's end, excluded.")
    weekday = serializers.IntegerField(help_text="ISO weekday: 1 Monday ... 7 Sunday.")
    history_intervals = serializers.IntegerField(
        help_text=(
            "History intervals of the same weekday and local start: the weeks of history, one "
            "more or less where a daylight-saving change repeats or skips the hour."
        )
    )
    forecast_calls = _nullable(
        serializers.FloatField,
        "Mean offered calls of those intervals (2 decimals); null when there were none.",
    )
    forecast_aht_seconds = _nullable(
        serializers.FloatField,
        "(Talk + hold + wrap-up) / handled calls of those intervals, in seconds (2 decimals).",
    )
    aht_is_fallback = serializers.BooleanField(
        help_text="No call of those intervals was handled: the company's AHT over the history."
    )
    traffic_erlangs = _nullable(
        serializers.FloatField, "Forecast calls * AHT / interval length (4 decimals)."
    )
    agents = _nullable(serializers.IntegerField, "Erlang C: the fewest agents on the phones.")
    scheduled_agents = _nullable(
        serializers.IntegerField, "Agents to schedule: ceil(agents / (1 - shrinkage))."
    )
    service_level_percent = _nullable(
        serializers.FloatField, "Erlang C's service level of those agents, in percent."
    )
    occupancy_percent = _nullable(
        serializers.FloatField, "Traffic / agents, in percent (2 decimals)."
    )
    logged_in_agents = _nullable(
        serializers.FloatField,
        "Average agents logged in (any state but offline) in the same interval of the last "
        "week of history: logged-in seconds / interval seconds (2 decimals).",
    )


class ForecastTotalSerializer(serializers.Serializer):
    forecast_calls = serializers.FloatField(help_text="The week's forecast calls.")
    forecast_aht_seconds = _nullable(
        serializers.FloatField, "The week's forecast handle seconds / forecast calls."
    )


class ForecastSerializer(serializers.Serializer):
    report = serializers.CharField(help_text='"staffing_forecast".')
    company = serializers.CharField(help_text="The client company's slug.")
    time_zone = serializers.CharField(help_text="The company's zone: intervals are local.")
    queue = _nullable(serializers.CharField, "The queue's PBX name; null for every queue.")
    interval = serializers.IntegerField(help_text="Interval length in minutes.")
    week = serializers.DateField(help_text="The Monday the forecast week starts on.")
    history_weeks = serializers.ListField(
        child=serializers.DateField(), help_text="The Mondays of the weeks of history."
    )
    logged_in_week = serializers.DateField(help_text="The week whose logins are shown.")
    answer_seconds = serializers.IntegerField(help_text="The target answer time used.")
    service_level_percent = serializers.FloatField()
    max_occupancy_percent = _nullable(serializers.FloatField, "Null: no limit.")
    shrinkage_percent = serializers.FloatField()
    history_aht_seconds = _nullable(
        serializers.FloatField, "The company's AHT over the history: the fallback."
    )
    notes = ForecastNoteSerializer(
        many=True, help_text="What the figures mean, as the exports say."
    )
    rows = ForecastRowSerializer(many=True)
    total = ForecastTotalSerializer()


class StaffingForecastView(APIView):
    @extend_schema(
        summary="Staffing forecast: next week's calls per interval and the agents they need",
        description=(
            "For supervisors, client managers and administrators, of a company whose KPIs they "
            "read. Each local interval of the week gets the mean offered calls of the same "
            "weekday and local interval over the weeks of history (matched by local time, so "
            "daylight-saving changes keep 09:00 at 09:00), their AHT, the agents Erlang C asks "
            "for and the agents logged in during that interval of the last week of history."
        ),
        parameters=[ForecastQuerySerializer],
        responses={
            200: ForecastSerializer,
            400: OpenApiResponse(description="A missing or bad parameter, named in the answer."),
            403: OpenApiResponse(description="Not signed in, or an agent in every company."),
            404: OpenApiResponse(description="A company whose KPIs you do not read."),
        },
    )
    def get(self, request):
        try:
            _companies, company = forecast_companies(
                request.user, request.query_params.get("company")
            )
        except NoCompanyToRead:
            raise PermissionDenied(
                _("Only supervisors, client managers and administrators plan staffing.")
            ) from None
        query = ForecastQuerySerializer(data=request.query_params, context={"company": company})
        query.is_valid(raise_exception=True)
        forecast = forecast_for(company, query.validated_data)
        return Response(ForecastSerializer(forecast.as_dict()).data)
