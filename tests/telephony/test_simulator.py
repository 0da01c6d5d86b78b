"""The PBX simulator: its seeded timeline (pure), and the command against a live server."""

import json
import re
import socket
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from contactcenter.tenancy.models import Skill
from telephony.management.commands.simulate_pbx import Command, Target, load_company
from telephony.models import (
    Agent,
    AgentSkill,
    Call,
    CallEventRecord,
    DidRoute,
    Extension,
    InboundRequest,
    PauseReason,
    PbxConnection,
    Queue,
)
from telephony.pbx import native
from telephony.pbx.events import AgentEvent, CallEvent
from telephony.simulator import Profile, SimAgent, SimCompany, SimQueue, Simulation
from tests.conftest import make_user

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PREFIX = "sim7-1795424400"  # seed 7, START in Unix seconds

BANK = SimCompany(
    slug="bank",
    queues=(
        SimQueue("support", frozenset({"cards"}), "+74951200101", max_wrap_up_seconds=60),
        SimQueue("loans", frozenset({"loans"}), "+74951200102", max_wrap_up_seconds=30),
    ),
    agents=(
        SimAgent("101", frozenset({"cards"})),
        SimAgent("102", frozenset({"cards", "loans"})),
        SimAgent("103", frozenset({"cards"})),
        SimAgent("104", frozenset({"loans"})),
    ),
    known_callers=("+79161234567", "+74956211745"),
    unknown_caller_template="+7912345####",
    pause_reasons=("break", "lunch"),
)
SHOP = SimCompany(
    slug="shop",
    queues=(SimQueue("support", did="+390240001001"),),
    agents=(SimAgent("201"), SimAgent("202")),
    unknown_caller_template="+39312345####",
)

# Every random draw pinned, so that a timeline can be worked out by hand.
FIXED = Profile(
    ring_seconds=(4, 4),
    talk_median_seconds=60,
    talk_sigma=0,
    hold_probability=0,
    transfer_probability=0,
    patience_mean_seconds=None,
    wrap_up_seconds=(20, 20),
    recording_delay_seconds=(5, 5),
    known_caller_probability=0,
    pause_probability=0,
)
ONE_AGENT = SimCompany(
    slug="bank",
    queues=(SimQueue("support", did="+74951200101"),),
    agents=(SimAgent("101"),),
    unknown_caller_template="+79123450000",
)


def run(companies, **options):
    return list(Simulation(companies, **{"seed": 7, "start": START, **options}))


def long_run(**options):
    """An hour of both companies with about half the agents busy: every kind of call happens."""
    options = {"rate_per_minute": 0.5, "speed": 2, "duration": 3600, **options}
    return run((BANK, SHOP), **options)


def compact(timeline):
    """(due, type, call or agent, detail) per event: enough to compare with a hand-made list."""
    out = []
    for item in timeline:
        e = item.event
        who = e.get("call_id", e.get("agent", "")).removeprefix(PREFIX + "-")
        detail = e.get("action") or e.get("cause") or e.get("agent", "")
        if e["type"] == "recording":
            detail = ""
        out.append((item.due, e["type"], who, detail))
    return out


def by_call(timeline):
    calls = defaultdict(list)
    for item in timeline:
        if "call_id" in item.event:
            calls[item.event["call_id"]].append(item)
    return calls


# --- The scheduler, by hand -------------------------------------------------------------------


def test_one_agent_two_calls_a_second_apart_the_second_waits_for_the_wrap_up():
    timeline = run(
        [ONE_AGENT],
        profile=FIXED,
        arrivals=[(10, "bank", "support"), (11, "bank", "support")],
        duration=None,
    )
    assert compact(timeline) == [
        (0.0, "agent", "101", "login"),
        (10.0, "queued", "c00001", ""),
        (10.0, "ringing", "c00001", "101"),
        (11.0, "queued", "c00002", ""),
        (14.0, "answered", "c00001", "101"),
        (74.0, "hangup", "c00001", "normal"),
        (79.0, "recording", "c00001", ""),
        # Wrap-up over: the agent is available, and the waiting call rings at once.
        (94.0, "agent", "101", "available"),
        (94.0, "ringing", "c00002", "101"),
        (98.0, "answered", "c00002", "101"),
        (158.0, "hangup", "c00002", "normal"),
        (163.0, "recording", "c00002", ""),
        (178.0, "agent", "101", "available"),
        (178.0, "agent", "101", "logout"),
    ]
    first, second = (item.call for item in timeline if item.call)
    assert (first.answered, first.wait, first.talk, first.agents) == (True, 4.0, 60.0, ("101",))
    assert (second.answered, second.wait, second.talk) == (True, 87.0, 60.0)


