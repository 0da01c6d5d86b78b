from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contactcenter.tenancy.scoping import company_from_param, company_ids_for
from crm import selectors
from crm.forms import (
    TICKET_DETAIL_FIELDS,
    CommentForm,
    TicketAssignForm,
    TicketCreateForm,
    TicketDetailsForm,
    TicketEscalateForm,
    TicketFilterForm,
    add_service_errors,
)
from crm.models import Customer, Status, Ticket, Tier
from crm.services import tickets as ticket_services
from crm.tables import TicketTable, due_html
from crm.views.common import can_write, get_for_read, get_for_write, paginate
from crm.views.history import ticket_history

_TICKET_RELATED = (
    "company",
    "customer",
    "assignee",
    "team",
    "category",
    "required_skill",
    "created_by",
)


def _tickets():
    return Ticket.objects.select_related(*_TICKET_RELATED)


@login_required
def ticket_list(request):
    user = request.user
    # A company the user is not in answers 404, as on the customer list.
    company = company_from_param(user, request.GET.get("company"))
    form = TicketFilterForm(request.GET or None, user=user, company_ids=company_ids_for(user))
    queryset = selectors.ticket_list(user, company=company)
    if form.is_bound:
        queryset = form.filter(queryset)
    table = paginate(request, TicketTable(queryset, now=timezone.now()))
    return render(
        request,
        "crm/ticket_list.html",
        {"title": _("Tickets"), "table": table, "filter_form": form},
    )


def _run(form, action):
    """Call the service if the form is valid; a ValidationError it raises lands on the form."""
    if not form.is_valid():
        return None
    try:
        return action(form.cleaned_data)
    except ValidationError as exc:
        add_service_errors(form, exc)
        return None


@login_required
def ticket_create(request):
    try:
        customer_pk = int(request.GET.get("customer", ""))
    except ValueError:
        messages.info(request, _("Open a customer's card to create a ticket for them."))
        return redirect("crm:customer_list")
    customer = get_for_write(Customer.objects.select_related("company"), request.user, customer_pk)
    company = customer.company
    form = TicketCreateForm(
        request.POST if request.method == "POST" else None, company_id=company.pk
    )
    if request.method == "POST":
        ticket = _run(
            form,
            lambda data: ticket_services.ticket_create(
                company=company, customer=customer, created_by=request.user, **data
            ),
        )
        if ticket is not None:
            messages.success(request, _("Ticket %(ref)s created.") % {"ref": ticket.reference})
            return redirect("crm:ticket_detail", pk=ticket.pk)
    return render(
        request,
        "crm/ticket_form.html",
        {"title": _("New ticket"), "form": form, "customer": customer},
    )


@login_required
def ticket_edit(request, pk: int):
    ticket = get_for_write(_tickets(), request.user, pk)
    initial = {name: getattr(ticket, name) for name in TICKET_DETAIL_FIELDS}
    form = TicketDetailsForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        company_id=ticket.company_id,
    )
    if request.method == "POST":
        # Only what changed: a priority passed again would recompute the SLA targets.
        saved = _run(
            form,
            lambda data: ticket_services.ticket_update(
                ticket=ticket, **{k: v for k, v in data.items() if k in form.changed_data}
            ),
        )
        if saved is not None:
            messages.success(request, _("Ticket %(ref)s saved.") % {"ref": ticket.reference})
            return redirect("crm:ticket_detail", pk=ticket.pk)
    return render(
        request,
        "crm/ticket_form.html",
        {
            "title": _("Edit %(ref)s") % {"ref": ticket.reference},
            "form": form,
            "customer": ticket.customer,
            "ticket": ticket,
        },
    )


