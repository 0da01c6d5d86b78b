"""Agent-seconds in each state within each interval: "agent states over the day" (the interval
report's chart) and the agents logged in (the staffing forecast), from two aggregate queries
whatever the number of intervals, agents and states.

With every state interval clipped to the window [W0, W1) and times counted from W0, the seconds
of a state before t are S(t) = sum over its intervals of |[s, e) ∩ [0, t)|
= (sum of e over intervals ended before t) + t * (begun before t - ended before t)
- (sum of s over intervals begun before t); an interval's seconds are S(end) - S(start).
The sums and counts "before t" add up per-slot groups of s and of e: t is an interval boundary
and each slot lies wholly before or after it (queries._grain). A state still open counts to W1.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from itertools import pairwise

from django.db.models import (
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, Least

from reporting.periods import Period
from reporting.queries import _grain, slot_start, slotted
from telephony.models import AgentStateInterval


def _running(slots: list[tuple[datetime, int, float]], boundaries: list[datetime]):
    """(count, sum) of the slots that lie before each boundary."""
    sums, count, total, index = [], 0, 0.0, 0
    for boundary in boundaries:
        while index < len(slots) and slots[index][0] < boundary:
            count, total = count + slots[index][1], total + slots[index][2]
            index += 1
        sums.append((count, total))
    return sums


def state_seconds(
    company_ids: Iterable[int],
    periods: list[Period],
    states: Iterable[str] | None = None,
    agents=None,
) -> dict[str, list[float]]:
    """{state: [agent-seconds in that state within each period]} for the agents of these
    companies (or only `agents`, a queryset of agent ids); `states` limits the states read."""
    window_start, window_end = periods[0].start, periods[-1].end
    boundaries = [p.start for p in periods] + [window_end]
    grain, kind = _grain(boundaries)
    origin = Value(window_start, output_field=DateTimeField())
    end = Value(window_end, output_field=DateTimeField())
    intervals = AgentStateInterval.objects.filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=window_start),
        company_id__in=list(company_ids),
        started_at__lt=window_end,
    ).order_by()
    if states is not None:
        intervals = intervals.filter(state__in=list(states))
    if agents is not None:
        intervals = intervals.filter(agent_id__in=agents)

    def per_slot(moment) -> dict[str, list[tuple[datetime, int, float]]]:
        since_origin = ExpressionWrapper(moment - origin, output_field=DurationField())
        rows = (
            slotted(intervals, moment, grain, kind)
            .values("state", "k_slot", "k_part")
            .annotate(k_count=Count("id"), k_seconds=Sum(since_origin))
        )
        slots = defaultdict(list)
        for r in rows:
            slots[r["state"]].append(
                (slot_start(r, grain), r["k_count"], r["k_seconds"].total_seconds())
            )
        return {state: sorted(values) for state, values in slots.items()}

    begun = per_slot(Greatest(F("started_at"), origin))
    ended = per_slot(Least(Coalesce(F("ended_at"), end), end))
    result = {}
    for state in sorted(set(begun) | set(ended)):
        b = _running(begun.get(state, []), boundaries)
        e = _running(ended.get(state, []), boundaries)
        cumulative = [
            e_sum + (t - window_start).total_seconds() * (b_count - e_count) - b_sum
            for t, (b_count, b_sum), (e_count, e_sum) in zip(boundaries, b, e, strict=True)
        ]
        result[state] = [upper - lower for lower, upper in pairwise(cumulative)]
    return result
