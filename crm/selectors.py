"""Tenant-scoped reads of customers and tickets shared by pages, the API and telephony."""

import re

from django.db.models import Q, QuerySet

from contactcenter.lib.phones import lookup_key
from contactcenter.tenancy.models import Company
from contactcenter.tenancy.scoping import company_ids_for, scoped
from crm.models import ACTIVE_STATUSES, Customer, CustomerEmail, CustomerPhone, Ticket

_PHONE_LIKE = re.compile(r"^[\d\s()+\-.]{5,}$")


def _by_phone_sql(columns: str) -> str:
    """These columns of a company's customers with a phone number (E.164), by name: params are
    [company id, company id, e164]."""
    customer, phone = Customer._meta.db_table, CustomerPhone._meta.db_table
    return (
        f"SELECT {columns} FROM {customer} c WHERE c.company_id = %s AND c.id IN "
        f"(SELECT p.customer_id FROM {phone} p WHERE p.company_id = %s AND p.e164 = %s) "
        "ORDER BY c.display_name, c.id"
    )


def customers_by_phone(company: Company, raw: str) -> list[Customer]:
    """Every customer of the company with this number, typed in any format (indexed lookup)."""
    e164 = lookup_key(raw, company.default_country)
    if e164 is None:
        return []
    # Every ringing call runs this: hand-written SQL skips the ORM's query compilation, which
    # costs about three times the indexed lookup itself (bench/phone_lookup.py).
    return list(Customer.objects.raw(_by_phone_sql("c.*"), [company.pk, company.pk, e164]))


def customer_names_by_phone_query(company_id: int, e164: str) -> tuple[str, list]:
    """`customers_by_phone` of an E.164 number as (id, name) rows: the SQL and its parameters,
    for a statement of the caller's (the ringing notice reads it with the ringing agents)."""
    return _by_phone_sql("c.id, c.display_name"), [company_id, company_id, e164]


def _phone_filter(company_ids: list[int], query: str) -> Q | None:
    """Customers whose phone matches the query read in each company's own default country."""
    if not _PHONE_LIKE.match(query):
        return None
    regions = dict(Company.objects.filter(id__in=company_ids).values_list("id", "default_country"))
    by_key: dict[str, list[int]] = {}
    for company_id, region in regions.items():
        key = lookup_key(query, region)
        if key:
            by_key.setdefault(key, []).append(company_id)
    if not by_key:
        return None
    condition = Q()
    for key, ids in by_key.items():
        condition |= Q(company_id__in=ids, e164=key)
    return Q(id__in=CustomerPhone.objects.filter(condition).values("customer_id"))


def customer_list(user, *, company: Company | None = None, query: str = "") -> QuerySet[Customer]:
    """Customers the user may see, optionally of one company, matching a name, phone or e-mail."""
    queryset = scoped(Customer.objects.all(), user)
    if company is not None:
        queryset = queryset.filter(company=company)
    query = (query or "").strip()
    if not query:
        return queryset
    company_ids = [company.pk] if company else company_ids_for(user)
    if "@" in query:
        emails = CustomerEmail.objects.filter(
            company_id__in=company_ids, email=query.lower()
        ).values("customer_id")
        return queryset.filter(id__in=emails)
    phone = _phone_filter(company_ids, query)
    if phone is not None:
        return queryset.filter(phone)
    return queryset.filter(display_name__icontains=query)


def ticket_list(user, *, company: Company | None = None) -> QuerySet[Ticket]:
    queryset = scoped(Ticket.objects.all(), user).select_related(
        "company", "customer", "assignee", "team", "category"
    )
    return queryset.filter(company=company) if company is not None else queryset


def my_tickets(user) -> QuerySet[Ticket]:
    return (
        ticket_list(user)
        .filter(assignee=user, status__in=ACTIVE_STATUSES)
        .order_by("resolution_due", "created_at")
    )


def team_queue(user) -> QuerySet[Ticket]:
    """Unassigned active tickets of the user's teams, soonest SLA due first."""
    from contactcenter.tenancy.models import Membership

    team_ids = Membership.objects.filter(
        user=user, team__isnull=False, company_id__in=company_ids_for(user)
    ).values("team_id")
    return (
        ticket_list(user)
        .filter(team_id__in=team_ids, assignee__isnull=True, status__in=ACTIVE_STATUSES)
        .order_by("resolution_due", "created_at")
    )
