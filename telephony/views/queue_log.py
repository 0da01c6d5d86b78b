from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from contactcenter.tenancy.models import IMPORT_ROLES
from contactcenter.tenancy.scoping import companies_for, require_role
from telephony.forms import QueueLogUploadForm
from telephony.queue_log_import import queue_log_import


@login_required
def queue_log_upload(request):
    """Upload an Asterisk queue_log and import it at once; the page shows what it did."""
    user = request.user
    companies = list(companies_for(user, IMPORT_ROLES).order_by("name"))
    if not companies:
        raise PermissionDenied
    result = None
    if request.method == "POST":
        slug = request.POST.get("company", "")
        # 404 for a company the user is not in (like a missing one), 403 where they only read.
        company = get_object_or_404(companies_for(user), slug=slug) if slug else None
        if company is not None:
            require_role(user, company.pk, IMPORT_ROLES)
        form = QueueLogUploadForm(request.POST, request.FILES, companies=companies)
        if form.is_valid():
            report = queue_log_import(company=company, lines=form.lines())
            result = {
                "company": company,
                "name": form.cleaned_data["file"].name,
                "report": report,
                "undecodable_lines": form.undecodable_lines,
            }
            form = QueueLogUploadForm(companies=companies, initial={"company": company.slug})
    else:
        form = QueueLogUploadForm(
            companies=companies,
            initial={"company": request.GET.get("company") or companies[0].slug},
        )
    return render(
        request,
        "telephony/queue_log_upload.html",
        {"title": _("Import an Asterisk queue_log"), "form": form, "result": result},
    )
