"""The ringing notice: who is calling, pushed by the webhook to the agent whose phone rings.

With PBX_APPLY_IN_WORKER the webhook answers once the request is stored, and the applier places
the event in the call log a batch later; its push then brings the full card. The agent should
not wait for that to see who is calling: for a ringing event the webhook itself sends the caller
and the customers with that number (two indexed reads, one round trip) to the ringing agent's
group, right after the request is stored. The workspace shows them at once, and the card when
the applier's message names the call.

What it reads is what the applier will read: the company's extension, and its customers by the
caller's E.164 number. Only a connection with a company of its own sends notices: on a shared
PBX the company is known from the call's first event, which the applier places. The notice is a
courtesy: a database or channel layer that fails here changes nothing for the stored request,
the PBX's answer or the applier's card (logged, as every skipped push).
"""

import logging

from django.db import DatabaseError

from contactcenter.lib import rawsql
from contactcenter.lib.phones import lookup_key
from crm.selectors import customer_names_by_phone_later
from telephony import realtime
from telephony.models import Extension, PbxConnection
from telephony.pbx.events import CallEvent, CallEventKind

log = logging.getLogger(__name__)


def _ringing(events: list) -> list[CallEvent]:
    return [
        e
        for e in events
        if isinstance(e, CallEvent) and e.kind == CallEventKind.RINGING and e.agent and e.call_id
    ]


def notices(connection: PbxConnection, events: list) -> list[tuple[int, dict]]:
    """(agent id, notice) for each agent a ringing event of `events` rings."""
    ringing = _ringing(events)
    if connection.company_id is None or not ringing:
        return []
    company = connection.company
    reads = []
    with rawsql.pipelined():
        for event in ringing:
            e164 = lookup_key(event.caller, company.default_country) if event.caller else None
            agents = rawsql.execute_later(
                f"SELECT agent_id FROM {Extension._meta.db_table} "
                "WHERE company_id = %s AND number = %s ORDER BY agent_id",
                [company.pk, event.agent],
            )
            customers = customer_names_by_phone_later(company.pk, e164) if e164 else (lambda: [])
            reads.append((event, e164, agents, customers))
        found = [(event, e164, agents(), customers()) for event, e164, agents, customers in reads]
    result = []
    for event, e164, agents, customers in found:
        notice = {
            "pbx_call_id": event.call_id,
            "company": company.slug,
            "caller": event.caller,
            "caller_e164": e164 or "",
            "ringing_at": event.occurred_at.isoformat(),
            "customers": realtime.customer_links(customers),
        }
        result.extend((agent_id, notice) for (agent_id,) in agents)
    return result


def announce(connection: PbxConnection, events: list) -> None:
    """Push the ringing notices of `events` (a stored request's) to the agents they ring."""
    try:
        found = notices(connection, events)
    except DatabaseError:
        log.warning("ringing notice skipped: database unavailable", exc_info=True)
        return
    if found:
        realtime.push_ringing(found)
