import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contactcenter.tenancy.models import Membership, Role, Team
from crm.models import (
    Customer,
    CustomerEmail,
    CustomerNote,
    CustomerPhone,
    CustomFieldDefinition,
    Tag,
)
from crm.services.customers import customer_create, customer_note_add
from crm.services.tickets import ticket_comment_add, ticket_create, ticket_escalate
from tests.conftest import make_user


@pytest.fixture
def shop_customer(other_company):
    return customer_create(
        company=other_company, first_name="Giulia", last_name="Rossi", phones=["06 1234 5678"]
    )


def _phones(total: int = 2, initial: int = 0, rows=()) -> dict:
    """The phone rows as a browser posts them: every row sends its kind, empty or not."""
    rows = [*rows, *[("", "mobile")] * (total - len(rows))]
    data = {
        "phones-TOTAL_FORMS": str(total),
        "phones-INITIAL_FORMS": str(initial),
        "phones-MIN_NUM_FORMS": "0",
        "phones-MAX_NUM_FORMS": "1000",
    }
    for i, (raw, kind) in enumerate(rows):
        data[f"phones-{i}-raw"] = raw
        data[f"phones-{i}-kind"] = kind
    return data


def _snapshot():
    return (
        list(Customer.objects.order_by("pk").values()),
        list(CustomerPhone.objects.order_by("pk").values()),
        list(CustomerEmail.objects.order_by("pk").values()),
        list(CustomerNote.objects.order_by("pk").values()),
    )


# --- List and search --------------------------------------------------------------------------


def test_url_names():
    assert reverse("crm:customer_list") == "/customers/"
    assert reverse("crm:customer_create") == "/customers/new/"
    assert reverse("crm:customer_detail", args=[7]) == "/customers/7/"
    assert reverse("crm:customer_edit", args=[7]) == "/customers/7/edit/"
    assert reverse("crm:customer_note_add", args=[7]) == "/customers/7/notes/"


def test_list_shows_only_the_users_companies(client, agent, customer, shop_customer):
    client.force_login(agent)

    response = client.get("/customers/")

    assert response.status_code == 200
    assert [c.pk for c in response.context["table"].data] == [customer.pk]
    assert "Giulia" not in response.content.decode()


@pytest.mark.parametrize("typed", ["+7 916 123 45 67", "89161234567", "+7 (916) 123-45-67"])
def test_phone_typed_in_another_format_finds_the_customer(client, agent, customer, typed):
    client.force_login(agent)

    response = client.get("/customers/", {"q": typed})

    assert [c.pk for c in response.context["table"].data] == [customer.pk]


def test_search_by_name_and_email(client, agent, customer, company):
    customer_create(company=company, first_name="Olga", last_name="Smirnova")
    client.force_login(agent)

    by_name = client.get("/customers/", {"q": "petro"}).context["table"].data
    by_email = client.get("/customers/", {"q": "IVAN.PETROV@example.com"}).context["table"].data

    assert [c.pk for c in by_name] == [customer.pk]
    assert [c.pk for c in by_email] == [customer.pk]


def test_outsider_search_by_phone_finds_nothing(client, outsider, customer):
    client.force_login(outsider)

    response = client.get("/customers/", {"q": "+7 916 123 45 67"})

    assert list(response.context["table"].data) == []


def test_company_filter_narrows_to_one_company(
    client, agent, company, other_company, customer, shop_customer
):
    Membership.objects.create(user=agent, company=other_company, role=Role.AGENT)
    client.force_login(agent)

    both = client.get("/customers/").context["table"].data
    shop_only = client.get("/customers/", {"company": "shop"}).context["table"].data

    assert sorted(c.pk for c in both) == sorted([customer.pk, shop_customer.pk])
    assert [c.pk for c in shop_only] == [shop_customer.pk]


def test_company_filter_of_a_foreign_company_is_404(client, outsider, customer):
    client.force_login(outsider)

    assert client.get("/customers/", {"company": "bank"}).status_code == 404


def test_list_pages_by_25(client, agent, company):
    for i in range(27):
        customer_create(company=company, last_name=f"Customer {i:02d}")
    client.force_login(agent)

    first = client.get("/customers/")
    second = client.get("/customers/", {"page": 2})

    assert len(first.context["table"].page.object_list) == 25
    assert len(second.context["table"].page.object_list) == 2


