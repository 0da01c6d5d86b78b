from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from telephony.derive import Outcome, derive_call
from telephony.pbx.events import CallEvent, CallEventKind, HangupCause

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
K = CallEventKind


def ev(n: int, kind: CallEventKind, second: int, **fields) -> CallEvent:
    return CallEvent(
        kind=kind,
        call_id="c1",
        event_id=f"e{n}",
        occurred_at=T0 + timedelta(seconds=second),
        **fields,
    )


ANSWERED_CALL = [
    ev(1, K.QUEUED, 0, caller="89161234567", did="+74950000000", queue="cards"),
    ev(2, K.RINGING, 12, agent="101"),
    ev(3, K.ANSWERED, 17, agent="101"),
    ev(4, K.HOLD, 60),
    ev(5, K.UNHOLD, 90),
    ev(6, K.HOLD, 100),
    ev(7, K.UNHOLD, 105),
    ev(8, K.HANGUP, 197, cause=HangupCause.NORMAL),
    ev(9, K.RECORDING, 199, recording_url="https://pbx.example/rec/c1.wav"),
]


def test_an_answered_call_with_two_holds():
    facts = derive_call(ANSWERED_CALL)
    assert facts.outcome == Outcome.ANSWERED
    assert (facts.queue, facts.agent, facts.caller) == ("cards", "101", "89161234567")
    assert (facts.queue_wait_seconds, facts.ring_seconds) == (17, 5)
    # 180 s from answer to hang-up, 35 s of it on hold.
    assert (facts.hold_seconds, facts.talk_seconds) == (35, 145)
    assert facts.ended_at == T0 + timedelta(seconds=197)
    assert facts.recording_url == "https://pbx.example/rec/c1.wav"


def test_a_call_still_ringing_is_in_progress():
    facts = derive_call(ANSWERED_CALL[:2])
    assert facts.outcome == Outcome.IN_PROGRESS
    assert (facts.answered_at, facts.ended_at, facts.talk_seconds) == (None, None, None)


def test_abandon_after_the_threshold_and_short_abandon_within_it():
    long = [ev(1, K.QUEUED, 0, queue="q"), ev(2, K.HANGUP, 40, cause=HangupCause.CALLER_ABANDONED)]
    short = [ev(1, K.QUEUED, 0, queue="q"), ev(2, K.HANGUP, 5, cause=HangupCause.CALLER_ABANDONED)]
    assert derive_call(long).outcome == Outcome.ABANDONED
    assert derive_call(long).queue_wait_seconds == 40
    assert derive_call(short, short_abandon_seconds=5).outcome == Outcome.SHORT_ABANDON
    assert derive_call(short, short_abandon_seconds=4).outcome == Outcome.ABANDONED


def test_a_queue_timeout_is_not_an_abandon():
    events = [ev(1, K.QUEUED, 0, queue="q"), ev(2, K.HANGUP, 300, cause=HangupCause.NO_ANSWER)]
    assert derive_call(events).outcome == Outcome.TIMEOUT


def test_an_overflow_ends_in_the_second_queue_with_the_whole_wait():
    events = [
        ev(1, K.QUEUED, 0, queue="first"),
        ev(2, K.QUEUED, 60, queue="second"),
        ev(3, K.ANSWERED, 75, agent="102"),
        ev(4, K.HANGUP, 135, cause=HangupCause.NORMAL),
    ]
    facts = derive_call(events)
    assert (facts.queue, facts.queue_wait_seconds, facts.talk_seconds) == ("second", 75, 60)


def test_durations_measured_by_the_pbx_win():
    events = [
        ev(1, K.QUEUED, 0, queue="q"),
        ev(2, K.ANSWERED, 17, agent="101", wait_seconds=16),
        ev(3, K.HANGUP, 197, cause=HangupCause.NORMAL, wait_seconds=16, talk_seconds=179),
    ]
    facts = derive_call(events)
    assert (facts.queue_wait_seconds, facts.talk_seconds) == (16, 179)


