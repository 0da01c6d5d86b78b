"""The report API over the synthetic day of conftest.py: every ratio with its numerator and
denominator (hand-computed there and in test_kpi_queues.py / test_kpi_agents.py /
test_kpi_intervals.py), the notes, parameter errors that name the parameter, the documented
shape, and who may read what."""

from datetime import date

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from contactcenter.tenancy.models import Company, Membership, Role
from reporting.api_reports import (
    AgentReportSerializer,
    CompaniesReportSerializer,
    IntervalReportSerializer,
    QueueReportSerializer,
)
from tests.reporting.conftest import at

QUEUES, AGENTS, INTERVALS, COMPANIES = (
    "/api/reports/queues/",
    "/api/reports/agents/",
    "/api/reports/intervals/",
    "/api/reports/companies/",
)
DAY = {"date_from": "2026-11-16", "date_to": "2026-11-16"}
DAY_AFTER = date(2026, 11, 17)


def ratio(numerator, denominator) -> dict:
    return {
        "value": numerator / denominator if denominator else None,
        "numerator": numerator,
        "denominator": denominator,
    }


BANK_INFO = {
    "slug": "bank",
    "name": "Bank",
    "time_zone": "Europe/Moscow",
    "service_level_variant": {
        "code": "answered_abandoned_after_t",
        "label": "Answered + abandoned after T (default)",
        "formula": "answered within T / (answered + abandoned after T)",
    },
    "first_contact_resolution_days": 7,
}
NOTES = [
    {"label": "Period", "value": "2026-11-16 - 2026-11-16"},
    {"label": "Client companies", "value": "Bank"},
    {"label": "Time zone", "value": "Europe/Moscow"},
    {
        "label": "Service-level formula",
        "value": "Answered + abandoned after T (default): "
        "answered within T / (answered + abandoned after T)",
    },
    {
        "label": "Thresholds",
        "value": "Cards: T = 20 s, short abandon <= 5 s; Loans: T = 30 s, short abandon <= 5 s",
    },
]
# The bank's day, each call once (test_kpi_queues.py): cards c1-c7 and loans c8.
BANK_DAY = {
    "offered": 8,
    "answered": 4,
    "abandoned": 2,
    "short_abandons": 1,
    "timeouts": 1,
    "exits_key": 0,
    "exits_empty": 0,
    "other_outcomes": 0,
    "transferred": 1,
    "open_calls": 2,
    "longest_wait": 120,
    "asa": ratio(79, 4),  # 20 + 21 + 8 + 30
    "average_wait": ratio(258, 8),  # 228 + 30
    "abandonment_rate": ratio(2, 7),
    "average_ring": ratio(46, 4),  # 26 + 20
    "average_talk": ratio(750, 4),  # 570 + 180
    "average_hold": ratio(30, 4),
    "average_wrap_up": ratio(160, 4),  # 130 + 30
    "aht": ratio(940, 4),
    "service_level": ratio(3, 5),  # c1, c7, c8 within / (4 answered + c4 abandoned after T)
}


def test_urls_resolve_by_name():
    assert reverse("reports-queues") == QUEUES
    assert reverse("reports-agents") == AGENTS
    assert reverse("reports-intervals") == INTERVALS
    assert reverse("reports-companies") == COMPANIES


