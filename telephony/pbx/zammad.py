"""Zammad-style generic CTI: the de-facto PBX-to-CRM contract that many PBX bridges already speak.

Vendor quirks, and what we do about them:

- Three events: `newCall`, `answer`, `hangup`. The body is JSON, form-encoded, or (as Zammad's
  own `curl --form` examples send it) multipart form data. Form keys follow Rails: `user[]`
  repeats to make a list, and any other repeated key keeps its last value.
- The call id comes as `callId` or `call_id` (bridges differ); both present and different is
  refused as ambiguous. A JSON number is accepted wherever a string is expected.
- The agent comes as `user` or `user[]`, one name or several. On `newCall` every listed user's
  phone rings (a group call), so we produce one RINGING event per user; with no user at all the
  call is known but rings nowhere yet, so we produce one QUEUED event. On `answer` and `hangup`
  the agent is `answeringNumber` (an extension or login), else the only user listed, else
  nobody: several users and no `answeringNumber` does not say who answered.
- `direction` is `in` or `out`; `from` is always the party that placed the call, so the caller
  is `from` and the callee is `to` either way. The DID, our own number, is `to` on inbound calls
  and `from` on outbound ones. Numbers pass through as sent (often national format, or
  `anonymous`); they are normalised later, in the company's country.
- `cause` on `hangup`: Zammad's own names (`normalClearing`, `busy`, `cancel`, `noAnswer`,
  `congestion`, `notFound`, `forwarded`) and, because several bridges forward FreeSWITCH's or
  Asterisk's cause unchanged, the common Q.850 names (`NORMAL_CLEARING`, `USER_BUSY`,
  `ORIGINATOR_CANCEL`...), matched regardless of case and underscores. A cause we do not know
  becomes FAILED rather than a refusal: refusing a hang-up would leave the call open forever,
  and the raw request is kept anyway. No cause at all is read as a normal hang-up. `forwarded`
  (the call left for another party) counts as NO_ANSWER: none of our agents took it here.
- There is no event id and no timestamp. The time is when we received the request, and the
  event id is a SHA-1 of the parsed content (see `_event_id`), so that a retried request is a
  duplicate, whether resent as JSON or as a form. The price: the same user rung twice for the
  same call with an identical payload is seen once.
- The synchronous answer matters: `{}` lets the call through, and
  `{"action": "reject", "reason": "busy"}` makes the PBX drop a blocked caller (`reply_for`).
"""

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

from telephony.pbx.events import CallEvent, CallEventKind, Direction, HangupCause, PayloadError

# The width of Call.pbx_call_id (Zammad itself allows 250): a longer id is refused here with a
# 400, rather than failing at the database as a 503 the PBX would retry.
MAX_CALL_ID_LENGTH = 128

_EVENTS = ("newCall", "answer", "hangup")
_DIRECTIONS = {"in": Direction.INBOUND, "out": Direction.OUTBOUND}
_LIST_KEYS = ("user", "user[]")
_JSON_TYPE_NAMES = {dict: "an object", list: "an array", bool: "a boolean", float: "a number"}

# Keys are lower case without underscores, so that `noAnswer` and `NO_ANSWER` meet.
_CAUSES = {
    "normalclearing": HangupCause.NORMAL,
    "busy": HangupCause.BUSY,
    "userbusy": HangupCause.BUSY,
    "cancel": HangupCause.CALLER_ABANDONED,
    "originatorcancel": HangupCause.CALLER_ABANDONED,
    "noanswer": HangupCause.NO_ANSWER,
    "nouserresponse": HangupCause.NO_ANSWER,
    "forwarded": HangupCause.NO_ANSWER,
    "callrejected": HangupCause.REJECTED,
    "congestion": HangupCause.FAILED,
    "notfound": HangupCause.FAILED,
}


def reply_for(blocked: bool, reason: str = "busy") -> dict[str, str]:
    """The body to answer a `newCall` with: PBX bridges drop the call on a reject."""
    return {"action": "reject", "reason": reason} if blocked else {}


