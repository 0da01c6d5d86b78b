"""Applying normalised PBX events to the call log: idempotent, order-tolerant, one call locked."""

import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from contactcenter.lib import rawsql
from contactcenter.lib.phones import lookup_key
from contactcenter.tenancy.models import Company
from crm.models import Customer
from crm.selectors import customers_by_phone
from telephony import batch, presence, realtime
from telephony.derive import derive_call, hold_spans, overflow_visits
from telephony.models import (
    Call,
    CallEventRecord,
    DidRoute,
    Extension,
    HoldSpan,
    InboundRequest,
    PbxConnection,
    Queue,
    QueueVisit,
)
from telephony.pbx.events import CallEvent, CallEventKind, Direction, HangupCause, PayloadError
from telephony.routing import did_route_find

_ENUMS = {"kind": CallEventKind, "direction": Direction, "cause": HangupCause}
# Every field is a scalar: no need for dataclasses.asdict's deep copy, a tenth of a millisecond.
_EVENT_FIELDS = tuple(f.name for f in fields(CallEvent))


def event_to_json(event: CallEvent) -> dict:
    data = {name: getattr(event, name) for name in _EVENT_FIELDS}
    data["occurred_at"] = event.occurred_at.isoformat()
    return {k: (str(v) if k in _ENUMS and v is not None else v) for k, v in data.items()}


def event_from_json(data: dict) -> CallEvent:
    values = {k: v for k, v in data.items() if k in _EVENT_FIELDS}
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


# The webhook's hot path is hand-written SQL (contactcenter/lib/rawsql.py): through the ORM its
# dozen statements per event cost about 20 ms of CPU, most of it compiling SQL
# (bench/profile_webhook.py); written once they cost a tenth of that.

_CALL_KEY = "connection_id = %s AND pbx_call_id = %s"
_DERIVED = (
    "direction",
    "caller",
    "caller_e164",
    "callee",
    "did",
    "queue",
    "agent",
    "offered_at",
    "ringing_at",
    "answered_at",
    "ended_at",
    "queue_wait_seconds",
    "ring_seconds",
    "talk_seconds",
    "hold_seconds",
    "transfer_count",
    "recording_url",
    "outcome",
)


def _locked_call(connection: PbxConnection, company: Company, event: CallEvent) -> Call:
    unit = batch.current()
    call = unit.call(connection.pk, event.call_id) if unit is not None else None
    if call is None:
        key = unit.take_call_key() if unit is not None else None
        if key is not None:
            # New to the batch, which read every call it names: made here, written with its
            # derived values when the batch is (one INSERT for all, none rewritten).
            call = _new_call(connection, company, event)
            call.pk = key
            unit.call_created(call)
        else:
            # A call the batch did not find when it read ahead is new: no need to look again.
            look = unit is None or unit.fresh_start
            call, created = _lock_or_create_call(connection, company, event, look=look)
            if unit is not None:
                unit.call_added(call, created=created)
    call.company, call.connection = company, connection  # the same rows: no need to read them
    return call


def _new_call(connection: PbxConnection, company: Company, event: CallEvent) -> Call:
    return rawsql.new(
        Call,
        company=company,
        connection=connection,
        pbx_call_id=event.call_id,
        offered_at=event.occurred_at,
    )


def _lock_or_create_call(
    connection: PbxConnection, company: Company, event: CallEvent, *, look: bool = True
) -> tuple[Call, bool]:
    key = [connection.pk, event.call_id]
    found = rawsql.select(Call, _CALL_KEY, key, lock=True) if look else []
    if not found:
        call = _new_call(connection, company, event)
        # Two first events of one call may race: the unique constraint lets one create it, and
        # the other waits for it, writes nothing, and locks the row it made.
        if rawsql.insert(call, ignore_conflict=True):
            return call, True
        found = rawsql.select(Call, _CALL_KEY, key, lock=True)
    return found[0], False


_memo = threading.local()


@contextmanager
def lookups_kept():
    """Within the block, queues and extensions are read once each: the applier's batch of a
    few hundred events names the same few again and again. (Not across batches: a change an
    administrator makes applies from the next batch on.)"""
    if getattr(_memo, "values", None) is not None:
        yield
        return
    _memo.values = {}
    try:
        yield
    finally:
        _memo.values = None


def lookups_prefill(company_ids: list[int], extensions: list[str]) -> None:
    """Read ahead, within `lookups_kept`, every queue of these companies and these extensions."""
    lookups_prefill_later(company_ids, extensions)()


