"""Bulk calls for the reporting benchmarks: ten million calls in minutes, not hours.

Bulk call i (1, 2, 3, ...) has the PBX call id `bulk-c0000000i` and is a pure function of i and
of the run's shape (agents, queues, days, until): its company, queue, agent, direction, caller,
outcome and times come from a hash of i, never from a shared random stream, so that `--calls N`
means "the bulk calls are bulk-c1..N": a rerun adds none, a larger N adds the difference, and a
chunk can be generated without the ones before it.

What a call looks like follows the call log the PBX events build (telephony/derive.py) and the
KPI definitions of design.md:

- answered: queue wait = answered_at - offered_at, ring included (ASA's numerator); ring =
  answered_at - ringing_at; ended_at = answered_at + talk + hold (talk excludes hold); after-call
  work = wrap_up_ended_at - ended_at (AHT = talk + hold + wrap-up); a transferred call keeps its
  first agent, has transfer_count 1 and the talk of both legs;
- abandoned: the caller hung up after the queue's short-abandon threshold; short abandon: at or
  within it (wait <= threshold, as derive counts it); timeout: the queue's timeout passed
  (EXITWITHTIMEOUT, not an abandon); exit_key: the caller left with a key. None of them rang an
  agent: no agent, ring, answer, talk or wrap-up; queue wait = ended_at - offered_at;
- outbound calls (no queue; the dialling agent): answered, missed (rang out), busy or failed, with
  the durations derive gives a call without queue events (its wait is the time to the answer or
  the end).

Times follow a contact centre's week in the company's time zone: busy weekday daytime, quiet
nights and Sundays, longer waits at the peaks (so that service level moves through the day).
Calls fall on the `days` local dates ending with `until` (default: the last day that is over in
every demo company's zone, so that no call lies in the future); local times that a
daylight-saving change skips get none. Bulk agents
and queues belong to bank, shop and isp in turn; an agent mostly answers one queue of its
company, sometimes another. Agents' calls may overlap: no schedule is simulated.

Callers are the mobile numbers of each company's first 300,000 bulk customers (see
contactcenter/demo/names.py), so that a database seeded with `seed_demo --customers` knows many
of them and callers call again.

Written: the bulk queues (`bulk-q01`...), agents (users `bulk_agent0001`... without a usable
password, with agent memberships in a team, Agent rows and extensions `9001`...), one inactive
native PBX connection per company (`bulk-<slug>`: the highest bulk call id is one probe of the
unique (connection, PBX call id) index away) and the calls. Not written: call events, hold
spans, matched customers, tickets and agent-state intervals. Queue and interval reports read
calls only; agent presence (occupancy, states) is not part of this benchmark set.

PostgreSQL: COPY through Django's connection into a temporary table, then one INSERT ... SELECT
in time order, so that the table is laid out as a live call log is (ids growing with time, a
day's calls together on disk); no ORM per row. A large load (REBUILD_MIN_ROWS) drops the call
table's secondary indexes, unique constraint and foreign keys and builds them again at the end,
in one transaction that locks the table; a smaller one commits chunk by chunk, so that an
interrupted run keeps what it finished. SQLite takes the slower but correct `bulk_create` path.
"""

import math
import statistics
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from hashlib import blake2b
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from psycopg.copy import QueuedLibpqWriter

from contactcenter.demo import names
from contactcenter.demo.bulk import BulkSeedError
from contactcenter.demo.catalogue import COMPANIES, DEMO_SLUGS
from contactcenter.lib import rawsql
from contactcenter.tenancy.models import Company, Membership, Role, Team
from telephony.models import Agent, Call, Disposition, Extension, PbxConnection, Queue
from telephony.pbx.events import Direction

Progress = Callable[[str], None]

PREFIX = "bulk-c"
ID_DIGITS = 8
MAX_CALLS = 10**ID_DIGITS - 1
QUEUE_PREFIX = "bulk-q"
USERNAME_PREFIX = "bulk_agent"
FIRST_EXTENSION = 9000
# COPY streams rows as they are generated; the chunk is one transaction and bounds what a
# failure throws away. SQLite's bulk_create holds a chunk of model instances in memory.
CHUNK = 100_000
SQLITE_CHUNK = 5_000


