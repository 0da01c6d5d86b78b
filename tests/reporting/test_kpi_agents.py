"""The agent report over the synthetic day of conftest.py, every figure computed by hand.

Anna's states on the 16th (local time):
  08:50:00 available   615 s   to 09:00:15
  09:00:15 ringing c1    5     09:00:20
  09:00:20 on call c1  180     09:03:20
  09:03:20 wrap-up c1   40     09:04:00
  09:04:00 available   361     09:10:01
  09:10:01 ringing c2    4     09:10:05  Boris's phone rings instead: a ring-no-answer
  09:10:05 available  1235     09:30:40
  09:30:40 ringing c4    5     09:30:45  the caller hangs up: an abandon, not her ring-no-answer
  09:30:45 available  1758     10:00:03
  10:00:03 ringing c7    5     10:00:08
  10:00:08 on call c7  120     10:02:08
  10:02:08 wrap-up c7   60     10:03:08
  10:03:08 available  3412     11:00:00
  11:00:00 paused      900     11:15:00  (Break)
  11:15:00 available  2700     12:00:00
  12:00:00 offline             open
Available 615 + 361 + 1235 + 1758 + 3412 + 2700 = 10081; ringing 19; on call 300; wrap-up
100; paused 900; logged in 08:50-12:00 = 11400 = 10081 + 19 + 300 + 100 + 900.

Boris's: available 08:55:00-09:10:05 (905), ringing c2 16, on call c2 120, wrap-up c2 30,
available 09:12:51-10:30:10 (4639), ringing c8 20, on call c8 180, wrap-up c8 30, available
10:34:00-16:59:55 (23155), ringing c10 5, on call c10 from 17:00:00, still talking.
"""

from datetime import date
from zoneinfo import ZoneInfo

from contactcenter.tenancy.models import Role
from reporting.queries import AgentFigures, Ratio, ReportFilter, agent_report
from telephony.models import Agent
from telephony.presence import agent_state_set
from tests.conftest import make_user
from tests.reporting.conftest import DAY, at

ROME = ZoneInfo("Europe/Rome")

AFTERNOON = at(17, 10)  # a report of today, run at 17:10


def day_filter(company, day=DAY, **extra) -> ReportFilter:
    return ReportFilter(companies=(company,), date_from=day, date_to=day, **extra)


def test_agent_rows_of_the_day_so_far(company, synthetic_day):
    report = agent_report(day_filter(company), now=AFTERNOON)
    anna, boris = report.rows
    assert (anna.name, boris.name) == ("Anna", "Boris")
    assert anna.figures == AgentFigures(
        handled=2,  # c1, c7 (c4 rang at her and was abandoned: not handled)
        talk_seconds=450,  # 150 + 300
        hold_seconds=30,
        wrap_up_seconds=100,  # 40 + 60
        ring_no_answer=1,  # c2
        state_seconds={
            "available": 10081,
            "ringing": 19,
            "on_call": 300,
            "wrap_up": 100,
            "paused": 900,
            "offline": 18600,  # 12:00 to 17:10, the moment of the report
        },
        pause_seconds={"break": 900},
    )
    assert anna.figures.logged_in_seconds == 11400
    assert anna.figures.aht() == Ratio(580, 2)  # (450 + 30 + 100) / 2
    assert anna.figures.occupancy() == Ratio(400, 10481)  # (300 + 100) / (400 + 10081)
    assert anna.figures.calls_per_hour().value == 12 / 19  # 2 / (11400 / 3600)
    assert boris.figures == AgentFigures(
        handled=2,  # c2, c8; c10 is still going on
        talk_seconds=300,  # 120 + 180
        hold_seconds=0,
        wrap_up_seconds=60,
        ring_no_answer=0,
        state_seconds={
            "available": 28699,  # 905 + 4639 + 23155
            "ringing": 41,  # 16 + 20 + 5
            "on_call": 900,  # 120 + 180 + 600 of c10 (17:00 to 17:10)
            "wrap_up": 60,
        },
        pause_seconds={},
    )
    assert boris.figures.logged_in_seconds == 29700  # 08:55 to 17:10
    assert boris.figures.aht() == Ratio(360, 2)
    assert boris.figures.occupancy() == Ratio(960, 29659)  # 960 / (960 + 28699)
    assert boris.figures.calls_per_hour().value == 8 / 33  # 2 / (29700 / 3600)
    assert report.total.handled == 4
    assert report.total.logged_in_seconds == 41100  # 11400 + 29700
    assert report.total.occupancy() == Ratio(1360, 40140)  # 400 + 960 / (1360 + 38780)
    assert report.pause_reasons == {"break": "Break"}


