"""Loads the fixed demo data set of catalogue.py through the CRM services, idempotently.

A rerun adds what is missing and leaves what exists as it is (an administrator's edits to the
demo configuration survive), with two exceptions that the printed user table depends on: a demo
user's password and memberships are put back to the documented ones.
"""

from dataclasses import dataclass, field
from datetime import datetime, time

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from contactcenter.demo.catalogue import (
    COMPANIES,
    CUSTOMERS,
    DEMO_PASSWORD,
    LEADS,
    TICKETS,
    USERS,
    DemoCompany,
    DemoTicket,
    DemoUser,
)
from contactcenter.demo.telephony import PHONE_AGENTS, seed_telephony
from contactcenter.tenancy.models import Company, Membership, Skill, Team, UserPreference
from crm.models import (
    BusinessHours,
    Customer,
    CustomFieldDefinition,
    Holiday,
    SLAPolicy,
    Tag,
    Ticket,
    TicketCategory,
)
from crm.services.customers import customer_create
from crm.services.tickets import (
    ticket_comment_add,
    ticket_create,
    ticket_escalate,
    ticket_transition,
)

OPENS, CLOSES = time(9, 0), time(18, 0)


@dataclass
class DemoSummary:
    created: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, n: int = 1) -> None:
        self.created[what] = self.created.get(what, 0) + n


def _ensure(model, summary: DemoSummary, defaults: dict | None = None, **lookup):
    obj, created = model.objects.get_or_create(defaults=defaults or {}, **lookup)
    if created:
        summary.add(model._meta.verbose_name_plural)
    return obj


def _company(spec: DemoCompany, summary: DemoSummary) -> Company:
    company = _ensure(
        Company,
        summary,
        slug=spec.slug,
        defaults={
            "name": spec.name,
            "time_zone": spec.time_zone,
            "default_country": spec.country,
        },
    )
    for name in spec.teams:
        _ensure(Team, summary, company=company, name=name)
    for name in spec.skills:
        _ensure(Skill, summary, company=company, name=name)
    for name in spec.categories:
        _ensure(TicketCategory, summary, company=company, name=name)
    for name in spec.tags:
        _ensure(Tag, summary, company=company, name=name)
    for position, f in enumerate(spec.custom_fields, start=1):
        _ensure(
            CustomFieldDefinition,
            summary,
            company=company,
            key=f.key,
            defaults={
                "label": f.label,
                "field_type": f.field_type,
                "choices": list(f.choices),
                "position": position,
            },
        )
    for sla in spec.sla:
        _ensure(
            SLAPolicy,
            summary,
            company=company,
            priority=sla.priority,
            defaults={
                "first_response_minutes": sla.first_response_minutes,
                "resolution_minutes": sla.resolution_minutes,
                "business_hours": sla.business_hours,
            },
        )
    # A schedule someone has edited is theirs: only an empty one gets the demo hours.
    if spec.weekday_hours and not BusinessHours.objects.for_tenant(company).exists():
        BusinessHours.objects.bulk_create(
            BusinessHours(company=company, weekday=day, opens=OPENS, closes=CLOSES)
            for day in range(5)
        )
        summary.add(BusinessHours._meta.verbose_name_plural, 5)
    for day, name in spec.holidays:
        _ensure(Holiday, summary, company=company, date=day, defaults={"name": name})
    return company


