"""The staffing forecast: means per local weekday and interval over explicit weeks of calls, AHT
per cell and its fallback, Erlang C staffing checked against the textbook formula, agents
logged in, daylight-saving weeks in Rome, and the page and API with their roles and errors.

The bank (Europe/Moscow, UTC+3 all year), queues Cards (T = 20 s) and Loans (T = 30 s). History
for the week of Monday 2 November 2026, 4 weeks: the weeks of 5, 12, 19 and 26 October (W1-W4).
Handle = talk + hold + wrap-up; every call is over unless said otherwise. Local times.

  Mon 08:00  W2 08:59:59 answered 240                  -> 1 / 4 = 0.25 calls, AHT 240
  Mon 09:00  W1 09:10 answered 120+30+30 = 180, 09:40 abandoned
             W2 09:00:00, 09:20, 09:40, 09:59:59 answered 200+0+40 = 240
             W3 09:05 answered 100+20+(wrap-up going on) = 120, 09:25 answered 300+0+60 = 360,
                09:45 abandoned
             W4 09:00, 09:10, 09:20, 09:40, 09:50 answered 180+20+40 = 240; 09:30 still open
                (not offered); 09:35 answered but never queued (not offered)
             -> offered 2 + 4 + 3 + 5 = 14, mean 3.5; handled 12, 2820 s: AHT 235
  Mon 10:00  each week 10:00:00 onwards: Cards 30, 34, 26, 30 and Loans 10 calls, all answered
             150+0+30 = 180 -> 40 calls (Cards alone 30), AHT 180
  Tue 09:00  each week one abandoned call at 09:15 -> 1 call, no handled call: the company's
             AHT over the history, (240 + 2820 + 160 x 180 + 2 x 300) / (1 + 12 + 160 + 2)
             = 32460 / 175 s
  Wed 09:00  W1 09:10 and 09:20 answered 300+0+0 -> 0.5 calls, AHT 300

Never counted: the shop's calls at the same instants, a Cards call of the week before the
history (28 September) and one of the target week.

Agents (the week of 26 October, the last of the history):
  Anna   available 26th 08:30-09:30, on call 09:30-09:45, offline 09:45-10:30, available
         10:30-11:00, offline 11:00-12:00; available on 19th 09:00-10:00 (not the last week)
  Boris  paused 26th 09:00-10:00, available from 10:00 on (still open)
  Carl   available 25th 23:30 - 26th 00:30 and 1 Nov 23:30 - 2 Nov 01:00
  -> Mon 00:00 0.5, 07:00 0, 08:00 0.5, 09:00 (2700 + 3600) / 3600 = 1.75, 10:00 1.5, 11:00 1,
     Tue 09:00 1, Sun 23:00 1.5.
"""

import csv
import io
import itertools
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from openpyxl import load_workbook
from pytest_django.asserts import assertContains, assertNotContains

from contactcenter.tenancy.models import Role
from reporting.exports import XLSX_CONTENT_TYPE
from reporting.forecast import history_mondays, next_monday, staffing_forecast
from telephony.models import (
    Agent,
    AgentState,
    AgentStateInterval,
    Call,
    PbxConnection,
    Queue,
)
from tests.conftest import make_user

PAGE = "/reports/staffing/forecast/"
API = "/api/reports/staffing/forecast/"
MOSCOW = ZoneInfo("Europe/Moscow")
ROME = ZoneInfo("Europe/Rome")
TARGET = date(2026, 11, 2)
W1, W2, W3, W4 = (date(2026, 10, 5) + timedelta(weeks=n) for n in range(4))
# Row indexes of the target week's hourly rows.
MON_00, MON_07, MON_08, MON_09, MON_10, MON_11 = 0, 7, 8, 9, 10, 11
TUE_09, WED_09, SUN_23 = 24 + 9, 48 + 9, 6 * 24 + 23
COMPANY_AHT = 32460 / 175
Outcome = Call.Outcome
_ids = itertools.count()


def local(day: date, hour: int, minute: int = 0, second: int = 0, tz=MOSCOW, fold=0) -> datetime:
    wall = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=tz, fold=fold)
    return wall.astimezone(UTC)


def make_call(connection, queue, offered, handle=None, *, outcome=None, over=True) -> Call:
    """A call offered at `offered`, answered with handle = (talk, hold, wrap-up) or, without
    one, abandoned; over two minutes later unless `over` is False."""
    talk, hold, wrap_up = handle or (None, 0, None)
    return Call.objects.create(
        company=connection.company,
        connection=connection,
        pbx_call_id=f"call-{next(_ids)}",
        queue=queue,
        outcome=outcome or (Outcome.ANSWERED if handle else Outcome.ABANDONED),
        offered_at=offered,
        ended_at=offered + timedelta(minutes=2) if over else None,
        talk_seconds=talk,
        hold_seconds=hold,
        wrap_up_seconds=wrap_up,
    )


def state(agent: Agent, name: str, start: datetime, end: datetime | None) -> None:
    AgentStateInterval.objects.create(
        company=agent.company, agent=agent, state=name, started_at=start, ended_at=end
    )


# --- Erlang C by the textbook, independent of reporting/erlang.py ------------------------------


def textbook_erlang_c(agents: int, traffic: float) -> float:
    """P(wait) = (A^N / N!) (N / (N - A)) / (sum_{k<N} A^k / k! + (A^N / N!) (N / (N - A)))."""
    top = traffic**agents / math.factorial(agents) * agents / (agents - traffic)
    return top / (sum(traffic**k / math.factorial(k) for k in range(agents)) + top)


def textbook_staffing(calls, aht, interval_seconds, answer_seconds, target):
    """(agents, service level, occupancy): the fewest N > A with SL(t) >= target."""
    traffic = calls * aht / interval_seconds
    agents = math.floor(traffic) + 1
    while True:
        waiting = textbook_erlang_c(agents, traffic)
        level = 1 - waiting * math.exp(-(agents - traffic) * answer_seconds / aht)
        if level >= target:
            return agents, level, traffic / agents
        agents += 1


