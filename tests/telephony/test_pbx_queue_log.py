"""The Asterisk queue_log parser over fixture files of each version and each awkward case."""

import hashlib
import inspect
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from telephony.pbx.events import (
    AgentEvent,
    AgentEventKind,
    CallEvent,
    CallEventKind,
    HangupCause,
    PayloadError,
)
from telephony.pbx.queue_log import (
    ParsedLine,
    QueueLogStats,
    member_extension,
    parse_lines,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "pbx" / "queue_log"
ALL_FIXTURES = sorted(p.name for p in FIXTURES.glob("*.log"))

C, A = CallEventKind, AgentEventKind


def call(kind, call_id, when, **fields) -> CallEvent:
    return CallEvent(kind=kind, call_id=call_id, event_id="", occurred_at=when, **fields)


def agent(kind, name, when, **fields) -> AgentEvent:
    return AgentEvent(kind=kind, agent=name, event_id="", occurred_at=when, **fields)


def parse_fixture(name: str, stats: QueueLogStats | None = None) -> list[ParsedLine]:
    with open(FIXTURES / name, encoding="utf-8") as lines:
        return list(parse_lines(lines, stats=stats))


def events_without_ids(parsed: list[ParsedLine]) -> list[tuple[int, CallEvent | AgentEvent]]:
    """(line number, event) pairs; ids are tested apart, since they are digests."""
    return [(p.number, replace(e, event_id="")) for p in parsed for e in p.events]


def problems(parsed: list[ParsedLine]) -> list[str]:
    return [str(p.problem) for p in parsed if p.problem]


# --- one file per Asterisk version ------------------------------------------------------------


def test_asterisk_1_8_file_gives_exact_events():
    t = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # 1700000000
    s = timedelta(seconds=1)
    stats = QueueLogStats()
    parsed = parse_fixture("asterisk_1_8.log", stats)

    c1, c2, c3, c4, c5 = (
        "1700000100.1",
        "1700000300.7",
        "1700000400.9",
        "1700000500.2",
        "1700000600.3",
    )
    normal = HangupCause.NORMAL
    assert events_without_ids(parsed) == [
        (2, agent(A.LOGGED_IN, "201", t + 5 * s, queue="sales")),
        (4, call(C.QUEUED, c1, t + 100 * s, queue="sales", caller="+390212345678", did="5550100")),
        (
            5,
            agent(
                A.RING_NO_ANSWER, "202", t + 115 * s, queue="sales", call_id=c1, ring_seconds=15.0
            ),
        ),
        (6, agent(A.PAUSED, "202", t + 115 * s, queue="sales", reason="Auto-Pause")),
        (
            7,
            call(C.ANSWERED, c1, t + 118 * s, queue="sales", agent="201", did="5550100",
                 wait_seconds=18),
        ),
        (
            8,
            call(C.HANGUP, c1, t + 290 * s, queue="sales", agent="201", did="5550100",
                 cause=normal, wait_seconds=18, talk_seconds=172),
        ),
        (9, call(C.QUEUED, c2, t + 300 * s, queue="sales", caller="3351234567")),
        (
            10,
            call(C.HANGUP, c2, t + 342 * s, queue="sales", cause=HangupCause.CALLER_ABANDONED,
                 wait_seconds=42),
        ),
        (11, call(C.QUEUED, c3, t + 400 * s, queue="sales", caller="0612345678")),
        (
            12,
            call(C.HANGUP, c3, t + 409 * s, queue="sales", cause=HangupCause.EXIT_KEY,
                 wait_seconds=9),
        ),
        (13, call(C.QUEUED, c4, t + 500 * s, queue="support", caller="0298765432")),
        (
            14,
            call(C.HANGUP, c4, t + 501 * s, queue="support", cause=HangupCause.EXIT_EMPTY,
                 wait_seconds=1),
        ),
        (15, call(C.QUEUED, c5, t + 600 * s, queue="sales", caller="3479876543")),
        (16, call(C.ANSWERED, c5, t + 604 * s, queue="sales", agent="201", wait_seconds=4)),
        (
            17,
            call(C.TRANSFERRED, c5, t + 724 * s, queue="sales", agent="201", transfer_to="300"),
        ),
        (
            17,
            call(C.HANGUP, c5, t + 724 * s, queue="sales", agent="201", cause=normal,
                 wait_seconds=4, talk_seconds=120),
        ),
        (18, agent(A.UNPAUSED, "202", t + 800 * s, queue="sales")),
    ]  # fmt: skip
    # Every non-blank line is accounted for, the skipped ones (1, 3, 19) included.
    assert [p.number for p in parsed] == list(range(1, 20))
    assert stats == QueueLogStats(
        lines=19,
        events=17,
        dids=1,
        skipped=Counter({"QUEUESTART": 1, "CONFIGRELOAD": 1}),
    )


def test_asterisk_1_4_lines_with_fewer_data_fields():
    t = datetime(2008, 1, 1, tzinfo=UTC)  # 1199145600
    s = timedelta(seconds=1)
    stats = QueueLogStats()
    parsed = parse_fixture("asterisk_1_4.log", stats)

    c1, c2, c3 = "1199145700.11", "1199145900.15", "1199146000.18"
    assert events_without_ids(parsed) == [
        (3, call(C.QUEUED, c1, t + 100 * s, queue="support", caller="021555123")),
        (4, call(C.ANSWERED, c1, t + 112 * s, queue="support", agent="1001", wait_seconds=12)),
        (
            5,
            call(C.HANGUP, c1, t + 230 * s, queue="support", agent="1001",
                 cause=HangupCause.NORMAL, wait_seconds=12, talk_seconds=118),
        ),
        (6, call(C.QUEUED, c2, t + 300 * s, queue="support", caller="021555456")),
        # 1.4's EXITWITHKEY logs no waittime: unknown, not zero.
        (7, call(C.HANGUP, c2, t + 307 * s, queue="support", cause=HangupCause.EXIT_KEY)),
        (8, call(C.QUEUED, c3, t + 400 * s, queue="support", caller="021555789")),
        (9, call(C.ANSWERED, c3, t + 420 * s, queue="support", agent="1001", wait_seconds=20)),
        (
            10,
            call(C.TRANSFERRED, c3, t + 480 * s, queue="support", agent="1001",
                 transfer_to="2001"),
        ),
        (
            10,
            call(C.HANGUP, c3, t + 480 * s, queue="support", agent="1001",
                 cause=HangupCause.NORMAL, wait_seconds=20, talk_seconds=60),
        ),
    ]  # fmt: skip
    assert stats.skipped == Counter({"QUEUESTART": 1, "AGENTLOGIN": 1})
    assert (stats.problems, stats.open_calls) == (0, 0)


def test_asterisk_13_member_names_transfers_and_a_canceled_ring():
    t = datetime(2023, 11, 16, 2, 0, tzinfo=UTC)  # 1700100000
    s = timedelta(seconds=1)
    stats = QueueLogStats()
    parsed = parse_fixture("asterisk_13.log", stats)

    q = "assistenza"
    anna, marco = "Anna Bianchi", "Marco Rossi"  # log_membername_as_agent: names pass through
    c1, c2, c3, c4, c5 = (
        "1700100100.21",
        "1700100200.25",
        "1700100400.30",
        "1700100600.35",
        "1700101000.40",
    )
    normal = HangupCause.NORMAL
    assert events_without_ids(parsed) == [
        (2, agent(A.LOGGED_IN, anna, t + 10 * s, queue=q)),
        (3, agent(A.LOGGED_IN, marco, t + 11 * s, queue=q)),
        (4, call(C.QUEUED, c1, t + 100 * s, queue=q, caller="0212345678")),
        # Line 5, RINGCANCELED: the caller hung up while Anna's phone rang; not her fault.
        (
            6,
            call(C.HANGUP, c1, t + 108 * s, queue=q, cause=HangupCause.CALLER_ABANDONED,
                 wait_seconds=8),
        ),
        (7, call(C.QUEUED, c2, t + 200 * s, queue=q, caller="3331112222")),
        (8, call(C.ANSWERED, c2, t + 206 * s, queue=q, agent=marco, wait_seconds=6)),
        (9, call(C.TRANSFERRED, c2, t + 350 * s, queue=q, agent=marco, transfer_to="2005")),
        (
            9,
            call(C.HANGUP, c2, t + 350 * s, queue=q, agent=marco, cause=normal, wait_seconds=6,
                 talk_seconds=144),
        ),
        (10, call(C.QUEUED, c3, t + 400 * s, queue=q, caller="3334445555")),
        (11, call(C.ANSWERED, c3, t + 403 * s, queue=q, agent=anna, wait_seconds=3)),
        (12, call(C.TRANSFERRED, c3, t + 500 * s, queue=q, agent=anna)),
        (
            12,
            call(C.HANGUP, c3, t + 500 * s, queue=q, agent=anna, cause=normal, wait_seconds=3,
                 talk_seconds=97),
        ),
        (13, call(C.QUEUED, c4, t + 600 * s, queue=q, caller="0687654321")),
        (
            14,
            call(C.HANGUP, c4, t + 900 * s, queue=q, cause=HangupCause.NO_ANSWER,
                 wait_seconds=300),
        ),
        (15, call(C.QUEUED, c5, t + 1000 * s, queue=q, caller="0299887766")),
        (16, call(C.ANSWERED, c5, t + 1012 * s, queue=q, agent=marco, wait_seconds=12)),
        (
            17,
            call(C.HANGUP, c5, t + 1200 * s, queue=q, agent=marco, cause=normal,
                 wait_seconds=12, talk_seconds=188),
        ),
        (18, agent(A.LOGGED_OUT, anna, t + 1300 * s, queue=q)),
    ]  # fmt: skip
    assert stats.skipped == Counter({"QUEUESTART": 1, "RINGCANCELED": 1})
    assert (stats.lines, stats.events, stats.problems) == (18, 18, 0)


def test_asterisk_18_ten_field_layout_with_fractional_times_and_local_members():
    t = datetime(2023, 11, 17, 5, 46, 40, tzinfo=UTC)  # 1700200000

    def at(seconds: int, microseconds: int = 0) -> datetime:
        return t + timedelta(seconds=seconds, microseconds=microseconds)

    stats = QueueLogStats()
    parsed = parse_fixture("asterisk_18.log", stats)

    c1, c2 = "pbx1-1700200060.101", "pbx1-1700200200.120"  # uniqueids with the system name
    did = "0800123456"
    normal = HangupCause.NORMAL
    assert events_without_ids(parsed) == [
        (2, agent(A.LOGGED_IN, "201", at(1, 500000), queue="400")),
        (3, agent(A.LOGGED_IN, "202", at(1, 600000), queue="400")),
        (3, agent(A.PAUSED, "202", at(1, 600000), queue="400")),  # ADDMEMBER|PAUSED
        (4, agent(A.UNPAUSED, "202", at(30), queue="400")),
        (6, call(C.QUEUED, c1, at(60, 260000), queue="400", caller="+393401234567", did=did)),
        (
            7,
            agent(A.RING_NO_ANSWER, "201", at(75, 410000), queue="400", call_id=c1,
                  ring_seconds=15.0),
        ),
        (
            8,
            call(C.ANSWERED, c1, at(79, 900000), queue="400", agent="202", did=did,
                 wait_seconds=19),
        ),
        # ATTENDEDTRANSFER|LINK names only the internal Local channels: no usable target.
        (9, call(C.TRANSFERRED, c1, at(180, 20000), queue="400", agent="202", did=did)),
        (
            9,
            call(C.HANGUP, c1, at(180, 20000), queue="400", agent="202", did=did, cause=normal,
                 wait_seconds=19, talk_seconds=101),
        ),
        (11, call(C.QUEUED, c2, at(200, 10000), queue="400", caller="3209876543", did=did)),
        (
            12,
            call(C.ANSWERED, c2, at(203, 700000), queue="400", agent="201", did=did,
                 wait_seconds=3),
        ),
        (
            13,
            call(C.HANGUP, c2, at(333, 300000), queue="400", agent="201", did=did, cause=normal,
                 wait_seconds=3, talk_seconds=130),
        ),
        (14, agent(A.PAUSED, "201", at(400), queue="400", reason="Pranzo")),
        (15, agent(A.LOGGED_OUT, "201", at(460), queue="400")),
    ]  # fmt: skip
    assert (stats.dids, stats.skipped, stats.problems) == (2, Counter({"QUEUESTART": 1}), 0)


# --- overflow, transfers, agents --------------------------------------------------------------


def test_an_overflowing_call_gives_events_in_both_queues():
    t = datetime(2023, 11, 18, 9, 33, 20, tzinfo=UTC)  # 1700300000
    s = timedelta(seconds=1)
    stats = QueueLogStats()
    parsed = parse_fixture("overflow.log", stats)

    c, did = "1700300000.50", "0287654321"
    assert events_without_ids(parsed) == [
        (2, call(C.QUEUED, c, t, queue="vendite", caller="3381234567", did=did)),
        (
            3,
            agent(A.RING_NO_ANSWER, "301", t + 20 * s, queue="vendite", call_id=c,
                  ring_seconds=20.0),
        ),
        (
            4,
            agent(A.RING_NO_ANSWER, "302", t + 40 * s, queue="vendite", call_id=c,
                  ring_seconds=20.0),
        ),
        (
            5,
            call(C.HANGUP, c, t + 60 * s, queue="vendite", did=did,
                 cause=HangupCause.NO_ANSWER, wait_seconds=60),
        ),
        # Same call id, next queue: offered again there, with the DID remembered.
        (6, call(C.QUEUED, c, t + 60 * s, queue="assistenza", caller="3381234567", did=did)),
        (
            7,
            call(C.ANSWERED, c, t + 72 * s, queue="assistenza", agent="401", did=did,
                 wait_seconds=12),
        ),
        (
            8,
            call(C.HANGUP, c, t + 300 * s, queue="assistenza", agent="401", did=did,
                 cause=HangupCause.NORMAL, wait_seconds=12, talk_seconds=228),
        ),
    ]  # fmt: skip
    assert (stats.open_calls, stats.problems) == (0, 0)


def test_transfers_end_the_queue_call_and_a_blind_transfer_to_a_queue_enters_it():
    t = datetime(2023, 11, 19, 13, 20, tzinfo=UTC)  # 1700400000
    s = timedelta(seconds=1)
    parsed = parse_fixture("transfers.log")

    c1, c2, c3 = "1700400000.60", "1700400300.70", "1700400500.80"
    normal = HangupCause.NORMAL
    assert events_without_ids(parsed) == [
        (1, call(C.QUEUED, c1, t, queue="vendite", caller="3391112233")),
        (2, call(C.ANSWERED, c1, t + 5 * s, queue="vendite", agent="301", wait_seconds=5)),
        (
            3,
            call(C.TRANSFERRED, c1, t + 65 * s, queue="vendite", agent="301", transfer_to="401"),
        ),
        (
            3,
            call(C.HANGUP, c1, t + 65 * s, queue="vendite", agent="301", cause=normal,
                 wait_seconds=5, talk_seconds=60),
        ),
        (4, call(C.QUEUED, c1, t + 65 * s, queue="assistenza", caller="3391112233")),
        (5, call(C.ANSWERED, c1, t + 70 * s, queue="assistenza", agent="401", wait_seconds=5)),
        (
            6,
            call(C.HANGUP, c1, t + 250 * s, queue="assistenza", agent="401", cause=normal,
                 wait_seconds=5, talk_seconds=180),
        ),
        (7, call(C.QUEUED, c2, t + 300 * s, queue="vendite", caller="3394445566")),
        (8, call(C.ANSWERED, c2, t + 302 * s, queue="vendite", agent="302", wait_seconds=2)),
        # ATTENDEDTRANSFER|APP|VoiceMail: an application, not a number to transfer to.
        (9, call(C.TRANSFERRED, c2, t + 400 * s, queue="vendite", agent="302")),
        (
            9,
            call(C.HANGUP, c2, t + 400 * s, queue="vendite", agent="302", cause=normal,
                 wait_seconds=2, talk_seconds=98),
        ),
        (10, call(C.QUEUED, c3, t + 500 * s, queue="vendite", caller="0233445566")),
        (11, call(C.ANSWERED, c3, t + 509 * s, queue="vendite", agent="301", wait_seconds=9)),
        (
            12,
            call(C.TRANSFERRED, c3, t + 620 * s, queue="vendite", agent="301",
                 transfer_to="+390612345678"),
        ),
        (
            12,
            call(C.HANGUP, c3, t + 620 * s, queue="vendite", agent="301", cause=normal,
                 wait_seconds=9, talk_seconds=111),
        ),
    ]  # fmt: skip


def test_member_logins_pauses_with_reasons_and_rings():
    t = datetime(2023, 11, 20, 17, 6, 40, tzinfo=UTC)  # 1700500000
    s = timedelta(seconds=1)
    stats = QueueLogStats()
    parsed = parse_fixture("agents.log", stats)

    v, a = "vendite", "assistenza"
    assert events_without_ids(parsed) == [
        (1, agent(A.LOGGED_IN, "301", t, queue=v)),
        (2, agent(A.LOGGED_IN, "301", t, queue=a)),
        (3, agent(A.LOGGED_IN, "302", t + 1 * s, queue=v)),
        (3, agent(A.PAUSED, "302", t + 1 * s, queue=v)),
        (4, agent(A.UNPAUSED, "302", t + 300 * s, queue=v)),
        (5, agent(A.PAUSED, "301", t + 600 * s, queue=v, reason="Pausa caffè")),
        (6, agent(A.UNPAUSED, "301", t + 900 * s, queue=v)),
        (7, agent(A.PAUSED, "301", t + 1000 * s, queue="")),  # PAUSEALL
        (8, agent(A.PAUSED, "301", t + 1000 * s, queue=v, reason="Обед")),
        (9, agent(A.PAUSED, "301", t + 1000 * s, queue=a, reason="Обед")),
        (10, agent(A.UNPAUSED, "301", t + 4600 * s, queue="")),  # UNPAUSEALL
        (11, agent(A.UNPAUSED, "301", t + 4600 * s, queue=v)),
        (12, agent(A.UNPAUSED, "301", t + 4600 * s, queue=a)),
        (
            13,
            agent(A.RING_NO_ANSWER, "302", t + 5000 * s, queue=v, call_id="1700505000.90",
                  ring_seconds=1.5),
        ),
        (
            15,
            agent(A.RING_NO_ANSWER, "302", t + 5030 * s, queue=v, call_id="1700505030.91",
                  ring_seconds=0.0),
        ),
        (18, agent(A.LOGGED_OUT, "302", t + 9000 * s, queue=v)),
        (19, agent(A.LOGGED_OUT, "301", t + 9000 * s, queue=v)),
        (20, agent(A.LOGGED_OUT, "301", t + 9000 * s, queue=a)),
    ]  # fmt: skip
    assert stats.skipped == Counter({"PENALTY": 1, "AGENTLOGIN": 1, "AGENTLOGOFF": 1})


@pytest.mark.parametrize(
    ("milliseconds", "seconds"), [("15000", 15.0), ("1500", 1.5), ("250", 0.25), ("0", 0.0)]
)
def test_ringnoanswer_milliseconds_become_seconds(milliseconds, seconds):
    line = f"1700000000|1700000000.1|sales|PJSIP/201|RINGNOANSWER|{milliseconds}"
    [parsed] = parse_lines([line])
    [event] = parsed.events
    assert (event.kind, event.ring_seconds, event.call_id) == (
        AgentEventKind.RING_NO_ANSWER,
        seconds,
        "1700000000.1",
    )


# --- unusable lines and files that end early --------------------------------------------------


def test_each_unusable_line_is_reported_by_number_and_the_rest_is_parsed():
    stats = QueueLogStats()
    parsed = parse_fixture("garbage.log", stats)

    assert problems(parsed) == [
        "line 3: CONNECT holdtime 'four' is not a whole number of seconds",
        "line 5: not enough fields",
        "line 6: not enough fields",
        "line 7: 'abc' is not a Unix time",
        "line 8: '2023-11-23 18:40:10' is not a Unix time",
        "line 10: ENTERQUEUE has no call id",
        "line 11: RINGNOANSWER ringtime '15 s' is not a whole number of milliseconds",
        "line 12: no event name",
        "line 13: PAUSE names no agent",
        "line 14: ATTENDEDTRANSFER method 'PARK' is unknown",
        "line 15: ENTERQUEUE names no queue",
        "line 16: COMPLETEAGENT calltime '7l' is not a whole number of seconds",
        "line 19: 'Enter Queue' is not an event name",
        "line 20: '1700700100.5.5' is not a Unix time",
        "line 21: ABANDON waittime '-2' is not a whole number of seconds",
        "line 22: '1700700120123' is not a Unix time",
    ]
    assert all(isinstance(p.problem, PayloadError) and not p.events for p in parsed if p.problem)
    # Blank padding around fields (spaces, tabs) is stripped; blank lines 2 and 17 are skipped.
    t = datetime(2023, 11, 23, 0, 40, tzinfo=UTC)  # 1700700000
    c = "1700700000.1"
    assert events_without_ids(parsed) == [
        (1, call(C.QUEUED, c, t, queue="vendite", caller="3391234567")),
        (
            4,
            call(C.ANSWERED, c, t + timedelta(seconds=4), queue="vendite", agent="301",
                 wait_seconds=4),
        ),
        (
            18,
            call(C.HANGUP, c, t + timedelta(seconds=80), queue="vendite", agent="301",
                 cause=HangupCause.NORMAL, wait_seconds=4, talk_seconds=76),
        ),
    ]  # fmt: skip
    # An unknown event (line 9, FOO) is a valid line of no use to us: counted, not a problem.
    assert stats == QueueLogStats(
        lines=22, blank=2, events=3, problems=16, unknown=Counter({"FOO": 1})
    )


def test_a_file_that_ends_mid_call_leaves_the_call_open():
    t = datetime(2023, 11, 21, 20, 53, 20, tzinfo=UTC)  # 1700600000
    s = timedelta(seconds=1)
    stats = QueueLogStats()
    parsed = parse_fixture("mid_call.log", stats)

    assert events_without_ids(parsed) == [
        (1, call(C.QUEUED, "1700600000.1", t, queue="vendite", caller="3391234567")),
        (
            2,
            call(C.ANSWERED, "1700600000.1", t + 4 * s, queue="vendite", agent="301",
                 wait_seconds=4),
        ),
        (3, call(C.QUEUED, "1700600010.3", t + 10 * s, queue="vendite", caller="3397654321")),
        (4, call(C.QUEUED, "1700600050.5", t + 50 * s, queue="vendite", caller="3390001112")),
        (
            5,
            call(C.HANGUP, "1700600050.5", t + 55 * s, queue="vendite",
                 cause=HangupCause.CALLER_ABANDONED, wait_seconds=5),
        ),
    ]  # fmt: skip
    # No hang-up invented for the answered call nor for the one still waiting.
    assert stats.open_calls == 2


def test_a_bom_and_windows_line_ends_are_tolerated():
    lines = [
        "\ufeff1700000000|1700000000.1|sales|NONE|ENTERQUEUE||021555123|1\r\n",
        "1700000042|1700000000.1|sales|NONE|ABANDON|1|1|42\r\n",
    ]
    kinds = [(p.number, e.kind, e.call_id) for p in parse_lines(lines) for e in p.events]
    assert kinds == [(1, C.QUEUED, "1700000000.1"), (2, C.HANGUP, "1700000000.1")]


def test_fractions_of_a_second_are_kept_to_the_microsecond():
    lines = [
        "1700000000.5|1700000000.1|sales|NONE|ENTERQUEUE||021555123|1",
        "1700000000.1234567|1700000000.1|sales|NONE|ABANDON|1|1|0",
    ]
    times = [e.occurred_at for p in parse_lines(lines) for e in p.events]
    assert times == [
        datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC),
        datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC),
    ]


