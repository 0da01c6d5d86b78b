"""The supervisors' live page: agents' states and the calls in progress, first rendered on the
server from the same snapshot the `ws/live/` socket sends, then kept live by static/js/live.js.

The server renders absolute times (in the user's zone, which the middleware activates); the
script only ticks elapsed durations from the ISO instants, against the browser's clock.
"""

from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.utils.timezone import now
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from contactcenter.tenancy.models import EXPORT_ROLES, Company
from contactcenter.tenancy.scoping import (
    companies_for,
    company_from_param,
    company_ids_for,
    require_role,
)
from telephony.live import live_snapshot
from telephony.models import AgentState
from telephony.tables import hms

# The roles the `ws/live/` consumer admits: the page shows no more and no less.
LIVE_ROLES = EXPORT_ROLES
# Agents never logged in have no state interval: they count, and show, as offline.
NO_STATE = AgentState.OFFLINE


def _call_states() -> dict[str, str]:
    return {"waiting": _("Waiting"), "ringing": _("Ringing"), "talking": _("Talking")}


def call_state(call: dict) -> str:
    """Waiting in the queue, ringing at an agent, or talking: what the payload's times say.

    static/js/live.js applies the same rule to the calls the socket sends.
    """
    if call["answered_at"]:
        return "talking"
    return "ringing" if call["agent_id"] else "waiting"


def _instant(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


def _elapsed(since: datetime | None, at: datetime) -> str:
    # The browser's clock may run behind the server's: never show a negative duration.
    return hms(max(0, int((at - since).total_seconds()))) if since else "—"


def live_companies(user, slug: str | None) -> tuple[list[int], Company | None]:
    """The companies shown: the one `?company=` names (404 if not the user's, 403 if their role
    there may not watch), else every company where the user may watch (403 if none)."""
    company = company_from_param(user, slug)
    if company is not None:
        require_role(user, company.pk, LIVE_ROLES)
        return [company.pk], company
    if not company_ids_for(user):
        raise Http404
    company_ids = company_ids_for(user, LIVE_ROLES)
    if not company_ids:
        raise PermissionDenied
    return company_ids, None


def _agent_rows(agents: list[dict], at: datetime) -> list[dict]:
    labels = dict(AgentState.choices)
    rows = []
    for agent in agents:
        state = agent["state"] or {}
        code = state.get("state") or NO_STATE
        since = _instant(state.get("since"))
        rows.append(
            {
                **agent,
                "state_code": code,
                "state_label": labels.get(code, code),
                "pause_reason": state.get("pause_reason", ""),
                "since": since,
                "since_iso": state.get("since") or "",
                "elapsed": _elapsed(since, at),
            }
        )
    return rows


def _call_rows(calls: list[dict], agent_names: dict[int, str], at: datetime) -> list[dict]:
    labels = _call_states()
    rows = []
    for call in calls:
        code = call_state(call)
        # Waiting (and ringing) time runs from the queue entry, talking time from the answer.
        since_iso = call["answered_at"] if code == "talking" else call["offered_at"]
        since = _instant(since_iso)
        rows.append(
            {
                **call,
                "agent_name": agent_names.get(call["agent_id"], ""),
                "state_code": code,
                "state_label": labels[code],
                "since": since,
                "since_iso": since_iso or "",
                "elapsed": _elapsed(since, at),
            }
        )
    return rows


def _counts(rows: list[dict]) -> list[dict]:
    counts = dict.fromkeys(AgentState.values, 0)
    for row in rows:
        counts[row["state_code"]] = counts.get(row["state_code"], 0) + 1
    return [
        {"state": code, "label": label, "count": counts[code]} for code, label in AgentState.choices
    ]


def _script_config(company: Company | None) -> dict:
    """What live.js needs, its strings translated here in the page's language."""
    return {
        "socket": "/ws/live/",
        "company": company.name if company else "",
        "noState": NO_STATE,
        "states": {code: str(label) for code, label in AgentState.choices},
        "callStates": _call_states(),
        "status": {
            "connecting": _("Connecting…"),
            "live": _("Live: updates as they happen"),
            "reconnecting": _("Reconnecting…"),
            "closed": _("Live updates stopped: reload the page."),
        },
    }


@login_required
@require_GET
@never_cache  # a back button must not bring back an old picture of the floor
def live(request):
    user = request.user
    company_ids, company = live_companies(user, request.GET.get("company"))
    at = now()
    snapshot = live_snapshot(company_ids)
    agents = _agent_rows(snapshot["agents"], at)
    calls = _call_rows(snapshot["calls"], {a["id"]: a["name"] for a in snapshot["agents"]}, at)
    companies = list(companies_for(user, LIVE_ROLES).order_by("name"))
    return render(
        request,
        "telephony/live.html",
        {
            "title": _("Live: agents and calls"),
            "agents": agents,
            "calls": calls,
            "counts": _counts(agents),
            "snapshot_at": at,
            "companies": companies if len(companies) > 1 else [],
            "company": company,
            "live_config": _script_config(company),
        },
    )