# --- the bank's history -------------------------------------------------------------------------


@dataclass
class History:
    cards: Queue
    loans: Queue
    shop_queue: Queue


@pytest.fixture
def history(company, other_company, agent) -> History:
    pbx = PbxConnection.objects.create(name="Bank PBX", company=company, format="native")
    cards = Queue.objects.create(company=company, name="Cards", code="cards")
    loans = Queue.objects.create(
        company=company, name="Loans", code="loans", service_level_seconds=30
    )

    make_call(pbx, cards, local(W2, 8, 59, 59), (200, 0, 40))

    make_call(pbx, cards, local(W1, 9, 10), (120, 30, 30))
    make_call(pbx, cards, local(W1, 9, 40))
    for minute, second in ((0, 0), (20, 0), (40, 0), (59, 59)):
        make_call(pbx, cards, local(W2, 9, minute, second), (200, 0, 40))
    make_call(pbx, cards, local(W3, 9, 5), (100, 20, None))
    make_call(pbx, cards, local(W3, 9, 25), (300, 0, 60))
    make_call(pbx, cards, local(W3, 9, 45))
    for minute in (0, 10, 20, 40, 50):
        make_call(pbx, cards, local(W4, 9, minute), (180, 20, 40))
    make_call(pbx, cards, local(W4, 9, 30), outcome=Outcome.IN_PROGRESS, over=False)
    make_call(pbx, None, local(W4, 9, 35), (180, 0, 0))

    for week, cards_calls in zip((W1, W2, W3, W4), (30, 34, 26, 30), strict=True):
        for n in range(cards_calls + 10):
            queue = cards if n < cards_calls else loans
            make_call(pbx, queue, local(week, 10) + timedelta(seconds=60 * n), (150, 0, 30))
        make_call(pbx, cards, local(week + timedelta(days=1), 9, 15))
    make_call(pbx, cards, local(W1 + timedelta(days=2), 9, 10), (300, 0, 0))
    make_call(pbx, cards, local(W1 + timedelta(days=2), 9, 20), (300, 0, 0))

    make_call(pbx, cards, local(W1 - timedelta(weeks=1), 9, 10), (200, 0, 40))
    make_call(pbx, cards, local(TARGET, 9, 10), (200, 0, 40))
    shop_pbx = PbxConnection.objects.create(name="Shop PBX", company=other_company, format="n")
    shop_queue = Queue.objects.create(company=other_company, name="Orders", code="orders")
    for week in (W1, W2, W3, W4):
        for _n in range(10):
            make_call(shop_pbx, shop_queue, local(week, 9, 10), (999, 0, 0))

    anna = Agent.objects.create(company=company, user=agent)
    boris = Agent.objects.create(company=company, user=make_user("boris", company, Role.AGENT))
    carl = Agent.objects.create(company=company, user=make_user("carl", company, Role.AGENT))
    state(anna, AgentState.AVAILABLE, local(W4, 8, 30), local(W4, 9, 30))
    state(anna, AgentState.ON_CALL, local(W4, 9, 30), local(W4, 9, 45))
    state(anna, AgentState.OFFLINE, local(W4, 9, 45), local(W4, 10, 30))
    state(anna, AgentState.AVAILABLE, local(W4, 10, 30), local(W4, 11))
    state(anna, AgentState.OFFLINE, local(W4, 11), local(W4, 12))
    state(anna, AgentState.AVAILABLE, local(W3, 9), local(W3, 10))
    state(boris, AgentState.PAUSED, local(W4, 9), local(W4, 10))
    state(boris, AgentState.AVAILABLE, local(W4, 10), None)
    state(carl, AgentState.AVAILABLE, local(W4, 23, 30) - timedelta(days=1), local(W4, 0, 30))
    state(carl, AgentState.AVAILABLE, local(TARGET, 23, 30) - timedelta(days=1), local(TARGET, 1))
    shopper = make_user("shopper", other_company, Role.AGENT)
    shop_agent = Agent.objects.create(company=other_company, user=shopper)
    state(shop_agent, AgentState.AVAILABLE, local(W4, 8), local(W4, 12))
    return History(cards=cards, loans=loans, shop_queue=shop_queue)


def bank_forecast(company, **options):
    return staffing_forecast(company, interval_minutes=60, week=TARGET, **({"weeks": 4} | options))


# --- the weeks of history -----------------------------------------------------------------------


def test_next_week_is_the_monday_after_today():
    assert next_monday(date(2026, 11, 25)) == date(2026, 11, 30)  # a Wednesday
    assert next_monday(date(2026, 11, 23)) == date(2026, 11, 30)  # a Monday: next week's
    assert next_monday(date(2026, 11, 29)) == date(2026, 11, 30)  # a Sunday


def test_history_is_the_whole_weeks_before_the_target_and_never_the_current_week():
    wednesday = date(2026, 11, 25)
    assert history_mondays(date(2026, 11, 2), 2, wednesday) == [
        date(2026, 10, 19),
        date(2026, 10, 26),
    ]
    # Next week: this week (23 November) is not over, so the history ends on 22 November.
    assert history_mondays(date(2026, 11, 30), 2, wednesday) == [
        date(2026, 11, 9),
        date(2026, 11, 16),
    ]
    assert history_mondays(date(2027, 1, 4), 1, wednesday) == [date(2026, 11, 16)]


def test_default_week_is_next_week_in_the_companys_zone(company, history):
    # Sunday 29 November 22:30 UTC is Monday 30 November 01:30 in Moscow.
    forecast = staffing_forecast(company, now=datetime(2026, 11, 29, 22, 30, tzinfo=UTC))
    assert forecast.week == date(2026, 12, 7)
    assert forecast.history == [date(2026, 11, d) for d in (2, 9, 16, 23)]
    assert (forecast.interval_minutes, forecast.answer_seconds) == (30, 20)
    assert forecast.service_level == 0.8
    earlier = staffing_forecast(company, now=datetime(2026, 11, 29, 20, 59, tzinfo=UTC))
    assert earlier.week == date(2026, 11, 30)


