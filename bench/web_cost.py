"""The web process's CPU per request, PBX webhook beside the bare INSERT, in this process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cc_bench REDIS_URL=redis://127.0.0.1:6379/14 \
        .venv/bin/python bench/web_cost.py [--requests 1600] [--evict-mb 16]

ingest.py's ratio moves with the machine: on a shared 2-core VM its bare phase alone ran at 950
to 1,950 events/s between minutes, which hides a change of a few percent in the webhook's cost.
This script takes the web process's part out of that noise. It calls Django's WSGI handler
directly (with bench_settings' URLs and PBX_APPLY_IN_WORKER on, as ingest.py's gunicorn), with
the same signed events, for the bare endpoint and the webhook in turn, chunk after chunk, and
counts this thread's CPU time per request: what a gunicorn worker spends in Django, leaving out
the HTTP server, the database server and the applier.

Each figure is taken twice:

- warm: requests back to back, the CPU's caches holding the code and data of the last one;
- cold: before each request, `--evict-mb` of memory is written, as the other processes of a
  busy server (the applier, PostgreSQL, the other workers, the load generator) do between two
  requests of one worker. Under ingest.py's load a worker's requests cost about what they cost
  here cold (bench/README.md, ninth session).

It prints the CPU per request of both endpoints, their difference (what the webhook costs on top
of one INSERT) and ratio, and the webhook's parts: parsing and checking the signature, storing,
the ringing notice. A diagnostic beside ingest.py, not a target.
"""

import argparse
import collections
import functools
import io
import os
import random
import sys
import time

from _web import CallPlanner, create_call_centre, setup_django, stop_on_sigterm


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1600, help="timed, per endpoint and mode")
    parser.add_argument("--chunks", type=int, default=4, help="alternations per mode (4)")
    parser.add_argument("--evict-mb", type=int, default=16, help="written before a cold request")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    stop_on_sigterm()
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench_settings"
    os.environ["PBX_APPLY_IN_WORKER"] = "1"
    setup_django("cc_bench_web_cost")
    from bench_urls import CREATE_BARE_TABLE
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    from telephony.pbx.native import sign

    settings.PBX_APPLY_IN_WORKER = True
    with connection.cursor() as cursor:
        cursor.execute(CREATE_BARE_TABLE)
    centre = create_call_centre(label="web_cost", agents=16, customers=2000, sessions=False)
    planner = CallPlanner(centre.extensions, 2000, random.Random(args.seed))
    per_chunk = max(1, args.requests // args.chunks)
    needed = 2 * (2 * args.chunks * per_chunk + 400)
    bodies = iter(
        body
        for n in range(needed // 4 + 1)
        for body in planner.plan(f"web-cost-{n}", centre.extensions[n % 16]).bodies
    )
    handler = WSGIHandler()
    evict = bytearray(args.evict_mb * 2**20)
    parts = _PartTimer()

    def request(path: str, body: bytes) -> None:
        environ = _environ(path, body, sign(centre.secret, body, int(time.time())))
        response = handler(environ, _start_response)
        b"".join(response)
        response.close()

    def chunk(path: str, count: int, cold: bool) -> float:
        cpu = 0.0
        for _ in range(count):
            body = next(bodies)
            if cold:
                evict[::64] = bytes(len(evict) // 64)  # a write to every cache line
            started = time.thread_time()
            request(path, body)
            cpu += time.thread_time() - started
        return cpu

    paths = {"bare": "/bench/bare/", "webhook": centre.webhook_path}
    for path in paths.values():  # warm-up: imports, prepared statements, caches
        chunk(path, 200, cold=False)
    count = per_chunk * args.chunks
    print(f"{count} requests per endpoint and mode, in {args.chunks} alternations")
    print(f"{'':8}{'bare':>10}{'webhook':>10}{'extra':>10}{'ratio':>8}   webhook's parts (ms/req)")
    for cold in (False, True):
        cpu = dict.fromkeys(paths, 0.0)
        parts.reset()
        for _ in range(args.chunks):
            for name, path in paths.items():
                parts.active = name == "webhook"
                cpu[name] += chunk(path, per_chunk, cold)
        bare, webhook = (cpu[name] / count * 1000 for name in paths)
        print(
            f"{'cold' if cold else 'warm':8}{bare:>8.3f}ms{webhook:>8.3f}ms{webhook - bare:>8.3f}ms"
            f"{webhook / bare:>7.2f}x   {parts.summary(count)}"
        )
    return 0


class _PartTimer:
    """This thread's CPU time in some functions of the webhook's path, while `active`."""

    LABELS = ("parse", "store", "notice-read", "notice-push")

    def __init__(self):
        from telephony import ringing, webhooks

        self.active = False
        self.seconds = collections.Counter()
        owners = (webhooks, webhooks, ringing.Notices, ringing.Notices)
        names = ("_parse", "_store_received", "__init__", "send")
        for owner, name, label in zip(owners, names, self.LABELS, strict=True):
            setattr(owner, name, self._timed(getattr(owner, name), label))

    def _timed(self, function, label):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            if not self.active:
                return function(*args, **kwargs)
            started = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[label] += time.thread_time() - started

        return timed

    def reset(self):
        self.seconds.clear()

    def summary(self, count: int) -> str:
        return " ".join(
            f"{label} {self.seconds[label] / count * 1000:.3f}" for label in self.LABELS
        )


def _environ(path: str, body: bytes, headers: dict[str, str]) -> dict:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1",
        "HTTP_CONNECTION": "close",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _start_response(status: str, headers) -> None:
    if status[:3] not in ("200", "202"):
        raise SystemExit(f"unexpected answer {status}")


if __name__ == "__main__":
    raise SystemExit(main())
