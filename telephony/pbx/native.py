"""Our own signed JSON format: what the PBX simulator and any PBX script written for us send.

The contract, with a complete example and signing snippets, is in docs/native-pbx-format.md.
Being ours, it has few quirks, and each is deliberate:

- One event per request, or a batch `{"events": [...]}` for PBX scripts that buffer; `parse()`
  always returns a list, and a batch is refused whole if any of its events is malformed, so that
  nothing is half-applied.
- Unknown keys are ignored, so that a newer PBX script can talk to an older server; a known key
  with the wrong type, or a field that only belongs to another event type (a `cause` on a
  `ringing`), is refused with a message naming the key, because it means the sender is confused.
- `null` for an optional key means the same as leaving it out.
- The signature covers the timestamp header and the raw body exactly as received, so verify
  before decoding anything; the timestamp bounds a replay to five minutes either side of our
  clock, and the event id makes a replay inside the window a harmless duplicate.
"""

import hashlib
import hmac
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TypeVar

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

TIMESTAMP_HEADER = "X-CC-Timestamp"
SIGNATURE_HEADER = "X-CC-Signature"
REPLAY_WINDOW_SECONDS = 300
# The widths of Call.pbx_call_id, CallEventRecord.event_id and Call.recording_url: a longer value
# is refused here with a 400, rather than failing at the database as a 503 the PBX would retry.
MAX_LENGTHS = {"call_id": 128, "event_id": 200, "recording_url": 500, "agent": 100, "reason": 100}
MAX_SECONDS = 2**31 - 1  # the largest value an integer column holds on every database

_Choice = TypeVar("_Choice", CallEventKind, Direction, HangupCause, AgentEventKind)

AGENT_TYPE = "agent"
# An agent event's `action`, in the words a PBX script uses, and what it means for presence.
AGENT_ACTIONS = {
    "login": AgentEventKind.LOGGED_IN,
    "logout": AgentEventKind.LOGGED_OUT,
    "pause": AgentEventKind.PAUSED,
    "available": AgentEventKind.UNPAUSED,
}
_CALL_ONLY_FIELDS = ("call_id", "direction", "caller", "callee", "did", "cause", "transfer_to")

_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")

# Fields that only make sense with one event type, and are required with it.
_FIELD_OF_KIND = {
    "cause": CallEventKind.HANGUP,
    "transfer_to": CallEventKind.TRANSFERRED,
    "recording_url": CallEventKind.RECORDING,
}

_CALL_EVENT_KINDS = frozenset(CallEventKind)