def parse(body: bytes, content_type: str, received_at: datetime) -> list[CallEvent]:
    """The events of one CTI request, stamped with `received_at` (which must be aware)."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be an aware datetime")
    fields = _Fields(_load(body, content_type))

    event = fields.text("event")
    if not event:
        raise PayloadError("event: missing")
    if event not in _EVENTS:
        raise PayloadError(f"event: {event!r} is not one of {', '.join(_EVENTS)}")
    call_id = _call_id(fields)
    raw_direction = fields.text("direction")
    if not raw_direction:
        raise PayloadError("direction: missing")
    if raw_direction not in _DIRECTIONS:
        raise PayloadError(f"direction: {raw_direction!r} is not one of in, out")
    direction = _DIRECTIONS[raw_direction]
    caller, callee = fields.text("from"), fields.text("to")
    users = fields.users()
    answering = fields.text("answeringNumber")
    raw_cause = fields.text("cause")
    queue = fields.text("queue")

    # Everything the payload says, in a fixed order: the base of every derived event id.
    content = [call_id, event, raw_direction, caller, callee, queue, answering, raw_cause]
    content += sorted(users)
    common = {
        "call_id": call_id,
        "occurred_at": received_at.astimezone(UTC),
        "direction": direction,
        "caller": caller,
        "callee": callee,
        "did": callee if direction == Direction.INBOUND else caller,
        "queue": queue,
    }

    def build(kind: CallEventKind, agent: str, cause: HangupCause | None = None) -> CallEvent:
        event_id = _event_id(agent, content)
        return CallEvent(kind, event_id=event_id, agent=agent, cause=cause, **common)

    if event == "newCall":
        if not users:
            return [build(CallEventKind.QUEUED, "")]
        return [build(CallEventKind.RINGING, user) for user in users]
    agent = answering or (users[0] if len(users) == 1 else "")
    if event == "answer":
        return [build(CallEventKind.ANSWERED, agent)]
    return [build(CallEventKind.HANGUP, agent, _cause(raw_cause))]


def _event_id(agent: str, content: list[str]) -> str:
    """SHA-1 (hex) of the compact JSON array [agent, call id, event, direction, from, to, queue,
    answeringNumber, cause, *users sorted]: documented so that a test can compute it apart."""
    serial = json.dumps([agent, *content], ensure_ascii=False, separators=(",", ":"))
    # surrogatepass: JSON may carry lone surrogates (`"\ud800"`), which UTF-8 cannot encode
    return hashlib.sha1(serial.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()


def _call_id(fields: "_Fields") -> str:
    camel, snake = fields.text("callId"), fields.text("call_id")
    if camel and snake and camel != snake:
        raise PayloadError(f"callId: {camel!r} disagrees with call_id {snake!r}")
    call_id = camel or snake
    if not call_id.strip():
        raise PayloadError("callId: missing (send callId or call_id)")
    if len(call_id) > MAX_CALL_ID_LENGTH:
        raise PayloadError(f"callId: longer than {MAX_CALL_ID_LENGTH} characters")
    return call_id


def _cause(raw: str) -> HangupCause:
    if not raw:
        return HangupCause.NORMAL
    return _CAUSES.get(raw.replace("_", "").lower(), HangupCause.FAILED)


def _load(body: bytes, content_type: str) -> dict[str, object]:
    """The payload as a dict: JSON as it is; forms with `user[]` as a list, other keys last-wins."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        try:
            document = json.loads(body)
        except RecursionError:
            raise PayloadError("body: JSON nested too deeply") from None
        except ValueError as error:
            raise PayloadError(f"body: not valid JSON ({error})") from None
        if not isinstance(document, dict):
            raise PayloadError("body: expected a JSON object")
        return document
    if media_type == "application/x-www-form-urlencoded":
        try:
            text = body.decode()
        except UnicodeDecodeError:
            raise PayloadError("body: not UTF-8") from None
        return _from_pairs(parse_qsl(text, keep_blank_values=True))
    if media_type == "multipart/form-data":
        return _from_pairs(_multipart_pairs(body, content_type))
    expected = "application/json, application/x-www-form-urlencoded or multipart/form-data"
    if not media_type:
        raise PayloadError(f"content type: missing (expected {expected})")
    raise PayloadError(f"content type: {media_type!r} is not {expected}")


def _from_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, object]:
    payload: dict[str, object] = {}
    for name, value in pairs:
        if name == "user[]":
            payload.setdefault(name, []).append(value)
        else:
            payload[name] = value
    return payload


def _multipart_pairs(body: bytes, content_type: str) -> list[tuple[str, str]]:
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart() or message.defects:
        raise PayloadError("body: not valid multipart form data")
    pairs = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise PayloadError("body: a multipart field has no name")
        try:
            value = (part.get_payload(decode=True) or b"").decode()
        except UnicodeDecodeError:
            raise PayloadError(f"{name}: not UTF-8") from None
        pairs.append((name, value))
    return pairs


class _Fields:
    """Typed reads of the payload; every error names the key."""

    def __init__(self, payload: dict[str, object]):
        self.payload = payload

    def text(self, key: str) -> str:
        return _as_text(key, self.payload.get(key))

    def users(self) -> list[str]:
        """Every user named under `user` or `user[]`, in order, without blanks or repeats."""
        names: list[str] = []
        for key in _LIST_KEYS:
            value = self.payload.get(key)
            values = value if isinstance(value, list) else [value]
            for item in values:
                name = _as_text(key, item)
                if name and name not in names:
                    names.append(name)
        return names


def _as_text(key: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # a PBX that sends `"callId": 123456789` unquoted
    raise PayloadError(f"{key}: expected a string, got {_JSON_TYPE_NAMES[type(value)]}")
