"""The isolation matrix: every page and API endpoint, visited by a user of another client company
(404 and nothing changed) and by each role of the company (what that role may see and do).

A new URL pattern fails `test_every_url_is_in_the_matrix` until it is added here.
"""

import json
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver

from contactcenter.tenancy.models import Membership, Role
from crm.models import CustomerImport, CustomerNote, TicketComment
from crm.services.customers import customer_note_add
from crm.services.tickets import ticket_comment_add
from telephony.models import Agent, Call, PbxConnection


@dataclass(frozen=True)
class Case:
    name: str  # the URL pattern's name
    method: str
    path: str  # with {customer}, {ticket}, {import} and {company} placeholders
    data: dict | None = None
    json: bool = False


# Requests on objects of `company`: an outsider must get 404 for each.
OBJECT_CASES = [
    Case("crm:customer_detail", "get", "/customers/{customer}/"),
    Case("crm:customer_edit", "get", "/customers/{customer}/edit/"),
    Case("crm:customer_edit", "post", "/customers/{customer}/edit/", {"last_name": "Hacked"}),
    Case("crm:customer_note_add", "post", "/customers/{customer}/notes/", {"body": "x"}),
    Case("crm:ticket_create", "get", "/tickets/new/?customer={customer}"),
    Case("crm:ticket_create", "post", "/tickets/new/?customer={customer}", {"subject": "x"}),
    Case("crm:ticket_detail", "get", "/tickets/{ticket}/"),
    Case("crm:ticket_edit", "get", "/tickets/{ticket}/edit/"),
    Case("crm:ticket_edit", "post", "/tickets/{ticket}/edit/", {"subject": "Hacked"}),
    Case("crm:ticket_transition", "post", "/tickets/{ticket}/transition/", {"status": "closed"}),
    Case("crm:ticket_assign", "post", "/tickets/{ticket}/assign/", {"assignee": "{outsider}"}),
    Case("crm:ticket_escalate", "post", "/tickets/{ticket}/escalate/", {"reason": "x"}),
    Case("crm:ticket_comment_add", "post", "/tickets/{ticket}/comments/", {"body": "x"}),
    Case("crm:customer_import_detail", "get", "/customers/import/{import}/"),
    Case("crm:customer_import_mapping", "get", "/customers/import/{import}/mapping/"),
    Case("crm:customer_import_mapping", "post", "/customers/import/{import}/mapping/", {}),
    Case("crm:customer_import_status", "get", "/customers/import/{import}/status/"),
    Case("crm:customer_import_errors", "get", "/customers/import/{import}/bad-rows.csv"),
    Case("crm:customer_import", "post", "/customers/import/", {"company": "{company}"}),
    Case("crm:customer_list", "get", "/customers/?company={company}"),
    Case("crm:ticket_list", "get", "/tickets/?company={company}"),
    Case("crm:customer_export", "get", "/customers/export/?format=csv&company={company}"),
    Case("api:company-detail", "get", "/api/companies/{company}/"),
    Case("api:customer-detail", "get", "/api/customers/{customer}/"),
    Case("api:customer-detail", "patch", "/api/customers/{customer}/", {"city": "X"}, True),
    Case("api:customer-detail", "put", "/api/customers/{customer}/", {"last_name": "X"}, True),
    Case("api:customer-tickets", "get", "/api/customers/{customer}/tickets/"),
    Case(
        "api:customer-lookup", "get", "/api/customers/lookup/?phone=89161234567&company={company}"
    ),
    Case("api:customer-list", "get", "/api/customers/?company={company}"),
    Case("api:ticket-list", "get", "/api/tickets/?company={company}"),
    Case("api:ticket-detail", "get", "/api/tickets/{ticket}/"),
    Case("api:ticket-detail", "patch", "/api/tickets/{ticket}/", {"subject": "X"}, True),
    Case(
        "api:ticket-transition",
        "post",
        "/api/tickets/{ticket}/transition/",
        {"status": "closed"},
        True,
    ),
    Case("api:ticket-escalate", "post", "/api/tickets/{ticket}/escalate/", {"reason": "x"}, True),
    Case("api:ticket-comments", "get", "/api/tickets/{ticket}/comments/"),
    Case("api:ticket-comments", "post", "/api/tickets/{ticket}/comments/", {"body": "x"}, True),
    Case("api-customer-import-detail", "get", "/api/customers/import/{import}/"),
    Case("api-customer-import", "post", "/api/customers/import/", {"company": "{company}"}),
    Case("api-customer-export", "get", "/api/customers/export/?format=csv&company={company}"),
    Case("telephony:call_list", "get", "/telephony/calls/?company={company}"),
    Case("telephony:call_detail", "get", "/telephony/calls/{call}/"),
    Case("telephony:call_recording", "get", "/telephony/calls/{call}/recording/"),
    Case("telephony:call_card", "get", "/telephony/calls/{call}/card/"),
    Case(
        "telephony:call_wrap_up",
        "post",
        "/telephony/calls/{call}/wrap-up/",
        {"ticket_action": "none", "notes": "Hacked"},
    ),
    Case(
        "telephony:queue_log_upload",
        "post",
        "/telephony/queue-log/import/",
        {"company": "{company}"},
    ),
    Case("telephony:live", "get", "/telephony/live/?company={company}"),
    Case("reporting:wallboard", "get", "/reports/wallboard/?company={company}"),
    Case("reporting:tickets", "get", "/reports/tickets/?company={company}"),
    Case("reports-tickets", "get", "/api/reports/tickets/?company={company}"),
    Case("reporting:queues", "get", "/reports/queues/?company={company}"),
    Case("reports-queues", "get", "/api/reports/queues/?company={company}"),
    Case("reporting:agents", "get", "/reports/agents/?company={company}"),
    Case("reports-agents", "get", "/api/reports/agents/?company={company}"),
    Case("reporting:intervals", "get", "/reports/intervals/?company={company}"),
    Case("reports-intervals", "get", "/api/reports/intervals/?company={company}"),
    Case("reporting:companies", "get", "/reports/companies/?company={company}"),
    Case("reports-companies", "get", "/api/reports/companies/?company={company}"),
    Case("reporting:staffing_forecast", "get", "/reports/staffing/forecast/?company={company}"),
    Case("reports-staffing-forecast", "get", "/api/reports/staffing/forecast/?company={company}"),
]

