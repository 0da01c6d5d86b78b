"""Asterisk `queue_log` import: text lines in, normalised call and agent events out.

Every Asterisk-based PBX (plain Asterisk, FreePBX, Issabel, VICIdial) writes one line per queue
event to /var/log/asterisk/queue_log:

    time|callid|queuename|agent|event|data1|data2|...

Vendor quirks, and what we do about them:

- `time` is a Unix timestamp in seconds, sometimes with a fraction, so the PBX's time zone does
  not matter. Anything else (a `2023-11-14 22:13:20` taken from the realtime table, a
  millisecond timestamp) is refused: its zone or unit would be a guess.
- The number of data fields varies across versions. 1.4 logs `ENTERQUEUE|url|callerid` and
  `CONNECT|holdtime|uniqueid`; later versions add the position and the ring time; 12+ logs
  BLINDTRANSFER/ATTENDEDTRANSFER instead of TRANSFER. Some versions wrote all data into one
  `data` field, pipes included, and exports of the realtime table pad every line to
  `data1..data5`. So a line is split on every pipe, each field is stripped of blank padding,
  trailing empty fields are dropped, and a data field that is missing reads as empty. An empty
  duration is unknown (None), not zero.
- RINGNOANSWER and RINGCANCELED log milliseconds; every other duration is in whole seconds.
- `callid` is the caller channel's uniqueid (on some systems prefixed with the system name); it
  is NONE on queue- and member-level lines. `queuename` and `agent` may be NONE too.
- `agent` is the member as Asterisk names it: its interface (`PJSIP/201`, `SIP/201`,
  `Local/201@from-queue/n` on FreePBX, `Agent/1001`) or, with `log_membername_as_agent`, a free
  name. An interface is reduced to its extension (`201`), which is what our agents' extensions
  hold; a free name passes through unchanged.
- One call id can visit several queues: EXITWITHTIMEOUT (or EXITEMPTY, or a blind transfer to
  another queue) and then ENTERQUEUE in the next queue. Each visit produces its own events with
  its own queue; de-duplicating the call at company level is the apply layer's job (design.md,
  "KPI definitions").
- FreePBX writes `DID|<number>` for the call just before ENTERQUEUE. The parser remembers the
  DID per call id and puts it on that call's later events. That memory is bounded
  (MAX_TRACKED_CALLS, least recently seen forgotten first): a file is streamed, never held.

Decisions:

- ENTERQUEUE gives QUEUED (with the caller); CONNECT gives ANSWERED (wait = holdtime);
  COMPLETEAGENT/COMPLETECALLER give HANGUP NORMAL (wait = holdtime, talk = calltime); ABANDON,
  EXITWITHTIMEOUT, EXITWITHKEY and EXITEMPTY give HANGUP with CALLER_ABANDONED, NO_ANSWER,
  EXIT_KEY and EXIT_EMPTY (wait = waittime). The durations Asterisk measured win over event
  times (design.md).
- TRANSFER, BLINDTRANSFER and ATTENDEDTRANSFER give TRANSFERRED and then HANGUP NORMAL with the
  holdtime and calltime: Asterisk logs no COMPLETE* after a transfer, so the transfer line is
  what ends the queue call; answered by its CONNECT, the call counts as answered (design.md).
  A blind transfer to another queue is followed by ENTERQUEUE there, like an overflow.
  TRANSFER and BLINDTRANSFER name the extension (`transfer_to`); ATTENDEDTRANSFER names no
  target we could use (BRIDGE names a bridge id, APP an application, LINK two internal
  `Local/_attended@transfer` channels), so its `transfer_to` is empty.
- RINGNOANSWER gives the agent event RING_NO_ANSWER with ring_seconds = ms / 1000. RINGCANCELED
  (the caller hung up while this member's phone rang) is not the agent's failure, so it is
  skipped and counted rather than reported as a ring-no-answer.
- ADDMEMBER/REMOVEMEMBER give LOGGED_IN/LOGGED_OUT (newer versions log `ADDMEMBER|PAUSED` for a
  member added paused, which also gives PAUSED); PAUSE/UNPAUSE give PAUSED/UNPAUSED with the
  reason in data1, when the version logs one; PAUSEALL/UNPAUSEALL give the same with queue ""
  (Asterisk then also logs one PAUSE/UNPAUSE per queue).
- Informational lines (QUEUESTART, CONFIGRELOAD, AGENTLOGIN, SYSCOMPAT...) are skipped and
  counted by name. So are events we do not know: the dialplan's QueueLog() writes arbitrary
  events (FreePBX, QueueMetrics and VICIdial all add their own), so an unknown name is a valid
  line we have no use for, not a broken one.
- A line is a problem, reported by number, when it cannot be read: too few fields, a time that
  is not a Unix time, no event name, a call event without a call id, a member event without a
  member, a duration that is not a whole number.
- A call whose exit line never came (the file ends mid-call, or rotated) is left open: no
  hang-up is invented. QueueLogStats.open_calls says how many.
- Event ids are `ql:<digest>:<kind>`, the digest a SHA-256 of the line's stripped fields without
  trailing empty ones (see `_digest`), so importing the same file twice gives the same ids, and
  padding or a realtime export of the same line does not change them. Two identical lines are
  one event.
- `direction` is left unset: queue_log does not say it, and dialers (VICIdial) queue outbound
  calls too.
"""

