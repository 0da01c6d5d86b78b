import pytest
from django.core.exceptions import ValidationError

from crm.models import Customer, CustomerPhone, CustomFieldDefinition
from crm.selectors import customer_list, customers_by_phone
from crm.services.customers import customer_create, customer_note_add, customer_update


def test_phones_are_kept_as_typed_and_in_e164(customer):
    phone = customer.phones.get()
    assert (phone.raw, phone.e164, phone.is_primary) == ("8 (916) 123-45-67", "+79161234567", True)


def test_the_same_number_in_two_formats_is_stored_once(company):
    customer = customer_create(
        company=company, last_name="Sidorov", phones=["8 (916) 123-45-67", "+7 916 123 4567"]
    )
    assert list(customer.phones.values_list("e164", flat=True)) == ["+79161234567"]


def test_an_invalid_phone_is_refused_with_its_reason_and_nothing_is_written(company):
    with pytest.raises(ValidationError) as error:
        customer_create(company=company, last_name="Sidorov", phones=["+7 916 123 4567", "12"])
    assert error.value.message_dict == {"phones": ["12: too short"]}
    assert Customer.objects.count() == 0
    assert CustomerPhone.objects.count() == 0


def test_a_name_is_required(company):
    with pytest.raises(ValidationError) as error:
        customer_create(company=company, phones=["+79161234567"])
    assert error.value.message_dict == {"last_name": ["A name is required"]}
    with pytest.raises(ValidationError) as error:
        customer_create(company=company, kind="organisation", first_name="Ivan")
    assert error.value.message_dict == {"organisation_name": ["A name is required"]}


def test_several_customers_may_share_a_number_and_a_lookup_returns_all(company, customer):
    wife = customer_create(
        company=company, first_name="Maria", last_name="Petrova", phones=["+7 (916) 123-45-67"]
    )
    found = customers_by_phone(company, "8-916-123-45-67")
    assert found == [customer, wife]


def test_phone_lookup_stays_inside_the_company(company, other_company, customer):
    assert customers_by_phone(other_company, "+7 916 123 45 67") == []


def test_search_finds_by_phone_in_any_format_by_email_and_by_name(agent, customer, company):
    other = customer_create(company=company, last_name="Smirnov", phones=["8 495 765 43 21"])
    assert list(customer_list(agent, query="+7 916 123 45 67")) == [customer]
    assert list(customer_list(agent, query="89161234567")) == [customer]
    assert list(customer_list(agent, query="IVAN.PETROV@example.com")) == [customer]
    assert list(customer_list(agent, query="petr")) == [customer]
    assert list(customer_list(agent, query="(495) 765-43-21")) == [other]
    assert list(customer_list(agent)) == [customer, other]


def test_search_reads_a_national_number_in_each_companys_own_country(db, other_company):
    from contactcenter.tenancy.models import Membership, Role
    from tests.conftest import make_user

    rossi = customer_create(company=other_company, last_name="Rossi", phones=["333 123 4567"])
    user = make_user("it_agent", other_company, Role.AGENT)
    assert list(customer_list(user, query="333 1234567")) == [rossi]
    assert Membership.objects.filter(user=user).count() == 1


def test_search_never_returns_another_companys_customer(outsider, customer):
    assert list(customer_list(outsider, query="+79161234567")) == []
    assert list(customer_list(outsider, query="Petrov")) == []
    assert list(customer_list(outsider)) == []


def test_update_replaces_phones_and_emails_and_keeps_the_rest(customer):
    customer_update(customer=customer, phones=["+7 903 000 11 22"], city="Moscow")
    customer.refresh_from_db()
    assert list(customer.phones.values_list("e164", flat=True)) == ["+79030001122"]
    assert list(customer.emails.values_list("email", flat=True)) == ["ivan.petrov@example.com"]
    assert customer.city == "Moscow"


def test_emails_are_validated_and_lowercased(company):
    customer = customer_create(company=company, last_name="A", emails=["A@Example.COM"])
    assert list(customer.emails.values_list("email", flat=True)) == ["a@example.com"]
    with pytest.raises(ValidationError) as error:
        customer_create(company=company, last_name="B", emails=["not-an-address"])
    assert error.value.message_dict == {"emails": ["not-an-address is not a valid e-mail address"]}


def test_custom_fields_follow_the_company_definitions(company):
    CustomFieldDefinition.objects.create(
        company=company, key="contract", label="Contract", required=True
    )
    CustomFieldDefinition.objects.create(
        company=company, key="limit", label="Limit", field_type="number"
    )
    customer = customer_create(
        company=company, last_name="A", custom_fields={"contract": "C-1", "limit": "1500,50"}
    )
    assert customer.custom_fields == {"contract": "C-1", "limit": "1500.50"}
    with pytest.raises(ValidationError) as error:
        customer_create(company=company, last_name="B", custom_fields={"limit": "lots", "x": 1})
    assert error.value.message_dict == {
        "custom_fields": [
            "x is not a custom field of this company",
            "Contract is required",
            "Limit: lots is not a valid number",
        ]
    }


def test_owner_must_be_a_member_of_the_company(company, outsider):
    with pytest.raises(ValidationError) as error:
        customer_create(company=company, last_name="A", owner=outsider)
    assert error.value.message_dict == {
        "owner": ["The owner is not a member of this client company."]
    }


def test_tags_are_created_per_company(company, other_company):
    first = customer_create(company=company, last_name="A", tags=["vip", "vip ", "debtor"])
    second = customer_create(company=other_company, last_name="B", tags=["vip"])
    assert sorted(first.tags.values_list("name", flat=True)) == ["debtor", "vip"]
    assert first.tags.get(name="vip").company_id == company.pk
    assert second.tags.get().company_id == other_company.pk


def test_history_keeps_each_change_of_a_customer(customer):
    customer_update(customer=customer, last_name="Petrov-Vodkin")
    records = list(customer.history.all())
    assert len(records) == 2
    diff = records[0].diff_against(records[1])
    assert [(c.field, c.old, c.new) for c in diff.changes] == [
        ("last_name", "Petrov", "Petrov-Vodkin")
    ]


def test_an_empty_note_is_refused(customer, agent):
    with pytest.raises(ValidationError):
        customer_note_add(customer=customer, author=agent, body="  ")
    note = customer_note_add(customer=customer, author=agent, body="Prefers e-mail")
    assert list(customer.notes.all()) == [note]


def test_an_external_id_is_unique_within_a_company(company, other_company, customer):
    customer_update(customer=customer, external_id="C-1")
    with pytest.raises(ValidationError) as error:
        customer_create(company=company, last_name="B", external_id="C-1")
    assert error.value.message_dict == {
        "external_id": ["Another customer already has the external id C-1."]
    }
    elsewhere = customer_create(company=other_company, last_name="B", external_id="C-1")
    assert elsewhere.external_id == "C-1"
    customer_update(customer=customer, external_id="C-1", city="Tver")
    customer.refresh_from_db()
    assert customer.city == "Tver"
