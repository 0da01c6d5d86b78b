import json
from datetime import UTC, datetime, timedelta

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

# Live views leave out calls older than a few hours: this one rang a minute ago.
T0 = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0)


def ringing_at(extension: str, call_id: str = "c1") -> CallEvent:
    return CallEvent(
        kind=CallEventKind.RINGING,
        call_id=call_id,
        event_id=f"{call_id}-ring-{extension}",
        occurred_at=T0,
        caller="8 (916) 123-45-67",
        agent=extension,
    )


@pytest.fixture
def setup(company, other_company, customer, agent):
    connection = PbxConnection.objects.create(name="Bank PBX", company=company, format="native")
    anna = Agent.objects.create(company=company, user=agent)
    Extension.objects.create(company=company, agent=anna, number="101")
    colleague = make_user("colleague", company, Role.AGENT)
    boris = Agent.objects.create(company=company, user=colleague)
    Extension.objects.create(company=company, agent=boris, number="102")
    stranger = make_user("stranger", other_company, Role.AGENT)
    shop_agent = Agent.objects.create(company=other_company, user=stranger)
    Extension.objects.create(company=other_company, agent=shop_agent, number="101")
    return {"connection": connection, "anna": agent, "boris": colleague, "stranger": stranger}


async def connect(user):
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/agent/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def test_the_ringing_agent_alone_gets_the_callers_card(setup, customer):
    anna = await connect(setup["anna"])
    boris = await connect(setup["boris"])
    stranger = await connect(setup["stranger"])
    await sync_to_async(call_event_apply)(connection=setup["connection"], event=ringing_at("101"))
    # The card first: it is what the agent waits for; then the agent's new state.
    message = await anna.receive_json_from(timeout=2)
    state = await anna.receive_json_from(timeout=2)
    assert (state["type"], state["state"]["state"], state["state"]["since"]) == (
        "state",
        "ringing",
        T0.isoformat(),
    )
    # Round-trip through JSON, as Redis would: nothing but JSON types may travel.
    assert json.loads(json.dumps(message)) == message
    call = message["call"]
    assert message["type"] == "call"
    assert (call["caller"], call["caller_e164"], call["outcome"]) == (
        "8 (916) 123-45-67",
        "+79161234567",
        "in_progress",
    )
    assert call["customers"] == [
        {"id": customer.pk, "name": "Ivan Petrov", "url": f"/customers/{customer.pk}/"}
    ]
    assert await boris.receive_nothing(timeout=0.2)
    assert await stranger.receive_nothing(timeout=0.2)
    for communicator in (anna, boris, stranger):
        await communicator.disconnect()


async def test_a_refreshed_page_gets_the_active_call_back(setup):
    await sync_to_async(call_event_apply)(connection=setup["connection"], event=ringing_at("101"))
    anna = await connect(setup["anna"])
    state = await anna.receive_json_from(timeout=2)
    assert (state["type"], state["state"]["state"]) == ("state", "ringing")
    message = await anna.receive_json_from(timeout=2)
    assert message["call"]["pbx_call_id"] == "c1"
    await anna.disconnect()


async def test_anonymous_connections_are_refused(db):
    from django.contrib.auth.models import AnonymousUser

    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/agent/")
    communicator.scope["user"] = AnonymousUser()
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4401)


async def test_a_quiet_connection_outlives_the_layers_blocking_read(setup):
    """On Redis (CI), the layer's 5 s blocking pop must not time out the socket under it and tear
    the agent's websocket down; the in-memory layer passes trivially."""
    import asyncio

    anna = await connect(setup["anna"])
    await asyncio.sleep(6.5)
    await sync_to_async(call_event_apply)(connection=setup["connection"], event=ringing_at("101"))
    assert (await anna.receive_json_from(timeout=2))["call"]["pbx_call_id"] == "c1"
    assert (await anna.receive_json_from(timeout=2))["type"] == "state"
    await anna.disconnect()