def _queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def _customers(company, n, start):
    for i in range(start, start + n):
        customer_create(
            company=company,
            last_name=f"Customer {i:02d}",
            phones=[f"8 916 555 00 {i:02d}"],
            emails=[f"c{i}@example.com"],
            tags=["vip"],
        )


def test_list_query_count_is_the_same_for_3_and_30_customers(client, agent, company):
    client.force_login(agent)
    _customers(company, 3, 0)
    with_3 = _queries_for(client, "/customers/")

    _customers(company, 27, 3)
    with_30 = _queries_for(client, "/customers/")

    assert with_3 == with_30


# --- Create and edit --------------------------------------------------------------------------


def test_agent_creates_a_customer_with_phones_emails_tags_and_custom_fields(client, agent, company):
    CustomFieldDefinition.objects.create(
        company=company, key="contract", label="Contract number", required=True
    )
    CustomFieldDefinition.objects.create(
        company=company, key="vip", label="VIP", field_type="boolean"
    )
    client.force_login(agent)
    data = {
        "kind": "person",
        "first_name": "Maria",
        "last_name": "Ivanova",
        "country": "ru",
        "owner": str(agent.pk),
        "emails": "Maria@Example.com\nmaria.work@example.com",
        "tags": "vip, mortgage",
        "cf_contract": "C-001",
        "cf_vip": "yes",
        "do_not_call": "on",
        **_phones(rows=[("8 (916) 765-43-21", "mobile"), ("+7 495 123 45 67", "work")]),
    }

    response = client.post("/customers/new/", data)

    customer = Customer.objects.get(last_name="Ivanova")
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{customer.pk}/"
    assert customer.company == company
    assert customer.display_name == "Maria Ivanova"
    assert customer.country == "RU"
    assert customer.owner == agent
    assert customer.do_not_call is True
    assert customer.custom_fields == {"contract": "C-001", "vip": True}
    assert list(customer.phones.values_list("raw", "e164", "kind", "is_primary")) == [
        ("8 (916) 765-43-21", "+79167654321", "mobile", True),
        ("+7 495 123 45 67", "+74951234567", "work", False),
    ]
    assert list(customer.emails.values_list("email", flat=True)) == [
        "maria@example.com",
        "maria.work@example.com",
    ]
    assert sorted(customer.tags.values_list("name", flat=True)) == ["mortgage", "vip"]


def test_invalid_phone_is_refused_with_the_reason_and_nothing_is_written(client, agent, company):
    client.force_login(agent)
    before = _snapshot()
    data = {
        "kind": "person",
        "last_name": "Sidorov",
        **_phones(rows=[("8 916 765 43 21", "mobile"), ("12", "home")]),
    }

    response = client.post("/customers/new/", data)

    assert response.status_code == 200
    assert "12: too short" in response.content.decode()
    assert _snapshot() == before


def test_missing_required_custom_field_is_shown_and_nothing_is_written(client, agent, company):
    CustomFieldDefinition.objects.create(
        company=company, key="contract", label="Contract number", required=True
    )
    client.force_login(agent)
    before = _snapshot()

    response = client.post("/customers/new/", {"kind": "person", "last_name": "X", **_phones()})

    assert response.status_code == 200
    assert response.context["form"].errors["cf_contract"] == ["This field is required."]
    assert _snapshot() == before


def test_duplicate_external_id_is_refused(client, agent, company, customer):
    Customer.objects.filter(pk=customer.pk).update(external_id="EXT-1")
    client.force_login(agent)

    response = client.post(
        "/customers/new/",
        {"kind": "person", "last_name": "Twin", "external_id": "EXT-1", **_phones()},
    )

    assert response.context["form"].errors["external_id"] == [
        "Another customer of this company already has the external id EXT-1."
    ]
    assert Customer.objects.count() == 1


def test_owner_choices_are_members_of_the_customers_company(client, agent, outsider, company):
    client.force_login(agent)

    response = client.get("/customers/new/")
    owners = list(response.context["form"].fields["owner"].queryset)

    assert owners == [agent]
    posted = client.post(
        "/customers/new/",
        {"kind": "person", "last_name": "Y", "owner": str(outsider.pk), **_phones()},
    )
    assert "owner" in posted.context["form"].errors
    assert not Customer.objects.filter(last_name="Y").exists()


