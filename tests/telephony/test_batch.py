"""The applier's unit of work (telephony.batch) gives exactly what applying one by one gives.

Each scenario is a random stream of native requests for a few calls and agents: rings that move
from agent to agent, answers, holds, transfers, abandons, agent log-ins and pauses, events out of
order, retried events, requests carrying several events. It is applied twice from the same stored
requests: one request at a time (the applier's fallback, each in its own savepoint, as the
webhook applies them inline), and in batches through the unit of work. Every row the apply path
writes must come out the same.
"""

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from telephony import applier
from telephony.models import (
    Agent,
    AgentStateInterval,
    Call,
    CallEventRecord,
    Extension,
    HoldSpan,
    InboundRequest,
    PbxConnection,
    Queue,
    QueueVisit,
)
from tests.conftest import make_user
from tests.telephony.test_webhooks import post_native

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
EXTENSIONS = ("101", "102", "103")


@pytest.fixture
def centre(company, customer, settings):
    settings.PBX_APPLY_IN_WORKER = True
    connection = PbxConnection.objects.create(
        name="Bank PBX", company=company, format="native", secret="s3cret"
    )
    Queue.objects.create(company=company, code="cards", name="Cards", max_wrap_up_seconds=30)
    Queue.objects.create(company=company, code="loans", name="Loans", max_wrap_up_seconds=30)
    agents = []
    for number in EXTENSIONS:
        user = make_user(f"agent{number}", company, "agent")
        agent = Agent.objects.create(company=company, user=user)
        Extension.objects.create(company=company, agent=agent, number=number)
        agents.append(agent)
    return connection, agents


def _stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _call_events(rng: random.Random, n: int, start: datetime) -> list[dict]:
    call_id, at = f"call-{n}", start
    caller = rng.choice(["8 (916) 123-45-67", f"+7 495 000-00-0{n}", ""])
    events, seq = [], 0

    def event(type_, **extra):
        nonlocal seq, at
        seq += 1
        at += timedelta(seconds=rng.randint(0, 40))
        body = {"event_id": f"{call_id}-{seq}", "call_id": call_id, "type": type_}
        events.append({**body, "timestamp": _stamp(at), **extra})

    event("queued", caller=caller, queue=rng.choice(["cards", "loans"]))
    if rng.random() < 0.2:
        event("queued", queue="loans")  # overflowed to another queue
    agent = None
    for _ring in range(rng.randint(0, 3)):
        agent = rng.choice((*EXTENSIONS, "199"))  # 199: a phone no agent has
        event("ringing", agent=agent)
    if agent is not None and rng.random() < 0.75:
        event("answered", agent=agent)
        if rng.random() < 0.4:
            event("hold", agent=agent)
            event("unhold", agent=agent)
        if rng.random() < 0.3:
            to = rng.choice(EXTENSIONS)
            event("transferred", agent=agent, transfer_to=to)
            event("ringing", agent=to)
            event("answered", agent=to)
        event("hangup", cause="normal")
    else:
        event("hangup", cause=rng.choice(["abandoned", "no_answer", "busy"]))
    if rng.random() < 0.3:
        event("recording", recording_url=f"https://pbx.example/rec/{call_id}.wav")
    return events


def scenario(seed: int) -> list[dict]:
    """The request bodies, in the order the PBX posts them."""
    rng = random.Random(seed)
    events = []
    for n in range(rng.randint(2, 6)):
        events += _call_events(rng, n, START + timedelta(seconds=rng.randint(0, 120)))
    for n in range(rng.randint(0, 5)):
        action = rng.choice(["login", "logout", "pause", "available"])
        agent_event = {
            "type": "agent",
            "event_id": f"agent-{n}",
            "agent": rng.choice(EXTENSIONS),
            "action": action,
            "timestamp": _stamp(START + timedelta(seconds=rng.randint(0, 200))),
        }
        if action == "pause":
            agent_event["reason"] = rng.choice(["Lunch", "Training"])
        events.append(agent_event)
    events.sort(key=lambda e: e["timestamp"])
    for i in range(len(events) - 1):  # a few events overtake the one before
        if rng.random() < 0.15:
            events[i], events[i + 1] = events[i + 1], events[i]
    for _retry in range(rng.randint(0, 3)):  # and a few come again
        position = rng.randint(0, len(events))
        events.insert(position, rng.choice(events))
    bodies, i = [], 0
    while i < len(events):
        size = 1 if rng.random() < 0.8 else rng.randint(2, 3)
        part, i = events[i : i + size], i + size
        bodies.append(part[0] if len(part) == 1 else {"events": part})
    return bodies


