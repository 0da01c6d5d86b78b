from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from contactcenter.tenancy.models import Membership, Role
from crm.models import Customer, CustomerPhone, CustomFieldDefinition, Tag
from crm.services.customers import customer_create
from tests.conftest import make_user


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["display_name"] for row in response.json()["results"]]


# --- Reading ----------------------------------------------------------------------------------


def test_customer_detail_shows_phones_emails_tags_and_owner(agent, customer):
    customer.tags.add(Tag.objects.create(company=customer.company, name="vip"))
    Customer.objects.filter(pk=customer.pk).update(owner=agent)

    response = api(agent).get(f"/api/customers/{customer.pk}/")

    assert response.status_code == 200
    body = response.json()
    for stamp in ("created_at", "updated_at"):
        assert body.pop(stamp)
    assert body == {
        "id": customer.pk,
        "company": "bank",
        "kind": "person",
        "first_name": "Ivan",
        "middle_name": "",
        "last_name": "Petrov",
        "organisation_name": "",
        "external_id": "",
        "address": "",
        "city": "",
        "postal_code": "",
        "country": "",
        "time_zone": "",
        "language": "",
        "marketing_consent": False,
        "do_not_call": False,
        "display_name": "Ivan Petrov",
        "phones": [
            {
                "raw": "8 (916) 123-45-67",
                "e164": "+79161234567",
                "kind": "mobile",
                "is_primary": True,
            }
        ],
        "emails": ["ivan.petrov@example.com"],
        "tags": ["vip"],
        "custom_fields": {},
        "owner": agent.pk,
        "consent_changed_at": None,
    }


def test_client_manager_reads_customers(client_manager, customer):
    response = api(client_manager).get("/api/customers/")

    assert names(response) == ["Ivan Petrov"]


def test_missing_customer_is_404(agent, customer):
    response = api(agent).get("/api/customers/999999/")

    assert response.status_code == 404
    assert response.json() == {"detail": "No Customer matches the given query."}


def test_customers_cannot_be_deleted(admin_user, customer):
    response = api(admin_user).delete(f"/api/customers/{customer.pk}/")

    assert response.status_code == 405
    assert Customer.objects.filter(pk=customer.pk).exists()


# --- Search and filters -----------------------------------------------------------------------


@pytest.fixture
def customers(company, other_company, customer, agent):
    """Four customers of the bank (Ivan Petrov comes from the shared fixture), one of the shop."""
    maria = customer_create(
        company=company,
        first_name="Maria",
        last_name="Ivanova",
        phones=["+7 495 123-45-67"],
        tags=["vip"],
        do_not_call=True,
        owner=agent,
    )
    trading = customer_create(
        company=company,
        kind=Customer.Kind.ORGANISATION,
        organisation_name="Ivanov Trading",
        tags=["vip", "corporate"],
        emails=["office@ivanov-trading.example"],
    )
    luca = customer_create(
        company=company, first_name="Luca", last_name="Rossi", phones=["+39 333 1234567"]
    )
    giulia = customer_create(
        company=other_company, first_name="Giulia", last_name="Bianchi", phones=["333 123 4567"]
    )
    return {"ivan": customer, "maria": maria, "trading": trading, "luca": luca, "giulia": giulia}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Ivan Petrov", "Ivanov Trading", "Luca Rossi", "Maria Ivanova"]),
        ("ivan", ["Ivan Petrov", "Ivanov Trading", "Maria Ivanova"]),
        ("Rossi", ["Luca Rossi"]),
        ("8 (916) 123-45-67", ["Ivan Petrov"]),
        ("+79161234567", ["Ivan Petrov"]),
        ("89161234567", ["Ivan Petrov"]),
        ("+7 (495) 123 45 67", ["Maria Ivanova"]),
        ("IVAN.PETROV@example.com", ["Ivan Petrov"]),
        ("office@ivanov-trading.example", ["Ivanov Trading"]),
        ("nobody@example.com", []),
        ("Bianchi", []),
    ],
)
def test_customer_search_by_name_phone_or_email(agent, customers, query, expected):
    assert names(api(agent).get("/api/customers/", {"q": query})) == expected