def lookups_prefill_later(company_ids: list[int], extensions: list[str]) -> Callable[[], None]:
    """`lookups_prefill`, its queries sent now and their answers kept when the returned function
    is called (rawsql.pipelined: with the other reads sent before it)."""
    values = getattr(_memo, "values", None)
    if values is None or not company_ids:
        return lambda: None
    in_companies = rawsql.placeholders(company_ids)
    queues = rawsql.select_later(Queue, f"company_id IN ({in_companies})", company_ids)
    numbers = (
        rawsql.select_values_later(
            Extension,
            ["company_id", "number", "agent_id"],
            f"company_id IN ({in_companies}) AND number IN ({rawsql.placeholders(extensions)})",
            [*company_ids, *extensions],
        )
        if extensions
        else None
    )

    def keep() -> None:
        for queue in queues():
            values[("queue", queue.company_id, queue.code)] = queue
        if numbers is None:
            return
        found = {(company_id, number): agent_id for company_id, number, agent_id in numbers()}
        for company_id in company_ids:
            for number in extensions:
                values[("extension", company_id, number)] = found.get((company_id, number))

    return keep


def _kept(key: tuple, load):
    values = getattr(_memo, "values", None)
    if values is None:
        return load()
    if key not in values:
        values[key] = load()
    return values[key]


def _queue(company: Company, code: str) -> Queue | None:
    def load():
        found = rawsql.select(Queue, "company_id = %s AND code = %s", [company.pk, code])
        return found[0] if found else None

    return _kept(("queue", company.pk, code), load)


def agent_of_extension(company_id: int, number: str) -> int | None:
    """The agent whose extension (or SIP user) this is in the company."""

    def load():
        found = rawsql.select_values(
            Extension, ["agent_id"], "company_id = %s AND number = %s", [company_id, number]
        )
        return found[0][0] if found else None

    return _kept(("extension", company_id, number), load)


def _match_customers(call: Call, matched_before: str) -> list[tuple[int, str]] | None:
    """Link the call to the customers with the caller's number, when the number changed (the
    first event, mostly); their (id, name), or None when the links stayed as they were."""
    if call.caller_e164 == matched_before:
        return None
    unit = batch.current()
    if unit is not None:
        found = unit.matches(call.company, call.caller_e164) if call.caller_e164 else []
        unit.relink(call, found, had_links=bool(matched_before))
        return found
    through = Call.customers.through._meta.db_table
    if matched_before:
        rawsql.execute(f"DELETE FROM {through} WHERE call_id = %s", [call.pk])
    customers = customers_by_phone(call.company, call.caller_e164) if call.caller_e164 else []
    if customers:
        rows = ", ".join(["(%s, %s)"] * len(customers))
        rawsql.execute(
            f"INSERT INTO {through} (call_id, customer_id) VALUES {rows}",
            [value for c in customers for value in (call.pk, c.pk)],
        )
    return [(c.pk, c.display_name) for c in customers]


def _linked_customers(call: Call) -> list[tuple[int, str]]:
    unit = batch.current()
    if unit is not None and call.pk in unit.customers:
        return unit.customers[call.pk]
    through, customer = Call.customers.through._meta.db_table, Customer._meta.db_table
    return [
        tuple(row)
        for row in rawsql.execute(
            f"SELECT c.id, c.display_name FROM {customer} c JOIN {through} t "
            "ON t.customer_id = c.id WHERE t.call_id = %s ORDER BY c.display_name, c.id",
            [call.pk],
        )
    ]


def _apply_facts(call: Call, events: list[CallEvent]) -> tuple[dict[str, int], list | None]:
    """Re-derive the call from its events: the agent it found by extension number, and the
    customers matched anew (None when the caller did not change)."""
    company = call.company
    queue_code = next((e.queue for e in reversed(events) if e.kind == CallEventKind.QUEUED), "")
    queue = _queue(company, queue_code) if queue_code else None
    facts = derive_call(events, short_abandon_seconds=queue.short_abandon_seconds if queue else 5)
    if facts.queue and (queue is None or queue.code != facts.queue):
        queue = _queue(company, facts.queue)
    agent_id = agent_of_extension(company.pk, facts.agent) if facts.agent else None
    matched_before = call.caller_e164
    call.direction = facts.direction
    call.caller = facts.caller[:64]
    call.caller_e164 = lookup_key(facts.caller, company.default_country) or ""
    call.callee, call.did = facts.callee[:64], facts.did[:64]
    call.queue, call.agent_id = queue, agent_id
    call.offered_at, call.ringing_at = facts.offered_at, facts.ringing_at
    call.answered_at, call.ended_at = facts.answered_at, facts.ended_at
    call.queue_wait_seconds, call.ring_seconds = facts.queue_wait_seconds, facts.ring_seconds
    call.talk_seconds, call.hold_seconds = facts.talk_seconds, facts.hold_seconds
    call.transfer_count, call.recording_url = facts.transfer_count, facts.recording_url
    call.outcome = facts.outcome
    unit = batch.current()
    if unit is not None:
        unit.call_changed(call, _DERIVED)
    else:
        rawsql.update(call, _DERIVED)
    matched = _match_customers(call, matched_before)
    _store_hold_spans(call, events)
    _store_overflow_visits(call, events)
    return ({facts.agent: agent_id} if agent_id else {}), matched


