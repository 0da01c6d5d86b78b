from datetime import UTC, datetime, timedelta

import pytest

from crm.services.customers import customer_create
from telephony.derive import Outcome
from telephony.models import (
    Agent,
    AgentState,
    AgentStateInterval,
    Call,
    CallEventRecord,
    DidRoute,
    Extension,
    HoldSpan,
    PbxConnection,
    Queue,
)
from telephony.pbx.events import CallEvent, CallEventKind, HangupCause, PayloadError
from telephony.services import call_event_apply

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
K = CallEventKind


def ev(n, kind, second, call_id="c1", **fields):
    return CallEvent(
        kind=kind,
        call_id=call_id,
        event_id=f"e{n}",
        occurred_at=T0 + timedelta(seconds=second),
        **fields,
    )


@pytest.fixture
def connection(company):
    return PbxConnection.objects.create(name="Bank PBX", company=company, format="native")


@pytest.fixture
def agent_101(company, agent):
    row = Agent.objects.create(company=company, user=agent)
    Extension.objects.create(company=company, agent=row, number="101")
    return row


@pytest.fixture
def cards_queue(company):
    return Queue.objects.create(
        company=company, name="Cards", code="cards", short_abandon_seconds=5
    )


def call_state(call):
    call.refresh_from_db()
    return (
        call.outcome,
        call.queue_wait_seconds,
        call.ring_seconds,
        call.talk_seconds,
        call.hold_seconds,
        call.agent_id,
        call.queue_id,
        call.ended_at,
    )


EVENTS = [
    ev(1, K.QUEUED, 0, caller="8 (916) 123-45-67", queue="cards"),
    ev(2, K.RINGING, 12, agent="101"),
    ev(3, K.ANSWERED, 17, agent="101"),
    ev(4, K.HOLD, 60),
    ev(5, K.UNHOLD, 90),
    ev(6, K.HANGUP, 197, cause=HangupCause.NORMAL),
]


def test_events_build_the_call_and_match_the_customer(connection, customer, agent_101, cards_queue):
    for event in EVENTS:
        applied = call_event_apply(connection=connection, event=event)
    call = applied.call
    assert call_state(call) == (
        Outcome.ANSWERED,
        17,
        5,
        150,
        30,
        agent_101.pk,
        cards_queue.pk,
        T0 + timedelta(seconds=197),
    )
    assert call.caller_e164 == "+79161234567"
    assert list(call.customers.all()) == [customer]
    assert list(HoldSpan.objects.values_list("started_at", "ended_at")) == [
        (T0 + timedelta(seconds=60), T0 + timedelta(seconds=90))
    ]
    assert CallEventRecord.objects.count() == 6


def test_a_retried_event_changes_nothing(connection, agent_101, cards_queue):
    for event in EVENTS:
        call_event_apply(connection=connection, event=event)
    call = Call.objects.get()
    before = call_state(call)
    again = call_event_apply(connection=connection, event=EVENTS[2])
    assert again.duplicate is True
    assert call_state(call) == before
    assert CallEventRecord.objects.count() == 6


def test_a_hangup_before_its_answer_is_reconciled(connection, agent_101, cards_queue):
    for event in [EVENTS[0], EVENTS[5], EVENTS[1], EVENTS[4], EVENTS[3], EVENTS[2]]:
        call_event_apply(connection=connection, event=event)
    assert call_state(Call.objects.get()) == (
        Outcome.ANSWERED,
        17,
        5,
        150,
        30,
        agent_101.pk,
        cards_queue.pk,
        T0 + timedelta(seconds=197),
    )


def test_short_abandon_uses_the_queue_threshold(connection, cards_queue):
    call_event_apply(connection=connection, event=ev(1, K.QUEUED, 0, queue="cards"))
    call_event_apply(
        connection=connection, event=ev(2, K.HANGUP, 4, cause=HangupCause.CALLER_ABANDONED)
    )
    assert Call.objects.get().outcome == Outcome.SHORT_ABANDON


def test_a_shared_pbx_routes_by_dialled_number(company, other_company):
    shared = PbxConnection.objects.create(name="Shared", format="native")
    DidRoute.objects.create(company=other_company, connection=shared, did="+390212345678")
    applied = call_event_apply(
        connection=shared, event=ev(1, K.QUEUED, 0, did="02 1234 5678", queue="orders")
    )
    assert applied.call.company == other_company
    with pytest.raises(PayloadError) as error:
        call_event_apply(connection=shared, event=ev(2, K.QUEUED, 0, call_id="c2", did="+15550000"))
    assert (
        str(error.value) == "did: +15550000 is not routed to any client company on this connection"
    )
    assert Call.objects.count() == 1


