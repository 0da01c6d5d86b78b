"""Import pages: upload, mapping, the import's page with its polled status, the bad rows CSV,
the imports list; roles (403) and tenant isolation (404, nothing changed)."""

import csv
import io
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.imports import customer_import_create, customer_import_start
from crm.models import Customer, CustomerImport, Tag

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"
GOOD_AND_BAD = (FIXTURES / "good_and_bad.csv").read_bytes()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Pages link static files; tests run without collectstatic's manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def vip(company):
    return Tag.objects.create(company=company, name="VIP")


@pytest.fixture
def bank_import(company, supervisor, vip):
    """A finished import of the bank with four bad rows."""
    created = customer_import_create(
        company=company,
        upload=SimpleUploadedFile("good_and_bad.csv", GOOD_AND_BAD),
        user=supervisor,
    )
    return customer_import_start(customer_import=created, mapping={}, merge_guess=True)


@pytest.fixture
def pending_import(company, supervisor):
    return customer_import_create(
        company=company,
        upload=SimpleUploadedFile("good_and_bad.csv", GOOD_AND_BAD),
        user=supervisor,
    )


def import_urls(pk: int) -> list[str]:
    return [
        reverse("crm:customer_import_detail", args=[pk]),
        reverse("crm:customer_import_mapping", args=[pk]),
        reverse("crm:customer_import_status", args=[pk]),
        reverse("crm:customer_import_errors", args=[pk]),
    ]


def test_supervisor_uploads_maps_and_sees_the_result(client, supervisor, company, vip):
    client.force_login(supervisor)

    page = client.get(reverse("crm:customer_import"))
    assert page.status_code == 200
    assert '<option value="bank" selected>Bank</option>' in page.content.decode()

    uploaded = client.post(
        reverse("crm:customer_import"),
        {"company": "bank", "file": SimpleUploadedFile("good_and_bad.csv", GOOD_AND_BAD)},
    )
    customer_import = CustomerImport.objects.get()
    mapping_url = reverse("crm:customer_import_mapping", args=[customer_import.pk])
    assert uploaded.status_code == 302
    assert uploaded["Location"] == mapping_url
    assert (customer_import.company, customer_import.total_rows) == (company, 8)
    assert customer_import.state == CustomerImport.State.PENDING

    mapping_page = client.get(mapping_url)
    form = mapping_page.context["form"]
    assert [form[f"col_{n}"].initial for n in range(5)] == [
        "first_name",
        "last_name",
        "phone",
        "email",
        "tags",
    ]
    assert '<span class="badge">Anna</span>' in mapping_page.content.decode()

    mapped = client.post(
        mapping_url,
        {"col_0": "first_name", "col_1": "last_name", "col_2": "phone", "col_3": "", "col_4": ""},
    )
    detail_url = reverse("crm:customer_import_detail", args=[customer_import.pk])
    assert mapped.status_code == 302
    assert mapped["Location"] == detail_url
    # E-mails and tags ignored: row 6's bad e-mail and row 7's unknown tag no longer matter,
    # but row 9 (Ilya, who had only an e-mail) can no longer be told apart.
    customer_import.refresh_from_db()
    assert (customer_import.created_count, customer_import.error_count) == (5, 3)
    assert [e["row"] for e in customer_import.errors] == [3, 5, 9]
    assert Customer.objects.filter(company=company).count() == 5
    assert not Customer.objects.filter(emails__isnull=False).exists()

    detail = client.get(detail_url)
    html = detail.content.decode()
    assert detail.context["status"]["created"] == 5
    assert "<tr><td>3</td><td>Phone: 12: too short</td></tr>" in html
    assert "<tr><td>5</td><td>Name: A name is required</td></tr>" in html
    assert "import_progress.js" not in html


def test_bad_rows_download_has_the_original_cells_and_reasons(client, supervisor, bank_import):
    client.force_login(supervisor)

    response = client.get(reverse("crm:customer_import_errors", args=[bank_import.pk]))

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="good_and_bad-bad-rows.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [
        ["Row", "First name", "Last name", "Phone", "E-mail", "Tags", "Problems"],
        ["3", "Boris", "Sidorov", "12", "boris@example.com", "", "Phone: 12: too short"],
        ["5", "", "", "+7 916 333 44 55", "nobody@example.com", "", "Name: A name is required"],
        [
            "6",
            "Egor",
            "Volkov",
            "+7 916 444-55-66",
            "egor@@example",
            "",
            "E-mail: egor@@example is not a valid e-mail address",
        ],
        [
            "7",
            "Fedor",
            "Kuznetsov",
            "+7 916 555-66-77",
            "fedor@example.com",
            "vip, gold",
            "Tags: gold is not a tag of this company",
        ],
    ]


def test_status_json_reports_state_and_counts(client, supervisor, bank_import):
    client.force_login(supervisor)

    response = client.get(reverse("crm:customer_import_status", args=[bank_import.pk]))

    assert response.json() == {
        "id": bank_import.pk,
        "state": "done",
        "state_label": "Done",
        "total_rows": 8,
        "processed_rows": 8,
        "percent": 100,
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "bad_rows": 4,
        "finished": True,
        "message": "",
    }