# --- the forecast ---------------------------------------------------------------------------------


def test_forecast_calls_are_the_mean_of_the_same_weekday_and_interval(company, history):
    forecast = bank_forecast(company)
    assert forecast.history == [W1, W2, W3, W4]
    rows = forecast.rows
    assert len(rows) == 7 * 24
    assert rows[MON_09].period.label == "2026-11-02 09:00+03:00"
    assert rows[SUN_23].period.label == "2026-11-08 23:00+03:00"
    calls = {i: row.calls for i, row in enumerate(rows) if row.calls}
    assert calls == {MON_08: 0.25, MON_09: 3.5, MON_10: 40.0, TUE_09: 1.0, WED_09: 0.5}
    assert {row.history_intervals for row in rows} == {4}
    assert forecast.total_calls == 45.25


def test_forecast_aht_is_the_cells_handle_time_over_its_handled_calls(company, history):
    rows = bank_forecast(company).rows
    assert (rows[MON_08].aht_seconds, rows[MON_08].aht_is_fallback) == (240, False)
    # 2820 s over 12 handled calls, not the mean of the weeks' AHTs (225).
    assert (rows[MON_09].aht_seconds, rows[MON_09].aht_is_fallback) == (235, False)
    assert (rows[MON_10].aht_seconds, rows[WED_09].aht_seconds) == (180, 300)


def test_a_cell_with_no_handled_call_takes_the_companys_aht_and_says_so(company, history):
    forecast = bank_forecast(company, queue=history.loans)
    tuesday = bank_forecast(company).rows[TUE_09]
    assert (tuesday.calls, tuesday.aht_is_fallback) == (1.0, True)
    assert tuesday.aht_seconds == pytest.approx(COMPANY_AHT, abs=1e-9)
    # The fallback is the company's, every queue: the Loans queue alone would say 180 s.
    assert forecast.history_aht.value == pytest.approx(COMPANY_AHT, abs=1e-9)
    notes = dict(bank_forecast(company).notes())
    assert notes["AHT fallback"] == (
        "164 intervals with no handled call in their history take the company's AHT over the "
        "whole history: 185.49 s"
    )


def test_queue_forecast_counts_that_queues_calls_and_uses_its_threshold(company, history):
    forecast = bank_forecast(company, queue=history.cards)
    assert forecast.rows[MON_10].calls == 30.0  # 30, 34, 26, 30 Cards calls
    assert forecast.rows[MON_09].calls == 3.5
    assert (forecast.answer_seconds, forecast.answer_seconds_source) == (
        20,
        "the Cards queue's threshold",
    )
    loans = bank_forecast(company, queue=history.loans)
    assert loans.rows[MON_10].calls == 10.0
    assert loans.rows[MON_09].calls == 0.0
    assert loans.answer_seconds == 30
    assert bank_forecast(company, answer_seconds=15).answer_seconds_source == "as entered"
    assert bank_forecast(company).answer_seconds_source == (
        "the strictest of the queues' thresholds: 20, 30 s"
    )


def test_staffing_agrees_with_the_textbook_erlang_c(company, history):
    forecast = bank_forecast(company, shrinkage=0.3)
    for index, calls, aht in (
        (MON_09, 3.5, 235),
        (MON_10, 40, 180),
        (TUE_09, 1, COMPANY_AHT),
        (WED_09, 0.5, 300),
        (MON_08, 0.25, 240),
    ):
        requirement = forecast.rows[index].requirement
        agents, level, busy = textbook_staffing(calls, aht, 3600, 20, 0.8)
        assert requirement.agents == agents
        assert requirement.service_level == pytest.approx(level, rel=1e-9)
        assert requirement.occupancy == pytest.approx(busy, rel=1e-9)
        assert requirement.scheduled_agents == math.ceil(agents / 0.7 - 1e-9)


def test_staffing_figures_checked_by_hand(company, history):
    rows = bank_forecast(company, shrinkage=0.3).rows
    # A = 40 x 180 / 3600 = 2 Erlangs. N = 3: P(wait) = 4/9, SL = 1 - 4/9 e^(-20/180) = 60.2 %;
    # N = 4: P(wait) = 4/23, SL = 1 - 4/23 e^(-40/180) = 86.07 %, occupancy 2/4.
    ten = rows[MON_10].requirement
    assert (ten.agents, ten.scheduled_agents) == (4, 6)  # ceil(4 / 0.7) = 6
    assert round(ten.service_level * 100, 2) == 86.07
    assert ten.occupancy == 0.5
    # A = 3.5 x 235 / 3600 = 0.2285; one agent gives 78.6 % < 80 %, two 97.99 %.
    nine = rows[MON_09].requirement
    assert (nine.agents, nine.scheduled_agents) == (2, 3)
    assert round(nine.service_level * 100, 2) == 97.99
    # No calls, no agents.
    seven = rows[MON_07].requirement
    assert (seven.agents, seven.scheduled_agents, seven.occupancy) == (0, 0, 0.0)


def test_occupancy_ceiling_and_service_level_target_change_the_agents(company, history):
    # A = 2: four agents run at 50 %; at most 40 % needs ceil(2 / 0.4) = 5.
    assert bank_forecast(company, max_occupancy=0.4).rows[MON_10].requirement.agents == 5
    # 90 % within 20 s: N = 4 gives 86.07 %, N = 5 gives 1 - P(wait) e^(-60/180) > 90 %.
    assert bank_forecast(company, service_level=0.9).rows[MON_10].requirement.agents == 5


