"""Screen-pop latency: from the start of the PBX's POST to the card at the agent's websocket.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cc_bench REDIS_URL=redis://127.0.0.1:6379/14 \
        .venv/bin/python bench/screen_pop.py

Uses the database cc_bench_screen_pop on the server DATABASE_URL names (created, migrated and
emptied at the start of every run) and the Redis REDIS_URL names. Creates --agents agents (500)
with users, memberships, extensions and a logged-in session each, all in bulk, and starts the
servers exactly as the README deploys them: gunicorn (sync workers, contactcenter.wsgi) for the
PBX webhooks, uvicorn (uvloop, httptools) for the websockets. Then:

- every agent connects to `ws/agent/` on uvicorn with its session cookie, as the agent's browser;
- a steady background load of --rate events/s (200) is posted to the webhook on gunicorn: calls
  one after another on the first agents (queued, ringing, answered, hang-up), so that their
  websockets receive their own pops and state changes all along;
- --samples-per-second times a second (10), a call is queued for one of the other agents, and
  its ringing event is timed from the start of its POST to the arrival of the call at that
  agent's websocket (the call is then answered and hung up, untimed);
- as a baseline, as often and in the same run, a message is sent with the channel layer's
  group_send straight to an agent's group, and timed to its arrival at the agent's websocket.

It prints p50, p99 and max of both (target: the pop's p99 at most 50 ms), the time the POST took
to answer, and the resident memory of both servers with the 500 websockets connected; it fails
if a request was not answered 200, if a pop or a baseline message did not arrive, if any client
received a message meant for another agent, or if the call log differs from what was posted.
"""

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from _common import median, percentile
from _web import (
    GUNICORN_WORKERS,
    UVICORN_WORKERS,
    AutovacuumStandIn,
    CallPlanner,
    add_history_option,
    check_call_log,
    cpu_seconds,
    create_call_centre,
    database_label,
    free_port,
    gunicorn_command,
    install_uvloop,
    keep_or_remove_logs,
    load_average,
    load_history,
    post,
    print_memory,
    setup_django,
    signed_request,
    start_applier,
    start_server,
    stop_on_sigterm,
    uvicorn_command,
)

TARGET_P99 = 0.050
ARRIVAL_TIMEOUT = 5.0
# More timed calls than this still waiting means the server is saturated: adding more would only
# measure the queue, and slow the run down.
MAX_SAMPLES_IN_FLIGHT = 20


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=500, help="connected agents (500)")
    parser.add_argument("--sample-agents", type=int, default=50, help="of them, for pops (50)")
    parser.add_argument("--rate", type=float, default=200, help="background events/s (200)")
    parser.add_argument("--lanes", type=int, default=16, help="background clients (16)")
    parser.add_argument("--samples-per-second", type=float, default=10, help="timed pops/s (10)")
    parser.add_argument("--duration", type=float, default=60, help="measured seconds (60)")
    parser.add_argument("--warmup", type=float, default=5, help="untimed seconds first (5)")
    parser.add_argument(
        "--customers", type=int, default=20_000, help="customers with phones (20,000)"
    )
    parser.add_argument(
        "--gunicorn-workers", type=int, default=GUNICORN_WORKERS, help="as the README"
    )
    parser.add_argument(
        "--uvicorn-workers", type=int, default=UVICORN_WORKERS, help="as the README"
    )
    add_history_option(parser)
    parser.add_argument("--database", default="cc_bench_screen_pop", help="PostgreSQL database")
    parser.add_argument("--seed", type=int, default=1, help="picks callers and durations")
    parser.add_argument(
        "--inline",
        action="store_true",
        help="apply each event before answering (PBX_APPLY_IN_WORKER off), without the applier",
    )
    return parser.parse_args(argv)


