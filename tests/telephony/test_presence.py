"""Agent presence: the state timeline that calls, PBX agent events and the agent's own choices
write, with exact interval boundaries (occupancy is read from them)."""

import json
import time
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from contactcenter.tenancy.models import Membership, Role
from telephony.models import (
    Agent,
    AgentState,
    AgentStateInterval,
    Call,
    Extension,
    PauseReason,
    PbxConnection,
    Queue,
)
from telephony.pbx import native
from telephony.pbx.events import CallEvent, CallEventKind, HangupCause
from telephony.presence import (
    PresenceError,
    agent_state_set,
    wrap_up_finish,
    wrap_ups_expire,
)
from telephony.services import call_event_apply
from tests.conftest import make_user

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
K = CallEventKind
S = AgentState
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pbx" / "queue_log"


def at(second: float) -> datetime:
    return T0 + timedelta(seconds=second)


def ev(n, kind, second, call_id="c1", **fields):
    return CallEvent(
        kind=kind, call_id=call_id, event_id=f"{call_id}-e{n}", occurred_at=at(second), **fields
    )


@pytest.fixture
def connection(company):
    return PbxConnection.objects.create(
        name="Bank PBX", company=company, format="native", secret="s3cret"
    )


@pytest.fixture
def cards(company):
    return Queue.objects.create(company=company, name="Cards", code="cards", max_wrap_up_seconds=30)


def make_agent(company, user, extension):
    row = Agent.objects.create(company=company, user=user)
    Extension.objects.create(company=company, agent=row, number=extension)
    return row


@pytest.fixture
def anna(company, agent):
    return make_agent(company, agent, "101")


@pytest.fixture
def boris(company):
    return make_agent(company, make_user("boris", company, Role.AGENT), "102")


def timeline(agent):
    """(state, start second, end second or None, call's PBX id, pause reason code) in order."""
    rows = (
        AgentStateInterval.objects.filter(agent=agent)
        .select_related("call", "pause_reason")
        .order_by("started_at", "id")
    )
    return [
        (
            r.state,
            (r.started_at - T0).total_seconds(),
            None if r.ended_at is None else (r.ended_at - T0).total_seconds(),
            r.call.pbx_call_id if r.call_id else None,
            r.pause_reason.code if r.pause_reason_id else None,
        )
        for r in rows
    ]


def apply_all(connection, events):
    for event in events:
        call_event_apply(connection=connection, event=event)


def answered_call(connection, agent_ext="101", call_id="c1", start=0):
    return [
        ev(1, K.QUEUED, start, call_id, queue="cards", caller="+79161234567"),
        ev(2, K.RINGING, start + 3, call_id, agent=agent_ext),
        ev(3, K.ANSWERED, start + 10, call_id, agent=agent_ext),
        ev(4, K.HANGUP, start + 70, call_id, cause=HangupCause.NORMAL),
    ]


def test_a_call_rings_talks_and_wraps_up_and_the_submit_ends_the_wrap_up(connection, cards, anna):
    apply_all(connection, answered_call(connection))
    assert timeline(anna) == [
        (S.RINGING, 3, 10, "c1", None),
        (S.ON_CALL, 10, 70, "c1", None),
        (S.WRAP_UP, 70, None, "c1", None),
    ]
    call = Call.objects.get()
    assert wrap_up_finish(call=call, user=call.agent.user, now=at(95)) is True
    assert timeline(anna)[-2:] == [
        (S.WRAP_UP, 70, 95, "c1", None),
        (S.AVAILABLE, 95, None, None, None),
    ]
    call.refresh_from_db()
    assert (call.wrap_up_ended_at, call.wrap_up_seconds) == (at(95), 25)
    # Submitting again (a second save of the form) changes nothing.
    assert wrap_up_finish(call=call, user=call.agent.user, now=at(120)) is False
    call.refresh_from_db()
    assert call.wrap_up_seconds == 25


