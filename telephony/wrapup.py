"""The wrap-up of a call: its disposition, the agent's notes and the ticket the call leads to.

One transaction, the call row locked first (the lock order of presence.py), so that the wrap-up
and the PBX's events of the same call never interleave. Saving during the call is allowed; the
"finish" request ends the user's wrap-up of the call, which exists only once the call has ended
(design.md, the way a call flows: wrap-up time ends when the agent submits or becomes available).
"""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contactcenter.tenancy.models import MANAGE_ROLES, Role
from contactcenter.tenancy.scoping import role_in
from crm.models import Channel, Customer, Ticket, TicketComment
from crm.selectors import customers_by_phone
from crm.services.tickets import ticket_comment_add, ticket_create
from telephony import presence
from telephony.models import Call, Disposition
from telephony.permissions import handled_by


class TicketAction(models.TextChoices):
    NONE = "none", gettext_lazy("No ticket")
    CREATE = "create", gettext_lazy("Create a new ticket")
    UPDATE = "update", gettext_lazy("Add the notes to an open ticket")


def can_work_call(user, call: Call) -> bool:
    """The call's agent, or a supervisor or administrator of its company: they see its card and
    wrap it up. A colleague agent or a client manager of the company may not (403)."""
    role = role_in(user, call.company_id)
    if role in MANAGE_ROLES:
        return True
    return role == Role.AGENT and handled_by(call, user)


def call_is_over(call: Call) -> bool:
    """Hung up (an answered call keeps the outcome "answered" while it is still going on)."""
    return call.ended_at is not None or call.outcome not in (
        Call.Outcome.IN_PROGRESS,
        Call.Outcome.ANSWERED,
    )


def call_customer_candidates(call: Call) -> list[Customer]:
    """The customers the call may be about: those matched when it rang, and any who have the
    caller's number now (the agent may have just created the unknown caller as a customer)."""
    found = {c.pk: c for c in call.customers.all()}
    number = call.caller_e164 or call.caller
    if number:
        for customer in customers_by_phone(call.company, number):
            found.setdefault(customer.pk, customer)
    return sorted(found.values(), key=lambda c: (c.display_name, c.pk))


@dataclass(frozen=True)
class WrapUp:
    call: Call
    ticket: Ticket | None  # the ticket created or added to (None: no ticket action)
    comment: TicketComment | None
    finished: bool  # the user's wrap-up of the call ended now


def _ticket_customer(
    action: str, customer: Customer | None, candidates: list[Customer], errors: dict
) -> Customer | None:
    ids = {c.pk for c in candidates}
    if customer is not None:
        if customer.pk not in ids:
            errors["customer"] = _("Choose one of the customers matched to this call.")
            return None
        return customer
    if action != TicketAction.CREATE:
        return None
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        errors["customer"] = _("The caller is not a customer yet: create the customer first.")
    else:
        errors["customer"] = _("Choose which of the matched customers the ticket is for.")
    return None


def _validate(
    *,
    call: Call,
    disposition: Disposition | None,
    notes: str,
    ticket_action: str,
    subject: str,
    customer: Customer | None,
    ticket: Ticket | None,
    candidates: list[Customer],
    finish: bool,
) -> tuple[Customer | None, dict]:
    errors: dict = {}
    if ticket_action not in TicketAction.values:
        errors["ticket_action"] = _("Choose what to do with a ticket.")
    if disposition is not None and (
        disposition.company_id != call.company_id
        or not (disposition.is_active or disposition.pk == call.disposition_id)
    ):
        errors["disposition"] = _("Choose one of the client company's active dispositions.")
    elif (
        disposition is None
        and finish
        and call_is_over(call)
        and Disposition.objects.for_tenant(call.company_id).filter(is_active=True).exists()
    ):
        # Reports count dispositions (first-contact resolution): a finished call names one.
        errors["disposition"] = _("Choose a disposition to finish the wrap-up.")
    customer = _ticket_customer(ticket_action, customer, candidates, errors)
    if ticket_action == TicketAction.CREATE and not subject:
        errors["subject"] = _("A subject is required.")
    if ticket_action == TicketAction.UPDATE:
        if not notes:
            errors["notes"] = _("Write the notes to add to the ticket.")
        if ticket is None:
            errors["ticket"] = _("Choose the ticket to add the notes to.")
        elif (
            ticket.company_id != call.company_id
            or ticket.customer_id not in {c.pk for c in candidates}
            or not ticket.is_active
        ):
            # Another company's ticket reads like any ticket outside the choice: nothing leaks.
            errors["ticket"] = _("Choose an open ticket of the caller's customer.")
        elif customer is not None and ticket.customer_id != customer.pk:
            errors["ticket"] = _("The ticket belongs to another customer.")
    return customer, errors


def call_wrap_up(
    *,
    call: Call,
    user,
    disposition: Disposition | None = None,
    notes: str = "",
    ticket_action: str = TicketAction.NONE,
    subject: str = "",
    customer: Customer | None = None,
    ticket: Ticket | None = None,
    finish: bool = False,
    now: datetime | None = None,
) -> WrapUp:
    """Save the call's disposition and notes and create or update its ticket, in one
    transaction; with `finish`, end the user's wrap-up of the call (nothing while it goes on).

    The caller checks who may act (can_work_call). Errors are named per field.
    """
    notes = (notes or "").strip()
    subject = (subject or "").strip()
    with transaction.atomic():
        # The call row first, as every writer of this call does (presence.py's lock order).
        locked = Call.objects.select_for_update().get(pk=call.pk)
        locked.company = call.company
        candidates = call_customer_candidates(locked)
        customer, errors = _validate(
            call=locked,
            disposition=disposition,
            notes=notes,
            ticket_action=ticket_action,
            subject=subject,
            customer=customer,
            ticket=ticket,
            candidates=candidates,
            finish=finish,
        )
        if errors:
            raise ValidationError(errors)
        comment = None
        if ticket_action == TicketAction.CREATE:
            ticket = ticket_create(
                company=call.company,
                customer=customer,
                subject=subject,
                description=notes,
                channel=Channel.PHONE,
                created_by=user,
                created_at=now,
            )
        elif ticket_action == TicketAction.UPDATE:
            comment = ticket_comment_add(
                ticket=ticket, author=user, body=notes, is_internal=True, now=now
            )
            customer = ticket.customer
        else:
            ticket = None
        if customer is not None:
            # The call was with this customer even if they had no such number when it rang.
            locked.customers.add(customer)
        locked.disposition = disposition
        locked.notes = notes
        fields = ["disposition", "notes"]
        if ticket is not None:
            locked.ticket = ticket
            fields.append("ticket")
        locked.save(update_fields=fields)
        finished = finish and presence.wrap_up_finish(call=locked, user=user, now=now)
        locked.refresh_from_db()
    return WrapUp(call=locked, ticket=ticket, comment=comment, finished=finished)
