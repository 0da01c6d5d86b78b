"""Erlang B and C against published figures, each also recomputed here by another method: the
textbook factorial formula in exact fractions (small and medium N), or in log space with
lgamma (thousands of agents). The expected values never come from reporting.erlang."""

import math
from fractions import Fraction

import pytest

from reporting.erlang import (
    StaffingFigures,
    StaffingRequirement,
    agents_required,
    erlang_asa,
    erlang_b,
    occupancy,
    probability_of_waiting,
    scheduled_agents,
    service_level,
    staffing_table,
    traffic_intensity,
)


def textbook_erlang_b(agents: int, traffic: Fraction) -> Fraction:
    """B = (A^N / N!) / sum_{k=0..N} A^k / k!, exactly."""
    terms = [traffic**k / math.factorial(k) for k in range(agents + 1)]
    return terms[-1] / sum(terms)


def textbook_erlang_c(agents: int, traffic: Fraction) -> Fraction:
    """C = (A^N / N! * N / (N - A)) / (sum_{k<N} A^k / k! + A^N / N! * N / (N - A)), exactly."""
    top = traffic**agents / math.factorial(agents) * Fraction(agents) / (agents - traffic)
    return top / (sum(traffic**k / math.factorial(k) for k in range(agents)) + top)


def log_space_erlang_c(agents: int, traffic: float) -> float:
    """The same formula from Poisson terms kept as logarithms (lgamma), summed by log-sum-exp:
    factorials of thousands are out of reach of floats, their logarithms are not."""
    logs = [k * math.log(traffic) - traffic - math.lgamma(k + 1) for k in range(agents)]
    top = (
        agents * math.log(traffic)
        - traffic
        - math.lgamma(agents + 1)
        + math.log(agents / (agents - traffic))
    )
    peak = max(*logs, top)
    rest = sum(math.exp(value - peak) for value in logs)
    return math.exp(top - peak) / (rest + math.exp(top - peak))


def sl(waiting: float, agents: int, traffic: float, aht: float, answer: float) -> float:
    return 1 - waiting * math.exp(-(agents - traffic) * answer / aht)


# --- Erlang B ---------------------------------------------------------------------------------


def test_erlang_b_of_no_lines_blocks_everything_and_of_one_line_by_hand():
    assert erlang_b(0, 3.0) == 1.0
    # One line, one Erlang: B = A / (1 + A) = 1/2.
    assert erlang_b(1, 1.0) == 0.5


@pytest.mark.parametrize(
    ("agents", "traffic", "published", "decimals"),
    [
        # The brief's table value: 10 circuits offered 5 Erlangs lose 1.838 % of calls.
        (10, Fraction(5), 0.01838, 5),
        # Erlang B tables (e.g. Iversen, "Teletraffic Engineering and Network Planning",
        # ITU-D/DTU, table of Erlang's B-formula): 10 circuits carry 4.461 Erlangs at 1 %
        # loss and 6.216 Erlangs at 5 %.
        (10, Fraction("4.461"), 0.0100, 4),
        (10, Fraction("6.216"), 0.0500, 4),
    ],
)
def test_erlang_b_matches_published_tables(agents, traffic, published, decimals):
    blocking = erlang_b(agents, float(traffic))
    assert blocking == pytest.approx(float(textbook_erlang_b(agents, traffic)), rel=1e-12)
    assert round(blocking, decimals) == published


def test_erlang_b_stays_finite_where_factorials_overflow_a_float():
    # 171! is beyond a float; the recursion never forms it.
    with pytest.raises(OverflowError):
        float(math.factorial(171))
    blocking = erlang_b(200, 180.0)
    assert blocking == pytest.approx(float(textbook_erlang_b(200, Fraction(180))), rel=1e-12)


