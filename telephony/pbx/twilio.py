"""Twilio Programmable Voice status callbacks (and recording status callbacks).

Vendor quirks, and what we do about them:

- Form-encoded POSTs signed with `X-Twilio-Signature`: base64 of HMAC-SHA1, keyed with the
  account's auth token, over the full URL Twilio requested followed by every POST parameter's
  name and value, sorted by name (`verify`). Twilio signs the URL as configured, and its own
  libraries accept it with or without the scheme's default port, because proxies add or drop
  it; so do we. The URL must be the public one Twilio called, not one rebuilt behind a proxy.
- `CallStatus` maps as: `ringing` → RINGING; `in-progress` → ANSWERED; `completed` → HANGUP
  normal; `busy` → HANGUP busy; `failed` → HANGUP failed; `no-answer` → HANGUP no answer;
  `canceled` (hung up, or cancelled through the API, before an answer) → HANGUP caller
  abandoned. `queued` and `initiated` give no event: they precede dialling an outbound call,
  nothing rings yet, and a QUEUED event would start a queue wait that belongs to inbound queues.
- Every `<Dial>` creates a child call leg with its own `CallSid` and a `ParentCallSid`. A call is
  one row in our log, so a child leg's events carry the parent's call id. Only a child's
  `ringing` and `in-progress` are used (this is where an agent's phone rings and is picked up);
  its terminal statuses are not, because the parent call goes on (to the next agent, to
  voicemail) and ends with its own callback. Child events have no direction and no DID.
- On an inbound call Twilio itself picks up to run the TwiML, so the parent's own `ringing` and
  `in-progress` say nothing about agents: subscribe to status callbacks on the `<Dial>` legs for
  those, and on the parent for `completed`.
- The agent is the Twilio Client identity or SIP user of the leg (`client:anna` → `anna`,
  `sip:101@acme.sip.twilio.com` → `101`), looked for in `To`, then `From`; a plain phone number
  is a customer or an outside party, never an agent.
- `Direction`: `inbound` and `trunking-terminating` are inbound; `outbound-api`,
  `outbound-dial` and `trunking-originating` outbound. The DID, our own number, is `To` on an
  inbound call and `From` on an outbound one.
- `CallDuration` becomes `talk_seconds` on outbound calls only: on inbound calls Twilio's clock
  starts when Twilio picks up, so it includes IVR and queue time.
- The event id is `CallSid:SequenceNumber` (Twilio numbers each leg's callbacks from 0), or
  `CallSid:CallStatus` when the subscription sends no sequence number (each status happens at
  most once per leg). The time is `Timestamp` (RFC 2822), or when we received the request.
- A recording callback (`RecordingSid`, `RecordingUrl`, `RecordingStatus`, and no `CallStatus`)
  gives a RECORDING event once `RecordingStatus` is `completed`; a status callback that carries
  `RecordingUrl` (calls recorded from the start) gives its own event and a RECORDING one. The
  URL is kept as sent: Twilio serves the audio at it with `.mp3` or `.wav` appended.
"""

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlsplit

from telephony.pbx.events import (
    CallEvent,
    CallEventKind,
    Direction,
    HangupCause,
    PayloadError,
    SignatureError,
)

SIGNATURE_HEADER = "X-Twilio-Signature"
# Twilio's SIDs are 34 characters; 64 keeps every id we derive from them within the 128 of
# Call.pbx_call_id and the 200 of CallEventRecord.event_id, and a URL within Call.recording_url's
# 500. Longer values are refused with a 400 rather than failing at the database as a 503.
MAX_SID_LENGTH = 64
MAX_URL_LENGTH = 500

_STATUSES: dict[str, tuple[CallEventKind, HangupCause | None] | None] = {
    "queued": None,
    "initiated": None,
    "ringing": (CallEventKind.RINGING, None),
    "in-progress": (CallEventKind.ANSWERED, None),
    "completed": (CallEventKind.HANGUP, HangupCause.NORMAL),
    "busy": (CallEventKind.HANGUP, HangupCause.BUSY),
    "failed": (CallEventKind.HANGUP, HangupCause.FAILED),
    "no-answer": (CallEventKind.HANGUP, HangupCause.NO_ANSWER),
    "canceled": (CallEventKind.HANGUP, HangupCause.CALLER_ABANDONED),
}
_DIRECTIONS = {
    "inbound": Direction.INBOUND,
    "trunking-terminating": Direction.INBOUND,
    "outbound-api": Direction.OUTBOUND,
    "outbound-dial": Direction.OUTBOUND,
    "trunking-originating": Direction.OUTBOUND,
}
_DEFAULT_PORTS = {"https": 443, "http": 80}


def verify(
    auth_token: str, url: str, params: Mapping[str, str | list[str]], signature: str
) -> None:
    """Raise SignatureError unless `signature` is Twilio's for this URL and POST parameters.

    `params` may map a name to one value or to a list of values (a repeated parameter); a
    Django QueryDict is read through its `getlist`, so repeated parameters count too.
    """
    if not auth_token:
        raise SignatureError("the connection has no auth token, so no signature can be checked")
    if not signature:
        raise SignatureError(f"missing header {SIGNATURE_HEADER}")
    given = signature.encode("utf-8", "replace")
    matches = [
        hmac.compare_digest(_signature(auth_token, candidate, params).encode(), given)
        for candidate in _url_variants(url)
    ]
    if not any(matches):
        raise SignatureError("signature mismatch")