def test_queue_report(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    response = client.get(QUEUES, DAY)
    assert response.status_code == 200
    data = response.json()
    assert (data["report"], data["from"], data["to"]) == ("queues", "2026-11-16", "2026-11-16")
    assert data["companies"] == [BANK_INFO]
    assert data["notes"] == NOTES
    cards, loans = data["rows"]
    assert cards == {
        "company": "bank",
        "queue": "cards",
        "name": "Cards",
        "service_level_seconds": 20,
        "short_abandon_seconds": 5,
        "offered": 7,
        "answered": 3,
        "abandoned": 2,
        "short_abandons": 1,
        "timeouts": 1,
        "exits_key": 0,
        "exits_empty": 0,
        "other_outcomes": 0,
        "transferred": 1,
        "open_calls": 2,
        "longest_wait": 120,
        "asa": ratio(49, 3),
        "average_wait": ratio(228, 7),
        "abandonment_rate": ratio(2, 6),
        "average_ring": ratio(26, 3),
        "average_talk": ratio(570, 3),
        "average_hold": ratio(30, 3),
        "average_wrap_up": ratio(130, 3),
        "aht": ratio(730, 3),
        "service_level": ratio(2, 4),
    }
    assert (loans["queue"], loans["offered"], loans["service_level"], loans["aht"]) == (
        "loans",
        1,
        ratio(1, 1),
        ratio(210, 1),
    )
    assert data["company_totals"] == [{"company": "bank", **BANK_DAY}]
    assert data["total"] == BANK_DAY


def test_agent_report(client, supervisor, synthetic_day, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: at(17, 10))
    client.force_login(supervisor)
    data = client.get(AGENTS, DAY).json()
    assert data["until"] == "2026-11-16T14:10:00+00:00"
    assert data["pause_reasons"] == {"break": "Break"}
    assert data["notes"][-1] == {
        "label": "States counted until",
        "value": "2026-11-16T14:10:00+00:00",
    }
    anna, boris = data["rows"]
    assert anna == {
        "company": "bank",
        "agent_id": synthetic_day.anna.pk,
        "name": "Anna",
        "handled": 2,
        "talk_seconds": 450,
        "hold_seconds": 30,
        "wrap_up_seconds": 100,
        "average_talk": ratio(450, 2),
        "average_hold": ratio(30, 2),
        "average_wrap_up": ratio(100, 2),
        "aht": ratio(580, 2),
        "ring_no_answer": 1,
        "logged_in_seconds": 11400,
        "state_seconds": {
            "available": 10081,
            "ringing": 19,
            "on_call": 300,
            "wrap_up": 100,
            "paused": 900,
            "offline": 18600,
        },
        "pause_seconds": {"break": 900},
        "occupancy": ratio(400, 10481),
        "calls_per_hour": ratio(7200, 11400),  # 2 x 3600 / logged-in seconds
    }
    assert (boris["name"], boris["handled"], boris["occupancy"]) == ("Boris", 2, ratio(960, 29659))
    assert data["total"]["occupancy"] == ratio(1360, 40140)
    assert data["total"]["logged_in_seconds"] == 41100


def test_interval_report(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    data = client.get(INTERVALS, DAY | {"interval": "60"}).json()
    assert (data["interval"], data["time_zone"]) == ("60", "Europe/Moscow")
    assert data["queues"] == [
        {
            "queue": "cards",
            "name": "Cards",
            "service_level_seconds": 20,
            "short_abandon_seconds": 5,
        },
        {
            "queue": "loans",
            "name": "Loans",
            "service_level_seconds": 30,
            "short_abandon_seconds": 5,
        },
    ]
    assert len(data["rows"]) == 24
    assert data["rows"][9] == {
        "interval": "2026-11-16 09:00+03:00",
        "start": "2026-11-16T06:00:00+00:00",
        "end": "2026-11-16T07:00:00+00:00",
        "offered": 6,
        "answered": 2,
        "abandoned": 2,
        "short_abandons": 1,
        "open_calls": 0,
        "service_level": ratio(1, 3),
        "asa": ratio(41, 2),
        "abandonment_rate": ratio(2, 5),
        "aht": ratio(370, 2),
    }
    assert (data["rows"][17]["offered"], data["rows"][17]["open_calls"]) == (0, 1)  # c9
    assert data["total"] == BANK_DAY
    assert data["notes"][-1] == {"label": "Interval", "value": "60 minutes"}


def test_quarter_hours_make_96_rows_a_day(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    rows = client.get(INTERVALS, DAY | {"interval": "15"}).json()["rows"]
    assert len(rows) == 96
    assert [r["offered"] for r in rows[36:43]] == [2, 1, 2, 1, 1, 0, 1]


def test_the_interval_defaults_to_an_hour(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    data = client.get(INTERVALS, DAY).json()
    assert (data["interval"], len(data["rows"])) == ("60", 24)


def test_filters(client, supervisor, team, synthetic_day):
    client.force_login(supervisor)
    loans = client.get(QUEUES, DAY | {"queue": synthetic_day.loans.pk}).json()
    assert [r["queue"] for r in loans["rows"]] == ["loans"]
    assert loans["total"]["offered"] == 1
    both = client.get(QUEUES, DAY | {"queue": [synthetic_day.cards.pk, synthetic_day.loans.pk]})
    assert both.json()["total"]["offered"] == 8
    # Anna's calls (the team's): c1 and c7 answered, c4 abandoned after ringing her.
    for params in ({"agent": synthetic_day.anna.pk}, {"team": team.pk}):
        total = client.get(QUEUES, DAY | params).json()["total"]
        assert (total["offered"], total["answered"], total["abandoned"]) == (3, 2, 1)
    assert client.get(QUEUES, DAY | {"direction": "outbound"}).json()["total"]["offered"] == 0
    assert client.get(QUEUES, DAY | {"direction": "inbound"}).json()["total"]["offered"] == 8
    agents = client.get(AGENTS, DAY | {"agent": synthetic_day.boris.pk}).json()
    assert [r["name"] for r in agents["rows"]] == ["Boris"]


def test_companies_for_a_client_manager_are_exactly_theirs(client, client_manager, synthetic_day):
    insure = Company.objects.create(name="Insure", slug="insure", time_zone="Europe/Moscow")
    Membership.objects.create(user=client_manager, company=insure, role=Role.CLIENT_MANAGER)
    client.force_login(client_manager)
    data = client.get(COMPANIES, DAY).json()
    assert data["report"] == "companies"
    assert [c["slug"] for c in data["companies"]] == ["bank", "insure"]
    bank, insure_row = data["rows"]
    assert bank == {"company": "bank", **BANK_DAY}
    assert (insure_row["company"], insure_row["offered"], insure_row["longest_wait"]) == (
        "insure",
        0,
        None,
    )
    assert insure_row["service_level"] == {"value": None, "numerator": 0, "denominator": 0}
    assert data["total"] == BANK_DAY
    assert data["notes"][1] == {"label": "Client companies", "value": "Bank, Insure"}


def test_companies_side_by_side_for_a_supervisor_of_both(
    client, supervisor, other_company, synthetic_day
):
    Membership.objects.create(user=supervisor, company=other_company, role=Role.SUPERVISOR)
    client.force_login(supervisor)
    data = client.get(COMPANIES, DAY).json()
    assert [r["company"] for r in data["rows"]] == ["bank", "shop"]
    shop = data["rows"][1]
    # s1: answered after 10 s (within T = 20), talk 290 s, each company its own local day.
    assert (shop["offered"], shop["asa"], shop["service_level"], shop["aht"]) == (
        1,
        ratio(10, 1),
        ratio(1, 1),
        ratio(290, 1),
    )
    assert data["total"]["service_level"] == ratio(4, 6)
    assert data["total"]["aht"] == ratio(1230, 5)
    assert data["notes"][2] == {
        "label": "Time zone",
        "value": "Bank: Europe/Moscow; Shop: Europe/Rome",
    }
    only_shop = client.get(COMPANIES, DAY | {"company": "shop"}).json()
    assert [r["company"] for r in only_shop["rows"]] == ["shop"]


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"date_from": "16.11.2026"}, {"date_from": ["Enter a valid date."]}),
        (
            {"date_from": "2026-11-17", "date_to": "2026-11-16"},
            {"date_to": ["The end date is before the start date."]},
        ),
        (
            {"interval": "45"},
            {"interval": ["Select a valid choice. 45 is not one of the available choices."]},
        ),
        (
            {"date_from": "2026-10-01", "date_to": "2026-11-16", "interval": "30"},
            {
                "interval": [
                    "Intervals of minutes cover at most 31 days: choose a shorter range or "
                    "days, weeks or months."
                ]
            },
        ),
        (
            {"queue": "cards"},
            {"queue": ["Select a valid choice. cards is not one of the available choices."]},
        ),
        (
            {"direction": "up"},
            {"direction": ["Select a valid choice. up is not one of the available choices."]},
        ),
    ],
)
def test_bad_parameters_answer_400_naming_them(client, supervisor, synthetic_day, params, errors):
    client.force_login(supervisor)
    response = client.get(INTERVALS, params)
    assert response.status_code == 400
    assert response.json() == errors


