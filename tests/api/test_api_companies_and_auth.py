from datetime import UTC, datetime

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contactcenter.tenancy.models import Company, Membership, Role, UserPreference
from crm.models import Ticket
from tests.conftest import PASSWORD


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def test_token_endpoint_returns_a_token_for_good_credentials(agent):
    response = APIClient().post(
        "/api/auth/token/", {"username": "agent", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=agent).key}


def test_token_endpoint_refuses_a_wrong_password(agent):
    response = APIClient().post(
        "/api/auth/token/", {"username": "agent", "password": "wrong"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}
    assert Token.objects.count() == 0


def test_token_authenticates_api_requests(agent, customer):
    token = Token.objects.create(user=agent)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = client.get("/api/customers/")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [customer.pk]


def test_bad_token_is_refused(customer):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = client.get("/api/customers/")

    # 403 rather than 401: see test_anonymous_requests_are_refused.
    assert response.status_code == 403
    assert response.json() == {"detail": "Invalid token."}


@pytest.mark.parametrize(
    "url", ["/api/companies/", "/api/customers/", "/api/tickets/", "/api/companies/bank/"]
)
def test_anonymous_requests_are_refused(company, url):
    response = api().get(url)

    # Session authentication comes first and sends no WWW-Authenticate header: DRF answers 403.
    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_company_list_shows_only_my_companies_with_my_role(agent, other_company):
    response = api(agent).get("/api/companies/")

    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": agent.memberships.get().company_id,
                "name": "Bank",
                "slug": "bank",
                "time_zone": "Europe/Moscow",
                "default_country": "RU",
                "role": "agent",
            }
        ],
    }


def test_company_list_gives_the_role_per_company(supervisor, company, other_company):
    Membership.objects.create(user=supervisor, company=other_company, role=Role.CLIENT_MANAGER)

    rows = api(supervisor).get("/api/companies/").json()["results"]

    assert [(row["slug"], row["role"]) for row in rows] == [
        ("bank", "supervisor"),
        ("shop", "client_manager"),
    ]


def test_company_detail_is_found_by_slug(client_manager, company):
    response = api(client_manager).get("/api/companies/bank/")

    assert response.status_code == 200
    assert response.json()["role"] == "client_manager"
    assert response.json()["id"] == company.pk


def test_inactive_company_is_hidden(agent, company):
    Company.objects.filter(pk=company.pk).update(is_active=False)

    assert api(agent).get("/api/companies/").json()["count"] == 0
    assert api(agent).get("/api/companies/bank/").status_code == 404


def test_company_endpoints_are_read_only(admin_user, company):
    client = api(admin_user)

    assert client.post("/api/companies/", {"name": "X", "slug": "x"}).status_code == 405
    assert client.patch("/api/companies/bank/", {"name": "X"}).status_code == 405
    assert client.delete("/api/companies/bank/").status_code == 405
    assert Company.objects.get(pk=company.pk).name == "Bank"


def test_token_client_sees_times_in_its_zone_and_messages_in_its_language(agent, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(
        resolution_due=datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    )
    UserPreference.objects.create(user=agent, time_zone="Asia/Tokyo", language="ru")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=agent).key}")

    detail = client.get(f"/api/tickets/{ticket.pk}/")
    refused = client.post("/api/tickets/", {}, format="json")

    assert detail.json()["resolution_due"] == "2026-03-02T18:30:00+09:00"
    assert refused.json()["company"] == ["Обязательное поле."]


def test_token_endpoint_throttles_password_guessing(client, agent):
    url = "/api/auth/token/"
    statuses = [
        client.post(url, {"username": "agent", "password": "wrong"}).status_code for _ in range(10)
    ]
    assert statuses == [400] * 10
    blocked = client.post(url, {"username": "agent", "password": PASSWORD})
    assert blocked.status_code == 429
    assert "Retry-After" in blocked.headers