def test_one_agent_two_calls_a_second_apart_the_second_abandons_when_patience_runs_out():
    profile = Profile(**{**FIXED.__dict__, "patience_mean_seconds": 30, "patience_fixed": True})
    timeline = run(
        [ONE_AGENT],
        profile=profile,
        arrivals=[(10, "bank", "support"), (11, "bank", "support")],
        duration=None,
    )
    assert compact(timeline) == [
        (0.0, "agent", "101", "login"),
        (10.0, "queued", "c00001", ""),
        (10.0, "ringing", "c00001", "101"),
        (11.0, "queued", "c00002", ""),
        (14.0, "answered", "c00001", "101"),
        (41.0, "hangup", "c00002", "abandoned"),
        (74.0, "hangup", "c00001", "normal"),
        (79.0, "recording", "c00001", ""),
        (94.0, "agent", "101", "available"),
        (94.0, "agent", "101", "logout"),
    ]
    abandoned = timeline[5]
    assert abandoned.event == {
        "event_id": f"{PREFIX}-000006",
        "call_id": f"{PREFIX}-c00002",
        "type": "hangup",
        "timestamp": "2026-11-23T09:00:41.000Z",
        "queue": "support",
        "cause": "abandoned",
    }
    assert (abandoned.call.answered, abandoned.call.wait, abandoned.call.agents) == (
        False,
        30.0,
        (),
    )


def test_speed_divides_every_duration_but_not_the_arrivals():
    timeline = run(
        [ONE_AGENT],
        profile=FIXED,
        arrivals=[(10, "bank", "support")],
        duration=None,
        speed=4,
    )
    assert compact(timeline) == [
        (0.0, "agent", "101", "login"),
        (10.0, "queued", "c00001", ""),
        (10.0, "ringing", "c00001", "101"),
        (11.0, "answered", "c00001", "101"),
        (26.0, "hangup", "c00001", "normal"),
        (27.25, "recording", "c00001", ""),
        (31.0, "agent", "101", "available"),
        (31.0, "agent", "101", "logout"),
    ]


def test_wrap_up_never_exceeds_the_queues_maximum():
    company = SimCompany(
        slug="bank",
        queues=(SimQueue("support", max_wrap_up_seconds=12),),
        agents=(SimAgent("101"),),
    )
    timeline = run([company], profile=FIXED, arrivals=[(0, "bank", "support")], duration=None)
    hangup = next(i for i in timeline if i.event["type"] == "hangup")
    available = next(i for i in timeline if i.event.get("action") == "available")
    assert available.due - hangup.due == 12


def test_the_first_events_are_complete_native_events():
    timeline = run([ONE_AGENT], profile=FIXED, arrivals=[(10, "bank", "support")], duration=None)
    assert [item.event for item in timeline[:3]] == [
        {
            "event_id": f"{PREFIX}-000001",
            "type": "agent",
            "timestamp": "2026-11-23T09:00:00.000Z",
            "agent": "101",
            "action": "login",
        },
        {
            "event_id": f"{PREFIX}-000002",
            "call_id": f"{PREFIX}-c00001",
            "type": "queued",
            "timestamp": "2026-11-23T09:00:10.000Z",
            "direction": "inbound",
            "caller": "+79123450000",
            "callee": "+74951200101",
            "did": "+74951200101",
            "queue": "support",
        },
        {
            "event_id": f"{PREFIX}-000003",
            "call_id": f"{PREFIX}-c00001",
            "type": "ringing",
            "timestamp": "2026-11-23T09:00:10.000Z",
            "direction": "inbound",
            "caller": "+79123450000",
            "callee": "+74951200101",
            "did": "+74951200101",
            "queue": "support",
            "agent": "101",
        },
    ]


def test_a_transfer_rings_a_free_agent_of_the_target_queue():
    profile = Profile(
        **{**FIXED.__dict__, "transfer_probability": 1, "transfer_delay_seconds": (2, 2)}
    )
    timeline = run([BANK], profile=profile, arrivals=[(0, "bank", "support")], duration=None)
    assert compact(timeline)[4:] == [
        (0.0, "queued", "c00001", ""),
        (0.0, "ringing", "c00001", "101"),
        (4.0, "answered", "c00001", "101"),
        (64.0, "transferred", "c00001", "101"),
        (66.0, "ringing", "c00001", "102"),  # 102 and 104 know loans, idle alike: 102 first
        (70.0, "answered", "c00001", "102"),
        (84.0, "agent", "101", "available"),
        (130.0, "hangup", "c00001", "normal"),
        (135.0, "recording", "c00001", ""),
        (150.0, "agent", "102", "available"),
        (150.0, "agent", "101", "logout"),
        (150.0, "agent", "102", "logout"),
        (150.0, "agent", "103", "logout"),
        (150.0, "agent", "104", "logout"),
    ]
    transferred = timeline[7].event
    assert (transferred["transfer_to"], timeline[8].event["queue"]) == ("loans", "loans")
    summary = timeline[11].call
    assert (summary.agents, summary.transfer_to, summary.talk) == (("101", "102"), "loans", 120.0)


