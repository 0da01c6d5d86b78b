import re
from io import StringIO

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from contactcenter.tenancy.models import Skill
from crm.models import TicketCategory
from crm.services.customers import customer_create
from crm.services.tickets import ticket_create


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _fill(company, team, agent, rows: int) -> None:
    category = TicketCategory.objects.get_or_create(company=company, name="Cards")[0]
    skill = Skill.objects.get_or_create(company=company, name="Cards")[0]
    for n in range(rows):
        customer = customer_create(
            company=company,
            first_name="Client",
            last_name=f"{n:02d}",
            phones=[f"+7 916 000 00 {n:02d}", f"+7 495 000 00 {n:02d}"],
            emails=[f"client{n}@example.com"],
            tags=["vip", f"t{n}"],
            owner=agent,
        )
        ticket_create(
            company=company,
            customer=customer,
            subject=f"Ticket {n}",
            team=team,
            assignee=agent,
            category=category,
            required_skill=skill,
        )


def _queries(client, url: str, rows: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    assert response.json()["count"] == rows
    return len(captured)


@pytest.mark.parametrize("url", ["/api/customers/", "/api/tickets/"])
def test_list_queries_do_not_grow_with_rows(agent, company, team, url):
    client = api(agent)
    _fill(company, team, agent, 3)
    with_three = _queries(client, url, 3)
    _fill(company, team, agent, 17)
    with_twenty = _queries(client, url, 20)

    assert with_three == with_twenty


def test_customer_lookup_queries_do_not_grow_with_matches(agent, company):
    client = api(agent)
    url = "/api/customers/lookup/?phone=%2B79160000000&company=bank"
    for n in range(2):
        customer_create(company=company, last_name=f"A{n}", phones=["+79160000000"], tags=["x"])
    with CaptureQueriesContext(connection) as two:
        assert len(client.get(url).json()["results"]) == 2
    for n in range(8):
        customer_create(company=company, last_name=f"B{n}", phones=["+79160000000"], tags=["x"])
    with CaptureQueriesContext(connection) as ten:
        assert len(client.get(url).json()["results"]) == 10

    assert len(two) == len(ten)


def test_schema_generates_without_warnings():
    out = StringIO()

    # --fail-on-warn turns every schema warning (an undocumented endpoint, an unresolvable
    # type) into an error; --validate checks the result against the OpenAPI 3 specification.
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)

    schema = out.getvalue()
    for path in [
        "/api/auth/token/:",
        "/api/companies/:",
        "/api/companies/{slug}/:",
        "/api/customers/:",
        "/api/customers/{id}/:",
        "/api/customers/{customer_id}/tickets/:",
        "/api/customers/lookup/:",
        "/api/tickets/:",
        "/api/tickets/{id}/:",
        "/api/tickets/{id}/transition/:",
        "/api/tickets/{id}/escalate/:",
        "/api/tickets/{ticket_id}/comments/:",
    ]:
        assert f"  {path}\n" in schema, path


def test_schema_endpoint_serves_the_schema(agent):
    response = api(agent).get("/api/schema/")

    assert response.status_code == 200
    assert b"/api/tickets/{id}/escalate/" in response.content


@pytest.fixture
def plain_static(settings):
    # Production uses the manifest storage, filled by collectstatic; tests render from finders.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def test_docs_page_uses_only_local_static_files(agent, plain_static):
    response = api(agent).get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"', html)
    assert len(sources) == 4
    for source in sources:
        assert source.startswith("/static/drf_spectacular_sidecar/"), source
        assert finders.find(source.removeprefix("/static/")), source
    assert not re.search(r"https?://", html)
