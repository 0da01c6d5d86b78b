"""Applying normalised PBX events to the call log: idempotent, order-tolerant, one call locked."""

from dataclasses import asdict, dataclass, fields
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from contactcenter.lib.phones import lookup_key
from contactcenter.lib.queries import unique_or_none
from contactcenter.tenancy.models import Company
from crm.selectors import customers_by_phone
from telephony import presence, realtime
from telephony.derive import derive_call, hold_spans
from telephony.models import (
    Agent,
    Call,
    CallEventRecord,
    DidRoute,
    Extension,
    HoldSpan,
    InboundRequest,
    PbxConnection,
    Queue,
)
from telephony.pbx.events import CallEvent, CallEventKind, Direction, HangupCause, PayloadError
from telephony.routing import did_route_find

_ENUMS = {"kind": CallEventKind, "direction": Direction, "cause": HangupCause}


def event_to_json(event: CallEvent) -> dict:
    data = asdict(event)
    data["occurred_at"] = event.occurred_at.isoformat()
    return {k: (str(v) if k in _ENUMS and v is not None else v) for k, v in data.items()}


def event_from_json(data: dict) -> CallEvent:
    known = {f.name for f in fields(CallEvent)}
    values = {k: v for k, v in data.items() if k in known}
    values["occurred_at"] = datetime.fromisoformat(values["occurred_at"])
    for name, enum in _ENUMS.items():
        if values.get(name) is not None:
            values[name] = enum(values[name])
    return CallEvent(**values)


def company_for_event(connection: PbxConnection, event: CallEvent) -> Company:
    """The connection's company; on a shared PBX, the company of the call's first event, which
    its dialled number (DID) routed: later events of the call often carry no DID at all."""
    if connection.company_id is not None:
        return connection.company
    existing = (
        Call.objects.filter(connection=connection, pbx_call_id=event.call_id)
        .select_related("company")
        .first()
    )
    if existing is not None:
        return existing.company
    route = did_route_find(connection=connection, did=event.did)
    if route is not None:
        return route.company
    raise PayloadError(
        _("did: %(did)s is not routed to any client company on this connection")
        % {"did": event.did or "-"}
    )


def connection_companies(connection: PbxConnection) -> list[Company]:
    """The companies a connection speaks for: its own, or on a shared PBX every routed one."""
    if connection.company_id is not None:
        return [connection.company]
    return list(
        Company.objects.filter(
            pk__in=DidRoute.objects.filter(connection=connection).values("company_id")
        )
    )


@dataclass(frozen=True)
class Applied:
    call: Call
    duplicate: bool


def _locked_call(connection: PbxConnection, company: Company, event: CallEvent) -> Call:
    calls = Call.objects.select_for_update()
    try:
        call = calls.get(connection=connection, pbx_call_id=event.call_id)
        call.company = company  # the same row: company_for_event read it already
        return call
    except Call.DoesNotExist:
        pass
    try:
        # Two first events of one call may race: the unique constraint lets one create it.
        with transaction.atomic():
            return Call.objects.create(
                company=company,
                connection=connection,
                pbx_call_id=event.call_id,
                offered_at=event.occurred_at,
            )
    except IntegrityError:
        return calls.get(connection=connection, pbx_call_id=event.call_id)


def _apply_facts(call: Call, events: list[CallEvent]) -> dict[str, Agent]:
    """Re-derive the call from its events; returns the agent it found by extension number."""
    company = call.company
    queue_code = next((e.queue for e in reversed(events) if e.kind == CallEventKind.QUEUED), "")
    queue = (
        unique_or_none(Queue.objects.for_tenant(company).filter(code=queue_code))
        if queue_code
        else None
    )
    facts = derive_call(events, short_abandon_seconds=queue.short_abandon_seconds if queue else 5)
    if facts.queue and (queue is None or queue.code != facts.queue):
        queue = unique_or_none(Queue.objects.for_tenant(company).filter(code=facts.queue))
    extension = (
        unique_or_none(
            Extension.objects.for_tenant(company).filter(number=facts.agent).select_related("agent")
        )
        if facts.agent
        else None
    )
    caller_e164 = lookup_key(facts.caller, company.default_country) or ""
    matched_before = call.caller_e164
    call.direction = facts.direction
    call.caller, call.caller_e164 = facts.caller[:64], caller_e164
    call.callee, call.did = facts.callee[:64], facts.did[:64]
    call.queue = queue
    call.agent = extension.agent if extension else None
    call.offered_at, call.ringing_at = facts.offered_at, facts.ringing_at
    call.answered_at, call.ended_at = facts.answered_at, facts.ended_at
    call.queue_wait_seconds, call.ring_seconds = facts.queue_wait_seconds, facts.ring_seconds
    call.talk_seconds, call.hold_seconds = facts.talk_seconds, facts.hold_seconds
    call.transfer_count, call.recording_url = facts.transfer_count, facts.recording_url
    call.outcome = facts.outcome
    call.save()
    if caller_e164 != matched_before:
        call.customers.set(customers_by_phone(company, caller_e164) if caller_e164 else [])
    _store_hold_spans(call, events)
    return {facts.agent: extension.agent} if extension else {}


def _store_hold_spans(call: Call, events: list[CallEvent]) -> None:
    if not any(e.kind in (CallEventKind.HOLD, CallEventKind.UNHOLD) for e in events):
        return  # spans only ever come from hold events: there is nothing to replace
    call.hold_spans.all().delete()
    HoldSpan.objects.bulk_create(
        HoldSpan(call=call, started_at=start, ended_at=stop)
        for start, stop in hold_spans(events, call.ended_at)
    )


def call_event_apply(
    *, connection: PbxConnection, event: CallEvent, request: InboundRequest | None = None
) -> Applied:
    """Store the event and re-derive its call; a retried event id changes nothing."""
    if not event.call_id:
        raise PayloadError(_("call_id: missing"))
    company = company_for_event(connection, event)
    with transaction.atomic():
        call = _locked_call(connection, company, event)
        # The call row lock serialises every event of this call, so this check cannot race.
        if CallEventRecord.objects.filter(connection=connection, event_id=event.event_id).exists():
            return Applied(call=call, duplicate=True)
        CallEventRecord.objects.create(
            company=company,
            connection=connection,
            event_id=event.event_id,
            call=call,
            kind=event.kind,
            occurred_at=event.occurred_at,
            data=event_to_json(event),
            request=request,
        )
        # derive_call orders the events itself: no ORDER BY needed.
        rows = call.events.order_by().values_list("data", flat=True)
        events = [event_from_json(data) for data in rows]
        known_agents = _apply_facts(call, events)
        # Only a call that has rung someone concerns an agent (derive names the last one rung).
        payload = realtime.call_payload(call) if call.agent_id or event.agent else None
        live, company_id = realtime.live_call_payload(call), call.company_id
        # The card is registered before the state changes, so that it is sent first after
        # commit: the screen-pop is what the agent waits for. Presence fills in who gets it.
        agent_ids: list[int] = []
        transaction.on_commit(lambda: realtime.push_call(agent_ids, company_id, payload, live))
        concerned = presence.call_presence_apply(call=call, event=event, known_agents=known_agents)
        # The agents whose phones the call is at (after a transfer, the second agent too), and
        # the agent who answered it.
        agent_ids.extend(sorted(concerned | ({call.agent_id} if call.agent_id else set())))
    return Applied(call=call, duplicate=False)
