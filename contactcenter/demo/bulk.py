"""Bulk customers and tickets for benchmarks: a million customers in minutes, not hours.

Bulk customer i (1, 2, 3, ...) has the external id `bulk-0000000i`, belongs to bank, shop and isp
in turn and is a pure function of i, so `--customers N` means "the bulk set is bulk-1..N": a
rerun adds none, a larger N adds the difference. Bulk tickets likewise: `--tickets M`
means the bulk customers have M tickets between them.

PostgreSQL loads rows with COPY through Django's connection; SQLite takes the slower but correct
`bulk_create` path. Both skip the services on purpose (they validate one row at a time) and write
no history rows; what the services would compute is computed here: display names, E.164 numbers,
SLA due times and breaches, per-company ticket numbers and the company's last ticket number.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from psycopg.copy import QueuedLibpqWriter
from psycopg.types.json import Jsonb

from contactcenter.demo import names
from contactcenter.demo.catalogue import BULK_SUBJECTS, COMPANIES, DEMO_SLUGS
from contactcenter.lib import rawsql
from contactcenter.tenancy.models import Company, Membership, Role, Team
from crm.models import (
    Channel,
    Customer,
    CustomerEmail,
    CustomerPhone,
    Priority,
    SLAPolicy,
    Status,
    Ticket,
    TicketCategory,
    Tier,
)
from crm.services.sla import calendar_for, sla_due_times

PREFIX = "bulk-"
CHUNK = 50_000
# SQLite's bulk_create splits batches by its parameter limit; this only bounds memory.
SQLITE_CHUNK = 5_000

Progress = Callable[[str], None]


class BulkSeedError(Exception):
    """Bulk seeding cannot start; the message says why and what to run first."""


def external_id(i: int) -> str:
    return f"{PREFIX}{i:08d}"


def company_index(i: int) -> int:
    """Which demo company (0 bank, 1 shop, 2 isp) bulk customer or ticket i belongs to."""
    return (i - 1) % 3


def position(i: int) -> int:
    """Bulk customer i's position k (0, 1, 2, ...) among its company's bulk customers."""
    return (i - 1) // 3


@dataclass
class BulkResult:
    customers_added: int = 0
    tickets_added: int = 0
    customers_seconds: float = 0.0
    tickets_seconds: float = 0.0


@dataclass(frozen=True)
class _Tenant:
    company: Company
    country: str
    language: str
    custom_key: str
    slug_upper: str


# --- Customers --------------------------------------------------------------------------------

CUSTOMER_FIELDS = (
    "company_id",
    "kind",
    "first_name",
    "middle_name",
    "last_name",
    "organisation_name",
    "display_name",
    "external_id",
    "address",
    "city",
    "postal_code",
    "country",
    "time_zone",
    "language",
    "custom_fields",
    "marketing_consent",
    "consent_changed_at",
    "do_not_call",
    "owner_id",
    "created_at",
    "updated_at",
)
PHONE_FIELDS = ("company_id", "customer_id", "raw", "e164", "kind", "is_primary")
EMAIL_FIELDS = ("company_id", "customer_id", "email", "is_primary")
TICKET_FIELDS = (
    "company_id",
    "number",
    "customer_id",
    "channel",
    "subject",
    "description",
    "status",
    "priority",
    "category_id",
    "required_skill_id",
    "tier",
    "assignee_id",
    "team_id",
    "created_by_id",
    "sla_policy_id",
    "first_response_due",
    "resolution_due",
    "first_response_at",
    "resolved_at",
    "closed_at",
    "first_response_breached",
    "resolution_breached",
    "created_at",
    "updated_at",
)


def _check_fields(model, fields: tuple[str, ...], generated: frozenset[str] = frozenset()) -> None:
    """COPY names every column: a column added to the model must be added here too."""
    columns = {f.attname for f in model._meta.concrete_fields} - generated
    if columns != set(fields):
        raise BulkSeedError(
            f"contactcenter/demo/bulk.py does not match {model.__name__}: "
            f"missing {sorted(columns - set(fields))}, unknown {sorted(set(fields) - columns)}"
        )


PERSON, ORGANISATION = Customer.Kind.PERSON.value, Customer.Kind.ORGANISATION.value
MOBILE, HOME = CustomerPhone.Kind.MOBILE.value, CustomerPhone.Kind.HOME.value


def customer_rows(
    i: int, tenant: _Tenant, now: datetime, json_wrap: Callable = dict
) -> tuple[tuple, list[tuple], str]:
    """(values in CUSTOMER_FIELDS order, [(raw, e164, kind)], e-mail) of bulk customer i.

    A tuple, not a dict: this runs a million times and is what the COPY waits on.
    """
    k = position(i)
    country = tenant.country
    if k % 10 == 9:
        kind = ORGANISATION
        organisation_name, email = names.organisation(country, k)
        first = middle = last = ""
    else:
        kind = PERSON
        someone = names.person(country, k)
        first, middle, last = someone.first_name, someone.middle_name, someone.last_name
        organisation_name, email = "", someone.email_local
    consent = k % 4 == 0
    values = (
        tenant.company.pk,
        kind,
        first,
        middle,
        last,
        organisation_name,
        Customer.compose_display_name(kind, first, middle, last, organisation_name),
        external_id(i),
        "",  # address
        "",  # city
        "",  # postal code
        country,
        "",  # time zone: the company's
        tenant.language,
        json_wrap({tenant.custom_key: f"{tenant.slug_upper}-{k:08d}"}),
        consent,
        now if consent else None,  # consent changed at
        k % 17 == 0,  # do not call
        None,  # owner
        now,  # created
        now,  # updated
    )
    raw, e164 = names.mobile(country, k)
    phones = [(raw, e164, MOBILE)]
    # One in three also has a home line; one in thirty shares it with the customer three
    # positions back (a household), so that some lookups find two customers.
    if k % 3 == 2:
        raw, e164 = names.landline(country, k - 3 if k % 30 == 29 else k)
        phones.append((raw, e164, HOME))
    return values, phones, email


def _tenants() -> list[_Tenant]:
    companies = {c.slug: c for c in Company.objects.filter(slug__in=DEMO_SLUGS)}
    missing = [slug for slug in DEMO_SLUGS if slug not in companies]
    if missing:
        raise BulkSeedError(
            f"The demo companies {', '.join(missing)} do not exist: run seed_demo first."
        )
    for spec in COMPANIES:
        if companies[spec.slug].default_country != spec.country:
            raise BulkSeedError(
                f"{spec.slug} no longer has the demo's country {spec.country}: "
                "bulk phone numbers are generated for the demo countries only."
            )
    return [
        _Tenant(
            company=companies[spec.slug],
            country=spec.country,
            language=spec.language,
            custom_key=spec.custom_fields[0].key,
            slug_upper=spec.slug.upper(),
        )
        for spec in COMPANIES
    ]


def bulk_customer_count() -> int:
    """How many bulk customers the demo companies have, as seed_bulk counts them."""
    return _highest_bulk_index(_tenants())


def _highest_bulk_index(tenants: list[_Tenant]) -> int:
    # Bulk customers are added in order, in one transaction per run, so the highest index is
    # their number; after a deletion, continuing above it avoids reusing an external id.
    top = Customer.objects.filter(
        company__in=[t.company for t in tenants], external_id__startswith=PREFIX
    ).aggregate(top=Max("external_id"))["top"]
    return int(top.removeprefix(PREFIX)) if top else 0


def _chunks(start: int, stop: int, size: int) -> Iterator[range]:
    for first in range(start, stop, size):
        yield range(first, min(first + size, stop))


def _copy(cursor, model, fields: tuple[str, ...], rows) -> None:
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(f).column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    # The queued writer sends from a thread: Python builds the next rows while the server
    # inserts the previous ones (the server's index upkeep is most of the time).
    with cursor.copy(
        f"COPY {table} ({columns}) FROM STDIN", writer=QueuedLibpqWriter(cursor)
    ) as copy:
        for row in rows:
            copy.write_row(row)


def _reserve_ids(cursor, model, n: int) -> list[int]:
    # Taking the ids from the table's own sequence keeps later ORM inserts collision-free.
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
        [model._meta.db_table, n],
    )
    return [row[0] for row in cursor.fetchall()]


def _customers_postgresql(indexes: range, tenants, now) -> None:
    with connection.cursor() as wrapper:
        pg = wrapper.cursor  # psycopg's own cursor: COPY is not part of the DB-API
        ids = _reserve_ids(pg, Customer, len(indexes))
        phones, emails = [], []

        def customers():
            # Generated while the COPY runs; phones and e-mails are collected on the way.
            for customer_id, i in zip(ids, indexes, strict=True):
                values, numbers, email = customer_rows(
                    i, tenants[company_index(i)], now, json_wrap=Jsonb
                )
                company_id = values[0]
                for n, (raw, e164, kind) in enumerate(numbers):
                    phones.append((company_id, customer_id, raw, e164, kind, n == 0))
                emails.append((company_id, customer_id, email, True))
                yield (customer_id, *values)

        _copy(pg, Customer, ("id", *CUSTOMER_FIELDS), customers())
        _copy(pg, CustomerPhone, PHONE_FIELDS, phones)
        _copy(pg, CustomerEmail, EMAIL_FIELDS, emails)


def _customers_sqlite(indexes: range, tenants, now) -> None:
    built = [customer_rows(i, tenants[company_index(i)], now) for i in indexes]
    customers = Customer.objects.bulk_create(
        [Customer(**dict(zip(CUSTOMER_FIELDS, values, strict=True))) for values, _p, _e in built]
    )
    phones, emails = [], []
    for customer, (_values, numbers, email) in zip(customers, built, strict=True):
        for n, (raw, e164, kind) in enumerate(numbers):
            phones.append(
                CustomerPhone(
                    company_id=customer.company_id,
                    customer_id=customer.pk,
                    raw=raw,
                    e164=e164,
                    kind=kind,
                    is_primary=n == 0,
                )
            )
        emails.append(
            CustomerEmail(
                company_id=customer.company_id,
                customer_id=customer.pk,
                email=email,
                is_primary=True,
            )
        )
    CustomerPhone.objects.bulk_create(phones)
    CustomerEmail.objects.bulk_create(emails)


# --- Tickets ----------------------------------------------------------------------------------

PRIORITY_MIX = [Priority.LOW] * 2 + [Priority.NORMAL] * 5 + [Priority.HIGH] * 2 + [Priority.URGENT]
# Most of a contact centre's history is closed.
STATUS_MIX = (
    [Status.NEW] + [Status.OPEN] * 2 + [Status.PENDING] + [Status.RESOLVED] + [Status.CLOSED] * 5
)
TIER_MIX = [Tier.FIRST_LINE] * 17 + [Tier.SECOND_LINE] * 2 + [Tier.SPECIALIST]
CHANNELS = Channel.values
NINETY_DAYS_MINUTES = 90 * 24 * 60


@dataclass(frozen=True)
class _TicketContext:
    company: Company
    customer_ids: list[int]
    policies: dict[str, SLAPolicy]
    calendar: object
    agents: list[tuple[int, int | None]]  # (user id, team id)
    first_line_team_id: int | None
    category_ids: list[int]


def _ticket_context(tenant: _Tenant) -> _TicketContext:
    company = tenant.company
    spec = next(c for c in COMPANIES if c.slug == company.slug)
    agents = list(
        Membership.objects.filter(company=company, role=Role.AGENT)
        .order_by("user_id")
        .values_list("user_id", "team_id")
    )
    return _TicketContext(
        company=company,
        customer_ids=list(
            Customer.objects.filter(company=company, external_id__startswith=PREFIX)
            .order_by("id")
            .values_list("id", flat=True)
        ),
        policies={p.priority: p for p in SLAPolicy.objects.for_tenant(company)},
        calendar=calendar_for(company),
        agents=agents,
        first_line_team_id=Team.objects.filter(company=company, name=spec.teams[0])
        .values_list("id", flat=True)
        .first(),
        category_ids=list(
            TicketCategory.objects.for_tenant(company).order_by("id").values_list("id", flat=True)
        ),
    )


def ticket_row(t: int, context: _TicketContext, number: int, now: datetime) -> dict:
    """The fields of bulk ticket t, with SLA due times and breaches as the services set them."""
    h = names.mix(t)
    status = STATUS_MIX[(h >> 7) % len(STATUS_MIX)]
    priority = PRIORITY_MIX[(h >> 3) % len(PRIORITY_MIX)]
    created_at = now - timedelta(minutes=(h >> 11) % NINETY_DAYS_MINUTES)
    policy = context.policies.get(priority)
    response_due, resolution_due = sla_due_times(policy, created_at, context.calendar)
    assignee_id, team_id = None, context.first_line_team_id
    if status != Status.NEW and context.agents:
        assignee_id, team_id = context.agents[(h >> 17) % len(context.agents)]
    responded = resolved = closed = None
    if status != Status.NEW:
        responded = min(created_at + timedelta(minutes=5 + (h >> 19) % 240), now)
    if status in (Status.RESOLVED, Status.CLOSED):
        resolved = min(created_at + timedelta(minutes=30 + (h >> 21) % 4000), now)
    if status == Status.CLOSED:
        closed = min(resolved + timedelta(days=1), now)
    # Met late: flagged when met. Still waiting: flagged once due (what sla_mark_breaches does).
    if responded is not None:
        response_breached = response_due is not None and responded > response_due
    else:
        response_breached = response_due is not None and response_due < now
    if resolved is not None:
        resolution_breached = resolution_due is not None and resolved > resolution_due
    else:
        resolution_breached = resolution_due is not None and resolution_due < now
    subjects = BULK_SUBJECTS[context.company.slug]
    return {
        "company_id": context.company.pk,
        "number": number,
        "customer_id": context.customer_ids[h % len(context.customer_ids)],
        "channel": CHANNELS[h % len(CHANNELS)],
        "subject": subjects[(h >> 5) % len(subjects)],
        "description": "",
        "status": status,
        "priority": priority,
        "category_id": context.category_ids[(h >> 23) % len(context.category_ids)]
        if context.category_ids
        else None,
        "required_skill_id": None,
        "tier": TIER_MIX[(h >> 13) % len(TIER_MIX)],
        "assignee_id": assignee_id,
        "team_id": team_id,
        "created_by_id": None,
        "sla_policy_id": policy.pk if policy else None,
        "first_response_due": response_due,
        "resolution_due": resolution_due,
        "first_response_at": responded,
        "resolved_at": resolved,
        "closed_at": closed,
        "first_response_breached": response_breached,
        "resolution_breached": resolution_breached,
        "created_at": created_at,
        "updated_at": now,
    }


def bulk_ticket_count(tenants: list[_Tenant]) -> int:
    return Ticket.objects.filter(
        company__in=[t.company for t in tenants], customer__external_id__startswith=PREFIX
    ).count()


def _add_tickets(first: int, stop: int, tenants: list[_Tenant], now: datetime) -> None:
    contexts = [_ticket_context(t) for t in tenants]
    for index in {company_index(t) for t in range(first, min(first + 3, stop))}:
        if not contexts[index].customer_ids:
            raise BulkSeedError(
                f"{tenants[index].company.slug} has no bulk customers to give tickets to: "
                "pass --customers with at least 3 (one per company)."
            )
    # The row locks serialise with ticket_create, so no number is handed out twice.
    locked = {
        c.pk: c.last_ticket_number
        for c in Company.objects.select_for_update()
        .filter(pk__in=[t.company.pk for t in tenants])
        .order_by("pk")
    }
    next_number = {pk: last + 1 for pk, last in locked.items()}
    postgresql = connection.vendor == "postgresql"
    for indexes in _chunks(first, stop, CHUNK if postgresql else SQLITE_CHUNK):
        rows = []
        for t in indexes:
            context = contexts[company_index(t)]
            company_id = context.company.pk
            rows.append(ticket_row(t, context, next_number[company_id], now))
            next_number[company_id] += 1
        if postgresql:
            with connection.cursor() as wrapper:
                _copy(
                    wrapper.cursor,
                    Ticket,
                    TICKET_FIELDS,
                    (tuple(row[f] for f in TICKET_FIELDS) for row in rows),
                )
        else:
            Ticket.objects.bulk_create([Ticket(**row) for row in rows])
    for company_id, number in next_number.items():
        if number - 1 != locked[company_id]:
            Company.objects.filter(pk=company_id).update(last_ticket_number=number - 1)


# --- Entry point ------------------------------------------------------------------------------


def seed_bulk(
    *,
    customers: int = 0,
    tickets: int = 0,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> BulkResult:
    """Make the bulk set hold `customers` customers and `tickets` tickets (never fewer than now)."""
    if customers < 0 or tickets < 0:
        raise BulkSeedError("--customers and --tickets must be zero or more.")
    _check_fields(Customer, CUSTOMER_FIELDS, frozenset({"id"}))
    _check_fields(CustomerPhone, PHONE_FIELDS, frozenset({"id"}))
    _check_fields(CustomerEmail, EMAIL_FIELDS, frozenset({"id"}))
    _check_fields(Ticket, TICKET_FIELDS, frozenset({"id"}))
    now = now or timezone.now()
    say = progress or (lambda message: None)
    result = BulkResult()
    postgresql = connection.vendor == "postgresql"
    tenants = _tenants()

    started = time.perf_counter()
    with transaction.atomic():
        have = _highest_bulk_index(tenants)
        if customers > have:
            add = _customers_postgresql if postgresql else _customers_sqlite
            for indexes in _chunks(have + 1, customers + 1, CHUNK if postgresql else SQLITE_CHUNK):
                add(indexes, tenants, now)
                say(f"customers: {indexes[-1]:,} of {customers:,}")
            result.customers_added = customers - have
    result.customers_seconds = time.perf_counter() - started

    started = time.perf_counter()
    with transaction.atomic():
        have = bulk_ticket_count(tenants)
        if tickets > have:
            _add_tickets(have + 1, tickets + 1, tenants, now)
            result.tickets_added = tickets - have
            say(f"tickets: {tickets:,}")
    result.tickets_seconds = time.perf_counter() - started

    if result.customers_added or result.tickets_added:
        # Fresh statistics, or the planner may take the phone index for a scan of a tiny table.
        rawsql.analyze(Customer, CustomerPhone, CustomerEmail, Ticket)
    return result
