"""The Erlang C page and API: exact figures for the Call Centre Helper worked example (see
tests/reporting/test_erlang.py, where each is checked against the textbook formula), field
errors that name the problem, and who may use the calculator."""

import pytest
from django.contrib.auth import get_user_model
from pytest_django.asserts import assertContains, assertNotContains

PAGE = "/reports/staffing/erlang-c/"
API = "/api/reports/staffing/erlang-c/"
# 100 calls in 30 minutes, AHT 180 s, 80 % within 20 s, occupancy at most 85 %, 30 % shrinkage.
WORKED = {
    "calls": "100",
    "interval_minutes": "30",
    "aht": "180",
    "answer_seconds": "20",
    "service_level": "80",
    "max_occupancy": "85",
    "shrinkage": "30",
}
# Per level: service level %, P(wait) %, Erlang ASA s, occupancy %; A = 10 Erlangs.
LEVELS = [
    (12, 64.02, 44.94, 40.44, 83.33),
    (13, 79.56, 28.53, 17.12, 76.92),
    (14, 88.84, 17.41, 7.84, 71.43),
    (15, 94.15, 10.2, 3.67, 66.67),
    (16, 97.06, 5.73, 1.72, 62.5),
    (17, 98.58, 3.09, 0.79, 58.82),
]


def test_urls_resolve_by_name():
    from django.urls import reverse

    assert reverse("reporting:erlang_c") == PAGE
    assert reverse("reports-erlang-c") == API


# --- The page ---------------------------------------------------------------------------------


def test_page_shows_the_requirement_and_the_levels_around_it(client, supervisor):
    client.force_login(supervisor)
    response = client.get(PAGE, WORKED)
    assert response.status_code == 200
    for cell in (
        '<td id="traffic">10.00</td>',
        '<td id="agents"><strong>14</strong></td>',
        '<td id="scheduled-agents"><strong>20</strong></td>',
        '<td id="service-level">88.84 %</td>',
        '<td id="probability-of-waiting">17.41 %</td>',
        '<td id="erlang-asa">7.84 s</td>',
        '<td id="occupancy">71.43 %</td>',
    ):
        assertContains(response, cell, html=True)
    assertContains(response, '<th scope="row">Service level within 20 s</th>', html=True)
    assertContains(response, "Average wait over all calls (Erlang C)", count=2)
    for agents, service, waiting, asa, busy in LEVELS:
        badge = ' <span class="badge">required</span>' if agents == 14 else ""
        assertContains(
            response,
            f'<tr id="level-{agents}"><th scope="row">{agents}{badge}</th>'
            f"<td>{service:.2f} %</td><td>{waiting:.2f} %</td><td>{asa:.2f} s</td>"
            f"<td>{busy:.2f} %</td></tr>",
            html=True,
        )
    assertNotContains(response, 'id="level-11"')
    assertNotContains(response, 'id="level-18"')
    # The form keeps what was typed, so the URL can be shared.
    assertContains(response, 'name="calls" value="100"')


def test_page_without_parameters_shows_an_empty_form_with_the_usual_targets(client, supervisor):
    client.force_login(supervisor)
    response = client.get(PAGE)
    assert response.status_code == 200
    assertContains(response, 'name="answer_seconds" value="20"')
    assertContains(response, 'name="service_level" value="80"')
    assertNotContains(response, 'id="erlang-c-result"')
    assertNotContains(response, "Please correct the errors below.")


def test_page_with_no_calls_needs_no_agents(client, supervisor):
    client.force_login(supervisor)
    response = client.get(PAGE, WORKED | {"calls": "0"})
    assertContains(response, '<td id="agents"><strong>0</strong></td>', html=True)
    assertContains(response, '<td id="scheduled-agents"><strong>0</strong></td>', html=True)
    assertContains(response, '<td id="service-level">100.00 %</td>', html=True)
    assertContains(response, "No calls: no agents are needed.")
    assertNotContains(response, 'id="staffing-levels"')


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"calls": "-1"}, "calls", "Ensure this value is greater than or equal to 0."),
        ({"calls": "many"}, "calls", "Enter a number."),
        (
            {"interval_minutes": "45"},
            "interval_minutes",
            "Select a valid choice. 45 is not one of the available choices.",
        ),
        ({"aht": "0"}, "aht", "Enter a number more than 0."),
        (
            {"answer_seconds": "-5"},
            "answer_seconds",
            "Ensure this value is greater than or equal to 0.",
        ),
        ({"service_level": "0"}, "service_level", "Enter a number more than 0."),
        (
            {"service_level": "120"},
            "service_level",
            "Ensure this value is less than or equal to 100.",
        ),
        ({"max_occupancy": "0"}, "max_occupancy", "Enter a number more than 0."),
        ({"shrinkage": "100"}, "shrinkage", "Enter a percentage less than 100."),
        (
            {"calls": "1000000", "aht": "86400", "interval_minutes": "15"},
            "calls",
            "These calls make 96000000.00 Erlangs of traffic; the calculator handles at most "
            "10000 Erlangs.",
        ),
    ],
)
def test_page_names_the_field_in_error_and_shows_no_result(
    client, supervisor, changes, field, message
):
    client.force_login(supervisor)
    response = client.get(PAGE, WORKED | changes)
    assert response.status_code == 200
    assert response.context["form"].errors == {field: [message]}
    assertContains(response, "Please correct the errors below.")
    assertNotContains(response, 'id="erlang-c-result"')


def test_page_without_occupancy_limit_or_shrinkage(client, supervisor):
    client.force_login(supervisor)
    response = client.get(PAGE, WORKED | {"max_occupancy": "", "shrinkage": ""})
    assertContains(response, '<td id="agents"><strong>14</strong></td>', html=True)
    assertContains(response, '<td id="scheduled-agents"><strong>14</strong></td>', html=True)