def test_user_writing_in_two_companies_chooses_the_company_first(
    client, agent, company, other_company
):
    Membership.objects.create(user=agent, company=other_company, role=Role.AGENT)
    client.force_login(agent)

    chooser = client.get("/customers/new/")
    form_page = client.get("/customers/new/", {"company": "shop"})
    created = client.post(
        "/customers/new/?company=shop", {"kind": "person", "last_name": "Bianchi", **_phones()}
    )

    assert chooser.status_code == 200
    assert [c.slug for c in chooser.context["form"].fields["company"].queryset] == ["bank", "shop"]
    assert form_page.context["company"] == other_company
    assert created.status_code == 302
    assert Customer.objects.get(last_name="Bianchi").company == other_company


def test_company_where_the_user_only_reads_is_not_offered(client, agent, company, other_company):
    Membership.objects.create(user=agent, company=other_company, role=Role.CLIENT_MANAGER)
    client.force_login(agent)

    response = client.get("/customers/new/")

    assert response.context["company"] == company
    assert client.get("/customers/new/", {"company": "shop"}).status_code == 403


def test_edit_changes_the_customer_and_the_card_shows_the_history(client, agent, customer):
    client.force_login(agent)
    form = client.get(f"/customers/{customer.pk}/edit/").context["form"]
    data = {
        **{k: v for k, v in form.initial.items() if v is not None and not isinstance(v, bool)},
        "last_name": "Petrova",
        **_phones(total=3, initial=1, rows=[("8 (916) 123-45-67", "mobile")]),
    }

    response = client.post(f"/customers/{customer.pk}/edit/", data)
    card = client.get(f"/customers/{customer.pk}/").content.decode()

    customer.refresh_from_db()
    assert response.status_code == 302
    assert customer.last_name == "Petrova"
    assert customer.phones.count() == 1
    assert (
        '<li><strong>Last name</strong>: <span class="old">Petrov</span> &rarr; '
        '<span class="new">Petrova</span></li>'
    ) in card
    history_rows = card[card.index('id="history"') :]
    assert "<td>Anna</td>" in history_rows  # the agent's full name: who changed it


def test_edit_replaces_phones_and_history_records_both(client, agent, customer):
    client.force_login(agent)
    initial = client.get(f"/customers/{customer.pk}/edit/").context["form"].initial
    data = {
        **{k: v for k, v in initial.items() if v is not None and not isinstance(v, bool)},
        **_phones(total=3, initial=1, rows=[("", "mobile"), ("+7 903 000 11 22", "home")]),
    }

    client.post(f"/customers/{customer.pk}/edit/", data)
    card = client.get(f"/customers/{customer.pk}/").content.decode()

    assert list(customer.phones.values_list("e164", flat=True)) == ["+79030001122"]
    assert "Phone +79161234567: deleted" in card
    assert "Phone +79030001122: created" in card


# --- The card ---------------------------------------------------------------------------------


def test_card_shows_details_phones_as_typed_and_e164_flags_and_owner(
    client, agent, company, customer
):
    CustomFieldDefinition.objects.create(company=company, key="contract", label="Contract no.")
    customer.custom_fields = {"contract": "C-77"}
    customer.do_not_call = True
    customer.owner = agent
    customer.save()
    customer.tags.add(Tag.objects.create(company=company, name="vip"))
    client.force_login(agent)

    html = client.get(f"/customers/{customer.pk}/").content.decode()

    assert "<td>8 (916) 123-45-67</td>" in html
    assert '<a href="tel:+79161234567">+79161234567</a>' in html
    assert '<a href="mailto:ivan.petrov@example.com">ivan.petrov@example.com</a>' in html
    assert '<span class="badge">vip</span>' in html
    assert "<dt>Contract no.</dt><dd>C-77</dd>" in html
    assert "Yes: do not call this customer" in html
    assert '<dd id="owner">Anna</dd>' in html


def test_card_leaves_out_calls_and_debts(client, agent, customer):
    client.force_login(agent)

    html = client.get(f"/customers/{customer.pk}/").content.decode()

    assert "Calls" not in html
    assert "Debts" not in html


