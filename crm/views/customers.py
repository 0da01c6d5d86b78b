from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contactcenter.tenancy.models import EXPORT_ROLES, IMPORT_ROLES, WRITE_ROLES
from contactcenter.tenancy.scoping import (
    companies_for,
    company_from_param,
    company_ids_for,
    require_role,
)
from crm import selectors
from crm.forms import (
    CompanyChoiceForm,
    CustomerForm,
    NoteForm,
    PhoneFormSet,
    add_service_errors,
    phone_formset,
)
from crm.models import Customer, CustomerPhone, CustomFieldDefinition
from crm.services import customers as customer_services
from crm.tables import CustomerTable, CustomerTicketTable
from crm.views.common import can_write, get_for_read, get_for_write, paginate
from crm.views.history import customer_history, customer_timeline


@login_required
def customer_list(request):
    user = request.user
    company = company_from_param(user, request.GET.get("company"))
    query = request.GET.get("q", "").strip()
    queryset = (
        selectors.customer_list(user, company=company, query=query)
        .select_related("company", "owner")
        .prefetch_related("phones", "emails", "tags")
    )
    companies = list(companies_for(user).order_by("name"))
    exclude = () if len(companies) > 1 and company is None else ("company",)
    table = paginate(request, CustomerTable(queryset, exclude=exclude))
    return render(
        request,
        "crm/customer_list.html",
        {
            "title": _("Customers"),
            "table": table,
            "query": query,
            "companies": companies,
            "company": company,
            "can_create": bool(company_ids_for(user, WRITE_ROLES)),
            "can_import": bool(company_ids_for(user, IMPORT_ROLES)),
            "can_export": bool(company_ids_for(user, EXPORT_ROLES)),
        },
    )


def _save_customer(request, form, phones, save):
    """Validate both parts, then one service call; its errors go back onto the form."""
    if not (form.is_valid() and phones.is_valid()):
        return None
    try:
        with transaction.atomic():
            return save(phones=phones.phones(), **form.service_arguments())
    except ValidationError as exc:
        add_service_errors(form, exc)
        return None


@login_required
def customer_create(request):
    user = request.user
    writable = companies_for(user, WRITE_ROLES).order_by("name")
    slug = request.GET.get("company")
    if slug:
        # 404 for a company the user is not in, 403 for one where they only read.
        company = company_from_param(user, slug)
        require_role(user, company.pk, WRITE_ROLES)
    else:
        choices = list(writable)
        if not choices:
            raise PermissionDenied
        if len(choices) > 1:
            chooser = CompanyChoiceForm(companies=writable)
            return render(
                request,
                "crm/customer_company_choice.html",
                {"title": _("New customer"), "form": chooser},
            )
        company = choices[0]

    data = request.POST if request.method == "POST" else None
    form = CustomerForm(data, company=company)
    phones = phone_formset(data, company)
    prefill = request.GET.get("phone", "").strip()[:50]
    if data is None and prefill:
        # From an unknown caller's card: the number the customer called from.
        phones = PhoneFormSet(
            initial=[{"raw": prefill, "kind": CustomerPhone.Kind.MOBILE}],
            company=company,
            prefix="phones",
        )
    if data is not None:
        customer = _save_customer(
            request,
            form,
            phones,
            lambda **kwargs: customer_services.customer_create(company=company, **kwargs),
        )
        if customer is not None:
            messages.success(request, _("Customer %(name)s created.") % {"name": customer})
            return redirect("crm:customer_detail", pk=customer.pk)
    return render(
        request,
        "crm/customer_form.html",
        {
            "title": _("New customer"),
            "form": form,
            "phones": phones,
            "company": company,
            "several_companies": writable.count() > 1,
        },
    )


@login_required
def customer_edit(request, pk: int):
    customer = get_for_write(Customer.objects.select_related("company"), request.user, pk)
    data = request.POST if request.method == "POST" else None
    form = CustomerForm(data, company=customer.company, customer=customer)
    phones = phone_formset(data, customer.company, customer)
    if data is not None:
        saved = _save_customer(
            request,
            form,
            phones,
            lambda **kwargs: customer_services.customer_update(customer=customer, **kwargs),
        )
        if saved is not None:
            messages.success(request, _("Customer %(name)s saved.") % {"name": saved})
            return redirect("crm:customer_detail", pk=saved.pk)
    return render(
        request,
        "crm/customer_form.html",
        {
            "title": _("Edit %(name)s") % {"name": customer},
            "form": form,
            "phones": phones,
            "company": customer.company,
            "customer": customer,
        },
    )


def _custom_field_rows(customer: Customer) -> list[tuple[str, object]]:
    rows = []
    values = dict(customer.custom_fields or {})
    for definition in CustomFieldDefinition.objects.for_tenant(customer.company_id):
        if definition.key in values:
            rows.append((definition.label, values.pop(definition.key)))
    # Values whose definition was removed since they were saved are still the customer's data.
    rows.extend(values.items())
    return rows


def _render_card(request, customer: Customer, note_form=None, status=200):
    tickets = customer.tickets.select_related(
        "company", "customer", "assignee", "team", "category"
    ).order_by("-created_at", "-id")
    ticket_table = paginate(request, CustomerTicketTable(tickets, prefix="t-"), per_page=10)
    writer = can_write(request.user, customer.company_id)
    return render(
        request,
        "crm/customer_detail.html",
        {
            "title": str(customer),
            "customer": customer,
            "phones": list(customer.phones.all()),
            "emails": list(customer.emails.all()),
            "tags": list(customer.tags.all()),
            "custom_fields": _custom_field_rows(customer),
            "tickets": ticket_table,
            "timeline": customer_timeline(customer),
            "history": customer_history(customer),
            "can_write": writer,
            "note_form": note_form or (NoteForm() if writer else None),
        },
        status=status,
    )


@login_required
def customer_detail(request, pk: int):
    customer = get_for_read(Customer.objects.select_related("company", "owner"), request.user, pk)
    return _render_card(request, customer)


@login_required
@require_POST
def customer_note_add(request, pk: int):
    customer = get_for_write(Customer.objects.select_related("company", "owner"), request.user, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            customer_services.customer_note_add(
                customer=customer, author=request.user, body=form.cleaned_data["body"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Note added."))
            return redirect("crm:customer_detail", pk=customer.pk)
    return _render_card(request, customer, note_form=form)
