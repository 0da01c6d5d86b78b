"""manage.py simulate_pbx: a simulated PBX posting signed native events to a running server.

The timeline comes from telephony/simulator.py (pure and seeded); this command loads the
companies' queues, agents and customers' numbers, waits for the server, and sends each event at
its due time, signed with the connection's secret. The body's timestamp is the moment it is
sent, so that the server's replay window accepts it and the call log's durations are the ones
the simulation chose. A 4xx is logged and skipped (the event is refused for good); a 503 or a
network error is retried later with the same event id, re-signed, as a PBX would.
"""

import contextlib
import heapq
import json
import random
import signal
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import phonenumbers
from django.core.management.base import BaseCommand, CommandError

from contactcenter.demo import DEMO_SLUGS
from contactcenter.demo.telephony import connection_key
from contactcenter.tenancy.models import Company
from crm.models import CustomerPhone
from telephony.models import (
    Agent,
    BlockedNumber,
    DidRoute,
    PauseReason,
    PbxConnection,
    Queue,
)
from telephony.pbx import native
from telephony.simulator import (
    CallSummary,
    Scheduled,
    SimAgent,
    SimCompany,
    SimQueue,
    Simulation,
    iso_utc,
)

MAX_ATTEMPTS = 6
MAX_KNOWN_CALLERS = 1000
REJECTIONS_SHOWN = 10  # per company: a misconfigured connection refuses every event


@dataclass(frozen=True)
class Target:
    url: str
    secret: str


def unknown_caller_template(country: str) -> str:
    """A mobile number of the country with its last four digits left to chance."""
    example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        return "+1201555####"
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    return e164[:-4] + "####"


def _connection(company: Company) -> PbxConnection:
    connections = PbxConnection.objects.filter(
        company=company, format=PbxConnection.Format.NATIVE, is_active=True
    ).order_by("pk")
    demo = connections.filter(key=connection_key(company.slug)).first()
    connection = demo or connections.first()
    if connection is None:
        raise CommandError(
            f"{company.slug} has no active native PBX connection: run `manage.py seed_demo` "
            "or add one in the admin."
        )
    return connection


def load_company(company: Company) -> tuple[SimCompany, PbxConnection]:
    connection = _connection(company)
    dids = {}
    for route in DidRoute.objects.for_tenant(company).filter(queue__isnull=False).order_by("pk"):
        # The connection's own numbers first: on a shared PBX others may route here too.
        if route.queue_id not in dids or route.connection_id == connection.pk:
            dids[route.queue_id] = route.did
    queues = tuple(
        SimQueue(
            code=queue.code,
            skills=frozenset(skill.name for skill in queue.skills.all()),
            did=dids.get(queue.pk, ""),
            max_wrap_up_seconds=queue.max_wrap_up_seconds,
        )
        for queue in Queue.objects.for_tenant(company).prefetch_related("skills").order_by("code")
    )
    if not queues:
        raise CommandError(f"{company.slug} has no queues: run `manage.py seed_demo`.")
    agents = []
    for agent in (
        Agent.objects.for_tenant(company)
        .filter(user__is_active=True)
        .prefetch_related("extensions", "skills")
    ):
        numbers = sorted(e.number for e in agent.extensions.all())
        if numbers:
            agents.append(
                SimAgent(numbers[0], frozenset(skill.name for skill in agent.skills.all()))
            )
    agents.sort(key=lambda a: (len(a.extension), a.extension))
    blocked = BlockedNumber.objects.for_tenant(company).values_list("e164", flat=True)
    known = (
        CustomerPhone.objects.for_tenant(company)
        .exclude(e164="")
        .exclude(e164__in=blocked)
        .order_by("e164")
        .values_list("e164", flat=True)
        .distinct()[:MAX_KNOWN_CALLERS]
    )
    reasons = (
        PauseReason.objects.for_tenant(company).order_by("code").values_list("code", flat=True)
    )
    simulated = SimCompany(
        slug=company.slug,
        queues=queues,
        agents=tuple(agents),
        known_callers=tuple(known),
        unknown_caller_template=unknown_caller_template(company.default_country),
        pause_reasons=tuple(reasons),
    )
    return simulated, connection