def test_a_large_import_page_polls_its_status(
    client, supervisor, pending_import, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_SYNC_MAX_ROWS = 5
    client.force_login(supervisor)
    mapping_url = reverse("crm:customer_import_mapping", args=[pending_import.pk])
    detail_url = reverse("crm:customer_import_detail", args=[pending_import.pk])
    fields = {"col_0": "first_name", "col_1": "last_name", "col_2": "phone", "col_3": "email"}

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(mapping_url, fields)
    waiting = client.get(detail_url).content.decode()

    assert len(callbacks) == 1
    assert 'data-polling="1"' in waiting
    assert "/static/js/import_progress.js" in waiting
    assert f'data-status-url="/customers/import/{pending_import.pk}/status/"' in waiting
    assert client.get(mapping_url)["Location"] == detail_url  # no second start

    callbacks[0]()  # the broker delivers the task (run eagerly here)
    done = client.get(reverse("crm:customer_import_status", args=[pending_import.pk])).json()
    assert (done["state"], done["processed_rows"], done["total_rows"]) == ("done", 8, 8)
    assert (done["created"], done["bad_rows"]) == (5, 3)


def test_the_progress_script_is_a_static_file_of_the_project():
    script = Path(finders.find("js/import_progress.js")).read_text()

    assert "dataset.statusUrl" in script
    assert "://" not in script  # no CDN, no other host


def test_mapping_without_a_name_column_is_refused_on_the_page(client, supervisor, pending_import):
    client.force_login(supervisor)
    url = reverse("crm:customer_import_mapping", args=[pending_import.pk])

    response = client.post(url, {"col_2": "phone"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Map at least one name column (first name, last name or organisation name)."
    ]
    pending_import.refresh_from_db()
    assert pending_import.mapping == {}
    assert Customer.objects.count() == 0


def test_upload_of_an_unreadable_file_names_the_problem_and_stores_nothing(client, supervisor):
    client.force_login(supervisor)

    response = client.post(
        reverse("crm:customer_import"),
        {"company": "bank", "file": SimpleUploadedFile("list.csv", "Фамилия\n".encode("cp1251"))},
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "file": ["The file is not UTF-8 text. In Excel, save it as \u201cCSV UTF-8\u201d."]
    }
    assert CustomerImport.objects.count() == 0


def test_imports_list_shows_the_imports_of_the_users_companies(
    client, supervisor, outsider, other_company, bank_import
):
    shop_import = customer_import_create(
        company=other_company,
        upload=SimpleUploadedFile("shop.csv", b"Cognome,Telefono\nRossi,3331234567\n"),
        user=outsider,
    )
    client.force_login(supervisor)

    mine = client.get(reverse("crm:customer_import_list"))
    client.force_login(outsider)
    theirs = client.get(reverse("crm:customer_import_list"))

    assert list(mine.context["page"].object_list) == [bank_import]
    assert list(theirs.context["page"].object_list) == [shop_import]
    assert "good_and_bad.csv" not in theirs.content.decode()


def test_client_manager_gets_403_on_import_and_nothing_is_stored(client, client_manager, company):
    client.force_login(client_manager)

    page = client.get(reverse("crm:customer_import"))
    posted = client.post(
        reverse("crm:customer_import"),
        {"company": "bank", "file": SimpleUploadedFile("good_and_bad.csv", GOOD_AND_BAD)},
    )
    listing = client.get(reverse("crm:customer_import_list"))

    assert (page.status_code, posted.status_code, listing.status_code) == (403, 403, 403)
    assert CustomerImport.objects.count() == 0


def test_client_manager_gets_403_on_an_import_of_their_company(client, client_manager, bank_import):
    client.force_login(client_manager)

    assert [client.get(url).status_code for url in import_urls(bank_import.pk)] == [403] * 4


def test_agent_gets_403_on_import(client, agent):
    client.force_login(agent)

    assert client.get(reverse("crm:customer_import")).status_code == 403


def test_outsider_posting_for_another_company_gets_404_and_nothing_is_stored(
    client, outsider, company
):
    client.force_login(outsider)

    response = client.post(
        reverse("crm:customer_import"),
        {"company": "bank", "file": SimpleUploadedFile("good_and_bad.csv", GOOD_AND_BAD)},
    )

    assert response.status_code == 404
    assert CustomerImport.objects.count() == 0
    assert Customer.objects.count() == 0


def test_outsider_gets_404_on_another_companys_import_pages(client, outsider, bank_import):
    client.force_login(outsider)
    before = CustomerImport.objects.filter(pk=bank_import.pk).values().get()

    assert [client.get(url).status_code for url in import_urls(bank_import.pk)] == [404] * 4
    assert client.post(reverse("crm:customer_import_mapping", args=[bank_import.pk]), {
        "col_0": "first_name"
    }).status_code == 404  # fmt: skip
    assert CustomerImport.objects.filter(pk=bank_import.pk).values().get() == before


def test_outsider_cannot_start_another_companys_pending_import(client, outsider, pending_import):
    client.force_login(outsider)
    url = reverse("crm:customer_import_mapping", args=[pending_import.pk])

    response = client.post(url, {"col_0": "first_name", "col_1": "last_name", "col_2": "phone"})

    assert response.status_code == 404
    pending_import.refresh_from_db()
    assert (pending_import.state, pending_import.mapping) == ("pending", {})
    assert Customer.objects.count() == 0


def test_import_page_shows_times_in_the_users_zone(client, supervisor, bank_import):
    CustomerImport.objects.filter(pk=bank_import.pk).update(created_at="2026-03-01T09:30:00+00:00")
    client.force_login(supervisor)

    html = client.get(reverse("crm:customer_import_detail", args=[bank_import.pk])).content

    # The bank's zone (Moscow, UTC+3): the supervisor has no zone of their own.
    assert "March 1, 2026, 12:30 p.m." in html.decode()
