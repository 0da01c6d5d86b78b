"""The hot tables keep the indexes their queries need, and no single-column foreign-key index
that a composite index already leads with (migration telephony 0008)."""

import pytest
from django.db import connection


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
