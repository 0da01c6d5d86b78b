"""KPI reports on a large call log: the queue report over 30 days and a one-day interval report,
each beside a hand-written single SQL query computing the same figures in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cc_bench .venv/bin/python bench/reports.py

Seeds the demo data and `--calls` bulk calls (10,000,000: `manage.py seed_calls`, COPY) when the
database has fewer, then, for one company (`--company`, bank):

- **queue report, 30 days**: `reporting.queries.queue_report` (per queue, the company's total,
  the grand total; what the page, the API, the exports and `kpi_report` show) against one SQL
  statement with GROUPING SETS giving the same per-queue and total figures;
- **interval report, one day, 15 minutes**: `reporting.queries.interval_report` against one SQL
  statement grouping the day's calls by local quarter-hour (`date_bin` on local time).

Both ways run alternately `--repeat` times after a warm-up; it prints the median and p90 of
each, their ratio (targets: the queue report within 1.5 times its SQL and under 1 s; the interval
report under 200 ms), checks that both ways found the same figures (the run fails otherwise),
and prints the plan of the report's main query (it must read the calls by an index that leads
with the company and the time).
"""

import argparse
import sys
import time
from datetime import timedelta

from _common import median, percentile, setup_django

QUEUE_TARGET_RATIO = 1.5
QUEUE_TARGET_SECONDS = 1.0
INTERVAL_TARGET_SECONDS = 0.2

QUEUE_SQL = """
SELECT c.queue_id,
  count(*) FILTER (WHERE c.ended_at IS NOT NULL) AS offered,
  count(*) FILTER (WHERE c.ended_at IS NOT NULL AND c.outcome = 'answered') AS answered,
  count(*) FILTER (WHERE c.ended_at IS NOT NULL AND c.outcome = 'abandoned') AS abandoned,
  count(*) FILTER (WHERE c.ended_at IS NOT NULL AND c.outcome = 'short_abandon') AS short_abandons,
  count(*) FILTER (WHERE c.ended_at IS NOT NULL AND c.outcome = 'timeout') AS timeouts,
  count(*) FILTER (WHERE c.ended_at IS NOT NULL AND c.outcome = 'answered'
                   AND c.transfer_count > 0) AS transferred,
  count(*) FILTER (WHERE c.ended_at IS NULL) AS open_calls,
  count(*) FILTER (WHERE c.ended_at IS NOT NULL AND c.outcome = 'answered'
                   AND c.queue_wait_seconds <= q.service_level_seconds) AS answered_within,
  count(*) FILTER (WHERE c.ended_at IS NOT NULL AND c.outcome = 'abandoned'
                   AND c.queue_wait_seconds <= q.service_level_seconds) AS abandoned_within,
  sum(c.queue_wait_seconds) FILTER (WHERE c.ended_at IS NOT NULL) AS wait_seconds,
  max(c.queue_wait_seconds) FILTER (WHERE c.ended_at IS NOT NULL) AS longest_wait,
  sum(c.queue_wait_seconds) FILTER (WHERE c.ended_at IS NOT NULL AND c.outcome = 'answered')
    AS answered_wait_seconds,
  sum(c.talk_seconds) FILTER (WHERE c.ended_at IS NOT NULL AND c.outcome = 'answered')
    AS talk_seconds,
  sum(c.hold_seconds) FILTER (WHERE c.ended_at IS NOT NULL AND c.outcome = 'answered')
    AS hold_seconds,
  sum(c.wrap_up_seconds) FILTER (WHERE c.ended_at IS NOT NULL AND c.outcome = 'answered')
    AS wrap_up_seconds
FROM telephony_call c JOIN telephony_queue q ON q.id = c.queue_id
WHERE c.company_id = %s AND c.offered_at >= %s AND c.offered_at < %s
GROUP BY GROUPING SETS ((c.queue_id), ())
"""

