"""Writes on tickets: creation with SLA, status transitions, escalation, assignment, comments."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contactcenter.tenancy.models import Company, Membership, Team
from crm.models import (
    Channel,
    Customer,
    Priority,
    Status,
    Ticket,
    TicketCategory,
    TicketComment,
    TicketEscalation,
    Tier,
)
from crm.services.sla import ticket_apply_sla


def _same_company(company_id: int, **objects) -> None:
    errors = {
        name: _("It belongs to another client company.")
        for name, obj in objects.items()
        if obj is not None and obj.company_id != company_id
    }
    if errors:
        raise ValidationError(errors)


def _check_assignee(company_id: int, assignee) -> None:
    if (
        assignee is not None
        and not Membership.objects.filter(company_id=company_id, user=assignee).exists()
    ):
        raise ValidationError(
            {"assignee": _("The assignee is not a member of this client company.")}
        )


def _check_choice(field: str, value, choices) -> None:
    if value not in choices:
        raise ValidationError({field: _("%(value)s is not a valid choice.") % {"value": value}})


def ticket_create(
    *,
    company: Company,
    customer: Customer,
    subject: str,
    created_by=None,
    channel: str = Channel.PHONE,
    description: str = "",
    priority: str = Priority.NORMAL,
    category: TicketCategory | None = None,
    required_skill=None,
    tier: int = Tier.FIRST_LINE,
    assignee=None,
    team: Team | None = None,
    created_at: datetime | None = None,
) -> Ticket:
    subject = (subject or "").strip()
    if not subject:
        raise ValidationError({"subject": _("A subject is required.")})
    _check_choice("channel", channel, Channel.values)
    _check_choice("priority", priority, Priority.values)
    _check_choice("tier", tier, Tier.values)
    _same_company(
        company.pk, customer=customer, category=category, required_skill=required_skill, team=team
    )
    _check_assignee(company.pk, assignee)
    with transaction.atomic():
        # The row lock serialises number allocation per company (SQLite serialises writers).
        locked = Company.objects.select_for_update().only("last_ticket_number").get(pk=company.pk)
        number = locked.last_ticket_number + 1
        Company.objects.filter(pk=company.pk).update(last_ticket_number=number)
        ticket = Ticket(
            company=company,
            number=number,
            customer=customer,
            subject=subject,
            description=description,
            channel=channel,
            priority=priority,
            category=category,
            required_skill=required_skill,
            tier=tier,
            assignee=assignee,
            team=team,
            created_by=created_by,
            created_at=created_at or timezone.now(),
            status=Status.OPEN if assignee else Status.NEW,
        )
        ticket_apply_sla(ticket)
        ticket.save()
    return ticket


def ticket_update(
    *,
    ticket: Ticket,
    subject: str | None = None,
    description: str | None = None,
    priority: str | None = None,
    channel: str | None = None,
    category=ticket_create,  # sentinel: "not given"
    required_skill=ticket_create,
    team=ticket_create,
) -> Ticket:
    """Edit details; a priority change recomputes the SLA targets from the ticket's creation."""
    changes: dict = {}
    if subject is not None:
        if not subject.strip():
            raise ValidationError({"subject": _("A subject is required.")})
        changes["subject"] = subject.strip()
    if description is not None:
        changes["description"] = description
    if channel is not None:
        _check_choice("channel", channel, Channel.values)
        changes["channel"] = channel
    if priority is not None:
        _check_choice("priority", priority, Priority.values)
        changes["priority"] = priority
    for name, value in (("category", category), ("required_skill", required_skill), ("team", team)):
        if value is not ticket_create:
            _same_company(ticket.company_id, **{name: value})
            changes[name] = value
    with transaction.atomic():
        for name, value in changes.items():
            setattr(ticket, name, value)
        if "priority" in changes:
            ticket_apply_sla(ticket)
        ticket.save()
    return ticket


def ticket_transition(
    *, ticket: Ticket, to_status: str, user=None, now: datetime | None = None
) -> Ticket:
    if to_status not in Status.values:
        raise ValidationError({"status": _("%(s)s is not a ticket status.") % {"s": to_status}})
    if not ticket.can_transition(to_status):
        raise ValidationError(
            {
                "status": _("A %(from)s ticket cannot become %(to)s.")
                % {"from": ticket.get_status_display(), "to": Status(to_status).label}
            }
        )
    now = now or timezone.now()
    ticket.status = to_status
    if to_status == Status.RESOLVED:
        ticket.resolved_at = now
        if ticket.resolution_due and now > ticket.resolution_due:
            ticket.resolution_breached = True
    elif to_status == Status.CLOSED:
        ticket.closed_at = now
        if ticket.resolved_at is None:
            ticket.resolved_at = now
            if ticket.resolution_due and now > ticket.resolution_due:
                ticket.resolution_breached = True
    elif to_status == Status.OPEN and ticket.resolved_at:
        ticket.resolved_at = None  # reopened: the resolution clock runs on
    ticket._change_reason = f"status → {to_status}"
    ticket.save()
    return ticket


def ticket_assign(*, ticket: Ticket, assignee, user=None) -> Ticket:
    _check_assignee(ticket.company_id, assignee)
    ticket.assignee = assignee
    if assignee is not None and ticket.status == Status.NEW:
        ticket.status = Status.OPEN
    ticket.save()
    return ticket


def ticket_escalate(
    *,
    ticket: Ticket,
    user,
    reason: str,
    to_tier: int | None = None,
    to_team: Team | None = None,
    now: datetime | None = None,
) -> TicketEscalation:
    """Move the ticket up a support line, recording who, when and why; it leaves its assignee."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the ticket is escalated.")})
    if not ticket.is_active:
        raise ValidationError({"status": _("Only an active ticket can be escalated.")})
    target = to_tier if to_tier is not None else ticket.tier + 1
    if target not in Tier.values or target <= ticket.tier:
        raise ValidationError({"to_tier": _("Escalation goes to a higher support tier.")})
    _same_company(ticket.company_id, to_team=to_team)
    with transaction.atomic():
        escalation = TicketEscalation.objects.create(
            company_id=ticket.company_id,
            ticket=ticket,
            from_tier=ticket.tier,
            to_tier=target,
            to_team=to_team,
            reason=reason,
            escalated_by=user,
            escalated_at=now or timezone.now(),
        )
        ticket.tier = target
        ticket.assignee = None
        if to_team is not None:
            ticket.team = to_team
        ticket._change_reason = f"escalated to tier {target}"
        ticket.save()
    return escalation


def ticket_comment_add(
    *, ticket: Ticket, author, body: str, is_internal: bool = True, now: datetime | None = None
) -> TicketComment:
    """Add a note or reply; the first reply to the customer is the ticket's first response."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("The comment is empty.")})
    now = now or timezone.now()
    with transaction.atomic():
        comment = TicketComment.objects.create(
            company_id=ticket.company_id,
            ticket=ticket,
            author=author,
            body=body,
            is_internal=is_internal,
            created_at=now,
        )
        if not is_internal and ticket.first_response_at is None:
            ticket.first_response_at = now
            if ticket.first_response_due and now > ticket.first_response_due:
                ticket.first_response_breached = True
            if ticket.status == Status.NEW:
                ticket.status = Status.OPEN
            ticket.save()
    return comment
