"""Agent presence: each agent's state intervals, changed only through the functions here.

An agent (one row per user and client company) has at most one open interval: its current state.
Every change closes it and opens the next at the same instant, so that the intervals tile the
agent's time with no gap and no overlap; occupancy (design.md) is read from them.

The time of a change is the time of the PBX event that caused it, or the clock for the agent's
own actions. A change dated before the current state began is ignored: a late or re-imported
event never rewrites an agent's past. (The call log is re-derived exactly from all of a call's
events; presence is a timeline and only moves forward.) An interval remembers the event that
opened it, so a retried agent event changes nothing.

Lock order, to rule out deadlocks between the webhook and the agent's own actions: the call row
first (the apply service holds it), then the agent rows.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from contactcenter.lib import rawsql
from contactcenter.tenancy.models import Company
from contactcenter.tenancy.scoping import company_ids_for
from telephony import batch, realtime
from telephony.models import (
    Agent,
    AgentState,
    AgentStateInterval,
    Call,
    PauseReason,
)
from telephony.pbx.events import AgentEvent, AgentEventKind, CallEvent, CallEventKind

# When a call has no queue, wrap-up ends after this long unless the agent ends it sooner.
DEFAULT_MAX_WRAP_UP_SECONDS = 120

# The states agents choose themselves; the others follow the calls.
SELF_SET_STATES = (AgentState.AVAILABLE, AgentState.PAUSED, AgentState.OFFLINE)
CALL_STATES = (AgentState.RINGING, AgentState.ON_CALL)


class PresenceError(ValueError):
    """The change is not allowed now; the message says why, in the user's language."""


def agent_current_state(agent: Agent) -> AgentStateInterval | None:
    return (
        AgentStateInterval.objects.filter(agent=agent, ended_at__isnull=True)
        .select_related("pause_reason")
        .first()
    )


def _lock(agent_ids: list[int]) -> None:
    # The agent row serialises every change of its state: two writers cannot both see the
    # same open interval and each open a successor.
    rawsql.lock(Agent, f"id IN ({rawsql.placeholders(agent_ids)})", agent_ids)


def open_intervals(agent_ids) -> dict[int, AgentStateInterval]:
    """The current state of each agent (read after locking them: a fresh snapshot)."""
    return open_intervals_later(agent_ids)()


def open_intervals_later(agent_ids):
    """`open_intervals`, sent now and read when the function returned is called."""
    agent_ids = list(agent_ids)
    if not agent_ids:
        return dict
    rows = rawsql.select_later(
        AgentStateInterval,
        f"ended_at IS NULL AND agent_id IN ({rawsql.placeholders(agent_ids)})",
        agent_ids,
    )
    return lambda: {i.agent_id: i for i in rows()}


_END_WRAP_UP = (
    "UPDATE telephony_call SET wrap_up_ended_at = %s, wrap_up_seconds = %s "
    "WHERE id = %s AND agent_id = %s AND wrap_up_ended_at IS NULL"
)


def _end_wrap_up(interval: AgentStateInterval, at: datetime) -> None:
    """A finished wrap-up is the call's after-call work (AHT), when it was the answering agent's."""
    seconds = max(0, int((at - interval.started_at).total_seconds()))
    unit = batch.current()
    call = unit.calls_by_id.get(interval.call_id) if unit is not None else None
    if call is not None:
        # A call of the batch: its row may be behind the call in memory.
        if call.agent_id == interval.agent_id and call.wrap_up_ended_at is None:
            call.wrap_up_ended_at, call.wrap_up_seconds = at, seconds
            unit.call_changed(call, ["wrap_up_ended_at", "wrap_up_seconds"])
        return
    params = [rawsql.prep(Call, "wrap_up_ended_at", at), seconds, interval.call_id]
    if unit is not None:
        unit.later(_END_WRAP_UP, [*params, interval.agent_id])  # an earlier call: not in memory
    else:
        rawsql.execute(_END_WRAP_UP, [*params, interval.agent_id])


