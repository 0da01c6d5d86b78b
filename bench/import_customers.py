"""Customer import of new customers: the import service against a plain bulk_create.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cc_bench_import \
        .venv/bin/python bench/import_customers.py
    .venv/bin/python bench/import_customers.py --rows 2000    # SQLite, in a temporary file

Generates a CSV of --rows new customers (20,000 by default: external id, names, one phone typed in
varied national and international formats, an e-mail on every other row, a city, a tag on every
third row, a custom field), then in the same run:

- **import**: the file through the import service (`customer_import_create`, then
  `customer_import_start`, run inline): reading, mapping, checking every row, matching against
  existing customers, writing customers, phones, e-mails, tag links and their audit history, all
  in one transaction;
- **baseline**: a plain `bulk_create` of the same customers and phones in one transaction (no
  reading, no checks, no e-mails, tags or history): the least the ORM can do;
- **re-import**: the same file again (every row matches and is unchanged: nothing is written).

It prints rows/s of each and the ratio import / baseline. Each run writes into fresh client
companies and deletes them at the end; on PostgreSQL the database is `cc_bench_import` on the
server DATABASE_URL names (created and migrated when missing); with no DATABASE_URL, SQLite in a
temporary directory.
"""

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from _common import ROOT, _create_database_if_missing, fail

FIRST_NAMES = ("Ivan", "Anna", "Pavel", "Olga", "Sergey", "Maria", "Dmitry", "Elena", "Oleg")
LAST_NAMES = ("Petrov", "Ivanova", "Sidorov", "Smirnova", "Kuznetsov", "Popova", "Orlov")
CITIES = ("Moscow", "Tver", "Kazan", "Samara", "Omsk")
HEADER = ["External id", "First name", "Last name", "Phone", "E-mail", "City", "Tags", "Source"]
TAG = "lead"
SOURCE_KEY = "source"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows in the file (20,000)")
    parser.add_argument("--database", default="cc_bench_import", help="PostgreSQL database")
    parser.add_argument("--seed", type=int, default=1, help="picks names and cities")
    parser.add_argument("--keep", action="store_true", help="keep the companies (PostgreSQL)")
    return parser.parse_args(argv)


