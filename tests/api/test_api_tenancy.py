"""Tenant isolation and roles across every endpoint of the API.

The outsider (a supervisor of the shop) must get 404 for every object of the bank, word for word
the answer for a missing id, and change nothing; a client manager of the bank reads but gets 403
on every write, also changing nothing.
"""

import pytest
from rest_framework.test import APIClient

from contactcenter.tenancy.models import Company
from crm.models import (
    Customer,
    CustomerEmail,
    CustomerPhone,
    Tag,
    Ticket,
    TicketComment,
    TicketEscalation,
)
from crm.services.customers import customer_create
from crm.services.tickets import ticket_comment_add, ticket_create
from tests.conftest import make_user

MISSING = 999999


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def bank_data(company, customer, ticket, agent):
    ticket_comment_add(ticket=ticket, author=agent, body="Called back")
    return customer, ticket


def snapshot(customer: Customer, ticket: Ticket) -> dict:
    models = (Customer, CustomerPhone, CustomerEmail, Tag, Ticket, TicketComment, TicketEscalation)
    return {
        "counts": {model.__name__: model.objects.count() for model in models},
        "history": (Customer.history.count(), Ticket.history.count()),
        "customer": Customer.objects.filter(pk=customer.pk).values().get(),
        "phones": list(CustomerPhone.objects.filter(customer=customer).values()),
        "tags": list(customer.tags.values_list("pk", flat=True)),
        "ticket": Ticket.objects.filter(pk=ticket.pk).values().get(),
        "company": Company.objects.filter(pk=customer.company_id).values().get(),
    }


# (method, path with {customer}/{ticket}/{company}, body)
OBJECT_ENDPOINTS = [
    ("get", "/api/companies/{company}/", None),
    ("get", "/api/customers/{customer}/", None),
    ("put", "/api/customers/{customer}/", {"company": "shop", "last_name": "Stolen"}),
    ("patch", "/api/customers/{customer}/", {"last_name": "Stolen"}),
    ("get", "/api/customers/{customer}/tickets/", None),
    ("get", "/api/tickets/{ticket}/", None),
    ("patch", "/api/tickets/{ticket}/", {"subject": "Stolen"}),
    ("post", "/api/tickets/{ticket}/transition/", {"status": "closed"}),
    ("post", "/api/tickets/{ticket}/escalate/", {"reason": "Stolen"}),
    ("get", "/api/tickets/{ticket}/comments/", None),
    ("post", "/api/tickets/{ticket}/comments/", {"body": "Stolen", "is_internal": False}),
]


def _call(client, method, path, body):
    return getattr(client, method)(path, body, format="json") if body else client.get(path)


@pytest.mark.parametrize(("method", "path", "body"), OBJECT_ENDPOINTS)
def test_outsider_gets_404_like_a_missing_id_and_changes_nothing(
    outsider, bank_data, method, path, body
):
    customer, ticket = bank_data
    before = snapshot(customer, ticket)
    client = api(outsider)

    foreign = _call(
        client, method, path.format(company="bank", customer=customer.pk, ticket=ticket.pk), body
    )
    missing = _call(
        client, method, path.format(company="nope", customer=MISSING, ticket=MISSING), body
    )

    assert foreign.status_code == 404
    assert foreign.json() == missing.json()
    assert snapshot(customer, ticket) == before


WRITE_ENDPOINTS = [(m, p, b) for m, p, b in OBJECT_ENDPOINTS if m != "get"]