# --- Erlang C: the worked example -------------------------------------------------------------
# Call Centre Helper, "Erlang C Formula - Made Simple With an Easy Worked Example": 100 calls in
# 30 minutes, AHT 180 s, 80 % answered within 20 s, maximum occupancy 85 %, shrinkage 30 %;
# A = 10 Erlangs; the article arrives at 14 agents on the phones and 20 to schedule. With 13
# agents the service level is 79.56 %, just short of 80 %: 13 is not enough.
WORKED = {
    "calls": 100,
    "interval_seconds": 1800,
    "aht_seconds": 180,
    "target_answer_seconds": 20,
    "target_service_level": 0.8,
}


def test_traffic_intensity_is_calls_times_aht_over_interval():
    assert traffic_intensity(100, 1800, 180) == 10.0
    assert traffic_intensity(0, 900, 240) == 0.0
    assert traffic_intensity(45, 900, 300) == 15.0


@pytest.mark.parametrize("agents", range(11, 18))
def test_each_level_of_the_worked_example_matches_the_textbook_formula(agents):
    waiting = float(textbook_erlang_c(agents, Fraction(10)))
    assert probability_of_waiting(agents, 10.0) == pytest.approx(waiting, rel=1e-12)
    assert service_level(agents, 10.0, 180, 20) == pytest.approx(
        sl(waiting, agents, 10.0, 180, 20), rel=1e-12
    )
    assert erlang_asa(agents, 10.0, 180) == pytest.approx(waiting * 180 / (agents - 10), rel=1e-12)
    assert occupancy(agents, 10.0) == 10 / agents


def test_worked_example_figures_to_the_published_precision():
    # Rounded as the article prints them (percent with two decimals).
    assert round(probability_of_waiting(11, 10.0) * 100, 2) == 68.21
    assert round(probability_of_waiting(14, 10.0) * 100, 2) == 17.41
    assert round(service_level(13, 10.0, 180, 20) * 100, 2) == 79.56
    assert round(service_level(14, 10.0, 180, 20) * 100, 2) == 88.84
    assert round(erlang_asa(14, 10.0, 180), 2) == 7.84
    assert round(occupancy(14, 10.0) * 100, 2) == 71.43


def test_worked_example_needs_14_agents_and_20_scheduled_with_30_percent_shrinkage():
    result = agents_required(**WORKED, max_occupancy=0.85, shrinkage=0.3)
    waiting = float(textbook_erlang_c(14, Fraction(10)))
    assert result == StaffingRequirement(
        traffic_erlangs=10.0,
        agents=14,
        scheduled_agents=20,
        probability_of_waiting=pytest.approx(waiting, rel=1e-12),
        service_level=pytest.approx(sl(waiting, 14, 10.0, 180, 20), rel=1e-12),
        erlang_asa_seconds=pytest.approx(waiting * 180 / 4, rel=1e-12),
        occupancy=10 / 14,
    )


def test_without_shrinkage_the_agents_to_schedule_are_the_agents_on_the_phones():
    result = agents_required(**WORKED)
    assert (result.agents, result.scheduled_agents) == (14, 14)


def test_a_lower_target_needs_fewer_agents_but_always_more_than_the_traffic():
    # 13 agents give 79.56 %: a 79.5 % target is met one agent earlier.
    assert agents_required(**WORKED | {"target_service_level": 0.795}).agents == 13
    # With t = 0, SL = 1 - P(wait): 11 agents (P(wait) 68.21 %) already meet 1 %, and 10
    # agents for 10 Erlangs would be a queue that never empties.
    assert (
        agents_required(
            **WORKED | {"target_answer_seconds": 0, "target_service_level": 0.01}
        ).agents
        == 11
    )


def test_a_target_of_100_percent_ends_where_waiting_is_too_rare_for_a_float():
    result = agents_required(**WORKED | {"target_service_level": 1.0})
    assert result.service_level == 1.0
    assert 17 < result.agents < 100
    assert math.isfinite(result.probability_of_waiting)


# --- Occupancy ceiling and shrinkage --------------------------------------------------------