def test_logged_in_is_the_average_number_of_agents_in_the_last_week(company, history):
    rows = bank_forecast(company).rows
    logged_in = {
        index: rows[index].logged_in
        for index in (MON_00, MON_07, MON_08, MON_09, MON_10, MON_11, TUE_09, SUN_23)
    }
    assert logged_in == {
        MON_00: 0.5,
        MON_07: 0.0,
        MON_08: 0.5,
        MON_09: 1.75,
        MON_10: 1.5,
        MON_11: 1.0,
        TUE_09: 1.0,
        SUN_23: 1.5,
    }
    assert bank_forecast(company).logged_in_week == W4


def test_forecast_reads_in_few_queries(company, history, django_assert_num_queries):
    # Calls by slot, the company's AHT, the queues' thresholds, logins begun and ended by slot.
    with django_assert_num_queries(5):
        bank_forecast(company)
    with django_assert_num_queries(4):
        bank_forecast(company, queue=history.cards)


def test_quarter_hours_split_the_cell(company, history):
    rows = staffing_forecast(company, interval_minutes=15, week=TARGET, weeks=4).rows
    assert len(rows) == 7 * 96
    nine = rows[36:40]
    assert [r.period.label for r in nine] == [
        "2026-11-02 09:00+03:00",
        "2026-11-02 09:15+03:00",
        "2026-11-02 09:30+03:00",
        "2026-11-02 09:45+03:00",
    ]
    # 09:00-09:15: W1 09:10, W2 09:00, W3 09:05, W4 09:00 and 09:10; 09:15-09:30: W2 09:20,
    # W3 09:25, W4 09:20; 09:30-09:45: W1 09:40, W2 09:40, W4 09:40; 09:45-10:00: W2 09:59:59,
    # W3 09:45, W4 09:50.
    assert [r.calls for r in nine] == [1.25, 0.75, 0.75, 0.75]
    # Anna 09:00-09:45 and Boris all hour: 2 agents, then Boris alone.
    assert [r.logged_in for r in nine] == [2.0, 2.0, 2.0, 1.0]


def test_without_any_handled_call_there_is_no_staffing_for_calls(company):
    pbx = PbxConnection.objects.create(name="Bank PBX", company=company, format="native")
    cards = Queue.objects.create(company=company, name="Cards", code="cards")
    make_call(pbx, cards, local(W4, 9, 10))  # abandoned: no handled call at all
    forecast = bank_forecast(company)
    nine = forecast.rows[MON_09]
    assert (nine.calls, nine.aht_seconds, nine.requirement) == (0.25, None, None)
    # An interval with no calls needs no agents, AHT or not.
    assert forecast.rows[MON_10].requirement.agents == 0
    notes = dict(forecast.notes())
    assert notes["No AHT"] == (
        "No call of the history was handled: 1 interval with forecast calls has no staffing."
    )
    assert "AHT fallback" not in notes
    assert notes["Target answer time"] == "20 s (the threshold of every queue)"


def test_a_half_hour_zone_groups_its_hours_by_half_hour_slots(company):
    company.time_zone = "Asia/Kolkata"  # UTC+5:30: local hours start at half past in UTC
    company.save()
    kolkata = ZoneInfo("Asia/Kolkata")
    pbx = PbxConnection.objects.create(name="Bank PBX", company=company, format="native")
    cards = Queue.objects.create(company=company, name="Cards", code="cards")
    make_call(pbx, cards, local(W2, 9, 10, tz=kolkata), (240, 0, 0))
    make_call(pbx, cards, local(W3, 9, 50, tz=kolkata), (120, 0, 0))
    make_call(pbx, cards, local(W4, 8, 50, tz=kolkata), (120, 0, 0))
    anna = Agent.objects.create(company=company, user=make_user("anna", company, Role.AGENT))
    state(anna, AgentState.AVAILABLE, local(W4, 8, 45, tz=kolkata), local(W4, 9, 30, tz=kolkata))
    rows = bank_forecast(company).rows
    assert rows[MON_09].period.label == "2026-11-02 09:00+05:30"
    assert (rows[MON_08].calls, rows[MON_09].calls, rows[MON_09].aht_seconds) == (0.25, 0.5, 180)
    assert (rows[MON_08].logged_in, rows[MON_09].logged_in) == (0.25, 0.5)
    assert bank_forecast(company).answer_seconds_source == "the threshold of every queue"


def test_page_and_api_default_to_next_week(client, supervisor, history):
    client.force_login(supervisor)
    forecast = client.get(PAGE, {"company": "bank"}).context["forecast"]
    assert (forecast.week.weekday(), forecast.interval_minutes, len(forecast.history)) == (0, 30, 4)
    assert forecast.week - forecast.history[-1] >= timedelta(weeks=1)
    body = client.get(API, {"company": "bank"}).json()
    assert (body["interval"], len(body["history_weeks"]), body["service_level_percent"]) == (
        30,
        4,
        80.0,
    )
    assert date.fromisoformat(body["week"]).weekday() == 0


# --- daylight saving in Rome ----------------------------------------------------------------------


@pytest.fixture
def rome(other_company):
    """The shop (Europe/Rome). Clocks go back on Sunday 25 October 2026, 03:00 CEST -> 02:00
    CET: that day 02:00-03:00 happens twice. Every call answered, handle 200 s.

      Sunday 09:10 on 11, 18 and 25 October and 1 November, two more at 09:50 on 25 October;
      Sunday 10:10 on 18 October and 08:10 on 25 October (UTC 08:10 and 07:10: the hour that
      09:10 was on the other side of the change);
      Sunday 02:30 on 11 and 18 October, twice at the first 02:30 of 25 October and once at
      the second, once on 1 November.
    Agent Dario is available from 00:00 CEST to the second 02:30 (CET) on 25 October."""
    pbx = PbxConnection.objects.create(name="Shop PBX", company=other_company, format="native")
    orders = Queue.objects.create(company=other_company, name="Orders", code="orders")
    handle = (200, 0, 0)
    for day in (date(2026, 10, 11), date(2026, 10, 18), date(2026, 10, 25), date(2026, 11, 1)):
        make_call(pbx, orders, local(day, 9, 10, tz=ROME), handle)
        make_call(pbx, orders, local(day, 2, 30, tz=ROME), handle)
    for when in (
        local(date(2026, 10, 25), 9, 50, tz=ROME),
        local(date(2026, 10, 25), 9, 50, tz=ROME),
        local(date(2026, 10, 18), 10, 10, tz=ROME),
        local(date(2026, 10, 25), 8, 10, tz=ROME),
        local(date(2026, 10, 25), 2, 30, tz=ROME, fold=0),
        local(date(2026, 10, 25), 2, 30, tz=ROME, fold=1),
    ):
        make_call(pbx, orders, when, handle)
    dario = Agent.objects.create(
        company=other_company, user=make_user("dario", other_company, Role.AGENT)
    )
    state(
        dario,
        AgentState.AVAILABLE,
        local(date(2026, 10, 25), 0, tz=ROME),
        local(date(2026, 10, 25), 2, 30, tz=ROME, fold=1),
    )
    return orders


