"""Pages for importing customers from CSV/XLSX and exporting them: thin entrances to
crm.imports and crm.exports.

Upload (pick company and file) -> mapping (pick a field for each column) -> the import's page,
which polls a small JSON status while a large file runs as a task.
"""

from pathlib import PurePath

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from contactcenter.tenancy.models import IMPORT_ROLES
from contactcenter.tenancy.scoping import (
    companies_for,
    get_scoped_or_404,
    require_role,
    scoped,
)
from crm import exports
from crm.imports import (
    FINISHED,
    customer_import_awaits_mapping,
    customer_import_create,
    customer_import_guess,
    customer_import_start,
    customer_import_status,
    error_rows_csv,
    problem_text,
    target_choices,
)
from crm.models import CustomerImport, CustomFieldDefinition

SAMPLE_ROWS = 3
BAD_ROWS_PER_PAGE = 100
IMPORTS_PER_PAGE = 25


class UploadForm(forms.Form):
    company = forms.ChoiceField(label=gettext_lazy("Client company"))
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "CSV (UTF-8, separated by commas or semicolons) or Excel .xlsx; "
            "the first row holds the column names."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )

    def __init__(self, *args, companies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].choices = [(c.slug, c.name) for c in companies]


class MappingForm(forms.Form):
    """One choice per column of the file, named col_<n> (headers may hold any character)."""

    def __init__(self, *args, columns, guess, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = columns
        for index, column in enumerate(columns):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=column, choices=choices, required=False, initial=guess.get(column, "")
            )

    def mapping(self) -> dict[str, str]:
        return {
            column: self.cleaned_data[f"col_{index}"] for index, column in enumerate(self.columns)
        }


def _import_for(user, pk: int) -> CustomerImport:
    """404 for an import of another company (like a missing one), 403 without an import role."""
    customer_import = get_scoped_or_404(
        CustomerImport.objects.select_related("company", "created_by"), user, pk=pk
    )
    require_role(user, customer_import.company_id, IMPORT_ROLES)
    return customer_import


@login_required
def customer_import(request):
    companies = list(companies_for(request.user, IMPORT_ROLES))
    if not companies:
        raise PermissionDenied
    if request.method == "POST":
        slug = request.POST.get("company", "")
        company = get_object_or_404(companies_for(request.user), slug=slug) if slug else None
        if company is not None:
            require_role(request.user, company.pk, IMPORT_ROLES)
        form = UploadForm(request.POST, request.FILES, companies=companies)
        if form.is_valid():
            try:
                created = customer_import_create(
                    company=company, upload=form.cleaned_data["file"], user=request.user
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return redirect("crm:customer_import_mapping", pk=created.pk)
    else:
        form = UploadForm(
            companies=companies,
            initial={"company": request.GET.get("company") or companies[0].slug},
        )
    return render(
        request,
        "crm/import/upload.html",
        {"form": form, "title": _("Import customers")},
    )


@login_required
def customer_import_mapping(request, pk: int):
    customer_import = _import_for(request.user, pk)
    if not customer_import_awaits_mapping(customer_import):
        return redirect("crm:customer_import_detail", pk=pk)
    table, guess = customer_import_guess(customer_import)
    definitions = {
        d.key: d for d in CustomFieldDefinition.objects.for_tenant(customer_import.company)
    }
    form = MappingForm(
        request.POST or None,
        columns=table.columns,
        guess=guess,
        choices=target_choices(definitions),
    )
    if request.method == "POST" and form.is_valid():
        try:
            customer_import_start(
                customer_import=customer_import, mapping=form.mapping(), language=get_language()
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("crm:customer_import_detail", pk=pk)
    samples = [cells for _number, cells in table.rows[:SAMPLE_ROWS]]
    rows = [
        (form[f"col_{index}"], [cells[index] for cells in samples if cells[index]])
        for index in range(len(table.columns))
    ]
    return render(
        request,
        "crm/import/mapping.html",
        {
            "form": form,
            "rows": rows,
            "customer_import": customer_import,
            "title": _("Match the columns to customer fields"),
        },
    )


@login_required
def customer_import_detail(request, pk: int):
    customer_import = _import_for(request.user, pk)
    if customer_import_awaits_mapping(customer_import):
        return redirect("crm:customer_import_mapping", pk=pk)
    page = Paginator(customer_import.errors, BAD_ROWS_PER_PAGE).get_page(request.GET.get("page"))
    bad_rows = [
        {"row": error["row"], "problems": [problem_text(p) for p in error["problems"]]}
        for error in page.object_list
    ]
    return render(
        request,
        "crm/import/detail.html",
        {
            "customer_import": customer_import,
            "status": customer_import_status(customer_import),
            "finished": customer_import.state in FINISHED,
            "page": page,
            "bad_rows": bad_rows,
            "title": _("Import of %(name)s") % {"name": customer_import.original_name},
        },
    )


@login_required
@require_GET
def customer_import_status_json(request, pk: int):
    return JsonResponse(customer_import_status(_import_for(request.user, pk)))


@login_required
@require_GET
def customer_import_errors(request, pk: int):
    customer_import = _import_for(request.user, pk)
    response = HttpResponse(error_rows_csv(customer_import), content_type="text/csv; charset=utf-8")
    stem = PurePath(customer_import.original_name).stem or "import"
    response["Content-Disposition"] = f'attachment; filename="{stem}-bad-rows.csv"'
    return response


@login_required
def customer_import_list(request):
    if not companies_for(request.user, IMPORT_ROLES).exists():
        raise PermissionDenied
    imports = scoped(
        CustomerImport.objects.select_related("company", "created_by"), request.user, IMPORT_ROLES
    )
    page = Paginator(imports, IMPORTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "crm/import/list.html", {"page": page, "title": _("Customer imports")})


@login_required
@require_GET
def customer_export(request):
    file_format = request.GET.get("format", "csv")
    if file_format not in exports.FORMATS:
        return HttpResponseBadRequest(
            _("Unknown export format %(format)s: use csv or xlsx.") % {"format": file_format}
        )
    return exports.export_response(
        request,
        user=request.user,
        file_format=file_format,
        company_slug=request.GET.get("company", ""),
        query=request.GET.get("q", ""),
        delimiter=exports.DELIMITERS.get(request.GET.get("delimiter", ""), ","),
    )
