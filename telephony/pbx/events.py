"""The normalised events every PBX parser produces, and the error they raise on bad input.

Parsers are pure: they never touch the database, the clock or the network. What they cannot
know from the payload (the time it was received, for formats without timestamps) is passed in.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class PayloadError(ValueError):
    """The payload cannot be turned into an event; the message names the problem."""


class SignatureError(ValueError):
    """The request is not signed by the connection's secret (or is outside the replay window)."""


class CallEventKind(StrEnum):
    QUEUED = "queued"  # the call entered a queue (offered); queue wait starts
    RINGING = "ringing"  # an agent's phone rings (screen-pop); ring time starts
    ANSWERED = "answered"  # an agent (or the callee, outbound) answered; talk starts
    HOLD = "hold"
    UNHOLD = "unhold"
    TRANSFERRED = "transferred"  # handed to `transfer_to` (an extension, queue or number)
    HANGUP = "hangup"  # the call ended; `cause` says how
    RECORDING = "recording"  # the recording is ready at `recording_url`


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class HangupCause(StrEnum):
    NORMAL = "normal"  # answered and hung up normally
    CALLER_ABANDONED = "abandoned"  # the caller hung up before an answer
    NO_ANSWER = "no_answer"  # rang out / queue timeout
    BUSY = "busy"
    REJECTED = "rejected"  # refused by us or by the callee
    FAILED = "failed"  # network or PBX failure, unreachable number
    EXIT_KEY = "exit_key"  # the caller left the queue with a key (queue_log EXITWITHKEY)
    EXIT_EMPTY = "exit_empty"  # the queue had no agents (queue_log EXITEMPTY)


@dataclass(frozen=True)
class CallEvent:
    kind: CallEventKind
    call_id: str  # the PBX's id of the call, stable across its events
    event_id: str  # unique per connection; derived deterministically when the PBX sends none
    occurred_at: datetime  # aware, UTC
    direction: Direction | None = None
    caller: str = ""  # as the PBX sent it; normalised to E.164 later, in the company's country
    callee: str = ""
    did: str = ""  # the dialled number that routes the call to a client company
    queue: str = ""
    agent: str = ""  # extension or SIP user of the agent concerned
    cause: HangupCause | None = None  # with HANGUP
    transfer_to: str = ""  # with TRANSFERRED
    recording_url: str = ""  # with RECORDING
    # Durations the PBX itself measured (e.g. queue_log's holdtime/calltime) win over the ones
    # derived from event times, which can be off by a second after truncation.
    wait_seconds: int | None = None
    talk_seconds: int | None = None


class AgentEventKind(StrEnum):
    LOGGED_IN = "logged_in"  # added to a queue / logged in
    LOGGED_OUT = "logged_out"
    PAUSED = "paused"
    UNPAUSED = "unpaused"
    RING_NO_ANSWER = "ring_no_answer"  # a call rang at the agent and was not picked up


@dataclass(frozen=True)
class AgentEvent:
    kind: AgentEventKind
    agent: str
    event_id: str
    occurred_at: datetime
    queue: str = ""  # empty: every queue (PAUSEALL, UNPAUSEALL)
    reason: str = ""  # pause reason as the PBX sent it
    call_id: str = ""  # with RING_NO_ANSWER
    ring_seconds: float | None = None  # with RING_NO_ANSWER (queue_log logs milliseconds)