def test_intervals_over_two_time_zones_name_the_company_parameter(
    client, supervisor, other_company, synthetic_day
):
    Membership.objects.create(user=supervisor, company=other_company, role=Role.SUPERVISOR)
    client.force_login(supervisor)
    response = client.get(INTERVALS, DAY)
    assert response.status_code == 400
    assert response.json() == {
        "company": [
            "Intervals need one time zone; these companies are in Europe/Moscow, Europe/Rome."
        ]
    }
    assert client.get(INTERVALS, DAY | {"company": "bank"}).status_code == 200


def test_the_default_range_is_the_last_seven_days(client, supervisor, synthetic_day, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: at(17, 10))
    client.force_login(supervisor)
    data = client.get(QUEUES).json()
    assert (data["from"], data["to"]) == ("2026-11-10", "2026-11-16")
    assert data["total"]["offered"] == 9  # c0 of the 15th too


def test_a_token_client_gets_its_own_days(client, supervisor, synthetic_day, monkeypatch):
    """ "Today" is the viewer's: at 23:30 UTC on the 16th it is the 17th in Moscow."""
    monkeypatch.setattr("django.utils.timezone.now", lambda: at(2, 30, day=DAY_AFTER))
    token = Token.objects.create(user=supervisor)
    data = client.get(QUEUES, HTTP_AUTHORIZATION=f"Token {token.key}").json()
    assert (data["from"], data["to"]) == ("2026-11-11", "2026-11-17")


