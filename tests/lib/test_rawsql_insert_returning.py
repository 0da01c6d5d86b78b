"""rawsql.insert_returning: a read that goes with an INSERT, in its RETURNING (PostgreSQL)."""

import pytest
from django.db import connection

from contactcenter.lib import rawsql
from contactcenter.tenancy.models import Company

pytestmark = pytest.mark.django_db


def test_the_values_of_the_expressions_come_back_with_the_new_rows_key():
    if connection.vendor != "postgresql":
        with pytest.raises(NotImplementedError, match="PostgreSQL only"):
            rawsql.insert_returning(rawsql.new(Company, name="Shop", slug="shop"), "1")
        assert Company.objects.count() == 0
        return
    bank = Company.objects.create(name="Bank", slug="bank")
    shop = rawsql.new(Company, name="Shop", slug="shop")
    values = rawsql.insert_returning(
        shop,
        "slug || %s, (SELECT json_agg(c.name ORDER BY c.name) FROM tenancy_company c"
        " WHERE c.id <> %s)",
        ["!", 0],
    )
    # The RETURNING sees the table as the statement began: not the row it inserts.
    assert values == ("shop!", ["Bank"])
    assert shop.pk is not None and not shop._state.adding
    assert sorted(Company.objects.values_list("pk", "slug")) == sorted(
        [(bank.pk, "bank"), (shop.pk, "shop")]
    )
