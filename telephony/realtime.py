"""The only place that knows group names and sends to the channel layer.

Payloads are built in the service, inside the transaction, as plain JSON-ready dicts; they are
sent after commit. With the channel layer (Redis) down the event stays applied and answered:
only the screen-pop is skipped, with a log line.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.urls import reverse

from telephony.models import Call

log = logging.getLogger(__name__)


def agent_group(agent_id: int) -> str:
    return f"agent.{agent_id}"


def call_payload(call: Call) -> dict:
    """What the agent's screen shows of a call: JSON types only (Redis forgives nothing)."""
    customers = [
        {
            "id": c.pk,
            "name": c.display_name,
            "url": reverse("crm:customer_detail", args=[c.pk]),
        }
        for c in call.customers.all()
    ]
    return {
        "id": call.pk,
        "pbx_call_id": call.pbx_call_id,
        "company": call.company.slug,
        "direction": call.direction,
        "caller": call.caller,
        "caller_e164": call.caller_e164,
        "queue": call.queue.name if call.queue_id else "",
        "outcome": call.outcome,
        "ringing_at": call.ringing_at.isoformat() if call.ringing_at else None,
        "answered_at": call.answered_at.isoformat() if call.answered_at else None,
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
        "customers": customers,
    }


def push_call(agent_id: int, payload: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            agent_group(agent_id), {"type": "call.update", "call": payload}
        )
    except Exception:  # the layer's own errors (Redis down, timeouts) vary by backend
        log.warning("screen-pop for agent %s skipped: channel layer unavailable", agent_id)