def run(client, connection, agents, bodies, *, batch_size: int | None) -> dict:
    """Apply the stored requests one by one (batch_size None) or in batches; every row kept."""
    Call.objects.all().delete()
    AgentStateInterval.objects.all().delete()
    InboundRequest.objects.all().delete()
    for agent in agents:
        AgentStateInterval.objects.create(
            company=agent.company, agent=agent, state="available", started_at=START
        )
    for body in bodies:
        assert post_native(client, connection, body).status_code == 202
    if batch_size is None:
        while applier._apply_batch(1, isolated=True):
            pass
    else:
        while applier.apply_pending(batch_size):
            pass
    return snapshot()


def snapshot() -> dict:
    calls = {}
    for call in Call.objects.select_related("queue").order_by("pbx_call_id"):
        calls[call.pbx_call_id] = (
            call.direction,
            call.caller,
            call.caller_e164,
            call.did,
            call.queue.code if call.queue else None,
            call.agent_id,
            call.offered_at,
            call.ringing_at,
            call.answered_at,
            call.ended_at,
            call.queue_wait_seconds,
            call.ring_seconds,
            call.talk_seconds,
            call.hold_seconds,
            call.transfer_count,
            call.recording_url,
            call.outcome,
            call.wrap_up_ended_at,
            call.wrap_up_seconds,
            sorted(call.customers.values_list("pk", flat=True)),
        )
    return {
        "calls": calls,
        "events": sorted(
            (
                r.event_id,
                r.call.pbx_call_id,
                r.kind,
                r.occurred_at,
                json.dumps(r.data),
                r.request.body,
            )
            for r in CallEventRecord.objects.select_related("call", "request")
        ),
        "states": sorted(
            (
                i.agent_id,
                i.started_at,
                i.state,
                i.pause_reason.code if i.pause_reason else "",
                i.call.pbx_call_id if i.call else "",
                i.ended_at or START + timedelta(days=1),
                i.event_id,
            )
            for i in AgentStateInterval.objects.select_related("call", "pause_reason")
        ),
        "holds": sorted(
            (h.call.pbx_call_id, h.started_at, h.ended_at) for h in HoldSpan.objects.all()
        ),
        "visits": sorted(
            (v.call.pbx_call_id, v.queue.code, v.entered_at, v.left_at, v.wait_seconds)
            for v in QueueVisit.objects.select_related("call", "queue")
        ),
        "requests": list(InboundRequest.objects.order_by("id").values_list("status", "error")),
    }


@pytest.mark.parametrize("seed", range(30))
def test_batches_write_what_one_by_one_writes(client, centre, seed):
    connection, agents = centre
    bodies = scenario(seed)
    one_by_one = run(client, connection, agents, bodies, batch_size=None)
    assert len(one_by_one["requests"]) == len(bodies)
    assert one_by_one["calls"]  # the scenario made calls
    for batch_size in (200, 3):
        assert run(client, connection, agents, bodies, batch_size=batch_size) == one_by_one


def test_a_batch_reads_and_writes_in_a_few_statements(
    client, centre, django_assert_max_num_queries
):
    connection, _agents = centre
    # 10 calls, 8 events each (ring, ring-no-answer, answer, hold, transfer, hang-up): 80 events.
    rng = random.Random(7)
    bodies = [e for n in range(10) for e in _call_events(random.Random(n + 100), n, START)]
    rng.shuffle(bodies)
    for body in bodies:
        post_native(client, connection, body)
    # One at a time, each event takes about nine statements (720 here); the batch takes one per
    # new call (its INSERT) and about twenty more.
    with django_assert_max_num_queries(30):
        assert applier.apply_pending(200) == len(bodies)
    assert set(InboundRequest.objects.values_list("status", flat=True)) == {"applied"}
    assert Call.objects.count() == 10
