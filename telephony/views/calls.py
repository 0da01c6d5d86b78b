from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from contactcenter.tenancy.models import IMPORT_ROLES
from contactcenter.tenancy.scoping import companies_for, company_ids_for, get_scoped_or_404
from crm.forms import user_label
from crm.views.common import paginate
from telephony import selectors
from telephony.forms import CallFilterForm
from telephony.models import Call
from telephony.permissions import (
    CALL_LOG_ROLES,
    can_play_recording,
    can_see_recording_audit,
    can_view_call,
)
from telephony.recordings import recording_play_create
from telephony.tables import CallTable, caller_label, hms, local_time


@login_required
def call_list(request):
    user = request.user
    companies = list(companies_for(user).order_by("name"))
    by_slug = {c.slug: c for c in companies}
    slugs = list(dict.fromkeys(slug for slug in request.GET.getlist("company") if slug))
    if any(slug not in by_slug for slug in slugs):
        # A company the user is not in answers 404, as on the other lists.
        raise Http404
    form = CallFilterForm(
        request.GET or None,
        user=user,
        companies=companies,
        full_company_ids=company_ids_for(user, CALL_LOG_ROLES),
    )
    queryset = (
        selectors.call_list(user)
        .select_related("company", "queue", "agent__user")
        .prefetch_related("customers")
    )
    if slugs:
        # Also when other filters are not understood (the form's are then ignored).
        queryset = queryset.filter(company__in=[by_slug[slug] for slug in slugs])
    if form.is_bound:
        queryset = form.filter(queryset)
    exclude = () if len(companies) > 1 and len(slugs) != 1 else ("company",)
    table = paginate(request, CallTable(queryset, exclude=exclude))
    return render(
        request,
        "telephony/call_list.html",
        {
            "title": _("Call log"),
            "table": table,
            "filter_form": form,
            "narrowing": _narrowing(request, form),
            "can_import": bool(company_ids_for(user, IMPORT_ROLES)),
        },
    )


def _narrowing(request, form: CallFilterForm) -> list[dict]:
    """The hidden filters in force (a report's drill-down), each with the list without it."""
    found = []
    for name, text in form.narrowing():
        params = request.GET.copy()
        for dropped in (name, "page"):
            params.pop(dropped, None)
        without = f"{request.path}?{params.urlencode(safe=':')}"
        found.append({"name": name, "text": text, "without": without})
    return found


def _viewable_call(user, pk: int) -> Call:
    """404 for another company's call (like a missing one); 403 for an agent's colleague's."""
    call = get_scoped_or_404(
        Call.objects.select_related(
            "company", "queue", "agent__user", "ticket__company", "disposition"
        ),
        user,
        pk=pk,
    )
    if not can_view_call(user, call):
        raise PermissionDenied
    return call


# What an event's normalised data holds beyond its kind and time, in the order shown. The
# recording's address is left out on purpose: it is reached only through the audited endpoint.
def _event_fields():
    return (
        ("direction", _("direction")),
        ("caller", _("caller")),
        ("callee", _("callee")),
        ("did", _("dialled number")),
        ("queue", _("queue")),
        ("agent", _("agent")),
        ("cause", _("cause")),
        ("transfer_to", _("transferred to")),
        ("wait_seconds", _("wait (s)")),
        ("talk_seconds", _("talk (s)")),
    )


def _event_rows(call: Call) -> list[dict]:
    labels = _event_fields()
    rows = []
    for record in call.events.all():
        data = record.data or {}
        details = [(label, data[key]) for key, label in labels if data.get(key) not in (None, "")]
        rows.append(
            {
                "when": local_time(record.occurred_at),
                "kind": record.get_kind_display(),
                "event_id": record.event_id,
                "details": details,
            }
        )
    return rows


def _hold_rows(call: Call) -> list[dict]:
    rows = []
    for span in call.hold_spans.all():
        seconds = int((span.ended_at - span.started_at).total_seconds()) if span.ended_at else None
        rows.append(
            {
                "started": local_time(span.started_at),
                "ended": local_time(span.ended_at),
                "length": hms(seconds),
            }
        )
    return rows


@login_required
def call_detail(request, pk: int):
    user = request.user
    call = _viewable_call(user, pk)
    times = [
        (_("Offered"), local_time(call.offered_at)),
        (_("Ringing"), local_time(call.ringing_at)),
        (_("Answered"), local_time(call.answered_at)),
        (_("Ended"), local_time(call.ended_at)),
        (_("Wrap-up ended"), local_time(call.wrap_up_ended_at)),
    ]
    durations = [
        (_("Queue wait"), hms(call.queue_wait_seconds)),
        (_("Ring"), hms(call.ring_seconds)),
        (_("Talk"), hms(call.talk_seconds)),
        (_("Hold"), hms(call.hold_seconds)),
        (_("Wrap-up"), hms(call.wrap_up_seconds)),
    ]
    audit = can_see_recording_audit(user, call)
    plays = [
        {
            "when": local_time(play.played_at),
            "user": user_label(play.user),
            "remote_addr": play.remote_addr or "—",
        }
        for play in (selectors.recording_play_list(call) if audit else ())
    ]
    return render(
        request,
        "telephony/call_detail.html",
        {
            "title": _("Call %(caller)s") % {"caller": caller_label(call)},
            "call": call,
            "caller": caller_label(call),
            "agent_name": user_label(call.agent.user) if call.agent else "",
            "times": times,
            "durations": durations,
            "hold_spans": _hold_rows(call),
            "customers": list(call.customers.order_by("display_name", "pk")),
            "events": _event_rows(call),
            "has_recording": bool(call.recording_url),
            "can_play": can_play_recording(user, call),
            "show_audit": audit,
            "plays": plays,
        },
    )


@login_required
@require_GET
@never_cache  # every play must reach us, to be written down: no cached redirect
def call_recording(request, pk: int):
    call = get_scoped_or_404(Call.objects.select_related("agent"), request.user, pk=pk)
    if not can_play_recording(request.user, call):
        raise PermissionDenied
    if not call.recording_url:
        raise Http404
    recording_play_create(call=call, user=request.user, remote_addr=request.META.get("REMOTE_ADDR"))
    return HttpResponseRedirect(call.recording_url)
