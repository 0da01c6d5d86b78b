"""The supervisors' live websocket: a snapshot on connect, then every call and state change of
their companies, and nothing of anyone else's."""

import json
from datetime import UTC, datetime

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from contactcenter.routing import websocket_urlpatterns
from contactcenter.tenancy.models import Role
from telephony.models import Agent, Extension, PbxConnection
from telephony.pbx.events import CallEvent, CallEventKind
from telephony.services import call_event_apply
from tests.conftest import make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def setup(company, other_company, agent):
    connection = PbxConnection.objects.create(name="Bank PBX", company=company, format="native")
    anna = Agent.objects.create(company=company, user=agent)
    Extension.objects.create(company=company, agent=anna, number="101")
    shop_boss = make_user("shop_boss", other_company, Role.SUPERVISOR)
    return {"connection": connection, "anna": anna, "shop_boss": shop_boss}


async def connect(user, path="/ws/live/"):
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    return communicator, connected, code


def ringing():
    return CallEvent(
        kind=CallEventKind.RINGING,
        call_id="c1",
        event_id="e1",
        occurred_at=T0,
        caller="+79161234567",
        agent="101",
    )


async def test_a_supervisor_sees_the_snapshot_then_the_ring_and_the_agents_state(setup, supervisor):
    live, connected, _ = await connect(supervisor)
    assert connected
    snapshot = await live.receive_json_from(timeout=2)
    assert snapshot == {
        "type": "snapshot",
        "agents": [
            {
                "id": setup["anna"].pk,
                "name": "Anna",
                "company": "Bank",
                "extensions": ["101"],
                "state": None,
            }
        ],
        "calls": [],
    }
    await sync_to_async(call_event_apply)(connection=setup["connection"], event=ringing())
    call = await live.receive_json_from(timeout=2)
    state = await live.receive_json_from(timeout=2)
    assert json.loads(json.dumps(call)) == call
    assert (state["type"], state["state"]["agent_id"], state["state"]["state"]) == (
        "state",
        setup["anna"].pk,
        "ringing",
    )
    assert (call["type"], call["call"]["caller"], call["call"]["agent_id"]) == (
        "call",
        "+79161234567",
        setup["anna"].pk,
    )
    await live.disconnect()


async def test_a_supervisor_of_another_company_hears_nothing(setup):
    live, connected, _ = await connect(setup["shop_boss"])
    assert connected
    snapshot = await live.receive_json_from(timeout=2)
    assert (snapshot["agents"], snapshot["calls"]) == ([], [])
    await sync_to_async(call_event_apply)(connection=setup["connection"], event=ringing())
    assert await live.receive_nothing(timeout=0.3)
    await live.disconnect()


async def test_agents_and_anonymous_users_are_refused(setup, agent):
    from django.contrib.auth.models import AnonymousUser

    _, connected, code = await connect(agent)
    assert (connected, code) == (False, 4403)
    _, connected, code = await connect(AnonymousUser())
    assert (connected, code) == (False, 4401)
