"""Zammad-style generic CTI: every fixture parsed to exact events, causes mapped, refusals worded,
and event ids derived from the content (the SHA-1s below were computed apart, with
`printf '%s' '<compact JSON array>' | sha1sum`, following the recipe in `zammad._event_id`)."""

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from telephony.pbx import zammad
from telephony.pbx.events import CallEvent, CallEventKind, Direction, HangupCause, PayloadError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "pbx" / "zammad"

RECEIVED_AT = datetime(2026, 11, 23, 12, 15, 0, tzinfo=ZoneInfo("Europe/Moscow"))
AT = datetime(2026, 11, 23, 9, 15, 0, tzinfo=UTC)
CALL_A = "3f2b9c1e-7d4a-4e8b-9a61-5c0d2e7f8a90"
CALL_B = "b7e0c2d4-55aa-4f1e-8c3d-0a9b8c7d6e5f"
MOBILE, OFFICE = "89161234567", "84951234567"

GROUP_RINGS = [
    CallEvent(
        kind=CallEventKind.RINGING,
        call_id=CALL_A,
        event_id="b671d747b2f695cd53381bc4edc95c9c5b3bfad1",
        occurred_at=AT,
        direction=Direction.INBOUND,
        caller=MOBILE,
        callee=OFFICE,
        did=OFFICE,
        queue="support",
        agent="101",
    ),
    CallEvent(
        kind=CallEventKind.RINGING,
        call_id=CALL_A,
        event_id="05127a1b19bbafbb354d148ea2333a9e6d3da85c",
        occurred_at=AT,
        direction=Direction.INBOUND,
        caller=MOBILE,
        callee=OFFICE,
        did=OFFICE,
        queue="support",
        agent="102",
    ),
]

EXPECTED = {
    "newcall_inbound_group.json": GROUP_RINGS,
    "newcall_inbound_group_form.json": GROUP_RINGS,
    "newcall_anonymous_no_user_form.json": [
        CallEvent(
            kind=CallEventKind.QUEUED,
            call_id="7781",
            event_id="857a59c730518615beaae61f18323053617f1a0b",
            occurred_at=AT,
            direction=Direction.INBOUND,
            caller="anonymous",
            callee="0212345678",
            did="0212345678",
        )
    ],
    "newcall_outbound_multipart.json": [
        CallEvent(
            kind=CallEventKind.RINGING,
            call_id="out-5521",
            event_id="9677030ad337e51e3f0569d67df8a6a05f4b861d",
            occurred_at=AT,
            direction=Direction.OUTBOUND,
            caller=OFFICE,
            callee="89035550101",
            did=OFFICE,
            agent="104",
        )
    ],
    "newcall_cyrillic_users_form.json": [
        CallEvent(
            kind=CallEventKind.RINGING,
            call_id="c-ru-1",
            event_id="202a030c70134fc209a74453497f6aee8658840a",
            occurred_at=AT,
            direction=Direction.INBOUND,
            caller="+79161234567",
            callee="+74951234567",
            did="+74951234567",
            agent="Анна Петрова",
        ),
        CallEvent(
            kind=CallEventKind.RINGING,
            call_id="c-ru-1",
            event_id="c4e44dac04a99014695938fd60c06f02310f23d7",
            occurred_at=AT,
            direction=Direction.INBOUND,
            caller="+79161234567",
            callee="+74951234567",
            did="+74951234567",
            agent="Иван Сидоров",
        ),
    ],
    "answer_inbound.json": [
        CallEvent(
            kind=CallEventKind.ANSWERED,
            call_id=CALL_A,
            event_id="89593de584569f843d55a6ed0c3c7fbb8f572226",
            occurred_at=AT,
            direction=Direction.INBOUND,
            caller=MOBILE,
            callee=OFFICE,
            did=OFFICE,
            agent="101",
        )
    ],
    "answer_group_without_answering_number_form.json": [
        CallEvent(
            kind=CallEventKind.ANSWERED,
            call_id=CALL_A,
            event_id="be770143b2bb295c55f0b16b7166de965ae0f768",
            occurred_at=AT,
            direction=Direction.INBOUND,
            caller=MOBILE,
            callee=OFFICE,
            did=OFFICE,
            agent="",
        )
    ],
    "hangup_normal_clearing.json": [
        CallEvent(
            kind=CallEventKind.HANGUP,
            call_id=CALL_A,
            event_id="56a437b8294ec08e0abd0864e3520e08aae6426d",
            occurred_at=AT,
            direction=Direction.INBOUND,
            caller=MOBILE,
            callee=OFFICE,
            did=OFFICE,
            agent="101",
            cause=HangupCause.NORMAL,
        )
    ],
    "hangup_cancel_form.json": [
        CallEvent(
            kind=CallEventKind.HANGUP,
            call_id="7781",
            event_id="ec6f36f2cded5e3aa5aacc87bdfaed4ec2f34da9",
            occurred_at=AT,
            direction=Direction.INBOUND,
            caller="anonymous",
            callee="0212345678",
            did="0212345678",
            cause=HangupCause.CALLER_ABANDONED,
        )
    ],
    "hangup_freeswitch_cause_form.json": [
        CallEvent(
            kind=CallEventKind.HANGUP,
            call_id=CALL_B,
            event_id="28855c81927d2c9330923df8c389d58e0c6470fb",
            occurred_at=AT,
            direction=Direction.INBOUND,
            caller=MOBILE,
            callee=OFFICE,
            did=OFFICE,
            agent="102",
            cause=HangupCause.BUSY,
        )
    ],
    "hangup_outbound_unknown_cause_numeric_call_id.json": [
        CallEvent(
            kind=CallEventKind.HANGUP,
            call_id="123456789",
            event_id="85aa7407d8d6f9003f4c06e8db5b8ba5e627b762",
            occurred_at=AT,
            direction=Direction.OUTBOUND,
            caller=OFFICE,
            callee="89035550101",
            did=OFFICE,
            agent="104",
            cause=HangupCause.FAILED,
        )
    ],
}