@pytest.mark.parametrize(("method", "path", "body"), WRITE_ENDPOINTS)
def test_client_manager_gets_403_on_writes_and_changes_nothing(
    client_manager, bank_data, method, path, body
):
    customer, ticket = bank_data
    before = snapshot(customer, ticket)

    response = _call(
        api(client_manager),
        method,
        path.format(company="bank", customer=customer.pk, ticket=ticket.pk),
        body,
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to perform this action."}
    assert snapshot(customer, ticket) == before


@pytest.mark.parametrize(("method", "path", "body"), OBJECT_ENDPOINTS[:2] + OBJECT_ENDPOINTS[4:6])
def test_client_manager_reads_objects(client_manager, bank_data, method, path, body):
    customer, ticket = bank_data

    response = _call(
        api(client_manager),
        method,
        path.format(company="bank", customer=customer.pk, ticket=ticket.pk),
        body,
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/customers/", {"company": "bank", "last_name": "Orlov"}),
        ("/api/tickets/", {"company": "bank", "customer": "{customer}", "subject": "Hi"}),
    ],
)
def test_client_manager_cannot_create(client_manager, bank_data, path, body):
    customer, ticket = bank_data
    before = snapshot(customer, ticket)
    body = {k: (customer.pk if v == "{customer}" else v) for k, v in body.items()}

    response = api(client_manager).post(path, body, format="json")

    assert response.status_code == 403
    assert snapshot(customer, ticket) == before


def test_client_manager_of_another_company_gets_404_not_403(other_company, bank_data):
    """A member of another company who may not write still learns nothing of the bank's ids."""
    shop_manager = make_user("shop-manager", other_company, "client_manager")
    customer, ticket = bank_data
    before = snapshot(customer, ticket)
    client = api(shop_manager)

    assert (
        client.patch(f"/api/customers/{customer.pk}/", {"city": "X"}, format="json").status_code
        == 404
    )
    assert (
        client.post(f"/api/tickets/{ticket.pk}/comments/", {"body": "x"}, format="json").status_code
        == 404
    )
    assert snapshot(customer, ticket) == before


def test_outsider_lists_nothing_of_the_bank(outsider, bank_data, other_company):
    shop_customer = customer_create(company=other_company, last_name="Verdi")
    ticket_create(company=other_company, customer=shop_customer, subject="Shop order")
    client = api(outsider)

    customers = client.get("/api/customers/").json()
    tickets = client.get("/api/tickets/").json()
    companies = client.get("/api/companies/").json()

    assert [c["display_name"] for c in customers["results"]] == ["Verdi"]
    assert [t["subject"] for t in tickets["results"]] == ["Shop order"]
    assert [c["slug"] for c in companies["results"]] == ["shop"]
    assert client.get("/api/customers/", {"q": "8 (916) 123-45-67"}).json()["count"] == 0
    assert client.get("/api/customers/", {"q": "ivan.petrov@example.com"}).json()["count"] == 0
    assert client.get("/api/customers/", {"company": "bank"}).status_code == 404


def test_outsider_cannot_look_up_the_banks_callers(outsider, bank_data):
    response = api(outsider).get(
        "/api/customers/lookup/", {"phone": "8 (916) 123-45-67", "company": "bank"}
    )

    assert response.status_code == 404
    assert response.json() == {"detail": "No Company matches the given query."}


def test_outsider_cannot_create_in_the_bank_nor_point_at_its_objects(
    outsider, bank_data, other_company, agent
):
    customer, ticket = bank_data
    shop_customer = customer_create(company=other_company, last_name="Verdi")
    before = snapshot(customer, ticket)
    client = api(outsider)

    in_bank = client.post(
        "/api/customers/", {"company": "bank", "last_name": "Orlov"}, format="json"
    )
    banks_customer = client.post(
        "/api/tickets/",
        {"company": "shop", "customer": customer.pk, "subject": "Hi"},
        format="json",
    )
    banks_team = client.post(
        "/api/tickets/",
        {"company": "shop", "customer": shop_customer.pk, "subject": "Hi", "team": ticket.team_id},
        format="json",
    )
    banks_agent = client.post(
        "/api/tickets/",
        {
            "company": "shop",
            "customer": shop_customer.pk,
            "subject": "Hi",
            "assignee": agent.pk,
        },
        format="json",
    )

    assert in_bank.status_code == 400
    assert in_bank.json() == {"company": ["None of your client companies has this slug."]}
    assert banks_customer.json() == {"customer": ["No such object in your client companies."]}
    assert banks_team.json() == {"team": ["No such object in your client companies."]}
    assert banks_agent.json() == {"assignee": ["No such user in your client companies."]}
    assert snapshot(customer, ticket) == before