def pbx_call_id(i: int) -> str:
    return f"{PREFIX}{i:0{ID_DIGITS}d}"


def connection_key(slug: str) -> str:
    return f"bulk-{slug}"


def queue_code(q: int) -> str:
    return f"{QUEUE_PREFIX}{q:02d}"


def agent_username(a: int) -> str:
    return f"{USERNAME_PREFIX}{a:04d}"


def agent_extension(a: int) -> str:
    return str(FIRST_EXTENSION + a)


def owner_index(n: int) -> int:
    """Which demo company (0 bank, 1 shop, 2 isp) bulk queue n or bulk agent n belongs to."""
    return (n - 1) % 3


def owner_position(n: int) -> int:
    """Bulk queue or agent n's position (0, 1, 2, ...) among its company's."""
    return (n - 1) // 3


# --- The shape of the traffic -----------------------------------------------------------------

# Of every 10,000 calls: about 80 % answered (inbound and outbound), 8 % abandoned, 3 % short
# abandons, 3 % queue timeouts; the outbound calls that reach nobody are missed, busy or failed.
IN, OUT = Direction.INBOUND.value, Direction.OUTBOUND.value
Outcome = Call.Outcome
OUTCOME_MIX = (
    (IN, Outcome.ANSWERED.value, 7_550),
    (IN, Outcome.ABANDONED.value, 800),
    (IN, Outcome.SHORT_ABANDON.value, 300),
    (IN, Outcome.TIMEOUT.value, 300),
    (IN, Outcome.EXIT_KEY.value, 50),
    (OUT, Outcome.ANSWERED.value, 500),
    (OUT, Outcome.MISSED.value, 300),
    (OUT, Outcome.BUSY.value, 150),
    (OUT, Outcome.FAILED.value, 50),
)
MIX_TOTAL = sum(weight for _d, _o, weight in OUTCOME_MIX)
_MIX_BY_DRAW = tuple(
    (direction, outcome) for direction, outcome, weight in OUTCOME_MIX for _ in range(weight)
)
TRANSFER_PER_MILLE = 60  # of answered inbound calls
HOLD_PER_MILLE = 180  # of answered calls
OWN_GROUP_PER_MILLE = 850  # calls answered by an agent of the queue's own group

# Relative volume by local hour (0-23) and by weekday (Monday first); a slot's weight is their
# product. Integers, so that the choice of a slot is exact on every machine.
# fmt: off
HOUR_WEIGHTS = (
    2, 1, 1, 1, 1, 2, 5, 15, 45, 85, 100, 98,  # 00:00-11:59
    85, 80, 92, 90, 82, 70, 50, 35, 25, 15, 8, 4,  # 12:00-23:59
)
# fmt: on
WEEKDAY_WEIGHTS = (115, 105, 100, 100, 95, 45, 25)
SLOT_SECONDS = 15 * 60
SLOTS_PER_DAY = 24 * 3600 // SLOT_SECONDS

# Bulk queue q's thresholds: a few variants, so that reports show more than one.
SERVICE_LEVELS = (20, 20, 30, 15, 60)
SHORT_ABANDONS = (5, 5, 5, 10, 3)
TIMEOUTS = (180, 240, 300)
MAX_WRAP_UP_SECONDS = 120

# Per company (bank, shop, isp): median talk in seconds, log-normal with this spread.
TALK_MEDIANS = (200, 150, 260)
TALK_SIGMA = 0.55
HOLD_MEDIAN, HOLD_SIGMA = 30, 0.6
# Callers: the mobile numbers of the first bulk customers of each company (contactcenter.demo.
# names), so that a benchmark database seeded with `seed_demo --customers` finds them, and
# repeat callers exist for first-contact resolution.
CALLERS_PER_COMPANY = 300_000

# 4,096 quantiles of the standard normal: a log-normal draw is a table lookup and one exp().
_NORMAL = statistics.NormalDist()
NORMAL_QUANTILES = tuple(_NORMAL.inv_cdf((j + 0.5) / 4096) for j in range(4096))


def _lognormal(median: float, sigma: float, bits: int) -> int:
    return round(median * math.exp(sigma * NORMAL_QUANTILES[bits & 4095]))


def _exponential(mean: float, bits32: int) -> int:
    return int(-mean * math.log1p(-bits32 / 2**32))