# --- The scheduler, by its properties over a long seeded run ---------------------------------


def test_the_same_seed_and_start_give_the_same_timeline_and_another_seed_another():
    assert long_run() == long_run()
    assert compact(long_run()) != compact(long_run(seed=8))


def test_event_and_call_ids_are_unique_and_name_the_seed_and_start():
    timeline = long_run()
    ids = [item.event["event_id"] for item in timeline]
    assert len(ids) == len(set(ids)) > 500
    assert all(re.fullmatch(rf"{PREFIX}-\d{{6}}", i) for i in ids)
    calls = by_call(timeline)
    assert all(re.fullmatch(rf"{PREFIX}-c\d{{5}}", c) for c in calls)
    other = long_run(start=START + timedelta(seconds=1))
    assert not set(ids) & {item.event["event_id"] for item in other}


def test_events_come_in_due_order_with_their_timestamps():
    timeline = long_run()
    dues = [item.due for item in timeline]
    assert dues == sorted(dues)
    for item in timeline:
        moment = datetime.fromisoformat(item.event["timestamp"])
        assert moment == START + timedelta(seconds=item.due)


def test_every_event_is_accepted_by_the_native_parser():
    for item in long_run():
        (event,) = native.parse(json.dumps(item.event).encode())
        assert isinstance(event, AgentEvent if item.event["type"] == "agent" else CallEvent)


CALL_SHAPE = re.compile(
    r"queued (hangup"  # abandoned in the queue
    r"|ringing answered (hold unhold )?"
    r"(transferred ringing answered (hold unhold )?)?hangup recording)"
)


def test_every_calls_events_come_in_a_valid_order():
    calls = by_call(long_run())
    shapes = Counter()
    for call_id, items in calls.items():
        kinds = " ".join(item.event["type"] for item in items)
        assert CALL_SHAPE.fullmatch(kinds), (call_id, kinds)
        shapes["transferred" in kinds, "hold" in kinds, kinds == "queued hangup"] += 1
    # The run has every kind of call: plain, held, transferred and abandoned.
    assert shapes[False, False, False] and shapes[False, True, False]
    assert shapes[True, False, False] + shapes[True, True, False] > 0
    assert shapes[False, False, True] > 0


def test_no_agent_is_rung_while_ringing_talking_wrapping_up_or_paused():
    busy: dict[tuple[str, str], str | None] = {}
    paused: set[tuple[str, str]] = set()
    handled = Counter()
    for item in long_run():
        e = item.event
        agent = (item.company, e.get("agent", ""))
        if e["type"] == "agent":
            if e["action"] == "login":
                busy[agent] = None
            elif e["action"] == "available":
                busy[agent] = None
                paused.discard(agent)
            elif e["action"] == "pause":
                assert busy[agent] is None and agent not in paused
                assert e["reason"] in ("break", "lunch")
                paused.add(agent)
                handled["pauses"] += 1
            else:
                assert busy[agent] is None and agent not in paused
        elif e["type"] == "ringing":
            assert busy[agent] is None, (agent, e)
            assert agent not in paused, (agent, e)
            busy[agent] = e["call_id"]
            handled[agent] += 1
        elif e["type"] in ("answered", "hold", "unhold", "transferred") or (
            e["type"] == "hangup" and e["cause"] == "normal"
        ):
            assert busy[agent] == e["call_id"], (agent, e)
    assert handled.pop("pauses") > 0
    assert set(handled) == {(c.slug, a.extension) for c in (BANK, SHOP) for a in c.agents}
    assert paused == set()


def test_agents_are_rung_only_for_queues_whose_skills_they_have():
    skills = {a.extension: a.skills for a in BANK.agents}
    queues = {q.code: q.skills for q in BANK.queues}
    for item in long_run():
        if item.company == "bank" and item.event["type"] == "ringing":
            assert queues[item.event["queue"]] <= skills[item.event["agent"]]


