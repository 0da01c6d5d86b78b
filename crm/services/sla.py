"""SLA due times and breaches for tickets."""

from datetime import datetime, timedelta

from django.utils import timezone

from contactcenter.lib.business_time import Calendar, add_business_time
from contactcenter.tenancy.models import Company
from crm.models import ACTIVE_STATUSES, BusinessHours, Holiday, SLAPolicy, Status, Ticket


def calendar_for(company: Company) -> Calendar:
    """The company's weekly schedule and holidays; no schedule at all means open round the clock."""
    hours: dict[int, list] = {}
    for row in BusinessHours.objects.for_tenant(company).order_by("weekday", "opens"):
        hours.setdefault(row.weekday, []).append((row.opens, row.closes))
    holidays = frozenset(Holiday.objects.for_tenant(company).values_list("date", flat=True))
    if not hours:
        return Calendar.always_open(company.zoneinfo, holidays)
    return Calendar(
        tz=company.zoneinfo, hours={d: tuple(s) for d, s in hours.items()}, holidays=holidays
    )


def sla_due_times(
    policy: SLAPolicy | None, start: datetime, calendar: Calendar | None = None
) -> tuple[datetime | None, datetime | None]:
    """(first response due, resolution due) for a ticket opened at `start`."""
    if policy is None:
        return None, None
    response = timedelta(minutes=policy.first_response_minutes)
    resolution = timedelta(minutes=policy.resolution_minutes)
    if not policy.business_hours:
        return start + response, start + resolution
    calendar = calendar or calendar_for(policy.company)
    return add_business_time(start, response, calendar), add_business_time(
        start, resolution, calendar
    )


def ticket_apply_sla(ticket: Ticket) -> None:
    """Set the ticket's policy and due times from its company and priority (not saved)."""
    policy = (
        SLAPolicy.objects.for_tenant(ticket.company_id)
        .select_related("company")
        .filter(priority=ticket.priority)
        .first()
    )
    ticket.sla_policy = policy
    ticket.first_response_due, ticket.resolution_due = sla_due_times(policy, ticket.created_at)


def sla_mark_breaches(now: datetime | None = None) -> int:
    """Flag active tickets whose targets passed unmet; idempotent, two set-based updates.

    A target met late is flagged at the moment it is met (first reply, resolution), so this
    periodic job only needs the tickets still waiting.
    """
    now = now or timezone.now()
    response = Ticket.objects.filter(
        first_response_breached=False, first_response_at__isnull=True, first_response_due__lt=now
    ).exclude(status=Status.CLOSED)
    resolution = Ticket.objects.filter(
        resolution_breached=False, status__in=ACTIVE_STATUSES, resolution_due__lt=now
    )
    return response.update(first_response_breached=True) + resolution.update(
        resolution_breached=True
    )