def _digest(i: int) -> int:
    """320 random-looking bits that depend on i alone."""
    raw = blake2b(i.to_bytes(8, "little"), digest_size=40, person=b"cc-bulk-calls").digest()
    return int.from_bytes(raw, "little")


# --- The plan: what the database holds that calls refer to -----------------------------------


@dataclass(frozen=True)
class _Calendar:
    """Local 15-minute slots of one company over the run's days, and how busy each is."""

    cumulative: list[int]  # running total of the slot weights
    starts: list[int]  # each slot's start, UTC seconds since the epoch
    loads: list[float]  # the slot's weight over the busiest slot's: 0..1

    @property
    def total(self) -> int:
        return self.cumulative[-1]


def _calendar(zone: ZoneInfo, first: date, days: int) -> _Calendar:
    cumulative, starts, loads, weights = [], [], [], []
    running = 0
    for d in range(days):
        day = first + timedelta(days=d)
        weekday = WEEKDAY_WEIGHTS[day.weekday()]
        for slot in range(SLOTS_PER_DAY):
            local = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(
                seconds=slot * SLOT_SECONDS
            )
            at = local.astimezone(UTC)
            # A local time the clocks skip on a daylight-saving day gets no calls.
            exists = at.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None)
            weight = HOUR_WEIGHTS[local.hour] * weekday if exists else 0
            running += weight
            cumulative.append(running)
            starts.append(int(at.timestamp()))
            weights.append(weight)
    busiest = max(weights)
    loads = [w / busiest for w in weights]
    return _Calendar(cumulative, starts, loads)


@dataclass(frozen=True)
class _Company:
    company_id: int
    connection_id: int
    country: str
    talk_median: int
    calendar: _Calendar
    agent_ids: tuple[int, ...]  # by position among the company's bulk agents
    agent_extensions: tuple[str, ...]
    queue_count: int  # of the run's queues, how many are this company's
    disposition_ids: tuple[int, ...]


@dataclass(frozen=True)
class _Queue:
    queue_id: int
    company: int  # 0 bank, 1 shop, 2 isp
    position: int  # among the company's bulk queues
    short_abandon: int
    timeout: int
    did: str


@dataclass(frozen=True)
class Plan:
    companies: tuple[_Company, ...]
    queues: tuple[_Queue, ...]
    queue_cumulative: tuple[int, ...]  # running total of the queues' weights


def queue_weight(q: int) -> int:
    """Some queues are busier than others: weights 2 to 6."""
    return 2 + (q * 7) % 5


def _did(country: str, q: int) -> str:
    line = 2000 + q
    return {"RU": f"+7495120{line:04d}", "IT": f"+39024000{line:04d}"}.get(
        country, f"+1800555{line:04d}"
    )


# --- One call ---------------------------------------------------------------------------------