def test_a_did_line_after_enterqueue_reaches_only_the_later_events():
    lines = [
        "1700000000|1700000000.1|sales|NONE|ENTERQUEUE||021555123|1",
        "1700000001|1700000000.1|sales|NONE|DID|0800123456",
        "1700000005|1700000000.1|sales|PJSIP/201|CONNECT|5|1700000004.2|1",
    ]
    dids = [(e.kind, e.did) for p in parse_lines(lines) for e in p.events]
    assert dids == [(C.QUEUED, ""), (C.ANSWERED, "0800123456")]


# --- member names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("member", "extension"),
    [
        ("PJSIP/201", "201"),
        ("SIP/201", "201"),
        ("IAX2/202", "202"),
        ("Local/201@from-queue/n", "201"),
        ("Agent/1001", "1001"),
        ("Mario Rossi", "Mario Rossi"),
        ("201", "201"),
        ("NONE", ""),
    ],
)
def test_a_member_interface_is_reduced_to_its_extension(member, extension):
    assert member_extension(member) == extension


# --- event ids --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_parsing_the_same_file_twice_gives_the_same_unique_ids(name):
    first = [e.event_id for p in parse_fixture(name) for e in p.events]
    second = [e.event_id for p in parse_fixture(name) for e in p.events]
    assert first == second
    assert len(set(first)) == len(first)
    assert all(i.startswith("ql:") and len(i) <= 200 for i in first)  # CallEventRecord.event_id


