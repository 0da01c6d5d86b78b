"""PBX webhook ingest: signed events from concurrent clients, against a bare one-INSERT endpoint.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cc_bench REDIS_URL=redis://127.0.0.1:6379/14 \
        .venv/bin/python bench/ingest.py

Uses the database cc_bench_ingest on the server DATABASE_URL names (created, migrated and emptied
at the start of every run) and the Redis REDIS_URL names. Starts gunicorn exactly as the README
deploys it (sync workers on contactcenter.wsgi), with DJANGO_SETTINGS_MODULE=bench_settings,
which adds one URL to the application: `bench/bare/`, a view doing one INSERT per request.

--clients concurrent clients (16) then post, in alternating phases of the same run:

- **bare INSERT (baseline)**: a native event body to `bench/bare/`, stored with one INSERT;
- **PBX webhook**: signed native events to `POST /telephony/webhooks/<key>/`, each client
  playing its own calls one after another (queued, ringing, answered, hang-up; callers mostly
  customers, typed as E.164 or nationally), each call ringing one of the client's own agents.

It prints events/s, p50 and p99 latency of both, the ratio webhook / bare (target: at least
0.5), the server's CPU per request, and the resident memory of gunicorn's processes; it fails
if any response was not a 200, or if the call log does not hold exactly the calls, events and
durations that were posted.
"""

import argparse
import asyncio
import json
import math
import random
import sys
import tempfile
import time
from collections import defaultdict, deque
from pathlib import Path

from _common import median, percentile
from _web import (
    GUNICORN_WORKERS,
    AutovacuumStandIn,
    CallPlanner,
    add_history_option,
    check_call_log,
    cpu_seconds,
    create_call_centre,
    database_label,
    event_body,
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
    tree_cpu_seconds,
    wait_until_applied,
)