def test_utc_offsets_of_the_moment_the_fixture_relies_on():
    assert local(date(2026, 10, 18), 9, 10, tz=ROME) == datetime(2026, 10, 18, 7, 10, tzinfo=UTC)
    assert local(date(2026, 10, 25), 9, 10, tz=ROME) == datetime(2026, 10, 25, 8, 10, tzinfo=UTC)
    first, second = (local(date(2026, 10, 25), 2, 30, tz=ROME, fold=f) for f in (0, 1))
    assert (first.hour, second.hour) == (0, 1)


def test_the_local_0900_cell_matches_0900_across_the_autumn_change(other_company, rome):
    rows = staffing_forecast(other_company, interval_minutes=60, week=TARGET, weeks=4).rows
    sunday = rows[6 * 24 :]
    assert len(rows) == 7 * 24
    assert sunday[9].period.label == "2026-11-08 09:00+01:00"
    # 09:10 on four Sundays and 09:50 twice on the 25th: 6 / 4.
    assert sunday[9].calls == 1.5
    assert (sunday[8].calls, sunday[10].calls) == (0.25, 0.25)
    # 02:00 happened five times (twice on the 25th): 6 calls / 5 intervals.
    assert (sunday[2].calls, sunday[2].history_intervals) == (1.2, 5)


def test_the_target_week_of_the_autumn_change_has_its_25_hour_sunday(other_company, rome):
    rows = staffing_forecast(
        other_company, interval_minutes=60, week=date(2026, 10, 19), weeks=1
    ).rows
    assert len(rows) == 7 * 24 + 1
    sunday = rows[6 * 24 :]
    assert [r.period.label for r in sunday[1:5]] == [
        "2026-10-25 01:00+02:00",
        "2026-10-25 02:00+02:00",
        "2026-10-25 02:00+01:00",
        "2026-10-25 03:00+01:00",
    ]
    # Both 02:00 intervals take the 02:00 of 18 October; 09:00 (now UTC+1) takes its 09:10.
    assert [r.calls for r in sunday[2:4]] == [1.0, 1.0]
    assert (sunday[10].period.label, sunday[10].calls) == ("2026-10-25 09:00+01:00", 1.0)
    assert (sunday[11].period.label, sunday[11].calls) == ("2026-10-25 10:00+01:00", 1.0)


def test_logged_in_over_the_repeated_hour(other_company, rome):
    forecast = staffing_forecast(
        other_company, interval_minutes=60, week=date(2026, 10, 26), weeks=1
    )
    sunday = forecast.rows[6 * 24 :]
    assert forecast.logged_in_week == date(2026, 10, 19)
    # 02:00 was two intervals on the 25th: 3600 s logged in during the first, 1800 s during
    # the second, over 7200 s.
    assert [r.logged_in for r in sunday[:4]] == [1.0, 1.0, 0.75, 0.0]
    # Its forecast: three calls over the two intervals.
    assert (sunday[2].calls, sunday[2].history_intervals) == (1.5, 2)


def test_the_spring_change_skips_the_hour_that_never_was(other_company):
    # Sunday 29 March 2026: 02:00 CET -> 03:00 CEST.
    skipped = staffing_forecast(other_company, interval_minutes=60, week=date(2026, 3, 23), weeks=1)
    sunday = skipped.rows[6 * 24 :]
    assert len(skipped.rows) == 7 * 24 - 1
    assert [r.period.label for r in sunday[1:3]] == [
        "2026-03-29 01:00+01:00",
        "2026-03-29 03:00+02:00",
    ]
    # The next week's 02:00 has no history: no forecast, no staffing, no logins.
    after = staffing_forecast(other_company, interval_minutes=60, week=date(2026, 3, 30), weeks=1)
    two = after.rows[6 * 24 + 2]
    assert two.period.label == "2026-04-05 02:00+02:00"
    assert (two.history_intervals, two.calls, two.requirement, two.logged_in) == (
        0,
        None,
        None,
        None,
    )
    assert dict(after.notes())["No history"] == (
        "1 interval never occurred in the history (a daylight-saving change): no forecast."
    )


# --- the API --------------------------------------------------------------------------------------

QUERY = {"company": "bank", "interval": "60", "week": "2026-11-02", "weeks": "4", "shrinkage": "30"}
NOTES = [
    {"label": "Client company", "value": "Bank"},
    {"label": "Time zone", "value": "Europe/Moscow"},
    {"label": "Queue", "value": "All queues"},
    {"label": "Interval", "value": "60 minutes"},
    {"label": "Forecast week", "value": "2026-11-02 - 2026-11-08"},
    {
        "label": "History",
        "value": "4 weeks, 2026-10-05 - 2026-11-01: the mean of the offered calls of the same "
        "weekday and local interval",
    },
    {
        "label": "Target answer time",
        "value": "20 s (the strictest of the queues' thresholds: 20, 30 s)",
    },
    {"label": "Target service level", "value": "80 %"},
    {"label": "Maximum occupancy", "value": "No limit"},
    {"label": "Shrinkage", "value": "30 %"},
    {
        "label": "AHT fallback",
        "value": "164 intervals with no handled call in their history take the company's AHT "
        "over the whole history: 185.49 s",
    },
    {
        "label": "Logged in",
        "value": "Average agents logged in (any state but offline) in the same interval of the "
        "week of 2026-10-26",
    },
    {
        "label": "Model",
        "value": "Erlang C: service level and occupancy of the agents required; agents to "
        "schedule = agents required / (1 - shrinkage), rounded up.",
    },
]