def _seconds(value: float) -> str:
    if value < 9.95:  # sped-up demos have sub-second rings
        return f"{value:.1f} s"
    whole = round(value)
    return f"{whole} s" if whole < 60 else f"{whole // 60}:{whole % 60:02d}"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def call_line(call: CallSummary) -> str:
    who = "customer" if call.known_caller else "unknown"
    start = f"{time.strftime('%H:%M:%S')}  {call.company:<5} {call.queue:<8} {call.caller} ({who})"
    if not call.answered:
        return f"{start}  abandoned after {_seconds(call.wait)}"
    line = (
        f"{start}  answered by {call.agents[0]} after {_seconds(call.wait)}, "
        f"talk {_seconds(call.talk)}"
    )
    if call.hold:
        line += f", hold {_seconds(call.hold)}"
    if call.transfer_to:
        line += f"; transferred to {call.transfer_to}, answered by {call.agents[-1]}"
    return line


class _Stop(Exception):
    """SIGTERM (make run's clean-up), handled like Ctrl-C."""


class Command(BaseCommand):
    help = (
        "Simulate a PBX: post signed native events of inbound calls (Poisson arrivals, ring, "
        "talk, hold, transfers, abandons, wrap-up) to a running server, with the demo companies' "
        "queues and agents. Ctrl-C stops cleanly."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000", help="The server (default %(default)s)."
        )
        parser.add_argument(
            "--company",
            dest="companies",
            action="extend",
            nargs="+",
            metavar="SLUG",
            help="Client companies to simulate (default: the demo companies present).",
        )
        parser.add_argument(
            "--rate",
            type=float,
            default=1.0,
            metavar="CALLS_PER_MINUTE",
            help="Calls arriving in each queue per minute, on average (default %(default)s).",
        )
        parser.add_argument(
            "--speed",
            type=float,
            default=1.0,
            metavar="FACTOR",
            help="Divide ring, talk, hold and wrap-up times by this (default %(default)s).",
        )
        parser.add_argument(
            "--duration",
            type=float,
            default=None,
            metavar="SECONDS",
            help="Stop new calls after this long and finish the ones in progress "
            "(default: run until stopped).",
        )
        parser.add_argument(
            "--seed", type=int, default=None, help="Random seed, to replay a run (default: any)."
        )
        parser.add_argument(
            "--wait",
            type=float,
            default=60.0,
            metavar="SECONDS",
            help="How long to wait for the server to come up (default %(default)s).",
        )

    def handle(self, *args, url, companies, rate, speed, duration, seed, wait, **options):
        if rate < 0 or speed <= 0 or (duration is not None and duration < 0) or wait < 0:
            raise CommandError("--rate, --duration and --wait must not be negative; --speed > 0.")
        base = url.rstrip("/")
        if urlsplit(base).scheme not in ("http", "https"):
            raise CommandError(f"--url: {url!r} is not an http(s) URL")
        simulated, self.targets = [], {}
        for company in self._companies(companies):
            sim_company, connection = load_company(company)
            simulated.append(sim_company)
            self.targets[company.slug] = Target(
                f"{base}/telephony/webhooks/{connection.key}/", connection.secret
            )
            if not sim_company.agents:
                self.stderr.write(f"{company.slug}: no agent has an extension; calls will abandon")
        host = urlsplit(base).hostname or ""
        # A local server must not be reached through an HTTP proxy from the environment.
        local = host in ("localhost", "127.0.0.1", "::1")
        self.opener = urllib.request.build_opener(
            *([urllib.request.ProxyHandler({})] if local else [])
        )
        self.counts: Counter[str] = Counter()
        self.rejections: Counter[str] = Counter()
        self.retries: list = []
        self._sequence = 0
        seed = seed if seed is not None else random.SystemRandom().randrange(1_000_000)

        previous = self._on_sigterm()
        try:
            try:
                self._wait_for_server(base, wait)
            except (KeyboardInterrupt, _Stop):
                self.stdout.write("Stopped before the server came up.")
                return
            self.stdout.write(
                "Simulating "
                + ", ".join(
                    f"{c.slug} ({len(c.queues)} queues, {len(c.agents)} agents)" for c in simulated
                )
                + f" at {rate:g} calls/min per queue, speed {speed:g}, seed {seed}, posting to "
                f"{base}. Ctrl-C stops."
            )
            self._flush()
            start = datetime.now(UTC)
            self.started = time.monotonic()
            simulation = Simulation(
                simulated,
                seed=seed,
                start=start,
                rate_per_minute=rate,
                speed=speed,
                duration=duration,
            )
            self._run(simulation)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        self._summary()

    def _companies(self, slugs: list[str] | None) -> list[Company]:
        if slugs:
            found = {c.slug: c for c in Company.objects.filter(slug__in=slugs)}
            missing = [slug for slug in slugs if slug not in found]
            if missing:
                raise CommandError(f"no client company with the slug {', '.join(missing)}")
            return [found[slug] for slug in dict.fromkeys(slugs)]
        demo = list(
            Company.objects.filter(
                slug__in=DEMO_SLUGS, is_active=True, pk__in=PbxConnection.objects.values("company")
            )
        )
        if not demo:
            raise CommandError(
                "No demo company with a PBX connection: run `manage.py seed_demo`, or name "
                "companies with --company."
            )
        return sorted(demo, key=lambda c: DEMO_SLUGS.index(c.slug))

    def _on_sigterm(self):
        def stop(signum, frame):
            raise _Stop

        try:
            return signal.signal(signal.SIGTERM, stop)
        except ValueError:  # not the main thread: leave signals alone
            return None

    def _flush(self) -> None:
        self.stdout.flush()

    # --- Sending ------------------------------------------------------------------------------

    def _post(self, target: Target, body: bytes, timeout: float) -> tuple[int | None, str, float]:
        """(status or None for a network error, error text, seconds to wait before a retry)."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "contactcenter-simulate-pbx",
            **native.sign(target.secret, body, int(time.time())),
        }
        request = urllib.request.Request(target.url, data=body, method="POST", headers=headers)
        try:
            with self.opener.open(request, timeout=timeout) as response:
                response.read()
                return response.status, "", 0.0
        except urllib.error.HTTPError as error:
            text = error.read(500).decode("utf-8", "replace")
            with contextlib.suppress(ValueError, AttributeError):
                text = json.loads(text).get("error", text)
            try:
                after = float(error.headers.get("Retry-After", "5"))
            except ValueError:
                after = 5.0
            return error.code, text, min(max(after, 1.0), 30.0)
        except (OSError, ValueError) as error:  # URLError, refused, reset, timed out
            reason = getattr(error, "reason", error)
            return None, str(reason), 2.0

    def _send(self, company: str, body: bytes, attempt: int = 1) -> int | None:
        """Post one event; the HTTP status, or None when the server could not be reached."""
        status, text, after = self._post(self.targets[company], body, timeout=10.0)
        if status is not None and 200 <= status < 300:
            self.counts["accepted"] += 1
            return status
        event_id = json.loads(body).get("event_id", "?")
        if status is not None and status != 503 and 400 <= status < 500:
            self.counts["rejected"] += 1
            self.rejections[company] += 1
            if self.rejections[company] <= REJECTIONS_SHOWN:
                self.stderr.write(f"{company}: event {event_id} refused with {status}: {text}")
            if self.rejections[company] == REJECTIONS_SHOWN:
                self.stderr.write(f"{company}: further refusals are only counted")
            return status
        problem = f"{status}: {text}" if status is not None else text
        if attempt >= MAX_ATTEMPTS:
            self.counts["lost"] += 1
            self.stderr.write(f"{company}: event {event_id} lost after {attempt} tries ({problem})")
            return status
        if attempt == 1:
            self.stderr.write(f"{company}: event {event_id} not delivered ({problem}), will retry")
        self.counts["retried"] += 1
        self._sequence += 1
        heapq.heappush(
            self.retries, (time.monotonic() + after, self._sequence, company, body, attempt + 1)
        )
        return status

    def _retry_due(self, until: float) -> None:
        """Send the retries that fall due before `until` (monotonic), sleeping in between."""
        while True:
            now = time.monotonic()
            next_retry = self.retries[0][0] if self.retries else None
            if next_retry is not None and next_retry <= min(now, until):
                _, _, company, body, attempt = heapq.heappop(self.retries)
                # Same bytes and event id, a fresh signature: as the format asks of a retry.
                self._send(company, body, attempt)
                continue
            wake = until if next_retry is None else min(until, next_retry)
            if wake <= now:
                return
            time.sleep(min(wake - now, 1.0))

    def _wait_for_server(self, base: str, wait: float) -> None:
        probe = next(iter(self.targets.values())).url
        deadline = time.monotonic() + wait
        announced = False
        while True:
            try:
                # The webhook answers GET with 405 without touching the database.
                with self.opener.open(probe, timeout=5):
                    pass
                return
            except urllib.error.HTTPError:
                return
            except (OSError, ValueError) as error:
                if time.monotonic() >= deadline:
                    raise CommandError(
                        f"No server answered at {base} within {wait:g} s "
                        f"({getattr(error, 'reason', error)}): start it "
                        "(`manage.py runserver`) or pass --url."
                    ) from None
                if not announced:
                    self.stdout.write(f"Waiting for the server at {base} (up to {wait:g} s)...")
                    self._flush()
                    announced = True
                time.sleep(max(0.0, min(1.0, deadline - time.monotonic())))

    def _run(self, simulation: Simulation) -> None:
        try:
            for item in simulation:
                self._retry_due(self.started + item.due)
                self._deliver(item)
            # Calls are over; what the server could not take yet gets its remaining tries.
            while self.retries:
                self._retry_due(self.retries[0][0])
        except (KeyboardInterrupt, _Stop):
            self._close(simulation)

    def _deliver(self, item: Scheduled) -> None:
        event = dict(item.event, timestamp=iso_utc(datetime.now(UTC)))
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        self._send(item.company, body)
        self._count(item)

    def _count(self, item: Scheduled) -> None:
        self.counts["events"] += 1
        if item.call is not None:
            self.counts["calls"] += 1
            self.counts["answered" if item.call.answered else "abandoned"] += 1
            self.counts["transferred"] += bool(item.call.transfer_to)
            self.stdout.write(call_line(item.call))
            self._flush()

    def _close(self, simulation: Simulation) -> None:
        closing = simulation.close(at=time.monotonic() - self.started)
        calls = sum(1 for item in closing if item.call is not None)
        self.stdout.write(
            f"Stopping: hanging up {_plural(calls, 'call')} in progress and logging the agents out."
        )
        self._flush()
        self.counts["lost"] += len(self.retries)
        self.retries = []
        try:
            for position, item in enumerate(closing):
                event = dict(item.event, timestamp=iso_utc(datetime.now(UTC)))
                body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
                # Best effort and quick: the server may be stopping too (make run's Ctrl-C).
                status, text, _ = self._post(self.targets[item.company], body, timeout=2.0)
                if status is None:
                    self.counts["lost"] += len(closing) - position
                    self.stdout.write(f"The server is gone ({text}): the clean-up is not sent.")
                    return
                self.counts["accepted" if 200 <= status < 300 else "rejected"] += 1
                self._count(item)
        except (KeyboardInterrupt, _Stop):
            self.stdout.write("Stopped without finishing the clean-up.")

    def _summary(self) -> None:
        c = self.counts
        elapsed = time.monotonic() - self.started
        self.stdout.write(
            f"Simulated {_plural(c['calls'], 'call')} in {_seconds(elapsed)}: "
            f"{c['answered']} answered ({c['transferred']} transferred), "
            f"{c['abandoned']} abandoned. {_plural(c['events'], 'event')}: "
            f"{c['accepted']} accepted, {c['rejected']} refused, {c['lost']} lost, "
            f"{c['retried']} resent."
        )
        self._flush()
