"""rawsql.pipelined: writes sent together (psycopg's pipeline mode on PostgreSQL), whose errors
still reach the caller as Django's exceptions, so that the PBX applier tells a broken database
(retry) from a bad row (mark it)."""

import pytest
from django.db import IntegrityError, transaction

from contactcenter.lib import rawsql
from contactcenter.tenancy.models import Company

pytestmark = pytest.mark.django_db


def test_the_writes_of_the_block_are_all_made_and_a_read_sees_them():
    with transaction.atomic(), rawsql.pipelined():
        rawsql.insert_many([Company(name="Bank", slug="bank"), Company(name="Shop", slug="shop")])
        rawsql.execute("UPDATE tenancy_company SET name = %s WHERE slug = %s", ["Big bank", "bank"])
        seen = rawsql.execute("SELECT name FROM tenancy_company ORDER BY slug")
    assert seen == [("Big bank",), ("Shop",)]
    assert list(Company.objects.order_by("slug").values_list("name", flat=True)) == [
        "Big bank",
        "Shop",
    ]


def test_a_broken_constraint_is_djangos_integrity_error_and_nothing_is_written():
    Company.objects.create(name="Bank", slug="bank")
    with pytest.raises(IntegrityError), transaction.atomic(), rawsql.pipelined():
        rawsql.execute("UPDATE tenancy_company SET name = %s", ["Renamed"])
        rawsql.insert_many([Company(name="Bank again", slug="bank")])
    assert list(Company.objects.values_list("name", flat=True)) == ["Bank"]


def test_reads_sent_together_are_read_in_any_order():
    Company.objects.create(name="Bank", slug="bank")
    Company.objects.create(name="Shop", slug="shop")
    with transaction.atomic(), rawsql.pipelined():
        names = rawsql.execute_later("SELECT name FROM tenancy_company ORDER BY slug")
        bank = rawsql.select_later(Company, "slug = %s", ["bank"])
        shop = rawsql.select_values_later(Company, ["name"], "slug = %s", ["shop"])
        locked = rawsql.lock_later(Company, "slug IN (%s, %s)", ["shop", "bank"])
        assert [row[0] for row in shop()] == ["Shop"]
        assert [c.name for c in bank()] == ["Bank"]
        assert names() == [("Bank",), ("Shop",)]
        assert locked() == sorted(Company.objects.values_list("pk", flat=True))