def test_urls_resolve_by_name():
    assert reverse("reporting:staffing_forecast") == PAGE
    assert reverse("reports-staffing-forecast") == API
    assert reverse("reporting:erlang_c") == "/reports/staffing/erlang-c/"


def test_api_answers_the_forecast(client, supervisor, history):
    client.force_login(supervisor)
    response = client.get(API, QUERY)
    assert response.status_code == 200
    body = response.json()
    rows = body.pop("rows")
    assert body == {
        "report": "staffing_forecast",
        "company": "bank",
        "time_zone": "Europe/Moscow",
        "queue": None,
        "interval": 60,
        "week": "2026-11-02",
        "history_weeks": ["2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26"],
        "logged_in_week": "2026-10-26",
        "answer_seconds": 20,
        "service_level_percent": 80.0,
        "max_occupancy_percent": None,
        "shrinkage_percent": 30.0,
        "history_aht_seconds": 185.49,
        "notes": NOTES,
        # 0.25 x 240 + 3.5 x 235 + 40 x 180 + 32460 / 175 + 0.5 x 300 = 8417.99 s / 45.25 calls
        "total": {"forecast_calls": 45.25, "forecast_aht_seconds": 186.03},
    }
    assert len(rows) == 168
    assert rows[MON_09] == {
        "interval": "2026-11-02 09:00+03:00",
        "start": "2026-11-02T06:00:00+00:00",
        "end": "2026-11-02T07:00:00+00:00",
        "weekday": 1,
        "history_intervals": 4,
        "forecast_calls": 3.5,
        "forecast_aht_seconds": 235.0,
        "aht_is_fallback": False,
        "traffic_erlangs": 0.2285,
        "agents": 2,
        "scheduled_agents": 3,
        "service_level_percent": 97.99,
        "occupancy_percent": 11.42,
        "logged_in_agents": 1.75,
    }
    assert rows[MON_10] | {"interval": None, "start": None, "end": None} == {
        "interval": None,
        "start": None,
        "end": None,
        "weekday": 1,
        "history_intervals": 4,
        "forecast_calls": 40.0,
        "forecast_aht_seconds": 180.0,
        "aht_is_fallback": False,
        "traffic_erlangs": 2.0,
        "agents": 4,
        "scheduled_agents": 6,
        "service_level_percent": 86.07,
        "occupancy_percent": 50.0,
        "logged_in_agents": 1.5,
    }
    # One call of 32460 / 175 s: A = 0.0515, one agent: 1 - A e^(-(1 - A) 20 / AHT) = 95.35 %.
    assert rows[TUE_09] == {
        "interval": "2026-11-03 09:00+03:00",
        "start": "2026-11-03T06:00:00+00:00",
        "end": "2026-11-03T07:00:00+00:00",
        "weekday": 2,
        "history_intervals": 4,
        "forecast_calls": 1.0,
        "forecast_aht_seconds": 185.49,
        "aht_is_fallback": True,
        "traffic_erlangs": 0.0515,
        "agents": 1,
        "scheduled_agents": 2,
        "service_level_percent": 95.35,
        "occupancy_percent": 5.15,
        "logged_in_agents": 1.0,
    }
    assert rows[MON_07] == {
        "interval": "2026-11-02 07:00+03:00",
        "start": "2026-11-02T04:00:00+00:00",
        "end": "2026-11-02T05:00:00+00:00",
        "weekday": 1,
        "history_intervals": 4,
        "forecast_calls": 0.0,
        "forecast_aht_seconds": 185.49,
        "aht_is_fallback": True,
        "traffic_erlangs": 0.0,
        "agents": 0,
        "scheduled_agents": 0,
        "service_level_percent": 100.0,
        "occupancy_percent": 0.0,
        "logged_in_agents": 0.0,
    }


def test_api_forecast_of_one_queue_with_its_threshold(client, supervisor, history):
    client.force_login(supervisor)
    query = QUERY | {"queue": str(history.loans.pk), "max_occupancy": "85"}
    body = client.get(API, query).json()
    assert (body["queue"], body["answer_seconds"], body["max_occupancy_percent"]) == (
        "loans",
        30,
        85.0,
    )
    assert body["notes"][2] == {"label": "Queue", "value": "Loans"}
    assert body["notes"][6] == {
        "label": "Target answer time",
        "value": "30 s (the Loans queue's threshold)",
    }
    # 10 calls x 180 s / 3600 s = 0.5 Erlangs; one agent: 1 - 0.5 e^(-0.5 x 30 / 180) = 53.99 %;
    # two: B(2) = 1/13, P(wait) = (2/13) / (2 - 0.5 x 12/13) = 1/10, 1 - e^(-1.5 x 30 / 180) / 10
    # = 92.21 %.
    ten = body["rows"][MON_10]
    assert (ten["forecast_calls"], ten["agents"], ten["service_level_percent"]) == (10.0, 2, 92.21)