_UNREAD = object()


def _change(
    agent_id: int,
    company_id: int,
    state: str,
    at: datetime,
    *,
    pause_reason: PauseReason | None = None,
    call_id: int | None = None,
    event_id: str = "",
    current=_UNREAD,
    pushes: list | None = None,
) -> AgentStateInterval | None:
    """Close the agent's current interval at `at` and open `state`; None when nothing changed.

    Runs inside the caller's transaction. Locks the agent row, unless the caller passes the
    `current` interval it read after locking the agent itself. The state's push is sent after
    commit, or appended to `pushes` for the caller to send with its own.
    """
    if current is _UNREAD:
        _lock([agent_id])
        if event_id and rawsql.execute(
            "SELECT 1 FROM telephony_agentstateinterval WHERE agent_id = %s AND event_id = %s",
            [agent_id, event_id],
        ):
            return None
        current = open_intervals([agent_id]).get(agent_id)
    reason_id = pause_reason.pk if pause_reason else None
    if current is not None:
        if at < current.started_at:
            return None
        if (current.state, current.pause_reason_id, current.call_id) == (state, reason_id, call_id):
            return None
        current.ended_at = at
        unit = batch.current()
        if unit is not None:
            unit.interval_closed(current)
        else:
            rawsql.update(current, ["ended_at"])
        if current.state == AgentState.WRAP_UP and current.call_id:
            _end_wrap_up(current, at)
    opened = rawsql.new(
        AgentStateInterval,
        company_id=company_id,
        agent_id=agent_id,
        state=state,
        pause_reason=pause_reason,
        call_id=call_id,
        started_at=at,
        event_id=event_id,
    )
    unit = batch.current()
    if unit is not None:
        unit.interval_opened(opened)
    else:
        rawsql.insert(opened)
    payload = realtime.state_payload(agent_id, opened)
    if pushes is not None:
        pushes.append((agent_id, payload))
    else:
        transaction.on_commit(lambda: realtime.push_state(agent_id, company_id, payload))
    return opened


# --- calls --------------------------------------------------------------------------------------


def call_presence_apply(
    *, call: Call, event: CallEvent, known_agents: dict[str, int], pushes: list
) -> set[int]:
    """The states a call event puts agents in; returns the agents the call concerns now (the
    one the event names, and those ringing, talking or wrapping up on it), who get its card.
    Runs in the apply transaction, call row locked; the states' pushes go to `pushes`.

    ACDs ring one agent at a time: a call ringing at another agent, or answered by one, sends
    the agents it rang before back to available (a ring-no-answer). The hang-up of an answered
    call starts its agent's wrap-up; a transfer starts the transferring agent's.

    A call event is applied once (its event record is unique), so unlike an agent event it needs
    no look-up of its event id among the intervals.
    """
    kind, at = event.kind, event.occurred_at
    named = (
        known_agents[event.agent]
        if event.agent in known_agents
        else _agent_with_extension(call.company_id, event.agent)
    )
    unit = batch.current()
    if unit is not None:
        current = unit.call_agents(call.pk, named)
    else:
        on_call = (
            "id IN (SELECT agent_id FROM telephony_agentstateinterval "
            "WHERE call_id = %s AND ended_at IS NULL)"
        )
        if named:
            locked = rawsql.lock(Agent, f"id = %s OR {on_call}", [named, call.pk])
        else:
            locked = rawsql.lock(Agent, on_call, [call.pk])
        current = open_intervals(locked)
    linked = sorted((i for i in current.values() if i.call_id == call.pk), key=lambda i: i.agent_id)
    concerned = {i.agent_id for i in linked} | ({named} if named else set())

    def change(agent_id: int, state: str, call_id: int | None) -> None:
        _change(
            agent_id,
            call.company_id,
            state,
            at,
            call_id=call_id,
            event_id=event.event_id,
            current=current.get(agent_id),
            pushes=pushes,
        )

    if kind in (CallEventKind.RINGING, CallEventKind.ANSWERED):
        for interval in linked:
            if interval.state == AgentState.RINGING and interval.agent_id != named:
                change(interval.agent_id, AgentState.AVAILABLE, None)
        if named is not None:
            state = AgentState.RINGING if kind == CallEventKind.RINGING else AgentState.ON_CALL
            change(named, state, call.pk)
    elif kind == CallEventKind.TRANSFERRED:
        transferring = named or next(
            (i.agent_id for i in linked if i.state == AgentState.ON_CALL), None
        )
        if transferring is not None:
            change(transferring, AgentState.WRAP_UP, call.pk)
    elif kind == CallEventKind.HANGUP:
        for interval in linked:
            if interval.state == AgentState.ON_CALL:
                change(interval.agent_id, AgentState.WRAP_UP, call.pk)
            elif interval.state == AgentState.RINGING:
                change(interval.agent_id, AgentState.AVAILABLE, None)
    return concerned


