from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from contactcenter.tenancy.models import Membership, Role, Skill, Team
from crm.models import SLAPolicy, Status, Ticket, TicketCategory, TicketEscalation
from crm.services.customers import customer_create
from crm.services.tickets import ticket_create, ticket_transition
from tests.conftest import make_user


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def subjects(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["subject"] for row in response.json()["results"]]


# --- Reading ----------------------------------------------------------------------------------


def test_ticket_detail(agent, ticket, customer, team):
    response = api(agent).get(f"/api/tickets/{ticket.pk}/")

    assert response.status_code == 200
    body = response.json()
    for stamp in ("created_at", "updated_at"):
        assert body.pop(stamp)
    assert body == {
        "id": ticket.pk,
        "reference": "BANK-1",
        "number": 1,
        "company": "bank",
        "customer": customer.pk,
        "customer_name": "Ivan Petrov",
        "subject": "Card blocked",
        "description": "",
        "channel": "phone",
        "status": "new",
        "allowed_transitions": ["open", "pending", "resolved", "closed"],
        "priority": "normal",
        "tier": 1,
        "category": None,
        "required_skill": None,
        "team": team.pk,
        "assignee": None,
        "created_by": None,
        "first_response_due": None,
        "resolution_due": None,
        "first_response_at": None,
        "resolved_at": None,
        "closed_at": None,
        "first_response_breached": False,
        "resolution_breached": False,
        "is_overdue": False,
    }


@pytest.fixture
def tickets(company, other_company, customer, ticket, team, agent):
    """Four bank tickets besides the shared one, and one of the shop; two of the bank's late."""
    maria = customer_create(company=company, first_name="Maria", last_name="Ivanova")
    past = timezone.now() - timedelta(hours=1)
    lost = ticket_create(
        company=company, customer=customer, subject="Lost card", priority="high", assignee=agent
    )
    refund = ticket_create(
        company=company, customer=maria, subject="Refund", priority="urgent", tier=2
    )
    ticket_transition(ticket=refund, to_status=Status.PENDING)
    done = ticket_create(company=company, customer=maria, subject="Old question", team=team)
    ticket_transition(ticket=done, to_status=Status.CLOSED)
    Ticket.objects.filter(pk__in=[lost.pk, done.pk]).update(resolution_due=past)
    Ticket.objects.filter(pk=refund.pk).update(first_response_due=past)
    shop_customer = customer_create(company=other_company, last_name="Verdi")
    ticket_create(company=other_company, customer=shop_customer, subject="Shop order")
    return {"maria": maria, "lost": lost, "refund": refund, "done": done}


ALL = ["Old question", "Refund", "Lost card", "Card blocked"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ALL),
        ({"company": "bank"}, ALL),
        ({"status": "new"}, ["Card blocked"]),
        ({"status": ["new", "open"]}, ["Lost card", "Card blocked"]),
        ({"status": "closed"}, ["Old question"]),
        ({"priority": "urgent"}, ["Refund"]),
        ({"priority": ["high", "urgent"]}, ["Refund", "Lost card"]),
        ({"tier": "2"}, ["Refund"]),
        ({"tier": "1"}, ["Old question", "Lost card", "Card blocked"]),
        ({"overdue": "true"}, ["Refund", "Lost card"]),
        ({"overdue": "false"}, ["Old question", "Card blocked"]),
        ({"status": "open", "overdue": "true"}, ["Lost card"]),
        ({"ordering": "created_at"}, list(reversed(ALL))),
    ],
)
def test_ticket_filters(agent, tickets, params, expected):
    assert subjects(api(agent).get("/api/tickets/", params)) == expected


def test_ticket_filters_by_related_ids(agent, tickets, team, customer):
    client = api(agent)

    assert subjects(client.get("/api/tickets/", {"team": team.pk})) == [
        "Old question",
        "Card blocked",
    ]
    assert subjects(client.get("/api/tickets/", {"assignee": agent.pk})) == ["Lost card"]
    assert subjects(client.get("/api/tickets/", {"customer": tickets["maria"].pk})) == [
        "Old question",
        "Refund",
    ]
    assert subjects(client.get("/api/tickets/", {"customer": customer.pk})) == [
        "Lost card",
        "Card blocked",
    ]