def test_the_event_id_is_the_documented_digest_of_the_stripped_fields():
    line = "1700000000|1700000000.1|sales|NONE|ENTERQUEUE||021555123|1"
    [parsed] = parse_lines([line])
    digest = hashlib.sha256(line.encode()).hexdigest()[:32]
    assert parsed.events[0].event_id == f"ql:{digest}:queued"


def test_padding_and_trailing_empty_fields_do_not_change_the_ids():
    plain = "1700000290|1700000100.1|sales|SIP/201|TRANSFER|300|from-internal|4|120|1"
    padded = " 1700000290 | 1700000100.1 |sales| SIP/201 |TRANSFER| 300 |from-internal|4|120|1||\n"
    ids = [[e.event_id for p in parse_lines([text]) for e in p.events] for text in (plain, padded)]
    assert ids[0] == ids[1]
    assert len(set(ids[0])) == 2  # TRANSFERRED and HANGUP from one line differ


def test_a_different_data_field_gives_a_different_id():
    one = "1700000115|1700000100.1|sales|SIP/202|RINGNOANSWER|15000"
    other = "1700000115|1700000100.1|sales|SIP/202|RINGNOANSWER|14000"
    ids = {e.event_id for text in (one, other) for p in parse_lines([text]) for e in p.events}
    assert len(ids) == 2


