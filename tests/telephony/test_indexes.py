"""The hot tables keep the indexes their queries need, and no single-column foreign-key index
that a composite index already leads with (migration telephony 0008)."""

import pytest
from django.db import connection

from tests.conftest import generic_plan


def _indexes(table: str) -> dict[str, tuple[list[str], bool]]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    return {
        name: (info["columns"], info["unique"])
        for name, info in found.items()
        if info["index"] or info["unique"]
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("table", "columns", "kept"),
    [
        ("telephony_call", ["company_id"], "call_company_offered"),
        ("telephony_call", ["agent_id"], "call_agent_offered"),
        ("telephony_call", ["connection_id"], "call_unique_pbx_id"),
        ("telephony_calleventrecord", ["call_id"], "call_event_call_time"),
        ("telephony_calleventrecord", ["connection_id"], "call_event_unique"),
        ("telephony_inboundrequest", ["connection_id"], "inbound_conn_time"),
        ("telephony_agentstateinterval", ["agent_id"], "agent_state_agent_time"),
        ("telephony_agentstateinterval", ["company_id"], "agent_state_company_time"),
    ],
)
def test_a_foreign_key_led_by_a_composite_index_has_no_index_of_its_own(table, columns, kept):
    indexes = _indexes(table)
    assert [name for name, (cols, _unique) in indexes.items() if cols == columns] in (
        [],
        ["agent_one_open_state"],  # the partial unique one: one open state per agent
    )
    assert indexes[kept][0][: len(columns)] == columns


@pytest.mark.django_db
def test_the_indexes_the_queries_need_are_there():
    assert _indexes("telephony_agentstateinterval")["agent_one_open_state"] == (["agent_id"], True)
    assert _indexes("telephony_call")["call_unique_pbx_id"] == (
        ["connection_id", "pbx_call_id"],
        True,
    )
    assert _indexes("telephony_calleventrecord")["call_event_unique"] == (
        ["connection_id", "event_id"],
        True,
    )
    # Foreign keys nothing else leads with keep theirs (deleting a ticket or a queue looks
    # up its calls; a call's agent states are found by call).
    call_columns = [cols for cols, _unique in _indexes("telephony_call").values()]
    assert ["ticket_id"] in call_columns and ["queue_id"] in call_columns
    state_columns = [cols for cols, _unique in _indexes("telephony_agentstateinterval").values()]
    assert ["call_id"] in state_columns


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("table", "column", "index"),
    [
        ("telephony_call", "ticket_id", "call_ticket"),
        ("telephony_call", "disposition_id", "call_disposition"),
        ("telephony_agentstateinterval", "pause_reason_id", "agent_state_pause_reason"),
    ],
)
def test_a_key_most_rows_leave_empty_is_indexed_where_set_and_found_through_that_index(
    table, column, index
):
    """The rows without one add no entry; a lookup by the key (a ticket's calls, deleting a
    disposition or a pause reason) still reads the index, also as a prepared generic plan."""
    lookup = f'SELECT id FROM "{table}" WHERE "{column}" = '
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [index])
            [(definition,)] = cursor.fetchall()
            assert definition.endswith(f"USING btree ({column}) WHERE ({column} IS NOT NULL)")
            cursor.execute("SET LOCAL enable_seqscan = off")  # as on a table of millions
            plan = generic_plan(f"{lookup}$1", "(bigint)", "(1)")
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [index])
            [(definition,)] = cursor.fetchall()
            assert definition.endswith(f'("{column}") WHERE "{column}" IS NOT NULL')
            cursor.execute(f"EXPLAIN QUERY PLAN {lookup}1")
            plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
    assert index in plan, plan
