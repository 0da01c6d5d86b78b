"""seed_calls: bulk calls for the reporting benchmarks, idempotent, consistent with their outcome.

Runs on whichever database the environment selects: COPY through a staging table on PostgreSQL
(and, for large loads, with the call table's indexes and keys rebuilt), bulk_create on SQLite.
"""

import math
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F, Q

from contactcenter.demo import calls_bulk, seed_demo
from contactcenter.tenancy.models import Company, Membership
from telephony.models import Agent, Call, Extension, PbxConnection, Queue

UNTIL = date(2026, 3, 10)  # a Tuesday; New York moves its clocks on Sunday 8 March 2026
DAYS = 14
FIRST = UNTIL - timedelta(days=DAYS - 1)  # Wednesday 25 February
SHAPE = ("--agents", "12", "--queues", "4", "--days", str(DAYS), "--until", UNTIL.isoformat())


@pytest.fixture
def demo(db):
    seed_demo()


def seed(calls: int, *args: str) -> str:
    out = StringIO()
    call_command("seed_calls", "--calls", str(calls), *(args or SHAPE), stdout=out)
    return out.getvalue()


def bulk_calls():
    return Call.objects.filter(pbx_call_id__startswith="bulk-c")


def counts() -> dict[str, int]:
    models = (
        Call,
        Queue,
        Agent,
        Agent.teams.through,
        Extension,
        Membership,
        PbxConnection,
        get_user_model(),
    )
    return {model._meta.label: model.objects.count() for model in models}


