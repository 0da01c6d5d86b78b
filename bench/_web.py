"""What the web benchmarks share: the production servers, a dedicated database, a lean client.

The servers are started exactly as the README's "Production" section deploys them (the commands
are built from the constants below), on free loopback ports, each in a process group of its own
so that stopping one stops its workers too. The client is a few lines of asyncio (uvloop when
installed): one TCP connection per request, because gunicorn's sync workers close the connection
after every response anyway, as they do behind the reverse proxy.
"""

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from _common import ROOT, _create_database_if_missing, fail

BENCH_DIR = Path(__file__).resolve().parent

# The production deployment for the development machine's 2 cores (README, "Production").
GUNICORN_WORKERS = 4
UVICORN_WORKERS = 1


def gunicorn_command(port: int, workers: int = GUNICORN_WORKERS) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "contactcenter.wsgi:application",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
    ]


def uvicorn_command(port: int, workers: int = UVICORN_WORKERS) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "contactcenter.asgi:application",
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


# --- The database ------------------------------------------------------------------------------


def setup_django(database: str, *, empty: bool = True) -> None:
    """Point DATABASE_URL at `database` on the server it names, create, migrate and empty it.

    The servers started later inherit the environment, so they use the same database. Emptying
    it makes each run start from the same state, which is why only a database whose name starts
    with cc_bench is accepted.
    """
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        fail(
            "Set DATABASE_URL to a PostgreSQL server, e.g.\n"
            "  postgres://postgres@127.0.0.1:5432/cc_bench\n"
            f"(the benchmark uses its own database {database} on that server)."
        )
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        fail(f"DATABASE_URL={url!r} is not PostgreSQL: web benchmarks measure production only.")
    if not database.startswith("cc_bench"):
        fail(
            f"{database}: the benchmark empties its database, so its name must start with cc_bench."
        )
    if not os.environ.get("REDIS_URL", "").strip():
        fail(
            "Set REDIS_URL (the channel layer of the production deployment), preferably a database "
            "number nobody else uses, e.g. redis://127.0.0.1:6379/14"
        )
    url = urlunsplit(parts._replace(path=f"/{database}"))
    _create_database_if_missing(url)
    os.environ["DATABASE_URL"] = url
    # Servers and this process read the same settings; Django's debug mode would keep every query.
    os.environ["DJANGO_DEBUG"] = "0"
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    if empty:
        empty_database()


def empty_database() -> None:
    """TRUNCATE every table of the project's models, as `flush` does, but keeping the id
    sequences going: a new run's agents get new ids, so that websocket group memberships an
    earlier run left in Redis (agent.<id>) never collect this run's messages."""
    from django.contrib.contenttypes.models import ContentType
    from django.core.management.sql import emit_post_migrate_signal
    from django.db import connection

    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE " + ", ".join(connection.ops.quote_name(t) for t in tables) + " CASCADE"
        )
    ContentType.objects.clear_cache()
    emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)


def database_label() -> str:
    from django.db import connection

    connection.ensure_connection()
    major, minor = divmod(connection.pg_version, 10000)
    return f"{connection.settings_dict['NAME']} (PostgreSQL {major}.{minor})"


# --- Servers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log_path: Path
    workers: int
    command: list[str] = field(default_factory=list)

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def exceptions(self, start: int = 0, end: int | None = None) -> dict[str, int]:
        """{last line of a traceback: how many} in the log between two byte offsets."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(start)
                data = log.read(None if end is None else max(0, end - start))
        except OSError:
            return {}
        found: dict[str, int] = {}
        for line in data.decode(errors="replace").splitlines():
            # The last line of a traceback: "package.module.SomeError: message".
            if re.match(r"[A-Za-z_][\w.]*(Error|Exception|Exit)\b", line):
                found[line[:160]] = found.get(line[:160], 0) + 1
        return found

    def log_tail(self, lines: int = 15) -> str:
        """The exceptions in the server's log, counted, and its last lines beyond routine INFO."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        errors = self.exceptions()
        summary = [f"{n:>6} x {line}" for line, n in sorted(errors.items(), key=lambda e: -e[1])]
        kept = [
            line
            for line in text.splitlines()
            if not (
                line.startswith("INFO:")
                or "[INFO]" in line
                or " INFO " in line
                or "/telephony/webhooks/ready/" in line
            )
        ]
        return "\n".join(["exceptions logged:", *summary[:10], "last lines:", *kept[-lines:]])

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass


def start_server(
    name: str, command: list[str], port: int, log_dir: Path, workers: int, env: dict | None = None
) -> Server:
    """Start `command` in its own process group; return once its workers exist and it answers."""
    log_path = log_dir / f"{name}.log"
    environment = dict(os.environ)
    environment.update(env or {})
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), str(BENCH_DIR), environment.get("PYTHONPATH", "")) if p
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, port, process, log_path, workers, command)
    # The master (and uvicorn's supervisor) plus each worker, all answering.
    expected = workers + (1 if name == "gunicorn" or workers > 1 else 0)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                fail(f"{name} exited with {process.returncode}:\n{server.log_tail()}")
            if len(process_tree(process.pid)) >= expected and _answers(port):
                return server
            time.sleep(0.2)
        fail(f"{name} did not start within 60 s:\n{server.log_tail()}")
    except BaseException:
        server.stop()
        raise
    raise AssertionError  # unreachable: fail() exits


def start_applier(log_dir: Path, env: dict | None = None, nice: int = 0) -> Server:
    """`manage.py apply_pbx_events`, the applier of PBX_APPLY_IN_WORKER, in its own group
    (with `nice`, at that lower CPU priority)."""
    command = [sys.executable, "manage.py", "apply_pbx_events"]
    if nice:
        command = ["nice", "-n", str(nice), *command]
    log_path = log_dir / "applier.log"
    environment = {**os.environ, **(env or {})}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    applier = Server("applier", 0, process, log_path, 1, command)
    time.sleep(1.0)
    if process.poll() is not None:
        fail(f"the applier exited with {process.returncode}:\n{applier.log_tail()}")
    return applier


