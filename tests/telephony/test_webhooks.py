import json
import time
from unittest import mock

import pytest
from django import db
from django.db import OperationalError

from telephony.models import BlockedNumber, Call, CallEventRecord, InboundRequest, PbxConnection
from telephony.pbx import native


@pytest.fixture
def connection(company):
    return PbxConnection.objects.create(
        name="Bank PBX", company=company, format="native", secret="s3cret"
    )


def ringing(event_id="e1", call_id="c1", **extra):
    return {
        "event_id": event_id,
        "call_id": call_id,
        "type": "queued",
        "timestamp": "2026-11-23T09:00:00Z",
        "caller": "8 (916) 123-45-67",
        "queue": "cards",
        **extra,
    }


def post_native(client, connection, payload, secret=None, stamp=None):
    body = json.dumps(payload).encode()
    headers = native.sign(secret or connection.secret, body, stamp or int(time.time()))
    return client.post(
        f"/telephony/webhooks/{connection.key}/",
        data=body,
        content_type="application/json",
        headers=headers,
    )


def test_a_signed_event_is_stored_and_applied(client, connection, customer):
    response = post_native(client, connection, ringing())
    assert (response.status_code, response.json()) == (200, {"applied": 1, "duplicates": 0})
    call = Call.objects.get()
    assert (call.company_id, call.pbx_call_id, call.caller_e164) == (
        connection.company_id,
        "c1",
        "+79161234567",
    )
    assert list(call.customers.all()) == [customer]
    inbound = InboundRequest.objects.get()
    assert (inbound.status, inbound.error) == ("applied", "")
    assert bytes(inbound.body) == json.dumps(ringing()).encode()


def test_the_stored_request_keeps_the_headers_that_tell_where_it_came_from(client, connection):
    body = json.dumps(ringing()).encode()
    signed = native.sign(connection.secret, body, 1_795_000_000)
    with mock.patch("telephony.webhooks.time.time", return_value=1_795_000_010):
        response = client.post(
            f"/telephony/webhooks/{connection.key}/",
            data=body,
            content_type="application/json",
            headers={**signed, "User-Agent": "Asterisk bridge/2.1", "Authorization": "Basic x"},
            REMOTE_ADDR="10.1.2.3",
        )
    assert response.status_code == 200
    inbound = InboundRequest.objects.get()
    assert inbound.headers == {
        "Content-Type": "application/json",
        "User-Agent": "Asterisk bridge/2.1",
        "X-Cc-Timestamp": "1795000000",
        "X-Cc-Signature": signed["X-CC-Signature"],
    }
    assert (inbound.content_type, inbound.remote_addr) == ("application/json", "10.1.2.3")


def test_a_duplicate_answers_200_and_changes_nothing(client, connection):
    post_native(client, connection, ringing())
    before = list(Call.objects.values())
    response = post_native(client, connection, ringing())
    assert (response.status_code, response.json()) == (200, {"applied": 0, "duplicates": 1})
    assert list(Call.objects.values()) == before
    assert CallEventRecord.objects.count() == 1
    assert list(InboundRequest.objects.order_by("id").values_list("status", flat=True)) == [
        "applied",
        "duplicate",
    ]


def test_a_bad_signature_is_refused_kept_and_not_applied(client, connection):
    response = post_native(client, connection, ringing(), secret="wrong")
    assert response.status_code == 401
    assert response.json() == {"error": "signature mismatch"}
    assert Call.objects.count() == 0
    assert InboundRequest.objects.get().status == "unauthorized"


def test_an_expired_signature_is_refused(client, connection):
    response = post_native(client, connection, ringing(), stamp=int(time.time()) - 400)
    assert response.status_code == 401
    assert Call.objects.count() == 0


def test_a_malformed_payload_is_kept_and_marked_rejected(client, connection):
    payload = ringing(type="rang")
    response = post_native(client, connection, payload)
    assert response.status_code == 400
    assert response.json()["error"].startswith("type: 'rang' is not one of")
    inbound = InboundRequest.objects.get()
    assert inbound.status == "rejected"
    assert inbound.error == response.json()["error"]
    assert Call.objects.count() == 0