@pytest.mark.parametrize("role_user", ["supervisor", "client_manager", "admin_user", "outsider"])
def test_page_is_open_to_planners_of_any_company(client, request, role_user):
    client.force_login(request.getfixturevalue(role_user))
    response = client.get(PAGE, WORKED)
    assert response.status_code == 200
    assertContains(response, '<td id="agents"><strong>14</strong></td>', html=True)


def test_page_refuses_an_agent(client, agent):
    client.force_login(agent)
    assert client.get(PAGE, WORKED).status_code == 403


def test_page_refuses_a_user_of_no_company(client, db):
    loner = get_user_model().objects.create_user(username="loner", password="x")
    client.force_login(loner)
    assert client.get(PAGE).status_code == 403


def test_page_sends_anonymous_visitors_to_sign_in(client, db):
    response = client.get(PAGE, WORKED)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/reports/staffing/erlang-c/")


def test_page_answers_only_get(client, supervisor):
    client.force_login(supervisor)
    assert client.post(PAGE, WORKED).status_code == 405


# --- The API ----------------------------------------------------------------------------------


def test_api_answers_the_worked_example(client, supervisor):
    client.force_login(supervisor)
    response = client.get(API, WORKED)
    assert response.status_code == 200
    assert response.json() == {
        "traffic_erlangs": 10.0,
        "agents": 14,
        "scheduled_agents": 20,
        "service_level_percent": 88.84,
        "probability_of_waiting_percent": 17.41,
        "erlang_asa_seconds": 7.84,
        "occupancy_percent": 71.43,
        "levels": [
            {
                "agents": agents,
                "service_level_percent": service,
                "probability_of_waiting_percent": waiting,
                "erlang_asa_seconds": asa,
                "occupancy_percent": busy,
            }
            for agents, service, waiting, asa, busy in LEVELS
        ],
    }


def test_api_occupancy_limit_and_shrinkage_are_optional(client, supervisor):
    client.force_login(supervisor)
    query = {
        key: value for key, value in WORKED.items() if key not in {"max_occupancy", "shrinkage"}
    }
    body = client.get(API, query | {"service_level": "90"}).json()
    # 90 % within 20 s: 14 agents give 88.84 %, 15 give 94.15 %.
    assert (body["agents"], body["scheduled_agents"]) == (15, 15)
    assert body["service_level_percent"] == 94.15
    assert [level["agents"] for level in body["levels"]] == [13, 14, 15, 16, 17, 18]


def test_api_occupancy_ceiling_can_decide(client, supervisor):
    client.force_login(supervisor)
    body = client.get(API, WORKED | {"max_occupancy": "70", "shrinkage": "0"}).json()
    # 14 agents would run at 71.43 %: ceil(10 / 0.7) = 15.
    assert (body["agents"], body["scheduled_agents"], body["occupancy_percent"]) == (15, 15, 66.67)


def test_api_with_no_calls(client, supervisor):
    client.force_login(supervisor)
    body = client.get(API, WORKED | {"calls": "0"}).json()
    assert body == {
        "traffic_erlangs": 0.0,
        "agents": 0,
        "scheduled_agents": 0,
        "service_level_percent": 100.0,
        "probability_of_waiting_percent": 0.0,
        "erlang_asa_seconds": 0.0,
        "occupancy_percent": 0.0,
        "levels": [],
    }


def test_api_names_every_missing_parameter(client, supervisor):
    client.force_login(supervisor)
    response = client.get(API)
    assert response.status_code == 400
    assert response.json() == {
        "calls": ["This field is required."],
        "interval_minutes": ["This field is required."],
        "aht": ["This field is required."],
        "answer_seconds": ["This field is required."],
        "service_level": ["This field is required."],
    }


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"calls": "-1"}, {"calls": ["Ensure this value is greater than or equal to 0."]}),
        ({"interval_minutes": "45"}, {"interval_minutes": ['"45" is not a valid choice.']}),
        ({"aht": "0"}, {"aht": ["Enter a number more than 0."]}),
        ({"aht": "abc"}, {"aht": ["A valid number is required."]}),
        (
            {"service_level": "100.5"},
            {"service_level": ["Ensure this value is less than or equal to 100."]},
        ),
        ({"max_occupancy": "-3"}, {"max_occupancy": ["Enter a number more than 0."]}),
        ({"shrinkage": "100"}, {"shrinkage": ["Enter a percentage less than 100."]}),
        (
            {"calls": "1000000", "aht": "86400", "interval_minutes": "15"},
            {
                "calls": [
                    "These calls make 96000000.00 Erlangs of traffic; the calculator handles "
                    "at most 10000 Erlangs."
                ]
            },
        ),
    ],
)
def test_api_refuses_bad_parameters_naming_them(client, supervisor, changes, errors):
    client.force_login(supervisor)
    response = client.get(API, WORKED | changes)
    assert response.status_code == 400
    assert response.json() == errors


@pytest.mark.parametrize("role_user", ["client_manager", "admin_user", "outsider"])
def test_api_is_open_to_planners_of_any_company(client, request, role_user):
    client.force_login(request.getfixturevalue(role_user))
    response = client.get(API, WORKED)
    assert response.status_code == 200
    assert response.json()["agents"] == 14


def test_api_refuses_an_agent_before_reading_the_parameters(client, agent):
    client.force_login(agent)
    for query in (WORKED, {"calls": "-1"}):
        response = client.get(API, query)
        assert response.status_code == 403
        assert response.json() == {
            "detail": "Only supervisors, client managers and administrators plan staffing."
        }


def test_api_refuses_anonymous_callers(client, db):
    response = client.get(API, WORKED)
    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}
