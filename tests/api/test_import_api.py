"""Import and export through the API: multipart upload with an optional mapping, 201 for a small
file and 202 for a large one, the import's status, CSV/XLSX export; roles and tenant isolation."""

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.imports import customer_import_create, customer_import_start
from crm.models import Customer, CustomerImport, Tag
from crm.services.customers import customer_create

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"
GOOD_AND_BAD = (FIXTURES / "good_and_bad.csv").read_bytes()
URL = "/api/customers/import/"
EXPORT_URL = "/api/customers/export/"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def vip(company):
    return Tag.objects.create(company=company, name="VIP")


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def token_api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def good_and_bad(name: str = "good_and_bad.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, GOOD_AND_BAD, content_type="text/csv")


def test_small_file_is_imported_at_once_with_bad_rows_listed(supervisor, company, vip):
    response = token_api(supervisor).post(
        URL, {"company": "bank", "file": good_and_bad()}, format="multipart"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    pk = CustomerImport.objects.get().pk
    assert body["url"] == f"http://testserver/api/customers/import/{pk}/"
    assert {k: body[k] for k in ("state", "total_rows", "processed_rows", "finished")} == {
        "state": "done",
        "total_rows": 8,
        "processed_rows": 8,
        "finished": True,
    }
    assert (body["created"], body["updated"], body["unchanged"], body["bad_rows"]) == (4, 0, 0, 4)
    assert body["mapping"] == {
        "First name": "first_name",
        "Last name": "last_name",
        "Phone": "phone",
        "E-mail": "email",
        "Tags": "tags",
    }
    assert [(e["row"], [p["message"] for p in e["problems"]]) for e in body["errors"]] == [
        (3, ["12: too short"]),
        (5, ["A name is required"]),
        (6, ["egor@@example is not a valid e-mail address"]),
        (7, ["gold is not a tag of this company"]),
    ]
    assert Customer.objects.filter(company=company).count() == 4


def test_the_same_file_twice_creates_nobody_the_second_time(supervisor, company, vip):
    client = api(supervisor)
    client.post(URL, {"company": "bank", "file": good_and_bad()}, format="multipart")

    second = client.post(URL, {"company": "bank", "file": good_and_bad()}, format="multipart")

    assert (second.json()["created"], second.json()["unchanged"]) == (0, 4)
    assert Customer.objects.filter(company=company).count() == 4


def test_a_supplied_mapping_overrides_the_guess(supervisor, company, vip):
    mapping = {"E-mail": "", "Tags": None}

    response = api(supervisor).post(
        URL,
        {"company": "bank", "file": good_and_bad(), "mapping": json.dumps(mapping)},
        format="multipart",
    )

    assert response.status_code == 201
    assert response.json()["mapping"]["E-mail"] == ""
    assert [e["row"] for e in response.json()["errors"]] == [3, 5, 9]
    assert response.json()["created"] == 5


def test_an_unknown_column_in_the_mapping_is_a_400_and_nothing_is_stored(supervisor, company):
    response = api(supervisor).post(
        URL,
        {"company": "bank", "file": good_and_bad(), "mapping": '{"Mobile": "phone"}'},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json() == {
        "mapping": [
            "Mobile is not a column of the file "
            "(its columns: First name, Last name, Phone, E-mail, Tags)."
        ]
    }
    assert CustomerImport.objects.count() == 0
    assert Customer.objects.count() == 0


def test_a_mapping_that_is_not_json_is_a_400(supervisor, company):
    response = api(supervisor).post(
        URL, {"company": "bank", "file": good_and_bad(), "mapping": "{oops"}, format="multipart"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["mapping"]
    assert CustomerImport.objects.count() == 0


def test_a_bad_file_is_a_400_naming_the_problem(supervisor, company):
    response = api(supervisor).post(
        URL,
        {"company": "bank", "file": SimpleUploadedFile("clients.pdf", b"%PDF-1.4")},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json() == {
        "file": ["Only .csv and .xlsx files can be imported; clients.pdf is not one."]
    }


def test_a_large_file_is_accepted_and_runs_as_a_task(
    supervisor, company, vip, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_SYNC_MAX_ROWS = 5
    client = api(supervisor)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(URL, {"company": "bank", "file": good_and_bad()}, format="multipart")

    assert response.status_code == 202
    assert (response.json()["state"], response.json()["finished"]) == ("pending", False)
    assert len(callbacks) == 1
    callbacks[0]()
    status = client.get(response.json()["url"])
    assert status.status_code == 200
    assert (status.json()["state"], status.json()["processed_rows"]) == ("done", 8)
    assert (status.json()["created"], status.json()["bad_rows"]) == (4, 4)


def test_client_manager_gets_403_and_nothing_is_stored(client_manager, company):
    response = api(client_manager).post(
        URL, {"company": "bank", "file": good_and_bad()}, format="multipart"
    )

    assert response.status_code == 403
    assert CustomerImport.objects.count() == 0


def test_outsider_gets_404_importing_into_another_company(outsider, company):
    response = api(outsider).post(
        URL, {"company": "bank", "file": good_and_bad()}, format="multipart"
    )

    assert response.status_code == 404
    assert CustomerImport.objects.count() == 0
    assert Customer.objects.count() == 0


def test_outsider_gets_404_on_another_companys_import(outsider, supervisor, company, vip):
    created = customer_import_create(company=company, upload=good_and_bad(), user=supervisor)
    customer_import_start(customer_import=created, mapping={}, merge_guess=True)

    response = api(outsider).get(f"{URL}{created.pk}/")

    assert response.status_code == 404


def test_client_manager_gets_403_on_an_import_of_their_company(client_manager, supervisor):
    created = customer_import_create(
        company=supervisor.memberships.get().company, upload=good_and_bad(), user=supervisor
    )

    assert api(client_manager).get(f"{URL}{created.pk}/").status_code == 403


def test_anonymous_gets_401_or_403(company):
    response = APIClient().post(URL, {"company": "bank", "file": good_and_bad()})

    assert response.status_code in (401, 403)
    assert CustomerImport.objects.count() == 0


# --- Export -------------------------------------------------------------------------------------


def test_export_csv_with_a_token(client_manager, customer):
    response = token_api(client_manager).get(EXPORT_URL, {"format": "csv", "company": "bank"})

    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert [row[:8] for row in rows[1:]] == [
        ["Bank", "", "person", "Ivan", "", "Petrov", "", "+79161234567"]
    ]


def test_export_xlsx(supervisor, customer):
    response = api(supervisor).get(EXPORT_URL, {"format": "xlsx"})

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    assert [row[5] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["Petrov"]


def test_export_search_filter(supervisor, company, customer):
    customer_create(company=company, last_name="Sidorov", phones=["+79162223344"])

    response = api(supervisor).get(EXPORT_URL, {"q": "sidor"})

    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert [row[5] for row in list(csv.reader(io.StringIO(body)))[1:]] == ["Sidorov"]


def test_outsider_gets_404_exporting_another_company(outsider, customer):
    response = api(outsider).get(EXPORT_URL, {"company": "bank"})

    assert response.status_code == 404


def test_agent_gets_403_on_export(agent, customer):
    response = api(agent).get(EXPORT_URL, {"company": "bank", "format": "xlsx"})

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"


def test_unknown_export_format_is_a_400(supervisor):
    response = api(supervisor).get(EXPORT_URL, {"format": "pdf"})

    assert response.status_code == 400
    assert response.json() == {"format": ["Unknown export format pdf: use csv or xlsx."]}