# Writes that name the company in the body: a validation error that reads the same for a
# company of others and a missing one.
BODY_CASES = [
    Case(
        "api:customer-list",
        "post",
        "/api/customers/",
        {"company": "{company}", "last_name": "X"},
        True,
    ),
    Case(
        "api:ticket-list",
        "post",
        "/api/tickets/",
        {"company": "{company}", "customer": "{customer}", "subject": "X"},
        True,
    ),
]

# Pages without a company object: each role's expected status (outsiders see only their own).
ROLES = [Role.AGENT, Role.SUPERVISOR, Role.CLIENT_MANAGER, Role.ADMIN]
PAGE_CASES = {
    # name: (path, {role: status})
    "crm:my_work": ("/work/", dict.fromkeys(ROLES, 200)),
    "crm:customer_list": ("/customers/", dict.fromkeys(ROLES, 200)),
    "crm:ticket_list": ("/tickets/", dict.fromkeys(ROLES, 200)),
    "crm:customer_create": (
        "/customers/new/",
        {Role.AGENT: 200, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 403, Role.ADMIN: 200},
    ),
    "crm:customer_detail": ("/customers/{customer}/", dict.fromkeys(ROLES, 200)),
    "crm:customer_edit": (
        "/customers/{customer}/edit/",
        {Role.AGENT: 200, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 403, Role.ADMIN: 200},
    ),
    "crm:ticket_detail": ("/tickets/{ticket}/", dict.fromkeys(ROLES, 200)),
    "crm:ticket_create": (
        "/tickets/new/?customer={customer}",
        {Role.AGENT: 200, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 403, Role.ADMIN: 200},
    ),
    "crm:ticket_edit": (
        "/tickets/{ticket}/edit/",
        {Role.AGENT: 200, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 403, Role.ADMIN: 200},
    ),
    "crm:customer_import": (
        "/customers/import/",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 403, Role.ADMIN: 200},
    ),
    "crm:customer_import_list": (
        "/customers/imports/",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 403, Role.ADMIN: 200},
    ),
    "crm:customer_import_detail": (
        "/customers/import/{import}/",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 403, Role.ADMIN: 200},
    ),
    "crm:customer_export": (
        "/customers/export/?format=csv",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 200, Role.ADMIN: 200},
    ),
    "tenancy:preferences": ("/preferences/", dict.fromkeys(ROLES, 200)),
    "api:company-list": ("/api/companies/", dict.fromkeys(ROLES, 200)),
    "api:company-detail": ("/api/companies/{company}/", dict.fromkeys(ROLES, 200)),
    "api:customer-list": ("/api/customers/", dict.fromkeys(ROLES, 200)),
    "api:customer-detail": ("/api/customers/{customer}/", dict.fromkeys(ROLES, 200)),
    "api:customer-tickets": ("/api/customers/{customer}/tickets/", dict.fromkeys(ROLES, 200)),
    "api:ticket-list": ("/api/tickets/", dict.fromkeys(ROLES, 200)),
    "api:ticket-detail": ("/api/tickets/{ticket}/", dict.fromkeys(ROLES, 200)),
    "api:ticket-comments": ("/api/tickets/{ticket}/comments/", dict.fromkeys(ROLES, 200)),
    "api-customer-export": (
        "/api/customers/export/?format=csv",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 200, Role.ADMIN: 200},
    ),
    "api-customer-import-detail": (
        "/api/customers/import/{import}/",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 403, Role.ADMIN: 200},
    ),
    "telephony:call_list": ("/telephony/calls/", dict.fromkeys(ROLES, 200)),
    # The member agent did not handle the world's call: only the agent who did may see it.
    "telephony:call_detail": (
        "/telephony/calls/{call}/",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 200, Role.ADMIN: 200},
    ),
    "telephony:call_recording": (
        "/telephony/calls/{call}/recording/",
        {Role.AGENT: 403, Role.SUPERVISOR: 302, Role.CLIENT_MANAGER: 302, Role.ADMIN: 302},
    ),
    # The call's agent, supervisors and administrators work a call; a colleague does not.
    "telephony:call_card": (
        "/telephony/calls/{call}/card/",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 403, Role.ADMIN: 200},
    ),
    # For users with an agent row; the members here have none (tests/telephony/test_workspace.py).
    "telephony:workspace": ("/telephony/workspace/", dict.fromkeys(ROLES, 403)),
    "telephony:queue_log_upload": (
        "/telephony/queue-log/import/",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 403, Role.ADMIN: 200},
    ),
    "telephony:live": (
        "/telephony/live/",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 200, Role.ADMIN: 200},
    ),
    "reporting:wallboard": (
        "/reports/wallboard/",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 200, Role.ADMIN: 200},
    ),
    # A calculator on the numbers typed in: no tenant data, planners only.
    "reporting:erlang_c": (
        "/reports/staffing/erlang-c/?calls=100&interval_minutes=30&aht=180",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 200, Role.ADMIN: 200},
    ),
    "reporting:queues": (
        "/reports/queues/",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 200, Role.ADMIN: 200},
    ),
    "reports-queues": (
        "/api/reports/queues/",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 200, Role.ADMIN: 200},
    ),
    "reporting:agents": (
        "/reports/agents/",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 200, Role.ADMIN: 200},
    ),
    "reports-agents": (
        "/api/reports/agents/",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 200, Role.ADMIN: 200},
    ),
    "reporting:intervals": (
        "/reports/intervals/",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 200, Role.ADMIN: 200},
    ),
    "reports-intervals": (
        "/api/reports/intervals/",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 200, Role.ADMIN: 200},
    ),
    "reporting:companies": (
        "/reports/companies/",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 200, Role.ADMIN: 200},
    ),
    "reports-companies": (
        "/api/reports/companies/",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 200, Role.ADMIN: 200},
    ),
    "reporting:tickets": (
        "/reports/tickets/",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 200, Role.ADMIN: 200},
    ),
    "reports-tickets": (
        "/api/reports/tickets/",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 200, Role.ADMIN: 200},
    ),
    "reporting:staffing_forecast": (
        "/reports/staffing/forecast/?company={company}",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 200, Role.ADMIN: 200},
    ),
    "reports-staffing-forecast": (
        "/api/reports/staffing/forecast/?company={company}",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 200, Role.ADMIN: 200},
    ),
    "reports-erlang-c": (
        "/api/reports/staffing/erlang-c/?calls=100&interval_minutes=30&aht=180"
        "&answer_seconds=20&service_level=80",
        {Role.AGENT: 403, Role.SUPERVISOR: 200, Role.CLIENT_MANAGER: 200, Role.ADMIN: 200},
    ),
}