def test_api_names_the_missing_company(client, supervisor, history):
    client.force_login(supervisor)
    response = client.get(API)
    assert response.status_code == 400
    assert response.json() == {"company": ["This field is required."]}


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"interval": "45"}, {"interval": ['"45" is not a valid choice.']}),
        (
            {"week": "2026-11-03"},
            {"week": ["2026-11-03 is not a Monday: enter the Monday the week starts on."]},
        ),
        (
            {"week": "2026-13-01"},
            {"week": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]},
        ),
        (
            {"week": "1999-12-27"},
            {"week": ["Ensure this value is greater than or equal to 2000-01-03."]},
        ),
        ({"weeks": "13"}, {"weeks": ["Ensure this value is less than or equal to 12."]}),
        ({"weeks": "0"}, {"weeks": ["Ensure this value is greater than or equal to 1."]}),
        (
            {"answer_seconds": "-1"},
            {"answer_seconds": ["Ensure this value is greater than or equal to 0."]},
        ),
        ({"service_level": "0"}, {"service_level": ["Enter a number more than 0."]}),
        (
            {"max_occupancy": "120"},
            {"max_occupancy": ["Ensure this value is less than or equal to 100."]},
        ),
        ({"shrinkage": "100"}, {"shrinkage": ["Enter a percentage less than 100."]}),
        ({"queue": "x"}, {"queue": ["Incorrect type. Expected pk value, received str."]}),
    ],
)
def test_api_refuses_bad_parameters_naming_them(client, supervisor, history, changes, errors):
    client.force_login(supervisor)
    response = client.get(API, QUERY | changes)
    assert response.status_code == 400
    assert response.json() == errors


def test_api_refuses_another_companys_queue_like_a_missing_one(client, supervisor, history):
    client.force_login(supervisor)
    for queue_id in (history.shop_queue.pk, 999999):
        response = client.get(API, QUERY | {"queue": str(queue_id)})
        assert response.status_code == 400
        assert response.json() == {"queue": [f'Invalid pk "{queue_id}" - object does not exist.']}


@pytest.mark.parametrize("role_user", ["client_manager", "admin_user"])
def test_api_is_open_to_the_companys_managers_and_administrators(
    client, request, history, role_user
):
    client.force_login(request.getfixturevalue(role_user))
    response = client.get(API, QUERY)
    assert response.status_code == 200
    assert response.json()["rows"][MON_10]["agents"] == 4


def test_api_answers_404_for_a_company_the_user_does_not_read(client, supervisor, outsider):
    client.force_login(outsider)
    assert client.get(API, QUERY).status_code == 404
    client.force_login(supervisor)
    assert client.get(API, QUERY | {"company": "shop"}).status_code == 404
    assert client.get(API, QUERY | {"company": "nowhere"}).status_code == 404


def test_another_companys_slug_answers_exactly_like_a_missing_one(client, company, outsider):
    client.force_login(outsider)
    for path in (PAGE, API):
        foreign = client.get(path, {"company": "bank"})
        missing = client.get(path, {"company": "no-such-company"})
        assert foreign.status_code == missing.status_code == 404
        assert foreign.content == missing.content


def test_api_refuses_an_agent_before_reading_the_parameters(client, agent):
    client.force_login(agent)
    for query in (QUERY, {"weeks": "99"}):
        response = client.get(API, query)
        assert response.status_code == 403
        assert response.json() == {
            "detail": "Only supervisors, client managers and administrators plan staffing."
        }


def test_api_refuses_anonymous_callers(client, company):
    response = client.get(API, QUERY)
    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}


# --- the page -------------------------------------------------------------------------------------


def test_page_shows_the_table_notes_chart_and_exports(client, supervisor, history):
    client.force_login(supervisor)
    response = client.get(PAGE, QUERY)
    assert response.status_code == 200
    # The first page is Monday's 24 hours.
    assert len(response.context["table"].page.object_list) == 24
    assertContains(
        response,
        '<tr class="odd"><td class="kind-text">2026-11-02 09:00+03:00</td>'
        '<td class="kind-text">Monday</td><td class="kind-count">3.5</td>'
        '<td class="kind-seconds">0:03:55</td><td class="kind-count">2</td>'
        '<td class="kind-count">3</td><td class="kind-ratio">98.0 %</td>'
        '<td class="kind-ratio">11.4 %</td><td class="kind-count">1.75</td></tr>',
        html=True,
    )
    assertContains(
        response,
        '<tr class="even"><td class="kind-text">2026-11-02 10:00+03:00</td>'
        '<td class="kind-text">Monday</td><td class="kind-count">40.0</td>'
        '<td class="kind-seconds">0:03:00</td><td class="kind-count">4</td>'
        '<td class="kind-count">6</td><td class="kind-ratio">86.1 %</td>'
        '<td class="kind-ratio">50.0 %</td><td class="kind-count">1.5</td></tr>',
        html=True,
    )
    for note in NOTES:
        assertContains(response, f"<dt>{note['label']}</dt><dd>{note['value']}</dd>", html=True)
    assertContains(
        response,
        '<p id="forecast-total">Forecast calls in the week: 45.25; forecast AHT: 0:03:06.</p>',
        html=True,
    )
    assertContains(response, 'src="/static/vendor/plotly/plotly.min.js"')
    assertContains(response, 'src="/static/js/report_charts.js"')
    assertContains(
        response,
        '<div class="report-chart" id="forecast-chart-plot" data-figure="forecast-chart"></div>',
        html=True,
    )
    figure = response.context["figure"]
    assert [trace["name"] for trace in figure["data"]] == [
        "Forecast calls",
        "Agents required",
        "Logged in last week (agents)",
    ]
    assert [trace["y"][MON_09] for trace in figure["data"]] == [3.5, 2, 1.75]
    assert [trace["type"] for trace in figure["data"]] == ["bar", "scatter", "scatter"]
    assertContains(response, '<script id="forecast-chart" type="application/json">')
    assertContains(response, 'id="export-csv"')
    assertContains(
        response,
        'href="?company=bank&amp;interval=60&amp;week=2026-11-02&amp;weeks=4'
        '&amp;shrinkage=30&amp;export=xlsx"',
    )


def test_page_sorts_and_pages_the_table(client, supervisor, history):
    client.force_login(supervisor)
    response = client.get(PAGE, QUERY | {"sort": "-calls"})
    first = response.context["table"].page.object_list[0]
    assert first.record["interval"] == "2026-11-02 10:00+03:00"
    second_page = client.get(PAGE, QUERY | {"page": "2"})
    assert second_page.context["table"].page.object_list[0].record["interval"] == (
        "2026-11-03 00:00+03:00"
    )