def setup_django(database: str, workdir: Path) -> None:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        parts = urlsplit(url)
        if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
            fail(f"DATABASE_URL={url!r} is not PostgreSQL; unset it to run on SQLite.")
        if database.startswith("test_"):
            fail(f"{database} is a test database (pytest drops it): use cc_bench_import.")
        # Always a database of its own on that server, never the one the URL names.
        url = urlunsplit(parts._replace(path=f"/{database}"))
        _create_database_if_missing(url)
    else:
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["DATABASE_URL"] = url
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def lead_rows(n: int, seed: int) -> list[dict]:
    """Lead list rows; every phone distinct, so that every row is a new customer."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        digits = f"{i:07d}"
        local = f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"
        typed = (f"+7 916 {local}", f"8 (916) {local}", f"8916{digits}")[i % 3]
        rows.append(
            {
                "external_id": f"L-{i:07d}",
                "first_name": rng.choice(FIRST_NAMES),
                "last_name": rng.choice(LAST_NAMES),
                "phone": typed,
                "e164": f"+7916{digits}",
                "email": f"lead{i}@example.com" if i % 2 == 0 else "",
                "city": rng.choice(CITIES),
                "tags": TAG if i % 3 == 0 else "",
                "source": f"campaign {i % 10}",
            }
        )
    return rows


def write_csv(rows: list[dict], path: Path) -> None:
    import csv

    keys = ["external_id", "first_name", "last_name", "phone", "email", "city", "tags", "source"]
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow([row[k] for k in keys])


def make_company(label: str):
    from django.contrib.auth import get_user_model

    from contactcenter.tenancy.models import Company, Membership, Role
    from crm.models import CustomFieldDefinition, Tag

    stamp = f"{os.getpid()}-{time.time_ns()}"
    company = Company.objects.create(
        name=f"Bench import {label} {stamp}",
        slug=f"bench-import-{label}-{stamp}",
        time_zone="Europe/Moscow",
        default_country="RU",
    )
    user = get_user_model().objects.create_user(username=f"bench-import-{label}-{stamp}")
    Membership.objects.create(user=user, company=company, role=Role.SUPERVISOR)
    Tag.objects.create(company=company, name=TAG)
    CustomFieldDefinition.objects.create(company=company, key=SOURCE_KEY, label="Source")
    return company, user


def baseline(company, rows: list[dict]) -> None:
    """The same customers and phones, written as plainly as Django can."""
    from django.db import transaction

    from crm.models import Customer, CustomerPhone

    with transaction.atomic():
        customers = [
            Customer(
                company=company,
                external_id=row["external_id"],
                first_name=row["first_name"],
                last_name=row["last_name"],
                display_name=f"{row['first_name']} {row['last_name']}",
                city=row["city"],
                custom_fields={SOURCE_KEY: row["source"]},
            )
            for row in rows
        ]
        Customer.objects.bulk_create(customers, batch_size=1000)
        CustomerPhone.objects.bulk_create(
            [
                CustomerPhone(
                    company=company,
                    customer=customer,
                    raw=row["phone"],
                    e164=row["e164"],
                    is_primary=True,
                )
                for customer, row in zip(customers, rows, strict=True)
            ],
            batch_size=1000,
        )


def import_file(company, user, path: Path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from crm.imports import customer_import_create, customer_import_start

    upload = SimpleUploadedFile(path.name, path.read_bytes())
    created = customer_import_create(company=company, upload=upload, user=user)
    return customer_import_start(
        customer_import=created, mapping={}, merge_guess=True, language="en"
    )


def counts(company) -> dict[str, int]:
    from crm.models import Customer, CustomerEmail, CustomerPhone

    return {
        "customers": Customer.objects.filter(company=company).count(),
        "phones": CustomerPhone.objects.filter(company=company).count(),
        "e-mails": CustomerEmail.objects.filter(company=company).count(),
        "tag links": Customer.tags.through.objects.filter(customer__company=company).count(),
        "customer history": Customer.history.filter(company_id=company.pk).count(),
        "phone history": CustomerPhone.history.filter(company_id=company.pk).count(),
        "e-mail history": CustomerEmail.history.filter(company_id=company.pk).count(),
    }


def delete_company(company) -> None:
    """Raw deletes: the ORM would write a "deleted" history row for every phone and e-mail."""
    from django.apps import apps
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from contactcenter.tenancy.models import Membership

    def table(label: str) -> str:
        return connection.ops.quote_name(apps.get_model(label)._meta.db_table)

    user_ids = list(Membership.objects.filter(company=company).values_list("user_id", flat=True))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table('crm.Customer_tags')} WHERE customer_id IN "
            f"(SELECT id FROM {table('crm.Customer')} WHERE company_id = %s)",
            [company.pk],
        )
        cursor.execute(
            f"DELETE FROM {table('crm.HistoricalCustomer_tags')} WHERE history_id IN "
            f"(SELECT history_id FROM {table('crm.HistoricalCustomer')} WHERE company_id = %s)",
            [company.pk],
        )
        for label in (
            "crm.HistoricalCustomer",
            "crm.HistoricalCustomerPhone",
            "crm.HistoricalCustomerEmail",
            "crm.CustomerPhone",
            "crm.CustomerEmail",
            "crm.Customer",
            "crm.CustomerImport",
            "crm.Tag",
            "crm.CustomFieldDefinition",
        ):
            cursor.execute(f"DELETE FROM {table(label)} WHERE company_id = %s", [company.pk])
        Membership.objects.filter(company=company).delete()
        company.delete()
        get_user_model().objects.filter(pk__in=user_ids).delete()


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:>10,.0f} rows/s  ({seconds:7.2f} s)"


def main(argv=None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-import-") as workdir:
        workdir = Path(workdir)
        setup_django(args.database, workdir)
        from django.conf import settings
        from django.db import connection

        # The whole file in this process: a large one would otherwise go to a Celery worker.
        settings.IMPORT_SYNC_MAX_ROWS = args.rows
        settings.MEDIA_ROOT = str(workdir / "media")

        vendor = connection.vendor
        name = connection.settings_dict["NAME"]
        print(f"database: {vendor} {name}")
        print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        rows = lead_rows(args.rows, args.seed)
        path = workdir / "leads.csv"
        write_csv(rows, path)
        print(f"file: {args.rows:,} rows, {path.stat().st_size / 1e6:.1f} MB")

        base_company, _user = make_company("baseline")
        base_seconds = -time.perf_counter()
        baseline(base_company, rows)
        base_seconds += time.perf_counter()

        company, user = make_company("import")
        import_seconds = -time.perf_counter()
        done = import_file(company, user, path)
        import_seconds += time.perf_counter()
        if (done.state, done.created_count, done.error_count) != ("done", args.rows, 0):
            fail(
                f"the import did not create every row: state {done.state}, created "
                f"{done.created_count}, bad rows {done.error_count} {done.errors[:3]} "
                f"{done.message}"
            )
        written = counts(company)

        again_seconds = -time.perf_counter()
        again = import_file(company, user, path)
        again_seconds += time.perf_counter()
        if (again.created_count, again.unchanged_count) != (0, args.rows):
            fail(f"the re-import changed something: {again.created_count} created")

        print(f"import (service)     {rate(args.rows, import_seconds)}")
        print(f"baseline bulk_create {rate(args.rows, base_seconds)}")
        print(f"re-import, unchanged {rate(args.rows, again_seconds)}")
        print(f"ratio import / baseline: {import_seconds / base_seconds:.2f}x the time")
        print("written by the import: " + ", ".join(f"{k} {v:,}" for k, v in written.items()))
        if not args.keep:
            delete_company(base_company)
            delete_company(company)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