# URLs that hold no tenant data, or that only accept writes covered by OBJECT_CASES.
NOT_TENANT_DATA = {
    "login",
    "logout",
    "api-schema",
    "api-docs",
    "api:token",
    "set_language",
    # Authenticated by the connection's secret key and signature, never by a user: the key
    # decides the client company (tests/telephony/test_webhooks.py).
    "telephony:webhook",
    # The same: the key decides the company whose agents may be named (test_routing.py).
    "telephony:route",
    # Sets the requesting user's own agent state, never one named in the request
    # (tests/telephony/test_workspace.py: an outsider's post changes no agent of the company).
    "telephony:workspace_state",
    # Counts for monitoring (database, Redis, the applier's queue), no company's data
    # (tests/test_health.py).
    "health",
}


def _named_patterns(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if str(pattern.pattern) == "admin/":
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _named_patterns(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}"


def test_every_url_is_in_the_matrix():
    covered = {c.name for c in OBJECT_CASES + BODY_CASES} | set(PAGE_CASES) | NOT_TENANT_DATA
    assert set(_named_patterns(get_resolver().url_patterns)) - covered == set()


@pytest.fixture
def world(company, customer, ticket, agent, outsider):
    customer_note_add(customer=customer, author=agent, body="Calls after six")
    ticket_comment_add(ticket=ticket, author=agent, body="Checked the card", is_internal=True)
    upload = CustomerImport.objects.create(
        company=company,
        file=SimpleUploadedFile("leads.csv", b"last_name,phone\nPetrov,89161234567\n"),
        original_name="leads.csv",
        file_format="csv",
        state=CustomerImport.State.DONE,
        created_by=agent,
    )
    call = Call.objects.create(
        company=company,
        connection=PbxConnection.objects.create(name="Bank PBX", company=company, format="native"),
        pbx_call_id="world-call",
        caller="+79161234567",
        caller_e164="+79161234567",
        agent=Agent.objects.create(company=company, user=agent),
        outcome=Call.Outcome.ANSWERED,
        recording_url="https://pbx.example.com/recordings/world-call.wav",
    )
    return {
        "customer": customer.pk,
        "ticket": ticket.pk,
        "import": upload.pk,
        "company": company.slug,
        "outsider": outsider.pk,
        "call": call.pk,
    }


def snapshot() -> dict:
    """Every row of every table of ours, to prove a refused request changed nothing."""
    tables = {}
    for label in ("tenancy", "crm", "auth", "authtoken", "telephony"):
        for model in apps.get_app_config(label).get_models():
            tables[model._meta.label] = sorted(
                map(repr, model.objects.order_by("pk").values()), key=str
            )
    return tables


def fill(template, world):
    if isinstance(template, dict):
        return {k: fill(v, world) for k, v in template.items()}
    return template.format(**world) if isinstance(template, str) else template


def send(client, case: Case, world):
    path = fill(case.path, world)
    data = fill(case.data, world) if case.data is not None else None
    method = getattr(client, case.method)
    if case.json:
        return method(path, data=json.dumps(data), content_type="application/json")
    if case.method == "get":
        return method(path)
    if case.method == "post":
        return method(path, data=data or {})
    return method(path, data=json.dumps(data or {}), content_type="application/json")


@pytest.mark.parametrize("case", OBJECT_CASES, ids=lambda c: f"{c.method}:{c.path}")
def test_outsider_gets_404_and_changes_nothing(client, world, outsider, case):
    client.force_login(outsider)
    before = snapshot()
    response = send(client, case, world)
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("case", OBJECT_CASES, ids=lambda c: f"{c.method}:{c.path}")
def test_a_foreign_object_answers_like_a_missing_one(client, world, outsider, case):
    client.force_login(outsider)
    foreign = send(client, case, world)
    missing_world = world | {
        "customer": 999_999,
        "ticket": 999_999,
        "import": 999_999,
        "call": 999_999,
        "company": "no-such-company",
    }
    missing = send(client, case, missing_world)
    assert (foreign.status_code, foreign.content) == (missing.status_code, missing.content)


@pytest.mark.parametrize("case", BODY_CASES, ids=lambda c: f"{c.method}:{c.path}")
def test_naming_a_foreign_company_in_a_body_reads_like_a_missing_one(client, world, outsider, case):
    client.force_login(outsider)
    before = snapshot()
    foreign = send(client, case, world)
    assert foreign.status_code == 400
    assert snapshot() == before
    missing = send(client, case, world | {"company": "no-such-company", "customer": 999_999})
    assert foreign.content == missing.content


def test_outsider_lists_show_nothing_of_the_company(client, world, outsider):
    client.force_login(outsider)
    for path in ("/work/", "/customers/", "/tickets/", "/customers/imports/"):
        page = client.get(path).content.decode()
        assert "Petrov" not in page and "Card blocked" not in page and "leads.csv" not in page
    for path in ("/api/customers/", "/api/tickets/", "/api/companies/"):
        assert "bank" not in client.get(path).content.decode().lower()
    calls = client.get("/telephony/calls/").content.decode()
    assert f"/telephony/calls/{world['call']}/" not in calls and "No calls found." in calls
    export = b"".join(client.get("/customers/export/?format=csv").streaming_content)
    assert b"Petrov" not in export


@pytest.fixture
def member(company, team):
    def make(role):
        from tests.conftest import make_user

        return make_user(f"member_{role}", company, role, team, is_staff=role == Role.ADMIN)

    return make


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(PAGE_CASES))
def test_each_role_sees_what_it_may(client, world, member, role, name):
    path, expected = PAGE_CASES[name]
    client.force_login(member(role))
    response = client.get(fill(path, world))
    assert response.status_code == expected[role]