def _agent_with_extension(company_id: int, number: str) -> int | None:
    if not number:
        return None
    from telephony.services import agent_of_extension  # services imports this module

    return agent_of_extension(company_id, number)


# --- agent events from the PBX ------------------------------------------------------------------


@dataclass(frozen=True)
class AgentEventResult:
    agents: int  # agent rows whose state the event addressed
    changed: int  # of those, how many changed state


def _pause_reason(company_id: int, text: str) -> PauseReason | None:
    """The company's reason by code or label; one the PBX invents is added, so nothing is lost."""
    text = text.strip()
    if not text:
        return None
    code = slugify(text, allow_unicode=True)[:50] or "pause"
    reasons = PauseReason.objects.filter(company_id=company_id)
    found = reasons.filter(code=code).first() or reasons.filter(label__iexact=text).first()
    if found is not None:
        return found
    reason, _created = PauseReason.objects.get_or_create(
        company_id=company_id, code=code, defaults={"label": text[:100]}
    )
    return reason


def agent_event_apply(*, companies: list[Company], event: AgentEvent) -> AgentEventResult:
    """A PBX's word on an agent (login, logout, pause, available), for the agent rows with that
    extension in these companies (one, unless a shared PBX serves several with one phone)."""
    agents = list(
        Agent.objects.filter(company__in=companies, extensions__number=event.agent).select_related(
            "company"
        )
    )
    changed = 0
    for agent in agents:
        with transaction.atomic():
            changed += _agent_event_change(agent, event) is not None
    return AgentEventResult(agents=len(agents), changed=changed)


def _agent_event_change(agent: Agent, event: AgentEvent) -> AgentStateInterval | None:
    at, event_id = event.occurred_at, event.event_id
    current = AgentStateInterval.objects.filter(agent=agent, ended_at__isnull=True).first()
    state = current.state if current else AgentState.OFFLINE
    if event.kind == AgentEventKind.LOGGED_OUT:
        return _change(agent.pk, agent.company_id, AgentState.OFFLINE, at, event_id=event_id)
    if event.kind == AgentEventKind.PAUSED:
        reason = _pause_reason(agent.company_id, event.reason)
        return _change(
            agent.pk,
            agent.company_id,
            AgentState.PAUSED,
            at,
            pause_reason=reason,
            event_id=event_id,
        )
    if event.kind == AgentEventKind.LOGGED_IN and state != AgentState.OFFLINE:
        return None  # logging in to one more queue changes nothing for an agent already working
    if event.kind in (AgentEventKind.LOGGED_IN, AgentEventKind.UNPAUSED):
        if state in CALL_STATES:
            return None  # "ready" while talking: the call decides when the agent is free
        return _change(agent.pk, agent.company_id, AgentState.AVAILABLE, at, event_id=event_id)
    return None  # a ring-no-answer is told by the call's own events