def test_search_reads_a_phone_in_each_company_country(supervisor, other_company, customers):
    Membership.objects.create(user=supervisor, company=other_company, role=Role.AGENT)
    client = api(supervisor)

    # The shop (IT) stores 333 123 4567 as +39 333 1234567, which the bank's Luca also has.
    assert names(client.get("/api/customers/", {"q": "+39 333 1234567"})) == [
        "Giulia Bianchi",
        "Luca Rossi",
    ]
    assert names(client.get("/api/customers/", {"q": "+39 333 1234567", "company": "bank"})) == [
        "Luca Rossi"
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "organisation"}, ["Ivanov Trading"]),
        ({"kind": "person"}, ["Ivan Petrov", "Luca Rossi", "Maria Ivanova"]),
        ({"tag": "vip"}, ["Ivanov Trading", "Maria Ivanova"]),
        ({"tag": "corporate"}, ["Ivanov Trading"]),
        ({"tag": "unknown"}, []),
        ({"do_not_call": "true"}, ["Maria Ivanova"]),
        ({"do_not_call": "false"}, ["Ivan Petrov", "Ivanov Trading", "Luca Rossi"]),
        ({"company": "bank"}, ["Ivan Petrov", "Ivanov Trading", "Luca Rossi", "Maria Ivanova"]),
        ({"tag": "vip", "kind": "person"}, ["Maria Ivanova"]),
        ({"q": "ivan", "tag": "vip"}, ["Ivanov Trading", "Maria Ivanova"]),
        (
            {"ordering": "-display_name"},
            ["Maria Ivanova", "Luca Rossi", "Ivanov Trading", "Ivan Petrov"],
        ),
    ],
)
def test_customer_filters(agent, customers, params, expected):
    assert names(api(agent).get("/api/customers/", params)) == expected


def test_customer_filter_by_owner(agent, customers):
    assert names(api(agent).get("/api/customers/", {"owner": agent.pk})) == ["Maria Ivanova"]


def test_customer_filter_updated_since(agent, customers):
    old = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
    Customer.objects.filter(pk__in=[customers["ivan"].pk, customers["luca"].pk]).update(
        updated_at=old
    )
    client = api(agent)

    recent = client.get("/api/customers/", {"updated_since": "2025-01-10T12:00:01Z"})
    since_old = client.get("/api/customers/", {"updated_since": "2025-01-10T12:00:00Z"})

    assert names(recent) == ["Ivanov Trading", "Maria Ivanova"]
    assert names(since_old) == ["Ivan Petrov", "Ivanov Trading", "Luca Rossi", "Maria Ivanova"]


def test_company_filter_refuses_a_company_that_is_not_mine(agent, customers):
    foreign = api(agent).get("/api/customers/", {"company": "shop"})
    missing = api(agent).get("/api/customers/", {"company": "nope"})

    assert foreign.status_code == missing.status_code == 404
    assert missing.json() == foreign.json() == {"detail": "No Company matches the given query."}


def test_customer_list_is_paginated_by_fifty(agent, company, customer):
    for n in range(51):
        customer_create(company=company, last_name=f"Zeta {n:02d}")
    client = api(agent)

    first = client.get("/api/customers/").json()
    second = client.get("/api/customers/", {"page": 2}).json()

    assert first["count"] == 52
    assert len(first["results"]) == 50
    assert first["results"][0]["display_name"] == "Ivan Petrov"
    assert first["next"] == "http://testserver/api/customers/?page=2"
    assert [row["display_name"] for row in second["results"]] == ["Zeta 49", "Zeta 50"]
    assert second["next"] is None


# --- Lookup by phone --------------------------------------------------------------------------


