"""rawsql binds its parameters on the server on PostgreSQL: a statement run often is prepared on
its connection (parsed and planned once), while the ORM's statements are left as Django sends
them; Django's execute wrappers still see rawsql's statements."""

import pytest
from django.db import connection

from contactcenter.lib import rawsql
from contactcenter.tenancy.models import Company

pytestmark = pytest.mark.django_db


def _prepared() -> list[str]:
    return [sql for (sql,) in rawsql.execute("SELECT statement FROM pg_prepared_statements")]


def test_a_statement_run_often_is_prepared_and_the_orms_are_not():
    company = Company.objects.create(name="Bank", slug="bank")
    for _ in range(6):
        assert Company.objects.filter(slug="bank").count() == 1
        assert [c.pk for c in rawsql.select(Company, "slug = %s", ["bank"])] == [company.pk]
    if connection.vendor != "postgresql":
        return  # SQLite prepares nothing across statements
    prepared = _prepared()
    assert len([sql for sql in prepared if "WHERE slug = $1" in sql]) == 1
    assert not [sql for sql in prepared if "COUNT(*)" in sql]


def test_a_value_that_needs_quoting_reaches_the_row_unchanged():
    company = Company.objects.create(name="Bank", slug="bank")
    tricky = "O'Brien; DROP TABLE x -- \\ %s $1"
    for _ in range(6):  # before and after the statement is prepared
        rawsql.execute("UPDATE tenancy_company SET name = %s WHERE id = %s", [tricky, company.pk])
        company.refresh_from_db()
        assert company.name == tricky


def test_execute_wrappers_see_rawsqls_statements():
    seen = []

    def spy(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        rawsql.select(Company, "slug = %s", ["bank"])
    assert len(seen) == 1
    assert seen[0].endswith('FROM "tenancy_company" WHERE slug = %s')
