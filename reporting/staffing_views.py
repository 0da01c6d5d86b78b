"""The Erlang C staffing calculator page (issue 4, item 6).

A pure calculator: it reads no company's data, so anyone who plans work somewhere (a
supervisor, client manager or administrator of any company) may use it; agents may not.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from contactcenter.tenancy.models import EXPORT_ROLES
from contactcenter.tenancy.scoping import company_ids_for
from reporting.staffing_forms import ErlangCForm, erlang_c_answer, level_payload

STAFFING_ROLES = EXPORT_ROLES


def can_plan_staffing(user) -> bool:
    return bool(company_ids_for(user, STAFFING_ROLES))


@login_required
@require_GET
def erlang_c(request):
    if not can_plan_staffing(request.user):
        raise PermissionDenied
    form = ErlangCForm(request.GET or None)
    context = {"title": _("Erlang C staffing"), "form": form}
    if form.is_valid():
        answer = erlang_c_answer(form.cleaned_data)
        requirement = answer.requirement
        context |= {
            "requirement": requirement,
            "result": level_payload(requirement),
            "levels": [
                level_payload(level) | {"is_required": level.agents == requirement.agents}
                for level in answer.levels
            ],
            "answer_seconds": form.cleaned_data["answer_seconds"],
        }
    return render(request, "reporting/erlang_c.html", context)