def pending_requests() -> int:
    """PBX requests stored and answered but not applied yet (PBX_APPLY_IN_WORKER)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM telephony_inboundrequest WHERE status = 'received'")
        return cursor.fetchone()[0]


def wait_until_applied(timeout: float = 300) -> float:
    """Seconds until the applier has applied every stored request."""
    started = time.perf_counter()
    while pending_requests():
        if time.perf_counter() - started > timeout:
            fail(f"the applier left requests unapplied for {timeout:g} s")
        time.sleep(0.05)
    return time.perf_counter() - started


class AutovacuumStandIn:
    """Autovacuum's work, done by the benchmark when the server's autovacuum is off.

    Production runs PostgreSQL with autovacuum; a CI server may turn it off (this machine's
    does, `conf.d/90-ci.conf`). Without it the call log's updated rows (a call is written again
    by each of its events, an agent state when it ends, a stored request when it is applied)
    leave their dead versions in the tables and indexes for good, which production's autovacuum
    clears, and which only the webhook's tables have: the bare table is never updated (in the
    tenth session's long runs the webhook's rate fell by round in two of three runs without it).
    So when the server's autovacuum is off, a thread here does what it would: every
    `autovacuum_naptime`, it VACUUMs the tables past the server's autovacuum thresholds (dead
    rows, or rows inserted since the last vacuum, above `threshold + scale_factor * reltuples`)
    and ANALYZEs those past the analyze threshold, throttled by autovacuum's cost settings. Its
    work runs on the server during the phases, as autovacuum's would, and counts against both
    endpoints alike. `start` first brings every table to where a production database would be:
    vacuumed and analyzed."""

    def __init__(self):
        self.vacuums: dict[str, int] = {}
        self.analyzes: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="autovacuum-stand-in", daemon=True)
        self.active = False
        self.error: Exception | None = None  # what stopped the thread, said in the summary

    def _settings(self, cursor) -> dict[str, float | str]:
        cursor.execute("SELECT name, setting FROM pg_settings WHERE name LIKE '%vacuum%'")
        return {
            name: float(value) if value not in ("on", "off") else value for name, value in cursor
        }

    def start(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            settings = self._settings(cursor)
            if settings["autovacuum"] == "on":
                return
            tables = self._tables(cursor)
            cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
        self.active = True
        self._thread.start()

    def _tables(self, cursor) -> list[str]:
        cursor.execute("SELECT relname FROM pg_stat_user_tables WHERE schemaname = 'public'")
        return [f'"{name}"' for (name,) in cursor]

    def _run(self) -> None:
        from django.db import connection

        try:
            with connection.cursor() as cursor:
                settings = self._settings(cursor)
                limit = settings["autovacuum_vacuum_cost_limit"]
                cursor.execute(
                    "SELECT set_config('vacuum_cost_delay', %s, false), "
                    "set_config('vacuum_cost_limit', %s, false)",
                    [
                        str(settings["autovacuum_vacuum_cost_delay"]),
                        str(int(limit if limit > 0 else settings["vacuum_cost_limit"])),
                    ],
                )
                while not self._stop.wait(settings["autovacuum_naptime"]):
                    self._visit(cursor, settings)
        except Exception as error:  # the run goes on, measured without it, and says so
            self.error = error
        finally:
            connection.close()

    def _visit(self, cursor, s: dict[str, float | str]) -> None:
        cursor.execute(
            "SELECT st.relname, st.n_dead_tup, st.n_ins_since_vacuum, st.n_mod_since_analyze,"
            " greatest(c.reltuples, 0) FROM pg_stat_user_tables st"
            " JOIN pg_class c ON c.oid = st.relid WHERE st.schemaname = 'public'"
        )
        for name, dead, inserted, modified, tuples in cursor.fetchall():
            vacuum = (
                dead
                > s["autovacuum_vacuum_threshold"] + s["autovacuum_vacuum_scale_factor"] * tuples
                or inserted
                > s["autovacuum_vacuum_insert_threshold"]
                + s["autovacuum_vacuum_insert_scale_factor"] * tuples
            )
            analyze = (
                modified
                > s["autovacuum_analyze_threshold"] + s["autovacuum_analyze_scale_factor"] * tuples
            )
            if vacuum:
                cursor.execute(f'VACUUM {"(ANALYZE) " if analyze else ""}"{name}"')
                self.vacuums[name] = self.vacuums.get(name, 0) + 1
            elif analyze:
                cursor.execute(f'ANALYZE "{name}"')
            if analyze:
                self.analyzes[name] = self.analyzes.get(name, 0) + 1

    def stop(self) -> None:
        self._stop.set()
        if self.active:
            self._thread.join()

    def summary(self) -> str:
        if not self.active:
            return "autovacuum: on in the server"
        done = ", ".join(
            f"{name} {self.vacuums.get(name, 0)}/{self.analyzes.get(name, 0)}"
            for name in sorted(self.vacuums.keys() | self.analyzes.keys())
        )
        stopped = (
            f"; STOPPED by {self.error!r}, the rest of the run without it" if self.error else ""
        )
        return (
            "autovacuum: off in the server, so done by the benchmark as autovacuum would "
            f"(VACUUMs/ANALYZEs per table: {done or 'none needed'}{stopped})"
        )


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            # A GET on the webhook answers 405 without touching the database or templates
            # (pages need collectstatic's manifest, which a benchmark does not build).
            sock.sendall(
                b"GET /telephony/webhooks/ready/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Connection: close\r\n\r\n"
            )
            return sock.recv(64).startswith(b"HTTP/1.1 405")
    except OSError:
        return False


def keep_or_remove_logs(log_dir: Path, status: int) -> None:
    """The servers' logs are kept (and named) only when the run failed."""
    if status == 0:
        shutil.rmtree(log_dir, ignore_errors=True)
    else:
        print(f"\nthe servers' logs are in {log_dir}")


