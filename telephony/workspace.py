"""The agent's workspace: state switcher, the live call card, the wrap-up and recent calls.

The page renders the current picture; static/js/workspace.js keeps it live over /ws/agent/ and
fetches each call's card from here, rendered on the server so that it is translated and scoped
like every other page. Only the call's agent, or a supervisor or administrator of its company,
gets a call's card or wraps it up (wrapup.can_work_call); another company's call is a 404.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from contactcenter.tenancy.scoping import company_ids_for, get_scoped_or_404, scoped
from crm.forms import add_service_errors, user_label
from crm.models import Customer, CustomerNote
from telephony import live, presence, realtime
from telephony.models import Agent, AgentState, AgentStateInterval, Call, PauseReason
from telephony.permissions import can_view_call, viewable_call_ids
from telephony.tables import caller_label, hms, local_time
from telephony.workspace_forms import StateForm, WrapUpForm
from telephony.wrapup import (
    TicketAction,
    call_customer_candidates,
    call_is_over,
    call_wrap_up,
    can_work_call,
)

RECENT_CALLS = 20  # on the workspace: the agent's own latest calls
CARD_RECENT_CALLS = 5  # on a card: the customer's latest other calls
CARD_RECENT_NOTES = 5

CARD_TEMPLATE = "telephony/includes/card.html"


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


# --- the call card ------------------------------------------------------------------------------


def call_status(call: Call) -> str:
    """The card's status, the same rule as workspace.js applies to the pushed payload."""
    if call_is_over(call):
        return "ended"
    return "on_call" if call.answered_at else "ringing"


def _status_labels() -> dict[str, str]:
    return {
        "ringing": str(AgentState.RINGING.label),
        "on_call": str(AgentState.ON_CALL.label),
        "ended": _("Ended"),
    }


def _card_call(user, pk: int) -> Call:
    return get_scoped_or_404(
        Call.objects.select_related(
            "company", "queue", "agent__user", "ticket__company", "disposition"
        ),
        user,
        pk=pk,
    )


def _workable_call(user, pk: int) -> Call:
    """404 for another company's call (like a missing one); 403 for a colleague's or a client
    manager's look at it."""
    call = _card_call(user, pk)
    if not can_work_call(user, call):
        raise PermissionDenied
    return call


def _customer_sections(call: Call, candidates: list[Customer], open_tickets, user) -> list:
    """Each customer the call may be about, with their open tickets, latest other calls and
    latest notes: a fixed number of queries however many customers share the number."""
    recent_calls = (
        Call.objects.exclude(pk=call.pk)
        .select_related("agent__user", "disposition")
        .order_by("-offered_at", "-id")[:CARD_RECENT_CALLS]
    )
    recent_notes = CustomerNote.objects.select_related("author").order_by("-created_at", "-id")[
        :CARD_RECENT_NOTES
    ]
    customers = (
        Customer.objects.for_tenant(call.company_id)
        .filter(pk__in=[c.pk for c in candidates])
        .prefetch_related(
            "phones",
            Prefetch("calls", recent_calls, to_attr="recent_calls"),
            Prefetch("notes", recent_notes, to_attr="recent_notes"),
        )
        .order_by("display_name", "pk")
    )
    customers = list(customers)
    # One look-up for every listed call, not one per call.
    viewable = viewable_call_ids(user, [c for customer in customers for c in customer.recent_calls])
    sections = []
    for customer in customers:
        sections.append(
            {
                "customer": customer,
                "phones": list(customer.phones.all()),
                "tickets": [t for t in open_tickets if t.customer_id == customer.pk],
                "calls": [
                    {
                        "call": other,
                        "when": local_time(other.offered_at),
                        "outcome": other.get_outcome_display(),
                        "agent": user_label(other.agent.user) if other.agent_id else "",
                        "talk": hms(other.talk_seconds),
                        "url": (
                            reverse("telephony:call_detail", args=[other.pk])
                            if other.pk in viewable
                            else ""
                        ),
                    }
                    for other in customer.recent_calls
                ],
                "notes": [
                    {
                        "when": local_time(note.created_at),
                        "author": user_label(note.author) if note.author else "",
                        "body": note.body,
                    }
                    for note in customer.recent_notes
                ],
            }
        )
    return sections


