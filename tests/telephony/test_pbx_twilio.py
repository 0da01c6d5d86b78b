"""Twilio voice status callbacks: every fixture parsed to exact events and its signature checked.

Each fixture's `X-Twilio-Signature` was computed apart, with
`printf '%s' "$URL$(sorted name+value pairs)" | openssl dgst -sha1 -hmac "$TOKEN" -binary | base64`,
the same recipe that reproduces the example Twilio's documentation publishes (tested below).
"""

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

import pytest
from django.http import QueryDict

from telephony.pbx import twilio
from telephony.pbx.events import (
    CallEvent,
    CallEventKind,
    Direction,
    HangupCause,
    PayloadError,
    SignatureError,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "pbx" / "twilio"
TOKEN = "8f14e45fceea167a5a36dedd4bea2543"
URL = "https://cc.example.com/telephony/webhooks/tw-3c9a/"
RECEIVED_AT = datetime(2026, 11, 23, 10, 18, 41, tzinfo=ZoneInfo("Europe/Rome"))

PARENT = "CA5f0e6d3a1b2c4d5e6f708192a3b4c5d6"
CHILD = "CA9b8a7c6d5e4f30211203a4b5c6d7e8f9"
SIP_CHILD = "CA44445555666677778888999900001111"
OUT = "CAe1d2c3b4a5968778695a4b3c2d1e0f1a"
OUT2 = "CA3c4d5e6f708192a3b4c5d6e7f8091a2b"
TRUNK = "CA0123456789abcdef0123456789abcdef"
RE1 = "RE0a1b2c3d4e5f60718293a4b5c6d7e8f9"
RE2 = "REf9e8d7c6b5a49382716051a2b3c4d5e6"
RECORDINGS = (
    "https://api.twilio.com/2010-04-01/Accounts/AC11112222333344445555666677778888/Recordings/"
)
IT_CALLER, IT_DID, IT_MOBILE = "+393331234567", "+390212345678", "+393471234567"


def at(hour: int, minute: int, second: int) -> datetime:
    return datetime(2026, 11, 23, hour, minute, second, tzinfo=UTC)


def anna_leg(kind: CallEventKind, step: str, occurred_at: datetime) -> CallEvent:
    return CallEvent(
        kind=kind,
        call_id=PARENT,
        event_id=f"{CHILD}:{step}",
        occurred_at=occurred_at,
        caller=IT_CALLER,
        callee="client:anna",
        agent="anna",
    )


OUTBOUND = {"direction": Direction.OUTBOUND, "caller": IT_DID, "callee": IT_MOBILE, "did": IT_DID}

EXPECTED = {
    "inbound_completed.json": [
        CallEvent(
            kind=CallEventKind.HANGUP,
            call_id=PARENT,
            event_id=f"{PARENT}:completed",
            occurred_at=at(9, 18, 30),
            direction=Direction.INBOUND,
            caller=IT_CALLER,
            callee=IT_DID,
            did=IT_DID,
            cause=HangupCause.NORMAL,
        )
    ],
    "dial_leg_ringing.json": [anna_leg(CallEventKind.RINGING, "0", at(9, 15, 2))],
    "dial_leg_in_progress.json": [anna_leg(CallEventKind.ANSWERED, "1", at(9, 15, 9))],
    "dial_leg_completed.json": [],
    "dial_leg_ringing_sip.json": [
        CallEvent(
            kind=CallEventKind.RINGING,
            call_id=PARENT,
            event_id=f"{SIP_CHILD}:0",
            occurred_at=at(9, 14, 50),
            caller=IT_CALLER,
            callee="sip:205@acme.sip.twilio.com;transport=tls",
            agent="205",
        )
    ],
    "outbound_api_initiated.json": [],
    "outbound_api_ringing.json": [
        CallEvent(
            kind=CallEventKind.RINGING,
            call_id=OUT,
            event_id=f"{OUT}:1",
            occurred_at=at(9, 20, 1),
            **OUTBOUND,
        )
    ],
    "outbound_api_completed_recorded.json": [
        CallEvent(
            kind=CallEventKind.HANGUP,
            call_id=OUT,
            event_id=f"{OUT}:3",
            occurred_at=at(9, 21, 45),
            cause=HangupCause.NORMAL,
            talk_seconds=95,
            **OUTBOUND,
        ),
        CallEvent(
            kind=CallEventKind.RECORDING,
            call_id=OUT,
            event_id=f"{OUT}:recording:{RE1}",
            occurred_at=at(9, 21, 45),
            recording_url=RECORDINGS + RE1,
            **OUTBOUND,
        ),
    ],
    "outbound_api_no_answer.json": [
        CallEvent(
            kind=CallEventKind.HANGUP,
            call_id=OUT2,
            event_id=f"{OUT2}:2",
            occurred_at=at(9, 31, 0),
            direction=Direction.OUTBOUND,
            caller=IT_DID,
            callee="+393479876543",
            did=IT_DID,
            cause=HangupCause.NO_ANSWER,
            talk_seconds=0,
        )
    ],
    "recording_completed.json": [
        CallEvent(
            kind=CallEventKind.RECORDING,
            call_id=PARENT,
            event_id=f"{PARENT}:recording:{RE2}",
            occurred_at=at(9, 18, 41),  # no Timestamp: when it was received
            recording_url=RECORDINGS + RE2,
        )
    ],
    "recording_absent.json": [],
    "trunking_originating_busy.json": [
        CallEvent(
            kind=CallEventKind.HANGUP,
            call_id=TRUNK,
            event_id=f"{TRUNK}:busy",
            occurred_at=at(10, 0, 0),
            direction=Direction.OUTBOUND,
            caller=IT_DID,
            callee="+393491112223",
            did=IT_DID,
            cause=HangupCause.BUSY,
        )
    ],
}


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def parse(body: bytes, content_type: str = "application/x-www-form-urlencoded") -> list:
    return twilio.parse(body, content_type, RECEIVED_AT)


def test_every_fixture_has_an_expectation():
    assert sorted(path.name for path in FIXTURES.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_exact_events(name):
    fixture = load(name)
    assert parse(fixture["body"].encode(), fixture["content_type"]) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_signature_is_accepted(name):
    fixture = load(name)
    params = parse_qs(fixture["body"], keep_blank_values=True)
    signature = fixture["headers"]["X-Twilio-Signature"]
    assert twilio.verify(TOKEN, fixture["url"], params, signature) is None


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_signature_is_accepted_from_a_django_query_dict(name):
    fixture = load(name)
    signature = fixture["headers"]["X-Twilio-Signature"]
    assert twilio.verify(TOKEN, fixture["url"], QueryDict(fixture["body"]), signature) is None


# --- statuses -----------------------------------------------------------------------------------


def _callback(**params: str) -> bytes:
    return urlencode({"CallSid": "CA1", "Direction": "outbound-api", **params}).encode()


@pytest.mark.parametrize(
    ("status", "kind", "cause"),
    [
        ("ringing", CallEventKind.RINGING, None),
        ("in-progress", CallEventKind.ANSWERED, None),
        ("completed", CallEventKind.HANGUP, HangupCause.NORMAL),
        ("busy", CallEventKind.HANGUP, HangupCause.BUSY),
        ("failed", CallEventKind.HANGUP, HangupCause.FAILED),
        ("no-answer", CallEventKind.HANGUP, HangupCause.NO_ANSWER),
        ("canceled", CallEventKind.HANGUP, HangupCause.CALLER_ABANDONED),
    ],
)
def test_status_is_mapped(status, kind, cause):
    [event] = parse(_callback(CallStatus=status))
    assert (event.kind, event.cause, event.event_id) == (kind, cause, f"CA1:{status}")


@pytest.mark.parametrize("status", ["queued", "initiated"])
def test_statuses_before_dialling_give_no_event(status):
    assert parse(_callback(CallStatus=status)) == []


@pytest.mark.parametrize("status", ["completed", "busy", "failed", "no-answer", "canceled"])
def test_a_dial_legs_end_does_not_end_the_parent_call(status):
    body = _callback(CallStatus=status, ParentCallSid="CA0", Direction="outbound-dial")
    assert parse(body) == []


@pytest.mark.parametrize(
    ("raw", "direction"),
    [
        ("inbound", Direction.INBOUND),
        ("trunking-terminating", Direction.INBOUND),
        ("outbound-api", Direction.OUTBOUND),
        ("outbound-dial", Direction.OUTBOUND),
        ("trunking-originating", Direction.OUTBOUND),
    ],
)
def test_direction_is_mapped(raw, direction):
    [event] = parse(_callback(CallStatus="ringing", Direction=raw))
    assert event.direction == direction


def test_call_duration_is_not_talk_time_on_inbound_calls():
    body = _callback(CallStatus="completed", Direction="inbound", CallDuration="187")
    [event] = parse(body)
    assert event.talk_seconds is None


@pytest.mark.parametrize(
    ("party", "agent"),
    [
        ("client:anna", "anna"),
        ("sip:205@acme.sip.twilio.com", "205"),
        ("sips:205@acme.sip.twilio.com;transport=tls", "205"),
        ("sip:acme.sip.twilio.com", ""),
        ("+393331234567", ""),
    ],
)
def test_agent_is_the_client_identity_or_sip_user(party, agent):
    [event] = parse(_callback(CallStatus="ringing", To=party, From="+390212345678"))
    assert event.agent == agent


def test_agent_is_looked_for_in_from_when_to_is_a_number():
    [event] = parse(_callback(CallStatus="ringing", To="+390212345678", From="client:marco"))
    assert event.agent == "marco"


def test_minus_zero_zone_is_read_as_utc():
    [event] = parse(_callback(CallStatus="busy", Timestamp="Mon, 23 Nov 2026 10:00:00 -0000"))
    assert event.occurred_at == at(10, 0, 0)


def test_zone_offset_is_converted_to_utc():
    [event] = parse(_callback(CallStatus="busy", Timestamp="Mon, 23 Nov 2026 11:00:00 +0100"))
    assert event.occurred_at == at(10, 0, 0)


def test_recording_in_progress_gives_no_event():
    body = _callback(
        RecordingSid="RE1", RecordingUrl="https://x/RE1", RecordingStatus="in-progress"
    )
    assert parse(body) == []


# --- malformed payloads -------------------------------------------------------------------------

FORM = "application/x-www-form-urlencoded"
STATUSES = "queued, initiated, ringing, in-progress, completed, busy, failed, no-answer, canceled"
DIRECTIONS = "inbound, trunking-terminating, outbound-api, outbound-dial, trunking-originating"


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (
            b'{"CallSid": "CA1"}',
            "application/json",
            "content type: 'application/json' is not application/x-www-form-urlencoded",
        ),
        (b"CallSid=CA1", "", "content type: missing (expected application/x-www-form-urlencoded)"),
        (b"CallSid=CA1&From=\xff", FORM, "body: not UTF-8"),
        (b"CallStatus=ringing", FORM, "CallSid: missing"),
        (b"CallSid=&CallStatus=ringing", FORM, "CallSid: missing"),
        (
            b"CallSid=" + b"C" * 65 + b"&CallStatus=ringing",
            FORM,
            "CallSid: longer than 64 characters",
        ),
        (
            b"CallSid=CA1&ParentCallSid=" + b"C" * 65,
            FORM,
            "ParentCallSid: longer than 64 characters",
        ),
        (b"CallSid=CA1", FORM, "CallStatus: missing"),
        (
            b"CallSid=CA1&CallStatus=answered",
            FORM,
            f"CallStatus: 'answered' is not one of {STATUSES}",
        ),
        (
            b"CallSid=CA1&CallStatus=ringing&Direction=sideways",
            FORM,
            f"Direction: 'sideways' is not one of {DIRECTIONS}",
        ),
        (
            b"CallSid=CA1&CallStatus=ringing&SequenceNumber=x",
            FORM,
            "SequenceNumber: 'x' is not a whole number",
        ),
        (
            b"CallSid=CA1&CallStatus=ringing&SequenceNumber=-1",
            FORM,
            "SequenceNumber: '-1' is not a whole number",
        ),
        (
            b"CallSid=CA1&CallStatus=completed&CallDuration=1.5",
            FORM,
            "CallDuration: '1.5' is not a whole number",
        ),
        (
            b"CallSid=CA1&CallStatus=completed&CallDuration=1234567890",
            FORM,
            "CallDuration: 1234567890 is too large",
        ),
        (
            b"CallSid=CA1&CallStatus=ringing&Timestamp=yesterday",
            FORM,
            "Timestamp: 'yesterday' is not an RFC 2822 time",
        ),
        (
            b"CallSid=CA1&CallStatus=ringing&Timestamp=2026-11-23T09%3A15%3A00Z",
            FORM,
            "Timestamp: '2026-11-23T09:15:00Z' is not an RFC 2822 time",
        ),
        (
            b"CallSid=CA1&CallStatus=ringing&Timestamp=Mon%2C+32+Nov+2026+09%3A15%3A00+%2B0000",
            FORM,
            "Timestamp: 'Mon, 32 Nov 2026 09:15:00 +0000' is not an RFC 2822 time",
        ),
        (
            b"CallSid=CA1&RecordingSid=RE1&RecordingUrl=https%3A%2F%2Fx%2F" + b"r" * 492,
            FORM,
            "RecordingUrl: longer than 500 characters",
        ),
    ],
)
def test_malformed_payload_is_refused_naming_the_problem(body, content_type, message):
    with pytest.raises(PayloadError) as caught:
        parse(body, content_type)
    assert str(caught.value) == message


