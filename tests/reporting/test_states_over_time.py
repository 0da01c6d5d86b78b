"""Agent states over the day: agent-seconds in each state within each interval."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from contactcenter.tenancy.models import Role
from reporting.periods import periods
from reporting.states import state_seconds
from telephony.models import Agent, AgentStateInterval
from tests.conftest import make_user

DAY = date(2026, 11, 16)
MOSCOW = ZoneInfo("Europe/Moscow")


def local(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 16, hour, minute, tzinfo=MOSCOW).astimezone(UTC)


@pytest.fixture
def states(company, other_company, agent):
    anna = Agent.objects.create(company=company, user=agent)
    boris = Agent.objects.create(company=company, user=make_user("boris", company, Role.AGENT))
    shop = Agent.objects.create(
        company=other_company, user=make_user("shop_agent", other_company, Role.AGENT)
    )
    spans = [
        (anna, "available", local(9), local(9, 30)),
        (anna, "on_call", local(9, 30), local(10, 15)),
        (anna, "wrap_up", local(10, 15), local(10, 20)),
        (anna, "paused", local(10, 20), None),  # still paused: counts to the end of the day
        (boris, "available", local(8, 50), local(10)),  # began before 09:00
        (shop, "available", local(9), local(10)),  # another company's agent: never counted
    ]
    for who, state, start, end in spans:
        AgentStateInterval.objects.create(
            company_id=who.company_id, agent=who, state=state, started_at=start, ended_at=end
        )
    return {"anna": anna, "boris": boris}


def test_seconds_in_each_state_per_hour_of_the_day(company, states):
    hours = periods(DAY, DAY, "60", MOSCOW)
    seconds = state_seconds([company.pk], hours)
    nine, ten, eleven, eight = 9, 10, 11, 8
    # 08:00: Boris 10 min available. 09:00: Anna 30 min + Boris 60 min available, Anna 30 min on
    # call. 10:00: Anna 15 min on call, 5 min wrap-up, 40 min paused. 11:00 on: Anna paused.
    assert seconds["available"][eight] == 600
    assert seconds["available"][nine] == 1800 + 3600
    assert seconds["on_call"][nine] == 1800
    assert (seconds["on_call"][ten], seconds["wrap_up"][ten]) == (900, 300)
    assert (seconds["paused"][ten], seconds["paused"][eleven], seconds["paused"][23]) == (
        2400,
        3600,
        3600,
    )
    assert sum(seconds["available"]) == 600 + 5400
    assert set(seconds) == {"available", "on_call", "wrap_up", "paused"}


def test_only_the_agents_asked_for(company, states):
    hours = periods(DAY, DAY, "60", MOSCOW)
    seconds = state_seconds([company.pk], hours, ["available"], agents=[states["boris"].pk])
    assert (seconds["available"][8], seconds["available"][9]) == (600, 3600)


def test_the_interval_page_charts_the_states_over_the_day(client, supervisor, company, states):
    client.force_login(supervisor)
    page = client.get(
        "/reports/intervals/",
        {"company": "bank", "date_from": "2026-11-16", "date_to": "2026-11-16", "interval": "60"},
    )
    assert page.status_code == 200
    figure = page.context["charts"][1]
    assert figure["id"] == "chart-states"
    traces = {trace["name"]: trace["y"] for trace in figure["figure"]["data"]}
    assert traces["Available"][9] == 1.5  # hours: 5,400 s
    assert traces["On call"][10] == 0.25


def test_the_interval_page_starts_with_one_zone(client, company, other_company):
    both = make_user("both", company, Role.SUPERVISOR)
    from contactcenter.tenancy.models import Membership

    Membership.objects.create(user=both, company=other_company, role=Role.SUPERVISOR)
    client.force_login(both)
    page = client.get("/reports/intervals/", {"interval": "60"})
    # Bank (Moscow) and Shop (Rome) have no common zone: the first company, named in the URL.
    assert (page.status_code, page["Location"]) == (
        302,
        "/reports/intervals/?interval=60&company=bank",
    )