import hashlib
import re
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from telephony.pbx.events import (
    AgentEvent,
    AgentEventKind,
    CallEvent,
    CallEventKind,
    HangupCause,
    PayloadError,
)

QueueLogEvent = CallEvent | AgentEvent

# Enough for every call in a large centre to be remembered from its DID line to its exit line.
MAX_TRACKED_CALLS = 20_000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# 11 digits reach the year 5138; a 13-digit value is a millisecond timestamp, not ours to guess.
_UNIX_TIME = re.compile(r"(\d{1,11})(?:\.(\d+))?")
_EVENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_WHOLE_NUMBER = re.compile(r"\d+")
# TECH/resource[@context][/options][;n]: the member's interface, or a channel name.
_INTERFACE = re.compile(r"[A-Za-z][A-Za-z0-9_]*/([^/@;]+)(?:[/@;].*)?")
_NONE = "NONE"

INFORMATIONAL_EVENTS = frozenset(
    {
        "QUEUESTART",
        "CONFIGRELOAD",
        "AGENTLOGIN",
        "AGENTLOGOFF",
        "AGENTCALLBACKLOGIN",
        "AGENTCALLBACKLOGOFF",
        "AGENTDUMP",
        "SYSCOMPAT",
        "INFO",
        "RINGCANCELED",
        "PENALTY",
        "RINGINUSE",
    }
)


@dataclass(frozen=True)
class ParsedLine:
    """One non-blank input line: the events it gave, or the problem that made it unusable.

    A line with neither was skipped on purpose (informational, unknown, or a DID line).
    """

    number: int
    events: tuple[QueueLogEvent, ...] = ()
    problem: PayloadError | None = None


@dataclass
class QueueLogStats:
    """What a parse went through; complete once the generator is exhausted."""

    lines: int = 0  # every line read, blank ones included
    blank: int = 0
    events: int = 0  # events produced (a line may give several)
    problems: int = 0  # unusable lines, each reported by number
    dids: int = 0  # DID lines, which give no event but feed the call's later ones
    skipped: Counter[str] = field(default_factory=Counter)  # informational lines, by event name
    unknown: Counter[str] = field(default_factory=Counter)  # events we do not know, by name
    # Calls whose last queue visit had no exit line by the end of the input.
    open_calls: int = 0


