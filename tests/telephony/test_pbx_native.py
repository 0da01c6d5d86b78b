"""The native signed JSON format: every fixture parsed to exact events, every refusal worded,
and signatures checked against HMACs computed apart with `openssl dgst -sha256 -hmac`."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telephony.pbx import native
from telephony.pbx.events import (
    AgentEvent,
    AgentEventKind,
    CallEvent,
    CallEventKind,
    Direction,
    HangupCause,
    PayloadError,
    SignatureError,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "pbx" / "native"

CALL = "1795425288.42"
RU_CALLER = "8 (916) 123-45-67"
RU_DID = "+74951234567"

EXPECTED = {
    "queued.json": [
        CallEvent(
            kind=CallEventKind.QUEUED,
            call_id=CALL,
            event_id="pbx1-000101",
            occurred_at=datetime(2026, 11, 23, 9, 14, 48, tzinfo=UTC),
            direction=Direction.INBOUND,
            caller=RU_CALLER,
            callee=RU_DID,
            did=RU_DID,
            queue="support",
        )
    ],
    "ringing.json": [
        CallEvent(
            kind=CallEventKind.RINGING,
            call_id=CALL,
            event_id="pbx1-000102",
            occurred_at=datetime(2026, 11, 23, 9, 15, 2, tzinfo=UTC),
            direction=Direction.INBOUND,
            caller=RU_CALLER,
            callee=RU_DID,
            did=RU_DID,
            queue="support",
            agent="101",
        )
    ],
    "answered.json": [
        CallEvent(
            kind=CallEventKind.ANSWERED,
            call_id=CALL,
            event_id="pbx1-000103",
            occurred_at=datetime(2026, 11, 23, 9, 15, 9, 500000, tzinfo=UTC),
            direction=Direction.INBOUND,
            caller=RU_CALLER,
            queue="support",
            agent="101",
            wait_seconds=21,
        )
    ],
    "hold_unhold_batch.json": [
        CallEvent(
            kind=CallEventKind.HOLD,
            call_id=CALL,
            event_id="pbx1-000104",
            occurred_at=datetime(2026, 11, 23, 9, 16, 40, tzinfo=UTC),
            agent="101",
        ),
        CallEvent(
            kind=CallEventKind.UNHOLD,
            call_id=CALL,
            event_id="pbx1-000105",
            occurred_at=datetime(2026, 11, 23, 9, 17, 25, tzinfo=UTC),
            agent="101",
        ),
    ],
    "transferred.json": [
        CallEvent(
            kind=CallEventKind.TRANSFERRED,
            call_id=CALL,
            event_id="pbx1-000106",
            occurred_at=datetime(2026, 11, 23, 9, 18, 0, tzinfo=UTC),
            agent="101",
            transfer_to="sales",
        )
    ],
    "hangup.json": [
        CallEvent(
            kind=CallEventKind.HANGUP,
            call_id=CALL,
            event_id="pbx1-000107",
            occurred_at=datetime(2026, 11, 23, 9, 18, 30, tzinfo=UTC),
            direction=Direction.INBOUND,
            caller=RU_CALLER,
            agent="205",
            cause=HangupCause.NORMAL,
            talk_seconds=201,
        )
    ],
    "recording.json": [
        CallEvent(
            kind=CallEventKind.RECORDING,
            call_id=CALL,
            event_id="pbx1-000108",
            occurred_at=datetime(2026, 11, 23, 9, 18, 41, tzinfo=UTC),
            recording_url="https://pbx.example.com/recordings/2026/11/23/1795425288.42.wav",
        )
    ],
    "hangup_abandoned_newer_sender.json": [
        CallEvent(
            kind=CallEventKind.HANGUP,
            call_id="1795425501.77",
            event_id="pbx2-7f3a",
            occurred_at=datetime(2026, 11, 23, 14, 18, 21, tzinfo=UTC),
            direction=Direction.INBOUND,
            caller="+393331234567",
            callee="+390212345678",
            did="+390212345678",
            queue="vendite",
            cause=HangupCause.CALLER_ABANDONED,
            wait_seconds=3,
        )
    ],
    "outbound_answered.json": [
        CallEvent(
            kind=CallEventKind.ANSWERED,
            call_id="1795425600.5",
            event_id="pbx1-000300",
            occurred_at=datetime(2026, 11, 23, 9, 20, 7, tzinfo=UTC),
            direction=Direction.OUTBOUND,
            caller="104",
            callee="+79035550101",
            did=RU_DID,
            agent="104",
        )
    ],
    "agent_pause_batch.json": [
        AgentEvent(
            kind=AgentEventKind.LOGGED_IN,
            agent="101",
            event_id="pbx1-000201",
            occurred_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
            queue="support",
        ),
        AgentEvent(
            kind=AgentEventKind.PAUSED,
            agent="101",
            event_id="pbx1-000202",
            occurred_at=datetime(2026, 11, 23, 8, 30, tzinfo=UTC),
            reason="lunch",
        ),
        AgentEvent(
            kind=AgentEventKind.UNPAUSED,
            agent="101",
            event_id="pbx1-000203",
            occurred_at=datetime(2026, 11, 23, 12, 15, tzinfo=UTC),
        ),
        AgentEvent(
            kind=AgentEventKind.LOGGED_OUT,
            agent="101",
            event_id="pbx1-000204",
            occurred_at=datetime(2026, 11, 23, 18, 0, tzinfo=UTC),
        ),
    ],
}


def test_every_fixture_has_an_expectation():
    assert sorted(path.name for path in FIXTURES.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_exact_events(name):
    assert native.parse((FIXTURES / name).read_bytes()) == EXPECTED[name]


# --- malformed payloads -------------------------------------------------------------------------

_ABSENT = object()
_GOOD = {
    "event_id": "e-1",
    "call_id": "c-1",
    "type": "ringing",
    "timestamp": "2026-11-23T09:15:02Z",
}


def _body(**changes) -> bytes:
    event = {**_GOOD, **changes}
    return json.dumps({k: v for k, v in event.items() if v is not _ABSENT}).encode()


def _refusal(body: bytes) -> str:
    with pytest.raises(PayloadError) as caught:
        native.parse(body)
    return str(caught.value)


ALL_KINDS = "queued, ringing, answered, hold, unhold, transferred, hangup, recording, agent"
ALL_CAUSES = "normal, abandoned, no_answer, busy, rejected, failed, exit_key, exit_empty"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "body: not valid JSON (Expecting value: line 1 column 1 (char 0))"),
        (b"type=ringing", "body: not valid JSON (Expecting value: line 1 column 1 (char 0))"),
        (
            b'{"type": "ringing",}',
            "body: not valid JSON (Expecting property name enclosed "
            "in double quotes: line 1 column 20 (char 19))",
        ),
        (
            b"\xff{}",
            "body: not valid JSON ('utf-8' codec can't decode byte 0xff in position 0: "
            "invalid start byte)",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "body: JSON nested too deeply"),
        (b"[]", "body: expected a JSON object, got an array"),
        (b'"ringing"', "body: expected a JSON object, got a string"),
        (b"null", "body: expected a JSON object, got null"),
        (b'{"events": {}}', "events: expected an array of event objects, got an object"),
        (b'{"events": []}', "events: the array is empty"),
        (_body(type=_ABSENT), "type: missing"),
        (_body(type="rang"), f"type: 'rang' is not one of {ALL_KINDS}"),
        (_body(type="RINGING"), f"type: 'RINGING' is not one of {ALL_KINDS}"),
        (_body(call_id=_ABSENT), "call_id: missing"),
        (_body(call_id=None), "call_id: missing"),
        (_body(call_id=""), "call_id: must not be empty"),
        (_body(call_id="  "), "call_id: must not be empty"),
        (_body(call_id=1795425288), "call_id: expected a string, got a number"),
        (_body(event_id=_ABSENT), "event_id: missing"),
        (_body(event_id=["e-1"]), "event_id: expected a string, got an array"),
        (_body(event_id="e" * 201), "event_id: longer than 200 characters"),
        (_body(call_id="c" * 129), "call_id: longer than 128 characters"),
        (
            _body(type="recording", recording_url="https://pbx/" + "r" * 489),
            "recording_url: longer than 500 characters",
        ),
        (_body(timestamp=_ABSENT), "timestamp: missing"),
        (_body(timestamp="2026-11-23T09:15:02"), "timestamp: not an ISO 8601 time with a zone"),
        (_body(timestamp="2026-11-23"), "timestamp: not an ISO 8601 time with a zone"),
        (_body(timestamp="23/11/2026 09:15 +0300"), "timestamp: not an ISO 8601 time with a zone"),
        (
            _body(timestamp="0001-01-01T00:00:00+01:00"),
            "timestamp: not an ISO 8601 time with a zone",
        ),
        (_body(timestamp=1795425302), "timestamp: expected a string, got a number"),
        (_body(direction="in"), "direction: 'in' is not one of inbound, outbound, internal"),
        (_body(direction=True), "direction: expected a string, got a boolean"),
        (_body(caller=79161234567), "caller: expected a string, got a number"),
        (_body(agent={"ext": "101"}), "agent: expected a string, got an object"),
        (_body(type="hangup"), "cause: missing (required with type hangup)"),
        (_body(type="hangup", cause="hung up"), f"cause: 'hung up' is not one of {ALL_CAUSES}"),
        (_body(cause="normal"), "cause: only allowed with type hangup"),
        (_body(type="transferred"), "transfer_to: missing (required with type transferred)"),
        (_body(transfer_to="sales"), "transfer_to: only allowed with type transferred"),
        (_body(type="recording"), "recording_url: missing (required with type recording)"),
        (_body(recording_url="https://x/1.wav"), "recording_url: only allowed with type recording"),
        (
            _body(wait_seconds="21"),
            "wait_seconds: expected a whole number of seconds, got a string",
        ),
        (_body(wait_seconds=2.5), "wait_seconds: expected a whole number of seconds, got a number"),
        (
            _body(talk_seconds=True),
            "talk_seconds: expected a whole number of seconds, got a boolean",
        ),
        (_body(talk_seconds=-1), "talk_seconds: must be between 0 and 2147483647"),
        (_body(talk_seconds=2**31), "talk_seconds: must be between 0 and 2147483647"),
    ],
)
def test_malformed_payload_is_refused_naming_the_problem(body, message):
    assert _refusal(body) == message


_AGENT = {"event_id": "a-1", "type": "agent", "timestamp": "2026-11-23T09:00:00Z", "agent": "101"}


def _agent_body(**changes) -> bytes:
    event = {**_AGENT, "action": "login", **changes}
    return json.dumps({k: v for k, v in event.items() if v is not _ABSENT}).encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_agent_body(action=_ABSENT), "action: missing"),
        (
            _agent_body(action="ready"),
            "action: 'ready' is not one of login, logout, pause, available",
        ),
        (_agent_body(agent=_ABSENT), "agent: missing"),
        (_agent_body(agent=""), "agent: must not be empty"),
        (_agent_body(agent="1" * 101), "agent: longer than 100 characters"),
        (_agent_body(event_id=_ABSENT), "event_id: missing"),
        (_agent_body(timestamp="09:00"), "timestamp: not an ISO 8601 time with a zone"),
        (_agent_body(reason="lunch"), "reason: only allowed with action pause"),
        (_agent_body(action="pause", reason="l" * 101), "reason: longer than 100 characters"),
        (_agent_body(call_id="c-1"), "call_id: not allowed with type agent"),
        (_agent_body(cause="normal"), "cause: not allowed with type agent"),
    ],
)
def test_malformed_agent_event_is_refused_naming_the_problem(body, message):
    assert _refusal(body) == message


def test_a_batch_names_the_event_at_fault_and_is_refused_whole():
    good = dict(_GOOD)
    bad = {**_GOOD, "event_id": "e-2", "type": "rang"}
    assert _refusal(json.dumps({"events": [good, bad]}).encode()) == (
        f"events[1].type: 'rang' is not one of {ALL_KINDS}"
    )
    assert _refusal(json.dumps({"events": [good, 5]}).encode()) == (
        "events[1]: expected a JSON object, got a number"
    )


def test_limits_are_inclusive():
    body = _body(
        event_id="e" * 200,
        call_id="c" * 128,
        type="recording",
        recording_url="https://pbx/" + "r" * 488,
        talk_seconds=2**31 - 1,
        wait_seconds=0,
    )
    [event] = native.parse(body)
    assert (len(event.event_id), len(event.call_id), len(event.recording_url)) == (200, 128, 500)
    assert (event.talk_seconds, event.wait_seconds) == (2**31 - 1, 0)


def test_a_single_event_comes_back_as_a_list_of_one():
    assert native.parse(_body()) == [
        CallEvent(
            kind=CallEventKind.RINGING,
            call_id="c-1",
            event_id="e-1",
            occurred_at=datetime(2026, 11, 23, 9, 15, 2, tzinfo=UTC),
        )
    ]


# --- signatures ---------------------------------------------------------------------------------

SECRET = "s3cr3t-native"
SIGNED_AT = 1795425302  # 2026-11-23T09:15:02Z
BODY = b'{"event_id":"e1"}'
# printf '%s' '1795425302.{"event_id":"e1"}' | openssl dgst -sha256 -hmac 's3cr3t-native'
BODY_HMAC = "eeed36184d671c009e24f033ffda2f5e7c3358868f446232890d1a7e6c399540"
# the same, keyed with 'another-secret'
OTHER_SECRET_HMAC = "f066708ca5e3e018b8246d62898e97c0437770aa24b478aff98334128af3c659"


def _headers(stamp=str(SIGNED_AT), signature="sha256=" + BODY_HMAC) -> dict[str, str]:
    return {"X-CC-Timestamp": stamp, "X-CC-Signature": signature}


def _rejection(headers, body=BODY, now=SIGNED_AT, secret=SECRET) -> str:
    with pytest.raises(SignatureError) as caught:
        native.verify(secret, headers, body, now=now)
    return str(caught.value)


def test_sign_gives_the_headers_openssl_computes():
    assert native.sign(SECRET, BODY, SIGNED_AT) == {
        "X-CC-Timestamp": "1795425302",
        "X-CC-Signature": "sha256=" + BODY_HMAC,
    }


def test_correct_signature_is_accepted():
    assert native.verify(SECRET, _headers(), BODY, now=SIGNED_AT + 0.9) is None


def test_header_names_and_hex_digits_are_matched_without_case():
    headers = {"x-cc-timestamp": str(SIGNED_AT), "x-cc-signature": "sha256=" + BODY_HMAC.upper()}
    assert native.verify(SECRET, headers, BODY, now=SIGNED_AT) is None


@pytest.mark.parametrize("now", [SIGNED_AT - 300, SIGNED_AT + 300])
def test_signature_exactly_five_minutes_off_is_accepted(now):
    assert native.verify(SECRET, _headers(), BODY, now=now) is None


def test_signature_301_seconds_old_is_rejected():
    assert _rejection(_headers(), now=SIGNED_AT + 301) == (
        "X-CC-Timestamp: 301 s in the past, outside the replay window of 300 s"
    )


def test_signature_from_the_future_is_rejected():
    assert _rejection(_headers(), now=SIGNED_AT - 300.5) == (
        "X-CC-Timestamp: 301 s in the future, outside the replay window of 300 s"
    )


def test_window_can_be_narrowed():
    with pytest.raises(SignatureError) as caught:
        native.verify(SECRET, _headers(), BODY, now=SIGNED_AT + 31, window=30)
    assert str(caught.value) == (
        "X-CC-Timestamp: 31 s in the past, outside the replay window of 30 s"
    )


def test_signature_made_with_another_secret_is_rejected():
    assert _rejection(_headers(signature="sha256=" + OTHER_SECRET_HMAC)) == "signature mismatch"


def test_tampered_body_is_rejected():
    assert _rejection(_headers(), body=b'{"event_id":"e2"}') == "signature mismatch"


def test_body_with_a_trailing_newline_is_a_different_body():
    assert _rejection(_headers(), body=BODY + b"\n") == "signature mismatch"


def test_refreshed_timestamp_on_an_old_signature_is_rejected():
    assert _rejection(_headers(stamp=str(SIGNED_AT + 60)), now=SIGNED_AT + 60) == (
        "signature mismatch"
    )


def test_missing_timestamp_header_is_rejected():
    assert _rejection({"X-CC-Signature": "sha256=" + BODY_HMAC}) == "missing header X-CC-Timestamp"


def test_missing_signature_header_is_rejected():
    assert _rejection({"X-CC-Timestamp": str(SIGNED_AT)}) == "missing header X-CC-Signature"


def test_no_headers_at_all_is_rejected():
    assert _rejection({}) == "missing header X-CC-Timestamp"


@pytest.mark.parametrize("stamp", ["", "1795425302.0", "-1795425302", " 1795425302", "2026-11-23"])
def test_malformed_timestamp_is_rejected(stamp):
    assert _rejection(_headers(stamp=stamp)) == (
        f"X-CC-Timestamp: {stamp!r} is not a time in Unix seconds"
    )


@pytest.mark.parametrize(
    "signature",
    ["", BODY_HMAC, "sha1=" + BODY_HMAC, "sha256=" + BODY_HMAC[:-1], "sha256=" + "g" * 64],
)
def test_malformed_signature_is_rejected(signature):
    assert _rejection(_headers(signature=signature)) == (
        "X-CC-Signature: expected sha256=<64 hexadecimal digits>"
    )


def test_connection_without_secret_accepts_nothing():
    # An empty HMAC key is still a key anyone can use: refuse rather than verify against it.
    empty_key_headers = native.sign("", BODY, SIGNED_AT)
    assert _rejection(empty_key_headers, secret="") == (
        "the connection has no secret, so no signature can be checked"
    )


# --- properties ---------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
KNOWN_KEYS = [
    "event_id",
    "call_id",
    "type",
    "timestamp",
    "direction",
    "caller",
    "callee",
    "did",
    "queue",
    "agent",
    "cause",
    "transfer_to",
    "recording_url",
    "wait_seconds",
    "talk_seconds",
    "events",
]
plausible_values = (
    json_values
    | st.sampled_from(
        [*CallEventKind, *Direction, *HangupCause, "2026-11-23T09:15:02Z", "2026-11-23", "", 0, -1]
    ).map(str)
    | st.integers(min_value=-5, max_value=2**32)
)


def _parses_or_refuses(document: dict) -> None:
    try:
        events = native.parse(json.dumps(document).encode())
    except PayloadError:
        return
    assert events and all(isinstance(event, CallEvent) for event in events)


@given(st.dictionaries(st.text(), json_values))
def test_any_json_object_parses_or_raises_payload_error(document):
    _parses_or_refuses(document)


@given(st.dictionaries(st.sampled_from(KNOWN_KEYS), plausible_values))
def test_any_mix_of_known_keys_parses_or_raises_payload_error(document):
    _parses_or_refuses(document)


@given(
    kind=st.sampled_from(CallEventKind),
    occurred_at=st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.timezones()
    ),
    direction=st.none() | st.sampled_from(Direction),
    text=st.text(max_size=20),
    seconds=st.none() | st.integers(min_value=0, max_value=2**31 - 1),
)
def test_well_formed_event_round_trips(kind, occurred_at, direction, text, seconds):
    document = {
        "event_id": "e-" + text,
        "call_id": "c-" + text,
        "type": kind.value,
        "timestamp": occurred_at.isoformat(),
        "direction": direction,
        "caller": text,
        "wait_seconds": seconds,
    }
    extra = {
        CallEventKind.HANGUP: {"cause": "busy"},
        CallEventKind.TRANSFERRED: {"transfer_to": text or "x"},
        CallEventKind.RECORDING: {"recording_url": text or "x"},
    }.get(kind, {})
    [event] = native.parse(json.dumps({**document, **extra}).encode())
    assert event == CallEvent(
        kind=kind,
        call_id="c-" + text,
        event_id="e-" + text,
        occurred_at=occurred_at.astimezone(UTC),
        direction=direction,
        caller=text,
        cause=HangupCause.BUSY if kind == CallEventKind.HANGUP else None,
        transfer_to=extra.get("transfer_to", ""),
        recording_url=extra.get("recording_url", ""),
        wait_seconds=seconds,
    )
