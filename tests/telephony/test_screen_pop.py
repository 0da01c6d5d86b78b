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


def _post_stored(connection, payload: dict, refuse_table: str = ""):
    """Post a signed native request as PBX_APPLY_IN_WORKER answers it (stored, then applied by
    the applier, which is not running here); with `refuse_table`, reads of it fail."""
    import time

    from django import db
    from django.db import OperationalError
    from django.test import Client

    from telephony.pbx import native

    def refuse(execute, sql, params, many, context):
        if refuse_table and refuse_table in sql:
            raise OperationalError("connection refused")
        return execute(sql, params, many, context)

    body = json.dumps(payload).encode()
    with db.connection.execute_wrapper(refuse):
        return Client().post(
            f"/telephony/webhooks/{connection.key}/",
            data=body,
            content_type="application/json",
            headers=native.sign(connection.secret, body, int(time.time())),
        )


def _event(type_: str, caller: str = "8 (916) 123-45-67", **extra) -> dict:
    return {
        "event_id": f"c9-{type_}",
        "call_id": "c9",
        "type": type_,
        "timestamp": T0.isoformat(),
        "caller": caller,
        **extra,
    }


@pytest.fixture
def stored(settings, setup):
    settings.PBX_APPLY_IN_WORKER = True
    setup["connection"].secret = "s3cret"
    setup["connection"].save()
    return setup


async def test_a_stored_ringing_request_tells_the_ringing_agent_alone_who_is_calling(
    stored, customer, company
):
    from telephony.models import Call, InboundRequest

    anna = await connect(stored["anna"])
    boris = await connect(stored["boris"])
    stranger = await connect(stored["stranger"])
    queued = await sync_to_async(_post_stored)(stored["connection"], _event("queued"))
    assert queued.status_code == 202
    assert await anna.receive_nothing(timeout=0.2)  # not ringing anyone yet
    response = await sync_to_async(_post_stored)(
        stored["connection"], _event("ringing", agent="101")
    )
    assert (response.status_code, response.json()) == (202, {"accepted": 1})
    message = await anna.receive_json_from(timeout=2)
    assert message == {
        "type": "ringing",
        "ringing": {
            "pbx_call_id": "c9",
            "company": company.slug,
            "caller": "8 (916) 123-45-67",
            "caller_e164": "+79161234567",
            "ringing_at": T0.isoformat(),
            "customers": [
                {"id": customer.pk, "name": "Ivan Petrov", "url": f"/customers/{customer.pk}/"}
            ],
        },
    }
    # Before the applier: nothing of it is in the call log yet.
    assert await Call.objects.filter(pbx_call_id="c9").acount() == 0
    assert await InboundRequest.objects.filter(status="received").acount() == 2
    # The agent of the other company with the same extension, and the colleague: nothing.
    assert await boris.receive_nothing(timeout=0.2)
    assert await stranger.receive_nothing(timeout=0.2)
    for communicator in (anna, boris, stranger):
        await communicator.disconnect()


async def test_customers_sharing_the_callers_number_are_announced_by_name(
    stored, customer, company, other_company
):
    from crm.services.customers import customer_create

    def more_customers():
        # Named before Ivan Petrov, and created after him; and another company's with the number.
        first = customer_create(
            company=company, first_name="Anna", last_name="Petrova", phones=["+7 916 123-45-67"]
        )
        customer_create(
            company=other_company,
            first_name="Alla",
            last_name="Stranger",
            phones=["+7 916 123-45-67"],
        )
        return first

    anna_petrova = await sync_to_async(more_customers)()
    anna = await connect(stored["anna"])
    response = await sync_to_async(_post_stored)(
        stored["connection"], _event("ringing", agent="101")
    )
    assert response.status_code == 202
    message = await anna.receive_json_from(timeout=2)
    assert message["ringing"]["customers"] == [
        {"id": anna_petrova.pk, "name": "Anna Petrova", "url": f"/customers/{anna_petrova.pk}/"},
        {"id": customer.pk, "name": "Ivan Petrov", "url": f"/customers/{customer.pk}/"},
    ]
    await anna.disconnect()


async def test_an_unknown_caller_is_announced_without_customers(stored, company):
    anna = await connect(stored["anna"])
    response = await sync_to_async(_post_stored)(
        stored["connection"], _event("ringing", caller="", agent="101")
    )
    assert response.status_code == 202
    message = await anna.receive_json_from(timeout=2)
    assert (message["ringing"]["caller_e164"], message["ringing"]["customers"]) == ("", [])
    await anna.disconnect()


async def test_a_database_failing_the_notices_read(stored):
    """On PostgreSQL the notice's read is part of the statement that stores the request: its
    failure is the store's, answered 503 so that the PBX sends it again, with nothing written.
    Elsewhere the read comes after the store, and its failure changes nothing for the request."""
    from django.db import connection

    from telephony.models import InboundRequest

    anna = await connect(stored["anna"])
    response = await sync_to_async(_post_stored)(
        stored["connection"], _event("ringing", agent="101"), refuse_table="telephony_extension"
    )
    if connection.vendor == "postgresql":
        assert (response.status_code, response["Retry-After"]) == (503, "5")
        assert await InboundRequest.objects.acount() == 0
    else:
        assert (response.status_code, response.json()) == (202, {"accepted": 1})
        assert await InboundRequest.objects.filter(status="received").acount() == 1
    assert await anna.receive_nothing(timeout=0.3)
    await anna.disconnect()


async def test_a_failed_push_changes_nothing_for_the_stored_request(stored, caplog):
    from unittest import mock

    from telephony.models import InboundRequest

    class DownLayer:
        async def group_send(self, group, message):
            raise ConnectionError("redis down")

    with mock.patch("telephony.realtime.get_channel_layer", return_value=DownLayer()):
        response = await sync_to_async(_post_stored)(
            stored["connection"], _event("ringing", agent="101")
        )
    assert (response.status_code, response.json()) == (202, {"accepted": 1})
    assert await InboundRequest.objects.filter(status="received").acount() == 1
    anna = await sync_to_async(Agent.objects.get)(user=stored["anna"])
    assert f"ringing notice for agents {anna.pk} skipped: channel layer unavailable" in caplog.text