# --- the agent's own actions --------------------------------------------------------------------


def agent_state_set(
    *, user, state: str, pause_reason_code: str = "", now: datetime | None = None
) -> list[AgentStateInterval]:
    """The agent chooses available, paused (with a reason) or offline, for every client company
    they take calls for: a person is in one state at a time. Leaving wrap-up ends it."""
    if state not in SELF_SET_STATES:
        raise PresenceError(_("Choose available, paused or offline."))
    now = now or timezone.now()
    agents = list(Agent.objects.filter(user=user, company_id__in=company_ids_for(user)))
    if not agents:
        raise PresenceError(_("You are not set up as an agent of any client company."))
    reasons = {}
    if state == AgentState.PAUSED:
        if not pause_reason_code:
            raise PresenceError(_("Choose a pause reason."))
        reasons = {
            r.company_id: r
            for r in PauseReason.objects.filter(
                company_id__in=[a.company_id for a in agents], code=pause_reason_code
            )
        }
        if not reasons:
            raise PresenceError(_("Unknown pause reason."))
    opened = []
    with transaction.atomic():
        current = {
            i.agent_id: i
            for i in AgentStateInterval.objects.filter(agent__in=agents, ended_at__isnull=True)
        }
        # The call rows first (see the module's lock order), then the agents.
        call_ids = sorted(i.call_id for i in current.values() if i.call_id)
        list(Call.objects.select_for_update().filter(pk__in=call_ids).values_list("pk"))
        _lock([a.pk for a in agents])
        current = {
            i.agent_id: i
            for i in AgentStateInterval.objects.filter(agent__in=agents, ended_at__isnull=True)
        }
        if any(i.state in CALL_STATES for i in current.values()):
            raise PresenceError(_("You are on a call: your state follows the call until it ends."))
        for agent in agents:
            interval = _change(
                agent.pk, agent.company_id, state, now, pause_reason=reasons.get(agent.company_id)
            )
            if interval is not None:
                opened.append(interval)
    return opened


def wrap_up_finish(*, call: Call, user, now: datetime | None = None) -> bool:
    """The user submitted the call's wrap-up: if they are still wrapping it up, they are done
    and available. False when they had no wrap-up of this call going on."""
    now = now or timezone.now()
    with transaction.atomic():
        Call.objects.select_for_update().filter(pk=call.pk).first()
        interval = (
            AgentStateInterval.objects.filter(
                call=call, agent__user=user, state=AgentState.WRAP_UP, ended_at__isnull=True
            )
            .select_related("agent")
            .first()
        )
        if interval is None:
            return False
        return (
            _change(
                interval.agent_id,
                interval.company_id,
                AgentState.AVAILABLE,
                max(now, interval.started_at),
            )
            is not None
        )


def wrap_ups_expire(*, now: datetime | None = None) -> int:
    """End every wrap-up that has run past its queue's maximum, at the exact moment it ran out
    (not when this job happened to run). Idempotent; returns how many it ended."""
    now = now or timezone.now()
    ended = 0
    open_wrap_ups = AgentStateInterval.objects.filter(
        state=AgentState.WRAP_UP, ended_at__isnull=True
    ).select_related("agent", "call__queue")
    for interval in open_wrap_ups:
        queue = interval.call.queue if interval.call_id else None
        limit = queue.max_wrap_up_seconds if queue else DEFAULT_MAX_WRAP_UP_SECONDS
        due = interval.started_at + timedelta(seconds=limit)
        if due > now:
            continue
        with transaction.atomic():
            if interval.call_id:
                Call.objects.select_for_update().filter(pk=interval.call_id).first()
            _lock([interval.agent_id])
            still_open = AgentStateInterval.objects.filter(
                pk=interval.pk, ended_at__isnull=True
            ).exists()
            if still_open:
                ended += (
                    _change(interval.agent_id, interval.company_id, AgentState.AVAILABLE, due)
                    is not None
                )
    return ended
