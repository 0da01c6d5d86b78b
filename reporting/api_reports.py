"""GET /api/reports/queues|agents|intervals|companies/: the KPI reports as JSON, with the report
pages' parameters, roles and figures (reporting/views.py, reporting/forms.py).

Every ratio comes as its value with its numerator and denominator, so that a client can add
reports up without averaging averages; `notes` states the period, time zones, thresholds and
service-level formula the figures were computed with. The serializers below document the
answers (drf-spectacular); the answers themselves are the reports' `as_dict()`, unchanged.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.views import TokenClientLocaleMixin
from reporting.catalogue import ServiceLevelVariant
from reporting.forms import DEFAULT_DAYS, MAX_MINUTE_RANGE_DAYS, MAX_RANGE_DAYS
from reporting.periods import IntervalSize
from reporting.views import (
    AGENTS,
    COMPANIES,
    INTERVALS,
    QUEUES,
    TICKETS,
    report_data,
    report_form,
    run_report,
)
from telephony.models import AgentState
from telephony.pbx.events import Direction

# --- parameters ---------------------------------------------------------------------------------

FILTER_PARAMETERS = [
    OpenApiParameter(
        "date_from",
        OpenApiTypes.DATE,
        description=(
            f"First local day of the range (YYYY-MM-DD), each company's own zone. Default: "
            f"{DEFAULT_DAYS - 1} days before date_to. At most {MAX_RANGE_DAYS} days in all."
        ),
    ),
    OpenApiParameter(
        "date_to",
        OpenApiTypes.DATE,
        description="Last local day of the range, included. Default: today in your time zone.",
    ),
    OpenApiParameter(
        "company",
        OpenApiTypes.STR,
        many=True,
        description=(
            "Client company slugs, repeated for several; default: every company whose KPIs "
            "you read. A company you may not read answers 404."
        ),
    ),
    OpenApiParameter("queue", OpenApiTypes.INT, many=True, description="Queue ids, repeated."),
    OpenApiParameter(
        "team", OpenApiTypes.INT, many=True, description="Team ids: the calls of their agents."
    ),
    OpenApiParameter("agent", OpenApiTypes.INT, many=True, description="Agent ids, repeated."),
    OpenApiParameter(
        "direction", OpenApiTypes.STR, enum=[d.value for d in Direction], description="Direction."
    ),
]
INTERVAL_PARAMETER = OpenApiParameter(
    "interval",
    OpenApiTypes.STR,
    enum=IntervalSize.values,
    description=(
        f"Interval length: 15, 30 or 60 minutes (ranges of at most {MAX_MINUTE_RANGE_DAYS} "
        "days), or day, week (Monday to Sunday) or month. Default: 60."
    ),
)

# --- answers ------------------------------------------------------------------------------------


class RatioSerializer(serializers.Serializer):
    value = serializers.FloatField(
        allow_null=True, help_text="numerator / denominator; null when the denominator is 0."
    )
    numerator = serializers.FloatField()
    denominator = serializers.FloatField()


class NoteSerializer(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.CharField()


class VariantSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ServiceLevelVariant.choices)
    label = serializers.CharField()
    formula = serializers.CharField()


class CompanyInfoSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    time_zone = serializers.CharField()
    service_level_variant = VariantSerializer(help_text="The company's service-level formula.")
    first_contact_resolution_days = serializers.IntegerField()


class RangeSerializer(serializers.Serializer):
    # A report's head: its kind, range and companies ("from" is a Python keyword, hence
    # get_fields).

    report = serializers.CharField()
    companies = CompanyInfoSerializer(many=True)

    def get_fields(self):
        declared = super().get_fields()
        fields = {"report": declared.pop("report")}
        fields["from"] = serializers.DateField(help_text="First local day.")
        fields["to"] = serializers.DateField(help_text="Last local day, included.")
        return fields | declared


def _ratio(help_text: str) -> RatioSerializer:
    return RatioSerializer(help_text=help_text)


class CallFiguresSerializer(serializers.Serializer):
    offered = serializers.IntegerField(help_text="Calls that entered a queue and are over.")
    answered = serializers.IntegerField(help_text="Offered calls answered, transfers included.")
    abandoned = serializers.IntegerField(help_text="Hung up while waiting, short ones excluded.")
    short_abandons = serializers.IntegerField()
    timeouts = serializers.IntegerField()
    exits_key = serializers.IntegerField()
    exits_empty = serializers.IntegerField()
    other_outcomes = serializers.IntegerField(help_text="Missed, busy or failed.")
    transferred = serializers.IntegerField()
    open_calls = serializers.IntegerField(help_text="Not over yet: in no figure or rate.")
    longest_wait = serializers.IntegerField(allow_null=True, help_text="Seconds.")
    asa = _ratio("Queue wait of answered calls / answered calls, in seconds.")
    average_wait = _ratio("Queue wait / offered calls with a known wait, in seconds.")
    abandonment_rate = _ratio("Abandoned / (offered - short abandons).")
    average_ring = _ratio("Ring time of answered calls / answered calls, in seconds.")
    average_talk = _ratio("Talk / answered calls, in seconds.")
    average_hold = _ratio("Hold / answered calls, in seconds.")
    average_wrap_up = _ratio("After-call work / answered calls, in seconds.")
    aht = _ratio("(Talk + hold + after-call work) / answered calls, in seconds.")
    service_level = _ratio("By each company's formula variant (see companies and notes).")


class QueueRowSerializer(CallFiguresSerializer):
    company = serializers.CharField(help_text="The company's slug.")
    queue = serializers.CharField(help_text="The queue's PBX name.")
    name = serializers.CharField()
    service_level_seconds = serializers.IntegerField(help_text="T: within means wait <= T.")
    short_abandon_seconds = serializers.IntegerField()


class CompanyTotalSerializer(CallFiguresSerializer):
    company = serializers.CharField(help_text="The company's slug.")


class QueueReportSerializer(RangeSerializer):
    """Per queue, then each company's total and all together."""

    rows = QueueRowSerializer(many=True)
    company_totals = CompanyTotalSerializer(many=True, help_text="Each call counted once.")
    total = CallFiguresSerializer(help_text="All the companies, each call counted once.")
    notes = NoteSerializer(many=True)


