"""Customer export: columns, CSV with BOM streamed in chunks, XLSX, the list's filters, roles and
tenant isolation, and an export that re-imports without changing anything."""

import csv
import io
from datetime import UTC, datetime

import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.test import AsyncRequestFactory
from django.urls import reverse
from openpyxl import load_workbook

from contactcenter.tenancy.models import Role
from crm import exports
from crm.imports import customer_import_create, customer_import_start
from crm.models import Customer, CustomFieldDefinition, Tag
from crm.services.customers import customer_create
from tests.conftest import make_user
from tests.crm.test_import_service import snapshot

HEADER = [
    "Company",
    "External id",
    "Kind",
    "First name",
    "Middle name",
    "Last name",
    "Organisation name",
    "Phones",
    "E-mails",
    "Tags",
    "Address",
    "City",
    "Postal code",
    "Country",
    "Language",
    "Time zone",
    "Marketing consent",
    "Do not call",
    "Owner",
    "Contract",
    "Created",
]
CREATED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    # Runs before the user fixtures: a fast hasher keeps their setup from dominating the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def bank_customers(company, agent):
    """Two customers of the bank with every exported column filled in one of them."""
    CustomFieldDefinition.objects.create(company=company, key="contract", label="Contract")
    Tag.objects.create(company=company, name="VIP")
    Tag.objects.create(company=company, name="Debtor")
    ivan = customer_create(
        company=company,
        first_name="Ivan",
        middle_name="Ivanovich",
        last_name="Petrov",
        external_id="B-1",
        phones=["8 (916) 123-45-67", "+7 495 123 45 67"],
        emails=["ivan@example.com", "i.petrov@example.org"],
        tags=["VIP", "Debtor"],
        address="Tverskaya 1\napt. 2",
        city="Moscow",
        postal_code="101000",
        country="RU",
        language="ru",
        time_zone="Europe/Moscow",
        marketing_consent=True,
        do_not_call=False,
        owner=agent,
        custom_fields={"contract": "=HYPERLINK(1)"},
    )
    romashka = customer_create(
        company=company,
        kind=Customer.Kind.ORGANISATION,
        organisation_name="Romashka LLC",
        emails=["office@romashka.example"],
        do_not_call=True,
    )
    Customer.objects.filter(pk__in=[ivan.pk, romashka.pk]).update(created_at=CREATED)
    return ivan, romashka


@pytest.fixture
def shop_customer(other_company):
    return customer_create(company=other_company, last_name="Rossi", phones=["+39 333 123 4567"])