def parse_lines(
    lines: Iterable[str],
    *,
    stats: QueueLogStats | None = None,
    max_tracked_calls: int = MAX_TRACKED_CALLS,
) -> Iterator[ParsedLine]:
    """Parse queue_log lines lazily, one ParsedLine per non-blank line, numbered from 1.

    Pass a QueueLogStats to get the totals; it is complete once the generator is exhausted.
    """
    stats = stats if stats is not None else QueueLogStats()
    calls = _Calls(max_tracked_calls)
    for number, raw in enumerate(lines, start=1):
        stats.lines += 1
        text = raw.strip()
        if number == 1:
            text = text.lstrip("\ufeff").strip()
        if not text:
            stats.blank += 1
            continue
        try:
            line = _split(text)
            name = line.event.upper()
            if name == "DID":
                _remember_did(line, calls)
                stats.dids += 1
                events: tuple[QueueLogEvent, ...] = ()
            elif name in _HANDLERS:
                events = _HANDLERS[name](line, calls)
            else:
                bucket = stats.skipped if name in INFORMATIONAL_EVENTS else stats.unknown
                bucket[name] += 1
                events = ()
        except PayloadError as error:
            stats.problems += 1
            yield ParsedLine(number, problem=PayloadError(f"line {number}: {error}"))
            continue
        stats.events += len(events)
        yield ParsedLine(number, events=events)
    stats.open_calls = calls.open_count()


def member_extension(member: str) -> str:
    """`PJSIP/201`, `Local/201@from-queue/n` -> `201`; NONE -> ``; a free name unchanged."""
    if member == _NONE:
        return ""
    match = _INTERFACE.fullmatch(member)
    return match[1] if match else member


@dataclass(frozen=True, slots=True)
class _Line:
    at: datetime
    call_id: str  # "" for NONE
    queue: str  # "" for NONE
    agent: str  # the member's extension, "" for NONE
    event: str
    data: tuple[str, ...]
    digest: str

    def arg(self, index: int) -> str:
        """Data field `index` (0 is data1), empty when the line does not have it."""
        return self.data[index] if index < len(self.data) else ""


@dataclass(slots=True)
class _CallState:
    did: str = ""
    in_queue: bool = False


class _Calls:
    """The little the parser remembers per call id, least recently seen forgotten first."""

    def __init__(self, limit: int) -> None:
        self._limit = max(1, limit)
        self._states: OrderedDict[str, _CallState] = OrderedDict()
        self._forgotten_open = 0

    def get(self, call_id: str) -> _CallState:
        state = self._states.get(call_id)
        if state is None:
            state = self._states[call_id] = _CallState()
            if len(self._states) > self._limit:
                _, oldest = self._states.popitem(last=False)
                self._forgotten_open += oldest.in_queue
        else:
            self._states.move_to_end(call_id)
        return state

    def open_count(self) -> int:
        # A forgotten call still in a queue is counted open: its exit line, if it came later,
        # found no state to close, which is rarer than a call that truly never ended.
        return self._forgotten_open + sum(s.in_queue for s in self._states.values())


def _split(text: str) -> _Line:
    fields = [part.strip() for part in text.split("|")]
    if len(fields) < 5:
        raise PayloadError("not enough fields")
    time_text, call_id, queue, member, event, *data = fields
    while data and not data[-1]:
        data.pop()
    at = _unix_time(time_text)
    if not event:
        raise PayloadError("no event name")
    if not _EVENT_NAME.fullmatch(event):
        raise PayloadError(f"{event!r} is not an event name")
    return _Line(
        at=at,
        call_id="" if call_id == _NONE else call_id,
        queue="" if queue == _NONE else queue,
        agent=member_extension(member),
        event=event.upper(),
        data=tuple(data),
        digest=_digest([time_text, call_id, queue, member, event, *data]),
    )


def _unix_time(text: str) -> datetime:
    match = _UNIX_TIME.fullmatch(text)
    if not match:
        raise PayloadError(f"{text!r} is not a Unix time")
    microseconds = int((match[2] or "")[:6].ljust(6, "0"))  # a datetime holds no finer
    return _EPOCH + timedelta(seconds=int(match[1]), microseconds=microseconds)