def _store_overflow_visits(call: Call, events: list[CallEvent]) -> None:
    # Only a call queued more than once can have left a queue for another: the others (nearly
    # every call) cost no statement here.
    if sum(1 for e in events if e.kind == CallEventKind.QUEUED) < 2:
        return
    visits = []
    for code, entered, left in overflow_visits(events):
        queue = _queue(call.company, code)
        if queue is None:
            continue  # a queue the company has not set up: nothing to report it under
        visits.append(
            QueueVisit(
                company_id=call.company_id,
                call=call,
                queue=queue,
                entered_at=entered,
                left_at=left,
                wait_seconds=max(0, int((left - entered).total_seconds())),
            )
        )
    _replace_rows(QueueVisit, call, visits)


def _store_hold_spans(call: Call, events: list[CallEvent]) -> None:
    if not any(e.kind in (CallEventKind.HOLD, CallEventKind.UNHOLD) for e in events):
        return  # spans only ever come from hold events: there is nothing to replace
    spans = [
        HoldSpan(call=call, started_at=start, ended_at=stop)
        for start, stop in hold_spans(events, call.ended_at)
    ]
    _replace_rows(HoldSpan, call, spans)


def _replace_rows(model, call: Call, rows: list) -> None:
    """The call's rows of `model` (derived from its events) are now `rows`."""
    unit = batch.current()
    if unit is not None:
        unit.replace_rows(model, call.pk, rows)  # the last one wins, written at the end
        return
    rawsql.execute(f"DELETE FROM {model._meta.db_table} WHERE call_id = %s", [call.pk])
    rawsql.insert_many(rows)


def call_event_apply(
    *, connection: PbxConnection, event: CallEvent, request: InboundRequest | None = None
) -> Applied:
    """Store the event and re-derive its call; a retried event id changes nothing.

    Joins the caller's transaction when there is one (the webhook applies a request's events
    and stores the request in one), without a savepoint: a failure fails it all.
    """
    if not event.call_id:
        raise PayloadError(_("call_id: missing"))
    company = company_for_event(connection, event)
    with transaction.atomic(savepoint=False):
        call = _locked_call(connection, company, event)
        # By ids: nothing reads the record's related objects back.
        record = rawsql.new(
            CallEventRecord,
            company_id=company.pk,
            connection_id=connection.pk,
            event_id=event.event_id,
            call_id=call.pk,
            kind=event.kind,
            occurred_at=event.occurred_at,
            data=event_to_json(event),
            request_id=request.pk if request is not None else None,
        )
        # The call row lock serialises every event of this call; the unique (connection, event
        # id) turns a retried event into no row written.
        unit = batch.current()
        if unit is not None:
            # As stored and read back: the same event whichever way it is applied.
            if not unit.add_event(record, event_from_json(record.data)):
                return Applied(call=call, duplicate=True)
            events = unit.events[call.pk]
        else:
            if not rawsql.insert(record, ignore_conflict=True):
                return Applied(call=call, duplicate=True)
            rows = rawsql.select_values(CallEventRecord, ["data"], "call_id = %s", [call.pk])
            events = [event_from_json(data) for (data,) in rows]
        known_agents, matched = _apply_facts(call, events)
        pushes: list[tuple[int, dict]] = []
        concerned = presence.call_presence_apply(
            call=call, event=event, known_agents=known_agents, pushes=pushes
        )
        # Only a call that has rung someone concerns an agent (derive names the last one rung).
        payload = None
        if call.agent_id or event.agent:
            customers = matched if matched is not None else _linked_customers(call)
            payload = realtime.call_payload(call, customers)
        live, company_id = realtime.live_call_payload(call), call.company_id
        # The agents whose phones the call is at (after a transfer, the second agent too), and
        # the agent who answered it; the card goes first: the screen-pop is what they wait for.
        agent_ids = sorted(concerned | ({call.agent_id} if call.agent_id else set()))
        transaction.on_commit(
            lambda: realtime.push_call(agent_ids, company_id, payload, live, pushes)
        )
    return Applied(call=call, duplicate=False)
