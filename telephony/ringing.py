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
from crm.selectors import customer_names_by_phone_query
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


def _reads(company, event: CallEvent) -> tuple[str | None, str, list]:
    """The caller's E.164 number, and the statement that reads (0, agent id, '') for each agent
    the event rings, then (1, customer id, name) for each customer with that number. One
    statement: the two reads sent as a pipeline cost twice the CPU (bench/README.md, sixth
    session)."""
    e164 = lookup_key(event.caller, company.default_country) if event.caller else None
    sql = (
        f"SELECT 0, agent_id, '' FROM {Extension._meta.db_table} "
        "WHERE company_id = %s AND number = %s"
    )
    params = [company.pk, event.agent]
    if e164:
        customers, customer_params = customer_names_by_phone_query(company.pk, e164)
        sql += f" UNION ALL SELECT 1, c.id, c.display_name FROM ({customers}) c"
        params += customer_params
    return e164, sql + " ORDER BY 1, 3, 2", params  # the customers by name, as on a screen


def notices(connection: PbxConnection, events: list) -> list[tuple[int, dict]]:
    """(agent id, notice) for each agent a ringing event of `events` rings."""
    ringing = _ringing(events)
    if connection.company_id is None or not ringing:
        return []
    company = connection.company
    result = []
    for event in ringing:
        e164, sql, params = _reads(company, event)
        rows = rawsql.execute(sql, params)
        notice = {
            "pbx_call_id": event.call_id,
            "company": company.slug,
            "caller": event.caller,
            "caller_e164": e164 or "",
            "ringing_at": event.occurred_at.isoformat(),
            "customers": realtime.customer_links([(pk, name) for kind, pk, name in rows if kind]),
        }
        result.extend((agent_id, notice) for kind, agent_id, _ in rows if not kind)
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