INTERVAL_SQL = """
SELECT date_bin('15 minutes', c.offered_at AT TIME ZONE %s, TIMESTAMP '2000-01-01') AS slot,
  count(*) FILTER (WHERE c.ended_at IS NOT NULL) AS offered,
  count(*) FILTER (WHERE c.ended_at IS NOT NULL AND c.outcome = 'answered') AS answered,
  count(*) FILTER (WHERE c.ended_at IS NOT NULL AND c.outcome = 'abandoned') AS abandoned,
  sum(c.queue_wait_seconds) FILTER (WHERE c.ended_at IS NOT NULL AND c.outcome = 'answered')
    AS answered_wait_seconds
FROM telephony_call c
WHERE c.company_id = %s AND c.queue_id IS NOT NULL AND c.offered_at >= %s AND c.offered_at < %s
GROUP BY 1 ORDER BY 1
"""

COMPARED = (
    "offered",
    "answered",
    "abandoned",
    "short_abandons",
    "timeouts",
    "transferred",
    "open_calls",
    "answered_within",
    "abandoned_within",
    "wait_seconds",
    "longest_wait",
    "answered_wait_seconds",
    "talk_seconds",
    "hold_seconds",
    "wrap_up_seconds",
)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000_000, help="bulk calls (10,000,000)")
    parser.add_argument("--company", default="bank", help="the company reported on (bank)")
    parser.add_argument("--days", type=int, default=30, help="queue report range (30)")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs of each way (15)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first (2)")
    return parser.parse_args(argv)


def ensure_calls(target: int) -> None:
    from django.db import connection

    from contactcenter.demo import seed_demo
    from contactcenter.demo.calls_bulk import seed_calls

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM telephony_call WHERE pbx_call_id LIKE 'bulk-c%%'")
        (have,) = cursor.fetchone()
    if have >= target:
        print(f"bulk calls: {have:,} (already there)")
        return
    seed_demo()
    print(f"seeding bulk calls {have + 1:,} to {target:,} ...", flush=True)
    started = time.perf_counter()
    seed_calls(target, progress=lambda message: print(f"  {message}", flush=True))
    seconds = time.perf_counter() - started
    print(f"seeded {target - have:,} calls in {seconds:.0f} s ({(target - have) / seconds:,.0f}/s)")
    with connection.cursor() as cursor:
        # As autovacuum would in time: statistics, and the visibility map that lets the
        # reports read the covering index without the table.
        cursor.execute("VACUUM ANALYZE telephony_call")


def timed(function, repeat: int, warmup: int) -> tuple[list[float], object]:
    result = None
    for _ in range(warmup):
        result = function()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return sorted(times), result


def alternate(first, second, repeat: int, warmup: int):
    """Time two ways in turn (A, B, A, B, ...), so that a drift in load hits both."""
    for _ in range(warmup):
        first(), second()
    a, b = [], []
    result_a = result_b = None
    for _ in range(repeat):
        started = time.perf_counter()
        result_a = first()
        a.append(time.perf_counter() - started)
        started = time.perf_counter()
        result_b = second()
        b.append(time.perf_counter() - started)
    return sorted(a), result_a, sorted(b), result_b