def test_lookup_returns_every_customer_with_the_number(agent, company, customers):
    customer_create(
        company=company, first_name="Olga", last_name="Petrova", phones=["+79161234567"]
    )

    response = api(agent).get(
        "/api/customers/lookup/", {"phone": "8 916 123 45 67", "company": "bank"}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["phone"] == "8 916 123 45 67"
    assert body["e164"] == "+79161234567"
    assert [row["display_name"] for row in body["results"]] == ["Ivan Petrov", "Olga Petrova"]
    assert body["results"][0]["phones"][0]["e164"] == "+79161234567"


def test_lookup_of_an_unknown_or_impossible_number_finds_nobody(agent, customers):
    client = api(agent)

    unknown = client.get("/api/customers/lookup/", {"phone": "+7 916 000 00 00", "company": "bank"})
    impossible = client.get("/api/customers/lookup/", {"phone": "12", "company": "bank"})

    assert unknown.json() == {"phone": "+7 916 000 00 00", "e164": "+79160000000", "results": []}
    assert impossible.json() == {"phone": "12", "e164": None, "results": []}


def test_lookup_needs_a_phone_and_one_of_my_companies(agent, customers):
    client = api(agent)

    missing = client.get("/api/customers/lookup/")
    foreign = client.get("/api/customers/lookup/", {"phone": "333 123 4567", "company": "shop"})

    assert missing.status_code == 400
    assert missing.json() == {
        "phone": ["This field is required."],
        "company": ["This field is required."],
    }
    assert foreign.status_code == 404
    assert foreign.json() == {"detail": "No Company matches the given query."}


# --- Creating ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.ADMIN])
def test_writers_create_a_customer(company, role):
    user = make_user("writer", company, role)

    response = api(user).post(
        "/api/customers/",
        {
            "company": "bank",
            "first_name": "Pavel",
            "last_name": "Smirnov",
            "phones": [
                {"raw": "8 (495) 765-43-21", "kind": "work"},
                {"raw": "+7 916 765 43 21"},
            ],
            "emails": ["Pavel@Example.com"],
            "tags": ["new", "vip"],
            "owner": user.pk,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    created = Customer.objects.get(pk=response.json()["id"])
    assert created.company == company
    assert created.display_name == "Pavel Smirnov"
    assert created.owner == user
    assert list(created.phones.values_list("raw", "e164", "kind", "is_primary")) == [
        ("8 (495) 765-43-21", "+74957654321", "work", True),
        ("+7 916 765 43 21", "+79167654321", "mobile", False),
    ]
    assert list(created.emails.values_list("email", flat=True)) == ["pavel@example.com"]
    assert sorted(created.tags.values_list("name", flat=True)) == ["new", "vip"]
    assert response.json()["phones"][1] == {
        "raw": "+7 916 765 43 21",
        "e164": "+79167654321",
        "kind": "mobile",
        "is_primary": False,
    }


def test_create_with_custom_fields(agent, company):
    CustomFieldDefinition.objects.create(
        company=company,
        key="contract",
        label="Contract",
        field_type=CustomFieldDefinition.FieldType.NUMBER,
    )

    good = api(agent).post(
        "/api/customers/",
        {"company": "bank", "last_name": "Orlov", "custom_fields": {"contract": "12,5"}},
        format="json",
    )
    bad = api(agent).post(
        "/api/customers/",
        {"company": "bank", "last_name": "Orlov", "custom_fields": {"contract": "x", "y": 1}},
        format="json",
    )

    assert good.status_code == 201
    assert good.json()["custom_fields"] == {"contract": "12.5"}
    assert bad.status_code == 400
    assert bad.json() == {
        "custom_fields": [
            "y is not a custom field of this company",
            "Contract: x is not a valid number",
        ]
    }


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        (
            {"last_name": "Orlov", "phones": [{"raw": "123"}, {"raw": "abc"}]},
            {"phones": ["123: too short", "abc: not a phone number"]},
        ),
        (
            {"last_name": "Orlov", "phones": [{"raw": "8 (916) 123-45-6789"}]},
            {"phones": ["8 (916) 123-45-6789: impossible length for this country"]},
        ),
        (
            {"last_name": "Orlov", "phones": [{"raw": "+79161234567", "kind": "fax"}]},
            {"phones": {"0": {"kind": ['"fax" is not a valid choice.']}}},
        ),
        (
            {"last_name": "Orlov", "emails": ["not-an-email"]},
            {"emails": ["not-an-email is not a valid e-mail address"]},
        ),
        ({"first_name": ""}, {"last_name": ["A name is required"]}),
        ({"kind": "organisation", "last_name": "X"}, {"organisation_name": ["A name is required"]}),
        (
            {"last_name": "Orlov", "time_zone": "Mars/Base"},
            {"time_zone": ["Mars/Base is not a known time zone."]},
        ),
        (
            {"last_name": "Orlov", "owner": 999999},
            {"owner": ["No such user in your client companies."]},
        ),
    ],
)
def test_invalid_customer_is_refused_naming_the_problem(agent, company, payload, errors):
    response = api(agent).post("/api/customers/", {"company": "bank", **payload}, format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert Customer.objects.count() == 0
    assert CustomerPhone.objects.count() == 0


def test_create_needs_a_company(agent):
    response = api(agent).post("/api/customers/", {"last_name": "Orlov"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"company": ["This field is required."]}


def test_create_in_a_company_that_is_not_mine_is_refused_as_missing(agent, other_company):
    foreign = api(agent).post(
        "/api/customers/", {"company": "shop", "last_name": "Orlov"}, format="json"
    )
    missing = api(agent).post(
        "/api/customers/", {"company": "nope", "last_name": "Orlov"}, format="json"
    )

    assert foreign.status_code == missing.status_code == 400
    assert foreign.json() == {"company": ["None of your client companies has this slug."]}
    assert missing.json() == foreign.json()
    assert Customer.objects.count() == 0


def test_owner_must_be_a_member_of_the_customers_company(supervisor, company, other_company):
    Membership.objects.create(user=supervisor, company=other_company, role=Role.SUPERVISOR)
    shop_agent = make_user("shop-agent", other_company, Role.AGENT)

    response = api(supervisor).post(
        "/api/customers/",
        {"company": "bank", "last_name": "Orlov", "owner": shop_agent.pk},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"owner": ["The owner is not a member of this client company."]}
    assert Customer.objects.count() == 0


def test_duplicate_external_id_is_refused(agent, company, customer):
    Customer.objects.filter(pk=customer.pk).update(external_id="C-1")

    response = api(agent).post(
        "/api/customers/",
        {"company": "bank", "last_name": "Orlov", "external_id": "C-1"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "external_id": ["Another customer of this client company has external id C-1."]
    }
    assert Customer.objects.count() == 1


def test_same_external_id_in_another_company_is_allowed(supervisor, company, other_company):
    Membership.objects.create(user=supervisor, company=other_company, role=Role.SUPERVISOR)
    customer_create(company=other_company, last_name="Verdi", external_id="C-1")

    response = api(supervisor).post(
        "/api/customers/",
        {"company": "bank", "last_name": "Orlov", "external_id": "C-1"},
        format="json",
    )

    assert response.status_code == 201


# --- Updating ---------------------------------------------------------------------------------


def test_patch_changes_only_what_is_given(agent, customer):
    response = api(agent).patch(
        f"/api/customers/{customer.pk}/",
        {"middle_name": "Ivanovich", "tags": ["vip"]},
        format="json",
    )

    assert response.status_code == 200, response.content
    customer.refresh_from_db()
    assert customer.display_name == "Ivan Ivanovich Petrov"
    assert list(customer.tags.values_list("name", flat=True)) == ["vip"]
    assert list(customer.phones.values_list("e164", flat=True)) == ["+79161234567"]
    assert response.json()["display_name"] == "Ivan Ivanovich Petrov"
    assert response.json()["tags"] == ["vip"]
    assert response.json()["emails"] == ["ivan.petrov@example.com"]


def test_patch_replaces_the_phones(agent, customer):
    response = api(agent).patch(
        f"/api/customers/{customer.pk}/",
        {"phones": [{"raw": "+7 495 111 22 33", "kind": "home"}]},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["phones"] == [
        {"raw": "+7 495 111 22 33", "e164": "+74951112233", "kind": "home", "is_primary": True}
    ]
    assert list(customer.phones.values_list("e164", flat=True)) == ["+74951112233"]


def test_put_updates_the_customer(supervisor, customer):
    response = api(supervisor).put(
        f"/api/customers/{customer.pk}/",
        {"company": "bank", "first_name": "Ivan", "last_name": "Sidorov", "do_not_call": True},
        format="json",
    )

    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.display_name, customer.do_not_call) == ("Ivan Sidorov", True)


def test_bad_phone_on_update_changes_nothing(agent, customer):
    response = api(agent).patch(
        f"/api/customers/{customer.pk}/",
        {"last_name": "Sidorov", "phones": [{"raw": "+7 495 111 22 33"}, {"raw": "12"}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"phones": ["12: too short"]}
    customer.refresh_from_db()
    assert customer.last_name == "Petrov"
    assert list(customer.phones.values_list("e164", flat=True)) == ["+79161234567"]


def test_customer_cannot_move_to_another_company(supervisor, customer, other_company):
    Membership.objects.create(user=supervisor, company=other_company, role=Role.SUPERVISOR)

    response = api(supervisor).patch(
        f"/api/customers/{customer.pk}/", {"company": "shop"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"company": ["A customer cannot move to another client company."]}
    customer.refresh_from_db()
    assert customer.company.slug == "bank"


def test_patch_naming_the_same_company_is_accepted(agent, customer):
    response = api(agent).patch(
        f"/api/customers/{customer.pk}/", {"company": "bank", "city": "Moscow"}, format="json"
    )

    assert response.status_code == 200
    assert Customer.objects.get(pk=customer.pk).city == "Moscow"
