"""Where one webhook event's time goes: the hot path in-process, under cProfile.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cc_bench REDIS_URL=redis://127.0.0.1:6379/14 \
        .venv/bin/python bench/profile_webhook.py [--calls 300] [--top 40]

Posts the native events of `--calls` calls through Django's test client (the whole request
cycle: middleware, signature, parse, apply, push) into the database cc_bench_profile, and prints
CPU per event, SQL statements per event and the functions with the most cumulative time. It is a
diagnostic, not a benchmark: no baseline, no target; ingest.py and screen_pop.py judge.
"""

import argparse
import cProfile
import io
import pstats
import random
import time

from _web import CallPlanner, cpu_seconds, create_call_centre, setup_django, stop_on_sigterm


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--sql", action="store_true", help="print the SQL of one call's events")
    parser.add_argument(
        "--applier",
        action="store_true",
        help="profile the applier (PBX_APPLY_IN_WORKER) applying stored requests instead",
    )
    parser.add_argument("--batch", type=int, default=200, help="the applier's batch size")
    parser.add_argument(
        "--stored",
        action="store_true",
        help="profile the webhook as PBX_APPLY_IN_WORKER runs it: answered once stored",
    )
    args = parser.parse_args(argv)
    stop_on_sigterm()
    setup_django("cc_bench_profile")
    from django.db import connection
    from django.test import Client

    from telephony.pbx.native import sign

    centre = create_call_centre(label="profile", agents=8, customers=2000, sessions=False)
    planner = CallPlanner(centre.extensions, 2000, random.Random(1))
    bodies = [
        body
        for n in range(args.calls + 20)
        for body in planner.plan(f"p-{n}", centre.extensions[n % 8]).bodies
    ]
    warm, timed = bodies[: 20 * 4], bodies[20 * 4 :]
    client = Client()

    def post(body):
        headers = {
            f"HTTP_{k.upper().replace('-', '_')}": v
            for k, v in sign(centre.secret, body, int(time.time())).items()
        }
        response = client.post(
            centre.webhook_path, body, content_type="application/json", **headers
        )
        assert response.status_code in (200, 202), response.content

    for body in warm:
        post(body)
    if args.applier:
        return profile_applier(args, timed, post)
    if args.stored:
        from django.conf import settings

        settings.PBX_APPLY_IN_WORKER = True
    # Not CaptureQueriesContext: every request empties connection.queries (request_started).
    captured = []

    def capture(execute, sql, params, many, context):
        captured.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        for body in timed[:40]:
            post(body)
    statements = len(captured) / 40
    # Half the events measure the cost, the other half show under the profiler where it goes.
    measured, profiled = timed[: len(timed) // 2], timed[len(timed) // 2 :]
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    for body in measured:
        post(body)
    cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
    print(
        f"{len(measured)} events: {cpu / len(measured) * 1000:.2f} ms CPU and "
        f"{wall / len(measured) * 1000:.2f} ms wall per event in this process (client, Django, "
        f"push), {statements:.1f} SQL statements per event"
    )
    profiler = cProfile.Profile(time.process_time)  # CPU time: waiting for the database is not
    profiler.enable()
    for body in profiled:
        post(body)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())
    if args.sql:
        for sql in captured[: round(statements * 4)]:
            print(sql[:400])
    return 0


def profile_applier(args, timed, post) -> int:
    from django.conf import settings
    from django.db import connection

    from telephony import applier

    settings.PBX_APPLY_IN_WORKER = True
    for body in timed:
        post(body)
    captured = []

    def capture(execute, sql, params, many, context):
        captured.append(sql)
        return execute(sql, params, many, context)

    half = len(timed) // 2
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    with connection.execute_wrapper(capture):
        done = 0
        while done < half:
            done += applier.apply_pending(min(args.batch, half - done))
    cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
    print(
        f"applier, {done} stored events in batches of {args.batch}: {cpu / done * 1000:.2f} ms "
        f"CPU and {wall / done * 1000:.2f} ms wall per event (pushes included), "
        f"{len(captured) / done:.1f} SQL statements per event"
    )
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    while applier.apply_pending(args.batch):
        pass
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())
    if args.sql:
        for sql in captured[:40]:
            print(sql[:200])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
