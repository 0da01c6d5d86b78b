"""The Erlang C calculator's inputs and answer, shared by the page and the JSON API.

Both entrances take the same parameters with the same units (percentages as typed, the interval
in minutes) and the same limits, and show the same rounded figures: the page through
`ErlangCForm`, the API through its serializer, both ending in `erlang_c_answer`.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from reporting.erlang import (
    StaffingFigures,
    StaffingRequirement,
    agents_required,
    staffing_table,
    traffic_intensity,
)

INTERVAL_MINUTES = (15, 30, 60)
# Bounds that keep one request's work small (the search walks about √A levels above A, each an
# O(1) step after an O(A) start): 10,000 Erlangs is far beyond any single queue.
MAX_TRAFFIC_ERLANGS = 10_000
MAX_CALLS = 1_000_000
MAX_AHT_SECONDS = 86_400
MAX_ANSWER_SECONDS = 3_600
# Levels shown around the requirement, so that a planner sees what one agent more or less does.
LEVELS_BELOW = 2
LEVELS_ABOVE = 3


def interval_choices() -> list[tuple[int, Any]]:
    return [
        (minutes, _("%(minutes)s minutes") % {"minutes": minutes}) for minutes in INTERVAL_MINUTES
    ]


def more_than_zero(value) -> None:
    if value <= 0:
        raise ValidationError(_("Enter a number more than 0."), code="min_value")


def less_than_100(value) -> None:
    if value >= 100:
        raise ValidationError(_("Enter a percentage less than 100."), code="max_value")


def traffic_problem(calls: Decimal, interval_minutes: int, aht: Decimal) -> str | None:
    """Why these calls are too many for the calculator, if they are."""
    traffic = traffic_intensity(float(calls), interval_minutes * 60, float(aht))
    if traffic > MAX_TRAFFIC_ERLANGS:
        return _(
            "These calls make %(traffic)s Erlangs of traffic; the calculator handles at most "
            "%(limit)s Erlangs."
        ) % {"traffic": f"{traffic:.2f}", "limit": MAX_TRAFFIC_ERLANGS}
    return None


class StaffingLimitsForm(forms.Form):
    """The limits both staffing pages take: occupancy ceiling and shrinkage (the subclasses
    put their own fields first with `field_order`)."""

    max_occupancy = forms.DecimalField(
        label=_("Maximum occupancy (%)"),
        required=False,
        max_value=100,
        max_digits=5,
        decimal_places=2,
        validators=[more_than_zero],
        help_text=_("Leave empty for no limit."),
    )
    shrinkage = forms.DecimalField(
        label=_("Shrinkage (%)"),
        required=False,
        min_value=0,
        max_digits=5,
        decimal_places=2,
        validators=[less_than_100],
        initial=0,
        help_text=_("Paid time away from the phones: breaks, training, meetings, absence."),
    )


class ErlangCForm(StaffingLimitsForm):
    field_order = ["calls", "interval_minutes", "aht", "answer_seconds", "service_level"]

    calls = forms.DecimalField(
        label=_("Calls per interval"),
        min_value=0,
        max_value=MAX_CALLS,
        max_digits=9,
        decimal_places=2,
        help_text=_("Calls offered in one interval (a forecast may have decimals)."),
    )
    interval_minutes = forms.TypedChoiceField(
        label=_("Interval length"), choices=interval_choices, coerce=int, initial=30
    )
    aht = forms.DecimalField(
        label=_("Average handle time (seconds)"),
        max_value=MAX_AHT_SECONDS,
        max_digits=8,
        decimal_places=2,
        validators=[more_than_zero],
        help_text=_("Talk, hold and after-call work per handled call."),
    )
    answer_seconds = forms.IntegerField(
        label=_("Target answer time (seconds)"),
        min_value=0,
        max_value=MAX_ANSWER_SECONDS,
        initial=20,
    )
    service_level = forms.DecimalField(
        label=_("Target service level (%)"),
        max_value=100,
        max_digits=5,
        decimal_places=2,
        validators=[more_than_zero],
        initial=80,
        help_text=_("The share of calls to answer within the target answer time."),
    )

    def clean(self):
        data = super().clean()
        if all(data.get(name) is not None for name in ("calls", "interval_minutes", "aht")):
            problem = traffic_problem(data["calls"], data["interval_minutes"], data["aht"])
            if problem:
                self.add_error("calls", problem)
        return data


@dataclass(frozen=True)
class ErlangCAnswer:
    requirement: StaffingRequirement
    levels: list[StaffingFigures]


def erlang_c_answer(data: Mapping[str, Any]) -> ErlangCAnswer:
    """The requirement, and the levels from 2 below to 3 above it, for valid inputs (a form's
    cleaned data or a serializer's validated data: percentages, minutes and seconds)."""
    aht = float(data["aht"])
    answer_seconds = data["answer_seconds"]
    max_occupancy = data.get("max_occupancy")
    requirement = agents_required(
        calls=float(data["calls"]),
        interval_seconds=data["interval_minutes"] * 60,
        aht_seconds=aht,
        target_answer_seconds=answer_seconds,
        target_service_level=float(data["service_level"] / 100),
        max_occupancy=None if max_occupancy is None else float(max_occupancy / 100),
        shrinkage=float((data.get("shrinkage") or 0) / 100),
    )
    levels = []
    if requirement.agents:
        levels = staffing_table(
            requirement.traffic_erlangs,
            aht,
            answer_seconds,
            requirement.agents - LEVELS_BELOW,
            requirement.agents + LEVELS_ABOVE,
        )
    return ErlangCAnswer(requirement, levels)


def _percent(fraction: float) -> float:
    return round(fraction * 100, 2)


def level_payload(figures: StaffingFigures | StaffingRequirement) -> dict[str, Any]:
    """One staffing level's figures as shown: percentages and seconds to two decimals."""
    return {
        "agents": figures.agents,
        "service_level_percent": _percent(figures.service_level),
        "probability_of_waiting_percent": _percent(figures.probability_of_waiting),
        "erlang_asa_seconds": round(figures.erlang_asa_seconds, 2),
        "occupancy_percent": _percent(figures.occupancy),
    }


def answer_payload(answer: ErlangCAnswer) -> dict[str, Any]:
    requirement = answer.requirement
    figures = level_payload(requirement)
    return {
        "traffic_erlangs": round(requirement.traffic_erlangs, 4),
        "agents": figures.pop("agents"),
        "scheduled_agents": requirement.scheduled_agents,
        **figures,
        "levels": [level_payload(level) for level in answer.levels],
    }