def test_page_without_parameters_shows_the_form_only(client, supervisor, history):
    client.force_login(supervisor)
    response = client.get(PAGE)
    assert response.status_code == 200
    assertContains(response, '<option value="bank">Bank</option>', html=True)
    assertContains(response, f'<option value="{history.cards.pk}">Cards</option>', html=True)
    assertContains(response, 'name="weeks" value="4"')
    assertContains(response, 'name="service_level" value="80"')
    assertNotContains(response, 'id="forecast-result"')
    assertNotContains(response, "plotly.min.js")


def test_page_exports_csv_headed_by_what_the_figures_mean(client, supervisor, history):
    client.force_login(supervisor)
    response = client.get(PAGE, QUERY | {"export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="staffing-forecast-bank-2026-11-02.csv"'
    )
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert lines[0] == ["Staffing forecast"]
    assert lines[1 : 1 + len(NOTES)] == [[n["label"], n["value"]] for n in NOTES]
    header = lines[2 + len(NOTES)]
    assert header == [
        "Interval",
        "Weekday",
        "Forecast calls",
        "Forecast AHT (s)",
        "Forecast AHT (h:mm:ss)",
        "Agents required",
        "Agents to schedule (with shrinkage)",
        "Service level (Erlang C) (%)",
        "Occupancy (%)",
        "Logged in last week (agents)",
    ]
    rows = lines[3 + len(NOTES) :]
    assert len(rows) == 169
    assert rows[MON_09] == [
        "2026-11-02 09:00+03:00",
        "Monday",
        "3.5",
        "235.0",
        "0:03:55",
        "2",
        "3",
        "97.99",
        "11.42",
        "1.75",
    ]
    assert rows[-1] == ["Total", "", "45.25", "186.0", "0:03:06", "", "", "", "", ""]


def test_page_exports_xlsx(client, supervisor, history):
    client.force_login(supervisor)
    response = client.get(PAGE, QUERY | {"export": "xlsx", "queue": str(history.cards.pk)})
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert response["Content-Disposition"] == (
        'attachment; filename="staffing-forecast-bank-cards-2026-11-02.xlsx"'
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    assert values[3][:2] == ("Queue", "Cards")
    row = values[3 + len(NOTES) + MON_10]
    assert row[:3] == ("2026-11-02 10:00+03:00", "Monday", 30)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"company": ""}, "company", "This field is required."),
        (
            {"interval": "45"},
            "interval",
            "Select a valid choice. 45 is not one of the available choices.",
        ),
        (
            {"week": "2026-11-04"},
            "week",
            "2026-11-04 is not a Monday: enter the Monday the week starts on.",
        ),
        ({"week": "someday"}, "week", "Enter a valid date."),
        ({"weeks": "13"}, "weeks", "Ensure this value is less than or equal to 12."),
        ({"service_level": "0"}, "service_level", "Enter a number more than 0."),
        (
            {"max_occupancy": "101"},
            "max_occupancy",
            "Ensure this value is less than or equal to 100.",
        ),
        ({"shrinkage": "100"}, "shrinkage", "Enter a percentage less than 100."),
        (
            {"answer_seconds": "3601"},
            "answer_seconds",
            "Ensure this value is less than or equal to 3600.",
        ),
        ({"export": "pdf"}, "__all__", "Unknown export format pdf: choose csv or xlsx."),
    ],
)
def test_page_names_the_field_in_error_and_shows_no_forecast(
    client, supervisor, history, changes, field, message
):
    client.force_login(supervisor)
    response = client.get(PAGE, QUERY | changes)
    assert response.status_code == 200
    assert response.context["form"].errors == {field: [message]}
    assertContains(response, "Please correct the errors below.")
    assertNotContains(response, 'id="forecast-result"')


def test_page_refuses_another_companys_queue_like_a_missing_one(client, supervisor, history):
    client.force_login(supervisor)
    for queue_id in (history.shop_queue.pk, 999999):
        response = client.get(PAGE, QUERY | {"queue": str(queue_id)})
        assert response.context["form"].errors == {
            "queue": ["Select a valid choice. That choice is not one of the available choices."]
        }


def test_page_answers_404_for_a_company_the_user_does_not_read(client, supervisor, outsider):
    client.force_login(supervisor)
    assert client.get(PAGE, QUERY | {"company": "shop"}).status_code == 404
    assert client.get(PAGE, QUERY | {"company": "shop", "export": "csv"}).status_code == 404
    client.force_login(outsider)
    assert client.get(PAGE, QUERY).status_code == 404


def test_page_offers_only_the_companies_the_user_reads(client, outsider, history):
    client.force_login(outsider)
    response = client.get(PAGE)
    assertContains(response, '<option value="shop">Shop</option>', html=True)
    assertNotContains(response, '<option value="bank">')
    assertNotContains(response, "Cards")


def test_page_refuses_an_agent(client, agent):
    client.force_login(agent)
    assert client.get(PAGE, QUERY).status_code == 403
    assert client.get(PAGE).status_code == 403


def test_page_refuses_a_user_of_no_company(client, db):
    loner = get_user_model().objects.create_user(username="loner", password="x")
    client.force_login(loner)
    assert client.get(PAGE).status_code == 403


def test_page_sends_anonymous_visitors_to_sign_in(client, company):
    response = client.get(PAGE, QUERY)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/reports/staffing/forecast/")


def test_page_answers_only_get(client, supervisor, company):
    client.force_login(supervisor)
    assert client.post(PAGE, QUERY).status_code == 405


def test_one_week_of_history_is_no_mean(company):
    notes = dict(staffing_forecast(company, interval_minutes=60, week=TARGET, weeks=1).notes())
    assert notes["History"] == (
        "1 week, 2026-10-26 - 2026-11-01: the offered calls of the same weekday and local interval"
    )