def line(label: str, times: list[float]) -> str:
    return f"{label:44}{median(times) * 1000:>10.1f} ms{percentile(times, 90) * 1000:>10.1f} ms"


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_django()
    import os

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from contactcenter.tenancy.models import Company
    from reporting import queries

    ensure_calls(args.calls)
    company = Company.objects.get(slug=args.company)
    zone = company.zoneinfo
    last = timezone.localdate(timezone=zone) - timedelta(days=1)  # bulk calls end yesterday
    first = last - timedelta(days=args.days - 1)
    month = queries.ReportFilter(companies=(company,), date_from=first, date_to=last)
    start, end = month.utc_ranges()[company.pk]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM telephony_call")
        (total,) = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM telephony_call WHERE company_id = %s AND offered_at >= %s "
            "AND offered_at < %s",
            [company.pk, start, end],
        )
        (in_range,) = cursor.fetchone()
    print(
        f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}; {total:,} calls in all; "
        f"{company.name}, {first} to {last} ({zone.key}): {in_range:,} calls"
    )

    def report():
        return queries.queue_report(month)

    def by_sql():
        with connection.cursor() as cursor:
            cursor.execute(QUEUE_SQL, [company.pk, start, end])
            names = [c.name for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    report_times, result, sql_times, rows = alternate(report, by_sql, args.repeat, args.warmup)
    problems = compare_queues(result, rows)
    day = queries.ReportFilter(companies=(company,), date_from=last, date_to=last)
    day_start, day_end = day.utc_ranges()[company.pk]

    def intervals():
        return queries.interval_report(day, "15")

    def intervals_by_sql():
        with connection.cursor() as cursor:
            cursor.execute(INTERVAL_SQL, [zone.key, company.pk, day_start, day_end])
            return cursor.fetchall()

    interval_times, interval_result, interval_sql_times, slots = alternate(
        intervals, intervals_by_sql, args.repeat, args.warmup
    )
    problems += compare_intervals(interval_result, slots)

    print(f"\n{'':44}{'median':>13}{'p90':>13}")
    print(line(f"queue report, {args.days} days (reporting.queries)", report_times))
    print(line("  one SQL statement (baseline)", sql_times))
    ratio = median(report_times) / median(sql_times)
    queue_ok = ratio <= QUEUE_TARGET_RATIO and median(report_times) < QUEUE_TARGET_SECONDS
    print(
        f"  ratio report / SQL: {ratio:.2f}x (targets: <= {QUEUE_TARGET_RATIO}x and under "
        f"{QUEUE_TARGET_SECONDS:g} s: {'met' if queue_ok else 'MISSED'})"
    )
    print(line("interval report, 1 day by 15 minutes", interval_times))
    print(line("  one SQL statement (baseline)", interval_sql_times))
    interval_ok = median(interval_times) < INTERVAL_TARGET_SECONDS
    print(
        f"  ratio report / SQL: {median(interval_times) / median(interval_sql_times):.2f}x "
        f"(target: under {INTERVAL_TARGET_SECONDS * 1000:.0f} ms: "
        f"{'met' if interval_ok else 'MISSED'})"
    )

    with CaptureQueriesContext(connection) as captured:
        queries.queue_report(month)
    main_query = max(captured.captured_queries, key=lambda q: len(q["sql"]))["sql"]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + main_query)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    print(f"\nplan of the queue report's largest query:\n{plan}")
    if "call_company_offered" not in plan and "call_company_queue" not in plan:
        problems.append("the queue report does not read calls by a (company, time) index")
    if problems:
        print("\nERROR: " + "\nERROR: ".join(problems))
        return 1
    print("\nchecks: the reports and the SQL found the same figures: ok")
    return 0 if queue_ok and interval_ok else 1


def compare_queues(result, rows) -> list[str]:
    problems = []
    by_queue = {row["queue_id"]: row for row in rows if row["queue_id"] is not None}
    (total,) = [row for row in rows if row["queue_id"] is None]
    for queue_row in result.rows:
        expected = by_queue.get(queue_row.queue_id)
        if expected is None:
            if queue_row.figures.offered or queue_row.figures.open_calls:
                problems.append(f"queue {queue_row.code}: calls the SQL did not find")
            continue
        for name in COMPARED:
            mine, theirs = getattr(queue_row.figures, name), expected[name] or 0
            if (mine or 0) != theirs:
                problems.append(f"queue {queue_row.code}: {name} {mine} != {theirs} (SQL)")
    for name in COMPARED:
        mine, theirs = getattr(result.total.figures, name), total[name] or 0
        if (mine or 0) != theirs:
            problems.append(f"total: {name} {mine} != {theirs} (SQL)")
    return problems


def compare_intervals(result, slots) -> list[str]:
    counted = [(r.figures.offered, r.figures.answered, r.figures.abandoned) for r in result.rows]
    by_sql = {
        slot: (offered, answered, abandoned) for slot, offered, answered, abandoned, _ in slots
    }
    sums = tuple(sum(values) for values in zip(*counted, strict=True)) if counted else (0, 0, 0)
    sql_sums = tuple(sum(v) for v in zip(*by_sql.values(), strict=True)) if by_sql else (0, 0, 0)
    problems = []
    if sums != sql_sums:
        problems.append(f"interval report totals {sums} != {sql_sums} (SQL)")
    non_empty = sum(1 for offered, _, _ in counted if offered)
    if non_empty != sum(1 for offered, _, _ in by_sql.values() if offered):
        problems.append("interval report: not the same intervals with calls as the SQL")
    return problems


if __name__ == "__main__":
    sys.exit(main())