BARE_PATH = "/bench/bare/"
TARGET_RATIO = 0.5


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument(
        "--duration", type=float, default=20, help="seconds measured per endpoint (20)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="bare/webhook alternations (2)")
    parser.add_argument("--warmup", type=float, default=3, help="untimed seconds each (3)")
    parser.add_argument("--agents", type=int, default=64, help="agents, split among clients (64)")
    parser.add_argument(
        "--customers", type=int, default=20_000, help="customers with phones (20,000)"
    )
    parser.add_argument(
        "--workers", type=int, default=GUNICORN_WORKERS, help="gunicorn workers (as the README)"
    )
    add_history_option(parser)
    parser.add_argument("--database", default="cc_bench_ingest", help="PostgreSQL database")
    parser.add_argument("--seed", type=int, default=1, help="picks callers and durations")
    parser.add_argument(
        "--applier-nice",
        type=int,
        default=0,
        help="run the applier at this lower CPU priority (nice), as a deployment may (0)",
    )
    parser.add_argument(
        "--inline",
        action="store_true",
        help="apply each event before answering (PBX_APPLY_IN_WORKER off), without the applier",
    )
    return parser.parse_args(argv)


class Webhook:
    """Each client's endless stream of calls, and every answer the server gave."""

    def __init__(self, centre, clients: int, seed: int, inline: bool):
        self.centre = centre
        # Applied before the answer, or accepted once stored (the applier applies it).
        self.expected = (200, {"applied": 1, "duplicates": 0}) if inline else (202, {"accepted": 1})
        self.planner = CallPlanner(centre.extensions, centre.customers, random.Random(seed))
        per_client = max(1, len(centre.extensions) // clients)
        # An agent belongs to one client, whose calls come one after another: an agent never
        # rings for two calls at once.
        self.agents_of = [
            centre.extensions[(c * per_client) % len(centre.extensions) :][:per_client]
            for c in range(clients)
        ]
        self.streams = [self._stream(c) for c in range(clients)]
        self.prepared = [deque() for _ in range(clients)]
        self.answered_200 = defaultdict(int)
        self.bad = []

    @property
    def planned(self):
        return self.planner.planned

    def _stream(self, client: int):
        agents = self.agents_of[client]
        for n in range(10**9):
            planned = self.planner.plan(f"ingest-{client:02d}-{n:07d}", agents[n % len(agents)])
            for body in planned.bodies:
                yield planned.call_id, body

    def prepare(self, per_client: int) -> None:
        """Sign each client's next `per_client` requests now, before the phase's clock starts:
        a PBX signs on its own machine, and the load generator shares this one with the server.
        (Signed seconds before they are sent: well inside the five-minute replay window.)"""
        for client, queue in enumerate(self.prepared):
            while len(queue) < per_client:
                queue.append(self._signed(client))

    def _signed(self, client: int):
        call_id, body = next(self.streams[client])
        return call_id, signed_request(self.centre.webhook_path, body, self.centre.secret)

    def request(self, client: int):
        queue = self.prepared[client]
        return queue.popleft() if queue else self._signed(client)

    def record(self, call_id: str, status: int, body: bytes) -> bool:
        ok = (status, _json(body)) == self.expected
        if ok:
            self.answered_200[call_id] += 1
        else:
            self.answered_200.setdefault(call_id, 0)
            self.bad.append((call_id, status, body[:200]))
        return ok


class Bare:
    def __init__(self):
        self.body = event_body(
            event_id="bare",
            call_id="bare",
            type="ringing",
            timestamp="2026-11-23T09:15:02Z",
            direction="inbound",
            caller="+79161234567",
            callee="+74951234567",
            did="+74951234567",
            queue="support",
            agent="1000",
        )
        self.request_bytes = signed_request(BARE_PATH, self.body, secret=None)
        self.ok = 0
        self.bad = []

    def prepare(self, per_client: int) -> None:
        pass  # every request is the same, built once

    def request(self, client: int):
        return None, self.request_bytes

    def record(self, tag, status: int, body: bytes) -> bool:
        ok = status == 200 and _json(body) == {"applied": 1}
        if ok:
            self.ok += 1
        else:
            self.bad.append((tag, status, body[:200]))
        return ok


def _json(body: bytes):
    try:
        return json.loads(body)
    except ValueError:
        return None


async def phase(target, port: int, clients: int, seconds: float) -> tuple[float, list[float]]:
    """Run `clients` closed-loop clients for `seconds`: (elapsed seconds, latencies of 200s)."""
    latencies: list[float] = []
    started = time.perf_counter()
    end = started + seconds

    async def client(c: int):
        while time.perf_counter() < end:
            tag, request = target.request(c)
            t0 = time.perf_counter()
            status, body = await post(port, request)
            elapsed = time.perf_counter() - t0
            if target.record(tag, status, body):
                latencies.append(elapsed)

    await asyncio.gather(*(client(c) for c in range(clients)))
    return time.perf_counter() - started, latencies


def main(argv=None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    setup_django(args.database)
    from bench_urls import BARE_TABLE, CREATE_BARE_TABLE
    from django.db import connection

    loop_name = install_uvloop()
    print(f"database: {database_label()}; load average {load_average()}")
    with connection.cursor() as cursor:
        cursor.execute(CREATE_BARE_TABLE)
        cursor.execute(f"TRUNCATE {BARE_TABLE}")
    started = time.perf_counter()
    centre = create_call_centre(
        label="ingest", agents=args.agents, customers=args.customers, sessions=False
    )
    print(
        f"created 1 company, {args.agents} agents with extensions, {args.customers:,} customers "
        f"in {time.perf_counter() - started:.1f} s"
    )
    load_history(centre, args.history)
    autovacuum = AutovacuumStandIn()
    autovacuum.start()
    connection.close()

    webhook, bare = Webhook(centre, args.clients, args.seed, args.inline), Bare()
    log_dir = Path(tempfile.mkdtemp(prefix="cc-bench-ingest-"))
    port = free_port()
    command = gunicorn_command(port, args.workers)
    mode = {"PBX_APPLY_IN_WORKER": "0" if args.inline else "1"}
    server = start_server(
        "gunicorn",
        command,
        port,
        log_dir,
        args.workers,
        env={"DJANGO_SETTINGS_MODULE": "bench_settings", **mode},
    )
    applier = None if args.inline else start_applier(log_dir, mode, nice=args.applier_nice)
    print(
        f"server: {' '.join(command[1:])} (DJANGO_SETTINGS_MODULE=bench_settings, "
        f"PBX_APPLY_IN_WORKER={mode['PBX_APPLY_IN_WORKER']})"
        + ("" if args.inline else "; applier: manage.py apply_pbx_events")
    )
    print(f"client: {args.clients} concurrent clients, {loop_name}, one connection per request")
    try:
        results, memory_ok = asyncio.run(run(args, port, server, applier, webhook, bare))
    finally:
        server_log = server.log_tail()
        server.stop()
        if applier is not None:
            server_log += "\n" + applier.log_tail()
            applier.stop()
        autovacuum.stop()
    print(autovacuum.summary())
    status = report(args, centre, webhook, bare, results, memory_ok, server_log)
    keep_or_remove_logs(log_dir, status)
    return status


def applier_cpu(applier) -> float:
    return tree_cpu_seconds(applier.process.pid) if applier is not None else 0.0


async def run(args, port, server, applier, webhook, bare):
    print(f"warming up ({args.warmup:g} s each) ...", flush=True)
    slice_seconds = args.duration / args.rounds
    rates = {}
    for name, target in (("bare", bare), ("webhook", webhook)):
        elapsed, latencies = await phase(target, port, args.clients, args.warmup)
        rates[name] = len(latencies) / elapsed
    await asyncio.to_thread(wait_until_applied)
    results = {"bare": [], "webhook": []}
    for round_no in range(args.rounds):
        for name, target in (("bare", bare), ("webhook", webhook)):
            # Built before the clock starts, with room to spare; any more are built as needed.
            target.prepare(math.ceil(rates[name] * slice_seconds * 1.5 / args.clients))
            cpu_server, cpu_client = tree_cpu_seconds(server.process.pid), cpu_seconds()
            cpu_applier = applier_cpu(applier)
            elapsed, latencies = await phase(target, port, args.clients, slice_seconds)
            # The webhook's events count once applied: what the applier had not applied when
            # the phase ended is waited for, and the wait counted (no phase starts before).
            drain = await asyncio.to_thread(wait_until_applied) if name == "webhook" else 0.0
            results[name].append(
                {
                    "elapsed": elapsed,
                    "drain": drain,
                    "latencies": latencies,
                    "server_cpu": tree_cpu_seconds(server.process.pid) - cpu_server,
                    "applier_cpu": applier_cpu(applier) - cpu_applier,
                    "client_cpu": cpu_seconds() - cpu_client,
                }
            )
            applied_rate = len(latencies) / (elapsed + drain)
            rates[name] = len(latencies) / elapsed
            print(
                f"  round {round_no + 1} {name:8} {len(latencies) / elapsed:8.0f} events/s"
                + (
                    f" answered, {applied_rate:.0f} events/s applied (the applier finished "
                    f"{drain:.2f} s after the last answer)"
                    if name == "webhook" and applier is not None
                    else ""
                ),
                flush=True,
            )
    memory_ok = print_memory([server])
    return results, memory_ok


def summary(phases: list[dict]) -> dict:
    latencies = sorted(x for p in phases for x in p["latencies"])
    elapsed = sum(p["elapsed"] for p in phases)
    drain = sum(p["drain"] for p in phases)
    n = len(latencies)
    return {
        "n": n,
        "rate": n / elapsed,
        "applied_rate": n / (elapsed + drain),
        "drain": drain,
        "applier_cpu_ms": 1000 * sum(p["applier_cpu"] for p in phases) / max(n, 1),
        "p50": median(latencies),
        "p99": percentile(latencies, 99),
        "max": latencies[-1] if latencies else float("nan"),
        "server_cpu_ms": 1000 * sum(p["server_cpu"] for p in phases) / max(n, 1),
        "client_cpu_share": sum(p["client_cpu"] for p in phases) / elapsed,
    }


def report(args, centre, webhook, bare, results, memory_ok, server_log) -> int:
    from bench_urls import BARE_TABLE
    from django.db import connection

    b, w = summary(results["bare"]), summary(results["webhook"])
    # Judged on the events applied, not only answered: the rate the call log keeps up with.
    ratio = w["applied_rate"] / b["rate"]
    print(
        f"\n(a) ingest: {args.clients} clients, {args.duration:g} s per endpoint in "
        f"{args.rounds} alternating rounds; load average {load_average()}"
    )
    print(
        f"{'':26}{'events/s':>10}{'p50':>10}{'p99':>10}{'max':>10}{'requests':>10}"
        f"{'server CPU':>13}"
    )
    for label, s in (("bare INSERT (baseline)", b), ("PBX webhook", w)):
        print(
            f"{label:26}{s['rate']:>10.0f}{s['p50'] * 1000:>7.1f} ms{s['p99'] * 1000:>7.1f} ms"
            f"{s['max'] * 1000:>7.1f} ms{s['n']:>10,}{s['server_cpu_ms']:>8.2f} ms/req"
        )
    if not args.inline:
        print(
            f"{'  applied (applier)':26}{w['applied_rate']:>10.0f}{'':40}"
            f"{w['applier_cpu_ms']:>8.2f} ms/evt   (finished {w['drain']:.2f} s after the "
            "last answers, in all)"
        )
    verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
    print(
        f"{'ratio webhook / bare':26}{ratio:>9.2f}x{w['p50'] / b['p50']:>9.2f}x"
        f"{w['p99'] / b['p99']:>9.2f}x   applied-rate target >= {TARGET_RATIO}: {verdict}"
    )
    print(
        f"(server CPU: gunicorn master and workers, per request answered; the load generator "
        f"used {b['client_cpu_share']:.0%} / {w['client_cpu_share']:.0%} of one core)"
    )

    problems = []
    for name, target in (("bare", bare), ("webhook", webhook)):
        if target.bad:
            tag, status, body = target.bad[0]
            problems.append(
                f"{name}: {len(target.bad)} responses were not 200 as expected, the first: "
                f"{status} {body!r} ({tag})"
            )
    log_problems, calls, events = check_call_log(centre, webhook.planned, webhook.answered_200)
    problems += log_problems
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {BARE_TABLE}")
        (bare_rows,) = cursor.fetchone()
    if bare_rows != bare.ok:
        problems.append(f"bare: {bare_rows} rows for {bare.ok} answers 200")
    complete = sum(1 for n in webhook.answered_200.values() if n == 4)
    print(
        f"\ncall log: {calls:,} calls ({complete:,} complete: answered, with the planned queue "
        f"wait, ring and talk times), {events:,} call events; bare table: {bare_rows:,} rows"
    )
    if not memory_ok:
        print("memory: MISSED (a web process is over the limit)")
    if problems:
        print("\nERROR: " + "\nERROR: ".join(problems))
        print(f"\nlast lines of the server log:\n{server_log}")
        return 1
    print("checks: every response 200, the call log holds exactly what was posted: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