def snapshot() -> list[tuple]:
    """Every bulk call with its references by natural key: equal across databases and runs."""
    return list(
        bulk_calls()
        .order_by("pbx_call_id")
        .values_list(
            "pbx_call_id",
            "company__slug",
            "connection__key",
            "queue__code",
            "agent__user__username",
            "disposition__code",
            "ticket_id",
            "direction",
            "caller",
            "caller_e164",
            "callee",
            "did",
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
    )


def seconds(start, end) -> int:
    return int((end - start).total_seconds())


# --- What is created --------------------------------------------------------------------------


def test_seeds_exactly_the_requested_calls_queues_and_agents(demo):
    seed(300)
    assert bulk_calls().count() == 300
    assert set(bulk_calls().values_list("pbx_call_id", flat=True)) == {
        f"bulk-c{i:08d}" for i in range(1, 301)
    }
    # Queue q belongs to bank, shop, isp in turn; thresholds cycle through five variants.
    assert sorted(
        Queue.objects.filter(code__startswith="bulk-q").values_list(
            "code", "company__slug", "service_level_seconds", "short_abandon_seconds"
        )
    ) == [
        ("bulk-q01", "bank", 20, 5),
        ("bulk-q02", "shop", 20, 5),
        ("bulk-q03", "isp", 30, 5),
        ("bulk-q04", "bank", 15, 10),
    ]
    agents = Agent.objects.filter(user__username__startswith="bulk_agent")
    assert sorted(agents.values_list("user__username", "company__slug")) == [
        (f"bulk_agent{a:04d}", ("bank", "shop", "isp")[(a - 1) % 3]) for a in range(1, 13)
    ]
    assert sorted(
        Extension.objects.filter(agent__in=agents).values_list(
            "number", "agent__user__username", "company__slug"
        )
    ) == sorted(
        (str(9000 + a), f"bulk_agent{a:04d}", ("bank", "shop", "isp")[(a - 1) % 3])
        for a in range(1, 13)
    )
    memberships = Membership.objects.filter(user__username__startswith="bulk_agent")
    assert memberships.count() == 12
    assert set(memberships.values_list("role", flat=True)) == {"agent"}
    # The first agent of each company: position 0 of contactcenter.demo.names.
    assert sorted(
        get_user_model()
        .objects.filter(username__in=["bulk_agent0001", "bulk_agent0002", "bulk_agent0003"])
        .values_list("username", "first_name", "last_name", "memberships__team__name")
    ) == [
        ("bulk_agent0001", "Александр", "Иванов", "Карты"),
        ("bulk_agent0002", "Marco", "Rossi", "Ordini"),
        ("bulk_agent0003", "James", "Smith", "Tier 1 support"),
    ]
    # Every fifth agent of a company from position 3 on is second line: agent 10 is bank's 3.
    assert Membership.objects.get(user__username="bulk_agent0010").team.name == "Кредиты"
    assert list(
        Agent.objects.get(user__username="bulk_agent0010").teams.values_list("name", flat=True)
    ) == ["Кредиты"]
    assert not get_user_model().objects.get(username="bulk_agent0001").has_usable_password()
    assert sorted(
        PbxConnection.objects.filter(key__startswith="bulk-").values_list(
            "key", "company__slug", "format", "is_active"
        )
    ) == [
        ("bulk-bank", "bank", "native", False),
        ("bulk-isp", "isp", "native", False),
        ("bulk-shop", "shop", "native", False),
    ]


def test_the_command_reports_what_it_added(demo):
    out = seed(300)
    assert "Bulk calls: added 300 in " in out
    assert "(2026-02-25 to 2026-03-10, 12 agents, 4 queues); 300 bulk calls in all." in out
    out = seed(300)
    assert "Bulk calls: added 0 in " in out


def test_a_rerun_adds_nothing(demo):
    seed(300)
    before, rows = counts(), snapshot()
    seed(300)
    assert counts() == before
    assert snapshot() == rows


def test_a_smaller_number_removes_nothing(demo):
    seed(300)
    before = counts()
    seed(100)
    assert counts() == before


def test_a_larger_number_adds_the_difference(demo):
    seed(300)
    before, rows = counts(), snapshot()
    seed(450, "--agents", "15", *SHAPE[2:])
    after = counts()
    assert after["telephony.Call"] == before["telephony.Call"] + 150
    assert after["telephony.Agent"] == before["telephony.Agent"] + 3
    assert after["telephony.Extension"] == before["telephony.Extension"] + 3
    assert after["auth.User"] == before["auth.User"] + 3
    assert after["telephony.Queue"] == before["telephony.Queue"]
    assert snapshot()[:300] == rows
    assert bulk_calls().order_by("-pbx_call_id").first().pbx_call_id == "bulk-c00000450"


def test_an_interrupted_agent_setup_is_completed(demo):
    seed(0)
    Extension.objects.filter(number="9005").delete()
    Agent.objects.filter(user__username="bulk_agent0006").delete()
    seed(0)
    assert Extension.objects.get(number="9005").agent.user.username == "bulk_agent0005"
    assert Agent.objects.get(user__username="bulk_agent0006").company.slug == "isp"
    assert Extension.objects.get(number="9006").agent.user.username == "bulk_agent0006"


# --- Call i is a pure function of i -----------------------------------------------------------


def test_call_i_is_the_same_however_the_calls_are_chunked_and_split(demo, monkeypatch):
    seed(300)
    rows = snapshot()
    bulk_calls().delete()
    monkeypatch.setattr(calls_bulk, "CHUNK", 7)
    monkeypatch.setattr(calls_bulk, "SQLITE_CHUNK", 7)
    seed(120)
    seed(300)
    assert snapshot() == rows


def test_a_large_load_leaves_the_indexes_and_keys_as_they_were(demo, monkeypatch):
    """On PostgreSQL a load at least as large as the table drops the call table's indexes, unique
    constraint and foreign keys and builds them again; the calls are those of a small load."""
    seed(300)
    rows = snapshot()
    bulk_calls().delete()
    with connection.cursor() as cursor:
        before = connection.introspection.get_constraints(cursor, Call._meta.db_table)
    monkeypatch.setattr(calls_bulk, "REBUILD_MIN_ROWS", 1)
    out = seed(300)
    with connection.cursor() as cursor:
        after = connection.introspection.get_constraints(cursor, Call._meta.db_table)
    assert after == before
    assert snapshot() == rows
    if connection.vendor == "postgresql":
        assert "indexes and foreign keys dropped for the load" in out
        # Stored in the order the calls happened, as a live call log is: ids follow time.
        times = list(bulk_calls().order_by("id").values_list("offered_at", flat=True))
        assert times == sorted(times)


# --- Every call is consistent with its outcome ------------------------------------------------


def test_every_call_is_consistent_with_its_outcome(demo):
    seed(3000)
    assert bulk_calls().count() == 3000
    thresholds = dict(Queue.objects.values_list("pk", "short_abandon_seconds"))
    extensions = dict(Extension.objects.values_list("agent_id", "number"))
    answered = bulk_calls().filter(outcome="answered")
    # The rules as counts first: what the reports filter on.
    assert (
        answered.filter(
            Q(answered_at=None) | Q(agent=None) | Q(talk_seconds=None) | Q(wrap_up_seconds=None)
        ).count()
        == 0
    )
    assert (
        bulk_calls()
        .exclude(outcome="answered")
        .filter(
            Q(answered_at__isnull=False)
            | Q(talk_seconds__isnull=False)
            | Q(wrap_up_seconds__isnull=False)
            | Q(wrap_up_ended_at__isnull=False)
            | Q(disposition__isnull=False)
            | ~Q(hold_seconds=0)
            | ~Q(transfer_count=0)
        )
        .count()
        == 0
    )
    assert (
        bulk_calls()
        .filter(direction="inbound")
        .exclude(outcome="answered")
        .filter(Q(agent__isnull=False) | Q(ringing_at__isnull=False))
        .count()
        == 0
    )
    assert bulk_calls().filter(Q(offered_at=None) | Q(ended_at=None)).count() == 0
    assert bulk_calls().filter(outcome="in_progress").count() == 0
    assert (
        bulk_calls()
        .filter(transfer_count__gt=0)
        .exclude(direction="inbound", outcome="answered")
        .count()
        == 0
    )
    assert (
        bulk_calls()
        .filter(outcome="short_abandon", queue_wait_seconds__gt=F("queue__short_abandon_seconds"))
        .count()
        == 0
    )
    assert (
        bulk_calls()
        .filter(outcome="abandoned", queue_wait_seconds__lte=F("queue__short_abandon_seconds"))
        .count()
        == 0
    )

    # Then every call's durations against its times, as telephony/derive.py computes them.
    for call in bulk_calls().iterator():
        end_of_wait = call.answered_at or call.ended_at
        assert call.queue_wait_seconds == seconds(call.offered_at, end_of_wait), call
        assert call.ended_at >= end_of_wait
        if call.ringing_at is None:
            assert call.ring_seconds is None, call
        else:
            assert call.offered_at <= call.ringing_at <= end_of_wait
            assert call.ring_seconds == seconds(call.ringing_at, end_of_wait), call
        if call.outcome == "answered":
            assert call.ringing_at is not None
            assert call.talk_seconds > 0
            assert call.talk_seconds + call.hold_seconds == seconds(
                call.answered_at, call.ended_at
            ), call
            assert call.wrap_up_seconds == seconds(call.ended_at, call.wrap_up_ended_at), call
            assert call.disposition.company_id == call.company_id
        if call.outcome == "short_abandon":
            assert call.queue_wait_seconds <= thresholds[call.queue_id]
        if call.outcome == "timeout":
            assert call.queue_wait_seconds in (180, 240, 300)
        if call.direction == "inbound":
            assert call.queue_id is not None
            assert call.caller == call.caller_e164 != ""
            assert call.callee == ""
            assert call.did.startswith("+")
        else:
            assert call.direction == "outbound"
            assert call.queue_id is None and call.did == "" and call.caller_e164 == ""
            assert call.agent_id is not None
            assert call.caller == extensions[call.agent_id]
            assert call.callee.startswith("+")
            assert call.outcome in ("answered", "missed", "busy", "failed")


def test_callers_are_valid_numbers_of_the_company_country(demo):
    seed(300)
    countries = {"bank": "RU", "shop": "IT", "isp": "US"}
    for slug, number in bulk_calls().values_list("company__slug", "caller_e164"):
        if number:
            parsed = phonenumbers.parse(number)
            assert phonenumbers.is_valid_number(parsed), number
            assert phonenumbers.region_code_for_number(parsed) == countries[slug], number


def test_the_outcome_mix_is_the_intended_one(demo):
    seed(3000)
    n = 3000
    # Intended, of every 10,000 calls (calls_bulk.OUTCOME_MIX); transfers are 6 % of the
    # 7,550 answered inbound calls.
    intended = {
        ("inbound", "answered"): 7550,
        ("inbound", "abandoned"): 800,
        ("inbound", "short_abandon"): 300,
        ("inbound", "timeout"): 300,
        ("inbound", "exit_key"): 50,
        ("outbound", "answered"): 500,
        ("outbound", "missed"): 300,
        ("outbound", "busy"): 150,
        ("outbound", "failed"): 50,
        "answered": 8050,
        "transferred": 453,
    }
    found = {
        (direction, outcome): bulk_calls().filter(direction=direction, outcome=outcome).count()
        for direction, outcome in [k for k in intended if isinstance(k, tuple)]
    }
    assert sum(found.values()) == n
    found["answered"] = bulk_calls().filter(outcome="answered").count()
    found["transferred"] = bulk_calls().filter(transfer_count=1).count()
    for key, per_10_000 in intended.items():
        p = per_10_000 / 10_000
        # Three standard deviations of a binomial count: what a fair draw stays within.
        tolerance = 3 * math.sqrt(n * p * (1 - p))
        assert abs(found[key] - n * p) <= tolerance, (key, found[key], n * p, tolerance)


# --- When -------------------------------------------------------------------------------------


def test_calls_fall_in_the_requested_days_busiest_on_weekday_daytime(demo):
    seed(3000)
    zones = {c.pk: ZoneInfo(c.time_zone) for c in Company.objects.all()}
    days = {FIRST + timedelta(days=d) for d in range(DAYS)}
    local = [
        (company_id, offered.astimezone(zones[company_id]))
        for company_id, offered in bulk_calls().values_list("company_id", "offered_at")
    ]
    for company_id in {c for c, _ in local}:
        # Every day of the range has calls, and none falls outside it.
        assert {at.date() for c, at in local if c == company_id} == days
    n = len(local)
    # Hour weights sum to 992; 08:00-19:59 weigh 912 (91.9 %), 00:00-05:59 weigh 8 (0.8 %).
    # Two weeks of weekday weights: 515 of 585 (88.0 %) on Monday to Friday, so weekday
    # daytime is 80.9 % of the calls; a Monday weighs 115 and a Sunday 25.
    weekday_daytime = sum(1 for _, at in local if at.weekday() < 5 and 8 <= at.hour < 20)
    night = sum(1 for _, at in local if at.hour < 6)
    mondays = sum(1 for _, at in local if at.weekday() == 0)
    sundays = sum(1 for _, at in local if at.weekday() == 6)
    assert 0.77 * n <= weekday_daytime <= 0.85 * n
    assert night <= 0.02 * n
    assert mondays >= 3 * sundays


def test_the_default_last_day_is_over_in_every_zone():
    zones = [ZoneInfo("Europe/Moscow"), ZoneInfo("Europe/Rome"), ZoneInfo("America/New_York")]
    # 00:30 UTC on 10 March is 03:30 in Moscow and 01:30 in Rome but 19:30 on 9 March in New
    # York, whose 9 March is not over yet.
    assert calls_bulk.default_until(zones, datetime(2026, 3, 10, 0, 30, tzinfo=UTC)) == date(
        2026, 3, 8
    )
    # New York has kept daylight-saving time (UTC-4) since 8 March: its 10 March begins at 04:00.
    assert calls_bulk.default_until(zones, datetime(2026, 3, 10, 3, 59, tzinfo=UTC)) == date(
        2026, 3, 8
    )
    assert calls_bulk.default_until(zones, datetime(2026, 3, 10, 4, 0, tzinfo=UTC)) == date(
        2026, 3, 9
    )


def test_the_default_last_day_is_used(demo):
    zones = [ZoneInfo("Europe/Moscow"), ZoneInfo("Europe/Rome"), ZoneInfo("America/New_York")]
    before = calls_bulk.default_until(zones)
    out = seed(3, "--agents", "3", "--queues", "3", "--days", "2")
    after = calls_bulk.default_until(zones)  # the same, unless a day ended meanwhile
    assert "Bulk calls: added 3 in " in out
    assert any(
        f"({last - timedelta(days=1)} to {last}, 3 agents, 3 queues)" in out
        for last in {before, after}
    )


# --- Tenancy ----------------------------------------------------------------------------------


def test_every_call_belongs_to_the_company_of_its_queue_agent_and_connection(demo):
    seed(3000)
    calls = bulk_calls()
    assert calls.filter(queue__isnull=False).exclude(queue__company=F("company")).count() == 0
    assert calls.filter(agent__isnull=False).exclude(agent__company=F("company")).count() == 0
    assert calls.exclude(connection__company=F("company")).count() == 0
    assert (
        calls.filter(disposition__isnull=False).exclude(disposition__company=F("company")).count()
        == 0
    )
    # Calls of all three companies, each from its own bulk connection.
    assert sorted(calls.order_by().values_list("company__slug", "connection__key").distinct()) == [
        ("bank", "bulk-bank"),
        ("isp", "bulk-isp"),
        ("shop", "bulk-shop"),
    ]
    # Every bulk agent and queue takes calls.
    assert calls.exclude(agent=None).order_by().values("agent").distinct().count() == 12
    assert calls.exclude(queue=None).order_by().values("queue").distinct().count() == 4


# --- Refusals ---------------------------------------------------------------------------------


def test_without_the_demo_data_it_refuses_and_writes_nothing(db):
    with pytest.raises(CommandError) as error:
        seed(10)
    assert str(error.value) == (
        "The demo companies bank, shop, isp do not exist: run `manage.py seed_demo` first."
    )
    assert counts() == {
        "telephony.Call": 0,
        "telephony.Queue": 0,
        "telephony.Agent": 0,
        "telephony.Agent_teams": 0,
        "telephony.Extension": 0,
        "tenancy.Membership": 0,
        "telephony.PbxConnection": 0,
        "auth.User": 0,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--calls", "-1"), "--calls must be between 0 and 99,999,999."),
        (("--calls", "10", "--agents", "2"), "--agents must be between 3 and 9,999"),
        (("--calls", "10", "--queues", "0"), "--queues must be between 3 and 99"),
        (("--calls", "10", "--queues", "100"), "--queues must be between 3 and 99"),
        (("--calls", "10", "--days", "0"), "--days must be between 1 and 3,660."),
        (("--calls", "10", "--until", "2026-13-01"), "not a date (YYYY-MM-DD): '2026-13-01'"),
        (("--agents", "5"), "the following arguments are required: --calls"),
    ],
)
def test_bad_numbers_are_refused_and_write_nothing(demo, args, message):
    before = counts()
    with pytest.raises(CommandError) as error:
        call_command("seed_calls", *args, stdout=StringIO())
    assert message in str(error.value)
    assert counts() == before


def test_seed_demo_still_runs_after_the_bulk_calls(demo):
    seed(30)
    out = StringIO()
    call_command("seed_demo", stdout=out)  # the bulk agents are demo data, not foreign users
    assert "not the demo's" not in out.getvalue()