def test_every_answered_call_has_a_recording_and_its_agents_become_available_after_it():
    timeline = long_run()
    for call_id, items in by_call(timeline).items():
        kinds = [item.event["type"] for item in items]
        if "answered" not in kinds:
            continue
        hangup = next(item for item in items if item.event["type"] == "hangup")
        recording = items[-1].event
        assert recording["type"] == "recording"
        assert recording["recording_url"] == (
            f"https://pbx.{hangup.company}.example.com/recordings/{call_id}.wav"
        )
        answered_by = [item.event["agent"] for item in items if item.event["type"] == "answered"]
        assert list(hangup.call.agents) == answered_by
        last = answered_by[-1]
        available = [
            item
            for item in timeline
            if item.company == hangup.company
            and item.event.get("action") == "available"
            and item.event["agent"] == last
            and item.due > hangup.due
        ]
        assert available, call_id
        # 10-40 s of wrap-up (at most 30 s for loans), halved by the speed.
        assert 5 <= available[0].due - hangup.due <= 20


def test_abandons_happen_only_before_an_answer_and_only_while_waiting():
    calls = by_call(long_run())
    abandoned = 0
    for items in calls.values():
        hangup = next(item for item in items if item.event["type"] == "hangup")
        if hangup.event["cause"] == "abandoned":
            abandoned += 1
            assert [item.event["type"] for item in items] == ["queued", "hangup"]
            assert hangup.call.answered is False
            assert hangup.call.wait == pytest.approx(hangup.due - items[0].due, abs=0.002)
        else:
            assert hangup.call.answered is True
    assert 0 < abandoned < len(calls) / 2


def test_callers_are_known_customers_or_unknown_numbers_of_the_country():
    callers = Counter()
    for item in long_run():
        if item.company == "bank" and item.call is not None:
            caller = item.call.caller
            if item.call.known_caller:
                assert caller in BANK.known_callers
            else:
                assert re.fullmatch(r"\+7912345\d{4}", caller)
            callers[item.call.known_caller] += 1
    assert callers[True] > 0 and callers[False] > 0


def test_arrivals_stop_at_the_duration_and_calls_in_progress_finish():
    timeline = long_run(duration=600)
    queued = [item.due for item in timeline if item.event["type"] == "queued"]
    assert max(queued) < 600
    for items in by_call(timeline).values():
        assert any(item.event["type"] == "hangup" for item in items)
    logouts = [item for item in timeline if item.event.get("action") == "logout"]
    assert len(logouts) == 6
    assert timeline[-6:] == logouts


def test_close_hangs_up_the_calls_in_progress_and_logs_everyone_out():
    simulation = Simulation([BANK, SHOP], seed=7, start=START, rate_per_minute=20)
    timeline = iter(simulation)
    sent = []
    for item in timeline:
        sent.append(item)
        if item.due > 300:
            break
    closing = simulation.close(at=301)
    assert all(item.due == 301 for item in closing)
    open_calls = {
        call_id
        for call_id, items in by_call(sent).items()
        if not any(i.event["type"] == "hangup" for i in items)
    }
    assert open_calls
    hung_up = {item.event["call_id"] for item in closing if item.event["type"] == "hangup"}
    assert hung_up == open_calls
    for item in closing:
        if item.event["type"] == "hangup":
            answered = any(
                i.event["type"] == "answered" and i.event["call_id"] == item.event["call_id"]
                for i in sent
            )
            assert item.event["cause"] == ("normal" if answered else "abandoned")
    assert [i.event["agent"] for i in closing if i.event.get("action") == "logout"] == [
        "101",
        "102",
        "103",
        "104",
        "201",
        "202",
    ]
    assert list(timeline) == []


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="speed must be positive"):
        Simulation([BANK], seed=1, start=START, speed=0)
    with pytest.raises(ValueError, match="bank: a extension appears twice"):
        Simulation(
            [SimCompany("bank", BANK.queues, (SimAgent("101"), SimAgent("101")))],
            seed=1,
            start=START,
        )


# --- The command --------------------------------------------------------------------------


@pytest.fixture
def pbx(company, customer):
    """The bank's PBX in small: one queue, three agents, one known customer (Ivan)."""
    connection = PbxConnection.objects.create(
        name="Bank PBX", company=company, format="native", key="demo-bank", secret="s3cret"
    )
    cards = Skill.objects.create(company=company, name="Cards")
    queue = Queue.objects.create(company=company, code="support", name="Cards")
    queue.skills.add(cards)
    DidRoute.objects.create(company=company, connection=connection, did="+74951200101", queue=queue)
    for number in ("101", "102", "103"):
        agent = Agent.objects.create(
            company=company, user=make_user(f"agent{number}", company, "agent")
        )
        AgentSkill.objects.create(agent=agent, skill=cards, level=5)
        Extension.objects.create(company=company, agent=agent, number=number)
    PauseReason.objects.create(company=company, code="break", label="Break")
    return connection