def _users(
    companies: dict[str, Company], summary: DemoSummary, specs: tuple[DemoUser, ...]
) -> dict[str, object]:
    User = get_user_model()
    # One hash for all: PBKDF2 takes a noticeable fraction of a second per call, and users
    # sharing a hash need a single check on a rerun.
    hashed: str | None = None
    verified: set[str] = set()
    users = {}
    for spec in specs:
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            hashed = hashed or make_password(DEMO_PASSWORD)
            user = User.objects.create(
                username=spec.username,
                first_name=spec.first_name,
                last_name=spec.last_name,
                email=f"{spec.username}@example.com",
                password=hashed,
                is_superuser=spec.is_superuser,
                is_staff=spec.is_superuser,
            )
            summary.add("users")
        elif user.password not in verified:
            if user.check_password(DEMO_PASSWORD):
                verified.add(user.password)
            else:
                hashed = hashed or make_password(DEMO_PASSWORD)
                user.password = hashed
                user.save(update_fields=["password"])
                summary.add("passwords reset")
        if not user.is_active:
            user.is_active = True
            user.save(update_fields=["is_active"])
        _ensure(UserPreference, summary, user=user, defaults={"language": spec.language})
        for slug, role, team_name in spec.memberships:
            company = companies[slug]
            team = Team.objects.get(company=company, name=team_name) if team_name else None
            membership = Membership.objects.filter(user=user, company=company).first()
            if membership is None:
                Membership.objects.create(user=user, company=company, role=role, team=team)
                summary.add("memberships")
            elif (membership.role, membership.team_id) != (role, team and team.pk):
                membership.role, membership.team = role, team
                membership.save(update_fields=["role", "team"])
                summary.add("memberships reset")
        users[spec.username] = user
    return users


def _customers(company: Company, users: dict, summary: DemoSummary) -> dict[str, Customer]:
    existing = {
        c.external_id: c
        for c in Customer.objects.for_tenant(company).filter(
            external_id__in=[spec.ref for spec in CUSTOMERS[company.slug]]
        )
    }
    customers = {}
    for spec in CUSTOMERS[company.slug]:
        customer = existing.get(spec.ref)
        if customer is None:
            customer = customer_create(
                company=company,
                external_id=spec.ref,
                phones=spec.phones,
                emails=spec.emails,
                tags=spec.tags,
                custom_fields=spec.custom,
                owner=users[spec.owner] if spec.owner else None,
                **spec.fields,
            )
            summary.add("customers")
        customers[spec.ref] = customer
    return customers


def _ticket(
    spec: DemoTicket, company: Company, customers: dict, users: dict, now: datetime
) -> Ticket:
    created_at = now - spec.age
    assignee = users[spec.assignee] if spec.assignee else None
    author = assignee or users[LEADS[company.slug]]
    ticket = ticket_create(
        company=company,
        customer=customers[spec.customer],
        subject=spec.subject,
        description=spec.description,
        created_by=author,
        channel=spec.channel,
        priority=spec.priority,
        category=TicketCategory.objects.get(company=company, name=spec.category),
        required_skill=Skill.objects.get(company=company, name=spec.skill) if spec.skill else None,
        tier=spec.tier,
        assignee=assignee,
        team=Team.objects.get(company=company, name=spec.team),
        created_at=created_at,
    )
    for step in spec.steps:
        at = created_at + step.after
        if step.kind in ("note", "reply"):
            ticket_comment_add(
                ticket=ticket,
                author=author,
                body=step.text,
                is_internal=step.kind == "note",
                now=at,
            )
        elif step.kind == "status":
            ticket_transition(ticket=ticket, to_status=step.to, user=author, now=at)
        else:
            ticket_escalate(
                ticket=ticket,
                user=author,
                reason=step.text,
                to_tier=step.to,
                to_team=Team.objects.get(company=company, name=step.team),
                now=at,
            )
    return ticket


def seed_demo(*, now: datetime | None = None) -> DemoSummary:
    """Create whatever of the demo data set is missing; returns what was created, by kind."""
    now = now or timezone.now()
    summary = DemoSummary()
    with transaction.atomic():
        companies = {spec.slug: _company(spec, summary) for spec in COMPANIES}
        users = _users(companies, summary, USERS + PHONE_AGENTS)
        for slug, company in companies.items():
            customers = _customers(company, users, summary)
            seed_telephony(company, users, summary)
            existing = set(
                Ticket.objects.for_tenant(company)
                .filter(subject__in=[t.subject for t in TICKETS[slug]])
                .values_list("subject", flat=True)
            )
            for spec in TICKETS[slug]:
                if spec.subject not in existing:
                    _ticket(spec, company, customers, users, now)
                    summary.add("tickets")
    return summary
