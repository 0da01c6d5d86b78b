"""Erlang C staffing: how many agents a queue needs for a service-level target.

Pure Python, no Django. The model is M/M/N (Erlang C): calls arrive at random (Poisson), handle
times are exponential, nobody abandons and the queue is unlimited. Notation, as in the
workforce-planning literature:

- A, the traffic intensity in Erlangs: calls * AHT / interval length;
- N, the agents on the phones (only N > A keeps the queue from growing without end);
- t, the target answer time, in the same unit as the AHT.

Erlang C is computed from Erlang B, whose recursion B(0) = 1, B(n) = A*B(n-1) / (n + A*B(n-1))
stays between 0 and 1 at every step, and C = N*B / (N - A*(1 - B)). The textbook form
(A^N / N!) * N / (N - A) / (Σ_{k<N} A^k / k! + …) overflows a float near N = 170: see
`/work/shared/design.md`, "Staffing": compute Erlang C iteratively, never with factorials.

Erlang C's average speed of answer averages the wait over *all* calls, those answered at once
included; the reports' ASA (design.md, "ASA") averages over answered calls only. The two are
named apart everywhere: `erlang_asa` here, "ASA" in the reports.
"""

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

# The occupancy ceiling is compared with A / N computed in binary floating point, where for
# example a traffic of 17 / 3 Erlangs is already rounded: a ratio that equals the ceiling in
# decimal must not be refused for its last bit.
_OCCUPANCY_SLACK = 1e-12


@dataclass(frozen=True)
class StaffingFigures:
    """What one staffing level N gives, for a traffic A."""

    agents: int
    probability_of_waiting: float
    service_level: float
    erlang_asa_seconds: float
    occupancy: float


@dataclass(frozen=True)
class StaffingRequirement:
    """The answer of `agents_required`.

    `agents` are needed on the phones at every moment of the interval; `scheduled_agents` adds
    shrinkage (breaks, training, absence): ceil(N / (1 - shrinkage)). The other figures are
    those of `agents`.
    """

    traffic_erlangs: float
    agents: int
    scheduled_agents: int
    probability_of_waiting: float
    service_level: float
    erlang_asa_seconds: float
    occupancy: float