def test_a_wrap_up_past_the_queues_maximum_ends_exactly_at_it(connection, cards, anna):
    apply_all(connection, answered_call(connection))
    assert wrap_ups_expire(now=at(99)) == 0  # 29 s into a 30 s maximum
    assert wrap_ups_expire(now=at(500)) == 1
    assert timeline(anna)[-2:] == [
        (S.WRAP_UP, 70, 100, "c1", None),
        (S.AVAILABLE, 100, None, None, None),
    ]
    call = Call.objects.get()
    assert (call.wrap_up_ended_at, call.wrap_up_seconds) == (at(100), 30)
    assert wrap_ups_expire(now=at(900)) == 0


def test_the_periodic_job_runs_in_the_embedded_beat(connection, cards, anna):
    hour_ago = (timezone.now() - T0).total_seconds() - 3600
    apply_all(connection, answered_call(connection, start=hour_ago))
    out = StringIO()
    call_command("embedded_beat", "--once", stdout=out)
    assert out.getvalue() == "end-expired-wrap-ups: 1\n"
    assert Call.objects.get().wrap_up_seconds == 30


def test_a_call_that_rings_on_at_another_agent_sends_the_first_back_to_available(
    connection, cards, anna, boris
):
    apply_all(
        connection,
        [
            ev(1, K.QUEUED, 0, queue="cards"),
            ev(2, K.RINGING, 3, agent="101"),
            ev(3, K.RINGING, 18, agent="102"),
            ev(4, K.ANSWERED, 20, agent="102"),
        ],
    )
    assert timeline(anna) == [(S.RINGING, 3, 18, "c1", None), (S.AVAILABLE, 18, None, None, None)]
    assert timeline(boris) == [(S.RINGING, 18, 20, "c1", None), (S.ON_CALL, 20, None, "c1", None)]


def test_a_caller_who_hangs_up_while_it_rings_leaves_the_agent_available(connection, cards, anna):
    apply_all(
        connection,
        [
            ev(1, K.QUEUED, 0, queue="cards"),
            ev(2, K.RINGING, 3, agent="101"),
            ev(3, K.HANGUP, 8, cause=HangupCause.CALLER_ABANDONED),
        ],
    )
    assert timeline(anna) == [(S.RINGING, 3, 8, "c1", None), (S.AVAILABLE, 8, None, None, None)]
    assert Call.objects.get().wrap_up_seconds is None


def test_a_transfer_starts_the_first_agents_wrap_up_and_the_call_keeps_the_lasts(
    connection, cards, anna, boris
):
    apply_all(
        connection,
        [
            ev(1, K.QUEUED, 0, queue="cards"),
            ev(2, K.RINGING, 3, agent="101"),
            ev(3, K.ANSWERED, 10, agent="101"),
            ev(4, K.TRANSFERRED, 60, agent="101", transfer_to="102"),
            ev(5, K.RINGING, 62, agent="102"),
            ev(6, K.ANSWERED, 65, agent="102"),
            ev(7, K.HANGUP, 120, cause=HangupCause.NORMAL),
        ],
    )
    assert timeline(anna) == [
        (S.RINGING, 3, 10, "c1", None),
        (S.ON_CALL, 10, 60, "c1", None),
        (S.WRAP_UP, 60, None, "c1", None),
    ]
    assert timeline(boris) == [
        (S.RINGING, 62, 65, "c1", None),
        (S.ON_CALL, 65, 120, "c1", None),
        (S.WRAP_UP, 120, None, "c1", None),
    ]
    call = Call.objects.get()
    assert call.agent == anna  # who answered first handled the call; the transfer is counted
    # Anna's wrap-up is the call's after-call work; Boris ends his own by submitting.
    assert wrap_up_finish(call=call, user=anna.user, now=at(84)) is True
    assert wrap_up_finish(call=call, user=boris.user, now=at(140)) is True
    call.refresh_from_db()
    assert (call.transfer_count, call.wrap_up_seconds) == (1, 24)
    assert timeline(boris)[-2:] == [
        (S.WRAP_UP, 120, 140, "c1", None),
        (S.AVAILABLE, 140, None, None, None),
    ]