class Agents:
    """The connected agents' websockets and every message each of them received."""

    def __init__(self, centre, port: int):
        self.centre, self.port = centre, port
        self.index_of_agent = {agent_id: i for i, agent_id in enumerate(centre.agent_ids)}
        # call id -> [(client index, arrival time)]; a state change names its agent.
        self.arrivals: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self.notices: dict[str, list[tuple[int, float]]] = defaultdict(list)  # ringing notices
        self.waiters: dict[tuple[str, int], asyncio.Future] = {}  # the first message of a call
        self.card_waiters: dict[tuple[str, int], asyncio.Future] = {}  # its first "call" one
        self.received = [0] * len(centre.agent_ids)
        self.states = 0
        self.foreign_states = 0
        self.other_types: dict[str, int] = defaultdict(int)
        self.sockets = []
        self.tasks = []
        self.closing = False
        self.dropped: list[tuple[int, int | None]] = []  # closed by the server: (index, code)

    async def connect(self, concurrency: int = 25) -> float:
        from websockets.asyncio.client import connect

        started = time.perf_counter()
        gate = asyncio.Semaphore(concurrency)
        origin = f"http://127.0.0.1:{self.port}"

        async def one(index: int):
            async with gate:
                ws = await connect(
                    f"ws://127.0.0.1:{self.port}/ws/agent/",
                    origin=origin,
                    additional_headers={"Cookie": f"sessionid={self.centre.session_keys[index]}"},
                    ping_interval=None,  # the server pings; a browser does not
                    max_queue=None,
                )
            self.sockets[index] = ws
            self.tasks.append(asyncio.create_task(self._listen(index, ws)))

        self.sockets = [None] * len(self.centre.agent_ids)
        await asyncio.gather(*(one(i) for i in range(len(self.sockets))))
        return time.perf_counter() - started

    async def _listen(self, index: int, ws):
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in ws:
                arrived = time.perf_counter()
                message = json.loads(raw)
                self.received[index] += 1
                kind = message.get("type")
                call_id = (message.get("call") or message.get("ringing") or {}).get("pbx_call_id")
                if kind in ("call", "ringing") and call_id:
                    (self.arrivals if kind == "call" else self.notices)[call_id].append(
                        (index, arrived)
                    )
                    waiters = [self.waiters]
                    if kind == "call":
                        waiters.append(self.card_waiters)
                    for pending in waiters:
                        waiter = pending.pop((call_id, index), None)
                        if waiter is not None and not waiter.done():
                            waiter.set_result(arrived)
                elif kind == "state":
                    self.states += 1
                    about = (message.get("state") or {}).get("agent_id")
                    if self.index_of_agent.get(about) != index:
                        self.foreign_states += 1
                else:
                    self.other_types[str(kind)] += 1
        except ConnectionClosed:
            pass
        if not self.closing:
            self.dropped.append((index, ws.close_code))

    def expect(self, call_id: str, index: int) -> asyncio.Future:
        """A future set to the arrival time of the first message about `call_id` at `index`:
        the ringing notice the webhook sends, or the applier's call message if it comes first."""
        future = asyncio.get_running_loop().create_future()
        self.waiters[(call_id, index)] = future
        return future

    def expect_card(self, call_id: str, index: int) -> asyncio.Future:
        """A future set to the arrival time of the first call message about `call_id` at
        `index`: the call applied, whose card the workspace then fetches."""
        future = asyncio.get_running_loop().create_future()
        self.card_waiters[(call_id, index)] = future
        return future

    async def close(self, concurrency: int = 25):
        # A few at a time, as browsers leave: each disconnect is a group_discard on Redis.
        self.closing = True
        gate = asyncio.Semaphore(concurrency)

        async def one(ws):
            async with gate:
                await ws.close()

        await asyncio.gather(*(one(ws) for ws in self.sockets if ws is not None))
        for task in self.tasks:
            task.cancel()


class Load:
    """Posts the planned calls' events and keeps every answer."""

    def __init__(self, centre, planner: CallPlanner, port: int, inline: bool):
        self.centre, self.planner, self.port = centre, planner, port
        # Applied before the answer, or accepted once stored (the applier applies it).
        self.expected = (200, {"applied": 1, "duplicates": 0}) if inline else (202, {"accepted": 1})
        self.answered_200: dict[str, int] = defaultdict(int)
        self.bad = []
        self.target_of: dict[str, int] = {}  # call id -> index of the agent it rings

    async def send(self, call_id: str, body: bytes) -> float:
        request = signed_request(self.centre.webhook_path, body, self.centre.secret)
        started = time.perf_counter()
        status, answer = await post(self.port, request)
        elapsed = time.perf_counter() - started
        try:
            ok = (status, json.loads(answer)) == self.expected
        except ValueError:
            ok = False
        if ok:
            self.answered_200[call_id] += 1
        else:
            self.answered_200.setdefault(call_id, 0)
            self.bad.append((call_id, status, answer[:200]))
        return elapsed