def test_received_time_must_be_aware():
    with pytest.raises(ValueError) as caught:
        twilio.parse(b"CallSid=CA1&CallStatus=ringing", FORM, datetime(2026, 11, 23, 9, 15))
    assert str(caught.value) == "received_at must be an aware datetime"


# --- signatures ---------------------------------------------------------------------------------

DOCS_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOCS_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
DOCS_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
# The same request signed over "https://mycompany.com:443/myapp.php?foo=1&bar=2" (openssl).
DOCS_SIGNATURE_WITH_PORT = "EpDEmp1PyjDYp77YxYU3GILBWzE="


def _rejection(token=TOKEN, url=URL, params=None, signature="") -> str:
    with pytest.raises(SignatureError) as caught:
        twilio.verify(token, url, params or {}, signature)
    return str(caught.value)


def test_twilios_documented_example_is_accepted():
    assert twilio.verify("12345", DOCS_URL, DOCS_PARAMS, DOCS_SIGNATURE) is None


def test_url_with_the_default_port_matches_a_signature_made_without_it():
    url = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    assert twilio.verify("12345", url, DOCS_PARAMS, DOCS_SIGNATURE) is None


def test_url_without_the_port_matches_a_signature_made_with_it():
    assert twilio.verify("12345", DOCS_URL, DOCS_PARAMS, DOCS_SIGNATURE_WITH_PORT) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://mycompany.com:8443/myapp.php?foo=1&bar=2",
        "http://mycompany.com/myapp.php?foo=1&bar=2",
        "https://evil.example.com/myapp.php?foo=1&bar=2",
        "https://mycompany.com/myapp.php?foo=1&bar=3",
        "https://mycompany.com/myapp.php",
        "https://mycompany.com:bad/myapp.php?foo=1&bar=2",
        "https://[mycompany.com/myapp.php?foo=1&bar=2",
    ],
)
def test_another_url_is_rejected(url):
    assert _rejection("12345", url, DOCS_PARAMS, DOCS_SIGNATURE) == "signature mismatch"