def test_ticket_filter_refuses_a_bad_value(agent, tickets):
    response = api(agent).get("/api/tickets/", {"status": "lost"})

    assert response.status_code == 400
    assert response.json() == {
        "status": ["Select a valid choice. lost is not one of the available choices."]
    }


def test_customer_tickets_lists_only_that_customers_tickets(agent, tickets):
    client = api(agent)
    url = f"/api/customers/{tickets['maria'].pk}/tickets/"

    assert subjects(client.get(url)) == ["Old question", "Refund"]
    assert subjects(client.get(url, {"status": "pending"})) == ["Refund"]
    assert client.get("/api/customers/999999/tickets/").status_code == 404


# --- Creating ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.ADMIN])
def test_writers_open_a_ticket(company, customer, team, ticket, role):
    user = make_user("writer", company, role, team)

    response = api(user).post(
        "/api/tickets/",
        {
            "company": "bank",
            "customer": customer.pk,
            "subject": "  Card stolen ",
            "description": "At the station",
            "channel": "email",
            "priority": "high",
            "team": team.pk,
            "assignee": user.pk,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["reference"], body["status"], body["created_by"]) == ("BANK-2", "open", user.pk)
    created = Ticket.objects.get(pk=body["id"])
    assert (created.subject, created.channel, created.priority) == ("Card stolen", "email", "high")
    assert (created.team, created.assignee, created.company) == (team, user, company)


def test_new_ticket_gets_its_sla_targets(agent, company, customer):
    SLAPolicy.objects.create(
        company=company, priority="urgent", first_response_minutes=15, resolution_minutes=120
    )

    body = (
        api(agent)
        .post(
            "/api/tickets/",
            {"company": "bank", "customer": customer.pk, "subject": "Fraud", "priority": "urgent"},
            format="json",
        )
        .json()
    )

    created = Ticket.objects.get(pk=body["id"])
    assert created.first_response_due - created.created_at == timedelta(minutes=15)
    assert created.resolution_due - created.created_at == timedelta(minutes=120)
    assert datetime.fromisoformat(body["resolution_due"]) == created.resolution_due


def test_customer_of_a_company_i_cannot_see_does_not_exist(agent, other_company):
    foreign = customer_create(company=other_company, last_name="Verdi")
    client = api(agent)

    response = client.post(
        "/api/tickets/",
        {"company": "bank", "customer": foreign.pk, "subject": "Hi"},
        format="json",
    )
    missing = client.post(
        "/api/tickets/", {"company": "bank", "customer": 999999, "subject": "Hi"}, format="json"
    )

    assert response.status_code == missing.status_code == 400
    assert response.json() == {"customer": ["No such object in your client companies."]}
    assert missing.json() == {"customer": ["No such object in your client companies."]}
    assert Ticket.objects.count() == 0


@pytest.fixture
def two_company_supervisor(supervisor, other_company):
    Membership.objects.create(user=supervisor, company=other_company, role=Role.SUPERVISOR)
    return supervisor


@pytest.mark.parametrize("field", ["customer", "team", "category", "required_skill"])
def test_related_object_of_my_other_company_is_refused(
    two_company_supervisor, customer, other_company, field
):
    shop = {
        "customer": lambda: customer_create(company=other_company, last_name="Verdi"),
        "team": lambda: Team.objects.create(company=other_company, name="Orders"),
        "category": lambda: TicketCategory.objects.create(company=other_company, name="Orders"),
        "required_skill": lambda: Skill.objects.create(company=other_company, name="Italian"),
    }[field]()
    payload = {"company": "bank", "customer": customer.pk, "subject": "Hi", field: shop.pk}

    response = api(two_company_supervisor).post("/api/tickets/", payload, format="json")

    assert response.status_code == 400
    assert response.json() == {field: ["It belongs to another client company."]}
    assert Ticket.objects.count() == 0


def test_assignee_must_be_a_member_of_the_tickets_company(
    two_company_supervisor, customer, other_company
):
    shop_agent = make_user("shop-agent", other_company, Role.AGENT)

    response = api(two_company_supervisor).post(
        "/api/tickets/",
        {"company": "bank", "customer": customer.pk, "subject": "Hi", "assignee": shop_agent.pk},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"assignee": ["The assignee is not a member of this client company."]}
    assert Ticket.objects.count() == 0


def test_ticket_needs_company_customer_and_subject(agent):
    response = api(agent).post("/api/tickets/", {"subject": " "}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "company": ["This field is required."],
        "customer": ["This field is required."],
        "subject": ["This field may not be blank."],
    }


def test_supervisor_who_only_reads_in_a_company_cannot_create_there(supervisor, other_company):
    Membership.objects.create(user=supervisor, company=other_company, role=Role.CLIENT_MANAGER)
    shop_customer = customer_create(company=other_company, last_name="Verdi")

    response = api(supervisor).post(
        "/api/tickets/",
        {"company": "shop", "customer": shop_customer.pk, "subject": "Hi"},
        format="json",
    )

    assert response.status_code == 403
    assert Ticket.objects.count() == 0


# --- Updating ---------------------------------------------------------------------------------


def test_patch_changes_details_and_recomputes_sla(agent, company, ticket):
    SLAPolicy.objects.create(
        company=company, priority="high", first_response_minutes=30, resolution_minutes=60
    )

    response = api(agent).patch(
        f"/api/tickets/{ticket.pk}/",
        {"subject": "Card blocked abroad", "priority": "high", "team": None},
        format="json",
    )

    assert response.status_code == 200, response.content
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.priority, ticket.team) == ("Card blocked abroad", "high", None)
    assert ticket.resolution_due - ticket.created_at == timedelta(minutes=60)
    assert response.json()["subject"] == "Card blocked abroad"
    assert response.json()["team"] is None