async def background(load: Load, agents: list[int], lanes: int, rate: float, stop: float):
    """`rate` events/s in all, each lane playing calls on its own agents one after another."""
    start = time.perf_counter()
    slot = 0
    sent = 0
    per_lane = max(1, len(agents) // lanes)

    async def lane(n: int):
        nonlocal slot, sent
        mine = agents[n * per_lane : (n + 1) * per_lane] or agents[n % len(agents) :][:1]
        calls = 0
        while True:
            index = mine[calls % len(mine)]
            extension = load.centre.extensions[index]
            planned = load.planner.plan(f"bg-{n:02d}-{calls:06d}", extension)
            load.target_of[planned.call_id] = index
            calls += 1
            for body in planned.bodies:
                due = start + slot / rate
                slot += 1
                # A saturated server leaves `due` behind the clock: stop at the time either way.
                if due >= stop or time.perf_counter() >= stop:
                    return
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                await load.send(planned.call_id, body)
                sent += 1

    await asyncio.gather(*(lane(n) for n in range(lanes)))
    return sent, time.perf_counter() - start


async def sampler(load: Load, agents: Agents, sample: list[int], per_second: float, stop, start):
    """Timed pops: (latencies to the first message, latencies to the call message, POST answer
    times, pops that never arrived, ticks skipped because MAX_SAMPLES_IN_FLIGHT calls were still
    waiting: the server is saturated)."""
    latencies, card_latencies, answer_times, lost = [], [], [], []
    tasks = []
    in_flight = skipped = 0

    async def one(n: int, index: int):
        nonlocal in_flight
        in_flight += 1
        try:
            await _one(n, index)
        finally:
            in_flight -= 1

    async def _one(n: int, index: int):
        extension = load.centre.extensions[index]
        planned = load.planner.plan(f"pop-{n:06d}", extension)
        load.target_of[planned.call_id] = index
        queued, ringing, answered, hangup = planned.bodies
        await load.send(planned.call_id, queued)
        arrival = agents.expect(planned.call_id, index)
        card = agents.expect_card(planned.call_id, index)
        started = time.perf_counter()
        answered_in = await load.send(planned.call_id, ringing)
        try:
            arrived = await asyncio.wait_for(arrival, ARRIVAL_TIMEOUT)
            card_arrived = await asyncio.wait_for(card, ARRIVAL_TIMEOUT)
            if started >= start:
                latencies.append(arrived - started)
                card_latencies.append(card_arrived - started)
                answer_times.append(answered_in)
        except TimeoutError:
            lost.append(planned.call_id)
        await load.send(planned.call_id, answered)
        await load.send(planned.call_id, hangup)

    n = 0
    begin = time.perf_counter()
    while True:
        due = begin + n / per_second
        if due >= stop:
            break
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        n += 1
        if in_flight >= MAX_SAMPLES_IN_FLIGHT:
            skipped += 1
            continue
        # One sample agent after another: each has seconds between its calls.
        tasks.append(asyncio.create_task(one(n, sample[n % len(sample)])))
    await asyncio.gather(*tasks)
    return latencies, card_latencies, answer_times, lost, skipped


async def baseline(agents: Agents, sample: list[int], per_second: float, stop, start):
    """group_send straight to an agent's group, timed to the arrival at its websocket."""
    from channels.layers import get_channel_layer

    from telephony.realtime import agent_group

    layer = get_channel_layer()
    latencies, lost = [], []
    n = 0
    # Half a period after the samples, so that the two never queue behind each other.
    begin = time.perf_counter() + 0.5 / per_second
    while True:
        due = begin + n / per_second
        if due >= stop or time.perf_counter() >= stop:
            break
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        index = sample[n % len(sample)]
        call_id = f"baseline-{n:06d}"
        arrival = agents.expect(call_id, index)
        started = time.perf_counter()
        await layer.group_send(
            agent_group(agents.centre.agent_ids[index]),
            {"type": "call.update", "call": {"pbx_call_id": call_id, "baseline": True}},
        )
        try:
            arrived = await asyncio.wait_for(arrival, ARRIVAL_TIMEOUT)
            if started >= start:
                latencies.append(arrived - started)
        except TimeoutError:
            lost.append(call_id)
        n += 1
    return latencies, lost


def main(argv=None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    if args.sample_agents >= args.agents:
        print("--sample-agents must be fewer than --agents", file=sys.stderr)
        return 2
    setup_django(args.database)
    from django.db import connection

    loop_name = install_uvloop()
    print(f"database: {database_label()}; load average {load_average()}")
    started = time.perf_counter()
    centre = create_call_centre(
        label="screen-pop", agents=args.agents, customers=args.customers, sessions=True
    )
    print(
        f"created 1 company, {args.agents} agents (users, memberships, extensions, sessions), "
        f"{args.customers:,} customers in {time.perf_counter() - started:.1f} s"
    )
    load_history(centre, args.history)
    autovacuum = AutovacuumStandIn()
    autovacuum.start()
    connection.close()

    log_dir = Path(tempfile.mkdtemp(prefix="cc-bench-screen-pop-"))
    servers = []
    try:
        port = free_port()
        command = gunicorn_command(port, args.gunicorn_workers)
        mode = {"PBX_APPLY_IN_WORKER": "0" if args.inline else "1"}
        servers.append(
            start_server("gunicorn", command, port, log_dir, args.gunicorn_workers, env=mode)
        )
        flag = mode["PBX_APPLY_IN_WORKER"]
        print(f"PBX webhooks: {' '.join(command[1:])} (PBX_APPLY_IN_WORKER={flag})")
        if not args.inline:
            servers.append(start_applier(log_dir, mode))
            print("applier:      manage.py apply_pbx_events")
        ws_port = free_port()
        command = uvicorn_command(ws_port, args.uvicorn_workers)
        servers.append(start_server("uvicorn", command, ws_port, log_dir, args.uvicorn_workers))
        print(f"websockets:   {' '.join(command[1:])}")
        print(f"client: {loop_name}, one connection per HTTP request")
        outcome = asyncio.run(run(args, centre, servers, port, ws_port))
    finally:
        logs = {server.name: server.log_tail() for server in servers}
        for server in servers:
            server.stop()
        autovacuum.stop()
    print(autovacuum.summary())
    status = report(args, centre, outcome, logs)
    keep_or_remove_logs(log_dir, status)
    return status


async def run(args, centre, servers, port, ws_port):
    agents = Agents(centre, ws_port)
    seconds = await agents.connect()
    print(f"connected {len(agents.sockets)} agent websockets in {seconds:.1f} s", flush=True)
    planner = CallPlanner(centre.extensions, centre.customers, random.Random(args.seed))
    load = Load(centre, planner, port, args.inline)
    indexes = list(range(args.agents))
    background_agents = indexes[: args.agents - args.sample_agents]
    sample_agents = indexes[args.agents - args.sample_agents :]

    now = time.perf_counter()
    start = now + args.warmup
    stop = start + args.duration
    print(
        f"background {args.rate:g} events/s on {len(background_agents)} agents; "
        f"{args.warmup:g} s warm-up, then {args.duration:g} s measured ...",
        flush=True,
    )
    cpu_client = cpu_seconds()
    (sent, elapsed), pops, base = await asyncio.gather(
        background(load, background_agents, args.lanes, args.rate, stop),
        sampler(load, agents, sample_agents, args.samples_per_second, stop, start),
        baseline(agents, sample_agents, args.samples_per_second, stop, start),
    )
    client_share = (cpu_seconds() - cpu_client) / (time.perf_counter() - now)
    await asyncio.sleep(2)  # messages still on their way would show up in the isolation check
    memory_ok = print_memory(servers)
    uvicorn = next(server for server in servers if server.name == "uvicorn")
    during_run = uvicorn.exceptions(0, uvicorn.log_size())
    await agents.close()
    return {
        "agents": agents,
        "load": load,
        "background_rate": sent / elapsed,
        "pops": pops,
        "baseline": base,
        "client_share": client_share,
        "memory_ok": memory_ok,
        "ws_exceptions": during_run,
    }


def _row(label: str, values: list[float]) -> str:
    values = sorted(values)
    if not values:
        return f"{label:34}{'-':>10}{'-':>10}{'-':>10}{0:>9,}"
    return (
        f"{label:34}{median(values) * 1000:>7.1f} ms{percentile(values, 99) * 1000:>7.1f} ms"
        f"{values[-1] * 1000:>7.1f} ms{len(values):>9,}"
    )


def report(args, centre, outcome, logs) -> int:
    agents, load = outcome["agents"], outcome["load"]
    pop_latencies, card_latencies, answer_times, lost_pops, skipped = outcome["pops"]
    base_latencies, lost_base = outcome["baseline"]
    print(
        f"\n(b) screen-pop: {args.agents} agents connected, background "
        f"{outcome['background_rate']:.0f} events/s (asked {args.rate:g}), "
        f"{args.duration:g} s; load average {load_average()}"
    )
    if outcome["background_rate"] < 0.95 * args.rate or skipped:
        print(
            f"SATURATED: the server did not keep up with the load asked for (background "
            f"{outcome['background_rate']:.0f} of {args.rate:g} events/s; {skipped} timed calls "
            f"skipped): the latencies below are those of a saturated server"
        )
    print(f"{'':34}{'p50':>10}{'p99':>10}{'max':>10}{'samples':>9}")
    print(_row("pop: POST start -> websocket", pop_latencies))
    print(_row("  the call applied -> websocket", card_latencies))
    print(_row("  the POST's answer (for reference)", answer_times))
    print(_row("group_send -> websocket (baseline)", base_latencies))
    if pop_latencies and base_latencies:
        pops, base = sorted(pop_latencies), sorted(base_latencies)
        p99 = percentile(pops, 99)
        verdict = "met" if p99 <= TARGET_P99 else "MISSED"
        print(
            f"{'ratio pop / baseline':34}{median(pops) / median(base):>9.1f}x"
            f"{p99 / percentile(base, 99):>9.1f}x"
            f"   p99 target <= {TARGET_P99 * 1000:.0f} ms: {verdict}"
        )
    print(
        f"(the load generator and the {args.agents} clients used "
        f"{outcome['client_share']:.0%} of one core)"
    )

    problems = []
    if load.bad:
        call_id, status, body = load.bad[0]
        problems.append(
            f"webhook: {len(load.bad)} responses were not 200 as expected, the first: "
            f"{status} {body!r} ({call_id})"
        )
    if lost_pops:
        problems.append(f"pops: {len(lost_pops)} never reached their agent, e.g. {lost_pops[0]}")
    if lost_base:
        problems.append(f"baseline: {len(lost_base)} messages never arrived")
    # Isolation: every message about a call went to the one agent it rang, and nobody else.
    misdelivered = 0
    unreached = 0
    for call_id, received in [*agents.arrivals.items(), *agents.notices.items()]:
        if call_id.startswith("baseline-"):
            continue
        target = load.target_of.get(call_id)
        misdelivered += sum(1 for index, _ in received if index != target)
    for call_id, target in load.target_of.items():
        if load.answered_200.get(call_id, 0) >= 2 and not any(
            index == target for index, _ in agents.arrivals.get(call_id, [])
        ):
            unreached += 1
    call_messages = sum(len(v) for v in agents.arrivals.values())
    notices = sum(len(v) for v in agents.notices.values())
    print(
        f"\nmessages: {sum(agents.received):,} received by {sum(1 for r in agents.received if r)} "
        f"clients: {call_messages:,} about calls, {notices:,} ringing notices, "
        f"{agents.states:,} agent states"
        + "".join(f", {n:,} {kind}" for kind, n in agents.other_types.items())
    )
    print(
        f"isolation: {misdelivered} call messages and notices and {agents.foreign_states} state "
        "messages "
        f"reached a client other than the agent they were about"
    )
    if outcome["ws_exceptions"]:
        print("uvicorn logged, while the agents were connected:")
        for line, count in sorted(outcome["ws_exceptions"].items(), key=lambda e: -e[1]):
            print(f"{count:>6} x {line}")
    if agents.dropped:
        codes = sorted({code for _, code in agents.dropped}, key=str)
        problems.append(
            f"websockets: the server closed {len(agents.dropped)} agent connections during the "
            f"run (close codes {codes}): their pops are lost until the browser reconnects; "
            f"the uvicorn log says why"
        )
    if misdelivered or agents.foreign_states:
        problems.append(
            f"isolation: {misdelivered + agents.foreign_states} messages reached the wrong agent"
        )
    if unreached:
        problems.append(f"pops: {unreached} calls rang an agent who received nothing about them")
    log_problems, calls, events = check_call_log(centre, load.planner.planned, load.answered_200)
    problems += log_problems
    print(f"call log: {calls:,} calls, {events:,} call events, as posted")
    if not outcome["memory_ok"]:
        print("memory: MISSED (a web process is over the limit)")
    if problems:
        print("\nERROR: " + "\nERROR: ".join(problems))
        for name, tail in logs.items():
            print(f"\nlast lines of the {name} log:\n{tail}")
        return 1
    print("checks: every response 200, every pop at its agent and nowhere else: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
