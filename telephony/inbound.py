"""A stored PBX request's events applied to the call log and presence, and its status set.

The webhook runs this at once (the default), or the applier (`manage.py apply_pbx_events`)
runs it just after the PBX was answered, when PBX_APPLY_IN_WORKER is set. Either way it runs in
the caller's transaction: the events and the request's status are written together or not at all.
"""

from dataclasses import dataclass

from contactcenter.lib import rawsql
from telephony import batch
from telephony.models import InboundRequest, PbxConnection
from telephony.pbx.events import AgentEvent, CallEvent
from telephony.presence import agent_event_apply
from telephony.services import call_event_apply, company_for_event, connection_companies

Status = InboundRequest.Status


@dataclass(frozen=True)
class RequestResult:
    applied: int
    duplicates: int


def _unknown_agents_note(extensions: list[str]) -> str:
    if not extensions:
        return ""
    return "agent events for extensions no agent has: " + ", ".join(sorted(set(extensions)))


def request_apply(
    connection: PbxConnection, inbound: InboundRequest, events: list, *, write_status=True
) -> RequestResult:
    """Apply `events` (parsed from `inbound`) and give `inbound` its final status, writing it
    (unless the caller writes it) only when it differs from the one it was stored with. Raises
    PayloadError, writing nothing more, when an event cannot be placed (a DID routed to no
    company)."""
    stored = (inbound.status, inbound.error)
    for event in events:
        if isinstance(event, CallEvent):
            company_for_event(connection, event)  # refuse the whole request before applying
    applied = duplicates = 0
    unknown_agents = []
    for event in events:
        if isinstance(event, AgentEvent):
            with batch.suspended():  # it reads and writes agent states itself
                result = agent_event_apply(companies=connection_companies(connection), event=event)
            if not result.agents:
                unknown_agents.append(event.agent)
            applied += 1
            continue
        result = call_event_apply(connection=connection, event=event, request=inbound)
        duplicates += result.duplicate
        applied += not result.duplicate
    # A request that carried no event (Twilio's "initiated") is applied: there was nothing to do.
    inbound.status = Status.DUPLICATE if duplicates and not applied else Status.APPLIED
    # Agent events for extensions no agent has (a reception phone) are kept, and said.
    inbound.error = _unknown_agents_note(unknown_agents)
    if write_status and (inbound.status, inbound.error) != stored:
        rawsql.update(inbound, ["status", "error"])
    return RequestResult(applied=applied, duplicates=duplicates)
