"""Customer import: reading files, guessing and checking mappings, applying rows all-or-nothing,
re-imports without duplicates, and large files through the Celery task."""

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.test.utils import CaptureQueriesContext

from contactcenter.tenancy.models import Membership
from crm import imports, tasks
from crm.imports import (
    ImportFileError,
    customer_import_create,
    customer_import_run,
    customer_import_start,
    mapping_clean,
    mapping_guess,
    table_read,
)
from crm.models import (
    Customer,
    CustomerEmail,
    CustomerImport,
    CustomerPhone,
    CustomFieldDefinition,
    Tag,
)
from crm.services.customers import (
    CustomerBulkError,
    CustomerDraft,
    PhoneInput,
    customer_create,
    customers_bulk_create,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    # Runs before the user fixtures: a fast hasher keeps their setup from dominating the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def vip(company):
    return Tag.objects.create(company=company, name="VIP")


def upload(name: str, content: bytes | None = None) -> SimpleUploadedFile:
    data = content if content is not None else (FIXTURES / name).read_bytes()
    return SimpleUploadedFile(name, data)


def run_import(company, user, name, content=None, mapping=None):
    created = customer_import_create(company=company, upload=upload(name, content), user=user)
    return customer_import_start(
        customer_import=created, mapping=mapping or {}, merge_guess=True, language="en"
    )


def snapshot(company):
    """Everything an import may write, to compare before and after."""
    return {
        "customers": sorted(
            Customer.objects.for_tenant(company).values_list(
                "id",
                "kind",
                "first_name",
                "middle_name",
                "last_name",
                "organisation_name",
                "external_id",
                "city",
                "country",
                "marketing_consent",
                "do_not_call",
                "owner_id",
                "updated_at",
            )
        ),
        "custom": sorted(
            (c.pk, sorted(c.custom_fields.items())) for c in Customer.objects.for_tenant(company)
        ),
        "phones": sorted(
            CustomerPhone.objects.for_tenant(company).values_list(
                "customer_id", "e164", "raw", "kind", "is_primary"
            )
        ),
        "emails": sorted(
            CustomerEmail.objects.for_tenant(company).values_list(
                "customer_id", "email", "is_primary"
            )
        ),
        "tags": sorted(
            Customer.tags.through.objects.filter(customer__company=company).values_list(
                "customer_id", "tag_id"
            )
        ),
        "tag_names": sorted(Tag.objects.for_tenant(company).values_list("name", flat=True)),
        "history": Customer.history.filter(company_id=company.pk).count(),
    }


# --- Reading --------------------------------------------------------------------------------------


def test_csv_with_bom_and_semicolons_is_read_with_spreadsheet_row_numbers():
    table = table_read((FIXTURES / "russian_bom_semicolon.csv").read_bytes(), "csv")

    assert table.columns == [
        "Код клиента",
        "Фамилия",
        "Имя",
        "Отчество",
        "Телефон",
        "Рабочий телефон",
        "Эл. почта",
        "Город",
        "Согласие на рассылку",
    ]
    assert [number for number, _cells in table.rows] == [2, 3, 4]
    assert table.rows[0][1] == [
        "R-1",
        "Петров",
        "Пётр",
        "Петрович",
        "8 (916) 123-45-67",
        "+7 495 123-45-67",
        "petrov@example.ru",
        "Москва",
        "да",
    ]


def test_comma_csv_keeps_a_quoted_cell_with_commas_whole():
    table = table_read((FIXTURES / "good_and_bad.csv").read_bytes(), "csv")

    assert table.columns == ["First name", "Last name", "Phone", "E-mail", "Tags"]
    assert dict(table.rows)[7] == [
        "Fedor",
        "Kuznetsov",
        "+7 916 555-66-77",
        "fedor@example.com",
        "vip, gold",
    ]


def test_xlsx_rows_keep_their_numbers_across_a_blank_row_and_numeric_cells_become_text():
    table = table_read((FIXTURES / "italian.xlsx").read_bytes(), "xlsx")

    assert table.columns[:4] == ["Cognome", "Nome", "Telefono", "Cellulare"]
    assert [number for number, _cells in table.rows] == [2, 3, 5, 6]
    assert dict(table.rows)[3] == [
        "Bianchi",
        "Giulia",
        "",
        "3477654321",
        "giulia@example.it",
        "Milano",
        "C-002",
        "false",
    ]


def test_csv_not_in_utf8_is_refused_naming_the_encoding():
    with pytest.raises(ImportFileError, match="not UTF-8"):
        table_read("Фамилия,Телефон\nПетров,+79161234567\n".encode("cp1251"), "csv")  # noqa: RUF001


def test_damaged_xlsx_is_refused():
    with pytest.raises(ImportFileError, match="not a readable Excel"):
        table_read(b"PK\x03\x04 not really a workbook", "xlsx")


def test_duplicate_and_empty_headers_get_distinct_names():
    table = table_read(b"Phone,Phone,,Last name\n1,2,3,Petrov\n", "csv")

    assert table.columns == ["Phone", "Phone (2)", "Column 3", "Last name"]


def test_old_excel_files_are_refused_on_upload(company, supervisor):
    with pytest.raises(ValidationError) as caught:
        customer_import_create(
            company=company, upload=upload("clients.xls", b"\xd0\xcf\x11\xe0"), user=supervisor
        )

    assert caught.value.message_dict == {
        "file": ["Only .csv and .xlsx files can be imported; clients.xls is not one."]
    }
    assert CustomerImport.objects.count() == 0


def test_file_over_the_size_limit_is_refused(company, supervisor, settings):
    settings.IMPORT_MAX_UPLOAD_MB = 1

    with pytest.raises(ValidationError) as caught:
        customer_import_create(
            company=company,
            upload=upload("big.csv", b"Last name\n" + b"Petrov\n" * 200_000),
            user=supervisor,
        )

    assert caught.value.message_dict == {"file": ["The file is larger than 1 MB."]}


# --- Mapping ------------------------------------------------------------------------------------


def test_russian_headers_are_guessed():
    columns = [
        "Фамилия",
        "Имя",
        "Отчество",
        "Телефон",
        "Мобильный телефон",
        "Рабочий телефон",
        "E-mail",
        "Эл. почта",
        "Город",
        "Теги",
        "Код клиента",
        "Примечание",
    ]

    assert mapping_guess(columns, {}) == {
        "Фамилия": "last_name",
        "Имя": "first_name",
        "Отчество": "middle_name",
        "Телефон": "phone",
        "Мобильный телефон": "phone",
        "Рабочий телефон": "phone_work",
        "E-mail": "email",
        "Эл. почта": "email",
        "Город": "city",
        "Теги": "tags",
        "Код клиента": "external_id",
        "Примечание": "",
    }


def test_italian_headers_are_guessed():
    columns = [
        "Cognome",
        "Nome",
        "Telefono",
        "Cellulare",
        "Posta elettronica",
        "Città",
        "CAP",
        "Ragione sociale",
        "Codice cliente",
        "Consenso marketing",
        "Note",
    ]

    assert mapping_guess(columns, {}) == {
        "Cognome": "last_name",
        "Nome": "first_name",
        "Telefono": "phone",
        "Cellulare": "phone",
        "Posta elettronica": "email",
        "Città": "city",
        "CAP": "postal_code",
        "Ragione sociale": "organisation_name",
        "Codice cliente": "external_id",
        "Consenso marketing": "marketing_consent",
        "Note": "",
    }


def test_english_headers_custom_fields_and_a_repeated_single_field_are_guessed(company):
    limit = CustomFieldDefinition.objects.create(
        company=company, key="credit_limit", label="Credit limit", field_type="number"
    )
    columns = ["Phone", "Phone (2)", "E-mail", "Surname", "Last name", "Credit limit", "Created"]

    assert mapping_guess(columns, {limit.key: limit}) == {
        "Phone": "phone",
        "Phone (2)": "phone",
        "E-mail": "email",
        "Surname": "last_name",
        "Last name": "",
        "Credit limit": "custom:credit_limit",
        "Created": "",
    }


def test_a_mapping_naming_an_unknown_column_is_a_bad_mapping():
    with pytest.raises(ValidationError) as caught:
        mapping_clean(["Last name", "Phone"], {"Last name": "last_name", "Mobile": "phone"}, {})

    assert caught.value.messages == [
        "Mobile is not a column of the file (its columns: Last name, Phone)."
    ]


def test_a_mapping_to_an_unknown_field_or_one_field_twice_or_no_name_is_bad():
    with pytest.raises(ValidationError) as caught:
        mapping_clean(["A", "B", "C"], {"A": "city", "B": "city", "C": "shoe_size"}, {})

    assert caught.value.messages == [
        "Columns A and B are both mapped to City.",
        "Column C: shoe_size is not a customer field.",
    ]
    with pytest.raises(ValidationError) as caught:
        mapping_clean(["A"], {"A": "phone"}, {})
    assert caught.value.messages == [
        "Map at least one name column (first name, last name or organisation name)."
    ]


# --- Applying -------------------------------------------------------------------------------------


def test_good_and_bad_file_creates_exactly_the_good_rows_and_lists_the_bad_ones(
    company, supervisor, vip
):
    done = run_import(company, supervisor, "good_and_bad.csv")

    assert done.state == CustomerImport.State.DONE
    assert (done.total_rows, done.processed_rows) == (8, 8)
    assert (done.created_count, done.updated_count, done.unchanged_count) == (4, 0, 0)
    assert done.error_count == 4
    assert [(e["row"], e["problems"]) for e in done.errors] == [
        (3, [{"column": "Phone", "field": "phone", "message": "12: too short"}]),
        (5, [{"column": "", "field": "name", "message": "A name is required"}]),
        (
            6,
            [
                {
                    "column": "E-mail",
                    "field": "email",
                    "message": "egor@@example is not a valid e-mail address",
                }
            ],
        ),
        (
            7,
            [{"column": "Tags", "field": "tags", "message": "gold is not a tag of this company"}],
        ),
    ]
    assert done.errors[0]["values"] == ["Boris", "Sidorov", "12", "boris@example.com", ""]
    assert sorted(Customer.objects.for_tenant(company).values_list("display_name", flat=True)) == [
        "Anna Ivanova",
        "Clara Smirnova",
        "Galina Orlova",
        "Ilya Morozov",
    ]
    galina = Customer.objects.get(company=company, display_name="Galina Orlova")
    assert list(galina.phones.values_list("e164", "is_primary")) == [
        ("+79166667788", True),
        ("+79167778899", False),
    ]
    anna = Customer.objects.get(company=company, display_name="Anna Ivanova")
    assert list(anna.tags.values_list("name", flat=True)) == ["VIP"]
    assert list(anna.emails.values_list("email", flat=True)) == ["anna@example.com"]


def test_importing_the_same_file_twice_creates_nobody_and_changes_nothing(company, supervisor, vip):
    run_import(company, supervisor, "good_and_bad.csv")
    before = snapshot(company)

    second = run_import(company, supervisor, "good_and_bad.csv")

    assert (second.created_count, second.updated_count, second.unchanged_count) == (0, 0, 4)
    assert second.error_count == 4
    assert snapshot(company) == before


def test_russian_file_with_bom_and_semicolons_maps_and_imports(company, supervisor):
    done = run_import(company, supervisor, "russian_bom_semicolon.csv")

    assert (done.created_count, done.error_count) == (2, 1)
    assert done.errors[0]["row"] == 4
    assert done.errors[0]["problems"] == [
        {
            "column": "Эл. почта",
            "field": "email",
            "message": "ivanov@example is not a valid e-mail address",
        }
    ]
    petrov = Customer.objects.get(company=company, external_id="R-1")
    assert petrov.display_name == "Пётр Петрович Петров"
    assert (petrov.city, petrov.marketing_consent) == ("Москва", True)
    assert list(petrov.phones.values_list("e164", "kind", "is_primary")) == [
        ("+79161234567", "mobile", True),
        ("+74951234567", "work", False),
    ]
    sidorova = Customer.objects.get(company=company, external_id="R-2")
    assert sidorova.marketing_consent is False


def test_italian_xlsx_imports_into_an_italian_company(other_company, outsider):
    done = run_import(other_company, outsider, "italian.xlsx")

    assert (done.total_rows, done.created_count, done.error_count) == (4, 3, 1)
    assert done.errors[0]["row"] == 5
    assert done.errors[0]["problems"] == [
        {"column": "Telefono", "field": "phone", "message": "12: too short"}
    ]
    rossi = Customer.objects.get(company=other_company, external_id="C-001")
    assert list(rossi.phones.values_list("e164", flat=True)) == ["+390612345678", "+393331234567"]
    assert (rossi.display_name, rossi.city, rossi.marketing_consent) == (
        "Mario Rossi",
        "Roma",
        True,
    )
    bianchi = Customer.objects.get(company=other_company, external_id="C-002")
    assert list(bianchi.phones.values_list("e164", flat=True)) == ["+393477654321"]
    assert bianchi.marketing_consent is False
    assert Customer.objects.get(company=other_company, external_id="C-004").display_name == "Neri"


def test_a_changed_row_updates_the_matched_customer_and_adds_what_is_new(
    company, supervisor, customer
):
    # The conftest customer: Ivan Petrov, 8 (916) 123-45-67, ivan.petrov@example.com.
    content = (
        b"First name,Last name,Phone,E-mail,City\n"
        b"Ivan,Petrov,+7 916 123 45 67,ivan.p@example.org,Tver\n"
    )

    done = run_import(company, supervisor, "update.csv", content)

    assert (done.created_count, done.updated_count, done.unchanged_count) == (0, 1, 0)
    customer.refresh_from_db()
    assert customer.city == "Tver"
    assert list(customer.emails.values_list("email", "is_primary")) == [
        ("ivan.petrov@example.com", True),
        ("ivan.p@example.org", False),
    ]
    # The number the customer had keeps its spelling as typed.
    assert list(customer.phones.values_list("raw", "e164")) == [
        ("8 (916) 123-45-67", "+79161234567")
    ]


def test_same_phone_with_another_name_is_another_customer(company, supervisor, customer):
    content = b"First name,Last name,Phone\nMaria,Petrova,+79161234567\n"

    done = run_import(company, supervisor, "family.csv", content)

    assert (done.created_count, done.updated_count) == (1, 0)
    assert Customer.objects.for_tenant(company).count() == 2


def test_external_id_matches_even_when_the_name_changed(company, supervisor, customer):
    customer.external_id = "A-17"
    customer.save()
    content = b"External id,First name,Last name\nA-17,Ivan,Petrov-Vodkin\n"

    done = run_import(company, supervisor, "renamed.csv", content)

    assert (done.created_count, done.updated_count) == (0, 1)
    customer.refresh_from_db()
    assert customer.display_name == "Ivan Petrov-Vodkin"


def test_a_new_external_id_is_given_to_the_customer_found_by_phone_and_name(
    company, supervisor, customer
):
    content = b"External id,First name,Last name,Phone\nB-9,Ivan,Petrov,+79161234567\n"

    done = run_import(company, supervisor, "ids.csv", content)

    assert (done.created_count, done.updated_count) == (0, 1)
    customer.refresh_from_db()
    assert customer.external_id == "B-9"


def test_a_customer_with_another_external_id_is_not_taken_by_phone_and_name(
    company, supervisor, customer
):
    customer.external_id = "B-1"
    customer.save()
    content = b"External id,First name,Last name,Phone\nB-2,Ivan,Petrov,+79161234567\n"

    done = run_import(company, supervisor, "ids.csv", content)

    assert (done.created_count, done.updated_count) == (1, 0)
    assert sorted(Customer.objects.values_list("external_id", flat=True)) == ["B-1", "B-2"]


def test_a_repeated_row_in_one_file_is_created_once(company, supervisor):
    content = b"Last name,Phone\nOrlov,+79161110000\nOrlov,+79161110000\n"

    done = run_import(company, supervisor, "twice.csv", content)

    assert (done.created_count, done.unchanged_count) == (1, 1)


def test_bad_custom_value_unknown_owner_and_bad_flag_are_reported_by_row(
    company, supervisor, agent
):
    CustomFieldDefinition.objects.create(
        company=company, key="credit_limit", label="Credit limit", field_type="number"
    )
    content = (
        b"Last name,Phone,Credit limit,Owner,Do not call\n"
        b"Orlov,+79161110000,12.50,agent,no\n"
        b"Popov,+79161110001,lots,agent,\n"
        b"Sokolov,+79161110002,,nobody,\n"
        b"Lebedev,+79161110003,,,maybe\n"
    )

    done = run_import(company, supervisor, "custom.csv", content)

    assert done.created_count == 1
    assert [(e["row"], e["problems"]) for e in done.errors] == [
        (
            3,
            [
                {
                    "column": "",
                    "field": "custom_fields",
                    "message": "Credit limit: lots is not a valid number",
                }
            ],
        ),
        (
            4,
            [
                {
                    "column": "Owner",
                    "field": "owner",
                    "message": "nobody is not a user of this client company",
                }
            ],
        ),
        (
            5,
            [
                {
                    "column": "Do not call",
                    "field": "do_not_call",
                    "message": "maybe is not yes or no",
                }
            ],
        ),
    ]
    orlov = Customer.objects.get(company=company, display_name="Orlov")
    assert (orlov.custom_fields, orlov.owner, orlov.do_not_call) == (
        {"credit_limit": "12.50"},
        agent,
        False,
    )


def test_a_row_nobody_could_find_again_is_refused(company, supervisor):
    done = run_import(company, supervisor, "names.csv", b"Last name,City\nOrlov,Tver\n")

    assert done.created_count == 0
    assert done.errors[0]["row"] == 2
    assert done.errors[0]["problems"][0]["message"] == (
        "The row has no external id, phone or e-mail, so a later import could not find this "
        "customer again."
    )


def test_a_crash_mid_apply_writes_no_customer(company, supervisor, vip, monkeypatch):
    # Good rows 2, 4, 8 and 9: batches of two rows write Ivanova, then Smirnova, then crash.
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    real_bulk_create = imports.customers_bulk_create
    calls = []

    def failing_bulk_create(**kwargs):
        calls.append([draft.fields["last_name"] for draft in kwargs["drafts"]])
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real_bulk_create(**kwargs)

    monkeypatch.setattr(imports, "customers_bulk_create", failing_bulk_create)

    done = run_import(company, supervisor, "good_and_bad.csv")

    assert calls == [["Ivanova"], ["Smirnova"], ["Orlova", "Morozov"]]
    assert done.state == CustomerImport.State.FAILED
    assert done.message == (
        "The import stopped on an unexpected error; no customer was written. (RuntimeError)"
    )
    assert (done.created_count, done.processed_rows) == (0, 0)
    assert Customer.objects.count() == 0
    assert CustomerPhone.objects.count() == 0
    assert CustomerEmail.objects.count() == 0
    assert Customer.tags.through.objects.count() == 0
    assert Customer.history.count() == 0
    assert CustomerPhone.history.count() == 0


def test_a_large_file_runs_as_a_task_reporting_progress_in_batches(
    company, supervisor, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.IMPORT_SYNC_MAX_ROWS = 3
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    reported = []
    real_report = imports._report_progress
    monkeypatch.setattr(
        imports,
        "_report_progress",
        lambda progress, processed: (reported.append(processed), real_report(progress, processed)),
    )
    task_runs = []
    real_run = tasks.customer_import_run
    monkeypatch.setattr(
        tasks,
        "customer_import_run",
        lambda **kwargs: (task_runs.append(kwargs), real_run(**kwargs))[1],
    )
    content = "Last name,Phone\n" + "".join(f"Client{n},+7916555000{n}\n" for n in range(7))
    created = customer_import_create(
        company=company, upload=upload("big.csv", content.encode()), user=supervisor
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        started = customer_import_start(customer_import=created, mapping={}, merge_guess=True)
        assert started.state == CustomerImport.State.PENDING

    assert len(callbacks) == 1
    assert task_runs == [{"import_id": created.pk, "language": "en"}]
    assert reported == [2, 4, 6, 7]
    created.refresh_from_db()
    assert created.state == CustomerImport.State.DONE
    assert (created.total_rows, created.processed_rows, created.created_count) == (7, 7, 7)
    assert created.progress_percent == 100
    assert created.finished_at is not None


def test_a_redelivered_task_for_a_finished_import_does_nothing(company, supervisor, vip):
    done = run_import(company, supervisor, "good_and_bad.csv")
    before = snapshot(company)
    row_before = CustomerImport.objects.filter(pk=done.pk).values().get()

    assert tasks.import_customers(done.pk, "en") == CustomerImport.State.DONE

    assert snapshot(company) == before
    assert CustomerImport.objects.filter(pk=done.pk).values().get() == row_before


def test_an_import_cannot_be_started_twice(company, supervisor):
    done = run_import(company, supervisor, "good_and_bad.csv")

    with pytest.raises(ValidationError, match="already been started"):
        customer_import_start(customer_import=done, mapping={}, merge_guess=True)


def test_a_former_member_stays_owner_on_reimport(company, supervisor, agent, customer):
    customer.owner = agent
    customer.save()
    Membership.objects.filter(user=agent).delete()
    content = b"First name,Last name,Phone,Owner\nIvan,Petrov,+79161234567,agent\n"

    done = run_import(company, supervisor, "owner.csv", content)

    assert (done.unchanged_count, done.error_count) == (1, 0)


def test_run_of_an_unmapped_import_does_nothing(company, supervisor):
    created = customer_import_create(
        company=company, upload=upload("good_and_bad.csv"), user=supervisor
    )

    assert customer_import_run(import_id=created.pk).state == CustomerImport.State.PENDING
    assert Customer.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_poller_sees_progress_while_the_rows_go_in(company, supervisor, monkeypatch):
    """The rows go in inside one transaction; progress must be visible outside it."""
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    content = "Last name,Phone\n" + "".join(f"Client{n},+7916555000{n}\n" for n in range(5))
    created = customer_import_create(
        company=company, upload=upload("big.csv", content.encode()), user=supervisor
    )
    created.mapping = [
        {"column": "Last name", "field": "last_name"},
        {"column": "Phone", "field": "phone"},
    ]
    created.save()
    seen = []
    real_report = imports._report_progress

    def report_and_look(progress, processed):
        real_report(progress, processed)
        poller = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with poller.cursor() as cursor:
                cursor.execute(
                    "SELECT state, processed_rows FROM crm_customerimport WHERE id = %s",
                    [created.pk],
                )
                seen.append(cursor.fetchone())
                cursor.execute("SELECT count(*) FROM crm_customer")
                seen.append(cursor.fetchone())
        finally:
            poller.close()

    if connection.vendor == "postgresql":
        monkeypatch.setattr(imports, "_report_progress", report_and_look)

    done = customer_import_run(import_id=created.pk, language="en")

    assert (done.state, done.processed_rows, done.created_count) == ("done", 5, 5)
    if connection.vendor == "postgresql":
        # Progress committed batch by batch; the customers only at the end, all together.
        assert seen == [("running", 2), (0,), ("running", 4), (0,), ("running", 5), (0,)]
    else:
        # SQLite has a single writer: there the progress appears with the result.
        assert imports._ProgressChannel(created.pk).side is None


# --- New customers in bulk --------------------------------------------------------------------


def lead_file(rows: int, bad_row: int | None = None) -> bytes:
    """Lead k (0, 1, ...) sits on spreadsheet row k + 2 with its own phone; `bad_row` gets "12"."""
    lines = ["Last name,Phone"]
    for k in range(rows):
        lines.append(f"Lead{k},{'12' if k + 2 == bad_row else f'+7916{k:07d}'}")
    return ("\n".join(lines) + "\n").encode()


def test_imported_customers_phones_and_emails_have_history_naming_the_importer(
    company, supervisor, vip, customer
):
    content = (
        b"External id,First name,Last name,Phone,E-mail,Tags,City\n"
        b"H-1,Anna,Ivanova,+7 916 111-22-33,anna@example.com,vip,Tver\n"
        b",Ivan,Petrov,8 (916) 123-45-67,,,Kazan\n"
    )

    done = run_import(company, supervisor, "history.csv", content)

    assert (done.created_count, done.updated_count) == (1, 1)
    anna = Customer.objects.get(company=company, external_id="H-1")
    (record,) = anna.history.all()
    assert (
        record.history_type,
        record.history_user,
        record.history_change_reason,
        record.first_name,
        record.last_name,
        record.city,
        record.created_at,
    ) == (
        "+",
        supervisor,
        "Import of history.csv",
        "Anna",
        "Ivanova",
        "Tver",
        anna.created_at,
    )
    assert list(record.tags.values_list("tag__name", flat=True)) == ["VIP"]
    assert list(
        CustomerPhone.history.filter(customer_id=anna.pk).values_list(
            "history_type", "history_user", "history_change_reason", "e164", "is_primary"
        )
    ) == [("+", supervisor.pk, "Import of history.csv", "+79161112233", True)]
    assert list(
        CustomerEmail.history.filter(customer_id=anna.pk).values_list(
            "history_type", "history_user", "history_change_reason", "email"
        )
    ) == [("+", supervisor.pk, "Import of history.csv", "anna@example.com")]
    # The existing customer the second row updates: the change names the importer too.
    latest = customer.history.latest()
    assert (
        latest.history_type,
        latest.history_user,
        latest.history_change_reason,
        latest.city,
    ) == (
        "~",
        supervisor,
        "Import of history.csv",
        "Kazan",
    )


def test_a_2500_row_file_with_one_bad_row_reports_that_row_and_creates_the_others(
    company, supervisor, settings, monkeypatch
):
    settings.IMPORT_SYNC_MAX_ROWS = 5000
    reported = []
    real_report = imports._report_progress
    monkeypatch.setattr(
        imports,
        "_report_progress",
        lambda progress, processed: (reported.append(processed), real_report(progress, processed)),
    )

    done = run_import(company, supervisor, "leads.csv", lead_file(2500, bad_row=1700))

    assert done.state == CustomerImport.State.DONE
    assert (done.total_rows, done.processed_rows) == (2500, 2500)
    assert (done.created_count, done.updated_count, done.unchanged_count) == (2499, 0, 0)
    assert done.errors == [
        {
            "row": 1700,
            "values": ["Lead1698", "12"],
            "problems": [{"column": "Phone", "field": "phone", "message": "12: too short"}],
        }
    ]
    assert reported == [1000, 2000, 2500]
    assert Customer.objects.for_tenant(company).count() == 2499
    assert CustomerPhone.objects.for_tenant(company).count() == 2499
    assert Customer.history.filter(company_id=company.pk).count() == 2499
    assert CustomerPhone.history.filter(company_id=company.pk).count() == 2499
    assert not Customer.objects.filter(last_name="Lead1698").exists()
    assert list(
        CustomerPhone.objects.filter(customer__last_name="Lead1699").values_list("e164", flat=True)
    ) == ["+79160001699"]


def test_a_repeated_external_id_in_one_file_updates_the_customer_its_first_row_creates(
    company, supervisor
):
    content = (
        b"External id,First name,Last name,Phone,City\n"
        b"D-1,Olga,Orlova,+79161110000,Tver\n"
        b"D-1,Olga,Orlova,+79161110001,Kazan\n"
    )

    done = run_import(company, supervisor, "twice.csv", content)

    assert (done.created_count, done.updated_count, done.error_count) == (1, 1, 0)
    (olga,) = Customer.objects.for_tenant(company)
    assert (olga.external_id, olga.display_name, olga.city) == ("D-1", "Olga Orlova", "Kazan")
    assert list(olga.phones.values_list("e164", "is_primary")) == [
        ("+79161110000", True),
        ("+79161110001", False),
    ]
    # Created once, with what both rows say.
    assert list(olga.history.values_list("history_type", "city")) == [("+", "Kazan")]


def test_repeated_phone_and_name_in_one_file_add_the_later_rows_values(company, supervisor, vip):
    content = (
        b"Last name,Phone,E-mail,Tags\n"
        b"Orlov,+79161110000,,\n"
        b"Orlov,+7 916 111-00-00,orlov@example.com,vip\n"
        b"Orlov,89161110000,,\n"
    )

    done = run_import(company, supervisor, "twice.csv", content)

    assert (done.created_count, done.updated_count, done.unchanged_count) == (1, 1, 1)
    (orlov,) = Customer.objects.for_tenant(company)
    assert list(orlov.phones.values_list("raw", "e164")) == [("+79161110000", "+79161110000")]
    assert list(orlov.emails.values_list("email", flat=True)) == ["orlov@example.com"]
    assert list(orlov.tags.values_list("name", flat=True)) == ["VIP"]


def test_in_one_file_another_name_or_another_external_id_is_another_customer(company, supervisor):
    content = (
        b"External id,Last name,Phone\n"
        b",Orlov,+79161110000\n"
        b",Orlova,+79161110000\n"
        b"B-1,Popov,+79161110001\n"
        b"B-2,Popov,+79161110001\n"
    )

    done = run_import(company, supervisor, "family.csv", content)

    assert (done.created_count, done.updated_count, done.unchanged_count) == (4, 0, 0)
    assert sorted(
        Customer.objects.for_tenant(company).values_list("display_name", "external_id")
    ) == [("Orlov", ""), ("Orlova", ""), ("Popov", "B-1"), ("Popov", "B-2")]


def test_a_repeated_row_in_a_later_batch_updates_the_customer_written_before(
    company, supervisor, monkeypatch
):
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    content = (
        b"External id,Last name,Phone,City\n"
        b"D-1,Orlov,+79161110000,Tver\n"
        b"D-2,Popov,+79161110001,Omsk\n"
        b"D-1,Orlov,+79161110000,Kazan\n"
    )

    done = run_import(company, supervisor, "batches.csv", content)

    assert (done.created_count, done.updated_count) == (2, 1)
    orlov = Customer.objects.get(company=company, external_id="D-1")
    assert orlov.city == "Kazan"
    assert list(orlov.history.order_by("history_id").values_list("history_type", "city")) == [
        ("+", "Tver"),
        ("~", "Kazan"),
    ]


def test_a_bad_repeated_row_is_reported_and_the_first_row_still_creates_the_customer(
    company, supervisor
):
    CustomFieldDefinition.objects.create(
        company=company, key="credit_limit", label="Credit limit", field_type="number"
    )
    content = (
        b"External id,Last name,Phone,Credit limit\n"
        b"D-1,Orlov,+79161110000,100\n"
        b"D-1,Orlov,+79161110000,lots\n"
    )

    done = run_import(company, supervisor, "twice.csv", content)

    assert (done.created_count, done.updated_count) == (1, 0)
    assert [(e["row"], e["problems"]) for e in done.errors] == [
        (
            3,
            [
                {
                    "column": "",
                    "field": "custom_fields",
                    "message": "Credit limit: lots is not a valid number",
                }
            ],
        )
    ]
    assert Customer.objects.get(company=company).custom_fields == {"credit_limit": "100"}


def test_a_new_customer_the_service_refuses_is_reported_on_each_of_its_rows(
    company, supervisor, agent, monkeypatch
):
    # The owner was a member when the import read the company and is not when it writes.
    real_load = imports.ImportContext.load

    def load_then_remove_the_agent(*args, **kwargs):
        ctx = real_load(*args, **kwargs)
        Membership.objects.filter(user=agent).delete()
        return ctx

    monkeypatch.setattr(imports.ImportContext, "load", load_then_remove_the_agent)
    content = (
        b"Last name,Phone,Owner\n"
        b"Orlov,+79161110000,agent\n"
        b"Popov,+79161110001,\n"
        b"Orlov,+79161110000,agent\n"
    )

    done = run_import(company, supervisor, "owner.csv", content)

    refused = [
        {"column": "", "field": "", "message": "The owner is not a member of this client company."}
    ]
    assert (done.created_count, done.updated_count, done.unchanged_count) == (1, 0, 0)
    assert [(e["row"], e["problems"]) for e in done.errors] == [(2, refused), (4, refused)]
    assert list(Customer.objects.for_tenant(company).values_list("display_name", flat=True)) == [
        "Popov"
    ]


def test_the_queries_of_an_import_do_not_grow_with_its_new_rows(company, supervisor, agent, vip):
    CustomFieldDefinition.objects.create(
        company=company, key="credit_limit", label="Credit limit", field_type="number"
    )

    def queries(first: int, rows: int) -> int:
        content = "External id,Last name,Phone,E-mail,Tags,Owner,Credit limit\n" + "".join(
            f"Q-{k},Lead{k},+7916{k:07d},lead{k}@example.com,vip,agent,{k}\n"
            for k in range(first, first + rows)
        )
        created = customer_import_create(
            company=company, upload=upload("leads.csv", content.encode()), user=supervisor
        )
        with CaptureQueriesContext(connection) as captured:
            done = customer_import_start(
                customer_import=created, mapping={}, merge_guess=True, language="en"
            )
        assert (done.created_count, done.error_count) == (rows, 0)
        return len(captured)

    assert queries(0, 3) == queries(100, 30)


def test_an_imported_customer_never_takes_the_id_of_a_deleted_one(company, supervisor):
    gone = customer_create(company=company, last_name="Gone", phones=["+79160000000"])
    gone_id, gone_phone_id = gone.pk, gone.phones.get().pk
    gone.delete()

    run_import(company, supervisor, "new.csv", b"Last name,Phone\nNewman,+79161110000\n")

    newman = Customer.objects.get(company=company)
    assert newman.pk > gone_id
    assert newman.phones.get().pk > gone_phone_id
    # The database's own numbering goes on above the imported rows.
    later = customer_create(company=company, last_name="Later", phones=["+79162220000"])
    assert later.pk > newman.pk
    assert later.phones.get().pk > newman.phones.get().pk


def test_bulk_create_checks_every_draft_and_names_the_bad_ones_by_position(company):
    with pytest.raises(CustomerBulkError) as caught:
        customers_bulk_create(
            company=company,
            drafts=[
                CustomerDraft(fields={"last_name": "Orlov"}, phones=["+79161110000"]),
                CustomerDraft(fields={"last_name": "Popov"}, emails=["popov@@example"]),
                CustomerDraft(fields={"city": "Tver"}, phones=["12"]),
            ],
        )

    assert {position: error.messages for position, error in caught.value.by_position.items()} == {
        1: ["popov@@example is not a valid e-mail address"],
        2: ["A name is required"],
    }
    assert Customer.objects.count() == 0
    assert CustomerPhone.objects.count() == 0


def test_bulk_create_normalises_what_customer_create_would(company, supervisor):
    (pk,) = customers_bulk_create(
        company=company,
        drafts=[
            CustomerDraft(
                fields={"first_name": "Anna", "last_name": "Ivanova", "marketing_consent": True},
                phones=[
                    "8 (916) 111-22-33",
                    "+7 916 111 22 33",
                    PhoneInput(raw="+7 495 123-45-67", kind="work"),
                ],
                emails=["Anna@Example.com"],
                tags=["New tag"],
            )
        ],
        history_user=supervisor,
        history_reason="merge",
    )

    anna = Customer.objects.get(pk=pk)
    assert (anna.display_name, anna.marketing_consent) == ("Anna Ivanova", True)
    assert anna.consent_changed_at == anna.created_at
    assert list(anna.phones.values_list("raw", "e164", "kind", "is_primary")) == [
        ("8 (916) 111-22-33", "+79161112233", "mobile", True),
        ("+7 495 123-45-67", "+74951234567", "work", False),
    ]
    assert list(anna.emails.values_list("email", "is_primary")) == [("anna@example.com", True)]
    assert list(anna.tags.values_list("name", flat=True)) == ["New tag"]
    assert list(Tag.objects.for_tenant(company).values_list("name", flat=True)) == ["New tag"]
    assert list(
        anna.history.values_list("history_type", "history_user", "history_change_reason")
    ) == [("+", supervisor.pk, "merge")]


def _phone_companies_known_to_the_planner() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT most_common_vals::text FROM pg_stats "
            "WHERE tablename = 'crm_customerphone' AND attname = 'company_id'"
        )
        row = cursor.fetchone()
    return [int(v) for v in row[0].strip("{}").split(",")] if row and row[0] else []


def test_a_large_import_refreshes_the_statistics_of_the_customer_tables(
    company, supervisor, monkeypatch
):
    monkeypatch.setattr(imports, "ANALYZE_AFTER", 5)
    analyzed = []
    real_analyze = imports.rawsql.analyze
    monkeypatch.setattr(
        imports.rawsql, "analyze", lambda *models: (analyzed.append(models), real_analyze(*models))
    )
    content = "Last name,Phone\n" + "".join(f"Client{n},+7916555000{n}\n" for n in range(5))

    done = run_import(company, supervisor, "five.csv", content.encode())

    assert (done.state, done.created_count) == (CustomerImport.State.DONE, 5)
    assert analyzed == [(Customer, CustomerPhone, CustomerEmail)]
    if connection.vendor == "postgresql":
        # What the phone lookup's plan depends on: the planner knows the company's phones.
        assert company.pk in _phone_companies_known_to_the_planner()


def test_a_small_import_leaves_the_statistics_to_autovacuum(company, supervisor, monkeypatch):
    monkeypatch.setattr(imports, "ANALYZE_AFTER", 5)
    analyzed = []
    monkeypatch.setattr(imports.rawsql, "analyze", lambda *models: analyzed.append(models))
    content = "Last name,Phone\n" + "".join(f"Client{n},+7916555000{n}\n" for n in range(4))

    done = run_import(company, supervisor, "four.csv", content.encode())

    assert (done.state, done.created_count) == (CustomerImport.State.DONE, 4)
    assert analyzed == []


def test_statistics_that_cannot_be_refreshed_leave_the_import_done(
    company, supervisor, monkeypatch, caplog
):
    monkeypatch.setattr(imports, "ANALYZE_AFTER", 5)

    def fail(*models):
        raise DatabaseError("analyze refused")

    monkeypatch.setattr(imports.rawsql, "analyze", fail)
    content = "Last name,Phone\n" + "".join(f"Client{n},+7916555000{n}\n" for n in range(5))

    done = run_import(company, supervisor, "five.csv", content.encode())

    done.refresh_from_db()
    assert (done.state, done.created_count, done.message) == (CustomerImport.State.DONE, 5, "")
    assert Customer.objects.for_tenant(company).count() == 5
    assert "statistics not refreshed after an import of 5 customers" in caplog.text