# --- Memory ------------------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants, from /proc (no psutil)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: fields start after the last ")".
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        if Path(f"/proc/{current}").exists():
            tree.append(current)
        pending.extend(children.get(current, []))
    return sorted(tree)


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory_rows(server: Server) -> list[tuple[str, int, float, float]]:
    """[(role, pid, VmRSS MB, PSS MB)] of the server's processes, master first."""
    rows = []
    for pid in process_tree(server.process.pid):
        role = "master" if pid == server.process.pid and len(rows) == 0 else "worker"
        if server.name == "uvicorn" and server.workers == 1:
            role = "process"
        rows.append((role, pid, _status_kb(pid, "VmRSS") / 1024, _pss_kb(pid) / 1024))
    return rows


def print_memory(servers: list[Server], limit_mb: float = 300) -> bool:
    """Print the resident memory of every web process; True when each is under `limit_mb`."""
    print(f"\n(c) web process memory, limit {limit_mb:.0f} MB resident per process")
    print(f"{'process':28}{'pid':>8}{'VmRSS':>11}{'PSS':>11}   target")
    within = True
    for server in servers:
        rows = memory_rows(server)
        for role, pid, rss, pss in rows:
            ok = rss < limit_mb
            within &= ok
            label = f"{server.name} {role}"
            print(f"{label:28}{pid:>8}{rss:>8.1f} MB{pss:>8.1f} MB   {'met' if ok else 'MISSED'}")
        total_rss = sum(r[2] for r in rows)
        total_pss = sum(r[3] for r in rows)
        label = f"{server.name} total ({len(rows)})"
        print(f"{label:28}{'':>8}{total_rss:>8.1f} MB{total_pss:>8.1f} MB")
    print("(VmRSS counts pages shared between a master and its forked workers in each of them;")
    print(" PSS divides them among the sharers, so the PSS total is what the tree really uses.)")
    return within


# --- Events and the client ---------------------------------------------------------------------


def signed_request(path: str, body: bytes, secret: str | None) -> bytes:
    """The bytes of one POST with the native signature headers (none for `secret=None`)."""
    from telephony.pbx.native import sign

    headers = sign(secret, body, int(time.time())) if secret is not None else {}
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers.items()),
        "",
        "",
    ]
    return "\r\n".join(lines).encode() + body


async def post(port: int, request: bytes, timeout: float = 60) -> tuple[int, bytes]:
    """Send one prepared request on a new connection; (status, body). Status 0: no answer."""
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            data = await reader.read()  # "Connection: close": the server ends the response
    except (OSError, TimeoutError):
        return 0, b""
    finally:
        if writer is not None:
            writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0, data
    return status, body


def event_body(**fields) -> bytes:
    return json.dumps({k: v for k, v in fields.items() if v is not None}).encode()