def _render_ticket(request, ticket: Ticket, **bound):
    """The ticket page; a form that failed comes back bound, with its errors."""
    writer = can_write(request.user, ticket.company_id)
    now = timezone.now()
    context = {
        "title": f"{ticket.reference} {ticket.subject}",
        "ticket": ticket,
        "is_overdue": ticket.is_overdue(now),
        "first_response_due": due_html(ticket.first_response_due, now),
        "resolution_due": due_html(ticket.resolution_due, now),
        "can_write": writer,
        "comments": list(ticket.comments.select_related("author").order_by("created_at", "id")),
        "escalations": list(
            ticket.escalations.select_related("escalated_by", "to_team").order_by(
                "escalated_at", "id"
            )
        ),
        "history": ticket_history(ticket),
        "transition_errors": bound.pop("transition_errors", []),
    }
    if writer:
        can_escalate = ticket.is_active and ticket.tier < max(Tier.values)
        context |= {
            "transitions": [(s, Status(s).label) for s in ticket.allowed_transitions()],
            "assign_form": TicketAssignForm(
                initial={"assignee": ticket.assignee_id}, company_id=ticket.company_id
            ),
            "escalate_form": TicketEscalateForm(ticket=ticket) if can_escalate else None,
            "comment_form": CommentForm(),
        }
        context |= bound
    return render(request, "crm/ticket_detail.html", context)


@login_required
def ticket_detail(request, pk: int):
    return _render_ticket(request, get_for_read(_tickets(), request.user, pk))


@login_required
@require_POST
def ticket_transition(request, pk: int):
    ticket = get_for_write(_tickets(), request.user, pk)
    to_status = request.POST.get("status", "")
    try:
        ticket_services.ticket_transition(ticket=ticket, to_status=to_status, user=request.user)
    except ValidationError as exc:
        ticket.refresh_from_db()
        return _render_ticket(request, ticket, transition_errors=exc.messages)
    messages.success(
        request,
        _("%(ref)s is now %(status)s.")
        % {"ref": ticket.reference, "status": ticket.get_status_display()},
    )
    return redirect("crm:ticket_detail", pk=ticket.pk)


@login_required
@require_POST
def ticket_assign(request, pk: int):
    ticket = get_for_write(_tickets(), request.user, pk)
    form = TicketAssignForm(request.POST, company_id=ticket.company_id)
    done = _run(
        form,
        lambda data: ticket_services.ticket_assign(
            ticket=ticket, assignee=data["assignee"], user=request.user
        ),
    )
    if done is None:
        ticket.refresh_from_db()
        return _render_ticket(request, ticket, assign_form=form)
    if ticket.assignee is None:
        messages.success(request, _("%(ref)s is unassigned.") % {"ref": ticket.reference})
    else:
        messages.success(
            request,
            _("%(ref)s is assigned to %(user)s.")
            % {"ref": ticket.reference, "user": ticket.assignee.get_full_name() or ticket.assignee},
        )
    return redirect("crm:ticket_detail", pk=ticket.pk)


@login_required
@require_POST
def ticket_escalate(request, pk: int):
    ticket = get_for_write(_tickets(), request.user, pk)
    form = TicketEscalateForm(request.POST, ticket=ticket)
    escalation = _run(
        form,
        lambda data: ticket_services.ticket_escalate(
            ticket=ticket,
            user=request.user,
            reason=data["reason"],
            to_tier=data["to_tier"],
            to_team=data["to_team"],
        ),
    )
    if escalation is None:
        ticket.refresh_from_db()
        return _render_ticket(request, ticket, escalate_form=form)
    messages.success(
        request,
        _("%(ref)s escalated to %(tier)s.")
        % {"ref": ticket.reference, "tier": escalation.get_to_tier_display()},
    )
    return redirect("crm:ticket_detail", pk=ticket.pk)


@login_required
@require_POST
def ticket_comment_add(request, pk: int):
    ticket = get_for_write(_tickets(), request.user, pk)
    form = CommentForm(request.POST)
    comment = _run(
        form,
        lambda data: ticket_services.ticket_comment_add(
            ticket=ticket, author=request.user, body=data["body"], is_internal=data["is_internal"]
        ),
    )
    if comment is None:
        ticket.refresh_from_db()
        return _render_ticket(request, ticket, comment_form=form)
    messages.success(
        request, _("Internal note added.") if comment.is_internal else _("Reply added.")
    )
    return redirect("crm:ticket_detail", pk=ticket.pk)