def test_an_unknown_key_is_404_and_nothing_is_stored(client, connection):
    response = client.post(
        "/telephony/webhooks/not-a-key/", data=b"{}", content_type="application/json"
    )
    assert response.status_code == 404
    assert InboundRequest.objects.count() == 0


def _failing(table: str):
    """A database that refuses every statement touching `table` ("" for every statement)."""

    def refuse(execute, sql, params, many, context):
        if table in sql:
            raise OperationalError("connection refused")
        return execute(sql, params, many, context)

    return db.connection.execute_wrapper(refuse)


def test_with_the_database_down_the_pbx_is_told_to_retry(client, connection):
    with _failing(""):
        response = post_native(client, connection, ringing())
    assert response.status_code == 503
    assert response["Retry-After"] == "5"


def test_a_database_failure_while_applying_writes_nothing_and_the_retry_applies(client, connection):
    with _failing("telephony_calleventrecord"):
        response = post_native(client, connection, ringing())
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    # The stored request, the call and the event went back together: the PBX sends it again.
    assert (InboundRequest.objects.count(), Call.objects.count()) == (0, 0)
    retried = post_native(client, connection, ringing())
    assert (retried.status_code, retried.json()) == (200, {"applied": 1, "duplicates": 0})
    assert list(InboundRequest.objects.values_list("status", flat=True)) == ["applied"]
    assert Call.objects.get().events.count() == 1


def test_a_server_error_while_applying_still_keeps_the_request(client, connection):
    client.raise_request_exception = False
    with mock.patch("telephony.inbound.call_event_apply", side_effect=KeyError("a bug")):
        response = post_native(client, connection, ringing())
    assert response.status_code == 500
    inbound = InboundRequest.objects.get()
    assert (inbound.status, inbound.error) == ("failed", "not applied: server error")
    assert bytes(inbound.body) == json.dumps(ringing()).encode()
    assert Call.objects.count() == 0


def test_a_key_only_ever_writes_into_its_own_company(client, connection, other_company):
    post_native(client, connection, ringing(did="+390212345678"))
    assert list(Call.objects.values_list("company_id", flat=True)) == [connection.company_id]


def test_zammad_new_call_from_a_blocked_number_is_rejected(client, company):
    cti = PbxConnection.objects.create(name="CTI", company=company, format="zammad")
    BlockedNumber.objects.create(company=company, e164="+79161234567", reason="abuse")
    response = client.post(
        f"/telephony/webhooks/{cti.key}/",
        data={
            "event": "newCall",
            "from": "89161234567",
            "to": "4950000000",
            "direction": "in",
            "callId": "z1",
            "user[]": ["101"],
        },
    )
    assert (response.status_code, response.json()) == (
        200,
        {"action": "reject", "reason": "busy"},
    )
    other = client.post(
        f"/telephony/webhooks/{cti.key}/",
        data={
            "event": "newCall",
            "from": "89031112233",
            "to": "4950000000",
            "direction": "in",
            "callId": "z2",
            "user[]": ["101"],
        },
    )
    assert (other.status_code, other.json()) == (200, {})
    assert Call.objects.count() == 2


def twilio_post(client, connection, params, signature):
    from urllib.parse import urlencode

    return client.post(
        f"/telephony/webhooks/{connection.key}/",
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )


def test_twilio_callbacks_are_checked_against_their_signature(client, company):
    from telephony.pbx.twilio import _signature

    connection = PbxConnection.objects.create(
        name="Twilio", company=company, format="twilio", secret="auth-token"
    )
    params = {
        "CallSid": "CA0001",
        "CallStatus": "ringing",
        "From": "+79161234567",
        "To": "+74950000000",
        "Direction": "inbound",
        "SequenceNumber": "0",
        "Timestamp": "Mon, 23 Nov 2026 09:00:00 +0000",
    }
    url = f"http://testserver/telephony/webhooks/{connection.key}/"
    forged = twilio_post(client, connection, params, "bm90LXRoZS1zaWduYXR1cmU=")
    assert forged.status_code == 401
    assert Call.objects.count() == 0
    good = twilio_post(client, connection, params, _signature("auth-token", url, params))
    assert (good.status_code, good.json()) == (200, {"applied": 1, "duplicates": 0})
    assert Call.objects.get().caller_e164 == "+79161234567"