def load(name: str) -> tuple[bytes, str]:
    """A fixture's body and content type: JSON bodies as they are, other bodies wrapped."""
    raw = (FIXTURES / name).read_bytes()
    document = json.loads(raw)
    if "content_type" in document and "body" in document:
        return document["body"].encode(), document["content_type"]
    return raw, "application/json"


def parse(body: bytes, content_type: str = "application/json") -> list[CallEvent]:
    return zammad.parse(body, content_type, RECEIVED_AT)


def test_every_fixture_has_an_expectation():
    assert sorted(path.name for path in FIXTURES.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_exact_events(name):
    assert parse(*load(name)) == EXPECTED[name]


# --- hang-up causes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        ("normalClearing", HangupCause.NORMAL),
        ("busy", HangupCause.BUSY),
        ("cancel", HangupCause.CALLER_ABANDONED),
        ("noAnswer", HangupCause.NO_ANSWER),
        ("congestion", HangupCause.FAILED),
        ("notFound", HangupCause.FAILED),
        ("forwarded", HangupCause.NO_ANSWER),
        ("NORMAL_CLEARING", HangupCause.NORMAL),
        ("USER_BUSY", HangupCause.BUSY),
        ("ORIGINATOR_CANCEL", HangupCause.CALLER_ABANDONED),
        ("NO_ANSWER", HangupCause.NO_ANSWER),
        ("NO_USER_RESPONSE", HangupCause.NO_ANSWER),
        ("CALL_REJECTED", HangupCause.REJECTED),
        ("no_answer", HangupCause.NO_ANSWER),
        ("NORMAL_TEMPORARY_FAILURE", HangupCause.FAILED),
        ("hungUp", HangupCause.FAILED),
        ("", HangupCause.NORMAL),
    ],
)
def test_hangup_cause_is_mapped(cause, expected):
    body = f"event=hangup&callId=c1&direction=in&cause={cause}".encode()
    [event] = parse(body, "application/x-www-form-urlencoded")
    assert (event.kind, event.cause) == (CallEventKind.HANGUP, expected)


def test_hangup_without_any_cause_key_is_normal():
    [event] = parse(b'{"event": "hangup", "callId": "c1", "direction": "in"}')
    assert event.cause == HangupCause.NORMAL