def test_a_caller_is_matched_only_in_the_connections_company(connection, other_company):
    customer_create(company=other_company, last_name="Rossi", phones=["+7 916 123 45 67"])
    applied = call_event_apply(
        connection=connection, event=ev(1, K.QUEUED, 0, caller="+79161234567", queue="cards")
    )
    assert list(applied.call.customers.all()) == []


def test_with_the_channel_layer_down_the_event_still_applies(
    connection, agent_101, caplog, django_capture_on_commit_callbacks
):
    from unittest import mock

    class DownLayer:
        async def group_send(self, group, message):
            raise ConnectionError("redis down")

    with (
        mock.patch("telephony.realtime.get_channel_layer", return_value=DownLayer()),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        applied = call_event_apply(connection=connection, event=ev(1, K.RINGING, 0, agent="101"))
    assert len(callbacks) == 1  # the screen-pop with the agent's new state, in one hand-over
    assert Call.objects.get().pk == applied.call.pk
    assert AgentStateInterval.objects.get().state == AgentState.RINGING
    assert f"screen-pop for agents {agent_101.pk} skipped: channel layer unavailable" in caplog.text


def test_the_push_goes_after_commit_to_the_ringing_agent_only(
    connection, agent_101, django_capture_on_commit_callbacks
):
    from unittest import mock

    with mock.patch("telephony.realtime.push_call") as push:
        with django_capture_on_commit_callbacks(execute=True):
            call_event_apply(connection=connection, event=ev(1, K.QUEUED, 0, queue="cards"))
        # Nobody's phone rings yet: only the supervisors' live view hears of the call.
        (agent_ids, company_id, payload, live, states), _ = push.call_args
        assert (agent_ids, company_id, payload, live["outcome"], states) == (
            [],
            connection.company_id,
            None,
            "in_progress",
            [],
        )
        with django_capture_on_commit_callbacks(execute=False) as ringing:
            call_event_apply(connection=connection, event=ev(2, K.RINGING, 3, agent="101"))
        assert push.call_count == 1  # not before commit
        assert len(ringing) == 1
        ringing[0]()
    (agent_ids, company_id, payload, live, states), _ = push.call_args
    assert (agent_ids, payload["pbx_call_id"], payload["outcome"], live["agent_id"]) == (
        [agent_101.pk],
        "c1",
        "in_progress",
        agent_101.pk,
    )
    # The agent's new state travels in the same hand-over, after the card.
    assert [(agent_id, state["state"], state["call_id"]) for agent_id, state in states] == [
        (agent_101.pk, "ringing", payload["id"])
    ]


def test_on_a_shared_pbx_later_events_follow_the_calls_company(company, other_company):
    shared = PbxConnection.objects.create(name="Shared", format="native")
    DidRoute.objects.create(company=other_company, connection=shared, did="+390212345678")
    DidRoute.objects.create(company=company, connection=shared, did="+74950000000")
    call_event_apply(connection=shared, event=ev(1, K.QUEUED, 0, did="+390212345678"))
    # No DID on the answer, and a DID of the other company on the hang-up: neither moves it.
    call_event_apply(connection=shared, event=ev(2, K.ANSWERED, 10, agent="101"))
    call_event_apply(
        connection=shared,
        event=ev(3, K.HANGUP, 70, did="+74950000000", cause=HangupCause.NORMAL),
    )
    call = Call.objects.get()
    assert (call.company, call.outcome, call.talk_seconds) == (other_company, Outcome.ANSWERED, 60)
    assert set(CallEventRecord.objects.values_list("company_id", flat=True)) == {other_company.pk}


def test_after_a_transfer_the_card_goes_to_the_agent_it_rings_next(
    company, connection, agent_101, django_capture_on_commit_callbacks
):
    from unittest import mock

    from contactcenter.tenancy.models import Role
    from tests.conftest import make_user

    boris = Agent.objects.create(company=company, user=make_user("boris", company, Role.AGENT))
    Extension.objects.create(company=company, agent=boris, number="102")
    first = [
        ev(1, K.RINGING, 0, agent="101"),
        ev(2, K.ANSWERED, 5, agent="101"),
        ev(3, K.TRANSFERRED, 60, agent="101", transfer_to="102"),
    ]
    for event in first:
        call_event_apply(connection=connection, event=event)
    with (
        mock.patch("telephony.realtime.push_call") as push,
        mock.patch("telephony.realtime.push_state"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_event_apply(connection=connection, event=ev(4, K.RINGING, 62, agent="102"))
    (agent_ids, _, payload, _, _), _ = push.call_args
    # Anna answered first and stays the call's agent, wrapping up; Boris's phone rings now.
    assert (agent_ids, payload["pbx_call_id"]) == (sorted([agent_101.pk, boris.pk]), "c1")
