"""Caller lookup by phone number: the selector the PBX webhook uses, against one raw SQL query.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cc_bench .venv/bin/python bench/phone_lookup.py

Makes sure the database holds at least --customers customers (1,000,000 by default; the bulk
path of seed_demo adds the missing ones), then looks up --lookups callers (2000 by default) typed in
mixed formats (national, international, E.164, 00-prefixed, bare digits), some of them unknown.
Each number is looked up both ways in the same loop, the order alternating so that neither way
always runs on a warmed cache: `crm.selectors.customers_by_phone` (parses the number, then one
ORM query) and the same query written by hand (on the already-normalised number). It prints the
median and p99 of both, their ratio, and EXPLAIN ANALYZE of the selector's query to show that
the (company, e164) index is used.
"""

import argparse
import os
import random
import sys

from _common import clock, median, ms, percentile, setup_django

RAW_SQL = (
    "SELECT c.* FROM crm_customer c WHERE c.id IN "
    "(SELECT customer_id FROM crm_customerphone WHERE company_id = %s AND e164 = %s) "
    "ORDER BY c.display_name, c.id"
)
# Ranges no demo or bulk customer uses, so that these callers are unknown (valid numbers all).
UNKNOWN_PREFIXES = {"RU": "+7977", "IT": "+39351", "US": "+1332"}
FORMATS = ("national", "international", "E.164", "00-international", "digits only")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000, help="at least this many")
    parser.add_argument("--lookups", type=int, default=2000, help="timed lookups (each way)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed lookups first")
    parser.add_argument(
        "--unknown", type=float, default=0.1, help="share of callers not in the CRM (0.1)"
    )
    parser.add_argument("--seed", type=int, default=1, help="picks which numbers are looked up")
    return parser.parse_args(argv)


def ensure_customers(target: int) -> None:
    from contactcenter.demo import seed_bulk, seed_demo
    from contactcenter.demo.bulk import bulk_customer_count
    from crm.models import Customer

    total = Customer.objects.count()
    if total >= target:
        print(f"customers: {total:,} (already there)")
        return
    seed_demo()
    have = bulk_customer_count()
    total = Customer.objects.count()
    wanted = have + max(0, target - total)
    print(f"seeding {wanted - have:,} bulk customers ...", flush=True)
    result = seed_bulk(customers=wanted, progress=lambda message: print(f"  {message}", flush=True))
    rate = result.customers_added / result.customers_seconds if result.customers_seconds else 0
    print(
        f"seeded {result.customers_added:,} customers in {result.customers_seconds:.1f} s "
        f"({rate:,.0f} customers/s, COPY with phones and e-mails, commit included)"
    )
    print(f"customers: {Customer.objects.count():,}")


def formats_of(e164: str, region: str) -> list[str]:
    import phonenumbers

    number = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return [
        national,
        international,
        e164,
        "00" + e164[1:],
        "".join(ch for ch in national if ch.isdigit()),
    ]


def pick_callers(n: int, unknown_share: float, seed: int) -> list[tuple[object, str, str]]:
    """[(company, number as typed, E.164)]: known numbers from the table, some unknown ones."""
    import phonenumbers
    from django.db import connection

    from contactcenter.tenancy.models import Company

    companies = {c.pk: c for c in Company.objects.all()}
    rng = random.Random(seed)
    known = n - round(n * unknown_share)
    with connection.cursor() as cursor:
        # A deterministic shuffle of the whole table: the same numbers for the same --seed.
        cursor.execute(
            "SELECT company_id, e164 FROM crm_customerphone ORDER BY md5(id::text || %s) LIMIT %s",
            [str(seed), known],
        )
        rows = cursor.fetchall()
    while len(rows) < n:
        company = rng.choice(list(companies.values()))
        prefix = UNKNOWN_PREFIXES.get(company.default_country)
        if prefix is None:
            continue
        e164 = prefix + "".join(str(rng.randrange(10)) for _ in range(7))
        if phonenumbers.is_valid_number(phonenumbers.parse(e164, None)):
            rows.append((company.pk, e164))
    rng.shuffle(rows)
    callers = []
    for position, (company_id, e164) in enumerate(rows):
        company = companies[company_id]
        typed = formats_of(e164, company.default_country)[position % len(FORMATS)]
        callers.append((company, typed, e164))
    return callers


