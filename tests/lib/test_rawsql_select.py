"""rawsql.select makes of a row the instance the ORM makes of it."""

from datetime import UTC, datetime

import pytest
from django.db.models.signals import post_init

from contactcenter.lib import rawsql
from contactcenter.tenancy.models import Company
from telephony.models import Call, PbxConnection

pytestmark = pytest.mark.django_db


def _values(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_a_selected_instance_is_the_one_the_orm_loads_and_saves_as_an_update(company):
    pbx = PbxConnection.objects.create(name="PBX", company=company, format="native", secret="s")
    stored = Call.objects.create(
        company=company,
        connection=pbx,
        pbx_call_id="c1",
        caller="+79161234567",
        offered_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
        talk_seconds=42,
    )
    (selected,) = rawsql.select(Call, "id = %s", [stored.pk])
    assert _values(selected) == _values(Call.objects.get(pk=stored.pk))
    assert (selected._state.adding, selected._state.db) == (False, "default")
    assert selected.company == company  # related objects load through their ids

    selected.talk_seconds = 50
    selected.save(update_fields=["talk_seconds"])
    assert Call.objects.values_list("talk_seconds", flat=True).get(pk=stored.pk) == 50
    assert Call.objects.count() == 1


def test_a_model_with_init_signals_is_still_loaded_through_its_init(company):
    initialised = []

    def receiver(sender, instance, **kwargs):
        initialised.append(instance.pk)

    post_init.connect(receiver, sender=Company)
    try:
        (selected,) = rawsql.select(Company, "id = %s", [company.pk])
    finally:
        post_init.disconnect(receiver, sender=Company)
    assert initialised == [company.pk]
    assert _values(selected) == _values(company)


def test_fields_reads_only_those_and_the_key_and_defers_the_rest(company):
    from django.db import connection

    from telephony.models import InboundRequest

    pbx = PbxConnection.objects.create(name="PBX", company=company, format="native", secret="s")
    stored = InboundRequest.objects.create(
        connection=pbx, remote_addr="10.0.0.7", headers={"A": "b"}, body=b"{}", error="late"
    )
    sent = []

    def spy(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        (selected,) = rawsql.select(
            InboundRequest, "id = %s", [stored.pk], fields=["body", "error"]
        )
    assert sent == [
        'SELECT "telephony_inboundrequest"."id", "telephony_inboundrequest"."body", '
        '"telephony_inboundrequest"."error" FROM "telephony_inboundrequest" WHERE id = %s'
    ]
    assert (selected.pk, bytes(selected.body), selected.error) == (stored.pk, b"{}", "late")
    assert selected.get_deferred_fields() == {
        "connection_id", "received_at", "remote_addr", "content_type", "headers", "status"
    }  # fmt: skip
    assert selected.headers == {"A": "b"}  # read when asked for, as with only()