def read_csv(response) -> tuple[bytes, list[list[str]]]:
    body = b"".join(response.streaming_content)
    return body, list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_export_has_a_bom_and_every_column(client, supervisor, bank_customers):
    client.force_login(supervisor)

    response = client.get(reverse("crm:customer_export"), {"format": "csv", "company": "bank"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="customers-bank-')
    body, rows = read_csv(response)
    assert body.startswith(b"\xef\xbb\xbf")
    assert rows == [
        HEADER,
        [
            "Bank", "B-1", "person", "Ivan", "Ivanovich", "Petrov", "",
            "+79161234567; +74951234567", "ivan@example.com; i.petrov@example.org", "Debtor, VIP",
            "Tverskaya 1\napt. 2", "Moscow", "101000", "RU", "ru", "Europe/Moscow", "yes", "no",
            "agent", "'=HYPERLINK(1)", "2026-03-01T12:30:00+03:00",
        ],
        [
            "Bank", "", "organisation", "", "", "", "Romashka LLC", "", "office@romashka.example",
            "", "", "", "", "", "", "", "no", "yes", "", "", "2026-03-01T12:30:00+03:00",
        ],
    ]  # fmt: skip


def test_semicolon_csv_for_excel_in_russian_and_italian(client, supervisor, bank_customers):
    client.force_login(supervisor)

    response = client.get(reverse("crm:customer_export"), {"delimiter": "semicolon"})

    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0] == ";".join(HEADER)


def test_xlsx_export_holds_the_same_values_with_real_types(client, supervisor, bank_customers):
    client.force_login(supervisor)

    response = client.get(reverse("crm:customer_export"), {"format": "xlsx"})

    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == HEADER
    assert rows[1][7:10] == [
        "+79161234567; +74951234567",
        "ivan@example.com; i.petrov@example.org",
        "Debtor, VIP",
    ]
    assert rows[1][16:] == [True, False, "agent", "=HYPERLINK(1)", datetime(2026, 3, 1, 12, 30)]
    # Text, not a formula Excel would run.
    assert sheet.cell(row=2, column=20).data_type == "s"
    assert rows[2][6] == "Romashka LLC"


def test_export_honours_the_lists_search(client, supervisor, bank_customers):
    client.force_login(supervisor)

    by_phone = client.get(reverse("crm:customer_export"), {"q": "8 916 123 45 67"})
    by_name = client.get(reverse("crm:customer_export"), {"q": "romash"})

    assert [r[5] for r in read_csv(by_phone)[1][1:]] == ["Petrov"]
    assert [r[6] for r in read_csv(by_name)[1][1:]] == ["Romashka LLC"]


def test_export_without_a_company_covers_only_companies_where_the_role_may_export(
    client, supervisor, other_company, bank_customers, shop_customer
):
    # Agent in the shop: sees its customers but may not export them.
    make_user("dual", other_company, Role.AGENT)
    supervisor.memberships.create(company=other_company, role=Role.AGENT)
    client.force_login(supervisor)

    response = client.get(reverse("crm:customer_export"))

    assert [r[0] for r in read_csv(response)[1][1:]] == ["Bank", "Bank"]


def test_client_manager_may_export(client, client_manager, bank_customers):
    client.force_login(client_manager)

    response = client.get(reverse("crm:customer_export"), {"company": "bank"})

    assert response.status_code == 200
    assert len(read_csv(response)[1]) == 3


def test_agent_gets_403_on_export(client, agent, bank_customers):
    client.force_login(agent)

    assert client.get(reverse("crm:customer_export"), {"company": "bank"}).status_code == 403
    assert client.get(reverse("crm:customer_export")).status_code == 403


def test_outsider_gets_404_exporting_another_company(client, outsider, bank_customers):
    client.force_login(outsider)

    response = client.get(reverse("crm:customer_export"), {"company": "bank", "format": "xlsx"})

    assert response.status_code == 404


def test_outsider_export_of_own_companies_holds_nothing_of_the_bank(
    client, outsider, bank_customers, shop_customer
):
    client.force_login(outsider)

    rows = read_csv(client.get(reverse("crm:customer_export")))[1]

    assert [r[0] for r in rows[1:]] == ["Shop"]


def test_unknown_format_is_a_400_naming_it(client, supervisor):
    client.force_login(supervisor)

    response = client.get(reverse("crm:customer_export"), {"format": "pdf"})

    assert response.status_code == 400
    assert response.content.decode() == "Unknown export format pdf: use csv or xlsx."


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(reverse("crm:customer_export"))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_csv_is_streamed_in_chunks_with_queries_per_chunk_not_per_row(
    client, supervisor, company, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    for n in range(5):
        customer_create(company=company, last_name=f"Client{n}", phones=[f"+7916555000{n}"])
    client.force_login(supervisor)

    response = client.get(reverse("crm:customer_export"))
    # One query reads the customers; each chunk of 2 then fetches its phones, e-mails and tags.
    with django_assert_num_queries(1 + 3 * 3):
        chunks = list(response.streaming_content)

    # BOM and header, then one chunk per 2 rows, then the rest.
    assert [c.decode("utf-8-sig").count("\n") for c in chunks] == [1, 2, 2, 1]


def test_under_asgi_the_csv_streams_through_an_async_iterator(supervisor, bank_customers):
    request = AsyncRequestFactory().get("/customers/export/")
    request.user = supervisor

    response = exports.export_response(request, user=supervisor, file_format="csv")

    assert response.is_async

    async def collect():
        return [chunk async for chunk in response]

    body = b"".join(async_to_sync(collect)())
    assert body.decode("utf-8-sig").count("Petrov") == 1


def test_export_of_a_company_the_user_is_not_in_raises_404(outsider, bank_customers):
    with pytest.raises(Http404):
        exports.export_company(outsider, "bank")


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_export_reimported_changes_nothing(
    client, supervisor, company, bank_customers, file_format
):
    client.force_login(supervisor)
    response = client.get(reverse("crm:customer_export"), {"format": file_format})
    exported = b"".join(response.streaming_content)
    before = snapshot(company)

    created = customer_import_create(
        company=company,
        upload=SimpleUploadedFile(f"export.{file_format}", exported),
        user=supervisor,
    )
    done = customer_import_start(customer_import=created, mapping={}, merge_guess=True)

    assert done.errors == []
    assert (done.created_count, done.updated_count, done.unchanged_count) == (0, 0, 2)
    assert snapshot(company) == before


def test_an_export_without_external_ids_reimports_by_phone_or_email(
    client, supervisor, company, bank_customers
):
    Customer.objects.filter(company=company).update(external_id="")
    client.force_login(supervisor)
    exported = b"".join(client.get(reverse("crm:customer_export")).streaming_content)
    before = snapshot(company)

    created = customer_import_create(
        company=company, upload=SimpleUploadedFile("export.csv", exported), user=supervisor
    )
    done = customer_import_start(customer_import=created, mapping={}, merge_guess=True)

    assert (done.created_count, done.unchanged_count, done.error_count) == (0, 2, 0)
    assert snapshot(company) == before


def test_under_asgi_the_xlsx_streams_through_an_async_iterator(supervisor, bank_customers):
    request = AsyncRequestFactory().get("/customers/export/", {"format": "xlsx"})
    request.user = supervisor

    response = exports.export_response(request, user=supervisor, file_format="xlsx")

    async def collect():
        return [chunk async for chunk in response]

    body = b"".join(async_to_sync(collect)())
    assert response.is_async
    assert response["Content-Length"] == str(len(body))
    sheet = load_workbook(io.BytesIO(body)).worksheets[0]
    assert [row[5] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["Petrov", None]