def _card_context(request, call: Call, form: WrapUpForm | None = None, message: str = "") -> dict:
    user = request.user
    if form is None:
        candidates = call_customer_candidates(call)
        form = WrapUpForm(call=call, candidates=candidates)
    status = call_status(call)
    create_url = ""
    if not form.candidates:
        number = call.caller_e164 or call.caller
        create_url = (
            reverse("crm:customer_create")
            + "?"
            + urlencode({"company": call.company.slug, **({"phone": number} if number else {})})
        )
    return {
        "call": call,
        "caller": caller_label(call),
        "status": status,
        "status_label": _status_labels()[status],
        "sections": _customer_sections(call, form.candidates, form.open_tickets, user),
        "create_customer_url": create_url,
        "form": form,
        "call_url": reverse("telephony:call_detail", args=[call.pk])
        if can_view_call(user, call)
        else "",
        "card_url": reverse("telephony:call_card", args=[call.pk]),
        "wrap_up_url": reverse("telephony:call_wrap_up", args=[call.pk]),
        "ticket_actions": {
            "create": TicketAction.CREATE.value,
            "update": TicketAction.UPDATE.value,
        },
        "message": message,
    }


@login_required
@require_GET
@never_cache
def call_card(request, pk: int):
    """The call's card as an HTML fragment, for the workspace to show when the call pushes."""
    call = _workable_call(request.user, pk)
    return render(request, CARD_TEMPLATE, _card_context(request, call))


# --- the wrap-up --------------------------------------------------------------------------------


def _wrap_up_message(result, ticket_action: str, finish: bool) -> str:
    parts = []
    if ticket_action == TicketAction.CREATE:
        parts.append(_("Ticket %(reference)s created.") % {"reference": result.ticket.reference})
    elif ticket_action == TicketAction.UPDATE:
        parts.append(
            _("Notes added to ticket %(reference)s.") % {"reference": result.ticket.reference}
        )
    if result.finished:
        parts.append(_("Wrap-up saved and finished."))
    elif finish and not call_is_over(result.call):
        parts.append(
            _("Wrap-up saved. The call is still going on: finish the wrap-up once it has ended.")
        )
    elif finish:
        parts.append(_("Wrap-up saved. You had no wrap-up of this call going on to finish."))
    else:
        parts.append(_("Wrap-up saved."))
    return " ".join(parts)


@login_required
@require_POST
def call_wrap_up_view(request, pk: int):
    user = request.user
    call = _workable_call(user, pk)
    form = WrapUpForm(request.POST, call=call, candidates=call_customer_candidates(call))
    finish = "finish" in request.POST
    if form.is_valid():
        try:
            result = call_wrap_up(call=call, user=user, finish=finish, **form.service_arguments())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            message = _wrap_up_message(result, form.cleaned_data["ticket_action"], finish)
            if _wants_json(request):
                fresh = _workable_call(user, pk)
                card = render_to_string(
                    CARD_TEMPLATE, _card_context(request, fresh, message=message), request
                )
                return JsonResponse(
                    {
                        "message": message,
                        "finished": result.finished,
                        "ticket": result.ticket.reference if result.ticket else None,
                        "card": card,
                    }
                )
            messages.success(request, message)
            if Agent.objects.filter(user=user, company_id__in=company_ids_for(user)).exists():
                return redirect("telephony:workspace")
            return redirect("telephony:call_detail", pk=call.pk)
    context = _card_context(request, call, form=form)
    if _wants_json(request):
        card = render_to_string(CARD_TEMPLATE, context, request)
        return JsonResponse({"errors": form.errors.get_json_data(), "card": card}, status=400)
    return render(
        request,
        "telephony/workspace_wrap_up.html",
        {**context, "title": _("Wrap-up of the call %(caller)s") % {"caller": context["caller"]}},
        status=400,
    )


# --- the agent's state --------------------------------------------------------------------------


@login_required
@require_POST
def workspace_state(request):
    """The agent chooses available, paused (with a reason) or offline; JSON for the page's
    script, a redirect back for a browser without it."""
    form = StateForm(request.POST)
    data = form.cleaned_data if form.is_valid() else {}
    try:
        presence.agent_state_set(
            user=request.user,
            state=data.get("state", ""),
            pause_reason_code=data.get("pause_reason", ""),
        )
    except presence.PresenceError as exc:
        if _wants_json(request):
            return JsonResponse({"error": str(exc)}, status=400)
        messages.error(request, str(exc))
        return redirect("telephony:workspace")
    if _wants_json(request):
        agents = live.agent_list_for_user(request.user)
        return JsonResponse(
            {"states": [realtime.state_payload(a, a.current) for a in agents if a.current]}
        )
    return redirect("telephony:workspace")