_JSON_TYPE_NAMES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def sign(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The headers that sign `body` at `timestamp` (Unix seconds) with `secret`."""
    stamp = str(int(timestamp))
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: "sha256=" + _digest(secret, stamp, body)}


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    window: int = REPLAY_WINDOW_SECONDS,
) -> None:
    """Raise SignatureError unless `body` was signed with `secret` within `window` s of `now`.

    `headers` may be any mapping (Django's `request.headers`, a dict); names are matched without
    regard to case.
    """
    if not secret:
        raise SignatureError("the connection has no secret, so no signature can be checked")
    by_name = {name.lower(): value for name, value in headers.items()}
    stamp = by_name.get(TIMESTAMP_HEADER.lower())
    if stamp is None:
        raise SignatureError(f"missing header {TIMESTAMP_HEADER}")
    signature = by_name.get(SIGNATURE_HEADER.lower())
    if signature is None:
        raise SignatureError(f"missing header {SIGNATURE_HEADER}")
    if not _UNIX_SECONDS.fullmatch(stamp):
        raise SignatureError(f"{TIMESTAMP_HEADER}: {stamp!r} is not a time in Unix seconds")
    match = _SIGNATURE.fullmatch(signature)
    if match is None:
        raise SignatureError(f"{SIGNATURE_HEADER}: expected sha256=<64 hexadecimal digits>")
    age = now - int(stamp)
    if age > window:
        raise SignatureError(
            f"{TIMESTAMP_HEADER}: {math.ceil(age)} s in the past, "
            f"outside the replay window of {window} s"
        )
    if -age > window:
        raise SignatureError(
            f"{TIMESTAMP_HEADER}: {math.ceil(-age)} s in the future, "
            f"outside the replay window of {window} s"
        )
    expected = _digest(secret, stamp, body)
    if not hmac.compare_digest(expected.encode(), match.group(1).lower().encode()):
        raise SignatureError("signature mismatch")


def parse(body: bytes) -> list[CallEvent | AgentEvent]:
    """The events in a native request body; PayloadError names the first problem found."""
    try:
        document = json.loads(body)
    except RecursionError:
        raise PayloadError("body: JSON nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, and UnicodeDecodeError for bytes
        raise PayloadError(f"body: not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise PayloadError(f"body: expected a JSON object, got {_json_type(document)}")
    if "events" not in document:
        return [_event(document, where="")]
    items = document["events"]
    if not isinstance(items, list):
        raise PayloadError(f"events: expected an array of event objects, got {_json_type(items)}")
    if not items:
        raise PayloadError("events: the array is empty")
    return [_event(item, where=f"events[{index}].") for index, item in enumerate(items)]


def _event(item: object, where: str) -> CallEvent | AgentEvent:
    if not isinstance(item, dict):
        raise PayloadError(f"{where.rstrip('.')}: expected a JSON object, got {_json_type(item)}")
    fields = _Fields(item, where)
    if item.get("type") == AGENT_TYPE:
        return _agent_event(fields, where)
    type_ = fields._string("type", required=True)
    if type_ not in _CALL_EVENT_KINDS:
        allowed = ", ".join([*CallEventKind, AGENT_TYPE])
        raise PayloadError(f"{where}type: {type_!r} is not one of {allowed}")
    kind = CallEventKind(type_)
    for key, owner in _FIELD_OF_KIND.items():
        if kind == owner and fields.is_absent(key):
            raise PayloadError(f"{where}{key}: missing (required with type {owner})")
        if kind != owner and not fields.is_absent(key):
            raise PayloadError(f"{where}{key}: only allowed with type {owner}")
    return CallEvent(
        kind=kind,
        call_id=fields.identifier("call_id"),
        event_id=fields.identifier("event_id"),
        occurred_at=fields.time("timestamp"),
        direction=fields.choice("direction", Direction),
        caller=fields.text("caller"),
        callee=fields.text("callee"),
        did=fields.text("did"),
        queue=fields.text("queue"),
        agent=fields.text("agent"),
        cause=fields.choice("cause", HangupCause),
        transfer_to=fields.text("transfer_to"),
        recording_url=fields.text("recording_url"),
        wait_seconds=fields.seconds("wait_seconds"),
        talk_seconds=fields.seconds("talk_seconds"),
    )


def _agent_event(fields: "_Fields", where: str) -> AgentEvent:
    for key in _CALL_ONLY_FIELDS + tuple(_FIELD_OF_KIND):
        if not fields.is_absent(key):
            raise PayloadError(f"{where}{key}: not allowed with type {AGENT_TYPE}")
    action = fields.identifier("action")
    if action not in AGENT_ACTIONS:
        allowed = ", ".join(AGENT_ACTIONS)
        raise PayloadError(f"{where}action: {action!r} is not one of {allowed}")
    kind = AGENT_ACTIONS[action]
    if kind != AgentEventKind.PAUSED and not fields.is_absent("reason"):
        raise PayloadError(f"{where}reason: only allowed with action pause")
    return AgentEvent(
        kind=kind,
        agent=fields.identifier("agent"),
        event_id=fields.identifier("event_id"),
        occurred_at=fields.time("timestamp"),
        queue=fields.text("queue"),
        reason=fields.text("reason"),
    )


class _Fields:
    """Typed reads of one event object; every error names the key (and its place in a batch)."""

    def __init__(self, item: dict, where: str):
        self.item = item
        self.where = where

    def is_absent(self, key: str) -> bool:
        return self.item.get(key) is None

    def _error(self, key: str, problem: str) -> PayloadError:
        return PayloadError(f"{self.where}{key}: {problem}")

    def _string(self, key: str, required: bool) -> str | None:
        value = self.item.get(key)
        if value is None:
            if required:
                raise self._error(key, "missing")
            return None
        if not isinstance(value, str):
            raise self._error(key, f"expected a string, got {_json_type(value)}")
        return value

    def identifier(self, key: str) -> str:
        value = self._string(key, required=True)
        if not value.strip():
            raise self._error(key, "must not be empty")
        return self._bounded(key, value)

    def text(self, key: str) -> str:
        return self._bounded(key, self._string(key, required=False) or "")

    def _bounded(self, key: str, value: str) -> str:
        limit = MAX_LENGTHS.get(key)
        if limit is not None and len(value) > limit:
            raise self._error(key, f"longer than {limit} characters")
        return value

    def choice(self, key: str, enum: type[_Choice], required: bool = False) -> _Choice | None:
        value = self._string(key, required)
        if value is None:
            return None
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            raise self._error(key, f"{value!r} is not one of {allowed}") from None

    def time(self, key: str) -> datetime:
        value = self._string(key, required=True)
        try:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                raise ValueError("no zone")
            return moment.astimezone(UTC)
        except (ValueError, OverflowError):
            raise self._error(key, "not an ISO 8601 time with a zone") from None

    def seconds(self, key: str) -> int | None:
        value = self.item.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._error(key, f"expected a whole number of seconds, got {_json_type(value)}")
        if not 0 <= value <= MAX_SECONDS:
            raise self._error(key, f"must be between 0 and {MAX_SECONDS}")
        return value


def _digest(secret: str, stamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _json_type(value: object) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)