def test_a_maximum_occupancy_adds_agents_the_service_level_does_not_need():
    # 14 agents run at 71.43 %; a 70 % ceiling needs ceil(10 / 0.7) = 15.
    result = agents_required(**WORKED, max_occupancy=0.7)
    assert (result.agents, result.occupancy) == (15, 10 / 15)
    waiting = float(textbook_erlang_c(15, Fraction(10)))
    assert result.service_level == pytest.approx(sl(waiting, 15, 10.0, 180, 20), rel=1e-12)


def test_an_occupancy_exactly_at_the_ceiling_is_allowed():
    # 85 calls * 180 s / 1800 s = 8.5 Erlangs; 10 agents make exactly 85 %. A 10 % target is
    # met by fewer agents, so the ceiling decides: 10 at 85 %, 11 at 84 %.
    low_target = {
        "calls": 85,
        "interval_seconds": 1800,
        "aht_seconds": 180,
        "target_answer_seconds": 20,
        "target_service_level": 0.1,
    }
    assert agents_required(**low_target).agents == 9
    assert agents_required(**low_target, max_occupancy=0.85).agents == 10
    assert agents_required(**low_target, max_occupancy=0.84).agents == 11


@pytest.mark.parametrize(
    ("agents", "shrinkage", "scheduled"),
    [
        (14, 0.3, 20),
        # 21 / (1 - 0.3) is 30.000000000000004 in floats: still 30, not 31.
        (21, 0.3, 30),
        (9, 0.55, 20),
        (10, 0.0, 10),
        (10, 0.35, 16),  # 15.38... up to 16
        (0, 0.5, 0),
    ],
)
def test_shrinkage_rounds_the_scheduled_agents_up_from_the_decimal_typed(
    agents, shrinkage, scheduled
):
    assert scheduled_agents(agents, shrinkage) == scheduled


# --- Large traffic ----------------------------------------------------------------------------


def test_500_erlangs_needs_510_agents_for_80_percent_in_20_seconds():
    # 5000 calls in 30 minutes at 180 s: 509 agents give 78.42 %, 510 give 81.89 %.
    result = agents_required(5000, 1800, 180, 20, 0.8, shrinkage=0.3)
    waiting_509 = float(textbook_erlang_c(509, Fraction(500)))
    waiting_510 = float(textbook_erlang_c(510, Fraction(500)))
    assert sl(waiting_509, 509, 500.0, 180, 20) < 0.8
    assert result.traffic_erlangs == 500.0
    assert result.agents == 510
    assert result.scheduled_agents == 729  # 510 / 0.7 = 728.57...
    assert result.probability_of_waiting == pytest.approx(waiting_510, rel=1e-10)
    assert result.service_level == pytest.approx(sl(waiting_510, 510, 500.0, 180, 20), rel=1e-10)
    assert result.erlang_asa_seconds == pytest.approx(waiting_510 * 180 / 10, rel=1e-10)
    assert result.occupancy == 500 / 510


def test_500_erlangs_for_95_percent_in_20_seconds():
    result = agents_required(5000, 1800, 180, 20, 0.95)
    assert result.agents == 518
    for agents, meets in ((517, False), (518, True)):
        waiting = float(textbook_erlang_c(agents, Fraction(500)))
        assert (sl(waiting, agents, 500.0, 180, 20) >= 0.95) is meets


def test_5000_erlangs_gives_finite_figures_agreeing_with_the_log_space_formula():
    result = agents_required(50_000, 1800, 180, 20, 0.8)
    assert result.agents == 5013
    for agents, meets in ((5012, False), (5013, True)):
        waiting = log_space_erlang_c(agents, 5000.0)
        assert (sl(waiting, agents, 5000.0, 180, 20) >= 0.8) is meets
    waiting = log_space_erlang_c(5013, 5000.0)
    assert result.probability_of_waiting == pytest.approx(waiting, rel=1e-9)
    assert result.service_level == pytest.approx(sl(waiting, 5013, 5000.0, 180, 20), rel=1e-9)
    assert result.erlang_asa_seconds == pytest.approx(waiting * 180 / 13, rel=1e-9)
    assert all(
        math.isfinite(value)
        for value in (
            result.probability_of_waiting,
            result.service_level,
            result.erlang_asa_seconds,
            result.occupancy,
        )
    )