def stop_on_sigterm() -> None:
    """Let SIGTERM (a `timeout`, a CI runner) unwind like Ctrl-C, so that the servers stop too."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def install_uvloop() -> str:
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds() -> float:
    """CPU time this process has used so far (user + system)."""
    times = os.times()
    return times.user + times.system


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by `pid` and its descendants still running."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks


# --- The call centre a benchmark posts events for ---------------------------------------------

KNOWN_CALLER = "+7916{:07d}"  # customers' mobile numbers
UNKNOWN_CALLER = "+7977{:07d}"  # a range no bench customer uses
DID = "+74951234567"
QUEUE_CODE = "support"


@dataclass
class CallCentre:
    company_id: int
    connection_id: int
    key: str
    secret: str
    extensions: list[str]  # one per agent, in agent order
    agent_ids: list[int]
    session_keys: list[str]  # one per agent when sessions were asked for
    customers: int

    @property
    def webhook_path(self) -> str:
        return f"/telephony/webhooks/{self.key}/"


def create_call_centre(*, label: str, agents: int, customers: int, sessions: bool) -> CallCentre:
    """One client company with a queue, agents (users, memberships, extensions), customers with
    phones and a native PBX connection, all written in bulk; with `sessions`, a logged-in session
    per agent user, stored the way django.contrib.auth.login stores it."""
    from datetime import timedelta

    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.db import transaction
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from contactcenter.lib import rawsql
    from contactcenter.tenancy.models import Company, Membership, Role
    from crm.models import Customer, CustomerPhone
    from telephony.models import Agent, Extension, PbxConnection, Queue

    User = get_user_model()
    with transaction.atomic():
        company = Company.objects.create(
            name=f"Bench {label}",
            slug=f"bench-{label}",
            time_zone="Europe/Moscow",
            default_country="RU",
        )
        Queue.objects.create(company=company, name="Support", code=QUEUE_CODE)
        unusable = make_password(None)  # nobody logs in with a password: sessions are made here
        users = User.objects.bulk_create(
            User(
                username=f"bench-{label}-{i:04d}",
                first_name="Agent",
                last_name=str(i),
                password=unusable,
            )
            for i in range(agents)
        )
        Membership.objects.bulk_create(
            Membership(company=company, user=user, role=Role.AGENT) for user in users
        )
        agent_rows = Agent.objects.bulk_create(Agent(company=company, user=user) for user in users)
        extensions = [str(1000 + i) for i in range(agents)]
        Extension.objects.bulk_create(
            Extension(company=company, agent=agent, number=number)
            for agent, number in zip(agent_rows, extensions, strict=True)
        )
        customer_rows = Customer.objects.bulk_create(
            (
                Customer(
                    company=company,
                    first_name="Caller",
                    last_name=f"{i:07d}",
                    display_name=f"Caller {i:07d}",
                )
                for i in range(customers)
            ),
            batch_size=2000,
        )
        CustomerPhone.objects.bulk_create(
            (
                CustomerPhone(
                    company=company,
                    customer=customer,
                    raw=KNOWN_CALLER.format(i),
                    e164=KNOWN_CALLER.format(i),
                    is_primary=True,
                )
                for i, customer in enumerate(customer_rows)
            ),
            batch_size=2000,
        )
        connection = PbxConnection.objects.create(
            name=f"Bench {label}", company=company, format=PbxConnection.Format.NATIVE
        )
        session_keys = []
        if sessions:
            store = SessionStore()
            expires = timezone.now() + timedelta(days=1)
            rows = []
            for user in users:
                key = get_random_string(32)
                data = {
                    SESSION_KEY: str(user.pk),
                    BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                    HASH_SESSION_KEY: user.get_session_auth_hash(),
                }
                rows.append(
                    Session(session_key=key, session_data=store.encode(data), expire_date=expires)
                )
                session_keys.append(key)
            Session.objects.bulk_create(rows)
    # As the customer import does after a large one: planned without statistics of the new
    # company, the phone lookup reads every customer of it (rawsql.analyze).
    rawsql.analyze(Customer, CustomerPhone, Agent, Extension)
    return CallCentre(
        company_id=company.pk,
        connection_id=connection.pk,
        key=connection.key,
        secret=connection.secret,
        extensions=extensions,
        agent_ids=[agent.pk for agent in agent_rows],
        session_keys=session_keys,
        customers=customers,
    )


HISTORY_PREFIX = "history-"
HISTORY_CALLS = 50_000  # a week of a 100-seat inbound centre


def add_history_option(parser) -> None:
    parser.add_argument(
        "--history",
        type=int,
        default=HISTORY_CALLS,
        help=f"past calls in the call log before the run ({HISTORY_CALLS:,}; see create_history)",
    )


def load_history(centre: CallCentre, calls: int) -> None:
    if calls:
        seconds = create_history(centre, calls)
        print(f"history: {calls:,} past calls with their events, analyzed, in {seconds:.1f} s")


def create_history(centre: CallCentre, calls: int, days: int = 7) -> float:
    """`calls` past calls of the centre's company, as the applier leaves them, then ANALYZE;
    seconds taken.

    A production call log is never empty, and PostgreSQL plans for the tables it has: a
    benchmark starting from emptied tables measures plans made for a few rows (sequential scans,
    kept by the connections' prepared statements) that production never runs. So, before the
    run, the company gets a history of answered calls spread over the `days` before the
    planner's first call: per call its four events, the stored request of each, the matched
    customer and the agent's ringing, on-call and wrap-up intervals, written with INSERT ...
    SELECT over generate_series (PostgreSQL only) and analyzed, as production tables are. Their
    PBX call ids start with HISTORY_PREFIX; check_call_log leaves them out.
    """
    from django.db import connection, transaction

    from contactcenter.lib import rawsql
    from telephony.models import AgentStateInterval, Call, CallEventRecord, InboundRequest

    if calls <= 0:
        return 0.0
    started = time.perf_counter()
    params = {
        "agents": centre.agent_ids,
        "extensions": centre.extensions,
        "n_agents": len(centre.agent_ids),
        "customers": max(centre.customers, 1),
        "days": days,
        "step": days * 86400 / calls,
        "calls": calls,
        "company": centre.company_id,
        "connection": centre.connection_id,
        "did": DID,
        "queue": QUEUE_CODE,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        # Consistent by construction: without the foreign keys' triggers (millions of row
        # checks at the commit) the load takes half the time. Needs a superuser, as the role of
        # the README's DATABASE_URL (postgres) is; the database is the benchmark's own.
        cursor.execute("SET LOCAL session_replication_role = replica")
        # Call i's agent, caller and durations are functions of i, not of a random stream.
        cursor.execute(
            f"""
            CREATE TEMPORARY TABLE history_call ON COMMIT DROP AS
            SELECT i, call_id, agent_id, extension, caller, offered_at,
                   offered_at + make_interval(secs => wait) AS ringing_at,
                   offered_at + make_interval(secs => wait + ring) AS answered_at,
                   offered_at + make_interval(secs => wait + ring + talk) AS ended_at,
                   offered_at + make_interval(secs => wait + ring + talk + wrap) AS wrapped_at,
                   wait, ring, talk, wrap
            FROM (
                SELECT i, '{HISTORY_PREFIX}' || lpad(i::text, 8, '0') AS call_id,
                       (%(agents)s::bigint[])[1 + i %% %(n_agents)s] AS agent_id,
                       (%(extensions)s::text[])[1 + i %% %(n_agents)s] AS extension,
                       '{KNOWN_CALLER[:5]}'
                           || lpad(((i::bigint * 7919) %% %(customers)s)::text, 7, '0') AS caller,
                       date_trunc('second', now()) - interval '2 days 1 hour'
                           - make_interval(days => %(days)s)
                           + make_interval(secs => round(i * %(step)s)) AS offered_at,
                       2 + (i::bigint * 7919) %% 39 AS wait,
                       2 + (i::bigint * 104729) %% 11 AS ring,
                       20 + (i::bigint * 1299709) %% 381 AS talk,
                       5 + i %% 56 AS wrap
                FROM generate_series(1, %(calls)s) AS i
            ) s
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO telephony_call (pbx_call_id, direction, caller, caller_e164, callee, did,
                notes, outcome, offered_at, ringing_at, answered_at, ended_at, wrap_up_ended_at,
                queue_wait_seconds, ring_seconds, talk_seconds, hold_seconds, wrap_up_seconds,
                transfer_count, recording_url, agent_id, company_id, connection_id, queue_id)
            SELECT call_id, 'inbound', caller, caller, %(did)s, %(did)s, '', 'answered',
                   offered_at, ringing_at, answered_at, ended_at, wrapped_at, wait + ring, ring,
                   talk, 0, wrap, 0, '', agent_id, %(company)s, %(connection)s,
                   (SELECT id FROM telephony_queue WHERE company_id = %(company)s
                    AND code = %(queue)s)
            FROM history_call ORDER BY i
            """,
            params,
        )
        # The events in the order the PBX sent them, each with the id its stored request gets.
        cursor.execute(
            """
            CREATE TEMPORARY TABLE history_event ON COMMIT DROP AS
            SELECT nextval(pg_get_serial_sequence('telephony_inboundrequest', 'id')) AS request_id,
                   e.*, jsonb_build_object('event_id', event_id, 'call_id', call_id,
                       'type', kind, 'timestamp', at, 'queue', %(queue)s, 'agent', agent,
                       'direction', 'inbound', 'caller', caller, 'did', %(did)s) AS body
            FROM (
                SELECT h.call_id || ':' || k AS event_id, h.call_id, h.caller, k,
                       (ARRAY['queued', 'ringing', 'answered', 'hangup'])[k] AS kind,
                       (ARRAY[h.offered_at, h.ringing_at, h.answered_at, h.ended_at])[k] AS at,
                       CASE WHEN k > 1 THEN h.extension END AS agent, c.id AS call_pk
                FROM history_call h
                JOIN telephony_call c
                     ON c.connection_id = %(connection)s AND c.pbx_call_id = h.call_id
                CROSS JOIN generate_series(1, 4) AS k
                ORDER BY at, k
            ) e
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO telephony_inboundrequest (id, received_at, remote_addr, content_type,
                headers, body, status, error, connection_id)
            SELECT request_id, at, '127.0.0.1', 'application/json', '{}'::jsonb,
                   convert_to(body::text, 'UTF8'), 'applied', '', %(connection)s
            FROM history_event ORDER BY request_id
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO telephony_calleventrecord (event_id, kind, occurred_at, data, call_id,
                company_id, request_id, connection_id)
            SELECT event_id, kind, at, body || jsonb_build_object('kind', kind), call_pk,
                   %(company)s, request_id, %(connection)s
            FROM history_event ORDER BY request_id
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO telephony_call_customers (call_id, customer_id)
            SELECT c.id, p.customer_id FROM telephony_call c
            JOIN crm_customerphone p ON p.company_id = c.company_id AND p.e164 = c.caller_e164
            WHERE c.id IN (SELECT call_pk FROM history_event WHERE k = 1)
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO telephony_agentstateinterval (state, started_at, ended_at, agent_id,
                company_id, call_id, event_id)
            SELECT (ARRAY['ringing', 'on_call', 'wrap_up'])[n],
                   (ARRAY[h.ringing_at, h.answered_at, h.ended_at])[n],
                   (ARRAY[h.answered_at, h.ended_at, h.wrapped_at])[n],
                   h.agent_id, %(company)s, e.call_pk, h.call_id || ':' || (n + 1)
            FROM history_call h
            JOIN history_event e ON e.event_id = h.call_id || ':1'
            CROSS JOIN generate_series(1, 3) AS n
            ORDER BY 2, n
            """,
            params,
        )
    rawsql.analyze(
        Call, CallEventRecord, InboundRequest, Call.customers.through, AgentStateInterval
    )
    return time.perf_counter() - started


@dataclass(frozen=True)
class PlannedCall:
    """A call's events in order (JSON bodies) and the facts the call log must end up with."""

    call_id: str
    extension: str
    bodies: list[bytes]
    queue_wait: int
    ring: int
    talk: int


class CallPlanner:
    """Inbound calls, one after another per agent: queued, ringing, answered, hang-up.

    Each agent has a clock of its own, starting two days ago, that every call moves on (plus
    a pause between calls), so that an agent's calls never overlap in time. Callers are mostly
    customers (the rest unknown numbers), typed the way PBXs send them: E.164 or the national
    8 9xx form.
    """

    def __init__(self, extensions: list[str], customers: int, rng):
        from datetime import UTC, datetime, timedelta

        self.rng, self.customers = rng, customers
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
        self.clock = dict.fromkeys(extensions, start)
        self.planned: dict[str, PlannedCall] = {}

    def plan(self, call_id: str, extension: str) -> PlannedCall:
        from datetime import timedelta

        rng = self.rng
        caller = random_caller(rng, self.customers)
        typed = (
            caller
            if rng.random() < 0.5
            else (f"8 {caller[2:5]} {caller[5:8]}-{caller[8:10]}-{caller[10:]}")
        )
        wait, ring, talk = rng.randint(2, 40), rng.randint(2, 12), rng.randint(20, 400)
        queued_at = self.clock[extension]
        ringing_at = queued_at + timedelta(seconds=wait)
        answered_at = ringing_at + timedelta(seconds=ring)
        ended_at = answered_at + timedelta(seconds=talk)
        self.clock[extension] = ended_at + timedelta(seconds=rng.randint(5, 60))
        common = {"call_id": call_id, "queue": QUEUE_CODE}
        inbound = {"direction": "inbound", "caller": typed, "callee": DID, "did": DID}
        bodies = [
            event_body(
                event_id=f"{call_id}:1",
                type="queued",
                timestamp=_iso(queued_at),
                **common,
                **inbound,
            ),
            event_body(
                event_id=f"{call_id}:2",
                type="ringing",
                timestamp=_iso(ringing_at),
                agent=extension,
                **common,
                **inbound,
            ),
            event_body(
                event_id=f"{call_id}:3",
                type="answered",
                timestamp=_iso(answered_at),
                agent=extension,
                **common,
            ),
            event_body(
                event_id=f"{call_id}:4",
                type="hangup",
                timestamp=_iso(ended_at),
                agent=extension,
                cause="normal",
                **common,
            ),
        ]
        planned = PlannedCall(call_id, extension, bodies, wait + ring, ring, talk)
        self.planned[call_id] = planned
        return planned


def _iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def random_caller(rng, customers: int, unknown_share: float = 0.2) -> str:
    if customers and rng.random() >= unknown_share:
        return KNOWN_CALLER.format(rng.randrange(customers))
    return UNKNOWN_CALLER.format(rng.randrange(10_000_000))


def check_call_log(centre: CallCentre, planned: dict[str, PlannedCall], posted: dict[str, int]):
    """Problems (strings) found comparing the call log with what was posted.

    `posted` maps a call id to how many of its events were answered 200: every call must exist
    with exactly that many events, and a call whose four events all arrived must be answered by
    its agent with the planned queue wait, ring and talk times.
    """
    from django.db.models import Count

    from telephony.models import Call, CallEventRecord, InboundRequest

    problems = []
    calls = {
        row["pbx_call_id"]: row
        for row in Call.objects.filter(connection_id=centre.connection_id)
        .exclude(pbx_call_id__startswith=HISTORY_PREFIX)
        .annotate(n_events=Count("events"))
        .values(
            "pbx_call_id",
            "n_events",
            "outcome",
            "agent_id",
            "queue_wait_seconds",
            "ring_seconds",
            "talk_seconds",
        )
    }
    expected_calls = {call_id for call_id, n in posted.items() if n}
    if set(calls) != expected_calls:
        missing = expected_calls - set(calls)
        extra = set(calls) - expected_calls
        problems.append(f"calls: {len(missing)} missing, {len(extra)} unexpected")
    agent_of = dict(zip(centre.extensions, centre.agent_ids, strict=True))
    wrong = 0
    for call_id, n in posted.items():
        row = calls.get(call_id)
        if row is None or not n:
            continue
        plan = planned[call_id]
        complete_and_right = n < 4 or (
            row["outcome"] == "answered"
            and row["agent_id"] == agent_of[plan.extension]
            and row["queue_wait_seconds"] == plan.queue_wait
            and row["ring_seconds"] == plan.ring
            and row["talk_seconds"] == plan.talk
        )
        if row["n_events"] != n or not complete_and_right:
            wrong += 1
    if wrong:
        problems.append(f"calls: {wrong} with wrong events, outcome, agent or durations")
    events = (
        CallEventRecord.objects.filter(connection_id=centre.connection_id)
        .exclude(event_id__startswith=HISTORY_PREFIX)
        .count()
    )
    if events != sum(posted.values()):
        problems.append(f"call events: {events} stored, {sum(posted.values())} answered 200")
    requests = InboundRequest.objects.filter(connection_id=centre.connection_id)
    not_applied = requests.exclude(status=InboundRequest.Status.APPLIED).count()
    if not_applied:
        problems.append(f"inbound requests: {not_applied} not marked applied")
    return problems, len(calls), events