def test_a_retried_event_changes_no_state(connection, cards, anna):
    events = answered_call(connection)
    apply_all(connection, events)
    before = timeline(anna)
    apply_all(connection, events)
    assert timeline(anna) == before
    assert AgentStateInterval.objects.count() == 3


def test_an_event_older_than_the_current_state_does_not_rewrite_the_past(connection, cards, anna):
    apply_all(connection, answered_call(connection))
    # Another call's ring, dated during the first call's talk, arrives late.
    call_event_apply(connection=connection, event=ev(2, K.RINGING, 40, "c2", agent="101"))
    assert timeline(anna)[-1] == (S.WRAP_UP, 70, None, "c1", None)


def test_the_agent_pauses_with_a_reason_and_leaving_wrap_up_ends_it(
    company, connection, cards, anna
):
    PauseReason.objects.create(company=company, code="lunch", label="Lunch")
    apply_all(connection, answered_call(connection))
    agent_state_set(user=anna.user, state=S.PAUSED, pause_reason_code="lunch", now=at(80))
    assert timeline(anna)[-2:] == [
        (S.WRAP_UP, 70, 80, "c1", None),
        (S.PAUSED, 80, None, None, "lunch"),
    ]
    assert Call.objects.get().wrap_up_seconds == 10
    agent_state_set(user=anna.user, state=S.AVAILABLE, now=at(2000))
    assert timeline(anna)[-1] == (S.AVAILABLE, 2000, None, None, None)


@pytest.mark.parametrize(
    ("state", "reason", "message"),
    [
        (S.ON_CALL, "", "Choose available, paused or offline."),
        (S.PAUSED, "", "Choose a pause reason."),
        (S.PAUSED, "nap", "Unknown pause reason."),
    ],
)
def test_an_agent_cannot_choose_a_call_state_or_a_pause_without_a_known_reason(
    anna, state, reason, message
):
    with pytest.raises(PresenceError) as caught:
        agent_state_set(user=anna.user, state=state, pause_reason_code=reason)
    assert str(caught.value) == message
    assert AgentStateInterval.objects.count() == 0


def test_an_agent_cannot_pause_during_a_call(connection, cards, anna):
    apply_all(connection, answered_call(connection)[:3])
    with pytest.raises(PresenceError) as caught:
        agent_state_set(user=anna.user, state=S.OFFLINE, now=at(30))
    assert str(caught.value) == "You are on a call: your state follows the call until it ends."
    assert timeline(anna)[-1] == (S.ON_CALL, 10, None, "c1", None)


def test_a_user_without_an_agent_row_is_told_so(supervisor):
    with pytest.raises(PresenceError) as caught:
        agent_state_set(user=supervisor, state=S.AVAILABLE)
    assert str(caught.value) == "You are not set up as an agent of any client company."


def test_a_person_working_for_two_companies_changes_state_in_both(company, other_company, anna):
    Membership.objects.create(user=anna.user, company=other_company, role=Role.AGENT)
    shop_row = make_agent(other_company, anna.user, "301")
    for c in (company, other_company):
        PauseReason.objects.create(company=c, code="break", label="Break")
    agent_state_set(user=anna.user, state=S.PAUSED, pause_reason_code="break", now=at(0))
    assert timeline(anna) == [(S.PAUSED, 0, None, None, "break")]
    assert timeline(shop_row) == [(S.PAUSED, 0, None, None, "break")]


# --- PBX agent events ---------------------------------------------------------------------------


def agent_event(event_id, second, action, agent="101", **extra):
    return {
        "event_id": event_id,
        "type": "agent",
        "timestamp": at(second).isoformat(),
        "agent": agent,
        "action": action,
        **extra,
    }


def post(client, connection, payload):
    body = json.dumps(payload).encode()
    return client.post(
        f"/telephony/webhooks/{connection.key}/",
        data=body,
        content_type="application/json",
        headers=native.sign(connection.secret, body, int(time.time())),
    )


