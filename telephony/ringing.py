"""The ringing notice: who is calling, pushed by the webhook to the agent whose phone rings.

With PBX_APPLY_IN_WORKER the webhook answers once the request is stored, and the applier places
the event in the call log a batch later; its push then brings the full card. The agent should
not wait for that to see who is calling: for a ringing event the webhook itself sends the caller
and the customers with that number to the ringing agent's group, right after the request is
stored. The workspace shows them at once, and the card when the applier's message names the
call.

What it reads is what the applier will read: the company's extension, and its customers by the
caller's E.164 number. On PostgreSQL the read goes with the INSERT that stores the request, in
its RETURNING: one statement and one round trip for both, which cost 0.35-0.39 ms of the web
process's CPU against 0.49-0.53 ms for the two apart (bench/README.md, eighth session). A
database failing there is the store's failure, answered 503 like any other, so that the PBX
sends the request again. Elsewhere (SQLite) the read is a statement of its own after the
store, and a failure of it is only logged.

Only a connection with a company of its own sends notices: on a shared PBX the company is known
from the call's first event, which the applier places. A channel layer that fails changes
nothing for the stored request, the PBX's answer or the applier's card (logged, as every skipped
push).
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


# The rows of a read in the order a notice takes them: the agents first, then the customers by
# name, as on a screen.
_ORDER = "k, name, id"


def _reads(company, event: CallEvent) -> tuple[str | None, str, list]:
    """The caller's E.164 number, and the query of (k 0, agent id, name '') for each agent the
    event rings and (k 1, customer id, name) for each customer with that number, in no order
    (`_ORDER`). One query: the two reads sent as a pipeline cost twice the CPU (bench/README.md,
    sixth session)."""
    e164 = lookup_key(event.caller, company.default_country) if event.caller else None
    sql = (
        f"SELECT 0 AS k, agent_id AS id, '' AS name FROM {Extension._meta.db_table} "
        "WHERE company_id = %s AND number = %s"
    )
    params = [company.pk, event.agent]
    if e164:
        customers, customer_params = customer_names_by_phone_query(company.pk, e164)
        sql += f" UNION ALL SELECT 1, c.id, c.display_name FROM ({customers}) c"
        params += customer_params
    return e164, sql, params


class Notices:
    """The ringing notices of one request's events, read with the request's INSERT where the
    database can (`columns`, `read_with`), then sent (`send`)."""

    def __init__(self, connection: PbxConnection, events: list):
        ringing = _ringing(events) if connection.company_id is not None else []
        self._company = connection.company if ringing else None
        self._reads = [(event, *_reads(self._company, event)) for event in ringing]
        self._rows: list[list] | None = None

    def columns(self) -> tuple[str, list]:
        """SQL expressions for the store's RETURNING, and their parameters: for each ringing
        event, the rows of its read as one JSON array ('' when nothing rings)."""
        sql, params = [], []
        for _event, _e164, select, select_params in self._reads:
            sql.append(
                "(SELECT coalesce(json_agg(json_build_array(k, id, name)"
                f" ORDER BY {_ORDER}), '[]') FROM ({select}) r)"
            )
            params += select_params
        return ", ".join(sql), params

    def read_with(self, values) -> None:
        """The values the store's RETURNING gave for `columns`: each a list of [k, id, name]."""
        self._rows = list(values)

    def send(self) -> None:
        """Read (unless read with the store), then push each notice to the agents it rings."""
        if not self._reads:
            return
        if self._rows is None:
            try:
                self._rows = [
                    rawsql.execute(f"{select} ORDER BY {_ORDER}", params)
                    for _event, _e164, select, params in self._reads
                ]
            except DatabaseError:
                log.warning("ringing notice skipped: database unavailable", exc_info=True)
                return
        found = []
        for (event, e164, _select, _params), rows in zip(self._reads, self._rows, strict=True):
            notice = {
                "pbx_call_id": event.call_id,
                "company": self._company.slug,
                "caller": event.caller,
                "caller_e164": e164 or "",
                "ringing_at": event.occurred_at.isoformat(),
                "customers": realtime.customer_links(
                    [(pk, name) for kind, pk, name in rows if kind]
                ),
            }
            found.extend((agent_id, notice) for kind, agent_id, _ in rows if not kind)
        if found:
            realtime.push_ringing(found)
