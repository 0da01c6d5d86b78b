"""GET /api/reports/staffing/erlang-c/: the Erlang C calculator as JSON, with the page's inputs,
limits, roles and rounded figures (reporting/staffing_forms.py, reporting/staffing_views.py)."""

from decimal import Decimal

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from reporting.staffing_forms import (
    INTERVAL_MINUTES,
    MAX_AHT_SECONDS,
    MAX_ANSWER_SECONDS,
    MAX_CALLS,
    answer_payload,
    erlang_c_answer,
    less_than_100,
    more_than_zero,
    traffic_problem,
)
from reporting.staffing_views import can_plan_staffing


class StaffingLimitsSerializer(serializers.Serializer):
    """The limits both staffing APIs take (reporting.staffing_forms.StaffingLimitsForm)."""

    max_occupancy = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        max_value=Decimal(100),
        validators=[more_than_zero],
        required=False,
        help_text="Maximum occupancy in percent; no limit when left out.",
    )
    shrinkage = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal(0),
        validators=[less_than_100],
        required=False,
        default=Decimal(0),
        help_text="Shrinkage in percent (breaks, training, absence); 0 when left out.",
    )


class ErlangCQuerySerializer(StaffingLimitsSerializer):
    calls = serializers.DecimalField(
        max_digits=9,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=Decimal(MAX_CALLS),
        help_text="Calls offered in one interval (a forecast may have decimals).",
    )
    interval_minutes = serializers.ChoiceField(
        choices=list(INTERVAL_MINUTES), help_text="The interval's length in minutes."
    )
    aht = serializers.DecimalField(
        max_digits=8,
        decimal_places=2,
        max_value=Decimal(MAX_AHT_SECONDS),
        validators=[more_than_zero],
        help_text="Average handle time in seconds: talk, hold and after-call work.",
    )
    answer_seconds = serializers.IntegerField(
        min_value=0, max_value=MAX_ANSWER_SECONDS, help_text="Target answer time in seconds."
    )
    service_level = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        max_value=Decimal(100),
        validators=[more_than_zero],
        help_text="Target service level in percent (80 for 80 % within the answer time).",
    )

    def validate(self, attrs):
        problem = traffic_problem(attrs["calls"], attrs["interval_minutes"], attrs["aht"])
        if problem:
            raise serializers.ValidationError({"calls": [problem]})
        return attrs


AGENTS_HELP = "Agents on the phones."
SERVICE_LEVEL_HELP = "Calls answered within the target answer time, in percent (2 decimals)."
WAITING_HELP = "Erlang C: the chance that a call waits at all, in percent (2 decimals)."
ERLANG_ASA_HELP = (
    "Erlang C's average speed of answer over ALL calls, those answered at once counting 0 s "
    "(2 decimals). Not the reports' ASA, which averages the wait of answered calls only."
)
OCCUPANCY_HELP = "Traffic / agents: the agents' time on calls, in percent (2 decimals)."


class StaffingLevelSerializer(serializers.Serializer):
    agents = serializers.IntegerField(help_text=AGENTS_HELP)
    service_level_percent = serializers.FloatField(help_text=SERVICE_LEVEL_HELP)
    probability_of_waiting_percent = serializers.FloatField(help_text=WAITING_HELP)
    erlang_asa_seconds = serializers.FloatField(help_text=ERLANG_ASA_HELP)
    occupancy_percent = serializers.FloatField(help_text=OCCUPANCY_HELP)


class ErlangCAnswerSerializer(serializers.Serializer):
    traffic_erlangs = serializers.FloatField(
        help_text="Calls * AHT / interval length, in Erlangs (4 decimals)."
    )
    agents = serializers.IntegerField(
        help_text=(
            "The fewest agents on the phones meeting the service level and the occupancy "
            "limit; 0 with no calls."
        )
    )
    scheduled_agents = serializers.IntegerField(
        help_text="Agents to schedule: ceil(agents / (1 - shrinkage))."
    )
    service_level_percent = serializers.FloatField(help_text=SERVICE_LEVEL_HELP)
    probability_of_waiting_percent = serializers.FloatField(help_text=WAITING_HELP)
    erlang_asa_seconds = serializers.FloatField(help_text=ERLANG_ASA_HELP)
    occupancy_percent = serializers.FloatField(help_text=OCCUPANCY_HELP)
    levels = StaffingLevelSerializer(
        many=True,
        help_text=(
            "The levels from 2 agents below to 3 above the requirement (only those above the "
            "traffic), to show the trade-off."
        ),
    )


class ErlangCView(APIView):
    @extend_schema(
        summary="Erlang C staffing: agents required for a service-level target",
        description=(
            "For supervisors, client managers and administrators of any company (no company "
            "data is read). Traffic A = calls * AHT / interval; the answer is the fewest agents "
            "N > A with service level 1 - P(wait) * exp(-(N - A) * t / AHT) at or above the "
            "target and occupancy A / N at or below the maximum, then ceil(N / (1 - shrinkage)) "
            "agents to schedule."
        ),
        parameters=[ErlangCQuerySerializer],
        responses={
            200: ErlangCAnswerSerializer,
            400: OpenApiResponse(description="A missing or bad parameter, named in the answer."),
            403: OpenApiResponse(description="Not signed in, or an agent in every company."),
        },
    )
    def get(self, request):
        if not can_plan_staffing(request.user):
            raise PermissionDenied(
                _("Only supervisors, client managers and administrators plan staffing.")
            )
        query = ErlangCQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        answer = erlang_c_answer(query.validated_data)
        return Response(ErlangCAnswerSerializer(answer_payload(answer)).data)
