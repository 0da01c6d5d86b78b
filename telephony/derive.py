"""A call's facts as a pure function of the set of its events.

The apply service stores every event and then re-derives the call from all of them, so that a
duplicated, retried or out-of-order event (a hang-up that arrives before its answer) gives the
same call as the tidy sequence: the result depends on the set of events, never on their order
of arrival.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from telephony.models import Call
from telephony.pbx.events import CallEvent, CallEventKind, Direction, HangupCause

# Within one second PBXs often log several events; this is the order they happen in.
_KIND_ORDER = {
    CallEventKind.QUEUED: 0,
    CallEventKind.RINGING: 1,
    CallEventKind.ANSWERED: 2,
    CallEventKind.HOLD: 3,
    CallEventKind.UNHOLD: 4,
    CallEventKind.TRANSFERRED: 5,
    CallEventKind.HANGUP: 6,
    CallEventKind.RECORDING: 7,
}


Outcome = Call.Outcome


@dataclass(frozen=True)
class CallFacts:
    direction: str
    caller: str
    callee: str
    did: str
    queue: str  # the last queue the call entered (an overflow ends in the second queue)
    agent: str  # who answered, else the last agent whose phone rang
    offered_at: datetime
    ringing_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    queue_wait_seconds: int | None
    ring_seconds: int | None
    talk_seconds: int | None
    hold_seconds: int
    transfer_count: int
    recording_url: str
    outcome: str


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max(0, int((end - start).total_seconds()))


def _sort_key(event: CallEvent):
    return (event.occurred_at, _KIND_ORDER[event.kind], event.event_id)


def _first(events: list[CallEvent], attribute: str) -> str:
    return next((getattr(e, attribute) for e in events if getattr(e, attribute)), "")


def overflow_visits(events: Iterable[CallEvent]) -> list[tuple[str, datetime, datetime]]:
    """The queues the call left for another, in order: (queue code, entered, left). The last
    queue it entered is its own (facts.queue) and is not among them; re-entering the same
    queue is no overflow."""
    queued = [
        e
        for e in sorted({e.event_id: e for e in events}.values(), key=_sort_key)
        if e.kind == CallEventKind.QUEUED and e.queue
    ]
    # A run of entries into one queue is one visit, from its first entry to the next queue's.
    runs = [entry for i, entry in enumerate(queued) if i == 0 or entry.queue != queued[i - 1].queue]
    return [
        (entry.queue, entry.occurred_at, following.occurred_at)
        for entry, following in pairwise(runs)
    ]


def hold_spans(
    events: Iterable[CallEvent], end: datetime | None
) -> list[tuple[datetime, datetime | None]]:
    """(start, end) of each hold; a hold still on when the call ended closes at its end."""
    spans: list[tuple[datetime, datetime | None]] = []
    started: datetime | None = None
    for event in sorted(events, key=_sort_key):
        if event.kind == CallEventKind.HOLD and started is None:
            started = event.occurred_at
        elif event.kind == CallEventKind.UNHOLD and started is not None:
            spans.append((started, event.occurred_at))
            started = None
    if started is not None:
        spans.append((started, end))
    return spans


def _hold_seconds(events: list[CallEvent], end: datetime | None) -> int:
    return sum(_seconds(start, stop) or 0 for start, stop in hold_spans(events, end))


def _measured_wait(events: list[CallEvent]) -> int | None:
    """Queue wait the PBX measured, summed over queue visits until the first answer.

    Each visit logs its own wait (an overflow exit, then the next queue's connect); a visit's
    hang-up after its answer repeats the same wait and is not added again.
    """
    total: int | None = None
    answered_in_visit = False
    for event in events:
        if event.kind == CallEventKind.QUEUED:
            answered_in_visit = False
        elif event.wait_seconds is not None and (
            event.kind == CallEventKind.ANSWERED
            or (event.kind == CallEventKind.HANGUP and not answered_in_visit)
        ):
            total = (total or 0) + event.wait_seconds
            if event.kind == CallEventKind.ANSWERED:
                return total
        if event.kind == CallEventKind.ANSWERED:
            answered_in_visit = True
    return total


def _outcome(
    answered: bool, hangup: CallEvent | None, queued: bool, wait: int | None, short_abandon: int
) -> str:
    if answered:
        return Outcome.ANSWERED
    if hangup is None:
        return Outcome.IN_PROGRESS
    cause = hangup.cause
    if cause in (HangupCause.CALLER_ABANDONED, HangupCause.NORMAL):
        # A caller hanging up before any answer is an abandon, whatever the PBX called it.
        if wait is not None and wait <= short_abandon:
            return Outcome.SHORT_ABANDON
        return Outcome.ABANDONED
    return {
        HangupCause.NO_ANSWER: Outcome.TIMEOUT if queued else Outcome.MISSED,
        HangupCause.BUSY: Outcome.BUSY,
        HangupCause.EXIT_KEY: Outcome.EXIT_KEY,
        HangupCause.EXIT_EMPTY: Outcome.EXIT_EMPTY,
    }.get(cause, Outcome.FAILED)


def derive_call(events: Iterable[CallEvent], *, short_abandon_seconds: int = 5) -> CallFacts:
    """The call described by `events` (any order, duplicates allowed; at least one event)."""
    unique = sorted({e.event_id: e for e in events}.values(), key=_sort_key)
    if not unique:
        raise ValueError("a call needs at least one event")
    by_kind: dict[CallEventKind, list[CallEvent]] = {}
    for event in unique:
        by_kind.setdefault(event.kind, []).append(event)
    queued = by_kind.get(CallEventKind.QUEUED, [])
    ringing = by_kind.get(CallEventKind.RINGING, [])
    answered = by_kind.get(CallEventKind.ANSWERED, [])
    hangups = by_kind.get(CallEventKind.HANGUP, [])
    recordings = by_kind.get(CallEventKind.RECORDING, [])

    answer = answered[0] if answered else None
    # A call that re-entered a queue after a hang-up line (queue_log's overflow: EXITWITHTIMEOUT
    # in one queue, ENTERQUEUE in the next) is still going: only a later hang-up ends it.
    # Within one second a queue's exit line and the next queue's entry can come in either
    # order: a same-second hang-up ends the call only if it is about the last queue entered.
    last = queued[-1] if queued else None
    final = [
        h
        for h in hangups
        if last is None
        or h.occurred_at > last.occurred_at
        or (h.occurred_at == last.occurred_at and h.queue in ("", last.queue))
    ]
    hangup = final[-1] if final else None
    offered_at = (queued or ringing or unique)[0].occurred_at
    answered_at = answer.occurred_at if answer else None
    ended_at = hangup.occurred_at if hangup else None
    # The ring that led to the answer: the last one before it (or before the end, if none).
    limit = answered_at or ended_at
    rings_before = [r for r in ringing if limit is None or r.occurred_at <= limit]
    ring = rings_before[-1] if rings_before else None
    ringing_at = ring.occurred_at if ring else None

    measured_wait = _measured_wait(unique)
    wait = (
        measured_wait
        if measured_wait is not None
        else _seconds(offered_at, answered_at or ended_at)
    )
    hold = _hold_seconds(unique, ended_at)
    # Each leg (before and after a transfer into another queue) logs its own talk time.
    measured_talks = [e.talk_seconds for e in hangups if e.talk_seconds is not None]
    if answered_at is None:
        talk = None
    elif measured_talks:
        talk = sum(measured_talks)
    else:
        elapsed = _seconds(answered_at, ended_at)
        talk = None if elapsed is None else max(0, elapsed - hold)

    direction = _first(unique, "direction") or Direction.INBOUND
    return CallFacts(
        direction=str(direction),
        caller=_first(unique, "caller"),
        callee=_first(unique, "callee"),
        did=_first(unique, "did"),
        queue=queued[-1].queue if queued else _first(unique, "queue"),
        agent=(answer.agent if answer and answer.agent else (ring.agent if ring else "")),
        offered_at=offered_at,
        ringing_at=ringing_at,
        answered_at=answered_at,
        ended_at=ended_at,
        queue_wait_seconds=wait if queued or answered_at or ended_at else None,
        ring_seconds=_seconds(ringing_at, answered_at or ended_at),
        talk_seconds=talk,
        hold_seconds=hold,
        transfer_count=len(by_kind.get(CallEventKind.TRANSFERRED, [])),
        recording_url=recordings[-1].recording_url if recordings else "",
        outcome=_outcome(answer is not None, hangup, bool(queued), wait, short_abandon_seconds),
    )