def parse(body: bytes, content_type: str, received_at: datetime) -> list[CallEvent]:
    """The events of one status or recording callback; `received_at` (aware) stands in for a
    missing `Timestamp`. Statuses that precede dialling give an empty list."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be an aware datetime")
    media_type = content_type.split(";", 1)[0].strip().lower()
    expected = "application/x-www-form-urlencoded"
    if not media_type:
        raise PayloadError(f"content type: missing (expected {expected})")
    if media_type != expected:
        raise PayloadError(f"content type: {media_type!r} is not {expected}")
    try:
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
    except UnicodeDecodeError:
        raise PayloadError("body: not UTF-8") from None

    call_sid = _bounded(form, "CallSid", MAX_SID_LENGTH)
    if not call_sid.strip():
        raise PayloadError("CallSid: missing")
    parent_sid = _bounded(form, "ParentCallSid", MAX_SID_LENGTH)
    status = form.get("CallStatus", "")
    is_recording_callback = any(
        key in form for key in ("RecordingSid", "RecordingUrl", "RecordingStatus")
    )
    if not status and not is_recording_callback:
        raise PayloadError("CallStatus: missing")
    if status and status not in _STATUSES:
        raise PayloadError(f"CallStatus: {status!r} is not one of {', '.join(_STATUSES)}")
    raw_direction = form.get("Direction", "")
    if raw_direction and raw_direction not in _DIRECTIONS:
        raise PayloadError(f"Direction: {raw_direction!r} is not one of {', '.join(_DIRECTIONS)}")
    sequence = _whole_number(form, "SequenceNumber")
    duration = _whole_number(form, "CallDuration")
    caller, callee = form.get("From", ""), form.get("To", "")
    direction = None if parent_sid else _DIRECTIONS.get(raw_direction)
    did = {Direction.INBOUND: callee, Direction.OUTBOUND: caller}.get(direction, "")
    common = {
        "call_id": parent_sid or call_sid,
        "occurred_at": _time(form, received_at),
        "direction": direction,
        "caller": caller,
        "callee": callee,
        "did": did,
        "agent": _agent(callee) or _agent(caller),
    }

    events = []
    mapped = _STATUSES.get(status)
    if mapped is not None and not (parent_sid and mapped[0] == CallEventKind.HANGUP):
        kind, cause = mapped
        step = status if sequence is None else str(sequence)
        talk = (
            duration if kind == CallEventKind.HANGUP and direction == Direction.OUTBOUND else None
        )
        events.append(
            CallEvent(kind, event_id=f"{call_sid}:{step}", cause=cause, talk_seconds=talk, **common)
        )
    recording_url = _bounded(form, "RecordingUrl", MAX_URL_LENGTH)
    if recording_url and form.get("RecordingStatus", "completed") == "completed":
        recording_sid = _bounded(form, "RecordingSid", MAX_SID_LENGTH)
        events.append(
            CallEvent(
                CallEventKind.RECORDING,
                event_id=f"{call_sid}:recording:{recording_sid}".removesuffix(":"),
                recording_url=recording_url,
                **common,
            )
        )
    return events


def _signature(auth_token: str, url: str, params: Mapping[str, str | list[str]]) -> str:
    data = url
    for name in sorted(params):
        if hasattr(params, "getlist"):  # Django's QueryDict: `params[name]` is the last value
            values = params.getlist(name)
        else:
            value = params[name]
            values = value if isinstance(value, list) else [value]
        # Twilio's own validators sort (and de-duplicate) the values of a repeated parameter.
        for value in sorted(set(values)):
            data += name + value
    mac = hmac.new(auth_token.encode(), data.encode("utf-8", "surrogatepass"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def _url_variants(url: str) -> list[str]:
    """The URL as given, and with the scheme's default port added or removed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a malformed host or port: only the URL as given can match
        return [url]
    default = _DEFAULT_PORTS.get(parts.scheme)
    if default is None or parts.hostname is None:
        return [url]
    userinfo, _, hostport = parts.netloc.rpartition("@")
    prefix = f"{userinfo}@" if userinfo else ""
    if port is None:
        return [url, parts._replace(netloc=f"{prefix}{hostport}:{default}").geturl()]
    if port == default:
        host = hostport.rsplit(":", 1)[0]
        return [url, parts._replace(netloc=f"{prefix}{host}").geturl()]
    return [url]


def _bounded(form: dict[str, str], key: str, limit: int) -> str:
    value = form.get(key, "")
    if len(value) > limit:
        raise PayloadError(f"{key}: longer than {limit} characters")
    return value


def _whole_number(form: dict[str, str], key: str) -> int | None:
    value = form.get(key, "")
    if not value:
        return None
    if not (value.isascii() and value.isdigit()):
        raise PayloadError(f"{key}: {value!r} is not a whole number")
    if len(value) > 9:  # a billion seconds is 31 years; the column holds 2**31 - 1
        raise PayloadError(f"{key}: {value} is too large")
    return int(value)


def _time(form: dict[str, str], received_at: datetime) -> datetime:
    value = form.get("Timestamp", "")
    if not value:
        return received_at.astimezone(UTC)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        raise PayloadError(f"Timestamp: {value!r} is not an RFC 2822 time") from None
    if moment.tzinfo is None:  # "-0000": RFC 2822's "UTC, local zone unknown"
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _agent(party: str) -> str:
    """The Twilio Client identity or SIP user in `party`; empty for a phone number."""
    if party.startswith("client:"):
        return party.removeprefix("client:")
    if party.startswith(("sip:", "sips:")):
        user = party.split(":", 1)[1].split(";", 1)[0]
        return user.split("@", 1)[0] if "@" in user else ""
    return ""