CALL_FIELDS = (
    "company_id",
    "connection_id",
    "pbx_call_id",
    "direction",
    "caller",
    "caller_e164",
    "callee",
    "did",
    "queue_id",
    "agent_id",
    "ticket_id",
    "disposition_id",
    "notes",
    "outcome",
    "offered_at",
    "ringing_at",
    "answered_at",
    "ended_at",
    "wrap_up_ended_at",
    "queue_wait_seconds",
    "ring_seconds",
    "talk_seconds",
    "hold_seconds",
    "wrap_up_seconds",
    "transfer_count",
    "recording_url",
)
TIME_FIELDS = frozenset({"offered_at", "ringing_at", "answered_at", "ended_at", "wrap_up_ended_at"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _at(seconds: int | None) -> datetime | None:
    return None if seconds is None else _EPOCH + timedelta(seconds=seconds)


def call_row(i: int, plan: Plan) -> tuple:
    """Bulk call i's values in CALL_FIELDS order, times (TIME_FIELDS) in UTC seconds since the
    epoch.

    A tuple of plain values, not a model instance: this runs ten million times and is what the
    COPY waits on; PostgreSQL turns the seconds into timestamps faster than Python does.
    Each draw takes its own bits of i's digest, so that changing one rule leaves the others.
    """
    h = _digest(i)
    queue_draw = (h & 0xFFFF) * plan.queue_cumulative[-1] >> 16
    h >>= 16
    queue = plan.queues[bisect_right(plan.queue_cumulative, queue_draw)]
    company = plan.companies[queue.company]
    calendar = company.calendar
    slot = bisect_right(calendar.cumulative, (h & 0xFFFFFFFF) * calendar.total >> 32)
    h >>= 32
    offered = calendar.starts[slot] + (h & 0xFFFF) % SLOT_SECONDS
    h >>= 16
    load = calendar.loads[slot]
    direction, outcome = _MIX_BY_DRAW[(h & 0xFFFFFFFF) % MIX_TOTAL]
    h >>= 32
    agent = _agent_position(company, queue, h & 0xFFFFFF)
    h >>= 24
    number = names.mobile(company.country, (h & 0xFFFFF) % CALLERS_PER_COMPANY)[1]
    h >>= 20
    wait_bits = h & 0xFFFFFFFF
    h >>= 32
    ring_bits, talk_bits, hold_bits, wrap_bits = (h >> s & 0xFFFF for s in (0, 16, 32, 48))
    h >>= 64
    transfer_bits, disposition_bits = h & 0xFFFF, h >> 16 & 0xFFFF

    ringing = answered = ended = wrap_end = None
    ring = talk = wrap = None
    hold = transfers = 0
    disposition_id = None
    if outcome == Outcome.ANSWERED:
        if direction == IN:
            ring = 2 + ring_bits % 11
            # Waits grow with the load: callers wait longest at the peaks.
            wait = ring + min(_exponential(2 + 9 * load, wait_bits), 600)
        else:
            ring = 4 + ring_bits % 20
            wait = ring
        answered = offered + wait
        ringing = answered - ring
        talk = max(5, _lognormal(company.talk_median, TALK_SIGMA, talk_bits))
        if hold_bits % 1000 < HOLD_PER_MILLE:
            hold = 5 + _lognormal(HOLD_MEDIAN, HOLD_SIGMA, hold_bits >> 4)
        if direction == IN and transfer_bits % 1000 < TRANSFER_PER_MILLE:
            transfers = 1
            talk += 30 + (transfer_bits >> 10) % 240  # the second agent's leg
        ended = answered + talk + hold
        wrap = 5 + wrap_bits % 76
        wrap_end = ended + wrap
        if company.disposition_ids:
            disposition_id = company.disposition_ids[
                disposition_bits % len(company.disposition_ids)
            ]
    elif outcome == Outcome.SHORT_ABANDON:
        wait = wait_bits % (queue.short_abandon + 1)
        ended = offered + wait
    elif outcome == Outcome.ABANDONED:
        patience = _exponential(25 + 35 * load, wait_bits)
        wait = queue.short_abandon + 1 + min(patience, 1200)
        ended = offered + wait
    elif outcome == Outcome.TIMEOUT:
        wait = queue.timeout
        ended = offered + wait
    elif outcome == Outcome.EXIT_KEY:
        wait = 15 + wait_bits % 106
        ended = offered + wait
    elif outcome == Outcome.MISSED:
        ring = 20 + ring_bits % 26
        ringing, wait = offered, ring
        ended = offered + ring
    else:  # busy or failed: the far end refused, nothing rang
        wait = 1 + ring_bits % 4 if outcome == Outcome.BUSY else ring_bits % 3
        ended = offered + wait

    inbound = direction == IN
    return (
        company.company_id,
        company.connection_id,
        pbx_call_id(i),
        direction,
        number if inbound else company.agent_extensions[agent],
        number if inbound else "",
        "" if inbound else number,
        queue.did if inbound else "",
        queue.queue_id if inbound else None,
        company.agent_ids[agent] if answered is not None or not inbound else None,
        None,  # ticket
        disposition_id,
        "",  # notes
        outcome,
        offered,
        ringing,
        answered,
        ended,
        wrap_end,
        wait,
        ring,
        talk,
        hold,
        wrap,
        transfers,
        "",  # recording
    )


def _agent_position(company: _Company, queue: _Queue, bits: int) -> int:
    """An agent of the queue's own group (the agents whose position is the queue's modulo the
    company's queue count), or now and then anyone of the company, as overflow."""
    count = len(company.agent_ids)
    own = range(queue.position, count, company.queue_count)
    if own and bits % 1000 < OWN_GROUP_PER_MILLE:
        return own[(bits >> 10) % len(own)]
    return (bits >> 10) % count


# --- Queues, agents and connections -----------------------------------------------------------


def _companies() -> list[Company]:
    found = {c.slug: c for c in Company.objects.filter(slug__in=DEMO_SLUGS)}
    missing = [slug for slug in DEMO_SLUGS if slug not in found]
    if missing:
        raise BulkSeedError(
            f"The demo companies {', '.join(missing)} do not exist: "
            "run `manage.py seed_demo` first."
        )
    return [found[slug] for slug in DEMO_SLUGS]


def _ensure_connections(companies: list[Company]) -> dict[int, int]:
    """company id -> its bulk PBX connection's id (inactive: it never takes a webhook)."""
    ids = {}
    for company in companies:
        pbx, _created = PbxConnection.objects.get_or_create(
            key=connection_key(company.slug),
            defaults={
                "name": f"{company.name} bulk calls",
                "company": company,
                "format": PbxConnection.Format.NATIVE,
                "is_active": False,
            },
        )
        if pbx.company_id != company.pk:
            raise BulkSeedError(
                f"The PBX connection {pbx.key} belongs to another company: "
                f"bulk calls need it to be the one of {company.slug}."
            )
        ids[company.pk] = pbx.pk
    return ids


def _ensure_queues(companies: list[Company], count: int) -> dict[int, Queue]:
    existing = {
        (q.company_id, q.code): q
        for q in Queue.objects.filter(company__in=companies, code__startswith=QUEUE_PREFIX)
    }
    new = []
    for q in range(1, count + 1):
        company = companies[owner_index(q)]
        if (company.pk, queue_code(q)) not in existing:
            variant = (q - 1) % len(SERVICE_LEVELS)
            new.append(
                Queue(
                    company=company,
                    code=queue_code(q),
                    name=f"Bulk queue {q:02d}",
                    service_level_seconds=SERVICE_LEVELS[variant],
                    short_abandon_seconds=SHORT_ABANDONS[variant],
                    max_wrap_up_seconds=MAX_WRAP_UP_SECONDS,
                )
            )
    Queue.objects.bulk_create(new)
    by_code = {
        q.code: q
        for q in Queue.objects.filter(company__in=companies, code__startswith=QUEUE_PREFIX)
    }
    return {q: by_code[queue_code(q)] for q in range(1, count + 1)}


# Most bulk agents are first line; every fifth is second line, every fifth a specialist.
TEAM_BY_POSITION = (0, 0, 0, 1, 2)


def _ensure_agents(companies: list[Company], count: int) -> dict[int, Agent]:
    """Bulk agent a: a user, an agent membership in a team, an Agent row in that team, and the
    extension 9000 + a. Each is added where missing, so that a run cut short is completed."""
    User = get_user_model()
    numbers = {agent_username(a): a for a in range(1, count + 1)}
    have = set(User.objects.filter(username__in=numbers).values_list("username", flat=True))
    unusable = make_password(None)  # nobody logs in as a bulk agent
    new_users = []
    for username, a in numbers.items():
        if username not in have:
            someone = names.person(COMPANIES[owner_index(a)].country, owner_position(a))
            new_users.append(
                User(
                    username=username,
                    first_name=someone.first_name,
                    last_name=someone.last_name,
                    password=unusable,
                )
            )
    User.objects.bulk_create(new_users)
    users = {numbers[u.username]: u for u in User.objects.filter(username__in=numbers)}

    company_of = {a: companies[owner_index(a)] for a in users}
    teams = {}
    for company, spec in zip(companies, COMPANIES, strict=True):
        found = {t.name: t for t in Team.objects.filter(company=company, name__in=spec.teams)}
        teams[company.pk] = [found.get(name) for name in spec.teams]

    def team_of(a: int) -> Team | None:
        return teams[company_of[a].pk][TEAM_BY_POSITION[owner_position(a) % 5]]

    have = set(
        Membership.objects.filter(user__in=users.values()).values_list("user_id", "company_id")
    )
    Membership.objects.bulk_create(
        Membership(company=company_of[a], user=user, role=Role.AGENT, team=team_of(a))
        for a, user in users.items()
        if (user.pk, company_of[a].pk) not in have
    )
    have = set(Agent.objects.filter(user__in=users.values()).values_list("user_id", "company_id"))
    Agent.objects.bulk_create(
        Agent(company=company_of[a], user=user)
        for a, user in users.items()
        if (user.pk, company_of[a].pk) not in have
    )
    by_user = {
        (agent.user_id, agent.company_id): agent
        for agent in Agent.objects.filter(user__in=users.values())
    }
    agents = {a: by_user[(user.pk, company_of[a].pk)] for a, user in users.items()}

    through = Agent.teams.through
    have = set(through.objects.filter(agent__in=agents.values()).values_list("agent_id", flat=True))
    through.objects.bulk_create(
        through(agent_id=agent.pk, team_id=team_of(a).pk)
        for a, agent in agents.items()
        if agent.pk not in have and team_of(a) is not None
    )
    have = set(Extension.objects.filter(company__in=companies).values_list("company_id", "number"))
    Extension.objects.bulk_create(
        Extension(company_id=agent.company_id, agent=agent, number=agent_extension(a))
        for a, agent in agents.items()
        if (agent.company_id, agent_extension(a)) not in have
    )
    return agents


def _plan(
    companies: list[Company],
    connections: dict[int, int],
    queues: dict[int, Queue],
    agents: dict[int, Agent],
    first: date,
    days: int,
) -> Plan:
    plan_queues, cumulative, running = [], [], 0
    for q, queue in sorted(queues.items()):
        plan_queues.append(
            _Queue(
                queue_id=queue.pk,
                company=owner_index(q),
                position=owner_position(q),
                short_abandon=queue.short_abandon_seconds,
                timeout=TIMEOUTS[owner_position(q) % len(TIMEOUTS)],
                did=_did(COMPANIES[owner_index(q)].country, q),
            )
        )
        running += queue_weight(q)
        cumulative.append(running)
    plan_companies = []
    for index, (company, spec) in enumerate(zip(companies, COMPANIES, strict=True)):
        own = [a for a in sorted(agents) if owner_index(a) == index]
        plan_companies.append(
            _Company(
                company_id=company.pk,
                connection_id=connections[company.pk],
                country=spec.country,
                talk_median=TALK_MEDIANS[index],
                calendar=_calendar(ZoneInfo(company.time_zone), first, days),
                agent_ids=tuple(agents[a].pk for a in own),
                agent_extensions=tuple(agent_extension(a) for a in own),
                queue_count=sum(1 for q in queues if owner_index(q) == index),
                disposition_ids=tuple(
                    Disposition.objects.filter(company=company, is_active=True)
                    .order_by("code")
                    .values_list("id", flat=True)
                ),
            )
        )
    return Plan(tuple(plan_companies), tuple(plan_queues), tuple(cumulative))


# --- Entry point ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallsResult:
    added: int
    total: int  # bulk calls in the database now: 1..total
    first_day: date
    last_day: date
    seconds: float


def _check_fields() -> None:
    """COPY names every column: a column added to Call must be added to CALL_FIELDS too."""
    columns = {f.attname for f in Call._meta.concrete_fields} - {"id"}
    if columns != set(CALL_FIELDS):
        raise BulkSeedError(
            f"contactcenter/demo/calls_bulk.py does not match Call: missing "
            f"{sorted(columns - set(CALL_FIELDS))}, unknown {sorted(set(CALL_FIELDS) - columns)}"
        )


def bulk_call_count(connection_ids) -> int:
    """The highest bulk call index in the database, which is the number of bulk calls: they are
    added in order and a chunk commits whole. One backward probe of the unique (connection, PBX
    call id) index per company."""
    top = 0
    for connection_id in connection_ids:
        last = (
            Call.objects.filter(connection_id=connection_id, pbx_call_id__startswith=PREFIX)
            .order_by("-pbx_call_id")
            .values_list("pbx_call_id", flat=True)
            .first()
        )
        if last:
            top = max(top, int(last.removeprefix(PREFIX)))
    return top


def _chunks(start: int, stop: int, size: int) -> Iterator[range]:
    for first in range(start, stop, size):
        yield range(first, min(first + size, stop))


def _write_sqlite(indexes: range, plan: Plan) -> None:
    calls = []
    for i in indexes:
        values = dict(zip(CALL_FIELDS, call_row(i, plan), strict=True))
        for field in TIME_FIELDS:
            values[field] = _at(values[field])
        calls.append(Call(**values))
    Call.objects.bulk_create(calls)


# --- PostgreSQL -------------------------------------------------------------------------------

STAGING = "bulk_call_staging"
# Adding at least this many calls, and at least as many as the table holds, drops the call
# table's indexes (all but the primary key), unique constraint and foreign keys for the load and
# builds them again after: one sort per index and one join per foreign key, instead of an index
# insertion at a random place and a trigger-fired lookup per row and key, which measured five
# to eight times slower.
REBUILD_MIN_ROWS = 500_000


def _table() -> str:
    return connection.ops.quote_name(Call._meta.db_table)


def _stage(pg, ranges: Iterator[range], plan: Plan, say: Progress) -> None:
    """COPY the calls into a temporary table, times as seconds since the epoch."""
    columns = ", ".join(
        f"NULL::bigint AS {name}" if name in TIME_FIELDS else name for name in CALL_FIELDS
    )
    pg.execute(
        f"CREATE TEMP TABLE {STAGING} ON COMMIT DROP AS "
        f"SELECT {columns} FROM {_table()} WITH NO DATA"
    )
    statement = f"COPY {STAGING} ({', '.join(CALL_FIELDS)}) FROM STDIN"
    for indexes in ranges:
        # The queued writer sends from a thread: Python builds the next rows while the server
        # stores the previous ones.
        with pg.copy(statement, writer=QueuedLibpqWriter(pg)) as copy:
            for i in indexes:
                copy.write_row(call_row(i, plan))
        say(f"calls: {indexes[-1]:,} generated")


def _move_staged(pg) -> None:
    """Staged calls into the call table in the order they happened, as a live call log has
    them: ids grow with time, and a day's calls lie together on disk. No id column: the
    identity default takes each id from the table's sequence."""
    columns = ", ".join(connection.ops.quote_name(name) for name in CALL_FIELDS)
    values = ", ".join(
        f"to_timestamp({name})" if name in TIME_FIELDS else name for name in CALL_FIELDS
    )
    pg.execute(
        f"INSERT INTO {_table()} ({columns}) "
        f"SELECT {values} FROM {STAGING} ORDER BY offered_at, pbx_call_id"
    )
    pg.execute(f"DROP TABLE {STAGING}")


@dataclass(frozen=True)
class _Dropped:
    indexes: list[str]  # their CREATE INDEX statements
    constraints: list[tuple[str, str]]  # (quoted name, definition): unique ones, then keys


def _drop_secondary(pg) -> _Dropped:
    """Drop the call table's indexes, unique constraints and foreign keys (all but its primary
    key), remembering their definitions as PostgreSQL prints them."""
    table = Call._meta.db_table
    pg.execute(
        "SELECT pg_get_indexdef(i.indexrelid), i.indexrelid::regclass::text FROM pg_index i "
        "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid "
        "AND c.conrelid = i.indrelid) ORDER BY 2",
        [table],
    )
    indexes = pg.fetchall()
    # Unique constraints come back before the foreign keys that might rest on them.
    pg.execute(
        "SELECT quote_ident(conname), pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('u', 'f') ORDER BY contype DESC, conname",
        [table],
    )
    constraints = pg.fetchall()
    for name, _definition in reversed(constraints):
        pg.execute(f"ALTER TABLE {_table()} DROP CONSTRAINT {name}")
    for _statement, name in indexes:
        pg.execute(f"DROP INDEX {name}")
    return _Dropped([statement for statement, _name in indexes], constraints)


def _restore(pg, dropped: _Dropped) -> None:
    # Sorting ten million keys in memory rather than in temporary files; this transaction only.
    pg.execute("SET LOCAL maintenance_work_mem = '512MB'")
    for statement in dropped.indexes:
        pg.execute(statement)
    # Adding a unique constraint builds its index; adding a foreign key checks every row in
    # one join.
    for name, definition in dropped.constraints:
        pg.execute(f"ALTER TABLE {_table()} ADD CONSTRAINT {name} {definition}")


def _rows_in_table(pg) -> int:
    pg.execute(
        "SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass",
        [Call._meta.db_table],
    )
    return pg.fetchone()[0]


def _load_postgresql(first: int, stop: int, plan: Plan, say: Progress) -> None:
    with connection.cursor() as wrapper:
        pg = wrapper.cursor  # psycopg's own cursor: COPY is not part of the DB-API
        added = stop - first
        if added >= REBUILD_MIN_ROWS and added >= _rows_in_table(pg):
            # One transaction: a failure leaves the table, its indexes and keys as they were.
            # The call table is locked against every other session until the commit.
            with transaction.atomic():
                # ALTER TABLE refuses to run while checks deferred to the commit are pending,
                # which happens when an enclosing transaction (a test's) wrote calls before:
                # run them now. Every deferrable constraint of this project is initially
                # deferred (Django's foreign keys), so ALL DEFERRED restores the default.
                pg.execute("SET CONSTRAINTS ALL IMMEDIATE")
                pg.execute("SET CONSTRAINTS ALL DEFERRED")
                dropped = _drop_secondary(pg)
                say("calls: indexes and foreign keys dropped for the load")
                _stage(pg, _chunks(first, stop, CHUNK), plan, say)
                _move_staged(pg)
                say("calls: stored in time order; rebuilding indexes and foreign keys")
                _restore(pg, dropped)
            return
        # A transaction per chunk: an interrupted run keeps the chunks it finished.
        for indexes in _chunks(first, stop, CHUNK):
            with transaction.atomic():
                _stage(pg, iter([indexes]), plan, say)
                _move_staged(pg)


def default_until(zones: list[ZoneInfo], now: datetime | None = None) -> date:
    """The last day that is over in every zone: yesterday where the day began last."""
    now = now or datetime.now(UTC)
    return min(now.astimezone(zone).date() for zone in zones) - timedelta(days=1)


def seed_calls(
    calls: int,
    *,
    agents: int = 500,
    queues: int = 20,
    days: int = 365,
    until: date | None = None,
    progress: Progress | None = None,
) -> CallsResult:
    """Make the bulk calls bulk-c1..`calls` exist (never fewer than now), with `agents` bulk
    agents and `queues` bulk queues spread over the demo companies, on the `days` local dates
    ending with `until` (default: the last day over in every demo company's zone)."""
    if not 0 <= calls <= MAX_CALLS:
        raise BulkSeedError(f"--calls must be between 0 and {MAX_CALLS:,}.")
    if not 3 <= agents <= 9_999:
        raise BulkSeedError("--agents must be between 3 and 9,999 (one or more per company).")
    if not 3 <= queues <= 99:
        raise BulkSeedError("--queues must be between 3 and 99 (one or more per company).")
    if not 1 <= days <= 3_660:
        raise BulkSeedError("--days must be between 1 and 3,660.")
    _check_fields()
    companies = _companies()
    last_day = until or default_until([ZoneInfo(c.time_zone) for c in companies])
    first_day = last_day - timedelta(days=days - 1)
    started = time.perf_counter()

    def say(message: str) -> None:
        if progress is not None:
            progress(f"{time.perf_counter() - started:7.1f} s  {message}")

    with transaction.atomic():
        connections = _ensure_connections(companies)
        queue_rows = _ensure_queues(companies, queues)
        agent_rows = _ensure_agents(companies, agents)
    plan = _plan(companies, connections, queue_rows, agent_rows, first_day, days)

    have = bulk_call_count(connections.values())
    postgresql = connection.vendor == "postgresql"
    if calls > have and postgresql:
        _load_postgresql(have + 1, calls + 1, plan, say)
    elif calls > have:
        for indexes in _chunks(have + 1, calls + 1, SQLITE_CHUNK):
            with transaction.atomic():
                _write_sqlite(indexes, plan)
            say(f"calls: {indexes[-1]:,} of {calls:,}")
    added = max(0, calls - have)
    if added:
        # Fresh statistics, or the planner may scan ten million rows for a one-day report.
        rawsql.analyze(Call)
    return CallsResult(
        added=added,
        total=max(calls, have),
        first_day=first_day,
        last_day=last_day,
        seconds=time.perf_counter() - started,
    )