# --- the page -----------------------------------------------------------------------------------


def _latest_state(agents: list[Agent]) -> AgentStateInterval | None:
    """A person is in one state at a time; with agent rows in several companies, the state that
    changed last is the one that tells (a call rings in one company, the others stay put)."""
    current = [a.current for a in agents if a.current is not None]
    return max(current, key=lambda i: (i.started_at, i.pk), default=None)


def _pause_reasons(company_ids: list[int]) -> list[PauseReason]:
    """The companies' pause reasons, one per code: presence pauses every company by code."""
    seen: dict[str, PauseReason] = {}
    for reason in PauseReason.objects.filter(company_id__in=company_ids).order_by("label", "pk"):
        seen.setdefault(reason.code, reason)
    return list(seen.values())


def _card_call_id(agents: list[Agent], calls: list[Call]) -> int | None:
    """The call the card shows: the one the agent's state follows (ringing, on the call or
    wrapping it up), else their last call."""
    following = [
        a.current
        for a in agents
        if a.current is not None
        and a.current.call_id
        and a.current.state in (AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP)
    ]
    if following:
        return max(following, key=lambda i: (i.started_at, i.pk)).call_id
    return calls[0].pk if calls else None


def _call_rows(calls: list[Call], several_companies: bool) -> list[dict]:
    return [
        {
            "pk": call.pk,
            "when": local_time(call.offered_at or call.ringing_at),
            "caller": caller_label(call),
            "customers": [c.display_name for c in call.customers.all()],
            "outcome": call.outcome,
            "outcome_label": call.get_outcome_display(),
            "disposition": str(call.disposition) if call.disposition_id else "",
            "talk": hms(call.talk_seconds),
            "company": call.company.name if several_companies else "",
        }
        for call in calls
    ]


def _strings() -> dict:
    """Everything the page's script shows, in the user's language (it hard-codes no text)."""
    return {
        "states": {s.value: str(s.label) for s in AgentState},
        "statuses": _status_labels(),
        "connecting": _("Connecting to live updates…"),
        "connected": _("Live"),
        "reconnecting": _("Connection lost: reconnecting in %(seconds)s s…"),
        "card_failed": _("The call's card could not be loaded: %(status)s."),
        "card_forbidden": _("This call is no longer yours: its card is not shown."),
        "save_failed": _("Not saved: the server could not be reached. Try again."),
        "customer": _("Customer"),
        "unknown_caller": _("Unknown caller: no customer has this number."),
        "card_loading": _("The rest of the card is on its way."),
    }


@login_required
@require_GET
def workspace(request):
    user = request.user
    agents = live.agent_list_for_user(user)
    if not agents:
        if not company_ids_for(user):
            raise Http404
        return render(
            request, "telephony/workspace_not_agent.html", {"title": _("Workspace")}, status=403
        )
    agent_ids = [a.pk for a in agents]
    company_ids = sorted({a.company_id for a in agents})
    calls = list(
        scoped(Call.objects.filter(agent_id__in=agent_ids), user)
        .select_related("company", "disposition")
        .prefetch_related("customers")
        .order_by("-offered_at", "-id")[:RECENT_CALLS]
    )
    card_call_id = _card_call_id(agents, calls)
    card_html = ""
    if card_call_id is not None:
        call = _card_call(user, card_call_id)
        if can_work_call(user, call):
            card_html = render_to_string(CARD_TEMPLATE, _card_context(request, call), request)
    state = _latest_state(agents)
    return render(
        request,
        "telephony/workspace.html",
        {
            "title": _("Workspace"),
            "agents": agents,
            "several_companies": len(agents) > 1,
            "state": state,
            "state_payloads": [realtime.state_payload(a, a.current) for a in agents if a.current],
            "pause_reasons": _pause_reasons(company_ids),
            "card_html": card_html,
            "calls": _call_rows(calls, len(company_ids) > 1),
            "strings": _strings(),
            "ws_path": "/ws/agent/",
        },
    )