def test_open_intervals_are_clipped_to_the_range(company, synthetic_day):
    # The next day, at 02:00: Anna has been offline and Boris on c10 since the day before.
    next_day = date(2026, 11, 17)
    report = agent_report(day_filter(company, day=next_day), now=at(2, 0, day=next_day))
    anna, boris = report.rows
    assert anna.figures == AgentFigures(state_seconds={"offline": 7200}, pause_seconds={})
    assert anna.figures.calls_per_hour().value is None  # never logged in: no rate
    assert boris.figures.state_seconds == {"on_call": 7200}
    assert boris.figures.occupancy() == Ratio(7200, 7200)


def test_a_past_day_counts_open_intervals_up_to_its_end(company, synthetic_day):
    report = agent_report(day_filter(company), now=at(3, 0, day=date(2026, 11, 20)))
    anna, boris = report.rows
    assert anna.figures.seconds_in("offline") == 43200  # 12:00 to midnight
    assert boris.figures.seconds_in("on_call") == 25500  # 120 + 180 + 17:00 to midnight


def test_team_agent_and_queue_filters(company, team, synthetic_day):
    by_team = agent_report(day_filter(company, team_ids=(team.pk,)), now=AFTERNOON)
    assert [r.name for r in by_team.rows] == ["Anna"]
    by_agent = agent_report(day_filter(company, agent_ids=(synthetic_day.boris.pk,)), now=AFTERNOON)
    assert [r.name for r in by_agent.rows] == ["Boris"]
    # Loans: Boris's c8 only; the states stay whole (an agent's state is not per queue).
    loans = agent_report(day_filter(company, queue_ids=(synthetic_day.loans.pk,)), now=AFTERNOON)
    anna, boris = loans.rows
    assert (anna.figures.handled, anna.figures.ring_no_answer) == (0, 0)
    assert (boris.figures.handled, boris.figures.talk_seconds) == (1, 180)
    assert boris.figures.logged_in_seconds == 29700


def test_another_companys_agents_are_never_in_the_report(other_company, synthetic_day):
    report = agent_report(
        day_filter(other_company, agent_ids=(synthetic_day.anna.pk,)), now=AFTERNOON
    )
    assert report.rows == []
    assert agent_report(day_filter(other_company), now=AFTERNOON).rows == []


def test_the_report_as_json_keeps_numerators_and_denominators(company, synthetic_day):
    anna = agent_report(day_filter(company), now=AFTERNOON).as_dict()["rows"][0]
    assert anna["occupancy"] == {"value": 400 / 10481, "numerator": 400, "denominator": 10481}
    assert anna["state_seconds"]["paused"] == 900
    assert anna["pause_seconds"] == {"break": 900}
    assert anna["company"] == "bank"


def test_each_company_counts_its_own_local_day(company, other_company, synthetic_day):
    """The shop's day is Rome's (23:00 to 23:00 UTC), the bank's Moscow's (21:00 to 21:00)."""
    carla = make_user("carla", other_company, Role.AGENT, first_name="Carla")
    Agent.objects.create(company=other_company, user=carla)
    agent_state_set(user=carla, state="available", now=at(8, 0, tz=ROME))
    report = agent_report(
        ReportFilter(companies=(company, other_company), date_from=DAY, date_to=DAY),
        now=at(3, 0, day=date(2026, 11, 20)),
    )
    anna, _boris, carla_row = report.rows
    assert carla_row.figures.state_seconds == {"available": 57600}  # 08:00 to 24:00 in Rome
    assert anna.figures.seconds_in("offline") == 43200  # 12:00 to 24:00 in Moscow
    assert [r["company"] for r in report.as_dict()["rows"]] == ["bank", "bank", "shop"]
