from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from contactcenter.tenancy.models import Company, Membership, Role, Team
from crm.models import (
    Customer,
    CustomerEmail,
    CustomerImport,
    CustomerPhone,
    Priority,
    SLAPolicy,
    Tag,
    Ticket,
)
from crm.services.customers import customer_create
from crm.services.tickets import ticket_create
from tests.conftest import make_user


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")


@pytest.fixture
def shop_admin(other_company):
    """An administrator of the other company: must see nothing of `company` in the admin."""
    return make_user("shopadmin", other_company, Role.ADMIN, is_staff=True)


@pytest.fixture
def shop_customer(other_company):
    return customer_create(
        company=other_company, first_name="Giulia", last_name="Rossi", phones=["06 1234 5678"]
    )


@pytest.fixture
def shop_ticket(other_company, shop_customer):
    return ticket_create(company=other_company, customer=shop_customer, subject="Refund")


def _listed(client, url, **params) -> list:
    response = client.get(url, params)
    assert response.status_code == 200
    return sorted(obj.pk for obj in response.context["cl"].result_list)


def _change_data(response) -> dict:
    """What the admin's change page would post back untouched, its inlines included."""
    data = {}

    def put(form):
        for name in form.fields:
            value = form[name].value()
            key = form.add_prefix(name)
            if value is True:
                data[key] = "on"
            elif value is None or value is False:
                continue
            elif isinstance(value, list | tuple):
                data[key] = [str(v) for v in value]
            else:
                data[key] = str(value)

    put(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        put(inline.formset.management_form)
        for form in inline.formset.forms:
            put(form)
    return data


def _snapshot():
    return (
        list(Customer.objects.order_by("pk").values()),
        list(CustomerPhone.objects.order_by("pk").values()),
        list(CustomerEmail.objects.order_by("pk").values()),
        list(Ticket.objects.order_by("pk").values()),
    )


# --- Who sees what ----------------------------------------------------------------------------


def test_superuser_sees_every_company(client, superuser, customer, shop_customer):
    client.force_login(superuser)

    assert _listed(client, "/admin/crm/customer/") == sorted([customer.pk, shop_customer.pk])


def test_company_admin_sees_only_rows_of_their_companies(
    client, admin_user, customer, shop_customer, ticket, shop_ticket, team, other_company
):
    Team.objects.create(company=other_company, name="Returns")
    client.force_login(admin_user)

    assert client.get("/admin/").status_code == 200
    assert _listed(client, "/admin/crm/customer/") == [customer.pk]
    assert _listed(client, "/admin/crm/ticket/") == [ticket.pk]
    assert _listed(client, "/admin/tenancy/team/") == [team.pk]
    assert _listed(client, "/admin/tenancy/company/") == [customer.company_id]


def test_outsider_admin_gets_404_for_every_object_url_and_changes_nothing(
    client, shop_admin, customer, ticket
):
    client.force_login(shop_admin)
    before = _snapshot()
    customer_url = f"/admin/crm/customer/{customer.pk}"
    ticket_url = f"/admin/crm/ticket/{ticket.pk}"
    history_id = customer.history.latest("history_date").history_id

    assert client.get(f"{customer_url}/change/").status_code == 404
    assert client.post(f"{customer_url}/change/", {"last_name": "X"}).status_code == 404
    assert client.get(f"{customer_url}/history/").status_code == 404
    assert client.get(f"{customer_url}/history/{history_id}/").status_code == 404
    assert client.post(f"{customer_url}/delete/", {"post": "yes"}).status_code == 404
    assert client.get(f"{ticket_url}/change/").status_code == 404
    assert client.get(f"{ticket_url}/history/").status_code == 404
    assert client.get(f"/admin/tenancy/company/{customer.company_id}/change/").status_code == 404
    assert _snapshot() == before


def test_history_of_a_malformed_id_is_404(client, admin_user):
    client.force_login(admin_user)

    assert client.get("/admin/crm/customer/not-a-number/history/").status_code == 404
    assert client.get("/admin/crm/customer/not-a-number/history/1/").status_code == 404


def test_members_without_the_admin_role_or_staff_flag_are_kept_out(
    client, agent, supervisor, customer
):
    supervisor.is_staff = True
    supervisor.save()

    client.force_login(agent)
    assert client.get("/admin/crm/customer/").status_code == 302  # to the admin's login
    client.force_login(supervisor)
    assert client.get("/admin/crm/customer/").status_code == 403


def test_company_admin_cannot_add_or_delete_client_companies(client, admin_user, company):
    client.force_login(admin_user)

    assert client.get("/admin/tenancy/company/add/").status_code == 403
    assert (
        client.post(f"/admin/tenancy/company/{company.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert Company.objects.filter(pk=company.pk).exists()


def test_add_forms_offer_only_the_admins_companies_and_their_rows(
    client, admin_user, company, other_company, team
):
    Team.objects.create(company=other_company, name="Returns")
    client.force_login(admin_user)

    customer_form = client.get("/admin/crm/customer/add/").context["adminform"].form
    membership_form = client.get("/admin/tenancy/membership/add/").context["adminform"].form

    assert list(customer_form.fields["company"].queryset) == [company]
    assert list(membership_form.fields["team"].queryset) == [team]
    assert list(membership_form.fields["company"].queryset) == [company]
    assert list(membership_form.fields["user"].queryset) == [admin_user]


# --- Customers --------------------------------------------------------------------------------


@pytest.mark.parametrize("term", ["+7 916 123 45 67", "8 (916) 123-45-67", "79161234567"])
def test_admin_search_finds_a_phone_typed_in_any_format(client, admin_user, customer, term):
    client.force_login(admin_user)

    assert _listed(client, "/admin/crm/customer/", q=term) == [customer.pk]


def test_admin_search_by_name_external_id_and_email(client, admin_user, customer, company):
    Customer.objects.filter(pk=customer.pk).update(external_id="EXT-42")
    customer_create(company=company, last_name="Other")
    client.force_login(admin_user)

    assert _listed(client, "/admin/crm/customer/", q="petrov") == [customer.pk]
    assert _listed(client, "/admin/crm/customer/", q="EXT-42") == [customer.pk]
    assert _listed(client, "/admin/crm/customer/", q="ivan.petrov@example.com") == [customer.pk]


def test_admin_phone_search_reads_the_number_in_each_companys_country(
    client, superuser, customer, shop_customer
):
    client.force_login(superuser)

    # "06 1234 5678" is a Rome number in the Italian shop, nothing in the Russian bank.
    assert _listed(client, "/admin/crm/customer/", q="06 1234 5678") == [shop_customer.pk]
    assert _listed(client, "/admin/crm/customer/", q="+39 06 1234 5678") == [shop_customer.pk]


def test_customer_filters(client, superuser, company, customer, shop_customer):
    dnc = customer_create(company=company, last_name="Quiet", do_not_call=True, tags=["vip"])
    org = customer_create(company=company, kind="organisation", organisation_name="ACME")
    vip = Tag.objects.get(name="vip")
    client.force_login(superuser)

    page = client.get("/admin/crm/customer/")
    titles = [str(spec.title) for spec in page.context["cl"].filter_specs]

    assert titles == ["client company", "kind", "do not call", "tags"]
    assert _listed(client, "/admin/crm/customer/", do_not_call__exact="1") == [dnc.pk]
    assert _listed(client, "/admin/crm/customer/", kind__exact="organisation") == [org.pk]
    assert _listed(client, "/admin/crm/customer/", tags__id__exact=str(vip.pk)) == [dnc.pk]
    assert _listed(client, "/admin/crm/customer/", company__id__exact=str(company.pk)) == sorted(
        [customer.pk, dnc.pk, org.pk]
    )


def test_phone_saved_in_the_admin_is_normalised_to_e164(client, admin_user, customer):
    client.force_login(admin_user)
    url = f"/admin/crm/customer/{customer.pk}/change/"
    data = _change_data(client.get(url))
    data.update({"phones-1-raw": "8 (495) 123-45-67", "phones-1-kind": "work"})

    response = client.post(url, data)

    assert response.status_code == 302
    assert list(customer.phones.values_list("raw", "e164", "kind")) == [
        ("8 (916) 123-45-67", "+79161234567", "mobile"),
        ("8 (495) 123-45-67", "+74951234567", "work"),
    ]
    assert CustomerPhone.objects.get(e164="+74951234567").company_id == customer.company_id


def test_invalid_phone_in_the_admin_is_refused_with_the_reason(client, admin_user, customer):
    client.force_login(admin_user)
    url = f"/admin/crm/customer/{customer.pk}/change/"
    data = _change_data(client.get(url))
    data.update({"phones-1-raw": "12", "phones-1-kind": "home", "last_name": "Changed"})
    before = _snapshot()

    response = client.post(url, data)

    assert response.status_code == 200
    assert "12: too short" in response.content.decode()
    assert _snapshot() == before


def test_same_number_twice_in_the_admin_is_refused(client, admin_user, customer):
    client.force_login(admin_user)
    url = f"/admin/crm/customer/{customer.pk}/change/"
    data = _change_data(client.get(url))
    data.update({"phones-1-raw": "+7 916 123 45 67", "phones-1-kind": "home"})
    before = _snapshot()

    response = client.post(url, data)

    assert response.status_code == 200
    assert "are the same number (+79161234567)" in response.content.decode()
    assert _snapshot() == before


def test_customer_added_in_the_admin_with_a_phone(client, admin_user, company):
    client.force_login(admin_user)
    data = _change_data(client.get("/admin/crm/customer/add/"))
    data.update(
        {
            "company": str(company.pk),
            "kind": "person",
            "last_name": "Admin-made",
            "custom_fields": "{}",
            "phones-0-raw": "8 916 000 00 01",
            "phones-0-kind": "mobile",
        }
    )

    response = client.post("/admin/crm/customer/add/", data)

    customer = Customer.objects.get(last_name="Admin-made")
    assert response.status_code == 302
    assert list(customer.phones.values_list("e164", "company_id")) == [("+79160000001", company.pk)]


def test_admin_change_history_is_shown_for_own_customers(client, admin_user, customer):
    client.force_login(admin_user)

    response = client.get(f"/admin/crm/customer/{customer.pk}/history/")

    assert response.status_code == 200


# --- Tickets ----------------------------------------------------------------------------------


def test_ticket_filters(client, superuser, ticket, shop_ticket, company, customer):
    breached = ticket_create(company=company, customer=customer, subject="Late")
    Ticket.objects.filter(pk=breached.pk).update(resolution_breached=True, priority="high")
    client.force_login(superuser)

    page = client.get("/admin/crm/ticket/")
    titles = [str(spec.title) for spec in page.context["cl"].filter_specs]

    assert titles == [
        "client company",
        "status",
        "priority",
        "support tier",
        "first response SLA breached",
        "resolution SLA breached",
    ]
    assert _listed(client, "/admin/crm/ticket/", resolution_breached__exact="1") == [breached.pk]
    assert _listed(client, "/admin/crm/ticket/", priority__exact="high") == [breached.pk]


def test_ticket_priority_changed_in_the_admin_recomputes_the_sla(
    client, admin_user, company, customer
):
    SLAPolicy.objects.create(
        company=company, priority=Priority.NORMAL, first_response_minutes=60, resolution_minutes=600
    )
    SLAPolicy.objects.create(
        company=company, priority=Priority.URGENT, first_response_minutes=5, resolution_minutes=30
    )
    ticket = ticket_create(company=company, customer=customer, subject="Card")
    client.force_login(admin_user)
    url = f"/admin/crm/ticket/{ticket.pk}/change/"
    data = _change_data(client.get(url))
    data["priority"] = "urgent"

    response = client.post(url, data)

    ticket.refresh_from_db()
    assert response.status_code == 302
    assert ticket.priority == "urgent"
    assert ticket.resolution_due == ticket.created_at + timedelta(minutes=30)


def test_ticket_admin_offers_only_the_tickets_company_choices(
    client, admin_user, ticket, team, other_company, outsider
):
    Team.objects.create(company=other_company, name="Returns")
    client.force_login(admin_user)

    form = client.get(f"/admin/crm/ticket/{ticket.pk}/change/").context["adminform"].form

    assert list(form.fields["team"].queryset) == [team]
    assert outsider not in form.fields["assignee"].queryset


def test_tickets_are_not_added_in_the_admin(client, admin_user):
    client.force_login(admin_user)

    assert client.get("/admin/crm/ticket/add/").status_code == 403


# --- Read-only imports and configuration ------------------------------------------------------


def test_customer_imports_are_read_only(client, admin_user, company):
    job = CustomerImport.objects.create(
        company=company, file="imports/x.csv", original_name="x.csv", file_format="csv"
    )
    client.force_login(admin_user)
    url = f"/admin/crm/customerimport/{job.pk}/change/"

    assert client.get(url).status_code == 200
    assert client.post(url, {"original_name": "y.csv"}).status_code == 403
    assert client.get("/admin/crm/customerimport/add/").status_code == 403
    assert (
        client.post(f"/admin/crm/customerimport/{job.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    job.refresh_from_db()
    assert job.original_name == "x.csv"


@pytest.mark.parametrize(
    "path",
    [
        "tenancy/company",
        "tenancy/team",
        "tenancy/skill",
        "tenancy/membership",
        "crm/customer",
        "crm/ticket",
        "crm/slapolicy",
        "crm/businesshours",
        "crm/holiday",
        "crm/ticketcategory",
        "crm/tag",
        "crm/customfielddefinition",
        "crm/customerimport",
    ],
)
def test_every_model_has_an_admin_list(client, admin_user, path):
    client.force_login(admin_user)

    assert client.get(f"/admin/{path}/").status_code == 200


def test_membership_team_of_another_company_is_refused(client, admin_user, company, other_company):
    member = make_user("newbie", company, Role.AGENT)
    foreign_team = Team.objects.create(company=other_company, name="Returns")
    membership = Membership.objects.get(user=member)
    client.force_login(admin_user)
    url = f"/admin/tenancy/membership/{membership.pk}/change/"
    data = _change_data(client.get(url))
    data["team"] = str(foreign_team.pk)

    response = client.post(url, data)

    membership.refresh_from_db()
    assert response.status_code == 200
    assert membership.team is None


def test_sla_policy_added_for_another_company_is_refused(client, admin_user, other_company):
    client.force_login(admin_user)

    response = client.post(
        "/admin/crm/slapolicy/add/",
        {
            "company": str(other_company.pk),
            "priority": "normal",
            "first_response_minutes": "5",
            "resolution_minutes": "10",
        },
    )

    assert response.status_code == 200
    assert not SLAPolicy.objects.exists()


def test_history_is_recorded_with_the_admin_as_the_author(client, admin_user, customer):
    client.force_login(admin_user)
    url = f"/admin/crm/customer/{customer.pk}/change/"
    data = _change_data(client.get(url))
    data["last_name"] = "Petrova"
    before = timezone.now()

    client.post(url, data)

    record = customer.history.latest("history_date")
    assert (record.last_name, record.history_user) == ("Petrova", admin_user)
    assert record.history_date >= before