def test_the_command_loads_the_companys_pbx(pbx):
    simulated, connection = load_company(pbx.company)
    assert connection == pbx
    assert simulated == SimCompany(
        slug="bank",
        queues=(SimQueue("support", frozenset({"Cards"}), "+74951200101", 120),),
        agents=(
            SimAgent("101", frozenset({"Cards"})),
            SimAgent("102", frozenset({"Cards"})),
            SimAgent("103", frozenset({"Cards"})),
        ),
        known_callers=("+79161234567",),
        unknown_caller_template="+7912345####",
        pause_reasons=("break",),
    )


def test_the_command_waits_for_the_server_then_gives_up_with_a_clear_message(pbx):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = StringIO()
    with pytest.raises(
        CommandError, match=rf"No server answered at http://127.0.0.1:{port} within 0.5 s"
    ):
        call_command(
            "simulate_pbx", "--url", f"http://127.0.0.1:{port}", "--wait", "0.5", stdout=out
        )
    assert f"Waiting for the server at http://127.0.0.1:{port} (up to 0.5 s)..." in out.getvalue()


def test_a_503_is_retried_with_the_same_bytes_and_a_4xx_is_skipped(monkeypatch):
    command = Command(stdout=StringIO(), stderr=StringIO())
    command.targets = {"bank": Target("http://pbx.invalid/", "s3cret")}
    command.counts, command.rejections, command.retries = Counter(), Counter(), []
    command._sequence = 0
    answers = [(503, "database unavailable, retry later", 0.0), (200, "", 0.0), (400, "bad", 0.0)]
    posted = []

    def post(target, body, timeout):
        posted.append(body)
        return answers.pop(0)

    monkeypatch.setattr(command, "_post", post)
    command._send("bank", b'{"event_id":"e1"}')
    assert (command.counts["retried"], len(command.retries)) == (1, 1)
    command._retry_due(until=command.retries[0][0])
    assert posted == [b'{"event_id":"e1"}', b'{"event_id":"e1"}']
    assert command.counts["accepted"] == 1 and command.retries == []
    command._send("bank", b'{"event_id":"e2"}')
    assert (command.counts["rejected"], command.retries) == (1, [])
    assert "bank: event e2 refused with 400: bad" in command.stderr.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_command_drives_a_live_server_into_the_call_log(live_server, pbx):
    bank = pbx.company
    options = {"seed": 1, "rate_per_minute": 300, "speed": 300, "duration": 1.0}
    # The same seed gives the command the same calls, whatever its start time.
    timeline = list(Simulation([load_company(bank)[0]], start=START, **options))
    expected = [item.call for item in timeline if item.call]
    agent_events = sum(1 for item in timeline if item.event["type"] == "agent")
    out = StringIO()
    call_command(
        "simulate_pbx",
        "--url",
        live_server.url,
        "--company",
        "bank",
        "--seed",
        "1",
        "--rate",
        "300",
        "--speed",
        "300",
        "--duration",
        "1",
        stdout=out,
        stderr=out,
    )
    output = out.getvalue()
    calls = Call.objects.filter(company=bank)
    # Seed 1: seven calls, one of them transferred; the two that found every agent busy
    # abandoned within a second (speed 300), which is a short abandon.
    assert (len(expected), sum(1 for c in expected if c.transfer_to)) == (7, 1)
    assert Counter(calls.values_list("outcome", flat=True)) == {"answered": 5, "short_abandon": 2}
    assert calls.filter(transfer_count=1).count() == 1
    for call in calls.filter(outcome="answered"):
        assert call.recording_url.startswith("https://pbx.bank.example.com/recordings/")
        assert call.agent is not None and call.talk_seconds is not None
    known = sum(1 for c in expected if c.known_caller)
    assert calls.filter(customers__isnull=False).distinct().count() == known
    statuses = Counter(InboundRequest.objects.values_list("status", flat=True))
    assert statuses == {"applied": len(timeline)}
    assert CallEventRecord.objects.count() == len(timeline) - agent_events
    n = len(timeline)
    assert f"{n} events: {n} accepted, 0 refused, 0 lost, 0 resent." in output
    assert len([line for line in output.splitlines() if " bank  " in line]) == len(expected)