@pytest.mark.parametrize(
    "case",
    [c for c in OBJECT_CASES if c.method != "get" and c.name not in {"crm:customer_import"}],
    ids=lambda c: f"{c.method}:{c.path}",
)
def test_a_client_manager_may_not_write(client, world, member, case):
    client.force_login(member(Role.CLIENT_MANAGER))
    before = snapshot()
    response = send(client, case, world)
    assert response.status_code == 403
    assert snapshot() == before


# --- Django admin ---------------------------------------------------------------------------


@pytest.fixture
def foreign_admin(outsider, other_company):
    """An administrator of the other company with access to the Django admin."""
    Membership.objects.filter(user=outsider).update(role=Role.ADMIN)
    outsider.is_staff = True
    outsider.save()
    return outsider


def admin_objects(world):
    from crm.models import Customer, Ticket

    return {
        Customer: world["customer"],
        Ticket: world["ticket"],
        CustomerNote: CustomerNote.objects.get().pk,
        TicketComment: TicketComment.objects.get().pk,
        CustomerImport: world["import"],
    }


def test_admin_hides_other_companies_objects(client, world, foreign_admin):
    client.force_login(foreign_admin)
    before = snapshot()
    for model, pk in admin_objects(world).items():
        if model not in admin.site._registry:
            continue
        info = model._meta.app_label, model._meta.model_name
        change = client.get(f"/admin/{info[0]}/{info[1]}/{pk}/change/")
        missing = client.get(f"/admin/{info[0]}/{info[1]}/999999/change/")
        assert (change.status_code, change.get("Location")) == (
            missing.status_code,
            missing.get("Location"),
        ), model
        assert change.status_code in (302, 404)
        history = client.get(f"/admin/{info[0]}/{info[1]}/{pk}/history/")
        assert history.status_code in (302, 404), model
        listing = client.get(f"/admin/{info[0]}/{info[1]}/").content.decode()
        assert "Petrov" not in listing and "Card blocked" not in listing
    assert snapshot() == before