# --- streaming and bounded memory -------------------------------------------------------------


def test_a_200000_line_file_is_streamed_lazily():
    pulled = 0

    def lines():
        nonlocal pulled
        for n in range(100_000):
            call_id = f"{1700000000 + n}.{n}"
            pulled += 1
            yield f"{1700000000 + n}|{call_id}|sales|NONE|ENTERQUEUE||3390000000|1\n"
            pulled += 1
            yield f"{1700000003 + n}|{call_id}|sales|NONE|ABANDON|1|1|3\n"

    stats = QueueLogStats()
    parsed = parse_lines(lines(), stats=stats)
    assert inspect.isgenerator(parsed)
    assert pulled == 0  # nothing read before the first item is asked for
    first = next(parsed)
    assert (first.number, pulled) == (1, 1)
    second = next(parsed)
    assert (second.number, pulled) == (2, 2)

    rest = sum(len(p.events) for p in parsed)
    assert rest == 199_998
    assert stats == QueueLogStats(lines=200_000, events=200_000)


def test_the_per_call_memory_is_bounded_and_forgets_the_oldest_call():
    lines = [
        "1700000000|call-a|sales|NONE|DID|0800000001",
        "1700000000|call-b|sales|NONE|DID|0800000002",
        "1700000000|call-c|sales|NONE|DID|0800000003",
        "1700000001|call-c|sales|NONE|ENTERQUEUE||021555123|1",
        "1700000001|call-a|sales|NONE|ENTERQUEUE||021555456|1",
    ]
    parsed = parse_lines(lines, max_tracked_calls=2)
    dids = [(e.call_id, e.did) for p in parsed for e in p.events]
    assert dids == [("call-c", "0800000003"), ("call-a", "")]


def test_calls_forgotten_while_waiting_still_count_as_open():
    lines = [
        "1700000000|call-a|sales|NONE|ENTERQUEUE||021555123|1",
        "1700000001|call-b|sales|NONE|ENTERQUEUE||021555456|1",
        "1700000002|call-c|sales|NONE|ENTERQUEUE||021555789|1",
        "1700000009|call-c|sales|NONE|ABANDON|1|1|7",
    ]
    stats = QueueLogStats()
    list(parse_lines(lines, stats=stats, max_tracked_calls=1))
    assert stats.open_calls == 2
