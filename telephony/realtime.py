"""The only place that knows group names and sends to the channel layer.

Payloads are built in the service, inside the transaction, as plain JSON-ready dicts; they are
sent after commit. With the channel layer (Redis) down the event stays applied and answered:
only the screen-pop is skipped, with a log line.
"""

import logging
import threading
from contextlib import contextmanager
from functools import lru_cache

from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import get_channel_layer
from django.conf import settings
from django.urls import get_script_prefix, reverse

from contactcenter.lib.group_send import send_many
from telephony.models import Agent, AgentState, AgentStateInterval, Call

log = logging.getLogger(__name__)


def agent_group(agent_id: int) -> str:
    return f"agent.{agent_id}"


def live_group(company_id: int) -> str:
    """Supervisors' live views of one client company: every call and agent state change."""
    return f"live.{company_id}"


@lru_cache(maxsize=4096)
def _customer_url(script_prefix: str, pk: int) -> str:
    """The customer's page. `script_prefix` is there for the cache's key only (reverse reads
    the current one itself). Kept: a call's customers are linked in the card of each of its
    events, and reversing was a twentieth of the applier's time."""
    return reverse("crm:customer_detail", args=[pk])


def customer_links(customers: list[tuple[int, str]]) -> list[dict]:
    """Customers as (id, name), as a screen lists them: with the link to each one's page."""
    prefix = get_script_prefix()
    return [{"id": pk, "name": name, "url": _customer_url(prefix, pk)} for pk, name in customers]


def call_payload(call: Call, customers: list[tuple[int, str]] | None = None) -> dict:
    """What the agent's screen shows of a call: JSON types only (Redis forgives nothing).

    `customers`: the call's matched customers as (id, name), when the caller has them at hand.
    """
    if customers is None:
        customers = [(c.pk, c.display_name) for c in call.customers.all()]
    customers = customer_links(customers)
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


def live_call_payload(call: Call) -> dict:
    """A call as the supervisors' live view lists it."""
    return {
        "id": call.pk,
        "company": call.company.name,
        "direction": call.direction,
        "caller": call.caller,
        "queue": call.queue.name if call.queue_id else "",
        "agent_id": call.agent_id,
        "outcome": call.outcome,
        "offered_at": call.offered_at.isoformat() if call.offered_at else None,
        "answered_at": call.answered_at.isoformat() if call.answered_at else None,
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
    }


def state_payload(agent: Agent | int, interval: AgentStateInterval) -> dict:
    return {
        "agent_id": agent if isinstance(agent, int) else agent.pk,
        "state": interval.state,
        "state_label": str(AgentState(interval.state).label),
        "pause_reason": interval.pause_reason.label if interval.pause_reason_id else "",
        "call_id": interval.call_id,
        "since": interval.started_at.isoformat(),
    }


# How long a push waits for Redis, to connect and then for its answer, before the request gives
# up on it (a hung Redis must not hold the PBX's request for long: the event is applied whatever
# happens to its push).
PUSH_TIMEOUT_SECONDS = 2.0


_held = threading.local()


@contextmanager
def held():
    """Hold this thread's pushes until the block ends, then send them all in one hand-over.

    The applier wraps a batch in it: the pushes its commit releases (one per event) then cost
    one trip to the push loop, not one each. Nothing is held across a rollback: pushes are only
    ever sent from on-commit callbacks.
    """
    if getattr(_held, "messages", None) is not None:
        yield  # already holding: the outer block sends
        return
    _held.messages, _held.what = [], []
    try:
        yield
    finally:
        messages, what = _held.messages, _held.what
        _held.messages = _held.what = None
        if messages:
            _send(latest(messages), "; ".join(what))


def _subject(message: dict):
    """What a message tells the state of: a call, or an agent's state (None: not known)."""
    if message["type"] in ("call.update", "live.call") and message["call"]:
        return ("call", message["call"]["id"])
    if message["type"] in ("state.update", "live.state"):
        return ("agent", message["state"]["agent_id"])
    return None


def latest(groups_messages: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """Of several messages to one group about the same call or agent, only the last, in the
    order the kept ones were sent: every screen shows the latest state, so a burst of a call's
    events (ringing, answered, hung up in one batch) costs one message per screen, not three."""
    last = {}
    for index, (group, message) in enumerate(groups_messages):
        subject = _subject(message)
        last[(group, message["type"], subject) if subject else index] = index
    return [groups_messages[i] for i in sorted(last.values())]


def _send(groups_messages: list[tuple[str, dict]], what: str) -> None:
    if getattr(_held, "messages", None) is not None:
        _held.messages.extend(groups_messages)
        _held.what.append(what)
        return
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        config = settings.CHANNEL_LAYERS[DEFAULT_CHANNEL_LAYER].get("CONFIG", {})
        send_many(layer, config, groups_messages, timeout=PUSH_TIMEOUT_SECONDS)
    except Exception:  # the layer's own errors (Redis down, timeouts) vary by backend
        log.warning("%s skipped: channel layer unavailable", what)


def push_call(
    agent_ids: list[int],
    company_id: int,
    payload: dict | None,
    live: dict,
    states: list[tuple[int, dict]] = (),
) -> None:
    """The screen-pop to the agents the call is at, then the supervisors' live line, then the
    agents' states the event changed: one hand-over to the push loop for all of them."""
    messages = [
        (agent_group(agent_id), {"type": "call.update", "call": payload}) for agent_id in agent_ids
    ]
    messages.append((live_group(company_id), {"type": "live.call", "call": live}))
    for agent_id, state in states:
        messages.append((agent_group(agent_id), {"type": "state.update", "state": state}))
        messages.append((live_group(company_id), {"type": "live.state", "state": state}))
    _send(messages, f"screen-pop for agents {', '.join(map(str, agent_ids)) or '-'}")


def push_state(agent_id: int, company_id: int, payload: dict) -> None:
    _send(
        [
            (agent_group(agent_id), {"type": "state.update", "state": payload}),
            (live_group(company_id), {"type": "live.state", "state": payload}),
        ],
        f"state of agent {agent_id}",
    )


def push_ringing(notices: list[tuple[int, dict]]) -> None:
    """Ringing notices (telephony.ringing), each to the agent whose phone rings."""
    _send(
        [
            (agent_group(agent_id), {"type": "call.ringing", "ringing": n})
            for agent_id, n in notices
        ],
        f"ringing notice for agents {', '.join(str(agent_id) for agent_id, _n in notices)}",
    )
