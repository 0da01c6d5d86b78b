"""rawsql.new makes the new instance that the model's __init__ makes of keyword arguments."""

from datetime import UTC, datetime

import pytest
from django.db.models.signals import pre_init

from contactcenter.lib import rawsql
from contactcenter.tenancy.models import Company
from telephony.models import Call, InboundRequest, PbxConnection

pytestmark = pytest.mark.django_db

OFFERED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _values(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


@pytest.fixture
def pbx(company):
    return PbxConnection.objects.create(name="PBX", company=company, format="native", secret="s")


def test_a_new_instance_has_the_fields_and_defaults_init_gives_it(company, pbx):
    made = rawsql.new(
        Call, company=company, connection_id=pbx.pk, pbx_call_id="c1", offered_at=OFFERED
    )
    assert _values(made) == _values(
        Call(company=company, connection_id=pbx.pk, pbx_call_id="c1", offered_at=OFFERED)
    )
    assert (made.company_id, made.connection_id, made.direction) == (company.pk, pbx.pk, "inbound")
    assert (made.pk, made.caller, made.agent_id) == (None, "", None)
    assert (made._state.adding, made._state.db) == (True, None)


def test_a_related_object_given_by_name_is_kept_not_read_again(
    company, pbx, django_assert_num_queries
):
    made = rawsql.new(InboundRequest, connection=pbx, body=b"{}", headers={"A": "b"})
    with django_assert_num_queries(0):
        assert made.connection is pbx
    nobody = rawsql.new(InboundRequest, connection=None, body=b"{}")
    assert nobody.connection_id is None
    with django_assert_num_queries(0):
        assert nobody.connection is None


def test_defaults_are_made_for_each_instance(pbx):
    first = rawsql.new(InboundRequest, connection=pbx, body=b"{}")
    second = rawsql.new(InboundRequest, connection=pbx, body=b"{}")
    assert first.headers == {} and first.status == "received"
    first.headers["X"] = "1"
    assert second.headers == {}


def test_a_new_instance_is_inserted_as_the_orm_would_insert_it(company, pbx):
    made = rawsql.new(
        Call, company=company, connection=pbx, pbx_call_id="c1", offered_at=OFFERED, talk_seconds=7
    )
    assert rawsql.insert(made) is True
    assert (made._state.adding, made._state.db) == (False, "default")
    assert _values(Call.objects.get(pk=made.pk)) == _values(made)


def test_an_unknown_argument_is_refused_by_name(pbx):
    with pytest.raises(
        TypeError,
        match=r"InboundRequest\(\) got unexpected keyword arguments: "
        r"\['colour'\]",
    ):
        rawsql.new(InboundRequest, connection=pbx, body=b"{}", colour="red")


def test_a_model_with_init_signals_is_still_made_through_its_init():
    initialised = []

    def receiver(sender, args, kwargs, **rest):
        initialised.append(kwargs["slug"])

    pre_init.connect(receiver, sender=Company)
    try:
        made = rawsql.new(Company, name="Bank", slug="bank")
    finally:
        pre_init.disconnect(receiver, sender=Company)
    assert initialised == ["bank"]
    assert (made.name, made.slug, made.pk) == ("Bank", "bank", None)