def _finite(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")


def _at_least_zero(name: str, value: float) -> None:
    _finite(name, value)
    if value < 0:
        raise ValueError(f"{name} must be zero or more, got {value!r}")


def _more_than_zero(name: str, value: float) -> None:
    _finite(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be more than zero, got {value!r}")


def _fraction_up_to_one(name: str, value: float) -> None:
    _finite(name, value)
    if not 0 < value <= 1:
        raise ValueError(f"{name} must be more than 0 and at most 1, got {value!r}")


def _shrinkage(value: float) -> None:
    _finite("shrinkage", value)
    if not 0 <= value < 1:
        raise ValueError(f"shrinkage must be at least 0 and less than 1, got {value!r}")


def _agents(agents: int) -> None:
    if isinstance(agents, bool) or not isinstance(agents, int):
        raise ValueError(f"agents must be a whole number, got {agents!r}")
    if agents < 0:
        raise ValueError(f"agents must be zero or more, got {agents!r}")


def traffic_intensity(calls: float, interval_seconds: float, aht_seconds: float) -> float:
    """A = calls * AHT / interval length, in Erlangs: the agents kept busy on average."""
    _at_least_zero("calls", calls)
    _more_than_zero("interval_seconds", interval_seconds)
    _more_than_zero("aht_seconds", aht_seconds)
    return float(calls) * float(aht_seconds) / float(interval_seconds)


def _erlang_b_from(traffic: float, first: int) -> Iterator[tuple[int, float]]:
    """(n, B(n)) for n = first, first + 1, … by the recursion B(n) = A*B(n-1) / (n + A*B(n-1)).

    Each step is one multiplication and one division of numbers in [0, 1] and n: nothing can
    overflow, and a search moving up one agent at a time costs one step per agent.
    """
    blocking = 1.0
    for n in range(1, first + 1):
        blocking = traffic * blocking / (n + traffic * blocking)
    n = first
    while True:
        yield n, blocking
        n += 1
        blocking = traffic * blocking / (n + traffic * blocking)


def erlang_b(agents: int, traffic: float) -> float:
    """Erlang B: the probability that a call finds all N lines busy and is lost (no queue).

    B(0) = 1, B(n) = A*B(n-1) / (n + A*B(n-1)).
    """
    _agents(agents)
    _at_least_zero("traffic", traffic)
    return next(_erlang_b_from(traffic, agents))[1]


def _erlang_c_from_b(agents: int, traffic: float, blocking: float) -> float:
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    return agents * blocking / (agents - traffic * (1 - blocking))


def _figures(
    agents: int, traffic: float, blocking: float, aht_seconds: float, answer_seconds: float
) -> StaffingFigures:
    waiting = _erlang_c_from_b(agents, traffic, blocking)
    if traffic == 0:
        return StaffingFigures(agents, 0.0, 1.0, 0.0, 0.0)
    if agents <= traffic:
        return StaffingFigures(agents, 1.0, 0.0, math.inf, 1.0)
    spare = agents - traffic
    return StaffingFigures(
        agents=agents,
        probability_of_waiting=waiting,
        service_level=1 - waiting * math.exp(-spare * answer_seconds / aht_seconds),
        erlang_asa_seconds=waiting * aht_seconds / spare,
        occupancy=traffic / agents,
    )


def probability_of_waiting(agents: int, traffic: float) -> float:
    """Erlang C: the probability that a call waits in the queue, P(wait) = C(N, A).

    C = N*B / (N - A*(1 - B)) with B = Erlang B(N, A). With N <= A the queue grows without
    end and every call waits: 1. With no traffic nobody waits: 0.
    """
    _agents(agents)
    _at_least_zero("traffic", traffic)
    return _erlang_c_from_b(agents, traffic, erlang_b(agents, traffic))


def service_level(agents: int, traffic: float, aht_seconds: float, answer_seconds: float) -> float:
    """The share of calls answered within t seconds: SL(t) = 1 - P(wait)*e^(-(N - A)*t / AHT).

    0 when N <= A (the queue is unstable), 1 with no traffic.
    """
    _agents(agents)
    _at_least_zero("traffic", traffic)
    _more_than_zero("aht_seconds", aht_seconds)
    _at_least_zero("answer_seconds", answer_seconds)
    blocking = erlang_b(agents, traffic)
    return _figures(agents, traffic, blocking, aht_seconds, answer_seconds).service_level


def erlang_asa(agents: int, traffic: float, aht_seconds: float) -> float:
    """Erlang C's average speed of answer, over ALL calls: P(wait)*AHT / (N - A), in seconds.

    Calls answered at once count with a wait of 0, so this is not the reports' ASA (queue wait
    of answered calls / answered calls, design.md "ASA"). Infinite when N <= A.
    """
    _agents(agents)
    _at_least_zero("traffic", traffic)
    _more_than_zero("aht_seconds", aht_seconds)
    blocking = erlang_b(agents, traffic)
    return _figures(agents, traffic, blocking, aht_seconds, 0).erlang_asa_seconds


def occupancy(agents: int, traffic: float) -> float:
    """Occupancy = A / N: the share of the agents' time spent on calls (1 when N <= A)."""
    _agents(agents)
    _at_least_zero("traffic", traffic)
    if traffic == 0:
        return 0.0
    return traffic / agents if agents > traffic else 1.0


def scheduled_agents(agents: int, shrinkage: float) -> int:
    """The agents to schedule so that N remain on the phones: ceil(N / (1 - shrinkage)).

    The shrinkage is read as the decimal it was typed as (0.3, not the binary float just below
    it): 21 / (1 - 0.3) is 30.000000000000004 in floats, and 31 agents would be one too many.
    """
    _agents(agents)
    _shrinkage(shrinkage)
    return math.ceil(Fraction(agents) / (1 - Fraction(repr(float(shrinkage)))))


def agents_required(
    calls: float,
    interval_seconds: float,
    aht_seconds: float,
    target_answer_seconds: float,
    target_service_level: float,
    max_occupancy: float | None = None,
    shrinkage: float = 0.0,
) -> StaffingRequirement:
    """The fewest agents N > A with SL(t) >= the target and, if given, A / N <= max_occupancy.

    The service level and occupancy are fractions (0.8 for 80 %). Times are seconds. SL rises
    and occupancy falls as N grows, so the search starts at the first N above A that the
    occupancy ceiling allows and stops at the first N meeting the service level: about √A
    steps above A, one Erlang B recursion step each. A target of 1 ends where P(wait) becomes
    too small for a float, since the model never reaches exactly 100 %.

    Shrinkage then gives the agents to schedule: ceil(N / (1 - s)) (design.md, "Staffing").
    No calls need no agents.
    """
    traffic = traffic_intensity(calls, interval_seconds, aht_seconds)
    _at_least_zero("target_answer_seconds", target_answer_seconds)
    _fraction_up_to_one("target_service_level", target_service_level)
    if max_occupancy is not None:
        _fraction_up_to_one("max_occupancy", max_occupancy)
    _shrinkage(shrinkage)
    if traffic == 0:
        return StaffingRequirement(0.0, 0, 0, 0.0, 1.0, 0.0, 0.0)

    first = math.floor(traffic) + 1
    if max_occupancy is not None:
        first = max(first, math.ceil(traffic / (float(max_occupancy) + _OCCUPANCY_SLACK)))
    aht, answer = float(aht_seconds), float(target_answer_seconds)
    levels = _erlang_b_from(traffic, first)
    while True:
        agents, blocking = next(levels)
        figures = _figures(agents, traffic, blocking, aht, answer)
        if figures.service_level >= target_service_level:
            return StaffingRequirement(
                traffic_erlangs=traffic,
                agents=agents,
                scheduled_agents=scheduled_agents(agents, shrinkage),
                probability_of_waiting=figures.probability_of_waiting,
                service_level=figures.service_level,
                erlang_asa_seconds=figures.erlang_asa_seconds,
                occupancy=figures.occupancy,
            )


def staffing_table(
    traffic: float,
    aht_seconds: float,
    target_answer_seconds: float,
    first_agents: int,
    last_agents: int,
) -> list[StaffingFigures]:
    """The figures of every staffing level from first_agents to last_agents (inclusive), for
    showing the trade-off around a requirement. Levels with N <= A, where the queue never
    empties, are left out: the model gives them no figures worth reading.
    """
    _at_least_zero("traffic", traffic)
    _more_than_zero("aht_seconds", aht_seconds)
    _at_least_zero("target_answer_seconds", target_answer_seconds)
    traffic, aht, answer = float(traffic), float(aht_seconds), float(target_answer_seconds)
    start = max(first_agents, math.floor(traffic) + 1, 1)
    rows = []
    for agents, blocking in _erlang_b_from(traffic, start):
        if agents > last_agents:
            break
        rows.append(_figures(agents, traffic, blocking, aht, answer))
    return rows