def _digest(fields: list[str]) -> str:
    """SHA-256 (first 32 hex digits) of the stripped fields joined by `|`, trailing empty data
    fields left out: a pipe cannot occur inside a field, so the join is unambiguous."""
    return hashlib.sha256("|".join(fields).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _event_id(line: _Line, kind: CallEventKind | AgentEventKind) -> str:
    return f"ql:{line.digest}:{kind.value}"


def _whole(line: _Line, index: int, name: str, unit: str) -> int | None:
    value = line.arg(index)
    if not value:
        return None
    if not _WHOLE_NUMBER.fullmatch(value):
        raise PayloadError(f"{line.event} {name} {value!r} is not a whole number of {unit}")
    return int(value)


def _seconds(line: _Line, index: int, name: str) -> int | None:
    return _whole(line, index, name, "seconds")


def _call_state(line: _Line, calls: _Calls) -> _CallState:
    if not line.call_id:
        raise PayloadError(f"{line.event} has no call id")
    return calls.get(line.call_id)


def _call_event(line: _Line, kind: CallEventKind, state: _CallState, **fields) -> CallEvent:
    return CallEvent(
        kind=kind,
        call_id=line.call_id,
        event_id=_event_id(line, kind),
        occurred_at=line.at,
        did=state.did,
        queue=line.queue,
        agent=line.agent,
        **fields,
    )


def _agent_event(line: _Line, kind: AgentEventKind, **fields) -> AgentEvent:
    if not line.agent:
        raise PayloadError(f"{line.event} names no agent")
    fields.setdefault("queue", line.queue)
    return AgentEvent(
        kind=kind, agent=line.agent, event_id=_event_id(line, kind), occurred_at=line.at, **fields
    )


def _remember_did(line: _Line, calls: _Calls) -> None:
    state = _call_state(line, calls)
    if line.arg(0):
        state.did = line.arg(0)


def _enter_queue(line: _Line, calls: _Calls) -> tuple[QueueLogEvent, ...]:
    # ENTERQUEUE|url|callerid[|position]
    if not line.queue:
        raise PayloadError("ENTERQUEUE names no queue")
    state = _call_state(line, calls)
    state.in_queue = True
    return (_call_event(line, CallEventKind.QUEUED, state, caller=line.arg(1)),)


def _connect(line: _Line, calls: _Calls) -> tuple[QueueLogEvent, ...]:
    # CONNECT|holdtime|bridged channel uniqueid[|ringtime]
    wait = _seconds(line, 0, "holdtime")
    state = _call_state(line, calls)
    return (_call_event(line, CallEventKind.ANSWERED, state, wait_seconds=wait),)


def _complete(line: _Line, calls: _Calls) -> tuple[QueueLogEvent, ...]:
    # COMPLETEAGENT|COMPLETECALLER|holdtime|calltime|origposition
    wait, talk = _seconds(line, 0, "holdtime"), _seconds(line, 1, "calltime")
    state = _call_state(line, calls)
    state.in_queue = False
    return (
        _call_event(
            line,
            CallEventKind.HANGUP,
            state,
            cause=HangupCause.NORMAL,
            wait_seconds=wait,
            talk_seconds=talk,
        ),
    )


def _exit(cause: HangupCause, waittime_index: int) -> Callable[[_Line, _Calls], tuple]:
    # ABANDON, EXITWITHTIMEOUT, EXITEMPTY: position|origposition|waittime;
    # EXITWITHKEY: key|position|origposition|waittime (1.4 logged key|position only).
    def handle(line: _Line, calls: _Calls) -> tuple[QueueLogEvent, ...]:
        wait = _seconds(line, waittime_index, "waittime")
        state = _call_state(line, calls)
        state.in_queue = False
        return (_call_event(line, CallEventKind.HANGUP, state, cause=cause, wait_seconds=wait),)

    return handle


def _transfer(line: _Line, calls: _Calls) -> tuple[QueueLogEvent, ...]:
    # TRANSFER|BLINDTRANSFER|extension|context|holdtime|calltime|origposition
    # ATTENDEDTRANSFER|BRIDGE|bridge id|holdtime|calltime|origposition (APP|app likewise)
    # ATTENDEDTRANSFER|LINK|channel|channel|holdtime|calltime|origposition
    if line.event == "ATTENDEDTRANSFER":
        method = line.arg(0).upper()
        if method in ("BRIDGE", "APP"):
            target, holdtime_index = "", 2
        elif method == "LINK":
            target, holdtime_index = "", 3
        else:
            raise PayloadError(f"ATTENDEDTRANSFER method {line.arg(0)!r} is unknown")
    else:
        target, holdtime_index = line.arg(0), 2
    wait = _seconds(line, holdtime_index, "holdtime")
    talk = _seconds(line, holdtime_index + 1, "calltime")
    state = _call_state(line, calls)
    state.in_queue = False
    return (
        _call_event(line, CallEventKind.TRANSFERRED, state, transfer_to=target),
        _call_event(
            line,
            CallEventKind.HANGUP,
            state,
            cause=HangupCause.NORMAL,
            wait_seconds=wait,
            talk_seconds=talk,
        ),
    )


def _ring_no_answer(line: _Line, calls: _Calls) -> tuple[QueueLogEvent, ...]:
    # RINGNOANSWER|ringtime in milliseconds
    ms = _whole(line, 0, "ringtime", "milliseconds")
    return (
        _agent_event(
            line,
            AgentEventKind.RING_NO_ANSWER,
            call_id=line.call_id,
            ring_seconds=None if ms is None else ms / 1000,
        ),
    )


def _add_member(line: _Line, calls: _Calls) -> tuple[QueueLogEvent, ...]:
    # ADDMEMBER[|PAUSED]: since 11, a member added paused says so.
    events: tuple[QueueLogEvent, ...] = (_agent_event(line, AgentEventKind.LOGGED_IN),)
    if line.arg(0).upper() == "PAUSED":
        events += (_agent_event(line, AgentEventKind.PAUSED),)
    return events


def _member(kind: AgentEventKind, *, all_queues: bool = False, with_reason: bool = False):
    def handle(line: _Line, calls: _Calls) -> tuple[QueueLogEvent, ...]:
        reason = line.arg(0) if with_reason else ""
        if all_queues:
            return (_agent_event(line, kind, queue="", reason=reason),)
        return (_agent_event(line, kind, reason=reason),)

    return handle


_HANDLERS: dict[str, Callable[[_Line, _Calls], tuple[QueueLogEvent, ...]]] = {
    "ENTERQUEUE": _enter_queue,
    "CONNECT": _connect,
    "COMPLETEAGENT": _complete,
    "COMPLETECALLER": _complete,
    "ABANDON": _exit(HangupCause.CALLER_ABANDONED, 2),
    "EXITWITHTIMEOUT": _exit(HangupCause.NO_ANSWER, 2),
    "EXITEMPTY": _exit(HangupCause.EXIT_EMPTY, 2),
    "EXITWITHKEY": _exit(HangupCause.EXIT_KEY, 3),
    "TRANSFER": _transfer,
    "BLINDTRANSFER": _transfer,
    "ATTENDEDTRANSFER": _transfer,
    "RINGNOANSWER": _ring_no_answer,
    "ADDMEMBER": _add_member,
    "REMOVEMEMBER": _member(AgentEventKind.LOGGED_OUT),
    "PAUSE": _member(AgentEventKind.PAUSED, with_reason=True),
    "UNPAUSE": _member(AgentEventKind.UNPAUSED, with_reason=True),
    "PAUSEALL": _member(AgentEventKind.PAUSED, all_queues=True, with_reason=True),
    "UNPAUSEALL": _member(AgentEventKind.UNPAUSED, all_queues=True, with_reason=True),
}