# --- Edges ------------------------------------------------------------------------------------


def test_no_calls_need_no_agents():
    result = agents_required(0, 1800, 180, 20, 0.8, max_occupancy=0.85, shrinkage=0.3)
    assert result == StaffingRequirement(
        traffic_erlangs=0.0,
        agents=0,
        scheduled_agents=0,
        probability_of_waiting=0.0,
        service_level=1.0,
        erlang_asa_seconds=0.0,
        occupancy=0.0,
    )


def test_no_more_agents_than_the_traffic_is_an_endless_queue():
    assert probability_of_waiting(10, 10.0) == 1.0
    assert service_level(9, 10.0, 180, 20) == 0.0
    assert erlang_asa(10, 10.0, 180) == math.inf
    assert occupancy(8, 10.0) == 1.0


def test_the_table_lists_each_level_and_leaves_out_those_not_above_the_traffic():
    rows = staffing_table(10.0, 180, 20, 8, 12)
    assert [row.agents for row in rows] == [11, 12]
    waiting = float(textbook_erlang_c(12, Fraction(10)))
    assert rows[1] == StaffingFigures(
        agents=12,
        probability_of_waiting=pytest.approx(waiting, rel=1e-12),
        service_level=pytest.approx(sl(waiting, 12, 10.0, 180, 20), rel=1e-12),
        erlang_asa_seconds=pytest.approx(waiting * 180 / 2, rel=1e-12),
        occupancy=10 / 12,
    )
    assert [row.agents for row in staffing_table(10.0, 180, 20, 12, 17)] == list(range(12, 18))
    assert staffing_table(0.5, 180, 20, -1, 3)[0].agents == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"calls": -1}, "calls must be zero or more, got -1"),
        ({"calls": math.nan}, "calls must be a finite number, got nan"),
        ({"interval_seconds": 0}, "interval_seconds must be more than zero, got 0"),
        ({"aht_seconds": -180}, "aht_seconds must be more than zero, got -180"),
        ({"target_answer_seconds": -1}, "target_answer_seconds must be zero or more, got -1"),
        (
            {"target_service_level": 0},
            "target_service_level must be more than 0 and at most 1, got 0",
        ),
        (
            {"target_service_level": 80},
            "target_service_level must be more than 0 and at most 1, got 80",
        ),
        ({"max_occupancy": 0.0}, "max_occupancy must be more than 0 and at most 1, got 0.0"),
        ({"max_occupancy": 1.2}, "max_occupancy must be more than 0 and at most 1, got 1.2"),
        ({"shrinkage": 1.0}, "shrinkage must be at least 0 and less than 1, got 1.0"),
        ({"shrinkage": -0.1}, "shrinkage must be at least 0 and less than 1, got -0.1"),
    ],
)
def test_bad_inputs_are_refused_with_the_problem_named(changes, message):
    with pytest.raises(ValueError) as refused:
        agents_required(**WORKED | changes)
    assert str(refused.value) == message


def test_agents_must_be_a_whole_number_of_zero_or_more():
    with pytest.raises(ValueError) as refused:
        erlang_b(10.0, 5.0)
    assert str(refused.value) == "agents must be a whole number, got 10.0"
    with pytest.raises(ValueError) as refused:
        probability_of_waiting(-1, 5.0)
    assert str(refused.value) == "agents must be zero or more, got -1"
    with pytest.raises(ValueError) as refused:
        occupancy(10, -5.0)
    assert str(refused.value) == "traffic must be zero or more, got -5.0"