def test_native_agent_events_log_in_pause_and_log_out_the_agent(client, company, connection, anna):
    PauseReason.objects.create(company=company, code="lunch", label="Lunch")
    batch = {
        "events": [
            agent_event("a1", 0, "login"),
            agent_event("a2", 600, "pause", reason="Lunch"),
            agent_event("a3", 900, "available"),
            agent_event("a4", 1000, "pause", reason="Coaching"),
            agent_event("a5", 1200, "logout"),
        ]
    }
    response = post(client, connection, batch)
    assert (response.status_code, response.json()) == (200, {"applied": 5, "duplicates": 0})
    assert timeline(anna) == [
        (S.AVAILABLE, 0, 600, None, None),
        (S.PAUSED, 600, 900, None, "lunch"),
        (S.AVAILABLE, 900, 1000, None, None),
        (S.PAUSED, 1000, 1200, None, "coaching"),
        (S.OFFLINE, 1200, None, None, None),
    ]
    # An unknown reason is added to the company's list rather than lost.
    assert PauseReason.objects.get(company=company, code="coaching").label == "Coaching"
    before = timeline(anna)
    assert post(client, connection, batch).status_code == 200
    assert timeline(anna) == before


def test_an_agent_event_for_an_extension_nobody_has_is_kept_and_noted(client, connection):
    from telephony.models import InboundRequest

    response = post(client, connection, agent_event("a1", 0, "login", agent="999"))
    assert response.status_code == 200
    inbound = InboundRequest.objects.get()
    assert (inbound.status, inbound.error) == (
        "applied",
        "agent events for extensions no agent has: 999",
    )
    assert AgentStateInterval.objects.count() == 0


def test_available_from_the_pbx_ends_the_wrap_up(client, connection, cards, anna):
    apply_all(connection, answered_call(connection))
    post(client, connection, agent_event("a1", 84, "available"))
    assert timeline(anna)[-2:] == [
        (S.WRAP_UP, 70, 84, "c1", None),
        (S.AVAILABLE, 84, None, None, None),
    ]
    assert Call.objects.get().wrap_up_seconds == 14


def test_an_agent_of_another_company_with_the_same_extension_is_untouched(
    client, other_company, connection, anna, outsider
):
    shop_row = make_agent(other_company, outsider, "101")
    post(client, connection, agent_event("a1", 0, "login"))
    assert timeline(anna) == [(S.AVAILABLE, 0, None, None, None)]
    assert timeline(shop_row) == []


# --- queue_log ----------------------------------------------------------------------------------


def test_queue_log_member_and_pause_lines_make_the_agents_timeline(other_company, outsider):
    first = make_agent(other_company, outsider, "301")
    second = make_agent(other_company, make_user("piero", other_company, Role.AGENT), "302")
    out = StringIO()
    path = FIXTURES / "agents.log"
    call_command("import_queue_log", str(path), "--company", "shop", stdout=out)
    start = datetime.fromtimestamp(1700500000, UTC)

    def seconds_timeline(agent):
        return [
            (
                r.state,
                (r.started_at - start).total_seconds(),
                None if r.ended_at is None else (r.ended_at - start).total_seconds(),
                r.pause_reason.label if r.pause_reason_id else None,
            )
            for r in AgentStateInterval.objects.filter(agent=agent).order_by("started_at", "id")
        ]

    assert seconds_timeline(first) == [
        (S.AVAILABLE, 0, 600, None),
        (S.PAUSED, 600, 900, "Pausa caffè"),
        (S.AVAILABLE, 900, 1000, None),
        (S.PAUSED, 1000, 1000, None),  # PAUSEALL, then its per-queue lines give the reason
        (S.PAUSED, 1000, 4600, "Обед"),
        (S.AVAILABLE, 4600, 9000, None),
        (S.OFFLINE, 9000, None, None),
    ]
    assert seconds_timeline(second) == [
        (S.AVAILABLE, 1, 1, None),  # ADDMEMBER ... PAUSED: logged in paused
        (S.PAUSED, 1, 300, None),
        (S.AVAILABLE, 300, 9000, None),
        (S.OFFLINE, 9000, None, None),
    ]
    before = list(AgentStateInterval.objects.values())
    again = StringIO()
    call_command("import_queue_log", str(path), "--company", "shop", stdout=again)
    assert list(AgentStateInterval.objects.values()) == before