def explain(company, typed: str) -> str:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from crm.selectors import customers_by_phone

    with CaptureQueriesContext(connection) as captured:
        customers_by_phone(company, typed)
    (query,) = captured.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
        return "\n".join(row[0] for row in cursor.fetchall())


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_django()
    from django.db import connection

    from contactcenter.lib.phones import lookup_key
    from crm.models import CustomerPhone
    from crm.selectors import customers_by_phone

    print(f"database: {connection.settings_dict['NAME']} (PostgreSQL {connection.pg_version})")
    ensure_customers(args.customers)
    print(f"phones: {CustomerPhone.objects.count():,}")

    def selector(company, typed):
        return [c.pk for c in customers_by_phone(company, typed)]

    def raw(company, e164):
        with connection.cursor() as cursor:
            cursor.execute(RAW_SQL, [company.pk, e164])
            return [row[0] for row in cursor.fetchall()]

    callers = pick_callers(args.warmup + args.lookups, args.unknown, args.seed)
    warmup, measured = callers[: args.warmup], callers[args.warmup :]
    for company, typed, e164 in warmup:
        selector(company, typed)
        raw(company, e164)

    selector_times, raw_times, parse_times = [], [], []
    mismatches = found = 0
    example = None
    for n, (company, typed, e164) in enumerate(measured):
        if n % 2 == 0:
            seconds, by_selector = clock(selector, company, typed)
            selector_times.append(seconds)
            seconds, by_raw = clock(raw, company, e164)
            raw_times.append(seconds)
        else:
            seconds, by_raw = clock(raw, company, e164)
            raw_times.append(seconds)
            seconds, by_selector = clock(selector, company, typed)
            selector_times.append(seconds)
        parse_times.append(clock(lookup_key, typed, company.default_country)[0])
        mismatches += by_selector != by_raw
        found += bool(by_raw)
        if by_raw and example is None:
            example = (company, typed)

    for values in (selector_times, raw_times, parse_times):
        values.sort()
    sel_med, raw_med = median(selector_times), median(raw_times)
    sel_p99, raw_p99 = percentile(selector_times, 99), percentile(raw_times, 99)
    print(
        f"\nlookups: {len(measured):,} each way after {len(warmup):,} warm-up; "
        f"{found:,} callers found, {len(measured) - found:,} unknown; "
        f"formats in turn: {', '.join(FORMATS)}"
    )
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\n{'':34}{'median':>12}{'p99':>12}")
    print(f"{'customers_by_phone (selector)':34}{ms(sel_med):>12}{ms(sel_p99):>12}")
    print(f"{'raw SQL, one query (baseline)':34}{ms(raw_med):>12}{ms(raw_p99):>12}")
    print(
        f"{'  number parsing alone':34}{ms(median(parse_times)):>12}"
        f"{ms(percentile(parse_times, 99)):>12}"
    )
    print(f"{'ratio selector / raw':34}{sel_med / raw_med:>11.2f}x{sel_p99 / raw_p99:>11.2f}x")
    if mismatches:
        print(f"\nERROR: {mismatches} lookups found different customers the two ways.")
        return 1

    if example is None:
        print("\nNo caller was found: nothing to explain.")
        return 1
    company, typed = example
    plan = explain(company, typed)
    print(f"\nEXPLAIN (ANALYZE, BUFFERS) of the selector's query for {typed!r}:\n{plan}")
    used = "phone_company_e164" in plan
    print(f"\nthe (company, e164) index phone_company_e164 is used: {'yes' if used else 'NO'}")
    return 0 if used else 1


if __name__ == "__main__":
    sys.exit(main())