@pytest.mark.parametrize(
    ("url", "serializer"),
    [
        (QUEUES, QueueReportSerializer),
        (AGENTS, AgentReportSerializer),
        (INTERVALS, IntervalReportSerializer),
        (COMPANIES, CompaniesReportSerializer),
    ],
)
def test_answers_have_the_documented_shape(client, supervisor, synthetic_day, url, serializer):
    client.force_login(supervisor)
    data = client.get(url, DAY).json()
    fields = serializer().fields
    assert set(data) == set(fields)
    row_fields = fields["rows"].child.fields
    assert set(data["rows"][0]) == set(row_fields)
    assert set(data["total"]) == set(fields["total"].fields)


# --- who may read what --------------------------------------------------------------------------


@pytest.mark.parametrize("url", [QUEUES, AGENTS, INTERVALS, COMPANIES])
def test_roles(client, supervisor, client_manager, admin_user, agent, synthetic_day, url):
    for user in (supervisor, client_manager, admin_user):
        client.force_login(user)
        assert client.get(url, DAY).status_code == 200
    client.force_login(agent)
    assert client.get(url, DAY).status_code == 403
    client.logout()
    assert client.get(url, DAY).status_code == 403


@pytest.mark.parametrize("url", [QUEUES, AGENTS, INTERVALS, COMPANIES])
def test_another_companys_user_reads_nothing_of_the_bank(client, outsider, synthetic_day, url):
    client.force_login(outsider)
    assert client.get(url, DAY | {"company": "bank"}).status_code == 404
    assert client.get(url, DAY | {"company": ["shop", "bank"]}).status_code == 404
    response = client.get(url, DAY)
    assert response.status_code == 200
    data = response.json()
    assert [c["slug"] for c in data["companies"]] == ["shop"]
    body = response.content.decode()
    for bank_word in ("bank", "Bank", "Cards", "Anna", "Boris", "Europe/Moscow"):
        assert bank_word not in body


def test_a_bad_interval_over_a_long_range_is_named_once(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    response = client.get(
        INTERVALS, {"date_from": "2026-10-01", "date_to": "2026-11-16", "interval": "45"}
    )
    assert response.json() == {
        "interval": ["Select a valid choice. 45 is not one of the available choices."]
    }


def test_a_range_named_by_its_end_only_is_the_seven_days_before(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    data = client.get(QUEUES, {"date_to": "2026-11-15"}).json()
    assert (data["from"], data["to"]) == ("2026-11-09", "2026-11-15")
    assert data["total"]["offered"] == 1  # c0
