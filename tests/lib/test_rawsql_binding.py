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


def _row(model, pk):
    return model.objects.filter(pk=pk).values().get()


def test_rows_written_are_the_ones_the_orm_writes(company):
    from datetime import UTC, datetime, timedelta, timezone

    from telephony.models import Call, InboundRequest, PbxConnection

    pbx = PbxConnection.objects.create(name="PBX", company=company, format="native", secret="s")
    moscow = timezone(timedelta(hours=3))
    values = {
        "company": company,
        "connection_id": pbx.pk,
        "direction": "outbound",  # a plain string
        "caller": "8 916 123-45-67",
        "outcome": Call.Outcome.ANSWERED,  # an enum member, a string to the database
        "offered_at": datetime(2026, 11, 23, 12, 0, tzinfo=moscow),  # another zone than UTC
        "answered_at": datetime(2026, 11, 23, 9, 0, 30, tzinfo=UTC),
        "talk_seconds": 42,
        "hold_seconds": True,  # an int to Python, converted by the ORM
        "transfer_count": 0,
    }
    by_orm = Call.objects.create(pbx_call_id="orm", **values)
    by_rawsql = Call(pbx_call_id="raw", **values)
    assert rawsql.insert(by_rawsql) is True
    expected = _row(Call, by_orm.pk) | {"id": by_rawsql.pk, "pbx_call_id": "raw"}
    assert _row(Call, by_rawsql.pk) == expected
    assert expected["hold_seconds"] == 1

    by_rawsql.ended_at = by_orm.ended_at = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
    by_rawsql.outcome = by_orm.outcome = Call.Outcome.ABANDONED
    by_orm.save(update_fields=["ended_at", "outcome"])
    rawsql.update_many([by_rawsql], ["ended_at", "outcome"])
    assert _row(Call, by_rawsql.pk) == _row(Call, by_orm.pk) | {
        "id": by_rawsql.pk,
        "pbx_call_id": "raw",
    }

    # Types that always take the ORM's conversion: an address, JSON, bytes, a set-by-itself time.
    stored = {"connection": pbx, "remote_addr": "10.0.0.7", "headers": {"A": "b"}, "body": b"{}"}
    orm_request = InboundRequest.objects.create(**stored)
    raw_request = InboundRequest(**stored)
    rawsql.insert(raw_request)
    orm_row, raw_row = _row(InboundRequest, orm_request.pk), _row(InboundRequest, raw_request.pk)
    assert raw_row.pop("received_at") >= orm_row.pop("received_at")
    assert raw_row | {"id": 0, "body": bytes(raw_row["body"])} == orm_row | {
        "id": 0,
        "body": bytes(orm_row["body"]),
    }


@pytest.mark.parametrize(
    "stored",
    [
        {"remote_addr": "10.0.0.7", "headers": {"Ключ": "значение", "n": [1, 2.5, None, True]}},
        {"remote_addr": "2001:db8::7", "headers": ["a", {"b": {}}], "body": bytearray(b"\x00\xff")},
        {"remote_addr": None, "headers": "just a string", "body": memoryview(b"raw")},
        {"remote_addr": "::ffff:10.0.0.7", "headers": {}, "body": b""},
    ],
    ids=["ipv4-object", "ipv6-array", "no-address-string", "mapped-ipv4-empty"],
)
def test_addresses_json_and_bytes_are_written_as_the_orm_writes_them(company, stored):
    from telephony.models import InboundRequest, PbxConnection

    pbx = PbxConnection.objects.create(name="PBX", company=company, format="native", secret="s")
    stored = {"connection": pbx, "body": b'{"a": 1}'} | stored
    orm_row = _row(InboundRequest, InboundRequest.objects.create(**stored).pk)
    raw_request = InboundRequest(**stored)
    rawsql.insert(raw_request)
    raw_row = _row(InboundRequest, raw_request.pk)
    for row in (orm_row, raw_row):
        row.update(id=0, received_at=None, body=bytes(row["body"]))
    assert raw_row == orm_row


def test_json_and_an_ipv4_address_go_to_postgresql_as_text(company):
    """Not through psycopg's Jsonb and the `ipaddress` objects, whose dumpers run in Python:
    the webhook stores every request with these."""
    from telephony.models import InboundRequest, PbxConnection

    pbx = PbxConnection.objects.create(name="PBX", company=company, format="native", secret="s")
    sent = []

    def spy(execute, sql, params, many, context):
        sent.append(params)
        return execute(sql, params, many, context)

    request = InboundRequest(
        connection=pbx, remote_addr="10.0.0.7", headers={"A": "b"}, body=b"{}", error=""
    )
    with connection.execute_wrapper(spy):
        rawsql.insert(request)
    (params,) = sent
    if connection.vendor == "postgresql":
        assert [type(p) for p in params[2:6]] == [str, str, str, bytes]
        assert params[2:6] == ["10.0.0.7", "", '{"A": "b"}', b"{}"]
    else:
        assert params[2] == "10.0.0.7"