def test_a_transfer_counts_and_the_call_stays_answered():
    events = [*ANSWERED_CALL[:3], ev(10, K.TRANSFERRED, 50, transfer_to="205"), ANSWERED_CALL[7]]
    facts = derive_call(events)
    assert (facts.outcome, facts.transfer_count) == (Outcome.ANSWERED, 1)


@settings(max_examples=200, deadline=None)
@given(st.permutations(ANSWERED_CALL), st.lists(st.sampled_from(ANSWERED_CALL), max_size=6))
def test_any_order_and_any_duplication_give_the_same_call(order, duplicates):
    assert derive_call([*order, *duplicates]) == derive_call(ANSWERED_CALL)


@settings(max_examples=100, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=len(ANSWERED_CALL) - 1), min_size=1))
def test_any_subset_of_events_derives_without_error(indexes):
    facts = derive_call([ANSWERED_CALL[i] for i in sorted(indexes)])
    assert facts.hold_seconds >= 0
    assert facts.outcome in Outcome.values


def test_a_call_waiting_in_its_overflow_queue_is_still_in_progress():
    events = [
        ev(1, K.QUEUED, 0, queue="first"),
        ev(2, K.HANGUP, 60, cause=HangupCause.NO_ANSWER, wait_seconds=60, queue="first"),
        ev(3, K.QUEUED, 60, queue="second"),
    ]
    facts = derive_call(events)
    assert (facts.outcome, facts.queue, facts.ended_at) == (Outcome.IN_PROGRESS, "second", None)


def test_measured_waits_add_up_over_an_overflow():
    events = [
        ev(1, K.QUEUED, 0, queue="first"),
        ev(2, K.HANGUP, 60, cause=HangupCause.NO_ANSWER, wait_seconds=60, queue="first"),
        ev(3, K.QUEUED, 60, queue="second"),
        ev(4, K.ANSWERED, 72, agent="101", wait_seconds=12),
        ev(5, K.HANGUP, 192, cause=HangupCause.NORMAL, wait_seconds=12, talk_seconds=120),
    ]
    facts = derive_call(events)
    assert (facts.outcome, facts.queue_wait_seconds, facts.talk_seconds) == (
        Outcome.ANSWERED,
        72,
        120,
    )


def test_talk_adds_up_over_a_transfer_into_another_queue():
    events = [
        ev(1, K.QUEUED, 0, queue="first"),
        ev(2, K.ANSWERED, 10, agent="101", wait_seconds=10),
        ev(3, K.TRANSFERRED, 70, transfer_to="second"),
        ev(
            4,
            K.HANGUP,
            70,
            cause=HangupCause.NORMAL,
            wait_seconds=10,
            talk_seconds=60,
            queue="first",
        ),
        ev(5, K.QUEUED, 70, queue="second"),
        ev(6, K.ANSWERED, 80, agent="102", wait_seconds=10),
        ev(7, K.HANGUP, 260, cause=HangupCause.NORMAL, wait_seconds=10, talk_seconds=180),
    ]
    facts = derive_call(events)
    assert (facts.queue_wait_seconds, facts.talk_seconds, facts.transfer_count) == (10, 240, 1)
    assert (facts.agent, facts.queue, facts.ended_at) == (
        "101",
        "second",
        T0 + timedelta(seconds=260),
    )


def test_the_queues_a_call_overflowed_from():
    from telephony.derive import overflow_visits

    events = [
        ev(1, K.QUEUED, 0, queue="sales"),
        ev(2, K.QUEUED, 60, queue="support"),  # overflow: 60 s in sales
        ev(3, K.QUEUED, 70, queue="support"),  # re-entering the same queue is no overflow
        ev(4, K.QUEUED, 100, queue="sales"),  # back to sales: 40 s in support
        ev(5, K.ANSWERED, 105, agent="101"),
    ]
    at = [T0 + timedelta(seconds=s) for s in (0, 60, 100)]
    visits = overflow_visits(events)
    assert visits == [("sales", at[0], at[1]), ("support", at[1], at[2])]
    # Any order, any duplicate: the same visits.
    assert overflow_visits(list(reversed(events)) + events[:2]) == visits
    assert overflow_visits(events[:1] + events[4:]) == []
