import pytest

from contactcenter.tenancy.models import Membership, Role
from telephony.models import Call, PbxConnection, Queue

CHANGELISTS = [
    "pbxconnection",
    "didroute",
    "queue",
    "agent",
    "disposition",
    "pausereason",
    "blockednumber",
    "call",
    "inboundrequest",
]


@pytest.fixture
def company_admin(admin_user):
    return admin_user


@pytest.mark.parametrize("model", CHANGELISTS)
def test_telephony_changelists_render_for_a_company_administrator(client, company_admin, model):
    client.force_login(company_admin)
    assert client.get(f"/admin/telephony/{model}/").status_code == 200


def test_other_companies_telephony_rows_are_hidden(client, company, other_company, outsider):
    Membership.objects.filter(user=outsider).update(role=Role.ADMIN)
    outsider.is_staff = True
    outsider.save()
    connection = PbxConnection.objects.create(name="Bank PBX", company=company, format="native")
    queue = Queue.objects.create(company=company, name="Cards", code="cards")
    call = Call.objects.create(company=company, connection=connection, pbx_call_id="c1")
    client.force_login(outsider)
    for model, pk in (("pbxconnection", connection.pk), ("queue", queue.pk), ("call", call.pk)):
        assert client.get(f"/admin/telephony/{model}/{pk}/change/").status_code == 404
        assert "Bank PBX" not in client.get(f"/admin/telephony/{model}/").content.decode()