def test_card_lists_tickets_and_a_timeline_of_notes_and_ticket_events(
    client, agent, company, customer, team
):
    ticket = ticket_create(company=company, customer=customer, subject="Card blocked", team=team)
    ticket_escalate(ticket=ticket, user=agent, reason="Fraud suspected")
    ticket_comment_add(ticket=ticket, author=agent, body="Called the branch", is_internal=True)
    customer_note_add(customer=customer, author=agent, body="Prefers mornings")
    client.force_login(agent)

    response = client.get(f"/customers/{customer.pk}/")
    kinds = [item.kind for item in response.context["timeline"]]
    html = response.content.decode()

    assert [t.pk for t in response.context["tickets"].data] == [ticket.pk]
    assert kinds == ["note", "internal", "escalation", "opened"]
    assert "Prefers mornings" in html
    assert "Fraud suspected" in html
    assert f'<a href="/tickets/{ticket.pk}/">BANK-1</a>' in html


def test_agent_adds_a_note(client, agent, customer):
    client.force_login(agent)

    response = client.post(f"/customers/{customer.pk}/notes/", {"body": "Asked for a callback"})

    assert response.status_code == 302
    note = CustomerNote.objects.get()
    assert (note.customer, note.author, note.body) == (customer, agent, "Asked for a callback")


def test_empty_note_is_refused(client, agent, customer):
    client.force_login(agent)

    response = client.post(f"/customers/{customer.pk}/notes/", {"body": "   "})

    assert response.status_code == 200
    assert response.context["note_form"].errors["body"] == ["This field is required."]
    assert CustomerNote.objects.count() == 0


def test_notes_are_added_by_post_only(client, agent, customer):
    client.force_login(agent)

    assert client.get(f"/customers/{customer.pk}/notes/").status_code == 405


# --- Roles and tenancy ------------------------------------------------------------------------


def test_client_manager_reads_the_card_without_write_controls(client, client_manager, customer):
    client.force_login(client_manager)

    response = client.get(f"/customers/{customer.pk}/")
    html = response.content.decode()

    assert response.status_code == 200
    assert f"/customers/{customer.pk}/edit/" not in html
    assert 'id="note-form"' not in html
    assert "New ticket" not in html


def test_client_manager_gets_403_on_every_write(client, client_manager, customer):
    client.force_login(client_manager)
    before = _snapshot()

    assert client.get("/customers/new/").status_code == 403
    assert client.post("/customers/new/", {"kind": "person", "last_name": "Z"}).status_code == 403
    assert client.get(f"/customers/{customer.pk}/edit/").status_code == 403
    edit = client.post(f"/customers/{customer.pk}/edit/", {"kind": "person", "last_name": "Z"})
    assert edit.status_code == 403
    assert client.post(f"/customers/{customer.pk}/notes/", {"body": "x"}).status_code == 403
    assert _snapshot() == before


def test_outsider_gets_404_for_the_customer_card_edit_and_note(client, outsider, customer):
    client.force_login(outsider)
    before = _snapshot()
    data = {"kind": "person", "last_name": "Hacked", **_phones()}

    assert client.get(f"/customers/{customer.pk}/").status_code == 404
    assert client.get(f"/customers/{customer.pk}/edit/").status_code == 404
    assert client.post(f"/customers/{customer.pk}/edit/", data).status_code == 404
    assert client.post(f"/customers/{customer.pk}/notes/", {"body": "x"}).status_code == 404
    assert client.get("/customers/new/", {"company": "bank"}).status_code == 404
    assert client.post("/customers/new/?company=bank", data).status_code == 404
    assert _snapshot() == before


def test_missing_customer_is_404_like_a_foreign_one(client, agent):
    client.force_login(agent)

    assert client.get("/customers/999999/").status_code == 404


def test_choices_on_the_form_come_from_the_customers_company(
    client, agent, company, other_company, customer
):
    make_user("shopper", other_company, Role.AGENT)
    Team.objects.create(company=other_company, name="Returns")
    client.force_login(agent)

    form = client.get(f"/customers/{customer.pk}/edit/").context["form"]

    assert [u.username for u in form.fields["owner"].queryset] == ["agent"]