class CompaniesReportSerializer(RangeSerializer):
    """Each client company's total, side by side."""

    rows = CompanyTotalSerializer(many=True, help_text="One row per company, side by side.")
    total = CallFiguresSerializer()
    notes = NoteSerializer(many=True)


class ThresholdsSerializer(serializers.Serializer):
    queue = serializers.CharField()
    name = serializers.CharField()
    service_level_seconds = serializers.IntegerField()
    short_abandon_seconds = serializers.IntegerField()


class IntervalRowSerializer(serializers.Serializer):
    interval = serializers.CharField(help_text="The local start, as people read it.")
    start = serializers.DateTimeField(help_text="UTC, included.")
    end = serializers.DateTimeField(help_text="UTC, excluded.")
    offered = serializers.IntegerField()
    answered = serializers.IntegerField()
    abandoned = serializers.IntegerField()
    short_abandons = serializers.IntegerField()
    open_calls = serializers.IntegerField()
    service_level = RatioSerializer()
    asa = RatioSerializer()
    abandonment_rate = RatioSerializer()
    aht = RatioSerializer()


class IntervalReportSerializer(RangeSerializer):
    """Every interval of the range, in one time zone."""

    interval = serializers.ChoiceField(choices=IntervalSize.choices)
    time_zone = serializers.CharField()
    queues = ThresholdsSerializer(many=True)
    rows = IntervalRowSerializer(many=True, help_text="Every interval, empty ones too.")
    total = CallFiguresSerializer()
    notes = NoteSerializer(many=True)


class AgentFiguresSerializer(serializers.Serializer):
    handled = serializers.IntegerField(help_text="Answered calls that are over.")
    talk_seconds = serializers.IntegerField()
    hold_seconds = serializers.IntegerField()
    wrap_up_seconds = serializers.IntegerField()
    average_talk = RatioSerializer()
    average_hold = RatioSerializer()
    average_wrap_up = RatioSerializer()
    aht = RatioSerializer()
    ring_no_answer = serializers.IntegerField()
    logged_in_seconds = serializers.IntegerField()
    state_seconds = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Seconds in each state: " + ", ".join(AgentState.values) + ".",
    )
    pause_seconds = serializers.DictField(
        child=serializers.IntegerField(), help_text="Seconds paused, by pause reason code."
    )
    occupancy = _ratio("Handle time / (handle time + available time).")
    calls_per_hour = _ratio("(Handled x 3600) / logged-in seconds.")