# --- who the agent is ---------------------------------------------------------------------------


def test_answering_number_wins_over_users():
    body = b'{"event": "answer", "callId": "c1", "direction": "in", "user": ["101", "102"], '
    body += b'"answeringNumber": "102"}'
    assert [event.agent for event in parse(body)] == ["102"]


def test_the_only_user_answers_when_no_answering_number_is_sent():
    body = b'{"event": "answer", "callId": "c1", "direction": "in", "user[]": ["103"]}'
    assert [event.agent for event in parse(body)] == ["103"]


def test_user_and_user_brackets_are_merged_without_repeats():
    body = b"event=newCall&callId=c1&direction=in&user=101&user%5B%5D=102&user%5B%5D=101"
    events = parse(body, "application/x-www-form-urlencoded")
    assert [event.agent for event in events] == ["101", "102"]


def test_a_repeated_plain_form_key_keeps_its_last_value_as_rails_does():
    body = b"event=newCall&callId=c1&direction=in&from=111&from=222"
    [event] = parse(body, "application/x-www-form-urlencoded")
    assert event.caller == "222"


# --- derived event ids --------------------------------------------------------------------------


def test_same_payload_gives_the_same_event_ids():
    body, content_type = load("hangup_cancel_form.json")
    assert parse(body, content_type) == parse(body, content_type)


def test_same_content_as_json_and_as_form_gives_the_same_event_ids():
    assert parse(*load("newcall_inbound_group.json")) == parse(
        *load("newcall_inbound_group_form.json")
    )


def test_key_order_spacing_and_user_order_do_not_change_the_event_ids():
    first = b'{"event":"newCall","callId":"c1","direction":"in","user":["101","102"]}'
    second = b'{ "user": ["102", "101"], "direction": "in", "callId": "c1", "event": "newCall" }'
    assert {e.event_id for e in parse(first)} == {e.event_id for e in parse(second)}


def test_call_id_key_spelling_does_not_change_the_event_ids():
    camel = b"event=hangup&callId=7781&direction=in&from=anonymous&to=0212345678&cause=cancel"
    form = "application/x-www-form-urlencoded"
    assert parse(camel, form) == parse(*load("hangup_cancel_form.json"))


@pytest.mark.parametrize(
    "changed",
    [
        "event=hangup&callId=7782&direction=in&from=anonymous&to=0212345678&cause=cancel",
        "event=hangup&callId=7781&direction=in&from=anonymous&to=0212345678&cause=busy",
        "event=hangup&callId=7781&direction=in&from=anonymous&to=0212345678&cause=cancel&user=101",
        "event=hangup&callId=7781&direction=in&from=79161234567&to=0212345678&cause=cancel",
        "event=answer&callId=7781&direction=in&from=anonymous&to=0212345678&cause=cancel",
    ],
)
def test_different_payload_gives_a_different_event_id(changed):
    [original] = parse(*load("hangup_cancel_form.json"))
    [other] = parse(changed.encode(), "application/x-www-form-urlencoded")
    assert other.event_id != original.event_id


def test_every_user_rung_gets_its_own_event_id():
    assert len({event.event_id for event in parse(*load("newcall_inbound_group.json"))}) == 2


# --- malformed payloads -------------------------------------------------------------------------

FORM = "application/x-www-form-urlencoded"
EXPECTED_TYPES = "application/json, application/x-www-form-urlencoded or multipart/form-data"