def test_patch_assigns_and_unassigns(agent, supervisor, ticket):
    client = api(supervisor)

    assigned = client.patch(f"/api/tickets/{ticket.pk}/", {"assignee": agent.pk}, format="json")
    ticket.refresh_from_db()
    assert assigned.status_code == 200
    assert (ticket.assignee, ticket.status) == (agent, "open")
    assert (assigned.json()["assignee"], assigned.json()["status"]) == (agent.pk, "open")

    unassigned = client.patch(f"/api/tickets/{ticket.pk}/", {"assignee": None}, format="json")
    ticket.refresh_from_db()
    assert unassigned.status_code == 200
    assert (ticket.assignee, ticket.status) == (None, "open")


def test_failed_assignment_rolls_back_the_details(two_company_supervisor, other_company, ticket):
    shop_agent = make_user("shop-agent", other_company, Role.AGENT)

    response = api(two_company_supervisor).patch(
        f"/api/tickets/{ticket.pk}/",
        {"subject": "Changed", "assignee": shop_agent.pk},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"assignee": ["The assignee is not a member of this client company."]}
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.assignee) == ("Card blocked", None)


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        (
            {"status": "closed"},
            {"status": ["Change the status with POST /api/tickets/<id>/transition/."]},
        ),
        ({"tier": 2}, {"tier": ["Change the support tier with POST /api/tickets/<id>/escalate/."]}),
        ({"company": "shop"}, {"company": ["A ticket cannot move to another client company."]}),
        ({"customer": 1}, {"customer": ["The customer of a ticket cannot be changed."]}),
        ({"subject": ""}, {"subject": ["This field may not be blank."]}),
        ({"priority": "asap"}, {"priority": ['"asap" is not a valid choice.']}),
    ],
)
def test_patch_refuses_what_it_cannot_change(agent, ticket, payload, errors):
    before = Ticket.objects.filter(pk=ticket.pk).values().get()

    response = api(agent).patch(f"/api/tickets/{ticket.pk}/", payload, format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert Ticket.objects.filter(pk=ticket.pk).values().get() == before


def test_put_is_not_offered_for_tickets(agent, ticket):
    response = api(agent).put(f"/api/tickets/{ticket.pk}/", {"subject": "X"}, format="json")

    assert response.status_code == 405


# --- Transitions and escalation ---------------------------------------------------------------


def test_transition_moves_the_status(agent, ticket):
    response = api(agent).post(
        f"/api/tickets/{ticket.pk}/transition/", {"status": "resolved"}, format="json"
    )

    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    assert ticket.resolved_at is not None
    assert response.json()["status"] == "resolved"
    assert response.json()["allowed_transitions"] == ["open", "closed"]


@pytest.mark.parametrize(
    ("status", "errors"),
    [
        ("open", {"status": ["A Closed ticket cannot become Open."]}),
        ("lost", {"status": ['"lost" is not a valid choice.']}),
    ],
)
def test_transition_refuses_a_forbidden_move(agent, ticket, status, errors):
    ticket_transition(ticket=ticket, to_status=Status.CLOSED)

    response = api(agent).post(
        f"/api/tickets/{ticket.pk}/transition/", {"status": status}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == errors
    assert Ticket.objects.get(pk=ticket.pk).status == "closed"


def test_escalate_moves_the_ticket_up_and_records_why(supervisor, agent, company, ticket):
    specialists = Team.objects.create(company=company, name="Specialists")
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent, status=Status.OPEN)

    response = api(supervisor).post(
        f"/api/tickets/{ticket.pk}/escalate/",
        {"reason": "Needs a fraud specialist", "to_tier": 3, "to_team": specialists.pk},
        format="json",
    )

    assert response.status_code == 200, response.content
    ticket.refresh_from_db()
    assert (ticket.tier, ticket.team, ticket.assignee) == (3, specialists, None)
    escalation = TicketEscalation.objects.get()
    assert (escalation.from_tier, escalation.to_tier, escalation.reason) == (
        1,
        3,
        "Needs a fraud specialist",
    )
    assert (escalation.escalated_by, escalation.to_team) == (supervisor, specialists)
    assert (response.json()["tier"], response.json()["team"]) == (3, specialists.pk)


def test_escalate_defaults_to_the_next_tier(agent, ticket):
    response = api(agent).post(
        f"/api/tickets/{ticket.pk}/escalate/", {"reason": "Too hard"}, format="json"
    )

    assert response.status_code == 200
    assert Ticket.objects.get(pk=ticket.pk).tier == 2


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ({}, {"reason": ["This field is required."]}),
        ({"reason": "  "}, {"reason": ["This field may not be blank."]}),
        (
            {"reason": "Why not", "to_tier": 1},
            {"to_tier": ["Escalation goes to a higher support tier."]},
        ),
        (
            {"reason": "Why not", "to_tier": 7},
            {"to_tier": ["Escalation goes to a higher support tier."]},
        ),
        (
            {"reason": "Why not", "to_team": 999999},
            {"to_team": ["No such object in your client companies."]},
        ),
    ],
)
def test_escalate_refuses_bad_input(agent, ticket, payload, errors):
    response = api(agent).post(f"/api/tickets/{ticket.pk}/escalate/", payload, format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert Ticket.objects.get(pk=ticket.pk).tier == 1
    assert TicketEscalation.objects.count() == 0


def test_escalate_refuses_a_team_of_my_other_company(two_company_supervisor, other_company, ticket):
    orders = Team.objects.create(company=other_company, name="Orders")

    response = api(two_company_supervisor).post(
        f"/api/tickets/{ticket.pk}/escalate/",
        {"reason": "Why not", "to_team": orders.pk},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"to_team": ["It belongs to another client company."]}
    assert TicketEscalation.objects.count() == 0


def test_closed_ticket_cannot_be_escalated(agent, ticket):
    ticket_transition(ticket=ticket, to_status=Status.CLOSED)

    response = api(agent).post(
        f"/api/tickets/{ticket.pk}/escalate/", {"reason": "Late"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"status": ["Only an active ticket can be escalated."]}


def test_times_are_shown_with_the_users_offset(agent, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(
        resolution_due=datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    )

    body = api(agent).get(f"/api/tickets/{ticket.pk}/").json()

    # The agent has no preference: the bank's zone (Moscow, UTC+3) applies.
    assert body["resolution_due"] == "2026-03-02T12:30:00+03:00"