class AgentRowSerializer(AgentFiguresSerializer):
    company = serializers.CharField(help_text="The company's slug.")
    agent_id = serializers.IntegerField()
    name = serializers.CharField()


class AgentReportSerializer(RangeSerializer):
    """Per agent: handled calls, states, occupancy."""

    until = serializers.DateTimeField(help_text="States still going on count up to this.")
    pause_reasons = serializers.DictField(
        child=serializers.CharField(), help_text="Pause reason code: label."
    )
    rows = AgentRowSerializer(many=True)
    total = AgentFiguresSerializer()
    notes = NoteSerializer(many=True)


ERRORS = {
    400: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description=(
            'Each bad parameter by name, with its messages: {"date_from": ["Enter a valid date."]}.'
        ),
    ),
    403: OpenApiResponse(description="Not signed in, or no KPI role in any company (agents)."),
    404: OpenApiResponse(description="A company slug that is not one of yours."),
}
ROLES = (
    "For supervisors, client managers and administrators, over the companies where they hold "
    "such a role. "
)


def _errors(form) -> dict[str, list[str]]:
    return {
        ("non_field_errors" if name == "__all__" else name): list(messages)
        for name, messages in form.errors.items()
    }


class _ReportView(TokenClientLocaleMixin, APIView):
    kind = ""

    def get(self, request):
        form = report_form(request.query_params, request.user, kind=self.kind)
        report = run_report(self.kind, form) if form.is_valid() else None
        if report is None:
            return Response(_errors(form), status=status.HTTP_400_BAD_REQUEST)
        return Response(report_data(self.kind, report))


class QueueReportView(_ReportView):
    kind = QUEUES

    @extend_schema(
        summary="Queue report",
        description=ROLES
        + "Per queue: offered, answered, abandoned, short abandons, timeouts, transfers, ASA, "
        "waits, service level, abandonment rate and the parts of AHT; then each company's "
        "total and all together, each call counted once.",
        parameters=FILTER_PARAMETERS,
        responses={200: QueueReportSerializer, **ERRORS},
    )
    def get(self, request):
        return super().get(request)


class AgentReportView(_ReportView):
    kind = AGENTS

    @extend_schema(
        summary="Agent report",
        description=ROLES
        + "Per agent: handled calls and the parts of AHT, ring-no-answer, logged-in time, time "
        "in each state and pause reason, occupancy and calls per hour.",
        parameters=FILTER_PARAMETERS,
        responses={200: AgentReportSerializer, **ERRORS},
    )
    def get(self, request):
        return super().get(request)


class IntervalReportView(_ReportView):
    kind = INTERVALS

    @extend_schema(
        summary="Interval report",
        description=ROLES
        + "Every interval of the range a row, empty ones too, in the companies' time zone (one "
        "zone: choose companies that share it); a call in the interval of its queue entry.",
        parameters=[*FILTER_PARAMETERS, INTERVAL_PARAMETER],
        responses={200: IntervalReportSerializer, **ERRORS},
    )
    def get(self, request):
        return super().get(request)


class TicketReportView(_ReportView):
    kind = TICKETS

    @extend_schema(
        summary="Ticket report",
        description=ROLES
        + "Tickets by channel and by support tier, per company and in all: created, resolved, "
        "first responses and their average time, SLA met and breached, backlog at the end of "
        "the range and first-contact resolution (the company's window). Queue and direction "
        "filters do not apply (400).",
        parameters=FILTER_PARAMETERS,
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    def get(self, request):
        return super().get(request)


class CompaniesReportView(_ReportView):
    kind = COMPANIES

    @extend_schema(
        summary="Client companies side by side",
        description=ROLES
        + "One row per company (for a client manager: exactly their companies), with the "
        "company totals of the queue report.",
        parameters=FILTER_PARAMETERS,
        responses={200: CompaniesReportSerializer, **ERRORS},
    )
    def get(self, request):
        return super().get(request)