def test_wrong_auth_token_is_rejected():
    assert _rejection("54321", DOCS_URL, DOCS_PARAMS, DOCS_SIGNATURE) == "signature mismatch"


def test_tampered_parameter_is_rejected():
    params = {**DOCS_PARAMS, "Digits": "1235"}
    assert _rejection("12345", DOCS_URL, params, DOCS_SIGNATURE) == "signature mismatch"


def test_added_parameter_is_rejected():
    params = {**DOCS_PARAMS, "CallStatus": "completed"}
    assert _rejection("12345", DOCS_URL, params, DOCS_SIGNATURE) == "signature mismatch"


def test_tampered_fixture_body_is_rejected():
    fixture = load("outbound_api_no_answer.json")
    params = parse_qs(fixture["body"].replace("no-answer", "completed"))
    signature = fixture["headers"]["X-Twilio-Signature"]
    assert _rejection(TOKEN, fixture["url"], params, signature) == "signature mismatch"


def test_missing_signature_is_rejected():
    assert _rejection("12345", DOCS_URL, DOCS_PARAMS, "") == "missing header X-Twilio-Signature"


def test_non_ascii_signature_is_rejected_as_a_mismatch():
    assert _rejection("12345", DOCS_URL, DOCS_PARAMS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=ü") == (
        "signature mismatch"
    )


def test_connection_without_auth_token_accepts_nothing():
    assert _rejection("", DOCS_URL, DOCS_PARAMS, DOCS_SIGNATURE) == (
        "the connection has no auth token, so no signature can be checked"
    )


# "https://cc.example.com/xCallSidCA1Digits1Digits2", keyed with TOKEN (openssl)
REPEATED_SIGNATURE = "2k32QtdHvRoMuxiNsAlxmUtHKcs="


def test_repeated_parameter_values_are_signed_in_sorted_order():
    params = {"CallSid": "CA1", "Digits": ["2", "1"]}
    url = "https://cc.example.com/x"
    assert twilio.verify(TOKEN, url, params, REPEATED_SIGNATURE) is None


def test_repeated_parameter_in_a_query_dict_counts_every_value():
    params = QueryDict("CallSid=CA1&Digits=2&Digits=1")
    url = "https://cc.example.com/x"
    assert twilio.verify(TOKEN, url, params, REPEATED_SIGNATURE) is None