def _refusal(body: bytes, content_type: str = "application/json") -> str:
    with pytest.raises(PayloadError) as caught:
        parse(body, content_type)
    return str(caught.value)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (
            b'{"event": "newCall",',
            "application/json",
            "body: not valid JSON (Expecting property name enclosed in double quotes: "
            "line 1 column 21 (char 20))",
        ),
        (
            b"event=newCall&callId=c1&direction=in",
            "application/json",
            "body: not valid JSON (Expecting value: line 1 column 1 (char 0))",
        ),
        (b"[]", "application/json", "body: expected a JSON object"),
        (b"[" * 100_000, "application/json", "body: JSON nested too deeply"),
        (b"event=newCall", "text/plain", f"content type: 'text/plain' is not {EXPECTED_TYPES}"),
        (b"event=newCall", "", f"content type: missing (expected {EXPECTED_TYPES})"),
        (b"event=newCall&user=\xff", FORM, "body: not UTF-8"),
        (b"event=newCall", "multipart/form-data", "body: not valid multipart form data"),
        (
            b"event=newCall",
            "multipart/form-data; boundary=x",
            "body: not valid multipart form data",
        ),
        (b"callId=c1&direction=in", FORM, "event: missing"),
        (
            b"event=ringing&callId=c1&direction=in",
            FORM,
            "event: 'ringing' is not one of newCall, answer, hangup",
        ),
        (
            b"event=newcall&callId=c1&direction=in",
            FORM,
            "event: 'newcall' is not one of newCall, answer, hangup",
        ),
        (b"event=newCall&direction=in", FORM, "callId: missing (send callId or call_id)"),
        (b"event=newCall&callId=&direction=in", FORM, "callId: missing (send callId or call_id)"),
        (
            b"event=newCall&callId=a&call_id=b&direction=in",
            FORM,
            "callId: 'a' disagrees with call_id 'b'",
        ),
        (
            b"event=newCall&callId=" + b"c" * 129 + b"&direction=in",
            FORM,
            "callId: longer than 128 characters",
        ),
        (b"event=newCall&callId=c1", FORM, "direction: missing"),
        (
            b"event=newCall&callId=c1&direction=inbound",
            FORM,
            "direction: 'inbound' is not one of in, out",
        ),
        (
            b'{"event": "newCall", "callId": true, "direction": "in"}',
            "application/json",
            "callId: expected a string, got a boolean",
        ),
        (
            b'{"event": "newCall", "callId": 1.5, "direction": "in"}',
            "application/json",
            "callId: expected a string, got a number",
        ),
        (
            b'{"event": "newCall", "callId": "c1", "direction": "in", "from": {"n": 1}}',
            "application/json",
            "from: expected a string, got an object",
        ),
        (
            b'{"event": "newCall", "callId": "c1", "direction": "in", "user": [["101"]]}',
            "application/json",
            "user: expected a string, got an array",
        ),
        (
            b'{"event": ["newCall"], "callId": "c1", "direction": "in"}',
            "application/json",
            "event: expected a string, got an array",
        ),
    ],
)
def test_malformed_payload_is_refused_naming_the_problem(body, content_type, message):
    assert _refusal(body, content_type) == message


def _multipart(*parts: bytes) -> bytes:
    return b"".join(b"--B\r\n" + part + b"\r\n" for part in parts) + b"--B--\r\n"


def test_multipart_field_without_a_name_is_refused():
    body = _multipart(b'Content-Disposition: form-data; filename="x"\r\n\r\nnewCall')
    assert (
        _refusal(body, "multipart/form-data; boundary=B") == "body: a multipart field has no name"
    )


def test_multipart_field_that_is_not_utf8_is_refused():
    body = _multipart(b'Content-Disposition: form-data; name="from"\r\n\r\n\xff')
    assert _refusal(body, "multipart/form-data; boundary=B") == "from: not UTF-8"


def test_call_id_and_its_snake_case_spelling_may_agree():
    body = b"event=answer&callId=c1&call_id=c1&direction=in"
    assert [event.call_id for event in parse(body, FORM)] == ["c1"]


def test_content_type_parameters_and_case_are_ignored():
    body = b'{"event": "answer", "callId": "c1", "direction": "in"}'
    assert parse(body, "Application/JSON; charset=utf-8") == parse(body)


def test_received_time_must_be_aware():
    with pytest.raises(ValueError) as caught:
        zammad.parse(b"{}", "application/json", datetime(2026, 11, 23, 9, 15))
    assert str(caught.value) == "received_at must be an aware datetime"


# --- the synchronous answer ---------------------------------------------------------------------


def test_a_caller_who_is_not_blocked_gets_an_empty_object():
    assert zammad.reply_for(blocked=False) == {}


def test_a_blocked_caller_is_rejected_as_busy():
    assert zammad.reply_for(blocked=True) == {"action": "reject", "reason": "busy"}
